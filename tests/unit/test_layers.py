"""The layers of python-lib/dataiku_iac: cli/ and dss/ sit on top of the engine; the core never
imports them, dss/ never imports cli/, and nothing imports the emulator (read from the source,
so a lazy import inside a function counts too)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "python-lib" / "dataiku_iac"


def imports_of(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def modules(*parts: str) -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if p.relative_to(PACKAGE).parts[0] in parts)


CORE = ("config", "planner", "resources", "state", "engine", "output", "sources", "builder.py",
        "model.py", "errors.py", "secret_sources.py", "dssclient.py")


@pytest.mark.parametrize("path", modules(*CORE), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_the_core_imports_neither_the_cli_nor_the_plugin(path: Path) -> None:
    bad = {n for n in imports_of(path) if n.split(".")[:2] in (["dataiku_iac", "cli"], ["dataiku_iac", "dss"])}
    assert not bad, f"{path.relative_to(PACKAGE)} imports {sorted(bad)}"


@pytest.mark.parametrize("path", modules("state"), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_the_state_never_imports_the_engine(path: Path) -> None:
    """The state's DSS-hosted backends talk to DSS through `dssclient`, which sits below both."""
    bad = {n for n in imports_of(path) if n.split(".")[:2] == ["dataiku_iac", "engine"]}
    assert not bad, f"{path.relative_to(PACKAGE)} imports {sorted(bad)}"


@pytest.mark.parametrize("path", modules("dss"), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_the_plugin_layer_never_imports_the_cli(path: Path) -> None:
    bad = {n for n in imports_of(path) if n.split(".")[:2] == ["dataiku_iac", "cli"]}
    assert not bad, f"{path.relative_to(PACKAGE)} imports {sorted(bad)}"


@pytest.mark.parametrize("path", modules(*CORE, "cli", "dss"), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_nothing_imports_the_emulator_or_dss_internals(path: Path) -> None:
    bad = {n for n in imports_of(path) if n.split(".")[0] in ("dss_emulator", "dataiku")}
    assert not bad, f"{path.relative_to(PACKAGE)} imports {sorted(bad)}"
