"""Apply, destroy and rollback run on one pipeline (engine/pipeline.py), and nothing copies it.

Read from the source (a lazy import inside a function counts too): the steps of a run that
changes DSS (executing a plan, checking a saved plan, keeping the lock alive, folding in an
interrupted apply's journal) each live in one module, and no module reaches for another's
private helpers, as rollback once did with `Session.apply`'s.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[3] / "python-lib" / "dataiku_iac"
MODULES = sorted(PACKAGE.rglob("*.py"))


def _name(path: Path) -> str:
    return str(path.relative_to(PACKAGE))


def _tree(path: Path) -> ast.AST:
    return ast.parse(path.read_text(encoding="utf-8"))


def _called_or_subclassed(path: Path, name: str) -> bool:
    """Whether `path` calls `name(...)` (or `x.name(...)`) or defines a subclass of it."""
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.Call) and _names(node.func, name):
            return True
        if isinstance(node, ast.ClassDef) and any(_names(base, name) for base in node.bases):
            return True
    return False


def _names(node: ast.expr, name: str) -> bool:
    return (isinstance(node, ast.Name) and node.id == name) or (isinstance(node, ast.Attribute) and node.attr == name)


def _users(name: str) -> list[str]:
    return sorted(_name(p) for p in MODULES if _called_or_subclassed(p, name))


def test_the_package_is_where_the_test_looks() -> None:
    assert (PACKAGE / "engine" / "pipeline.py").is_file() and len(MODULES) > 50


@pytest.mark.parametrize("path", sorted((PACKAGE / "engine").glob("*.py")), ids=_name)
def test_no_engine_module_imports_another_modules_private_names(path: Path) -> None:
    private = [
        f"{node.module}.{alias.name}"
        for node in ast.walk(_tree(path))
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("dataiku_iac")
        for alias in node.names
        if alias.name.startswith("_") and not alias.name.startswith("__")
    ]
    assert not private, f"{_name(path)} imports private names {private}"


def test_rollback_does_not_reach_into_the_session() -> None:
    imported = {
        node.module
        for node in ast.walk(_tree(PACKAGE / "engine" / "rollback.py"))
        if isinstance(node, ast.ImportFrom)
    }
    assert "dataiku_iac.engine.session" not in imported
    assert "dataiku_iac.engine.pipeline" in imported


@pytest.mark.parametrize(
    ("step", "home"),
    [
        ("Executor", "engine/pipeline.py"),  # executing a plan, journaled (no subclass either)
        ("check_saved_plan", "engine/pipeline.py"),  # the one staleness rule is applied in one place
        ("digest_of", "engine/saved_plans.py"),  # ...and written in one place (planner/plan.py signs)
        ("_Heartbeat", "engine/pipeline.py"),  # keeping the state lock alive during a run
        ("settle_unknown", "engine/pipeline.py"),  # recording the fingerprints of secrets applied blind
    ],
)
def test_each_step_of_a_run_lives_in_one_module(step: str, home: str) -> None:
    users = [u for u in _users(step) if u != "planner/plan.py"]
    assert users == [home], f"{step} is used by {users}, not by {home} alone"


@pytest.mark.parametrize("step", ["compact_journal", "journal_clear"])
def test_only_the_pipeline_and_its_executor_settle_the_journal(step: str) -> None:
    """How a run leaves the journal (outcomes folded into a serial, unfinished intents kept for the
    next run) is the same for apply, destroy and rollback: no goal settles it its own way."""
    assert set(_users(step)) <= {"engine/pipeline.py", "engine/executor.py", "state/store.py"}
