"""`dataiku-iac pull`: write the changes made in DSS behind the tool's back into the configuration.

Exit codes: 0 when the configuration and the state now match DSS (or already did), 2 when
something was left for the user (a value from a variable or an override, a conflict, a secret, an
object created, deleted or renamed in DSS), 1 on error. With --dry-run nothing is written and the
exit code says the same of the pull that would run (2 also when values would be written).
"""

from __future__ import annotations

import json
import sys

import click

from dataiku_iac.cli.main import (
    EXIT_CHANGES,
    Context,
    cli,
    env_option,
    handle_errors,
    json_option,
    lock_timeout_option,
)
from dataiku_iac.engine.pull import pull as run_pull
from dataiku_iac.output.pull import render_pull


@cli.command()
@env_option
@click.argument("addresses", nargs=-1, metavar="[ADDRESS]...")
@click.option("--dry-run", is_flag=True, help="Print the patch as a unified diff; write nothing.")
@lock_timeout_option
@json_option
@click.pass_obj
@handle_errors()
def pull(obj: Context, environment: str, addresses: tuple, dry_run: bool, as_json: bool) -> None:
    """Write the values changed in DSS into the YAML config (comments and layout kept), and record them in the state.

    Values that come from ${variables} or environment overrides, secrets, and objects created,
    deleted or renamed in DSS are reported, never written. Exit 0: nothing left; 2: something was
    left for you (or, with --dry-run, would be written).
    """
    session = obj.session(environment, as_json=as_json)
    result = run_pull(session, tuple(addresses), dry_run=dry_run)
    if as_json:
        body = result.to_json()
        if dry_run:
            body["diff"] = result.diff
        click.echo(json.dumps(body, indent=2, default=str))
    else:
        click.echo(render_pull(result, obj.style), nl=False)
    if result.reported or (dry_run and result.files):
        sys.exit(EXIT_CHANGES)
