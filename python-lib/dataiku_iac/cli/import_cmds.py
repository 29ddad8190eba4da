"""`dataiku-iac import project KEY`: adopt a live project (YAML + state)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import click

from dataiku_iac.cli.main import Context, cli, env_option, handle_errors, json_option, lock_timeout_option
from dataiku_iac.engine.importer import import_project, unmanaged_suggestion


@cli.group("import")
def import_() -> None:
    """Adopt existing DSS objects into the configuration and the state."""


@import_.command("project")
@click.argument("project_key")
@env_option
@lock_timeout_option
@click.option("--output", "output", type=click.Path(file_okay=False, path_type=Path), help="Config directory to write into (default: -C).")
@json_option
@click.pass_obj
@handle_errors()
def project(obj: Context, project_key: str, environment: str, output: Optional[Path], as_json: bool) -> None:
    """Write projects/<key>.yml (and code files) from a live project, and adopt its objects."""
    session = obj.session(environment, as_json=as_json)
    result = import_project(session, project_key, output)
    if as_json:
        click.echo(json.dumps({**result.__dict__, "unmanaged_suggestion": unmanaged_suggestion(result)}, indent=2))
        return
    for rel in result.files:
        click.echo(f"  wrote {rel}")
    click.echo(f"Adopted {len(result.adopted)} object(s) of project {project_key} into the state of {environment!r}.")
    for protected in result.protected:
        click.echo(obj.style(f"  adopted as protected (never deleted): {protected}", "cyan"))
    for skipped, unmanaged in zip(result.skipped, result.unmanaged):
        click.echo(obj.style(f"  not imported (not expressible in the config yet): {skipped}", "yellow"))
        click.echo(f"      {unmanaged['address']}: {unmanaged['reason']}")
    for left_out in result.left_out:
        click.echo(obj.style(f"  imported without a setting: {left_out['address']}: {left_out['reason']}", "yellow"))
    if result.unmanaged:
        click.echo(unmanaged_suggestion(result), nl=False)
    for secret in result.secrets:
        click.echo(obj.style(f"  secret variable written as a reference: {secret} (set it before the next plan)", "yellow"))
    summary = result.plan_summary
    if any(summary.values()):
        click.echo(obj.style(f"Check: the plan is not empty after import ({summary}); please report this.", "red"))
    else:
        click.echo(obj.style("Check: plan after import -> No changes.", "green"))
