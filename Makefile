# Entry points. `make run` and `make test` are all a newcomer needs (see README.md).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app wsgi
STAMP := $(VENV)/.installed-stamp
TRANSLATIONS := crm/translations
PYTEST_WORKERS ?= 2
SCALE ?= 0.05
RUNS ?= 15

.PHONY: install run serve test test-fast lint format babel babel-compile db-check bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

## Compile the translation catalogues (.po -> .mo); the .mo files are build output.
babel-compile: install
	@if ls $(TRANSLATIONS)/*/LC_MESSAGES/messages.po >/dev/null 2>&1; then \
		$(VENV)/bin/pybabel -q compile -d $(TRANSLATIONS); fi

## Extract marked strings, update the catalogues and compile them.
babel: install
	$(VENV)/bin/pybabel -q extract -F babel.cfg -k _l -k lazy_gettext -o $(TRANSLATIONS)/messages.pot .
	$(VENV)/bin/pybabel -q update -i $(TRANSLATIONS)/messages.pot -d $(TRANSLATIONS)
	$(VENV)/bin/pybabel -q compile -d $(TRANSLATIONS)

## Install, migrate, seed demo data on first run, serve on http://127.0.0.1:5000
run: install babel-compile
	$(FLASK) db upgrade
	$(FLASK) crm seed-demo --if-empty
	$(FLASK) run --host 127.0.0.1 --port 5000

## The whole suite (browser tests skip with a reason when no Chromium is installed).
test: install babel-compile
	$(PY) -m pytest -n $(PYTEST_WORKERS) -q

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

## Upgrade an empty database and check that the models and migrations agree.
db-check: install
	$(FLASK) db upgrade
	$(FLASK) db check

## Time the pages on a generated data set: make bench [SCALE=1] [RUNS=5]
bench: install babel-compile
	$(PY) -m bench --scale $(SCALE) --runs $(RUNS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache *.egg-info
