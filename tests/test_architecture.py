"""The architecture rules hold in the code itself.

* Three floors: ``core`` imports neither plane, ``tenants`` imports nothing of ``webapp``, and
  ``webapp`` reaches tenant data only through ``tenants.api`` (its pages through
  ``tenants.blueprints``); no import circle anywhere, imports inside functions included.
* The mechanisms that select a tenant's schema appear only in ``tenants/db.py`` and the tenant
  migration environment.
* Tenant feature code builds statements with the ORM or Core, never raw SQL strings, so the
  schema translation applies to every statement.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SKIPPED_DIRS = {".git", ".venv", "node_modules", "__pycache__", "instance", ".pytest_cache",
                ".ruff_cache", ".import_linter_cache", ".hypothesis", "test-artifacts"}

TENANT_IMPORTS_ALLOWED_IN_WEBAPP = ("tenants.api", "tenants.blueprints")

# Selecting a schema: the engine-level translation, the PostgreSQL session variable, SQLite's
# ATTACH. Uppercase ATTACH is the SQL keyword; in lowercase only "attach database" is SQL.
SCHEMA_SELECTION = re.compile(
    r"(?i:schema_translate_map|search_path)|\bATTACH\b|(?i:\battach\s+database\b)")
SCHEMA_SELECTION_ALLOWED = ("tenants/db.py", "migrations/tenant/", "tests/test_architecture.py")


def source_files(suffixes: tuple[str, ...] = (".py",)) -> Iterator[Path]:
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS and not d.endswith(".egg-info"))
        for name in sorted(files):
            if name.endswith(suffixes):
                yield Path(folder) / name


def python_modules(package: str) -> Iterator[tuple[str, Path]]:
    for path in sorted((ROOT / package).rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        yield ".".join(parts[:-1] if parts[-1] == "__init__" else parts), path


def imported_names(module: str, path: Path) -> Iterator[tuple[int, str]]:
    """Every module (or module attribute) ``module`` imports, anywhere in its code."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            for alias in node.names:
                yield node.lineno, f"{base}.{alias.name}"


def within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def test_import_scanner_resolves_plain_from_and_relative_imports(tmp_path: Path) -> None:
    source = tmp_path / "views.py"
    source.write_text("import tenants\nfrom tenants import db\nfrom ..jobs import task\n"
                      "def f():\n    from tenants.api import x\n")
    assert {name for _, name in imported_names("webapp.web.views", source)} == {
        "tenants", "tenants.db", "webapp.jobs.task", "tenants.api.x"}


def foreign_imports(package: str, other: str, allowed: tuple[str, ...]) -> list[str]:
    """Imports of ``other`` in ``package`` that are not ``allowed``; asserts the scan saw any."""
    seen, wrong = set(), []
    for module, path in python_modules(package):
        for line, name in imported_names(module, path):
            if within(name, (other,)):
                seen.add(name)
                if not within(name, allowed):
                    wrong.append(f"{module}:{line} imports {name}")
    assert seen, f"the scan found no import of {other} at all: it is not looking at {package}"
    return wrong


def test_webapp_imports_only_tenants_api() -> None:
    assert foreign_imports("webapp", "tenants", TENANT_IMPORTS_ALLOWED_IN_WEBAPP) == []


@pytest.mark.parametrize(("package", "above"), [("tenants", "webapp"), ("core", "webapp"),
                                                ("core", "tenants")])
def test_a_floor_imports_nothing_above_it(package: str, above: str) -> None:
    wrong = [f"{module}:{line} imports {name}"
             for module, path in python_modules(package)
             for line, name in imported_names(module, path) if within(name, (above,))]
    assert wrong == []


def import_graph(packages: tuple[str, ...]) -> dict[str, set[str]]:
    """Module -> the project modules it imports, anywhere in its code (inside functions too);
    ``from package import name`` counts as importing ``package.name`` when that is a module,
    and the package itself."""
    modules = {module: path for package in packages for module, path in python_modules(package)}

    def resolve(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {module: set() for module in modules}
    for module, path in modules.items():
        for _, name in imported_names(module, path):
            for target in (name, name.rpartition(".")[0]):
                found = resolve(target)
                if found is not None and found != module:
                    graph[module].add(found)
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import circles: strongly connected groups of two modules or more (Tarjan), except a
    package with its own submodule (a re-export)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [c for c in found if not (len(c) == 2 and c[1].startswith(c[0] + "."))]


def test_no_import_circle_between_the_project_modules() -> None:
    graph = import_graph(("core", "tenants", "webapp"))
    assert len(graph) > 150  # the scan sees the whole project
    assert circles(graph) == []


def test_the_circle_finder_finds_a_circle_through_an_import_inside_a_function() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "p": {"p.x"}, "p.x": {"p"}}
    assert circles(graph) == [["a", "b", "c"]]
    graph = import_graph(("core", "tenants", "webapp"))
    graph["core.clock"].add("webapp.app")  # as if the clock imported the factory, in a function
    assert any("core.clock" in circle for circle in circles(graph))


def test_schema_selection_lives_only_in_the_tenant_plane_and_its_migrations() -> None:
    found: dict[str, list[int]] = {}
    for path in source_files((".py", ".sql")):
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            if SCHEMA_SELECTION.search(line):
                found.setdefault(path.relative_to(ROOT).as_posix(), []).append(number)
    assert "tenants/db.py" in found  # the scan does see the mechanism where it belongs
    assert {f: lines for f, lines in found.items()
            if not f.startswith(SCHEMA_SELECTION_ALLOWED)} == {}


def test_import_contracts_hold() -> None:
    lint = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run([str(lint), "--no-cache", "--no-logo"], cwd=ROOT, capture_output=True,  # noqa: S603
                            text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_types_check() -> None:
    """mypy over core, tenants and webapp (its configuration is in pyproject.toml). Its cache
    makes a run after ``make test``'s own a second or so; a cold one takes about half a minute."""
    mypy = Path(sys.executable).parent / "mypy"
    result = subprocess.run([str(mypy)], cwd=ROOT, capture_output=True,  # noqa: S603
                            text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("package", ["core", "webapp", "tenants"])
def test_every_package_states_its_purpose(package: str) -> None:
    missing = [module for module, path in python_modules(package)
               if path.name == "__init__.py" and not ast.get_docstring(ast.parse(path.read_text()))]
    assert missing == []


RAW_SQL_IMPORTS = {"text", "literal_column", "TextClause"}
RAW_SQL_CALLS = {"text", "literal_column", "exec_driver_sql"}


def test_tenant_feature_code_uses_no_raw_sql() -> None:
    wrong = []
    for module, path in python_modules("tenants"):
        if module == "tenants.db":  # the one module that creates and drops schemas
            continue
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy"):
                wrong += [f"{module}:{node.lineno} imports {a.name}" for a in node.names
                          if a.name in RAW_SQL_IMPORTS]
            elif isinstance(node, ast.Call):
                func = node.func
                called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if called in RAW_SQL_CALLS:
                    wrong.append(f"{module}:{node.lineno} calls {called}()")
    assert wrong == []
