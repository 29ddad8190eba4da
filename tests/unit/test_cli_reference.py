"""docs/cli-reference.md's synopsis matches the CLI: each command it lists exists, names every
option its `--help` shows (by its short or long name) and nothing else, and takes the arguments
`--help`'s usage line shows, in order; and every command of the CLI is listed.
In-process (click's runner), no subprocess."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from dataiku_iac.cli.main import cli

DOC = Path(__file__).resolve().parents[2] / "docs" / "cli-reference.md"
OPTION = re.compile(r"^-{1,2}[A-Za-z][\w-]*$")


def synopsis() -> dict[tuple[str, ...], list[str]]:
    """{command path: its tokens after the path} from the first code block of the reference."""
    block = DOC.read_text(encoding="utf-8").split("```\n", 2)[1]
    lines: dict[tuple[str, ...], list[str]] = {}
    for line in block.splitlines():
        words = line.split(">")[0].split()  # `state pull -e ENV > FILE`: the redirection is the shell's
        if not words or words[0] != "dataiku-iac":
            continue
        path: list[str] = []
        for word in words[1:]:
            if not re.fullmatch(r"[a-z][a-z|]*", word):
                break
            path.append(word)
        rest = words[1 + len(path):]
        alternatives = path[-1].split("|") if path else [""]
        for name in alternatives:  # `state list|history`: two commands, one line
            lines[tuple([*path[:-1], name] if name else path)] = rest
    return lines


def split(tokens: list[str]) -> tuple[set[str], list[str]]:
    """The option names and the arguments (as written: `[ADDR]`, `ADDR...`) of a synopsis line."""
    options: set[str] = set()
    arguments: list[str] = []
    takes_value = False
    for token in tokens:
        bare = token.strip("[]").removesuffix("...").strip("[]")
        if OPTION.match(bare):
            options.add(bare)
            takes_value = not token.endswith("]") and not token.endswith("]...")
            continue
        if takes_value:  # the option's value: `-e ENV`, `[--out FILE]`
            takes_value = False
            continue
        arguments.append(token)
    return options, arguments


def leaf_commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            found += leaf_commands(command, (*prefix, name))
        else:
            found.append((*prefix, name))
    return found


def help_of(path: tuple[str, ...]) -> tuple[list[set[str]], list[str]]:
    """Each option of `--help` as its set of names (help itself left out), and the usage's arguments."""
    result = CliRunner().invoke(cli, [*path, "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    usage = result.output.split("\n", 1)[0]
    arguments = usage.split("[OPTIONS]", 1)[1].split()
    options_part = result.output.split("\nOptions:\n", 1)[1]
    options = []
    for line in options_part.splitlines():
        match = re.match(r"^  (-[\w-]+(?:, -[\w-]+)*)", line)
        if match:
            names = set(match.group(1).split(", "))
            if names != {"-h", "--help"}:
                options.append(names)
    return options, arguments


SYNOPSIS = synopsis()


def test_every_command_is_in_the_synopsis_and_every_line_is_a_command() -> None:
    commands = leaf_commands(cli)
    assert sorted(SYNOPSIS) == sorted([(), *commands])


@pytest.mark.parametrize("path", sorted(SYNOPSIS), ids=lambda p: " ".join(p) or "dataiku-iac")
def test_the_synopsis_names_the_options_and_arguments_of_help(path: tuple[str, ...]) -> None:
    documented, arguments = split(SYNOPSIS[path])
    options, usage_arguments = help_of(path)
    missing = [sorted(names) for names in options if not names & documented]
    assert not missing, f"{' '.join(path)}: --help has options the synopsis omits: {missing}"
    known = set().union(*options) if options else set()
    assert documented <= known, f"{' '.join(path)}: the synopsis names options --help lacks: {sorted(documented - known)}"
    if path:
        assert arguments == usage_arguments, f"{' '.join(path)}: arguments {arguments} in the synopsis, {usage_arguments} in --help"
