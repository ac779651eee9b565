# Entry points. `make run` and `make test` are all a newcomer needs (see README.md).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app wsgi
STAMP := $(VENV)/.installed-stamp
TRANSLATIONS := crm/translations
PYTEST_WORKERS ?= 2
SCALE ?= 0.05
RUNS ?= 30
USERS ?= 50
SECONDS ?= 60

.PHONY: install run serve test test-fast lint format babel babel-compile db-check bench loadtest fuzz clean

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

## Install, migrate, seed demo data on first run, serve on http://127.0.0.1:5000 with the
## background worker (imports, daily reminders) beside it; Ctrl-C stops both.
run: install babel-compile
	$(FLASK) db upgrade
	$(FLASK) crm seed-demo --if-empty
	@$(FLASK) crm worker & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT; \
	trap 'exit 130' INT TERM; \
	$(FLASK) run --host 127.0.0.1 --port 5000

## The whole suite (browser tests skip with a reason when no Chromium is installed).
test: install babel-compile
	$(PY) -m pytest -n $(PYTEST_WORKERS) -q

## The hostile-input tests with thousands of generated examples (make test runs a few).
fuzz: install babel-compile
	HYPOTHESIS_PROFILE=fuzz $(PY) -m pytest -n $(PYTEST_WORKERS) -q tests/test_fuzz.py tests/api/test_schemathesis.py

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

## Time the pages on a generated data set and write bench/results.json:
## make bench [SCALE=1] [RUNS=30] [BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
bench: install babel-compile
	$(PY) -m bench --scale $(SCALE) --runs $(RUNS) $(if $(BENCH_DATABASE_URL),--database-url $(BENCH_DATABASE_URL))

## A simulated team against gunicorn on loopback (demo data, one account per user):
## make loadtest [USERS=50] [SECONDS=60] [LOAD_DATABASE_URL=an empty database]
loadtest: install babel-compile
	$(PY) -m pip install --quiet -e ".[load]"
	$(PY) -m bench.load --users $(USERS) --seconds $(SECONDS) $(if $(LOAD_DATABASE_URL),--database-url $(LOAD_DATABASE_URL))

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache *.egg-info
