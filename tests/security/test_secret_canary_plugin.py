"""Issue 14 §4 inside DSS: the plugin's macros and scenario steps, with the canaries of
test_secret_canary.py in the calling user's DSS user secrets (where `{secret_env}` reads them
inside DSS). Every macro (python-runnables/*) and step (python-steps/*) runs, a missing one fails
`test_every_macro_and_step_is_swept` (the whole sweep is marked slow; the default run sweeps
the applying macros and a refused apply); their HTML results, the errors DSS shows for a failed
macro (the Python error and the macro's output), the scenario runs' details, the library files
`import-project` writes back, every managed folder file (the state's, the drift reports) and every
project's metadata are scanned for every form of every canary."""

from __future__ import annotations

import json
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import pytest
from dataiku_iac.dss.html import extract_plan_json
from dataiku_iac.dss.service import write_library_files
from dataiku_iac.sources.library import list_library_files

from tests.security import canary as cn
from tests.security.test_secret_canary import (
    CANARIES,
    FOREIGN,
    KEY,
    SECRET_ENV,
    STATE_FOLDER,
    STATE_PROJECT,
    C,
    _echo_body,
    project_yaml,
    seed,
)

pytestmark = [pytest.mark.xdist_group("secret_canary")]

REPO = Path(__file__).resolve().parents[2]
OPS = "OPS"
LIBRARY = {"source_kind": "library", "library_path": "iac", "environment": "dev"}
FILES = {
    "iac.yml": f"version: 1\nstate:\n  backend: managed_folder\n  project_key: {STATE_PROJECT}\n  folder: {STATE_FOLDER}\n",
    "environments/dev.yml": "variables: {}\n",
    "projects/canary.yml": project_yaml(KEY),
}


@dataclass
class PluginSweep:
    dss: Any
    texts: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    ran: set[str] = field(default_factory=set)  # macros and steps run
    current: str = ""

    @property
    def client(self) -> Any:
        return self.dss.client()

    def text(self, place: str, text: str) -> None:
        self.texts.setdefault(self.current, []).append((place, text))

    def macro(self, macro_id: str, params: dict, *, fails: Optional[bool] = False) -> str:
        """Run a macro as its user does; its result (or the error DSS shows for it) is kept.
        `fails`: whether it must fail (None: either)."""
        self.ran.add(f"macro {macro_id}")
        handle = self.client.get_project(OPS).get_macro(f"pyrunnable_dataiku-iac_{macro_id}")
        try:
            run_id = handle.run(params=params, wait=True)
            result = handle.get_result(run_id, as_type="string")
            html = result.decode("utf-8") if isinstance(result, bytes) else result
        except Exception as exc:  # DSS answers the macro's failure with its error and output
            assert fails is not False, f"macro {macro_id} failed: {exc}"
            self.text(f"macro {macro_id} error", str(exc))
            return str(exc)
        assert fails is not True, f"macro {macro_id} did not fail"
        self.text(f"macro {macro_id} result", html)
        return html

    def step(self, step_id: str, config: dict, *, name: str) -> Any:
        """A scenario holding one of our steps, run; its run's details are kept."""
        self.ran.add(f"step {step_id}")
        scenario = self.client.get_project(OPS).create_scenario(name, "step_based")
        settings = scenario.get_settings()
        settings.raw_steps.append({"id": "s", "type": f"pystep_dataiku-iac_{step_id}", "name": step_id, "params": {"config": config}})
        settings.save()
        run = scenario.run_and_wait(no_fail=True)
        self.text(f"step {step_id} run", json.dumps(run.get_details()))
        return run

    def phase(self, name: str, body: Callable[[PluginSweep], None]) -> None:
        self.current = name
        try:
            body(self)
        except Exception:
            self.errors[name] = traceback.format_exc()
        finally:
            self.dss.admin.clear_faults()


def set_user_secrets(client: Any, values: dict[str, str]) -> None:
    """What the user does in Profile > My account > Other credentials (here through the API)."""
    settings = client.get_user("admin").get_settings()
    for name, value in values.items():
        settings.add_secret(name, value)
    settings.save()


def plan_and_apply(s: PluginSweep) -> None:
    s.macro("plan", LIBRARY)
    dry = s.macro("apply", LIBRARY)
    s.macro("apply", {**LIBRARY, "dry_run": False, "plan_json": extract_plan_json(dry)})
    assert s.client.get_project(KEY).get_variables()["local"]["db_password"] == C["local"].value


