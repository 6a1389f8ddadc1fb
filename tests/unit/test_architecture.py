"""Dependencies point inwards (DESIGN.md §1) and run in no circle (STYLE 25), checked by parsing
every module's imports with ``ast``.

Every import counts: top-level, inside functions, under ``if TYPE_CHECKING:``, relative imports
(resolved against the module's package) and ``importlib.import_module("...")``/``__import__("...")``
with a literal name.
"""
from __future__ import annotations

import ast
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OURS = frozenset({"domain", "application", "adapters", "entrypoints", "container"})
STDLIB = frozenset(sys.stdlib_module_names)

DOMAIN_FORBIDDEN = frozenset({"asyncio", "aiohttp", "aiopg", "redis", "psycopg2", "dependency_injector",
                              "jwt", "pydantic"})
APPLICATION_THIRD_PARTY = frozenset({"attrs"})
APPLICATION_FORBIDDEN = frozenset({"adapters", "entrypoints", "container", "aiohttp", "aiopg", "redis"})
ADAPTERS_FORBIDDEN = frozenset({"entrypoints", "container"})


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path, module: str, *, names: bool = False) -> Iterator[tuple[str, int]]:
    """(absolute imported module, line) for every import in ``path``, which is module ``module``.

    ``names``: also ``X.name`` for each name of ``from X import name`` (it may be a submodule).
    """
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                package = module.split(".") if is_package else module.split(".")[:-1]
                base = package[: len(package) - (node.level - 1)] if node.level > 1 else package
                target = ".".join([*base, node.module] if node.module else base)
                if node.module is None:  # from . import x: each name may be a submodule
                    for alias in node.names:
                        yield f"{target}.{alias.name}" if target else alias.name, node.lineno
                    continue
                yield target, node.lineno
            else:
                target = node.module or ""
                yield target, node.lineno
            if names:
                for alias in node.names:
                    yield f"{target}.{alias.name}", node.lineno
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name in ("import_module", "__import__"):
                yield node.args[0].value, node.lineno


def _top(name: str) -> str:
    return name.split(".")[0]


def domain_rule(imported: str) -> str | None:
    top = _top(imported)
    if top in DOMAIN_FORBIDDEN:
        return f"the domain imports {imported} (I/O, framework or async library)"
    if top in OURS and top != "domain":
        return f"the domain imports {imported} (the domain imports nothing of ours but itself)"
    if top not in STDLIB and top not in ("attrs", "domain"):
        return f"the domain imports third-party {imported} (only attrs and the standard library)"
    return None


def application_rule(imported: str) -> str | None:
    top = _top(imported)
    if top in APPLICATION_FORBIDDEN:
        return f"the application imports {imported} (an outer layer or an I/O library)"
    if top in ("domain", "application") or top in APPLICATION_THIRD_PARTY or top in STDLIB:
        return None
    return f"the application imports {imported} (only domain, application, attrs and the standard library)"


def adapters_rule(imported: str) -> str | None:
    if _top(imported) in ADAPTERS_FORBIDDEN:
        return f"an adapter imports {imported} (adapters never reach the entrypoints or the container)"
    return None


RULES: dict[str, Callable[[str], str | None]] = {
    "domain": domain_rule,
    "application": application_rule,
    "adapters": adapters_rule,
}


def violations(path: Path, module: str, rule: Callable[[str], str | None]) -> list[str]:
    found = []
    for imported, line in imports_of(path, module):
        problem = rule(imported)
        if problem:
            found.append(f"{path}:{line}: {problem}")
    return found


def layer_files(layer: str) -> list[Path]:
    return sorted(p for p in (ROOT / layer).rglob("*.py") if ".venv" not in p.parts)


# -- the real tree -------------------------------------------------------------------------------

@pytest.mark.parametrize("layer", list(RULES))
def test_layer_exists_and_parses(layer: str) -> None:
    files = layer_files(layer)
    assert len(files) >= 3, f"expected the {layer} package under {ROOT}"
    for path in files:
        list(imports_of(path, module_name(path, ROOT)))  # a syntax error fails here


def test_the_domain_really_imports_something_checked() -> None:
    """A guard against a checker that sees nothing (wrong root, empty walk)."""
    seen = {imp for p in layer_files("domain") for imp, _ in imports_of(p, module_name(p, ROOT))}
    assert {"attrs", "domain.money", "domain.errors"} <= seen


