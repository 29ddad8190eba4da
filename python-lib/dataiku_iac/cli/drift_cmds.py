"""`dataiku-iac drift`: exit 0 when DSS matches the recorded state, 2 when it drifted (each
drifted resource as its drift policy says: `fail`, `alert`, or `revert` with `--revert`)."""

from __future__ import annotations

import json
import sys

import click

from dataiku_iac.cli.main import EXIT_CHANGES, Context, cli, env_option, handle_errors, json_option
from dataiku_iac.engine.drift import DriftReport
from dataiku_iac.engine.policies import Policies
from dataiku_iac.output.drift import render_drift


@cli.command()
@env_option
@json_option
@click.option("--revert", is_flag=True, help="Re-apply the configuration to undo the drift of the resources whose drift policy is revert (through the state lock; refused beyond policies.drift_revert_max_deletions).")
@click.pass_obj
@handle_errors()
def drift(obj: Context, environment: str, as_json: bool, revert: bool) -> None:
    """Report changes made in DSS behind the tool's back (exit 2 when a drifted resource's policy is fail, or revert and not reverted)."""
    session = obj.session(environment, as_json=as_json)
    report = session.drift_check(revert=revert)
    policies = session.policies
    if as_json:
        body = report.to_json()
        body["policy"] = policies.drift
        click.echo(json.dumps(body, indent=2, default=str))
    else:
        click.echo(render_drift(report, obj.style), nl=False)
        _say_policies(obj, report, policies, revert)
    if report.failing:
        sys.exit(EXIT_CHANGES)


def _say_policies(obj: Context, report: DriftReport, policies: Policies, revert: bool) -> None:
    waiting = [i.address for i in report.to_revert] if not revert else []
    if waiting:
        click.echo(obj.style(f"{len(waiting)} drifted resource(s) have the drift policy revert: "
                             f"`dataiku-iac drift -e {report.environment} --revert` reverts them.", "yellow"))
    if not report.remaining or report.failing:
        if report.forbidden and policies.drift in ("warn", "alert"):
            click.echo(obj.style(f"Drift fails although {policies.where('drift')} says {policies.drift}: objects an "
                                 f"`unmanaged: fail` policy forbids are in DSS; exit code {EXIT_CHANGES}.", "red"))
        return
    if policies.drift in ("warn", "alert"):
        why = f"{policies.where('drift')}: {policies.drift}{', or its drift_resources' if policies.drift_resources else ''}"
    else:  # the environment's policy fails drift: what is left was matched by a drift_resources pattern
        alerted = [i.address for i in report.remaining if i.on_drift == "alert"]
        why = f"{policies.where('drift_resources')} says alert for {', '.join(alerted[:5])}{' …' if len(alerted) > 5 else ''}"
    click.echo(obj.style(f"Warning: drift is reported, not failed ({why}); exit code 0.", "yellow"))
