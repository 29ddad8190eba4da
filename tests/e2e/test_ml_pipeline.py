"""Issue 16's acceptance: examples/ml-pipeline, a full ML pipeline, run as its README says.

The README's walk-through is the script (tests/e2e/walkthrough.py), against two emulators (dev,
the `dss` fixture, and prod, started here: API Deployer objects belong to a DSS instance, so the
two environments are two nodes, as in real life): dev converges, promotes to prod, a second model
version is trained, pinned and shipped as an A/B split, and the active version is rolled back by
pinning the first one again. CHECKS holds what the README's lines cannot show (DSS's own view of
the objects, the plan's exact changes), keyed by the command as the README writes it (and its
occurrence, for a command run twice); every key must be met. Then the live dev project is
imported into an empty directory and plans `No changes.`.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import pytest
from dss_emulator.pytest_plugin import start_subprocess, stop_subprocess

from tests.e2e.helpers import EXAMPLES, CliResult, run_cli
from tests.e2e.walkthrough import Step, run_step, shell_env, walkthrough_steps

EXAMPLE = EXAMPLES / "ml-pipeline"
README = EXAMPLE / "README.md"
DEV, PROD = "CHURN_DEV", "CHURN"
PROD_CONNECTION = "fs_prod"


# -- what some commands promise beyond a line of output ------------------------------------------
def _check_built(dss: Any, root: Path, result: CliResult) -> None:
    rows = list(dss.client().get_project(DEV).get_dataset("customers").iter_rows())
    assert len(rows) == 200, len(rows)


def _check_promoted(dss: Any, root: Path, result: CliResult) -> None:
    """Prod has dev's objects, on its own connection and API infrastructure."""
    dev, prod = dss.client(), PROD_NODE[0].client()
    project = prod.get_project(PROD)
    for item in project.list_datasets():
        connection = project.get_dataset(item["name"]).get_settings().get_raw()["params"].get("connection")
        assert connection == PROD_CONNECTION, (item["name"], connection)
    promoted = _objects(prod, PROD)
    assert promoted == _objects(dev, DEV)
    assert all(promoted.values()), promoted  # every kind of object the example declares is there
    deployment = prod.get_apideployer().get_deployment("churn_api_live").get_settings().get_raw()
    assert deployment["infraId"] == "prod-infra", deployment


def _objects(client: Any, key: str) -> dict[str, list[str]]:
    project = client.get_project(key)
    return {
        "datasets": sorted(d["name"] for d in project.list_datasets()),
        "recipes": sorted(r["name"] for r in project.list_recipes()),
        "ml_tasks": sorted(t["analysisName"] for t in project.list_ml_tasks()["mlTasks"]),
        "saved_models": sorted(m["name"] for m in project.list_saved_models()),
        "api_services": sorted(s["id"] for s in project.list_api_services()),
        "scenarios": sorted(s["id"] for s in project.list_scenarios()),
        "webapps": sorted(w.name for w in project.list_webapps()),
        "model_evaluation_stores": sorted(s.get_settings().get_raw()["name"] for s in project.list_model_evaluation_stores()),
        "insights": sorted(i.name for i in project.list_insights()),
        "dashboards": sorted(d.name for d in project.list_dashboards()),
        "wiki_articles": sorted(a.get_data().get_name() for a in project.get_wiki().list_articles()),
    }


def _check_evaluated(dss: Any, root: Path, result: CliResult) -> None:
    """The evaluation recipe recorded one evaluation of the active version in the store, with its
    drift, and the store's checks passed the drift check (the accuracy one only warns)."""
    project = dss.client().get_project(DEV)
    (store,) = project.list_model_evaluation_stores()
    evaluations = store.list_model_evaluations()
    assert len(evaluations) == 1, evaluations
    metrics = evaluations[0].get_full_info().metrics
    assert 0 <= metrics["data_drift"] <= 0.2, metrics
    rows = list(project.get_dataset("new_customers_scored").iter_rows())
    assert len(rows) == 60


def _versions(dss: Any) -> list[dict]:
    project = dss.client().get_project(DEV)
    (model,) = project.list_saved_models()
    return list(project.get_saved_model(model["id"]).list_versions())


TRAINED: list[str] = []  # the dev model's version ids after the second training


def _check_trained(dss: Any, root: Path, result: CliResult) -> None:
    versions = _versions(dss)
    assert len(versions) == 2 and [v["id"] for v in versions if v.get("active")] != ["initial"], versions
    TRAINED[:] = sorted(v["id"] for v in versions)


def _check_rollback_plan(dss: Any, root: Path, result: CliResult) -> None:
    """The plan is exactly the pin going back: one update, of one field, from the second version to
    the first."""
    plan = run_cli(dss, root, "plan", "-e", "dev", "--json").json()
    changes = [c for c in plan["resource_changes"] if c["change"]["actions"] != ["no-op"]]
    assert [(c["address"], c["action"]) for c in changes] == [("saved_model.CHURN.churn_model", "update")], changes
    (second,) = [v for v in TRAINED if v != "initial"]
    fields = [(f["name"], f["before"], f["after"]) for f in changes[0]["change"]["fields"]]
    assert fields == [("active_version", second, "initial")], fields


