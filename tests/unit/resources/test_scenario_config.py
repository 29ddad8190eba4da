"""Scenarios in the configuration: every step kind, script scenarios, reporters and raw items.

`build` (config -> logical) and `to_config` (logical -> config) round trip through the real
loader; the mistakes a schema or the builder refuses are all reported at once, each at its file,
line and field, without any DSS request (the check is offline)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import pytest
import yaml
from dataiku_iac.builder import check_config
from dataiku_iac.errors import ConfigError
from dataiku_iac.resources.scenario import to_config

from tests.support.cli import write_config

PROJECT = """\
project: {key: STEPS, name: Steps}
datasets:
  - {name: orders, type: managed}
managed_folders:
  - {name: drop, connection: filesystem_folders}
scenarios:
  - id: EVERYTHING
    name: Everything
    triggers:
      - {type: temporal, frequency: Daily, hour: 2, minute: 30}
      - {type: sql_query, name: New rows, params: {connection: warehouse, sql: "SELECT max(id) FROM orders"}}
    steps:
      - {type: build, datasets: [orders], folders: [drop]}
      - {type: run_checks, datasets: [orders], warnings_as: FAILED}
      - {type: compute_metrics, datasets: [orders]}
      - {type: set_variables, variables: {last: ok}}
      - {type: define_variables, variables: {limit: 10}, formulas: {day: "now()"}}
      - {type: sql, connection: warehouse, sql_file: sql/purge.sql}
      - {type: python, code_file: scenarios/notify.py, code_env: py_base, run_condition: always}
      - {type: run_scenario, scenario: SCRIPTED}
      - {type: run_macro, macro: pyrunnable_builtin-macros_clear-job-logs, params: {age: 15}}
      - {type: clear_items, name: Clear, params: {items: [{type: DATASET, itemId: orders}]}}
    reporters:
      - {type: mail, name: Mail, channel: smtp, to: ops@example.com, condition: "outcome != 'SUCCESS'"}
      - {type: webhook, url: {secret_env: IAC_SECRET_HOOK}, payload: '{"text": "${outcome}"}'}
      - {type: slack-scenario, configuration: {channelId: chat, message: hi}}
  - id: SCRIPTED
    name: Scripted
    script_file: scenarios/scripted.py
    code_env: py_base
