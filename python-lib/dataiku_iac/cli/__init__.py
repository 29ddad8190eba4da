"""The `dataiku-iac` command line: the click group and every command module."""

from dataiku_iac.cli.main import cli, main, register_command_modules  # isort: skip - the group must exist first

# Imported when a command of theirs (or the list of commands) is first asked for: see main._Commands.
register_command_modules(
    *(f"dataiku_iac.cli.{name}" for name in ("convert_cmds", "drift_cmds", "govern_cmds", "graph_cmds", "import_cmds", "module_cmds",
                                             "pull_cmds", "report_cmds", "review_cmds", "state_cmds", "test_cmds"))
)

__all__ = ["cli", "main"]
