"""The defaults the configuration schema documents are the ones DSS receives.

docs/config-reference.md and the schema's `default` annotations tell users what a key they
leave out means; a scenario applied without those keys must hold exactly that in DSS.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dataiku_iac.config.schema import load_schema
from dataiku_iac.engine.session import Session

from tests.e2e.helpers import write_config

PROJECT = """\
project:
  key: DEFAULTS
  name: Defaults
datasets:
  - name: out
    type: managed
scenarios:
  - id: BARE
    name: Bare
    triggers:
      - {type: periodic, every_minutes: 15}
    steps:
      - {type: build, datasets: [out]}
      - {type: set_variables, variables: {x: 1}}
"""


def _defaults() -> dict:
    defs = load_schema("project")["$defs"]
    return {
        "scenario.active": defs["scenario"]["properties"]["active"]["default"],
        "trigger.active": defs["trigger_periodic"]["properties"]["active"]["default"],
        "step.enabled": defs["step_build"]["properties"]["enabled"]["default"],
        "step.run_condition": defs["step_build"]["properties"]["run_condition"]["default"],
        "build.job_type": defs["step_build"]["properties"]["job_type"]["default"],
    }


def test_documented_scenario_defaults_reach_dss(dss: Any, tmp_path: Path) -> None:
    root = write_config(tmp_path / "cfg", {"defaults.yml": PROJECT})
    _, applied = Session(root, "dev", environ={"DKU_DSS_URL": dss.url, "DKU_API_KEY": dss.api_key}).apply()
    assert applied is not None and applied.ok
    raw = dss.client().get_project("DEFAULTS").get_scenario("BARE").get_settings().get_raw()
    defaults = _defaults()
    assert raw["active"] is defaults["scenario.active"]
    assert raw["triggers"][0]["active"] is defaults["trigger.active"]
    build, set_vars = raw["params"]["steps"]
    assert build["params"]["jobType"] == defaults["build.job_type"]
    for step in (build, set_vars):
        assert step["enabled"] is defaults["step.enabled"]
        assert defaults["step.run_condition"] == "on_success"
        assert step["runConditionType"] == "RUN_IF_STATUS_MATCH" and step["runConditionStatuses"] == ["SUCCESS", "WARNING"]
