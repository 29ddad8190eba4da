"""Scenario runs: a manual trigger fire starts a run in a background thread; steps really execute.

Executed step types: build_flowitem (runs the build job: builds.py), set_project_vars (sets the
variables), define_vars, run_scenario (runs the other scenario and takes its outcome), runnable
(runs the macro), pystep_<plugin>_<step> (runs the plugin's step.py in a subprocess). custom_python
steps and script scenarios are NOT executed and fail. Other step types succeed without effect.
Temporal and other automatic triggers never fire. At the end of a run, the reporters DSS would
run send their messages to the runtime's outbox (reporters.py), never delivered.
"""

from __future__ import annotations

import copy
import json
import threading
import time
import traceback
from typing import Any, Dict, List, Optional

from . import builds, errors
from .app import App
from .auth import Caller
from .reporters import end_of_run_messages
from .store import ProjectData

OUTCOME_RANK = {"SUCCESS": 0, "WARNING": 1, "FAILED": 2, "ABORTED": 3}
MAX_NESTING = 5


def _run_id(stamp_ms: int) -> str:
    base = time.strftime("%Y-%m-%d-%H-%M-%S", time.localtime(stamp_ms / 1000))
    return f"{base}-{stamp_ms % 1000:03d}"


def _thrown(
    message: str, clazz: str = "com.dataiku.common.server.APIError$SerializedErrorException"
) -> Dict[str, Any]:
    return {
        "clazz": clazz,
        "title": message,
        "message": message,
        "stack": "",
        "code": None,
        "fixability": None,
    }


class StepFailure(Exception):
    """A step ended FAILED (or WARNING via ``outcome``)."""

    def __init__(self, message: str, outcome: str = "FAILED", output: str = "") -> None:
        super().__init__(message)
        self.outcome = outcome
        self.output = output  # what the step printed before failing: its log keeps it, as DSS's does


