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
    for line in _why_it_fails(report, policies, revert):  # on stderr under --json (its stdout is the JSON)
        click.echo(obj.style(line, "red"), err=as_json)
    if report.failing:
        sys.exit(EXIT_CHANGES)


def _say_policies(obj: Context, report: DriftReport, policies: Policies, revert: bool) -> None:
    waiting = [i.address for i in report.to_revert] if not revert else []
    if waiting:
        click.echo(obj.style(f"{len(waiting)} drifted resource(s) have the drift policy revert: "
                             f"`dataiku-iac drift -e {report.environment} --revert` reverts them.", "yellow"))
    if revert and report.has_drift and not report.reverted and not report.revert_refused:
        click.echo(obj.style("--revert: no drifted resource has the drift policy revert (nor one an apply can undo): "
                             "nothing was reverted.", "yellow"))
    if report.reverted and not report.revert_refused and not report.remaining:
        click.echo(obj.style("Nothing is left to revert: DSS matches what was last applied.", "green"))
    if not report.remaining or report.failing:
        return
    if policies.drift in ("warn", "alert"):
        why = f"{policies.where('drift')}: {policies.drift}{', or its drift_resources' if policies.drift_resources else ''}"
    else:  # the environment's policy fails drift: what is left was matched by a drift_resources pattern
        alerted = [i.address for i in report.remaining if i.on_drift == "alert"]
        why = f"{policies.where('drift_resources')} says alert for {', '.join(alerted[:5])}{' …' if len(alerted) > 5 else ''}"
    click.echo(obj.style(f"Warning: drift is reported, not failed ({why}); exit code 0.", "yellow"))


def _why_it_fails(report: DriftReport, policies: Policies, revert: bool) -> list[str]:
    """One sentence per reason the check fails (exit 2), each naming the policy that says so."""
    failing = report.failing
    if not failing:
        return []
    forbidden = [i.address for i in report.forbidden]
    on_fail = [i.address for i in failing if i.on_drift == "fail" and i.policy != "fail"]
    unmanaged = [i.address for i in failing if i.on_drift == "revert" and not i.revertible and i.policy != "fail"]
    unreverted = [i.address for i in failing if i.on_drift == "revert" and i.revertible and i.policy != "fail"]
    lines = []
    if forbidden:
        lines.append(f"Drift fails: {_listed(forbidden)} exist in DSS, which their project's `unmanaged: fail` policy "
                     f"forbids (whatever {policies.where('drift')} says).")
    if on_fail:
        lines.append(f"Drift fails: {_listed(on_fail)} drifted, and their drift policy is fail "
                     f"({_policy_source(policies)}).")
    if unmanaged:
        lines.append(f"Drift fails: {_listed(unmanaged)} are not managed by dataiku-iac and their drift policy is revert, "
                     f"but a revert never deletes what the state does not own: delete them in DSS, import them, or "
                     f"give them another drift policy or an `unmanaged:` policy.")
    if unreverted:
        why = ("the revert was refused or failed (above)" if report.revert_refused
               else f"run `dataiku-iac drift -e {report.environment} --revert`" if not revert else "they were not reverted")
        lines.append(f"Drift fails: {_listed(unreverted)} have the drift policy revert and were not reverted: {why}.")
    return [*lines, f"Exit code {EXIT_CHANGES}."]


def _policy_source(policies: Policies) -> str:
    return policies.where("drift") + (" or its drift_resources" if policies.drift_resources else "")


def _listed(addresses: list[str]) -> str:
    shown = ", ".join(addresses[:10])
    return shown + (f" and {len(addresses) - 10} more" if len(addresses) > 10 else "")