"""
FILES = {"sql/purge.sql": "DELETE FROM staging", "scenarios/notify.py": "print('notify')\n",
         "scenarios/scripted.py": "print('the whole scenario')\n"}
SECRETS = {"IAC_SECRET_HOOK": "https://hooks.example.com/T0/B0/token"}


class _Import:
    """What `to_config` asks of the importer: files written under `root`, secrets kept."""

    key = "STEPS"

    def __init__(self, root: Path):
        self.root, self.files, self.secrets = root, {}, {}

    def write(self, rel: str, text: str) -> None:
        self.files[rel] = text

    def config_connection(self, name: Optional[str]) -> Optional[str]:
        return name

    def config_code_env(self, name: str) -> str:
        return name

    def config_container(self, name: str) -> str:
        return name

    def not_expressed(self, reason: str) -> None:
        raise AssertionError(reason)

    def declared(self, type_: str, name: str) -> Any:
        return {}  # every object the scenarios name is declared

    def exists(self, type_: str, name: str) -> bool:
        return True

    def secret(self, env_name: str, value: str, what: str) -> dict:
        self.secrets[env_name] = value
        return {"secret_env": env_name}


def _desired(root: Path, secrets: dict[str, str]) -> dict[str, dict]:
    _cfg, desired = check_config(root, "dev", secrets)
    return {r.address: r for r in desired.by_type("scenario")}


def test_every_step_kind_builds_and_writes_back_to_the_same_configuration(tmp_path: Path) -> None:
    root = write_config(tmp_path / "cfg", {"steps.yml": PROJECT}, files=FILES)
    built = _desired(root, SECRETS)
    everything = built["scenario.STEPS.EVERYTHING"].attributes
    assert [s["type"] for s in everything["steps"]] == [
        "build", "run_checks", "compute_metrics", "set_variables", "define_variables", "sql", "python",
        "run_scenario", "run_macro", "clear_items"]
    assert everything["steps"][5]["sql"] == "DELETE FROM staging" and everything["steps"][6]["code"] == "print('notify')\n"
    assert everything["reporters"][1]["url"] == {"secret_env": "IAC_SECRET_HOOK"}  # the value: beside, not in
    assert built["scenario.STEPS.EVERYTHING"].secrets == {"reporters.1.url": SECRETS["IAC_SECRET_HOOK"]}
    scripted = built["scenario.STEPS.SCRIPTED"].attributes
    assert scripted["kind"] == "custom_python" and scripted["script"] == "print('the whole scenario')\n"

    # logical -> config -> logical: the same attributes (what import writes plans no change)
    context = _Import(tmp_path)
    items = [to_config(r.name, r.attributes, context) for r in built.values()]
    document = yaml.safe_load(PROJECT)
    document["scenarios"] = items
    again = write_config(tmp_path / "again", {"steps.yml": yaml.safe_dump(document)}, files=context.files)
    rebuilt = _desired(again, SECRETS)
    for address, resource in built.items():
        assert rebuilt[address].attributes == resource.attributes, address


def test_a_raw_step_keeps_its_type_and_params_and_import_writes_secret_looking_values_as_references(tmp_path: Path) -> None:
    attrs = {"kind": "step_based", "name": "R", "active": False, "triggers": [], "steps": [
        {"type": "pystep_my-plugin_notify", "name": "Notify", "enabled": True, "run_condition": "on_success",
         "params": {"config": {"x": 1}}}],
        "reporters": [{"type": "msft-teams-scenario", "name": None, "active": True, "phase": "end", "condition": None,
                       "configuration": {"webhookUrl": "https://outlook.example.com/hook/abc", "message": "done"}}]}
    context = _Import(tmp_path)
    item = to_config("R", attrs, context)
    assert item is not None
    assert item["steps"] == [{"type": "pystep_my-plugin_notify", "name": "Notify", "params": {"config": {"x": 1}}}]
    reporter = item["reporters"][0]
    assert reporter["configuration"]["webhookUrl"] == {"secret_env": "IAC_SECRET_STEPS_R_REPORTER1_WEBHOOKURL"}
    assert reporter["configuration"]["message"] == "done"
    assert context.secrets == {"IAC_SECRET_STEPS_R_REPORTER1_WEBHOOKURL": "https://outlook.example.com/hook/abc"}


MISTAKES = """\
project: {key: BAD, name: Bad}
scenarios:
  - id: S
    name: s
    steps:
      - {type: clear_items}
      - {type: sql, sql: "DELETE FROM staging"}
      - {type: exec_sql, params: {connection: pg, sql: "SELECT 1"}}
      - {type: python, code: "print(1)", code_file: scenarios/x.py}
    reporters:
      - {type: mail, to: ops@example.com}
      - type: mail
        channel: smtp
        to: {secret_env: IAC_SECRET_NEVER_SET_HERE}
      - {type: webhook, url: "https://hooks.example.com/T0/B0/token"}
      - {type: webhook}
  - id: T
    name: t
    script_file: scenarios/t.py
    steps: [{type: build, datasets: [x]}]
"""


def test_every_scenario_mistake_is_reported_at_once_at_its_line(tmp_path: Path) -> None:
    root = write_config(tmp_path / "cfg", {"bad.yml": MISTAKES}, files={"scenarios/t.py": "pass\n"})
    with pytest.raises(ConfigError) as info:
        check_config(root, "dev", {})
    found = {(d.line, d.message) for d in info.value.diagnostics if d.file == "projects/bad.yml"}
    expected = [
        (6, "'params' is required for a step of a type the configuration does not type"),
        (7, "a step of type sql needs a 'connection'"),
        (8, "'exec_sql' is DSS's name of a step the configuration types"),
        (9, "a step of type python takes either 'code' or 'code_file', not both"),
        (11, "'channel' is required for a reporter of type mail"),
        (14, "IAC_SECRET_NEVER_SET_HERE"),
        (15, "write it as a secret reference"),
        (16, "a reporter of type webhook needs 'channel' or 'url'"),
        (20, "a script scenario (script or script_file) has no steps"),
    ]
    for line, text in expected:
        assert any(at == line and text in m for at, m in found), (line, text, sorted(found))
