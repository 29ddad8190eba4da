"""`dataiku-iac import`: adopt live DSS objects into the configuration and the state.

`import project KEY` adopts a whole project (a new project file); `import ADDRESS [ID]`, as
`terraform import`, adopts one object into a project the configuration already declares (its
item appended to that project's file). Every type goes through the registry: nothing here names one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import click

from dataiku_iac.cli.main import Context, cli, env_option, handle_errors, json_option, lock_timeout_option
from dataiku_iac.engine.importer import ImportResult, import_object, import_project, unmanaged_suggestion


@cli.command("import")
@click.argument("address")
@click.argument("dss_id", metavar="[ID]", required=False)
@env_option
@lock_timeout_option
@click.option("--output", "output", type=click.Path(file_okay=False, path_type=Path), help="import project: the config directory to write into (default: -C).")
@json_option
@click.pass_obj
@handle_errors()
def import_(obj: Context, address: str, dss_id: Optional[str], environment: str, output: Optional[Path], as_json: bool) -> None:
    """Adopt existing DSS objects into the configuration and the state.

    `import project KEY` writes projects/<key>.yml (and code files) from a live project and adopts
    its objects. `import ADDRESS [ID]` adopts one object (dataset.KEY.name; managed_folder.KEY.name ID
    for types DSS gives ids to) into a project the configuration declares: its item is appended to
    that project's file, comments kept.
    """
    if address == "project":
        if not dss_id:
            raise click.UsageError("import project needs the project's DSS key: dataiku-iac import project KEY -e ENV")
        _import_project(obj, dss_id, environment, output, as_json)
        return
    if output is not None:
        raise click.UsageError("--output is for `import project KEY` only: one object goes into its project's file")
    session = obj.session(environment, as_json=as_json)
    result = import_object(session, address, dss_id)
    if as_json:
        click.echo(json.dumps(result.__dict__, indent=2))
        return
    click.echo(f"  added {result.address} to {result.file} ({result.section})")
    for rel in result.files:
        click.echo(f"  wrote {rel}")
    for left_out in result.left_out:
        click.echo(obj.style(f"  imported without a setting: {left_out['address']}: {left_out['reason']}", "yellow"))
    click.echo(f"Adopted {result.address} (DSS id {result.dss_id}) into the state of {environment!r}.")
    _report_check(obj, result.plan_summary)


def _import_project(obj: Context, project_key: str, environment: str, output: Optional[Path], as_json: bool) -> None:
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
    _report_not_expressed(obj, result)
    for secret in result.secrets:
        click.echo(obj.style(f"  secret variable written as a reference: {secret} (set it before the next plan)", "yellow"))
    _report_check(obj, result.plan_summary)


def _report_not_expressed(obj: Context, result: ImportResult) -> None:
    for skipped, unmanaged in zip(result.skipped, result.unmanaged):
        click.echo(obj.style(f"  not imported (not expressible in the config yet): {skipped}", "yellow"))
        click.echo(f"      {unmanaged['address']}: {unmanaged['reason']}")
    for left_out in result.left_out:
        click.echo(obj.style(f"  imported without a setting: {left_out['address']}: {left_out['reason']}", "yellow"))
    if result.unmanaged:
        click.echo(unmanaged_suggestion(result), nl=False)


def _report_check(obj: Context, summary: dict) -> None:
    if any(summary.values()):
        click.echo(obj.style(f"Check: the plan is not empty after import ({summary}); please report this.", "red"))
    else:
        click.echo(obj.style("Check: plan after import -> No changes.", "green"))
