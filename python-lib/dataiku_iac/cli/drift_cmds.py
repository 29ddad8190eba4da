"""`dataiku-iac drift`: exit 0 when DSS matches the recorded state, 2 when it drifted."""

from __future__ import annotations

import json
import sys

import click

from dataiku_iac.cli.main import EXIT_CHANGES, Context, cli, env_option, handle_errors, json_option
from dataiku_iac.engine.drift import DriftReport
from dataiku_iac.engine.policies import drift_exit_code
from dataiku_iac.output.text import Style, fmt


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
        if report.has_drift and policies.drift == "warn":
            click.echo(obj.style(f"Warning: drift is reported, not failed ({policies.where('drift')}: warn); exit code 0.", "yellow"))
    code = drift_exit_code(policies, report.has_drift, changes_code=EXIT_CHANGES)
    if code:
        sys.exit(code)


def render_drift(report: DriftReport, style: Style) -> str:
    lines = []
    if not report.has_drift:
        lines.append(style("No drift.", "green", bold=True) + f" DSS matches the recorded state ({report.checked} resources checked).")
    else:
        counts = report.counts()
        lines.append(
            style("Drift detected", "red", bold=True)
            + f" in environment {report.environment}: {counts['changed']} changed, {counts['deleted']} deleted, {counts['unmanaged']} unmanaged."
        )
        lines.append("")
        for item in report.items:
            lines.extend(_item(item, style))
    pending = report.pending or {}
    if "error" in pending:
        lines.append(style(f"\nThe configuration cannot be planned: {pending['error']}", "yellow"))
    else:
        reverts = report.reverts or {}
        if any(reverts.values()):
            lines.append(f"\nAn apply would revert the drift above (the configuration did not change): {_counts(reverts)}.")
        if any(pending.values()):
            lines.append(f"\nConfig changes not yet applied: {_counts(pending)}.")
    return "\n".join(lines) + "\n"


def _counts(summary: dict) -> str:
    text = f"{summary['add']} to add, {summary['change']} to change, {summary['destroy']} to destroy"
    return text + (f", {summary['forget']} to forget" if summary.get("forget") else "")


def _item(item, style: Style) -> list:
    if item.kind == "deleted":
        return [style(f"  - {item.address} was deleted outside dataiku-iac", "red")]
    if item.kind == "unmanaged":
        return [style(f"  ? {item.address} exists in DSS but is not managed by dataiku-iac", "cyan")]
    lines = [style(f"  ~ {item.address} changed outside dataiku-iac", "yellow")]
    for f in item.fields:
        recorded = "(sensitive value)" if f.sensitive else fmt(f.recorded)
        live = "(sensitive value)" if f.sensitive else fmt(f.live)
        lines.append(f"      ~ {f.name}: {recorded} (applied) -> {live} (in DSS)")
    return lines
