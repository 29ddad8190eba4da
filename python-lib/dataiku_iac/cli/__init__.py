"""The `dataiku-iac` command line: the click group and every command module."""

from dataiku_iac.cli import drift_cmds, state_cmds  # noqa: F401 - register commands
from dataiku_iac.cli.main import cli, main

__all__ = ["cli", "main"]
