"""Alerts of the scheduled drift check (issue 12, item 6): the set-up macro writes DSS's own
scenario reporters (a mail reporter, a Slack or Teams reporter through an administrator's
messaging channel), shaped as DSS stores them, and never a webhook URL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from plugin_helpers import STATE_PROJECT, run_macro

OPS = STATE_PROJECT  # any project: the one the fixture makes
SETUP = {"source_kind": "library", "library_path": "iac", "environment": "dev"}
ALERTS = {"mail_recipients": "ops@example.com; data@example.com", "mail_channel": "smtp_main",
          "webhook_channel_type": "slack", "webhook_channel": "slack_data_team"}
SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "dss-samples" / "scenario" / "define_vars_send_report_steps.json"


def _sample_mail_reporter() -> dict:
    """The mail reporter of a real DSS scenario (dss-samples)."""
    return json.loads(SAMPLE.read_text(encoding="utf-8"))["reporters"][0]


def _reporters(client) -> list:
    project = client.get_project(OPS)
    [item] = [s for s in project.list_scenarios() if s["name"] == "IaC drift check (dev)"]
    return project.get_scenario(item["id"]).get_settings().raw_reporters


def test_the_setup_macro_writes_dss_reporters_and_keeps_the_users_own(dss, state_project):
    client = dss.client()
    html = run_macro(client, OPS, "setup-drift-check", {**SETUP, **ALERTS})
    assert "dataiku-iac drift mail, dataiku-iac drift webhook" in html
    mail, webhook = _reporters(client)
    sample = _sample_mail_reporter()
    assert set(mail) <= set(sample) | {"name"} and set(mail["messaging"]["configuration"]) <= set(sample["messaging"]["configuration"])
    assert mail["messaging"]["type"] == sample["messaging"]["type"] == "mail-scenario"
    assert mail["messaging"]["configuration"]["recipient"] == "ops@example.com, data@example.com"
    assert mail["runConditionEnabled"] and mail["runCondition"] == "outcome != 'SUCCESS'" and mail["phase"] == "END"
    assert webhook["messaging"] == {
        "type": "slack-scenario",
        "configuration": {"channelId": "slack_data_team", "useGlobalChannel": True,
                          "message": "dataiku-iac drift check ${scenarioName}: ${outcome}"},
    }

    # A reporter the team added in DSS stays; ours are replaced, never doubled.
    project = client.get_project(OPS)
    scenario = project.get_scenario(next(s["id"] for s in project.list_scenarios() if s["name"] == "IaC drift check (dev)"))
    settings = scenario.get_settings()
    settings.raw_reporters.append({**sample, "id": "theirs"})
    settings.save()
    run_macro(client, OPS, "setup-drift-check", {**SETUP, "mail_recipients": "ops@example.com", "mail_channel": "smtp_main",
                                                 "alert_on": "always"})
    ids = [(r["id"], r["runConditionEnabled"]) for r in _reporters(client)]
    assert ids == [("theirs", False), ("iac_drift_mail", False)]


@pytest.mark.parametrize("params,named", [
    ({"mail_recipients": "ops@example.com"}, "mail_channel"),
    ({"webhook_channel_type": "slack"}, "webhook_channel"),
    ({"webhook_channel_type": "https://hooks.example.com/T0/B0/secret"}, "webhook_channel_type"),
])
def test_an_incomplete_alert_is_refused_before_any_change(dss, state_project, params, named):
    client = dss.client()
    with pytest.raises(Exception, match=named):
        run_macro(client, OPS, "setup-drift-check", {**SETUP, **params})
    assert not [s for s in client.get_project(OPS).list_scenarios() if s["name"] == "IaC drift check (dev)"]
