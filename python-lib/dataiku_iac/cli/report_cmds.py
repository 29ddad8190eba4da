"""`dataiku-iac report …`: reports over the configuration, the state and live DSS.

`report compliance` exits 0 when no rule of severity error is broken (warnings allowed), 2 when
one is (or a blocking DSS Project Standards check failed), 1 when it cannot tell (an error).
"""

from __future__ import annotations

import json
import sys

import click

from dataiku_iac.cli.main import EXIT_CHANGES, Context, cli, env_option, handle_errors
from dataiku_iac.output.compliance import render_junit, render_markdown, render_text

FORMATS = ("text", "markdown", "json", "junit")


@cli.group()
def report() -> None:
    """Reports over the configuration, the state and live DSS."""


@report.command()
@env_option
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True,
              help="text, markdown (a PR comment), json, or junit (XML for CI test reports).")
@click.pass_obj
@handle_errors()
def compliance(obj: Context, environment: str, fmt: str) -> None:
    """Check the compliance rules against the configuration, the state and live DSS (exit 2 when an error-severity rule is broken)."""
    session = obj.session(environment, as_json=fmt == "json")
    result = session.compliance()
    if fmt == "json":
        click.echo(json.dumps(result.to_json(), indent=2, default=str))
    elif fmt == "markdown":
        click.echo(render_markdown(result), nl=False)
    elif fmt == "junit":
        click.echo(render_junit(result), nl=False)
    else:
        click.echo(render_text(result, obj.style), nl=False)
    if not result.compliant:
        sys.exit(EXIT_CHANGES)


@report.command()
@env_option
@click.option("--format", "fmt", type=click.Choice(("markdown", "json")), default="markdown", show_default=True,
              help="markdown (a PR comment, a wiki page) or json.")
@click.pass_obj
@handle_errors()
def footprint(obj: Context, environment: str, fmt: str) -> None:
    """What each project of the configuration occupies and runs in DSS, with recommendations (read-only)."""
    from dataiku_iac.engine.footprint import collect
    from dataiku_iac.output.footprint import render_markdown

    session = obj.session(environment, as_json=fmt == "json")
    desired = session.offline_desired()  # the projects to look at: no secret value is needed
    session.check_targets_once(desired)
    projects = [(r.project_key, r.config_project) for r in desired.resources.values() if r.type == "project"]
    result = collect(session.connection(), environment, projects, parallelism=session.parallelism)
    if fmt == "json":
        click.echo(json.dumps(result.to_json(), indent=2, default=str))
    else:
        click.echo(render_markdown(result), nl=False)
