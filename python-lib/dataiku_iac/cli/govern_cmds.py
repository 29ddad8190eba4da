"""`dataiku-iac govern submit|status PLANFILE`: Dataiku Govern change requests of saved plans
(docs/govern.md). Govern is reached through GOVERN_URL and GOVERN_API_KEY, never through a file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import click

from dataiku_iac.cli.main import Context, _read_plan, cli, handle_errors, json_option
from dataiku_iac.engine.govern import (
    APPLIED,
    EXIT_REFUSED,
    MARKDOWN_LIMIT,
    Govern,
    Verdict,
    ci_url_of,
    git_commit_of,
    verdict,
)
from dataiku_iac.engine.saved_plans import check_unmodified
from dataiku_iac.errors import IacError, StalePlanError, printable
from dataiku_iac.output.markdown import render_markdown
from dataiku_iac.planner.plan import Plan

planfile_argument = click.argument("planfile", type=click.Path(exists=True, dir_okay=False, path_type=Path))


@cli.group()
def govern() -> None:
    """Dataiku Govern change requests of saved plans (policies.require_approval: govern)."""


@govern.command("submit")
@planfile_argument
@json_option
@click.pass_obj
@handle_errors()
def submit(obj: Context, planfile: Path, as_json: bool) -> None:
    """Submit a saved plan for approval: one Govern change request per plan digest."""
    saved = _checked_plan(obj, planfile, as_json)
    gate = _govern()
    request, created = gate.submit(
        saved, markdown=plan_markdown(saved), git_commit=git_commit_of(dict(os.environ)) or _git_head(obj.root),
        ci_url=ci_url_of(dict(os.environ)),
    )
    if as_json:
        click.echo(json.dumps({"created": created, "change_request": request.to_json()}, indent=2))
        return
    said = "Submitted" if created else "Already submitted"
    click.echo(printable(f"{said}: Govern change request {request.artifact_id} ({request.name}), "
                         f"sign-off {request.signoff_status}."))
    apply = f"`dataiku-iac apply -e {printable(str(saved.get('environment')))} {planfile}`"
    result = verdict(request, str(saved["digest"]))
    if result.approved:
        click.echo(printable(f"It is approved ({result.reason}); apply it with {apply}."))
    else:
        click.echo(f"Someone other than {printable(request.requested_by)} must approve it in Govern; then {apply}.")


@govern.command("status")
@planfile_argument
@json_option
@click.pass_obj
@handle_errors()
def status(obj: Context, planfile: Path, as_json: bool) -> None:
    """Show the approval of a saved plan; exit 0 approved, 3 pending, 4 refused."""
    try:
        saved, stale = _checked_plan(obj, planfile, as_json), None
    except StalePlanError as exc:
        if "modified after it was written" in str(exc):
            raise
        saved, stale = _read_plan(planfile), exc  # still show its change request (and outcome)
    digest = str(saved["digest"])
    request = _govern().find(digest)
    result = verdict(request, digest, submit_hint=f": run `dataiku-iac govern submit {planfile}`")
    if request is not None and request.apply_status == APPLIED:
        # Applied through its change request: the state moved on because of it, so a stale plan is expected.
        result = Verdict(False, 0, f"Govern artifact {request.artifact_id} was applied by {request.fields.get('applied_by') or 'someone'}; "
                                   f"nothing is left to do with this plan")
    elif stale is not None:
        result = Verdict(False, EXIT_REFUSED, f"the plan cannot be applied any more: {stale}")
    if as_json:
        body = {"plan_digest": digest, "environment": saved.get("environment"), "approved": result.approved,
                "applied": request is not None and request.apply_status == APPLIED,
                "reason": result.reason, "change_request": request.to_json() if request is not None else None}
        click.echo(json.dumps(body, indent=2))
    else:
        _print_status(saved, request, result)
    sys.exit(result.exit_code)


def _print_status(saved: dict, request: Any, result: Any) -> None:
    click.echo(f"Plan digest {saved['digest'][:12]} (environment {printable(str(saved.get('environment')))})")
    if request is not None:
        click.echo(printable(f"Change request: {request.artifact_id} ({request.name}), requested by {request.requested_by}"))
        click.echo(f"Sign-off: {request.signoff_status}; apply status: {request.apply_status}")
        outcome = request.to_json()["outcome"]
        if outcome:
            click.echo(printable("Outcome: " + ", ".join(f"{k} {v}" for k, v in outcome.items())))
    applied = request is not None and request.apply_status == APPLIED and result.exit_code == 0
    label = "Applied" if applied else "Approved" if result.approved else ("Pending" if result.exit_code == 3 else "Refused")
    click.echo(printable(f"{label}: {result.reason}"))


def _checked_plan(obj: Context, planfile: Path, as_json: bool) -> dict:
    """The saved plan, refused if edited or stale (as apply would refuse it)."""
    saved = _read_plan(planfile)
    if not isinstance(saved, dict) or "resource_changes" not in saved or not saved.get("digest"):
        raise IacError(f"{planfile} is not a saved dataiku-iac plan (make one with `dataiku-iac plan -e ENV --out FILE`)")
    check_unmodified(saved, f"the saved plan file {planfile}")
    if (saved.get("source") or {}).get("kind") != "rollback":  # a rollback plan is checked by `state rollback --plan`
        obj.session(str(saved.get("environment")), as_json=as_json).check_saved(saved)
    return saved


def _govern() -> Govern:
    gate = Govern.from_environment(dict(os.environ))
    if gate is None:
        raise IacError("Dataiku Govern is not configured: set GOVERN_URL and GOVERN_API_KEY (docs/govern.md)")
    click.echo(printable(f"Using {gate.describe} (key from GOVERN_API_KEY)"), err=True)
    return gate


def plan_markdown(saved: dict) -> str:
    """The plan as a review document: `show --format markdown`'s, within the field's size (the
    digest binds the whole plan; the full plan is the saved file)."""
    return render_markdown(Plan.from_json(saved), digest=str(saved["digest"]), max_chars=MARKDOWN_LIMIT,
                           artifact="the saved plan file submitted with this change request")


def _git_head(root: Path) -> str:
    """The commit of the configuration directory's Git checkout, when it is one."""
    try:
        done = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""
