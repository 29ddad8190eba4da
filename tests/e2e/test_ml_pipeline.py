"""Issue 16's acceptance: examples/ml-pipeline, a full ML pipeline, run as its README says.

The README's walk-through is the script (tests/e2e/walkthrough.py), against two emulators (dev,
the `dss` fixture, and prod, started here: API Deployer objects belong to a DSS instance, so the
two environments are two nodes, as in real life): dev converges, promotes to prod, a second model
version is trained, pinned, and the active version is rolled back by pinning the first one again. CHECKS holds what the README's lines cannot show (DSS's own view of the
objects, the plan's exact changes), keyed by the command as the README writes it; every key must
be met. Then the live dev project is imported into an empty directory and plans `No changes.`.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import pytest
from dss_emulator.pytest_plugin import start_subprocess, stop_subprocess

from tests.e2e.helpers import EXAMPLES, CliResult, run_cli, unmark_project
from tests.e2e.walkthrough import run_step, shell_env, walkthrough_steps

EXAMPLE = EXAMPLES / "ml-pipeline"
README = EXAMPLE / "README.md"
DEV, PROD = "CHURN_DEV", "CHURN"
PROD_CONNECTION = "fs_prod"


# -- what some commands promise beyond a line of output ------------------------------------------
def _check_built(dss: Any, root: Path, result: CliResult) -> None:
    rows = list(dss.client().get_project(DEV).get_dataset("customers").iter_rows())
    assert len(rows) == 200, len(rows)


def _check_promoted(dss: Any, root: Path, result: CliResult) -> None:
    project = PROD_NODE[0].client().get_project(PROD)
    for item in project.list_datasets():
        connection = project.get_dataset(item["name"]).get_settings().get_raw()["params"].get("connection")
        assert connection == PROD_CONNECTION, (item["name"], connection)
    assert sorted(r["name"] for r in project.list_recipes()) == sorted(
        r["name"] for r in dss.client().get_project(DEV).list_recipes())


Check = Callable[[Any, Path, CliResult], None]
CHECKS: dict[str, Check] = {
    "python in_dss.py build CHURN_DEV customers": _check_built,
    "DKU_DSS_URL=$DKU_DSS_URL_PROD dataiku-iac apply -e prod --auto-approve": _check_promoted,
}


PROD_NODE: list[Any] = []  # the prod emulator of the running test (the checks' signature is the day-two one)


@pytest.fixture
def prod(tmp_path: Path) -> Iterator[Any]:
    """A second DSS node, with none of DSS's default connection names: a name that escaped the
    environment's remapping fails there instead of landing on a default."""
    handle = start_subprocess(tmp_path / "prod-dss", api_key="prod-admin-key")
    try:
        client = handle.client()
        for name in ("filesystem_managed", "filesystem_folders", "postgres_dw"):
            client.get_connection(name).delete()
        PROD_NODE[:] = [handle]
        yield handle
    finally:
        PROD_NODE.clear()
        stop_subprocess(handle)


def _walk(dss: Any, prod: Any, root: Path) -> None:
    env = shell_env(dss, DKU_DSS_URL_PROD=prod.url, DKU_API_KEY_PROD=prod.api_key)
    met: set[str] = set()
    for step in walkthrough_steps(README.read_text()):
        result = run_step(dss, root, step, env)
        assert result.returncode == step.exit_code, step.where(result)
        assert "Traceback" not in result.output, step.where(result)
        for text in step.prints:
            assert text in result.stdout, f"{text!r} not printed\n{step.where(result)}"
        check: Optional[Check] = CHECKS.get(step.command)
        if check is not None:
            check(dss, root, result)
            met.add(step.command)
    assert met == set(CHECKS), f"the README no longer runs: {sorted(set(CHECKS) - met)}"


def _import_into_an_empty_directory(dss: Any, root: Path, tmp_path: Path) -> None:
    """The live dev project, imported by a new state into a directory with only the environment,
    plans `No changes.`: the importer writes back every object the example declares."""
    fresh = tmp_path / "imported"
    (fresh / "environments").mkdir(parents=True)
    shutil.copy(root / "environments" / "dev.yml", fresh / "environments" / "dev.yml")
    shutil.copy(root / "iac.yml", fresh / "iac.yml")
    unmark_project(dss.client(), DEV)  # the walk-through's state is given up (the importer refuses another state's project)
    imported = run_cli(dss, fresh, "import", "project", DEV, "-e", "dev")
    assert "Check: plan after import -> No changes." in imported.stdout, str(imported)
    assert "not imported" not in imported.stdout, str(imported)
    plan = run_cli(dss, fresh, "plan", "-e", "dev", "--detailed-exitcode")
    assert plan.last_line().startswith("No changes."), str(plan)


def test_the_ml_pipeline_converges_promotes_rolls_back_and_imports_back(dss: Any, prod: Any, tmp_path: Path) -> None:
    root = tmp_path / "ml-pipeline"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".dataiku-iac", "__pycache__"))
    _walk(dss, prod, root)
    _import_into_an_empty_directory(dss, root, tmp_path)