def _check_rolled_back(dss: Any, root: Path, result: CliResult) -> None:
    versions = _versions(dss)
    assert [v["id"] for v in versions if v.get("active")] == ["initial"], versions
    assert sorted(v["id"] for v in versions) == TRAINED, "a version was deleted"


def _check_put_back(dss: Any, root: Path, result: CliResult) -> None:
    """After a training in DSS and the apply that reverted its activation: the pin is active again,
    and the version DSS trained is kept beside the two others."""
    versions = _versions(dss)
    assert [v["id"] for v in versions if v.get("active")] == ["initial"], versions
    assert len(versions) == 3 and set(TRAINED) < {v["id"] for v in versions}, versions


Check = Callable[[Any, Path, CliResult], None]
CHECKS: dict[Any, Check] = {  # by command, or (command, occurrence) for a command the README runs twice
    "python in_dss.py build CHURN_DEV customers": _check_built,
    "DKU_DSS_URL=$DKU_DSS_URL_PROD dataiku-iac apply -e prod --auto-approve": _check_promoted,
    "python in_dss.py evaluate CHURN_DEV churn_monitoring": _check_evaluated,
    "dataiku-iac apply -e dev --train --auto-approve": _check_trained,
    "dataiku-iac plan -e dev --detailed-exitcode": _check_rollback_plan,
    ("python in_dss.py versions CHURN_DEV churn_model", 2): _check_rolled_back,
    ("python in_dss.py versions CHURN_DEV churn_model", 3): _check_put_back,
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
    met: set[Any] = set()
    seen: dict[str, int] = {}
    for step in walkthrough_steps(README.read_text()):
        result = run_step(dss, root, step, env)
        assert result.returncode == step.exit_code, step.where(result)
        assert "Traceback" not in result.output, step.where(result)
        for text in step.prints:
            assert text in result.stdout, f"{text!r} not printed\n{step.where(result)}"
        seen[step.command] = seen.get(step.command, 0) + 1
        key = next((k for k in ((step.command, seen[step.command]), step.command) if k in CHECKS), None)
        check: Optional[Check] = CHECKS.get(key)
        if check is not None:
            check(dss, root, result)
            met.add(key)
    assert met == set(CHECKS), f"the README no longer runs: {sorted(set(CHECKS) - met)}"


def _import_into_an_empty_directory(dss: Any, root: Path, tmp_path: Path) -> None:
    """The live dev project, imported by a new state into a directory with only the environment,
    plans `No changes.`: the importer writes back every object the example declares."""
    fresh = tmp_path / "imported"
    (fresh / "environments").mkdir(parents=True)
    shutil.copy(root / "environments" / "dev.yml", fresh / "environments" / "dev.yml")
    shutil.copy(root / "iac.yml", fresh / "iac.yml")
    # The walk-through's state is given up as the README's step 7 says (the importer refuses
    # another state's project): its command, run in the walk-through's directory.
    unmark = Step(0, f"python in_dss.py unmark {DEV}", 0, (f"{DEV}: released from state lineage ",))
    released = run_step(dss, root, unmark, shell_env(dss))
    assert released.returncode == 0 and unmark.prints[0] in released.stdout, unmark.where(released)
    assert "dataiku-iac.lineage" not in dss.client().get_project(DEV).get_metadata()["custom"]["kv"]
    imported = run_cli(dss, fresh, "import", "project", DEV, "-e", "dev")
    assert "Check: plan after import -> No changes." in imported.stdout, str(imported)
    assert "not imported" not in imported.stdout, str(imported)
    plan = run_cli(dss, fresh, "plan", "-e", "dev", "--detailed-exitcode")
    assert plan.last_line().startswith("No changes."), str(plan)


def _dashboard_reports_its_own_model(node: Any, key: str) -> None:
    """The dashboard's model report shows that DSS's saved model: the configuration names it, each
    environment's DSS gave it an id of its own."""
    project = node.client().get_project(key)
    [model] = project.list_saved_models()
    [dashboard] = [d for d in project.list_dashboards() if d.name == "churn_overview"]  # not DSS's default one
    reports = {i.id: i for i in project.list_insights() if i.type == "saved-model_report"}
    [report] = reports.values()
    assert project.get_insight(report.id).get_settings().get_raw()["params"]["savedModelSmartId"] == model["id"]
    pages = project.get_dashboard(dashboard.id).get_settings().get_raw()["pages"]
    tiles = [t for page in pages for t in page["grid"]["tiles"]]
    assert report.id in {t.get("insightId") for t in tiles}, tiles


def test_the_ml_pipeline_converges_promotes_rolls_back_and_imports_back(dss: Any, prod: Any, tmp_path: Path) -> None:
    root = tmp_path / "ml-pipeline"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".dataiku-iac", "__pycache__"))
    _walk(dss, prod, root)
    _dashboard_reports_its_own_model(dss, "CHURN_DEV")
    _dashboard_reports_its_own_model(prod, "CHURN")
    mapping = dss.client().get_apideployer().get_deployment("churn_api_live").get_settings().get_raw()["generationsMapping"]
    assert mapping["mode"] == "MULTI_GENERATION", mapping  # the A/B split, as the deployer serves it
    assert sorted((e["generation"], e["proba"]) for e in mapping["entries"]) == [("v1", 0.9), ("v2", 0.1)], mapping
    _import_into_an_empty_directory(dss, root, tmp_path)
