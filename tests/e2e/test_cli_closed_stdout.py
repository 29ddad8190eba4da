"""A reader that goes away (`dataiku-iac apply … | head -1`): the command stops printing but
finishes its work and exits 141 (docs/cli-reference.md, exit codes), never an internal error."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from tests.e2e.helpers import cli_env, write_config
from tests.support.cli import CLI


def _with_stdout_closed(dss: Any, root: Path, *args: str) -> tuple[int, str]:
    proc = subprocess.Popen([CLI, "--no-color", "-C", str(root), *args], cwd=str(root), env=cli_env(dss),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader is gone before the first line
    stderr = proc.stderr.read().decode()
    return proc.wait(timeout=60), stderr


def test_plan_and_apply_finish_and_exit_141_when_stdout_is_closed(dss: Any, tmp_path: Path) -> None:
    root = write_config(tmp_path / "cfg", {"shop.yml": "project: {key: SHOP, name: Shop}\n"})
    code, stderr = _with_stdout_closed(dss, root, "plan", "-e", "dev")
    assert code == 141 and "Internal error" not in stderr, stderr
    code, stderr = _with_stdout_closed(dss, root, "apply", "-e", "dev", "--auto-approve")
    assert code == 141 and "Internal error" not in stderr, stderr
    assert [p["projectKey"] for p in dss.client().list_projects()] == ["SHOP"], "the apply went to its end"
