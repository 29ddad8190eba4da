"""The console backend's memory: plans shown to users (approvals) and background applies.

Both live in the backend process. DSS runs one backend process per webapp, so this is the
right scope; a backend restart forgets pending approvals (the user plans again) and running
applies stop with the process (the state journal lets the next apply reconcile and resume).
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Optional

PLAN_TTL_SECONDS = 3600  # an approval older than this is refused: plan again
MAX_PLANS = 200  # per backend; the oldest are dropped first
MAX_JOBS = 50  # finished jobs kept for their progress page
MAX_EVENTS = 5000  # events kept per job (one apply of a huge plan must not exhaust memory)


class ApprovalError(Exception):
    """The approval does not match a plan this backend showed to this user."""


class JobConflict(Exception):
    """An apply of the same environment is already running in this backend."""


def utc_stamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class ShownPlan:
    """A plan this backend computed and showed to `owner`: the only kind that can be applied."""

    id: str
    owner: str
    target: dict  # {"source": {...}, "environment": ...} as the console sent it
    plan_json: dict
    project_keys: tuple[str, ...]
    created: float = field(default_factory=time.monotonic)

    @property
    def digest(self) -> str:
        return self.plan_json["digest"]

    @property
    def serial(self) -> int:
        return self.plan_json["state"]["serial"]


class PlanStore:
    """Plans shown to users, by unguessable id. `take` hands a plan out once (apply it or plan again)."""

    def __init__(
        self,
        ttl: float = PLAN_TTL_SECONDS,
        capacity: int = MAX_PLANS,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._plans: dict[str, ShownPlan] = {}
        self._lock = threading.Lock()
        self._ttl, self._capacity, self._clock = ttl, capacity, clock

    def put(self, owner: str, target: dict, plan_json: dict, project_keys: tuple[str, ...]) -> ShownPlan:
        shown = ShownPlan(
            secrets.token_urlsafe(18), owner, target, plan_json, tuple(project_keys), self._clock()
        )
        with self._lock:
            self._expire()
            while len(self._plans) >= self._capacity:
                self._plans.pop(next(iter(self._plans)))
            self._plans[shown.id] = shown
        return shown

    def peek(self, plan_id: str, owner: str, digest: str, serial: Any) -> ShownPlan:
        """The plan `owner` approved, left in the store (for checks made before taking it)."""
        with self._lock:
            return self._match(plan_id, owner, digest, serial)

    def take(self, plan_id: str, owner: str, digest: str, serial: Any) -> ShownPlan:
        """The plan `owner` approved, removed from the store: an approval is used at most once."""
        with self._lock:
            self._match(plan_id, owner, digest, serial)
            return self._plans.pop(plan_id)

    def _match(self, plan_id: str, owner: str, digest: str, serial: Any) -> ShownPlan:
        """Refused unless id, owner, digest and serial all match a live plan. Call with the lock held."""
        self._expire()
        shown = self._plans.get(plan_id) if isinstance(plan_id, str) else None
        if shown is None or shown.owner != owner:
            # The same answer for "unknown" and "someone else's": plan ids are not to be probed.
            raise ApprovalError("This plan is unknown or expired. Make a new plan, review it, then apply it.")
        if digest != shown.digest or serial != shown.serial or isinstance(serial, bool):
            raise ApprovalError(
                "The approval does not match the plan that was shown (digest or state serial differ). "
                "Make a new plan, review it, then apply it."
            )
        return shown

    def _expire(self) -> None:
        now = self._clock()
        for plan_id in [k for k, p in self._plans.items() if now - p.created > self._ttl]:
            del self._plans[plan_id]


@dataclass
class ApplyJob:
    """One apply running (or run) in a background thread, observed by polling."""

    id: str
    owner: str
    environment: str
    scope: str  # jobs with the same scope (config source + environment) never run at once
    plan_digest: str
    total: int
    status: str = "running"  # running | succeeded | failed | stopped
    message: str = ""
    completed: int = 0
    failed: int = 0
    serial_after: Optional[int] = None
    started_at: str = field(default_factory=utc_stamp)
    finished_at: str = ""
    events: list[dict] = field(default_factory=list)
    dropped_events: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, kind: str, address: str = "", action: str = "", detail: str = "") -> None:
        with self._lock:
            if kind == "done":
                self.completed += 1
            elif kind == "error":
                self.completed += 1
                self.failed += 1
            if len(self.events) >= MAX_EVENTS:
                self.dropped_events += 1
                return
            seq = len(self.events) + self.dropped_events
            self.events.append(
                {
                    "seq": seq,
                    "at": utc_stamp(),
                    "kind": kind,
                    "address": address,
                    "action": action,
                    "detail": detail,
                }
            )

    def finish(self, status: str, message: str, serial_after: Optional[int] = None) -> None:
        self.record("finished", detail=message)
        with self._lock:
            self.status, self.message, self.serial_after = status, message, serial_after
            self.finished_at = utc_stamp()

    def snapshot(self, since: int = 0) -> dict:
        with self._lock:
            events = [e for e in self.events if e["seq"] >= since]
            return {
                "id": self.id,
                "environment": self.environment,
                "plan_digest": self.plan_digest,
                "status": self.status,
                "message": self.message,
                "total": self.total,
                "completed": self.completed,
                "failed": self.failed,
                "serial_after": self.serial_after,
                "started_at": self.started_at,
                "finished_at": self.finished_at,
                "events": events,
                "next": (events[-1]["seq"] + 1) if events else since,
            }


class JobRegistry:
    """Starts applies in daemon threads, one at a time per scope, and keeps recent ones for polling."""

    def __init__(self, capacity: int = MAX_JOBS):
        self._jobs: dict[str, ApplyJob] = {}
        self._lock = threading.Lock()
        self._capacity = capacity

    def start(self, job: ApplyJob, work: Callable[[ApplyJob], None]) -> ApplyJob:
        with self._lock:
            if any(j.scope == job.scope and j.status == "running" for j in self._jobs.values()):
                raise JobConflict(
                    "An apply of this environment is already running from this console; wait for it to finish."
                )
            self._evict()
            self._jobs[job.id] = job
        thread = threading.Thread(target=work, args=(job,), name=f"iac-apply-{job.id[:8]}", daemon=True)
        thread.start()
        return job

    def get(self, job_id: str) -> Optional[ApplyJob]:
        with self._lock:
            return self._jobs.get(job_id)

    def running(self) -> list[ApplyJob]:
        with self._lock:
            return [j for j in self._jobs.values() if j.status == "running"]

    def _evict(self) -> None:
        finished = [k for k, j in self._jobs.items() if j.status != "running"]
        while len(self._jobs) >= self._capacity and finished:
            del self._jobs[finished.pop(0)]


def new_job_id() -> str:
    return secrets.token_urlsafe(12)
