"""Model evaluation stores (resources/model_evaluation_store.py), run as a user does (the CLI in a
subprocess) against the emulator: validate errors at file:line, plan/apply/no changes, the checks
as DSS's numericRange documents, drift, a rename in place, import back to `No changes.`."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from tests.support.cli import cli_env, run_cli, write_config

KEY = "MEST"
PROJECT = f"""\
project:
  key: {KEY}
  name: Monitoring

flow_zones:
  - name: monitoring

model_evaluation_stores:
  - name: churn_monitoring
    description: Drift of the churn model on each week's customers
    tags: [mlops]
    zone: monitoring
    metrics: [accuracy, data_drift]
    checks:
      - {{metric: data_drift, max: 0.2, label: drift below 0.2}}
      - {{metric: accuracy, min: 0.7, severity: warning}}
"""


def cli(dss: Any, root: Path, *args: str, expect: int | None = 0) -> Any:
    return run_cli(root, *args, env=cli_env(dss), expect=expect)


def store(dss: Any, key: str = KEY) -> Any:
    listed = dss.client().get_project(key).list_model_evaluation_stores()
    assert len(listed) == 1, listed
    return listed[0]


def test_validate_reports_each_mistake_at_its_file_and_line(dss: Any, tmp_path: Path) -> None:
    bad = PROJECT.replace("zone: monitoring\n    metrics", "zone: monitorin\n    metrics").replace(
        "{metric: accuracy, min: 0.7, severity: warning}", "{metric: accuracy, min: 0.9, max: 0.7}")
    out = cli(dss, write_config(tmp_path / "cfg", {"mest.yml": bad}), "validate", "-e", "dev", "--offline", expect=1).output
    assert re.search(r"projects/mest\.yml:12:\d+\b.*monitorin.*did you mean 'monitoring'", out), out
    assert re.search(r"projects/mest\.yml:16:\d+\b.*min 0\.9 is above max 0\.7", out), out
    bad = PROJECT.replace("severity: warning", "severity: fatal")
    out = cli(dss, write_config(tmp_path / "bad2", {"mest.yml": bad}), "validate", "-e", "dev", "--offline", expect=1).output
    assert re.search(r"projects/mest\.yml:16:\d+\b.*severity", out), out
    cli(dss, write_config(tmp_path / "good", {"mest.yml": PROJECT}), "validate", "-e", "dev", "--offline")


def test_plan_apply_no_changes_drift_rename_and_import(dss: Any, tmp_path: Path) -> None:
    root = write_config(tmp_path / "cfg", {"mest.yml": PROJECT})
    plan = cli(dss, root, "plan", "-e", "dev", "--detailed-exitcode", expect=2).stdout
    assert "model_evaluation_store.MEST.churn_monitoring will be created" in plan, plan
    cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    raw = store(dss).get_settings().get_raw()
    checks = raw["metricsChecks"]["checks"]
    assert [c["metricId"] for c in checks] == ["model_perf:DATA_DRIFT", "model_perf:ACCURACY"]
    assert checks[0]["maximum"] == 0.2 and checks[0]["maximumEnabled"] and not checks[0]["minimumEnabled"]
    assert checks[0]["meta"] == {"name": "Value in range", "label": "drift below 0.2"}
    assert checks[1]["softMinimum"] == 0.7 and checks[1]["softMinimumEnabled"] and not checks[1]["minimumEnabled"]
    assert raw["metrics"]["displayedState"]["metrics"] == [
        "reporting:BUILD_DURATION", "model_perf:ACCURACY", "model_perf:DATA_DRIFT"]
    assert raw["tags"] == ["mlops"] and raw["description"].startswith("Drift")
    zone = dss.client().get_project(KEY).get_flow().get_zone_of_object(store(dss))
    assert zone.name == "monitoring"
    assert cli(dss, root, "plan", "-e", "dev", "--detailed-exitcode").last_line().startswith("No changes.")

    # Drift: someone loosens the drift check in DSS.
    settings = store(dss).get_settings()
    settings.get_raw()["metricsChecks"]["checks"][0]["maximum"] = 0.5
    settings.save()
    drift = cli(dss, root, "drift", "-e", "dev", expect=2).stdout
    assert "model_evaluation_store.MEST.churn_monitoring" in drift, drift
    cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    assert store(dss).get_settings().get_raw()["metricsChecks"]["checks"][0]["maximum"] == 0.2

    # A rename (the state moved to the new address) keeps the store and its evaluations: DSS's id stays.
    first_id = store(dss).id
    (root / "projects" / "mest.yml").write_text(PROJECT.replace("churn_monitoring", "churn_watch"), encoding="utf-8")
    cli(dss, root, "state", "mv", "-e", "dev", f"model_evaluation_store.{KEY}.churn_monitoring",
        f"model_evaluation_store.{KEY}.churn_watch")
    cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    assert store(dss).id == first_id and store(dss).get_settings().get_raw()["name"] == "churn_watch"

    # Removed from the configuration: DSS deletes its evaluations with it, so the plan asks for --drop-data.
    (root / "projects" / "mest.yml").write_text(PROJECT.split("model_evaluation_stores:")[0], encoding="utf-8")
    refused = cli(dss, root, "plan", "-e", "dev", expect=1).output
    assert "DSS deletes the model evaluations it holds with it" in refused and "--drop-data" in refused, refused
    cli(dss, root, "apply", "-e", "dev", "--auto-approve", expect=1)
    assert store(dss).id == first_id  # kept
    plan = cli(dss, root, "plan", "-e", "dev", "--drop-data").stdout
    assert "DSS deletes the model evaluations it holds with the model evaluation store" in plan, plan
    cli(dss, root, "apply", "-e", "dev", "--auto-approve", "--drop-data")
    assert dss.client().get_project(KEY).list_model_evaluation_stores() == []



def test_import_writes_the_store_and_plans_no_changes(dss: Any, tmp_path: Path) -> None:
    """A store made with dataikuapi, its checks as DSS's UI writes them (the 2021 sample's shape),
    imported, then no changes."""
    project = dss.client().create_project("MESI", "Imported monitoring", "admin")
    mes = project.create_model_evaluation_store("churn_watch")
    settings = mes.get_settings()
    settings.get_raw()["metricsChecks"]["checks"] = [
        {"metricId": "model_perf:ACCURACY", "minimum": 0.8, "maximum": 0.0, "softMinimum": 0.0, "softMaximum": 0.0,
         "minimumEnabled": True, "maximumEnabled": False, "softMinimumEnabled": False, "softMaximumEnabled": False,
         "type": "numericRange", "meta": {"name": "Value in range", "label": "Accuracy>=0.8"},
         "computeOnBuildMode": "PARTITION"}]
    settings.get_raw()["tags"] = ["mlops"]
    settings.save()
    root = write_config(tmp_path / "imported", {})
    cli(dss, root, "import", "project", "MESI", "-e", "dev")
    written = yaml.safe_load((root / "projects" / "mesi.yml").read_text(encoding="utf-8"))
    item = written["model_evaluation_stores"][0]
    assert item == {"name": "churn_watch", "tags": ["mlops"],
                    "checks": [{"metric": "accuracy", "min": 0.8, "label": "Accuracy>=0.8"}]}, item
    cli(dss, root, "validate", "-e", "dev", "--offline")
    assert cli(dss, root, "plan", "-e", "dev", "--detailed-exitcode").last_line().startswith("No changes.")
