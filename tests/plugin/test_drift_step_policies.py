"""The drift scenario step under the environment's drift policies (issue 15, item 5): with
`policy: environment` the step reverts the drift whose policy is `revert` (the DSS value really
comes back, through the apply pipeline and the state lock), and fails when the revert is refused
(beyond `drift_revert_max_deletions`) or a resource's policy is `fail`."""

from __future__ import annotations

import pytest
from plugin_helpers import demo_config, run_macro, upload_library

OPS = "OPS"
LIBRARY = {"source_kind": "library", "library_path": "iac", "environment": "dev"}


def _step(client, name: str):
    project = client.get_project(OPS)
    scenario = project.create_scenario(name, "step_based")
    settings = scenario.get_settings()
    settings.raw_steps.append({"id": "drift", "type": "pystep_dataiku-iac_check-drift", "name": "drift",
                               "params": {"config": {**LIBRARY, "policy": "environment"}}})
    settings.save()
    return scenario


def _applied(client, env: str) -> None:
    files = demo_config()
    files["environments/dev.yml"] = env
    files["projects/demo.yml"] = files["projects/demo.yml"].replace(
        "    format: parquet\n", "    format: parquet\n    description: as configured\n")
    upload_library(client, OPS, "iac", files)
    apply = client.get_project(OPS).create_scenario("apply", "step_based")
    settings = apply.get_settings()
    settings.raw_steps.append({"id": "cd", "type": "pystep_dataiku-iac_apply-from-git", "name": "deploy",
                               "params": {"config": {**LIBRARY, "policy": "apply_always"}}})
    settings.save()
    assert apply.run_and_wait().outcome == "SUCCESS"


def _set(client, dataset: str, **changes) -> None:
    settings = client.get_project("PLUG_DEMO").get_dataset(dataset).get_settings()
    raw = settings.get_raw()
    for key, value in changes.items():
        if key == "connection":
            raw["params"]["connection"] = value
        else:
            raw[key] = value
    settings.save()


def test_the_step_reverts_drift_under_the_revert_policy(dss, state_project):
    client = dss.client()
    _applied(client, "policies:\n  drift: revert\n")
    _set(client, "TEST_DATA", description="edited in the UI")
    assert _step(client, "revert").run_and_wait().outcome == "SUCCESS"
    raw = client.get_project("PLUG_DEMO").get_dataset("TEST_DATA").get_settings().get_raw()
    assert raw["description"] == "as configured"


def test_the_step_fails_when_the_revert_is_refused(dss, state_project):
    client = dss.client()
    _applied(client, "policies:\n  drift: revert\n")
    _set(client, "TEST_DATA", connection="filesystem_folders")  # a replacement: beyond the limit of 0
    run = _step(client, "refused").run_and_wait(no_fail=True)
    assert run.outcome == "FAILED"
    assert "revert refused: the revert would delete or replace 1 DSS object(s)" in str(run.get_details())
    raw = client.get_project("PLUG_DEMO").get_dataset("TEST_DATA").get_settings().get_raw()
    assert raw["params"]["connection"] == "filesystem_folders"


def test_per_resource_fail_fails_the_step_and_the_rest_is_reverted(dss, state_project):
    client = dss.client()
    _applied(client, 'policies:\n  drift: revert\n  drift_resources:\n    "managed_folder.*": fail\n')
    _set(client, "TEST_DATA", description="edited in the UI")
    project = client.get_project("PLUG_DEMO")
    folder = project.get_managed_folder(project.list_managed_folders()[0]["id"])
    settings = folder.get_settings()
    settings.get_raw()["name"] = "renamed_in_the_ui"
    settings.save()
    run = _step(client, "mixed").run_and_wait(no_fail=True)
    assert run.outcome == "FAILED" and "reverted: dataset.PLUG_DEMO.TEST_DATA" in str(run.get_details())
    assert project.get_dataset("TEST_DATA").get_settings().get_raw()["description"] == "as configured"
    assert folder.get_settings().get_raw()["name"] == "renamed_in_the_ui"


def test_the_setup_macro_schedules_the_environments_policies(dss, state_project):
    client = dss.client()
    upload_library(client, OPS, "iac", demo_config())
    run_macro(client, OPS, "setup-drift-check", {**LIBRARY, "policy": "environment"})
    project = client.get_project(OPS)
    [item] = [s for s in project.list_scenarios() if s["name"] == "IaC drift check (dev)"]
    [step] = project.get_scenario(item["id"]).get_settings().raw_steps
    assert step["params"]["config"]["policy"] == "environment"
    with pytest.raises(Exception, match="policy: 'revert' is not one of fail, warn, environment"):
        run_macro(client, OPS, "setup-drift-check", {**LIBRARY, "policy": "revert"})
