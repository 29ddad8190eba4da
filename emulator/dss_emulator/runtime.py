"""What the emulated DSS keeps in memory only: futures, jobs, macro runs and project folders.

Every operation takes the runtime's own lock, so routes never handle it. Documents handed out
are copies, except macro run records: the thread running a macro and the routes reading its
state share the record (``running``, ``result``, ``error``, the ``_proc`` to kill on abort).
"""

from __future__ import annotations

import copy
import threading
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

from .defaults import random_id

ROOT_FOLDER = "ROOT"  # the id of the project folder every project is in until moved


def _job_output(out: Dict[str, Any]) -> Dict[str, Any]:
    """A job output as DSS lists it (`targetDataset`, ...) with the keys the client sent."""
    doc = copy.deepcopy(out)
    if out.get("type", "DATASET") == "DATASET":
        doc.update(
            targetDataset=out.get("id"),
            targetDatasetProjectKey=out.get("projectKey"),
            targetPartition=out.get("partition") or "NP",
        )
    return doc


class Runtime:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._futures: Dict[str, Dict[str, Any]] = {}
        self._jobs: Dict[str, Dict[str, Dict[str, Any]]] = {}  # project key -> job id -> status
        self._macro_runs: Dict[str, Dict[str, Any]] = {}
        self._folders: Dict[str, Dict[str, Any]] = {}  # folder id -> {name, parentId}
        self._locations: Dict[str, str] = {}  # project key -> folder id (ROOT when absent)
        self._job_logs: Dict[Tuple[str, str], List[Tuple[Optional[str], str]]] = {}  # (activity, line)
        self._builds: Dict[Tuple[str, str], Dict[str, Any]] = {}  # (project, dataset) -> last build
        self._outbox: List[Dict[str, Any]] = []  # what scenario reporters sent (reporters.py)
        self._metrics: Dict[Tuple[str, str], Dict[str, Dict[str, Any]]] = {}  # -> metric id -> last point
        self._last_builds: Dict[Tuple[str, str], Dict[str, Any]] = {}  # (project, dataset) -> last build
        self._rule_results: Dict[Tuple[str, str], Dict[str, Dict[str, Any]]] = {}  # -> rule id -> last result

    def reset(self) -> None:
        with self._lock:
            self._futures.clear()
            self._jobs.clear()
            self._job_logs.clear()
            self._builds.clear()
            self._metrics.clear()
            self._last_builds.clear()
            self._rule_results.clear()
            self._macro_runs.clear()
            self._folders.clear()
            self._locations.clear()
            self._outbox.clear()

    # ---------------------------------------------------------------- reporters' messages

    def send_messages(self, messages: List[Dict[str, Any]]) -> None:
        """Keep what a run's reporters sent (the emulator delivers no mail nor webhook)."""
        with self._lock:
            self._outbox.extend(copy.deepcopy(messages))

    def messages(self) -> List[Dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._outbox)

    def clear_messages(self) -> None:
        with self._lock:
            self._outbox.clear()

    # ---------------------------------------------------------------- futures

    def start_future(self, result: Any, label: str = "") -> Dict[str, Any]:
        """Long tasks complete inline; the future stays readable through GET /futures/{id}."""
        state = {
            "jobId": random_id(16),
            "hasResult": True,
            "result": result,
            "alive": False,
            "aborted": False,
            "progress": {"states": []},
            "jobDisplayName": label,
            "startTime": int(time.time() * 1000),
        }
        with self._lock:
            self._futures[state["jobId"]] = state
        return copy.deepcopy(state)

    def fail_future(self, error: Any, label: str = "") -> Dict[str, Any]:
        """A long task that failed: its state has no result, and reading it answers `error`
        (a DSSError), as DSS answers a failed future's exception (docs/emulator.md, doubts)."""
        state = self.start_future(None, label)
        state.update(hasResult=False, result=None)
        with self._lock:
            self._futures[state["jobId"]] = {**state, "_error": error}
        return state

    def future(self, job_id: str) -> Optional[Dict[str, Any]]:
        """The future's state; raises its error when the task failed."""
        with self._lock:
            state = self._futures.get(job_id)
            if state is not None and "_error" in state:
                raise state["_error"]
            return copy.deepcopy(state)

    def futures(self) -> List[Dict[str, Any]]:
        with self._lock:
            return [
                {k: copy.deepcopy(v) for k, v in f.items() if k != "_error"} for f in self._futures.values()
            ]

    def drop_future(self, job_id: str) -> None:
        with self._lock:
            self._futures.pop(job_id, None)

    # ---------------------------------------------------------------- jobs

    def record_job(
        self, project_key: str, job_type: str, outputs: List[Dict[str, Any]], initiator: str
    ) -> Dict[str, Any]:
        """A finished job record (DSS's baseStatus shape); builds have no effect on data in the emulator."""
        now = int(time.time() * 1000)
        first = outputs[0]["id"] if outputs else "job"
        job_id = "Build_{}_{}".format(first, time.strftime("%Y-%m-%dT%H-%M-%S", time.localtime(now / 1000)))
        with self._lock:
            jobs = self._jobs.setdefault(project_key, {})
            base, n = job_id, 1
            while job_id in jobs:
                job_id, n = f"{base}_{n}", n + 1
            status = {
                "def": {
                    "id": job_id,
                    "type": job_type,
                    "projectKey": project_key,
                    "initiator": initiator,
                    "initiationTimestamp": now,
                    "outputs": [_job_output(o) for o in outputs],
                    "name": job_id,
                    "triggeredFrom": "API",
                    "refreshHiveMetastore": False,
                },
                "state": "DONE",
                "stableState": True,
                "startTime": now,
                "endTime": now,
                "jobStartTime": now,
                "jobEndTime": now,
                "warningsCount": 0,
                "activities": {},
            }
            jobs[job_id] = status
            return copy.deepcopy(status)

    def new_job(
        self, project_key: str, job_type: str, outputs: List[Dict[str, Any]], initiator: str
    ) -> Dict[str, Any]:
        """A job that starts now (state RUNNING); the builder updates it with ``update_job``."""
        status = self.record_job(project_key, job_type, outputs, initiator)
        job_id = status["def"]["id"]
        self.update_job(project_key, job_id, lambda s: s.update(state="RUNNING", endTime=0, jobEndTime=0))
        return self.job(project_key, job_id) or status

    def update_job(self, project_key: str, job_id: str, change: Callable[[Dict[str, Any]], Any]) -> None:
        with self._lock:
            status = self._jobs.get(project_key, {}).get(job_id)
            if status is not None:
                change(status)

    def log_job(self, project_key: str, job_id: str, activity: Optional[str], line: str) -> None:
        with self._lock:
            self._job_logs.setdefault((project_key, job_id), []).append((activity, line))

    def job_log(self, project_key: str, job_id: str, activity: Optional[str] = None) -> str:
        with self._lock:
            lines = self._job_logs.get((project_key, job_id), [])
            return "".join(line + "\n" for act, line in lines if activity is None or act == activity)

    def build_record(self, project_key: str, dataset: str) -> Optional[Dict[str, Any]]:
        """What the last successful build of a dataset read (input data versions, recipe version)."""
        with self._lock:
            return copy.deepcopy(self._builds.get((project_key, dataset)))

    def set_build_record(self, project_key: str, dataset: str, record: Dict[str, Any]) -> None:
        with self._lock:
            self._builds[(project_key, dataset)] = copy.deepcopy(record)

    def set_last_build(self, project_key: str, dataset: str, info: Dict[str, Any]) -> None:
        """`{buildStartTime, buildEndTime, buildSuccess, jobId}` of the dataset's last build."""
        with self._lock:
            self._last_builds[(project_key, dataset)] = dict(info)

    def last_build(self, project_key: str, dataset: str) -> Optional[Dict[str, Any]]:
        with self._lock:
            found = self._last_builds.get((project_key, dataset))
            return dict(found) if found else None

    def set_rule_results(self, project_key: str, dataset: str, results: List[Dict[str, Any]]) -> None:
        with self._lock:
            last = self._rule_results.setdefault((project_key, dataset), {})
            for result in results:
                last[result["id"]] = copy.deepcopy(result)

    def rule_results(self, project_key: str, dataset: str) -> List[Dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(list(self._rule_results.get((project_key, dataset), {}).values()))

    def set_metrics(self, project_key: str, dataset: str, points: List[Dict[str, Any]]) -> None:
        with self._lock:
            last = self._metrics.setdefault((project_key, dataset), {})
            for point in points:
                last[point["metric"]["id"]] = copy.deepcopy(point)

    def metrics(self, project_key: str, dataset: str) -> Dict[str, Dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._metrics.get((project_key, dataset), {}))

    def jobs(self, project_key: str) -> List[Dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(list(self._jobs.get(project_key, {}).values()))

    def job(self, project_key: str, job_id: str) -> Optional[Dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._jobs.get(project_key, {}).get(job_id))

    def clear_jobs(self, project_key: str, delete: bool) -> int:
        """How many jobs the project has; with ``delete``, forget them."""
        with self._lock:
            jobs = self._jobs.get(project_key, {})
            count = len(jobs)
            if delete:
                jobs.clear()
            return count

    # ---------------------------------------------------------------- macro runs

    def add_macro_run(self, record: Dict[str, Any]) -> None:
        with self._lock:
            self._macro_runs[record["runId"]] = record

    def macro_run(self, run_id: str) -> Optional[Dict[str, Any]]:
        """The shared record (not a copy: the running thread updates it)."""
        with self._lock:
            return self._macro_runs.get(run_id)

    def drop_macro_run(self, run_id: str) -> None:
        with self._lock:
            self._macro_runs.pop(run_id, None)

    # ---------------------------------------------------------------- project folders

    def project_folder(self, folder_id: str) -> Optional[Dict[str, Any]]:
        """``{name?, parentId?}`` of a folder made through the API; None for ROOT and unknown ids."""
        with self._lock:
            return copy.deepcopy(self._folders.get(folder_id))

    def add_project_folder(
        self, folder_id: str, name: Optional[str] = None, parent_id: Optional[str] = None
    ) -> None:
        """Create the folder (a project created into an unknown folder id creates it, unnamed)."""
        info = {} if name is None else {"name": name, "parentId": parent_id}
        with self._lock:
            self._folders.setdefault(folder_id, info)

    def project_folder_children(self, folder_id: str) -> List[str]:
        with self._lock:
            return [c for c, d in self._folders.items() if d.get("parentId", ROOT_FOLDER) == folder_id]

    def project_location(self, project_key: str) -> str:
        with self._lock:
            return self._locations.get(project_key, ROOT_FOLDER)

    def move_project(self, project_key: str, folder_id: str) -> None:
        with self._lock:
            self._locations[project_key] = folder_id

    def forget_project(self, project_key: str) -> None:
        with self._lock:
            self._locations.pop(project_key, None)
