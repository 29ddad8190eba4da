"""Running the CLI as a user or a CI pipeline does (a subprocess), and reading the emulator's
request log. Kept here so the promotion tests depend on nothing but the product, the emulator and
the shared test support (tests/support)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from tests import support

# Shared with the other suites (tests/support), re-exported for the tests that import them from here.
from tests.support import CLI, EXAMPLES, REPO, WRITE_METHODS, CliResult, cli_env, writes_since  # noqa: F401


def run_cli(root: Path, *args: str, env: dict, expect: Optional[int] = 0, stdin: Optional[str] = None, timeout: float = 120) -> CliResult:
    """`dataiku-iac -C root ARGS`; asserts the exit code unless `expect` is None, and never a traceback."""
    return support.run_cli(root, *args, env=env, expect=expect, timeout=timeout, stdin=stdin, forbid=("Traceback", "Internal error"))


def writes(handle: Any) -> list:
    """(method, path) of every public-API write since the request log was last cleared."""
    return writes_since(handle, 0)
