"""What runs without the secrets' values (a fork's CI job has none): `validate` checks the
references, `drift` reports; `plan` and `apply`, which need the values, refuse at the line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.e2e.helpers import cli_env, run_cli, write_config

PROJECT = """\
project:
  key: NOSECRET
  name: No secret
  variables:
    local:
      token: {secret_env: IAC_SECRET_TOKEN}
      plain: 1
"""
VALUE = "canary-5be1d0-value"


def _env(dss: Any, **extra: str) -> dict[str, str]:
    env = cli_env(dss)
    env.pop("IAC_SECRET_TOKEN", None)
    return {**env, **extra}


def test_validate_needs_no_secret_value(dss: Any, tmp_path: Path) -> None:
    root = write_config(tmp_path / "cfg", {"p.yml": PROJECT})
    offline = run_cli(dss, root, "validate", "-e", "dev", "--offline", env=_env(dss, DKU_DSS_URL=""))
    assert "Success" in offline.stdout, str(offline)
    run_cli(dss, root, "validate", "-e", "dev", env=_env(dss))
    plan = run_cli(dss, root, "plan", "-e", "dev", env=_env(dss), expect=1)
    assert "projects/p.yml:6:" in plan.output and "IAC_SECRET_TOKEN" in plan.output, str(plan)


def test_drift_reports_without_the_secret_and_says_what_it_did_not_count(dss: Any, tmp_path: Path) -> None:
    root = write_config(tmp_path / "cfg", {"p.yml": PROJECT})
    run_cli(dss, root, "apply", "-e", "dev", "--auto-approve", env=_env(dss, IAC_SECRET_TOKEN=VALUE))
    project = dss.client().get_project("NOSECRET")
    variables = project.get_variables()
    variables["local"]["plain"] = 2
    project.set_variables(variables)

    text = run_cli(dss, root, "drift", "-e", "dev", env=_env(dss), expect=2)
    assert "project.NOSECRET changed outside dataiku-iac" in text.stdout, str(text)
    assert "cannot be planned" not in text.output
    assert "An apply would revert the drift above" in text.stdout
    assert "Not counted" in text.stdout and "projects/p.yml:6:" in text.stdout and "IAC_SECRET_TOKEN" in text.stdout
    assert VALUE not in text.output

    body = json.loads(run_cli(dss, root, "drift", "-e", "dev", "--json", env=_env(dss), expect=2).stdout)
    assert body["pending_config_changes"] == {"add": 0, "change": 0, "destroy": 0, "forget": 0}
    assert body["pending_reverts"]["change"] == 1
    assert len(body["pending_unknown_secrets"]) == 1
