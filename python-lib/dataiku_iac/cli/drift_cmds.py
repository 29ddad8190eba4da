"""`dataiku-iac drift`: exit 0 when DSS matches the recorded state, 2 when it drifted."""

from __future__ import annotations

import json
import sys

import click

from dataiku_iac.cli.main import EXIT_CHANGES, Context, cli, env_option, handle_errors, json_option
from dataiku_iac.engine.policies import drift_exit_code
from dataiku_iac.output.drift import render_drift


@cli.command()
@env_option
@json_option
@click.pass_obj
@handle_errors()
def drift(obj: Context, environment: str, as_json: bool) -> None:
    """Report changes made in DSS behind the tool's back (exit 2 when any, 0 under `policies.drift: warn`)."""
    session = obj.session(environment, as_json=as_json)
    report = session.drift()
    policies = session.policies
    if as_json:
        body = report.to_json()
        body["policy"] = policies.drift
        click.echo(json.dumps(body, indent=2, default=str))
    else:
        click.echo(render_drift(report, obj.style), nl=False)
        if report.has_drift and policies.drift == "warn" and not report.forbidden:
            click.echo(obj.style(f"Warning: drift is reported, not failed ({policies.where('drift')}: warn); exit code 0.", "yellow"))
        elif report.forbidden and policies.drift == "warn":
            click.echo(obj.style(f"Drift fails although {policies.where('drift')} says warn: objects an `unmanaged: fail` "
                                 f"policy forbids are in DSS; exit code {EXIT_CHANGES}.", "red"))
    # an `unmanaged: fail` policy fails the check whatever `policies.drift` says
    code = EXIT_CHANGES if report.forbidden else drift_exit_code(policies, report.has_drift, changes_code=EXIT_CHANGES)
    if code:
        sys.exit(code)
