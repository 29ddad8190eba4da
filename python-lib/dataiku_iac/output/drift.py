"""The drift report as text, for the CLI and the plugin (which must not import the CLI)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dataiku_iac.output.text import Style, fmt, is_short_change, plural, value_change_lines

if TYPE_CHECKING:  # output renders the engine's records without depending on the engine
    from dataiku_iac.engine.drift import DriftItem, DriftReport


def render_drift(report: DriftReport, style: Style) -> str:
    lines = []
    if not report.has_drift:
        lines.append(style("No drift.", "green", bold=True) + f" DSS matches the recorded state ({plural(report.checked, 'resource')} checked"
                     + (f"; {plural(len(report.ignored), 'unmanaged object')} ignored by policy" if report.ignored else "") + ").")
    else:
        counts = report.counts()
        lines.append(
            style("Drift detected", "red", bold=True)
            + f" in environment {report.environment}: {counts['changed']} changed, {counts['deleted']} deleted, {counts['unmanaged']} unmanaged."
        )
        lines.append("")
        for item in report.items:
            lines.extend(_item(item, style))
        if report.ignored:
            lines.append(f"  ({plural(len(report.ignored), 'unmanaged object')} ignored by its project's `unmanaged:` policy)")
    if report.reverted:
        lines.append(style(f"\nReverted (drift policy revert): {', '.join(report.reverted)}.", "green"))
    if report.revert_refused:
        lines.append(style(f"\nRevert refused: {report.revert_refused}", "red"))
    pending = report.pending or {}
    if "error" in pending:
        lines.append(style(f"\nThe configuration cannot be planned: {pending['error']}", "yellow"))
    else:
        reverts = report.reverts or {}
        if any(reverts.values()):
            lines.append(f"\nAn apply would revert the drift above (the configuration did not change): {_counts(reverts)}.")
        if any(pending.values()):
            lines.append(f"\nConfig changes not yet applied: {_counts(pending)}.")
    if report.unknown_secrets:
        lines.append("\nNot counted (a secret's value is not set here, so whether it changed is unknown):")
        lines.extend(f"  {line}" for line in report.unknown_secrets)
    return "\n".join(lines) + "\n"


def _counts(summary: dict) -> str:
    text = f"{summary['add']} to add, {summary['change']} to change, {summary['destroy']} to destroy"
    return text + (f", {summary['forget']} to forget" if summary.get("forget") else "")


def _item(item: DriftItem, style: Style) -> list:
    if item.kind == "deleted":
        return [style(f"  - {item.address} was deleted outside dataiku-iac", "red")]
    if item.kind == "unmanaged" and item.policy == "fail":
        return [style(f"  ! {item.address} exists in DSS but is not managed by dataiku-iac, which its project's "
                      f"`unmanaged: fail` policy forbids", "red")]
    if item.kind == "unmanaged":
        return [style(f"  ? {item.address} exists in DSS but is not managed by dataiku-iac", "cyan")]
    lines = [style(f"  ~ {item.address} changed outside dataiku-iac", "yellow")]
    for f in item.fields:
        if f.sensitive:
            lines.append(f"      ~ {f.name}: (sensitive value) (applied) -> (sensitive value) (in DSS)")
        elif is_short_change(f.recorded, f.live):
            lines.append(f"      ~ {f.name}: {fmt(f.recorded)} (applied) -> {fmt(f.live)} (in DSS)")
        else:  # as a plan shows a change: a structure's changed leaves, a code's changed lines
            lines.append(f"      ~ {f.name}, applied -> in DSS:")
            lines.extend("    " + line for line in value_change_lines(f.name, f.recorded, f.live, style, unmanaged_keys=True))
    return lines
