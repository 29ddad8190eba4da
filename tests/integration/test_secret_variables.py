"""Secret project variables: the value reaches DSS, never a plan, the state or the output."""

from __future__ import annotations

import json
from pathlib import Path

from dataiku_iac.engine.session import Session
from dataiku_iac.output.text import render_plan

PROJECT = """\
project:
  key: SECRETS
  name: Secrets
  variables:
    local:
      token: {secret_env: IAC_SECRET_TOKEN}
      plain: 1
"""


def _config(root: Path) -> Path:
    (root / "projects").mkdir(parents=True)
    (root / "environments").mkdir()
    (root / "environments" / "dev.yml").write_text("dss:\n  api_key_env: DKU_API_KEY\n")
    (root / "projects" / "secrets.yml").write_text(PROJECT)
    return root


def _session(root: Path, dss, secret: str) -> Session:
    environ = {"DKU_DSS_URL": dss.url, "DKU_API_KEY": dss.api_key, "IAC_SECRET_TOKEN": secret}
    return Session(root, "dev", environ=environ)


def _all_text(root: Path) -> str:
    return "\n".join(p.read_text(errors="replace") for p in (root / ".dataiku-iac").rglob("*") if p.is_file())


def test_secret_value_reaches_dss_and_nothing_else(tmp_path: Path, dss) -> None:
    root = _config(tmp_path / "cfg")
    first, rotated = "canary-1f0e6a5b-first", "canary-77d2c9aa-rotated"

    _, applied = _session(root, dss, first).apply()
    assert applied is not None and applied.ok
    assert dss.client().get_project("SECRETS").get_variables()["local"] == {"token": first, "plain": 1}
    assert _session(root, dss, first).plan().plan.has_changes is False

    result = _session(root, dss, rotated).plan()
    assert result.plan.summary()["change"] == 1, "a rotated secret is a change"
    shown = render_plan(result.plan) + json.dumps(result.plan.to_json())
    assert first not in shown and rotated not in shown
    marked = {c["address"]: c.get("sensitive_values") for c in result.plan.to_json()["resource_changes"]}
    assert marked["project.SECRETS"] == ["variables.local.token"], "plan --json marks the secret as sensitive"

    _, applied = _session(root, dss, rotated).apply()
    assert applied is not None and applied.ok
    assert dss.client().get_project("SECRETS").get_variables()["local"]["token"] == rotated
    assert _session(root, dss, rotated).plan().plan.has_changes is False
    state_text = _all_text(root)
    assert first not in state_text and rotated not in state_text


def test_a_secret_overwritten_in_dss_is_drift(tmp_path: Path, dss) -> None:
    root = _config(tmp_path / "cfg")
    _session(root, dss, "canary-aa11").apply()
    project = dss.client().get_project("SECRETS")
    variables = project.get_variables()
    variables["local"]["token"] = {"not": "a string"}  # anything but the applied value
    project.set_variables(variables)
    report = _session(root, dss, "canary-aa11").drift()
    assert [i.address for i in report.items if i.kind == "changed"] == ["project.SECRETS"]
    assert "canary-aa11" not in json.dumps(report.to_json())
