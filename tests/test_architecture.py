"""The shape of the code: layers, package boundaries and private names (STYLE.md 2.4).

These read the source with `ast`; they fail with the offending file and line, so a rule that
is broken says where.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CRM = ROOT / "crm"


def _modules() -> list[Path]:
    return sorted(p for p in CRM.rglob("*.py") if "translations" not in p.parts)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imported_modules(tree: ast.Module, package: str) -> dict[str, str]:
    """Local name → full module name, for every `import crm.x as y` / `from crm import x`."""
    names: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("crm"):
                    names[alias.asname or alias.name.split(".")[0]] = alias.name
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, package)
            if base is None or not base.startswith("crm"):
                continue
            for alias in node.names:
                names[alias.asname or alias.name] = f"{base}.{alias.name}"
    return names


def _absolute(node: ast.ImportFrom, package: str) -> str | None:
    if node.level == 0:
        return node.module
    parts = package.split(".")
    base = parts[: len(parts) - node.level + 1]
    return ".".join([*base, node.module] if node.module else base)


def _is_module(name: str) -> bool:
    path = ROOT / Path(*name.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def _package_of(path: Path) -> str:
    name = _module_name(path)
    return name if path.name == "__init__.py" else name.rpartition(".")[0]


def _same_package(user: str, owner: str) -> bool:
    """A package's own modules may share its private helpers (crm.services.imports.fields and
    crm.services.imports.kinds); nobody outside may."""
    owner_package = owner if _is_package(owner) else owner.rpartition(".")[0]
    return owner_package.startswith("crm.services.") and (
        user == owner_package or user.startswith(owner_package + ".")
    )


def _is_package(name: str) -> bool:
    return (ROOT / Path(*name.split(".")) / "__init__.py").exists()


def _private_uses(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = _package_of(path)
    user = _module_name(path)
    modules = {
        local: full for local, full in _imported_modules(tree, package).items() if _is_module(full)
    }
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            owner = modules.get(node.value.id)
            private = node.attr.startswith("_") and not node.attr.startswith("__")
            if owner and private and owner != user and not _same_package(user, owner):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.value.id}.{node.attr}")
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, package)
            if not base or not base.startswith("crm") or base == user:
                continue
            for alias in node.names:
                private = alias.name.startswith("_") and not alias.name.startswith("__")
                if private and not _same_package(user, base):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno} {base}.{alias.name}")
    return found


def test_no_module_uses_another_modules_private_names():
    offenders = [use for path in _modules() for use in _private_uses(path)]
    assert offenders == []


def test_services_never_import_blueprints_or_the_request():
    offenders = []
    for path in (CRM / "services").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                "crm.blueprints"
            ):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []


def test_service_modules_stay_small():
    """About 800 lines at most: past that a module holds several things and becomes a
    package whose modules say what they hold."""
    sizes = {
        str(path.relative_to(ROOT)): len(path.read_text(encoding="utf-8").splitlines())
        for path in (CRM / "services").rglob("*.py")
    }
    assert {name: n for name, n in sizes.items() if n > 850} == {}


IMPORT_LAYERS = ["reading", "fields", "matching", "writing", "kinds", "staging"]


@pytest.mark.parametrize("module", IMPORT_LAYERS)
def test_import_pipeline_layers_only_import_downwards(module):
    """reading → fields → matching → writing → kinds → staging: none imports one above it
    (writing uses matching's results; matching never writes)."""
    path = CRM / "services" / "imports" / f"{module}.py"
    if not path.exists():
        pytest.fail(f"{path.relative_to(ROOT)} is missing")
    tree = ast.parse(path.read_text(encoding="utf-8"))
    rank = IMPORT_LAYERS.index(module)
    above = set(IMPORT_LAYERS[rank + 1 :])
    used = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = _absolute(node, "crm.services.imports") or ""
            if base.startswith("crm.services.imports."):
                used.add(base.rsplit(".", 1)[1])
            elif base == "crm.services.imports":
                used.update(alias.name for alias in node.names)
    assert used & above == set()


def test_no_function_runs_past_80_lines_without_a_reason_above_it():
    """A function over about 80 lines does several things; split it into named steps, or say
    above it (a comment with "long because") why it must stay whole."""
    offenders = []
    for path in _modules():
        lines = path.read_text(encoding="utf-8").splitlines()
        for node in ast.walk(ast.parse("\n".join(lines))):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            reason = "long because" in lines[first - 2].lower() if first >= 2 else False
            if length > 80 and not reason:
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({length})")
    assert offenders == []
