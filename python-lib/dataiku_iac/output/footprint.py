"""`report footprint` as Markdown (a PR comment, a wiki page): per project its storage, its
datasets, recipes and scenarios, then the recommendations. Names are escaped for tables."""

from __future__ import annotations

from typing import Any

from dataiku_iac.engine.footprint import FootprintReport, LastJob, ProjectFootprint, human_size
from dataiku_iac.output.text import plural

NO_COST = ("Cost in money is not computed: DSS gives sizes, files and job durations, not prices; "
           "multiply by your own storage and compute prices (docs/footprint.md).")


def _cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def _job(job: LastJob | None) -> str:
    if job is None:
        return "never (in the listed jobs)"
    took = f", {job.duration_seconds:.1f} s" if job.duration_seconds is not None else ""
    return _cell(f"{job.state} {job.ended_at}{took}".strip())


def render_markdown(report: FootprintReport) -> str:
    lines = [f"# Footprint of environment `{_cell(report.environment)}`", ""]
    for project in report.projects:
        lines += _project(project)
    recommendations = report.recommendations()
    lines += ["## Recommendations", ""]
    if recommendations:
        lines += [f"- `{_cell(r.address)}`: {_cell(r.message)}" for r in recommendations]
    else:
        lines.append("None: every dataset is read, every recipe has run, every scenario is enabled.")
    lines += ["", f"_{NO_COST}_", ""]
    return "\n".join(lines)


def _project(project: ProjectFootprint) -> list[str]:
    lines = [f"## Project `{_cell(project.project_key)}`", ""]
    if not project.exists:
        return lines + ["Not in DSS (not applied yet).", ""]
    if project.storage is not None:
        storage = project.storage
        parts = ", ".join(f"{_cell(k)} {human_size(v)}" for k, v in storage["categories"].items())
        lines.append(f"Data directories: **{human_size(storage['size_bytes'])}** in {plural(storage['files'], 'file') if storage['files'] is not None else 'unknown files'}"
                     + (f" ({parts})" if parts else "") + ".")
    else:
        lines.append(f"Data directories: unknown ({_cell(project.storage_note)}).")
    lines += ["", "| Dataset | Size (last metrics) | Records | Read by | Last build |", "| --- | --- | --- | --- | --- |"]
    for d in project.datasets:
        lines.append(f"| {_cell(d.name)} | {human_size(d.size_bytes) if d.size_bytes is not None else 'not computed'} | "
                     f"{d.records if d.records is not None else 'not computed'} | "
                     f"{_cell(', '.join(d.read_by)) or 'nothing'} | {_job(d.last_build)} |")
    if project.recipes:
        lines += ["", "| Recipe | Type | Last run |", "| --- | --- | --- |"]
        lines += [f"| {_cell(r.name)} | {_cell(r.type)} | {_job(r.last_run)} |" for r in project.recipes]
    if project.scenarios:
        lines += ["", "| Scenario | Enabled |", "| --- | --- |"]
        lines += [f"| {_cell(s.id)} | {'yes' if s.active else 'no'} |" for s in project.scenarios]
    return lines + [""]
