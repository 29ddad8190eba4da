"""Fault injection, global latency and the request log (for tests and benchmarks).

A rule matches requests by verb and by a regex searched in the path after ``/dip/publicapi``.
Matching requests are counted per rule; the rule fires on matches ``nth .. nth+times-1`` (``times`` <= 0:
forever from ``nth``), or, when ``error_rate`` is set, on each match with that probability.
Modes: ``error`` (answer the error, the change is not made), ``after`` (run the handler, commit the
change, then answer the error: an ambiguous success), ``hang`` (sleep up to ``hang_seconds`` or until
the faults are cleared or the emulator is reset, then answer the error), ``latency`` (sleep
``latency_ms`` then answer normally).
"""

from __future__ import annotations

import itertools
import random
import re
import threading
import time
from collections import deque
from typing import Any, Deque, Dict, List, Optional

from . import errors

MODES = ("error", "after", "hang", "latency")
DEFAULT_ERROR_TYPES = {
    401: errors.NOT_AUTHENTICATED,
    403: errors.UNAUTHORIZED,
    404: errors.NOT_FOUND,
}
MAX_LOG = 200_000


class FaultRule:
    def __init__(self, rule_id: int, spec: Dict[str, Any]) -> None:
        mode = spec.get("mode", "error")
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        self.id = rule_id
        self.method = str(spec.get("method", "*")).upper()
        self.path = str(spec.get("path", ".*"))
        self.regex = re.compile(self.path)
        self.status = int(spec.get("status", 500))
        self.nth = int(spec.get("nth", 1))
        self.times = int(spec.get("times", 1))
        self.mode = mode
        self.latency_ms = int(spec.get("latency_ms", 0))
        self.error_rate = spec.get("error_rate")
        self.hang_seconds = float(spec.get("hang_seconds", 3600))
        self.body = spec.get("body")
        self.matched = 0
        self.fired = 0

    def matches(self, method: str, path: str) -> bool:
        return self.method in ("*", method.upper()) and self.regex.search(path) is not None

    def should_fire(self, rng: random.Random) -> bool:
        """Called once per matching request, under the manager's lock."""
        self.matched += 1
        if self.error_rate is not None:
            fire = rng.random() < float(self.error_rate)
        else:
            fire = self.matched >= self.nth and (self.times <= 0 or self.matched < self.nth + self.times)
        if fire:
            self.fired += 1
        return fire

    def error(self) -> errors.DSSError:
        if isinstance(self.body, dict):
            return errors.DSSError(
                self.status,
                str(self.body.get("errorType", errors.INJECTED)),
                str(self.body.get("message", "Injected fault")),
                self.body.get("detailedMessage"),
            )
        error_type = DEFAULT_ERROR_TYPES.get(self.status, errors.INJECTED)
        return errors.DSSError(self.status, error_type, f"Injected fault (rule {self.id}, {self.mode})")

    def describe(self) -> Dict[str, Any]:
        return {
            "id": self.id,
            "method": self.method,
            "path": self.path,
            "status": self.status,
            "nth": self.nth,
            "times": self.times,
            "mode": self.mode,
            "latency_ms": self.latency_ms,
            "error_rate": self.error_rate,
            "hang_seconds": self.hang_seconds,
            "body": self.body,
            "matched": self.matched,
            "fired": self.fired,
        }


class Decision:
    """What the faults say about one request."""

    def __init__(self) -> None:
        self.sleep_ms = 0
        self.hang: Optional[FaultRule] = None
        self.fail_before: Optional[FaultRule] = None
        self.fail_after: Optional[FaultRule] = None


class FaultManager:
    def __init__(self, latency_ms: int = 0, seed: Optional[int] = None) -> None:
        self._lock = threading.Lock()
        self._rules: List[FaultRule] = []
        self._ids = itertools.count(1)
        self._rng = random.Random(seed)
        self._release = threading.Event()
        self.latency_ms = latency_ms

    def add(self, spec: Dict[str, Any]) -> Dict[str, Any]:
        with self._lock:
            rule = FaultRule(next(self._ids), spec)
            self._rules.append(rule)
            return rule.describe()

    def list(self) -> List[Dict[str, Any]]:
        with self._lock:
            return [r.describe() for r in self._rules]

    def clear(self) -> None:
        with self._lock:
            self._rules = []
            self._release.set()  # wake every hanging request
            self._release = threading.Event()

    def decide(self, method: str, path: str) -> Decision:
        decision = Decision()
        with self._lock:
            for rule in self._rules:
                if not rule.matches(method, path) or not rule.should_fire(self._rng):
                    continue
                if rule.mode == "latency":
                    decision.sleep_ms += rule.latency_ms
                elif rule.mode == "hang" and decision.hang is None:
                    decision.hang = rule
                elif rule.mode == "error" and decision.fail_before is None:
                    decision.fail_before = rule
                elif rule.mode == "after" and decision.fail_after is None:
                    decision.fail_after = rule
            release = self._release
        decision.release = release  # type: ignore[attr-defined]
        return decision

    @staticmethod
    def hang(decision: Decision) -> None:
        assert decision.hang is not None
        decision.release.wait(timeout=decision.hang.hang_seconds)  # type: ignore[attr-defined]


class RequestLog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: Deque[Dict[str, Any]] = deque(maxlen=MAX_LOG)
        self._seq = 0
        self.by_method: Dict[str, int] = {}

    def start(self) -> int:
        with self._lock:
            self._seq += 1
            return self._seq

    def finish(self, seq: int, method: str, path: str, query: str, status: int, started: float) -> None:
        entry = {
            "seq": seq,
            "method": method,
            "path": path,
            "query": query,
            "status": status,
            "duration_ms": round((time.time() - started) * 1000, 3),
            "time": int(started * 1000),
        }
        with self._lock:
            self._entries.append(entry)
            self.by_method[method] = self.by_method.get(method, 0) + 1

    def entries(self, since: int = 0) -> List[Dict[str, Any]]:
        with self._lock:
            return sorted((e for e in self._entries if e["seq"] > since), key=lambda e: e["seq"])

    def stats(self) -> Dict[str, Any]:
        with self._lock:
            return {"requests": self._seq, "by_method": dict(self.by_method), "logged": len(self._entries)}

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._seq = 0
            self.by_method = {}
