"""Ending a test run cleanly when the process is asked to stop, whoever asks.

Ctrl-C and SIGTERM (a CI job cancelled) on the CLI, and DSS aborting a macro or a scenario step
(DSS's process wrapper sends SIGINT to the process group, then SIGKILL when it is still alive 15 s
later) all become KeyboardInterrupt: the run's `finally` then destroys the test environment
before the process exits (docs/testing.md, "Inside DSS").
"""

from __future__ import annotations

import signal
import threading
from typing import Any


class interrupts_as_keyboard:
    """SIGINT and SIGTERM raise KeyboardInterrupt while the block runs. SIGINT is taken
    explicitly: a process started in the background by a non-interactive shell (`cmd &` in a CI
    script) inherits SIGINT ignored, and Python then never turns it into KeyboardInterrupt.
    Outside the main thread (signals cannot be taken there) it does nothing."""

    def __init__(self) -> None:
        self._previous: dict = {}

    def _handler(self, signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    def __enter__(self) -> interrupts_as_keyboard:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handler)
        return self

    def __exit__(self, *exc: Any) -> None:
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)
