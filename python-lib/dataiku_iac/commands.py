"""The `dataiku-iac` command lines hints print (plan refusals, drift and pull reports): each one
pasteable in a shell as it is, addresses quoted (names may hold spaces, quotes, `$`) and the
environment the user ran with repeated (`-e NAME`), without which the command would address
another state."""

from __future__ import annotations

import shlex


def command_line(subcommand: str, *arguments: str, environment: str = "") -> str:
    """`dataiku-iac SUBCOMMAND [-e ENV] ARG…`, every argument quoted as a shell needs it."""
    words = ["dataiku-iac", subcommand]
    if environment:
        words += ["-e", shlex.quote(environment)]
    words += [shlex.quote(argument) for argument in arguments]
    return " ".join(words)