@pytest.mark.parametrize("layer", list(RULES))
def test_dependencies_point_inwards(layer: str) -> None:
    problems = [v for p in layer_files(layer) for v in violations(p, module_name(p, ROOT), RULES[layer])]
    assert problems == []


# -- no import cycles ----------------------------------------------------------------------------

def import_graph(root: Path, packages: frozenset[str] = OURS) -> dict[str, set[str]]:
    """Module -> the modules of ours it imports (a module's own ancestor packages left out:
    importing a submodule always runs them, which is no circle of the design)."""
    files = {}
    for package in sorted(packages):
        candidates = [root / f"{package}.py"] + sorted((root / package).rglob("*.py"))
        for path in candidates:
            if path.is_file() and ".venv" not in path.parts:
                files[module_name(path, root)] = path
    graph: dict[str, set[str]] = {}
    for module, path in files.items():
        targets = {imported for imported, _ in imports_of(path, module, names=True)}
        graph[module] = {t for t in targets if t in files and t != module and not module.startswith(t + ".")}
    return graph


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Each set of modules that import one another in a circle (a strongly connected component of
    more than one module, Tarjan), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(component)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(sorted(c) for c in components)


def circle_through(graph: dict[str, set[str]], component: list[str]) -> list[str]:
    """The shortest circle from the component's first module back to it (breadth first)."""
    start = min(component)
    paths = {start: [start]}
    todo = [start]
    while todo:
        v = todo.pop(0)
        for w in sorted(graph[v] & set(component)):
            if w == start:
                return [*paths[v], start]
            if w not in paths:
                paths[w] = [*paths[v], w]
                todo.append(w)
    raise AssertionError(f"no circle through {sorted(component)}")  # not strongly connected


def test_our_imports_run_in_no_circle() -> None:
    graph = import_graph(ROOT)
    assert {"domain.checkout", "domain.places", "adapters.postgres.uow", "container"} <= set(graph)
    cycles = import_cycles(graph)
    for cycle in cycles:
        print("import cycle:", " <-> ".join(cycle), "  e.g.", " -> ".join(circle_through(graph, cycle)))
    found = [" -> ".join(circle_through(graph, c)) for c in cycles]
    assert found == [], "import cycles (break each: move what both sides need one module below them)"


# -- the checker itself --------------------------------------------------------------------------

def _write(tmp_path: Path, relative: str, source: str) -> Path:
    path = tmp_path / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(source, encoding="utf-8")
    return path


@pytest.mark.parametrize(("layer", "relative", "source"), [
    ("domain", "domain/bad.py", "import aiohttp\n"),
    ("domain", "domain/bad.py", "from redis import asyncio as aioredis\n"),
    ("domain", "domain/bad.py", "import asyncio\n"),
    ("domain", "domain/bad.py", "def f():\n    import jwt\n"),
    ("domain", "domain/bad.py", "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import pydantic\n"),
    ("domain", "domain/bad.py", "from application.ports import Clock\n"),
    ("domain", "domain/bad.py", "from ..adapters import memory\n"),
    ("domain", "domain/sub/bad.py", "from ...container import Container\n"),
    ("domain", "domain/bad.py", "import importlib\nimportlib.import_module('aiopg')\n"),
    ("domain", "domain/bad.py", "import requests\n"),
    ("application", "application/bad.py", "from adapters.memory import MemoryStore\n"),
    ("application", "application/bad.py", "import aiohttp.web\n"),
    ("application", "application/bad.py", "from container import Container\n"),
    ("application", "application/bad.py", "from entrypoints.http import app\n"),
    ("application", "application/bad.py", "import redis.asyncio\n"),
    ("application", "application/bad.py", "import pydantic\n"),
    ("application", "application/pkg/__init__.py", "from ... import adapters\n"),
    ("adapters", "adapters/bad.py", "from entrypoints.http import handlers\n"),
    ("adapters", "adapters/bad.py", "import container\n"),
    ("adapters", "adapters/memory/bad.py", "from ...entrypoints import cli\n"),
])
def test_checker_detects_violations(tmp_path: Path, layer: str, relative: str, source: str) -> None:
    path = _write(tmp_path, relative, source)
    assert len(violations(path, module_name(path, tmp_path), RULES[layer])) == 1