def failures(s: PluginSweep) -> None:
    """A rotation refused by DSS with an error echoing the request body: the macro fails."""
    set_user_secrets(s.client, {"IAC_SECRET_CANARY_LOCAL": C["rotated"].value})
    echo = _echo_body({"local": {"db_password": C["rotated"].value}, "standard": {"std_token": C["std"].value}})
    s.dss.admin.add_fault(method="PUT", path=rf"/projects/{KEY}/variables/$", status=400, mode="error", times=0, body=echo)
    dry = s.macro("apply", LIBRARY)
    s.macro("apply", {**LIBRARY, "dry_run": False, "plan_json": extract_plan_json(dry)}, fails=True)
    s.dss.admin.clear_faults()
    s.macro("apply", {**LIBRARY, "dry_run": False, "plan_json": extract_plan_json(s.macro("plan", LIBRARY))})


def drift(s: PluginSweep) -> None:
    project = s.client.get_project(KEY)
    variables = project.get_variables()
    variables["local"]["db_password"] = C["dss_side"].value
    project.set_variables(variables)
    s.macro("drift-check", LIBRARY)
    s.macro("drift-check", {**LIBRARY, "fail_on_drift": True}, fails=True)
    s.macro("setup-drift-check", {**LIBRARY, "scenario_name": "Drift watch", "report_folder": "drift_reports"})
    for scenario in s.client.get_project(OPS).list_scenarios():
        if scenario["name"] == "Drift watch":
            run = s.client.get_project(OPS).get_scenario(scenario["id"]).run_and_wait(no_fail=True)
            s.text("the drift scenario's run", json.dumps(run.get_details()))
    s.step("check-drift", {**LIBRARY, "policy": "fail", "report_folder": "step_reports"}, name="check")
    s.step("check-drift", {**LIBRARY, "policy": "environment", "report_folder": "step_reports"}, name="check-env")
    s.step("apply-from-git", {**LIBRARY, "policy": "apply_always"}, name="deploy")
    assert project.get_variables()["local"]["db_password"] == C["rotated"].value


def state_and_import(s: PluginSweep) -> None:
    s.macro("state", {**LIBRARY, "state_action": "list"})
    history = s.macro("state", {**LIBRARY, "state_action": "history"})
    s.text("history", history)
    s.macro("state", {**LIBRARY, "state_action": "unlock", "lock_id": "0123456789abcdef"}, fails=True)
    s.macro("state", {**LIBRARY, "state_action": "restore", "serial": 1}, fails=None)
    s.macro("state", {**LIBRARY, "state_action": "rollback", "serial": 1}, fails=False)
    project = s.client.create_project(FOREIGN, "Foreign", "admin")
    project.set_variables({"standard": {"api_token": C["foreign_var"].value}, "local": {}})
    scenario = project.create_scenario("Alerts", "step_based")
    settings = scenario.get_settings()
    settings.get_raw()["reporters"] = [{"id": "r1", "name": "hook", "active": True, "phase": "END", "messaging": {
        "type": "webhook-scenario", "configuration": {"url": C["foreign_webhook"].value, "method": "POST"}}}]
    settings.save()
    set_user_secrets(s.client, {"IAC_SECRET_FOREIGN_API_TOKEN": C["foreign_var"].value,
                                "IAC_SECRET_FOREIGN_ALERTS_REPORTER1_URL": C["foreign_webhook"].value})
    s.macro("import-project", {**LIBRARY, "import_project": FOREIGN})
    s.macro("import-project", {**LIBRARY, "import_project": FOREIGN, "write_back": True}, fails=None)


TESTS_FILE = """\
tests:
  - name: raw_has_id
    schema: {dataset: raw, columns: [{name: id, type: bigint}]}
  - name: raw_id_is_text
    schema: {dataset: raw, columns: [{name: id, type: string}]}
"""


def run_tests_phase(s: PluginSweep) -> None:
    """run-tests: the configuration, secrets included, applied into a test environment and
    destroyed; one test fails, so the step fails; the reports land in a folder (read back)."""
    write_library_files(s.client, OPS, "iac", {"tests/canary.yml": TESTS_FILE})
    s.macro("run-tests", {**LIBRARY, "report_folder": "test_reports"})
    run = s.step("run-tests", {**LIBRARY, "report_folder": "test_reports"}, name="tests")
    assert run.outcome == "FAILED"