class ScenarioEngine:
    def __init__(self, app: App) -> None:
        self.app = app
        self.fires: Dict[str, Dict[str, Any]] = {}
        self.aborts: Dict[str, threading.Event] = {}
        self.step_procs: Dict[str, Any] = {}  # run id -> the process of its running plugin step
        self._local = threading.local()  # the run id of the step this thread executes
        self._lock = threading.Lock()
        self._counter = 0

    # ---------------------------------------------------------------- starting

    def fire(self, proj: ProjectData, sid: str, params: Dict[str, Any], caller: Caller) -> Dict[str, Any]:
        """Called under the store lock by POST .../run. Returns DSS's trigger-fire document."""
        with self._lock:
            self._counter += 1
            trigger_run_id = f"{int(time.time() * 1000)}-{self._counter}"
        trigger = {"id": "manual", "type": "manual", "name": "Manual trigger (API)", "params": {}}
        fire = {
            "trigger": trigger,
            "runId": trigger_run_id,
            "cancelled": False,
            "params": params,
            "projectKey": proj.key,
            "scenarioId": sid,
            "timestamp": int(time.time() * 1000),
        }
        if self.is_running(proj, sid):
            fire["cancelled"] = True  # DSS does not start a second concurrent run of a scenario
        else:
            run = self._new_run(proj, sid, fire, caller)
            fire["scenarioRunId"] = run["runId"]
            generation = self.app.store.generation
            threading.Thread(
                target=self._execute,
                args=(proj, sid, run, caller, generation, 0),
                name=f"scenario-{proj.key}-{sid}",
                daemon=True,
            ).start()
        with self._lock:
            self.fires[trigger_run_id] = fire
        return copy.deepcopy(fire)

    def is_running(self, proj: ProjectData, sid: str) -> bool:
        runs = proj.runs.get(sid) or []
        return bool(runs) and "result" not in runs[-1]

    def _new_run(self, proj: ProjectData, sid: str, fire: Dict[str, Any], caller: Caller) -> Dict[str, Any]:
        scenario = proj.scenarios[sid]
        start = int(time.time() * 1000)
        run_id = _run_id(start)
        while any(r["runId"] == run_id for r in proj.runs.get(sid, [])):
            start += 1
            run_id = _run_id(start)
        run = {
            "runId": run_id,
            "start": start,
            "end": 0,
            "scenario": {
                "projectKey": proj.key,
                "id": sid,
                "name": scenario.get("name"),
                "type": scenario.get("type"),
                "markedAsTest": scenario.get("markedAsTest", False),
            },
            "trigger": {
                "trigger": copy.deepcopy(fire["trigger"]),
                "runId": fire["runId"],
                "params": copy.deepcopy(fire.get("params") or {}),
                "timestamp": fire["timestamp"],
            },
            "runAsUser": {"realUserLogin": caller.login, "effectiveRunAsUser": self.run_as(scenario, caller)},
            "stepRuns": [],
        }
        proj.runs.setdefault(sid, []).append(run)
        self.aborts[run_id] = threading.Event()
        return run

    @staticmethod
    def run_as(scenario: Dict[str, Any], caller: Caller) -> str:
        """runAsUser, else the last modifier (dataikuapi's effective_run_as)."""
        return (
            scenario.get("runAsUser")
            or ((scenario.get("versionTag") or {}).get("lastModifiedBy") or {}).get("login")
            or caller.login
        )

    # ---------------------------------------------------------------- executing

    def _execute(
        self, proj: ProjectData, sid: str, run: Dict[str, Any], caller: Caller, generation: int, depth: int
    ) -> str:
        store = self.app.store
        with store.lock:
            scenario = copy.deepcopy(proj.scenarios.get(sid) or {})
        runner = self._runner_caller(scenario, caller)
        status = "SUCCESS"
        try:
            if scenario.get("type") != "step_based":
                status = self._record_step(
                    run,
                    {"id": "script", "type": "custom_python", "name": "Script"},
                    "FAILED",
                    "The emulator does not execute custom_python scenarios",
                )
            else:
                for step in (scenario.get("params") or {}).get("steps", []):
                    if self.aborts.get(run["runId"], threading.Event()).is_set():
                        status = "ABORTED"
                        break
                    if not self._should_run(step, status):
                        continue
                    outcome = self._run_step(proj, step, run, runner, generation, depth)
                    if OUTCOME_RANK[outcome] > OUTCOME_RANK[status] or step.get("resetScenarioStatus"):
                        status = outcome
        except Exception:
            traceback.print_exc()
            status = "FAILED"
        # The END reporters send before the run reads as finished, as they are part of it in DSS.
        self.app.runtime.send_messages(end_of_run_messages(proj.key, scenario, run, status))
        with store.lock:
            end = int(time.time() * 1000)
            run["end"] = end
            run["result"] = {"outcome": status, "type": "SCENARIO_DONE", "start": run["start"], "end": end}
            store.save_run(proj, sid, run, generation)
        self.aborts.pop(run["runId"], None)
        return status

    def _runner_caller(self, scenario: Dict[str, Any], caller: Caller) -> Caller:
        login = self.run_as(scenario, caller)
        with self.app.store.lock:
            user = self.app.store.users.get(login)
            if user is None or login == caller.login:
                return caller
            groups = list(user.get("groups") or [])
            admin = any(self.app.store.groups.get(g, {}).get("admin") for g in groups)
        return Caller(login=login, groups=groups, admin=admin, api_key="", key_id="")

    @staticmethod
    def _should_run(step: Dict[str, Any], status: str) -> bool:
        if step.get("enabled") is False:
            return False
        cond = step.get("runConditionType", "RUN_IF_STATUS_MATCH")
        if cond == "DISABLED":
            return False
        if cond == "RUN_ALWAYS":
            return True
        if cond == "RUN_IF_STATUS_MATCH":
            return status in (step.get("runConditionStatuses") or ["SUCCESS", "WARNING"])
        return True  # RUN_CONDITION_EXPRESSION etc: evaluated as true

    def _record_step(
        self,
        run: Dict[str, Any],
        step: Dict[str, Any],
        outcome: str,
        message: str = "",
        items: Optional[List[Dict[str, Any]]] = None,
        start: Optional[int] = None,
        log: Optional[str] = None,
    ) -> str:
        end = int(time.time() * 1000)
        result: Dict[str, Any] = {"outcome": outcome, "type": "STEP_DONE", "start": start or end, "end": end}
        if outcome in ("FAILED", "WARNING") and message:
            result["thrown"] = _thrown(message)
        with self.app.store.lock:
            run["stepRuns"].append(
                {
                    "stepId": step.get("id"),
                    "step": copy.deepcopy(step),
                    "start": start or end,
                    "end": end,
                    "result": result,
                    "additionalReportItems": items or [],
                    "log": message if log is None else log,
                }
            )
        return outcome

    def _run_step(
        self,
        proj: ProjectData,
        step: Dict[str, Any],
        run: Dict[str, Any],
        caller: Caller,
        generation: int,
        depth: int,
    ) -> str:
        start = int(time.time() * 1000)
        items: List[Dict[str, Any]] = []
        self._local.run_id = run["runId"]
        try:
            message = self._dispatch_step(proj, step, caller, generation, depth, items)
            return self._record_step(run, step, "SUCCESS", message, items, start)
        except StepFailure as failure:
            log = failure.output + ("" if failure.output.endswith("\n") or not failure.output else "\n") + str(failure)
            aborted = self.aborts.get(run["runId"], threading.Event()).is_set()
            return self._record_step(run, step, "ABORTED" if aborted else failure.outcome, str(failure), items, start, log=log)
        except errors.DSSError as err:
            return self._record_step(run, step, "FAILED", f"{err.error_type}: {err.message}", items, start)

    def _dispatch_step(
        self,
        proj: ProjectData,
        step: Dict[str, Any],
        caller: Caller,
        generation: int,
        depth: int,
        items: List[Dict[str, Any]],
    ) -> str:
        stype = step.get("type") or ""
        params = step.get("params") or {}
        if stype == "build_flowitem":
            return self._build(proj, params, caller, items)
        if stype == "set_project_vars":
            return self._set_vars(proj, params)
        if stype == "run_scenario":
            return self._run_other(proj, params, caller, generation, depth)
        if stype == "runnable":
            return self._run_macro(proj, params, caller)
        if stype == "custom_python":
            raise StepFailure("The emulator does not execute custom_python steps")
        if stype.startswith("pystep_"):
            return self._run_plugin_step(proj, stype, params, caller)
        return f"Step type {stype} is accepted but has no effect in the emulator"

    def _build(
        self, proj: ProjectData, params: Dict[str, Any], caller: Caller, items: List[Dict[str, Any]]
    ) -> str:
        outputs = []
        with self.app.store.lock:
            for build in params.get("builds") or []:
                pk = build.get("projectKey") or proj.key
                target = self.app.store.projects.get(pk)
                kind = build.get("type", "DATASET")
                item_id = build.get("itemId")
                pool = {} if target is None else builds.buildable(target, kind)
                if item_id not in pool:
                    raise StepFailure(f"{kind} {pk}.{item_id} does not exist")
                outputs.append(
                    {"type": kind, "id": item_id, "projectKey": pk, "partition": build.get("partitionsSpec")}
                )
            if not outputs:
                return "Built 0 item(s)"
            job_type = params.get("jobType") or "RECURSIVE_BUILD"
            status, job = builds.start_job(self.app, proj, job_type, outputs, caller.login)
        state = job.run()  # this thread is the scenario's: the job runs in it
        job_id = status["def"]["id"]
        items.append(
            {"type": "JOB_EXECUTED", "jobId": job_id, "outcome": "SUCCESS" if state == "DONE" else "FAILED"}
        )
        if state != "DONE":
            raise StepFailure(f"Job {job_id} failed: {self._job_error(proj.key, job_id)}")
        return f"Built {len(outputs)} item(s)"

    def _job_error(self, pk: str, job_id: str) -> str:
        job = self.app.runtime.job(pk, job_id) or {}
        failed = [
            a.get("error", "") for a in job.get("activities", {}).values() if a.get("state") == "FAILED"
        ]
        return failed[0] if failed else "see the job log"

    def _set_vars(self, proj: ProjectData, params: Dict[str, Any]) -> str:
        variables = params.get("variables") or {}
        if isinstance(variables, str):
            try:
                variables = json.loads(variables)
            except ValueError:
                raise StepFailure("variables is not valid JSON") from None
        store = self.app.store
        with store.lock:
            target = store.projects.get(params.get("projectKey") or proj.key)
            if target is None:
                raise StepFailure("Project {} does not exist".format(params.get("projectKey")))
            target.variables.update(variables)
            store.save_variables(target)
        return f"Set {len(variables)} variable(s)"

    def _run_other(
        self, proj: ProjectData, params: Dict[str, Any], caller: Caller, generation: int, depth: int
    ) -> str:
        if depth >= MAX_NESTING:
            raise StepFailure("Too many nested run_scenario steps")
        store = self.app.store
        with store.lock:
            target = store.projects.get(params.get("projectKey") or proj.key)
            sid = params.get("scenarioId")
            if target is None or sid not in target.scenarios:
                raise StepFailure(f"Scenario {sid} does not exist")
            fire = {
                "trigger": {
                    "id": "run_scenario",
                    "type": "scenario",
                    "name": f"Run from scenario {sid}",
                    "params": {},
                },
                "runId": "nested",
                "params": {},
                "timestamp": int(time.time() * 1000),
            }
            run = self._new_run(target, sid, fire, caller)
        outcome = self._execute(target, sid, run, caller, generation, depth + 1)
        if outcome != "SUCCESS":
            raise StepFailure(f"Scenario {sid} ended with {outcome}", outcome)
        return f"Scenario {sid}: SUCCESS"

    def _run_macro(self, proj: ProjectData, params: Dict[str, Any], caller: Caller) -> str:
        from .routes.macros import execute_macro

        run = execute_macro(
            self.app,
            proj.key,
            params.get("runnableType", ""),
            params.get("config") or {},
            params.get("adminConfig") or {},
            caller,
        )
        if run.get("error"):
            raise StepFailure(run["error"])
        return "Macro {} done".format(params.get("runnableType"))

    def _run_plugin_step(self, proj: ProjectData, stype: str, params: Dict[str, Any], caller: Caller) -> str:
        from .plugins import find_step
        from .routes.macros import interrupt_then_kill, run_plugin_code

        step_dir, plugin = find_step(self.app.store.plugin_dirs, stype)
        config = params.get("config", params)
        run_id = getattr(self._local, "run_id", "")

        def started(proc: Any) -> None:
            with self._lock:
                self.step_procs[run_id] = proc
            if self.aborts.get(run_id, threading.Event()).is_set():  # aborted while it started
                interrupt_then_kill(proc)

        try:
            outcome = run_plugin_code(
                self.app, "step", step_dir / "step.py", plugin, proj.key, config, caller, on_start=started
            )
        finally:
            with self._lock:
                self.step_procs.pop(run_id, None)
        if not outcome.get("ok"):
            raise StepFailure(outcome.get("error") or "Plugin step failed", output=outcome.get("log", ""))
        return outcome.get("log", "")

    # ---------------------------------------------------------------- reading

    def fire_for(self, trigger_run_id: str) -> Optional[Dict[str, Any]]:
        with self._lock:
            return self.fires.get(trigger_run_id)

    def abort(self, proj: ProjectData, sid: str) -> None:
        """Stop the running runs of the scenario: no further step starts, and a running plugin
        step is interrupted as DSS aborts code (SIGINT, then SIGKILL after a grace period)."""
        from .routes.macros import interrupt_then_kill

        for run in proj.runs.get(sid) or []:
            if "result" not in run and run["runId"] in self.aborts:
                self.aborts[run["runId"]].set()
                with self._lock:
                    proc = self.step_procs.get(run["runId"])
                if proc is not None:
                    interrupt_then_kill(proc)

    def reset(self) -> None:
        with self._lock:
            self.fires.clear()
        for event in list(self.aborts.values()):
            event.set()
        self.aborts.clear()
