"""The result of `pull` as text (the CLI; the engine's records rendered, never re-computed)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dataiku_iac.errors import printable
from dataiku_iac.output.text import Style, fmt, plural

if TYPE_CHECKING:  # output renders the engine's records without depending on the engine
    from dataiku_iac.engine.pull import PullResult


def render_pull(result: PullResult, style: Style) -> str:
    lines = []
    if result.dry_run and result.files:
        lines.append(result.diff.rstrip("\n"))
        lines.append("")
    for record in result.patched:
        change = "removed" if record["removed"] else ("code updated" if record["path"] == "(code)" else f"-> {fmt(record['value'])}")
        where = f"{record['file']}:{record['line']}" if record["line"] else record["file"]
        lines.append(style(f"  ~ {record['address']}: {record['path']} {change}", "yellow") + f"  ({where})")
    if result.reported:
        lines.append(style("Left for you (not written):", "cyan", bold=True))
    for report in result.reported:
        head = f"  ! {report['address']}" + (f": {report['path']}" if report["path"] else "")
        lines.append(style(head, "cyan") + f" {report['reason']}")
        if report["where"]:
            lines.append(f"      at {report['where']}")
        if report["dss_value"] is not None and report["kind"] not in ("deleted", "unmanaged"):
            lines.append(f"      DSS has: {fmt(report['dss_value'])}")
        if report["hint"]:
            lines.append(f"      {report['hint']}")
    lines.append(_summary(result, style))
    # values and file lines come from DSS and the configuration: control characters escaped
    return "\n".join(printable(line, keep_newlines=True) for line in lines) + "\n"


def _summary(result: PullResult, style: Style) -> str:
    values, files = plural(len(result.patched), "value"), plural(len(result.files), "file")
    left = f"; {plural(len(result.reported), 'item')} left for you" if result.reported else ""
    if not result.patched and not result.reported:
        return style("Nothing to pull.", "green", bold=True) + f" The configuration matches DSS ({plural(result.checked, 'resource')} checked)."
    if not result.patched:
        return style("Nothing pulled:", "cyan", bold=True) + f" {plural(len(result.reported), 'item')} left for you."
    if result.dry_run:
        return style("Dry run:", bold=True) + f" would write {values} into {files}{left}. Nothing was written."
    state = f" and recorded them in the state (serial {result.state_serial})" if result.state_serial is not None else ""
    return style("Pulled", "green", bold=True) + f" {values} into {files}{state}{left}."