PHASES: dict[str, Callable[[PluginSweep], None]] = {
    "plan_and_apply": plan_and_apply,
    "failures": failures,
    "drift": drift,
    "run_tests": run_tests_phase,
    "state_and_import": state_and_import,
}


def read_back_dss(s: PluginSweep) -> None:
    """What the plugin wrote in DSS: every project's metadata, every managed folder file, the
    library files."""
    s.current = "dss"
    client = s.client
    for key in client.list_project_keys():
        project = client.get_project(key)
        s.text(f"DSS project {key} metadata", json.dumps(project.get_metadata()))
        for folder in project.list_managed_folders():
            handle = project.get_managed_folder(folder["id"])
            for item in handle.list_contents().get("items", []):
                with handle.get_file(item["path"]) as answer:
                    s.text(f"DSS {key} folder {folder['name']}{item['path']}", answer.content.decode("utf-8", "replace"))
    for rel, handle in list_library_files(client.get_project(OPS).get_library(), "iac"):
        s.text(f"library /iac/{rel}", handle.read())


# The default run: the macros that apply secrets, and DSS refusing them with an echo of the
# request (the leak this suite found); the whole sweep, every macro and step, is marked slow.
FAST = ("plan_and_apply", "failures")


def _sweep(dss_emulator: Any, phases: tuple[str, ...]) -> PluginSweep:
    seed(dss_emulator)
    client = dss_emulator.client()
    client.create_project(OPS, OPS, "admin")
    for folder in ("drift_reports", "step_reports", "test_reports"):
        client.get_project(OPS).create_managed_folder(folder)
    write_library_files(client, OPS, "iac", FILES)
    set_user_secrets(client, SECRET_ENV)
    sweep = PluginSweep(dss_emulator)
    for name in phases:
        sweep.phase(name, PHASES[name])
    read_back_dss(sweep)
    return sweep


@pytest.fixture(scope="module")
def fast_sweep(dss_emulator: Any) -> PluginSweep:
    return _sweep(dss_emulator, FAST)


@pytest.fixture(scope="module")
def plugin_sweep(dss_emulator: Any) -> PluginSweep:
    return _sweep(dss_emulator, tuple(PHASES))


def _no_canary(sweep: PluginSweep, name: str) -> None:
    assert name not in sweep.errors, f"phase {name} did not run through:\n{sweep.errors[name]}"
    texts = sweep.texts.get(name, [])
    assert texts
    leaks = [str(f) for f in cn.Scanner(CANARIES).scan_all(texts)]
    assert not leaks, "secret canaries found:\n" + "\n".join(leaks)


@pytest.mark.parametrize("name", [*FAST, "dss"])
def test_no_canary_in_what_the_applying_macros_showed_or_wrote(fast_sweep: PluginSweep, name: str) -> None:
    _no_canary(fast_sweep, name)


@pytest.mark.slow
@pytest.mark.parametrize("name", [*PHASES, "dss"])
def test_no_canary_in_what_any_macro_or_step_showed_or_wrote(plugin_sweep: PluginSweep, name: str) -> None:
    _no_canary(plugin_sweep, name)


@pytest.mark.slow
def test_every_macro_and_step_is_swept(plugin_sweep: PluginSweep) -> None:
    present = {f"macro {p.name}" for p in (REPO / "python-runnables").iterdir() if (p / "runnable.json").is_file()}
    present |= {f"step {p.name}" for p in (REPO / "python-steps").iterdir() if (p / "step.json").is_file()}
    assert present - plugin_sweep.ran == set(), "the plugin canary sweep does not run: " + ", ".join(sorted(present - plugin_sweep.ran))


@pytest.mark.slow
def test_the_state_folder_and_the_reports_were_read(plugin_sweep: PluginSweep) -> None:
    places = [place for place, _ in plugin_sweep.texts.get("dss", [])]
    assert any(p.startswith(f"DSS {STATE_PROJECT} folder {STATE_FOLDER}") for p in places), places
    assert any("step_reports" in p for p in places) and any("drift_reports" in p for p in places), places
    assert any("test_reports" in p and p.endswith("/latest/junit.xml") for p in places), places
    assert any(p.startswith("library /iac/projects/foreign") for p in places), places


