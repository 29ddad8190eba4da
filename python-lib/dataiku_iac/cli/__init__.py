"""The `dataiku-iac` command line: the click group and every command module."""

from dataiku_iac.cli.main import cli, main  # isort: skip - the group must exist first
from dataiku_iac.cli import drift_cmds, govern_cmds, import_cmds, review_cmds, state_cmds, test_cmds  # noqa: F401 - register commands

__all__ = ["cli", "main"]
