"""Test helpers shared by the suites that drive the real CLI against the DSS emulator
(tests/e2e, tests/integration, tests/fault, tests/promotion).

- `tests.support.cli`: run `dataiku-iac` as a new process (forked from a server that imported the
  CLI once, cli_forkserver.py; `spawn_cli` starts the installed script) with the emulator's URL
  and API key in its environment, and write configuration directories;
- `tests.support.emulator`: the emulator's request log (counts, writes) and polling helpers.

Each suite keeps its own helper module (tests/e2e/helpers.py, tests/fault/faultlib.py,
tests/promotion/helpers.py) with its own defaults, built on these pieces.
"""

from tests.support.cli import (
    CLI,
    EXAMPLES,
    REPO,
    CliResult,
    cli_env,
    example_secrets,
    run_cli,
    spawn_cli,
    state_dir,
    write_config,
)
from tests.support.emulator import WRITE_METHODS, request_count, wait_for, writes_since

__all__ = [
    "CLI",
    "EXAMPLES",
    "REPO",
    "WRITE_METHODS",
    "CliResult",
    "cli_env",
    "example_secrets",
    "request_count",
    "run_cli",
    "spawn_cli",
    "state_dir",
    "wait_for",
    "write_config",
    "writes_since",
]