@pytest.mark.parametrize(("layer", "relative", "source"), [
    ("domain", "domain/ok.py", "from __future__ import annotations\nimport enum\nimport attrs\n"
                               "from domain.money import Money\nfrom .errors import InvalidValue\n"),
    ("application", "application/ok.py", "import asyncio\nimport attrs\nfrom domain.orders import Order\n"
                                         "from application.ports import Clock\nfrom . import errors\n"),
    ("adapters", "adapters/ok.py", "import aiohttp\nfrom application.ports import Clock\nfrom domain import events\n"),
])
def test_checker_accepts_allowed_imports(tmp_path: Path, layer: str, relative: str, source: str) -> None:
    path = _write(tmp_path, relative, source)
    assert violations(path, module_name(path, tmp_path), RULES[layer]) == []


def test_relative_imports_are_resolved(tmp_path: Path) -> None:
    src = "from . import a\nfrom .. import b\nfrom .c import d\nfrom ..e.f import g\n"
    module = _write(tmp_path, "domain/sub/x.py", src)
    package = _write(tmp_path, "domain/sub/__init__.py", src)
    assert [m for m, _ in imports_of(module, module_name(module, tmp_path))] == [
        "domain.sub.a", "domain.b", "domain.sub.c", "domain.e.f"]
    assert [m for m, _ in imports_of(package, module_name(package, tmp_path))] == [
        "domain.sub.a", "domain.b", "domain.sub.c", "domain.e.f"]


def _tree(tmp_path: Path, files: dict[str, str]) -> dict[str, set[str]]:
    for relative, source in files.items():
        _write(tmp_path, relative, source)
    return import_graph(tmp_path, frozenset({"domain", "adapters"}))


def test_cycle_checker_finds_the_old_domain_loop(tmp_path: Path) -> None:
    """checkout -> pricing -> (TYPE_CHECKING) delivery -> checkout, as it was before domain/places.py."""
    graph = _tree(tmp_path, {
        "domain/__init__.py": "",
        "domain/money.py": "",
        "domain/checkout.py": "from domain.money import Money\nfrom domain.pricing import ShippingRates\n",
        "domain/pricing.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from domain.delivery import Station\n",
        "domain/delivery.py": "from domain.checkout import Address\n",
    })
    assert import_cycles(graph) == [["domain.checkout", "domain.delivery", "domain.pricing"]]
    assert circle_through(graph, import_cycles(graph)[0]) == [
        "domain.checkout", "domain.pricing", "domain.delivery", "domain.checkout"]


@pytest.mark.parametrize("files", [
    {"adapters/__init__.py": "", "adapters/mem/__init__.py": "",
     "adapters/mem/uow.py": "from . import repositories\n",
     "adapters/mem/repositories.py": "def f():\n    from adapters.mem.uow import UnitOfWork\n"},
    {"adapters/__init__.py": "", "adapters/mem/__init__.py": "",
     "adapters/mem/uow.py": "from adapters.mem import repositories\n",
     "adapters/mem/repositories.py": "import importlib\nimportlib.import_module('adapters.mem.uow')\n"},
], ids=["relative-and-local", "from-package-and-import-module"])
def test_cycle_checker_finds_a_two_module_loop(tmp_path: Path, files: dict[str, str]) -> None:
    assert import_cycles(_tree(tmp_path, files)) == [["adapters.mem.repositories", "adapters.mem.uow"]]


def test_cycle_checker_accepts_a_tree_without_circles(tmp_path: Path) -> None:
    graph = _tree(tmp_path, {
        "domain/__init__.py": "from domain.places import Address\n",  # a package re-exporting its module
        "domain/places.py": "from domain import errors\n",  # reaching a sibling through the package
        "domain/errors.py": "",
        "domain/checkout.py": "from domain.places import Address\nfrom domain import pricing\n",
        "domain/pricing.py": "from domain.places import Station\n",
    })
    assert graph["domain.checkout"] == {"domain.places", "domain.pricing"}  # its own package is no edge
    assert graph["domain.places"] == {"domain.errors"}
    assert graph["domain"] == {"domain.places"}
    assert import_cycles(graph) == []
