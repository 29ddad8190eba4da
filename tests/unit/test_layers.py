"""The layers of python-lib/dataiku_iac: cli/ and dss/ sit on top of the engine; the core never
imports them, dss/ never imports cli/, the state never imports the engine, nothing imports the
emulator, and no module imports itself through others (a cycle).

Read from the source (no import, no subprocess), so a lazy import inside a function counts, and
so does one under `if TYPE_CHECKING:` (a type-only cycle is still two modules that cannot be
understood apart). `from pkg import sub` is an arrow to the module `pkg.sub`; `from pkg import
Name` an arrow to `pkg` (its `__init__`); a package is not counted as imported by its own
submodules (Python loads it first, but that is no dependency of theirs)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "python-lib" / "dataiku_iac"

CORE = ("config", "compliance", "dsl", "planner", "resources", "state", "engine", "output", "sources", "modules", "testing", "builder.py",
        "model.py", "errors.py", "secrets.py", "dssclient.py", "address.py", "commands.py",
        "defaults.py", "graphs.py")


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, root: Path = PACKAGE) -> set[str]:
    """The modules `path` names in its imports (absolute, relative ones resolved)."""
    known = {module_name(p, root) for p in root.rglob("*.py")}
    here = module_name(path, root).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package[: len(package) - (node.level - 1)]
                base = ".".join(anchor + ([node.module] if node.module else []))
            for alias in node.names:
                names.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base)
    return names


def import_graph(root: Path) -> dict[str, set[str]]:
    """module -> the modules of the same package it imports."""
    paths = {module_name(p, root): p for p in root.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        targets = set()
        for imported in imports_of(path, root):
            while imported and imported not in paths:  # `a.b.Name` -> the module a.b
                imported = imported.rpartition(".")[0]
            if imported and imported != name:
                targets.add(imported)
        graph[name] = targets
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            for successor in successors:
                if successor not in index:
                    index[successor] = low[successor] = len(index)
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(sorted(graph.get(successor, ())))))
                    break
                if successor in on_stack:
                    low[node] = min(low[node], index[successor])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return sorted(found)


def modules(*parts: str) -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if p.relative_to(PACKAGE).parts[0] in parts)


def _layer(name: str) -> list[str]:
    return name.split(".")[:2]


@pytest.mark.parametrize("path", modules(*CORE), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_the_core_imports_neither_the_cli_nor_the_plugin(path: Path) -> None:
    bad = {n for n in imports_of(path) if _layer(n) in (["dataiku_iac", "cli"], ["dataiku_iac", "dss"])}
    assert not bad, f"{path.relative_to(PACKAGE)} imports {sorted(bad)}"


@pytest.mark.parametrize("path", modules("state"), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_the_state_never_imports_the_engine(path: Path) -> None:
    """The state's DSS-hosted backends talk to DSS through `dssclient`, which sits below both."""
    bad = {n for n in imports_of(path) if _layer(n) == ["dataiku_iac", "engine"]}
    assert not bad, f"{path.relative_to(PACKAGE)} imports {sorted(bad)}"


@pytest.mark.parametrize("path", modules("dss"), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_the_plugin_layer_never_imports_the_cli(path: Path) -> None:
    bad = {n for n in imports_of(path) if _layer(n) == ["dataiku_iac", "cli"]}
    assert not bad, f"{path.relative_to(PACKAGE)} imports {sorted(bad)}"


@pytest.mark.parametrize("path", modules(*CORE, "cli", "dss"), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_nothing_imports_the_emulator_or_dss_internals(path: Path) -> None:
    bad = {n for n in imports_of(path) if n.split(".")[0] in ("dss_emulator", "dataiku")}
    assert not bad, f"{path.relative_to(PACKAGE)} imports {sorted(bad)}"


def test_every_module_is_in_a_layer() -> None:
    """A new top-level module must be placed (CORE above, or cli/ or dss/) to be checked at all."""
    placed = set(CORE) | {"cli", "dss", "__init__.py", "__main__.py"}
    loose = sorted({p.relative_to(PACKAGE).parts[0] for p in PACKAGE.rglob("*.py")} - placed)
    assert not loose, f"not placed in a layer by tests/unit/test_layers.py: {loose}"


def test_no_import_cycle() -> None:
    assert cycles(import_graph(PACKAGE)) == []


# -- the checks themselves can fail ---------------------------------------------------------------


def _package(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "pkg"
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


def test_a_cycle_through_lazy_and_relative_imports_is_found(tmp_path: Path) -> None:
    root = _package(tmp_path, {
        "__init__.py": "from pkg.a import A\n",
        "a.py": "from pkg.sub import b\nA = 1\n",
        "sub/__init__.py": "",
        "sub/b.py": "def f():\n    from ..c import C\n",
        "c.py": "import pkg.a\nC = 2\n",
        "d.py": "from pkg import a\n",
    })
    assert cycles(import_graph(root)) == [["pkg.a", "pkg.c", "pkg.sub.b"]]


def test_a_package_is_not_a_cycle_with_its_submodules(tmp_path: Path) -> None:
    """`pkg/__init__` re-exports `pkg.a`, which imports a sibling through the package: no cycle."""
    root = _package(tmp_path, {
        "__init__.py": "from pkg.a import A\nfrom pkg.b import B\n",
        "a.py": "from pkg import b\nA = b.B\n",
        "b.py": "B = 1\n",
    })
    assert import_graph(root)["pkg.a"] == {"pkg.b"}
    assert cycles(import_graph(root)) == []


def test_a_relative_wrong_way_import_is_seen(tmp_path: Path) -> None:
    root = _package(tmp_path, {
        "__init__.py": "", "cli/__init__.py": "", "cli/main.py": "X = 1\n",
        "config/__init__.py": "", "config/loader.py": "from ..cli.main import X\nfrom ..cli import main\n",
    })
    assert imports_of(root / "config" / "loader.py", root) == {"pkg.cli.main"}
