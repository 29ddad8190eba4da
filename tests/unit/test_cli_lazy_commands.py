"""The command modules other than cli/main.py are imported when one of their commands (or the list
of commands) is first asked for, so `plan` does not pay for importing `test`'s runner."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys
from dataiku_iac.cli import cli
extra = ("drift_cmds", "govern_cmds", "import_cmds", "review_cmds", "state_cmds", "test_cmds")
loaded = lambda: sorted(m for m in extra if "dataiku_iac.cli." + m in sys.modules)
assert cli.commands["plan"] is cli.commands.get("plan")
print(loaded())
print("test" in cli.commands, loaded() == sorted(extra))
print(sorted(cli.commands))
"""


def test_plan_imports_no_other_command_module_and_every_command_is_found() -> None:
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True).stdout.splitlines()
    assert out[0] == "[]"
    assert out[1] == "True True"
    assert {"plan", "apply", "test", "show", "comment", "state", "import", "drift", "govern"} <= set(eval(out[2]))


def test_a_lazily_registered_command_runs() -> None:
    from click.testing import CliRunner
    from dataiku_iac.cli import cli

    result = CliRunner().invoke(cli, ["state", "--help"])
    assert result.exit_code == 0 and "Usage:" in result.output
