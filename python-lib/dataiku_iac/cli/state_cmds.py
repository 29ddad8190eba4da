"""`dataiku-iac state …`: inspect and repair the recorded state without touching DSS."""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path
from typing import Any, Optional

import click

from dataiku_iac.cli.main import (
    Context,
    _addresses,
    _graceful_stop,
    _Progress,
    _read_plan,
    _write_plan,
    cli,
    env_option,
    force_delete_option,
    handle_errors,
    json_option,
    lock_timeout_option,
)
from dataiku_iac.engine.pipeline import state_with_journal
from dataiku_iac.engine.rollback import DATA_NOTE, apply_rollback, plan_rollback
from dataiku_iac.engine.session import DEFAULT_PARALLELISM
from dataiku_iac.errors import IacError, StateError
from dataiku_iac.output.text import render_apply_summary, render_plan
from dataiku_iac.planner.plan import REDACTED, PlanOptions
from dataiku_iac.state import edits, parse_state


@cli.group()
def state() -> None:
    """Inspect, back up, repair and move the recorded state; roll DSS back to a recorded serial."""


def _writer(obj: Context, environment: str) -> Any:
    return obj.session(environment).state_writer()


@state.command("list")
@env_option
@json_option
@click.pass_obj
@handle_errors()
def list_(obj: Context, environment: str, as_json: bool) -> None:
    """List the resources the state owns (with those an interrupted apply journaled)."""
    reader = _writer(obj, environment)
    stored = reader.read()
    try:
        doc, pending, interrupted = state_with_journal(reader)
    except StateError as exc:  # an unusable journal: list the stored state, say why the journal is not in it
        click.echo(f"Warning: {exc}", err=True)
        doc, pending, interrupted = stored, [], False
    journaled = {a for a, r in doc.resources.items() if stored.get(a) != r}
    rows: list[dict[str, Any]] = [
        {"address": a, "dss_id": r.dss_id,
 "project_key": r.project_key, "origin": r.origin, "protect": r.protect,
         "journal": a in journaled}
        for a, r in sorted(doc.resources.items())
    ]
    gone = sorted(set(stored.resources) - set(doc.resources))
    unknown = [f"{e.get('action')} {e['address']}" for e in pending]
    if as_json:
        body: dict[str, Any] = {"serial": doc.serial, "lineage": doc.lineage, "resources": rows}
        if interrupted:
            body["interrupted_apply"] = {"removed": gone, "unknown_outcomes": unknown}
        click.echo(json.dumps(body, indent=2))
        return
    for row in rows:
        marks = " (protected)" if row["protect"] else ""
        marks += " (from the journal of an interrupted apply)" if row["journal"] else ""
        ident = f"  [id {row['dss_id']}]" if row["dss_id"] not in row["address"] else ""
        click.echo(f"{row['address']}{ident}{marks}")
    if interrupted:
        click.echo(_interrupted_note(environment, stored.serial, len(journaled), gone, unknown), err=True)


def _interrupted_note(environment: str, serial: int, journaled: int, gone: list, unknown: list) -> str:
    """What `state list` says when an apply was interrupted: what is not in the state yet, and what to run."""
    base = f"serial {serial}" if serial else "no state written yet"
    lines = [f"Note: an apply was interrupted ({base}); its journal is not yet folded into the state:"]
    if journaled:
        lines.append(f"  {journaled} resource(s) above were created or changed by it (marked)")
    if gone:
        lines.append(f"  deleted by it, no longer listed: {', '.join(gone)}")
    if unknown:
        lines.append(f"  outcome unknown until checked in DSS: {', '.join(unknown)}")
    lines.append(
        f"Run `dataiku-iac plan -e {environment}` to see how it reconciles, then `dataiku-iac apply -e {environment}` "
        f"to record it and finish the work."
    )
    return "\n".join(lines)


@state.command("show")
@env_option
@click.argument("address", required=False)
@click.option("--serial", type=int, help="Show a previous state serial from the history.")
@click.pass_obj
@handle_errors()
def show(obj: Context, environment: str, address: str, serial: int) -> None:
    """Show the whole state, a previous serial, or one resource, as JSON."""
    writer = _writer(obj, environment)
    doc = writer.read_serial(serial) if serial is not None else writer.read()
    if address is None:
        body = doc.to_json()
        if "fingerprint_key" in body:  # what a state holder pays a slow KDF per guess with; `state pull` has it
            body["fingerprint_key"] = REDACTED
        click.echo(json.dumps(body, indent=2))
        return
    entry = doc.get(address)
    if entry is None:
        raise IacError(f"{address} is not in the state of environment {environment!r}")
    click.echo(json.dumps(entry.to_json(), indent=2))


@state.command("history")
@env_option
@json_option
@click.pass_obj
@handle_errors()
def history(obj: Context, environment: str, as_json: bool) -> None:
    """List every recorded state serial (newest last)."""
    entries = _writer(obj, environment).history()
    if as_json:
        click.echo(json.dumps([e.__dict__ for e in entries], indent=2, default=str))
        return
    for entry in entries:
        click.echo(f"serial {entry.serial:>5}  {entry.written_at}  {entry.resource_count:>5} {'resource ' if entry.resource_count == 1 else 'resources'}  {entry.operation}")


def _edit(obj: Context, environment: str, operation: str, change: edits.Change) -> None:
    """Run a state rule (state/edits.py) as one new serial and print what it says."""
    result = edits.edit(_writer(obj, environment), operation, change)
    for message in result.messages:
        click.echo(message)
    if result.written is not None:
        click.echo(f"State written as serial {result.written.serial}.")


@state.command("rm")
@env_option
@lock_timeout_option
@click.argument("addresses", nargs=-1, required=True)
@click.pass_obj
@handle_errors()
def rm(obj: Context, environment: str, addresses: tuple) -> None:
    """Stop managing resources: remove them from state, leave them in DSS."""
    _edit(obj, environment, f"state rm {' '.join(addresses)}", lambda doc: edits.remove(doc, addresses))


@state.command("protect")
@env_option
@lock_timeout_option
@click.argument("addresses", nargs=-1, required=True)
@click.option("--off", is_flag=True, help="Remove the protection instead.")
@click.pass_obj
@handle_errors()
def protect(obj: Context, environment: str, addresses: tuple, off: bool) -> None:
    """Mark resources as protected: plans that delete or replace them are refused."""
    _edit(obj, environment, f"state protect{' --off' if off else ''}", lambda doc: edits.protect(doc, addresses, on=not off))


@state.command("unlock")
@env_option
@click.argument("lock_id")
@click.pass_obj
@handle_errors()
def unlock(obj: Context, environment: str, lock_id: str) -> None:
    """Release a stale lock, by its exact id (shown in the lock error)."""
    writer = _writer(obj, environment)
    holder = writer.current_lock()
    writer.unlock(lock_id)
    who = f" held by {holder.who} for {holder.operation}" if holder is not None else ""
    click.echo(f"Released lock {lock_id}{who}.")


# -- rollback, restore, pull, push, mv ------------------------------------------------------------


@state.command("rollback")
@env_option
@lock_timeout_option
@click.argument("serial", type=int)
@click.option("--auto-approve", is_flag=True, help="Skip the interactive confirmation.")
@click.option("--dry-run", is_flag=True, help="Only show the rollback plan.")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), help="Save the rollback plan instead of applying it.")
@click.option("--plan", "planfile", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="Apply exactly this saved rollback plan.")
@click.option("--drop-data", is_flag=True, help="Objects the rollback deletes also lose their stored data.")
@click.option("--allow-destroy", is_flag=True, help="Accept deletions where the environment's policy is allow_destroy: false.")
@force_delete_option
@click.option("--parallelism", type=click.IntRange(1, 64), default=DEFAULT_PARALLELISM, show_default=True, help="Concurrent DSS operations.")
@click.pass_obj
@handle_errors()
def rollback(obj: Context, environment: str, serial: int, auto_approve: bool, dry_run: bool, out: Optional[Path], planfile: Optional[Path], drop_data: bool, allow_destroy: bool, force_delete: tuple, parallelism: int) -> None:
    """Make DSS match the configuration recorded at state SERIAL (data is not rolled back)."""
    session = obj.session(environment, parallelism)
    options = PlanOptions(drop_data=drop_data, allow_destroy=allow_destroy, force_delete=_addresses("--force-delete", force_delete))
    if dry_run or out is not None:
        result = plan_rollback(session, serial, options)
        _echo_rollback_plan(obj, serial, result)
        if out is not None:
            _write_plan(out, result.plan)
            click.echo(f"\nSaved the rollback plan to {out}. Apply exactly this plan with "
                       f"`dataiku-iac state rollback {serial} -e {environment} --plan {out}`.")
        return
    saved = _read_plan(planfile) if planfile else None
    if saved is None and not auto_approve and not sys.stdin.isatty():
        raise IacError("state rollback needs --auto-approve or a saved plan (--plan) when not run interactively")
    cancelled: list = []

    def confirm(plan_record: Any) -> bool:
        if saved is not None or auto_approve:
            return True
        answer = click.prompt("\nDo you want to roll back? Only 'yes' will be accepted", default="", show_default=False)
        if answer.strip() != "yes":
            click.echo("Rollback cancelled.")
            cancelled.append(True)
        return not cancelled

    stop = threading.Event()
    with _graceful_stop(stop, obj.style):
        planned, applied = apply_rollback(
            session, serial, options, saved_plan=saved, confirm=confirm,
            on_plan=lambda result: _echo_rollback_plan(obj, serial, result),
            on_event=_Progress(obj.style, enabled=True), stop=stop,
        )
    if applied is not None:
        click.echo("\n" + render_apply_summary(applied, planned.plan, obj.style), nl=False)
        click.echo(f"Rolled back to the configuration of serial {serial}. {DATA_NOTE}")
    if cancelled or (applied is not None and not applied.ok):
        sys.exit(1)


def _echo_rollback_plan(obj: Context, serial: int, result: Any) -> None:
    source = result.plan.source or {}
    click.echo(f"Rollback to the configuration recorded at serial {serial} "
               f"(written {source.get('written_at') or '?'} by {source.get('operation') or '?'}).")
    click.echo(render_plan(result.plan, obj.style, notes=result.notes), nl=False)


@state.command("restore")
@env_option
@lock_timeout_option
@click.argument("serial", type=int)
@click.pass_obj
@handle_errors()
def restore(obj: Context, environment: str, serial: int) -> None:
    """Write history serial SERIAL back as a new serial (state only: DSS is not changed).

    The recovery for a damaged or lost state.json; to change DSS back too, use `state rollback`."""
    writer = _writer(obj, environment)
    lock = writer.lock(f"state restore {serial}")
    try:
        written = writer.restore(serial, operation="state restore")
    finally:
        writer.unlock(lock.id)
    click.echo(f"Restored serial {serial} as serial {written.serial}. DSS was not changed: "
               f"run `dataiku-iac plan -e {environment}` to see what it implies.")


@state.command("pull")
@env_option
@click.pass_obj
@handle_errors()
def pull(obj: Context, environment: str) -> None:
    """Print the current state document (to back it up: `state pull > backup.json`)."""
    writer = _writer(obj, environment)
    doc = writer.read()  # validates; refuses a damaged state with the recovery hint
    if doc.serial == 0:
        raise StateError(f"environment {environment!r} has no state yet ({writer.store.describe()})")
    click.echo(doc.to_bytes().decode("utf-8"), nl=False)


@state.command("push")
@env_option
@lock_timeout_option
@click.argument("file", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option("--force", is_flag=True, help="Push even over another lineage or a newer serial.")
@click.pass_obj
@handle_errors()
def push(obj: Context, environment: str, file: str, force: bool) -> None:
    """Replace the state with FILE (a `state pull` backup), as a new serial.

    Refused, unless --force: a state of another lineage, a lower serial than the stored one, or
    the same serial with different content (Terraform's rules)."""
    with click.open_file(file, "rb") as stream:  # "-" is standard input
        raw: bytes = stream.read()

    pushed = parse_state(raw, "-" if file == "-" else file)
    _edit(obj, environment, f"state push (lineage {pushed.lineage} serial {pushed.serial}{', forced' if force else ''})",
          lambda doc: edits.push(doc, pushed, environment=environment, force=force))


@state.command("mv")
@env_option
@lock_timeout_option
@click.argument("source")
@click.argument("destination")
@click.pass_obj
@handle_errors()
def mv(obj: Context, environment: str, source: str, destination: str) -> None:
    """Give a managed resource a new address (after renaming it in the YAML), keeping the DSS object.

    `state mv project.OLD project.NEW` moves the project and every resource of it (a config key
    change whose effective DSS key stays the same); `managed_folder.K.old managed_folder.K.new`
    renames a folder's address (folders have server ids)."""
    _edit(obj, environment, f"state mv {source} {destination}", lambda doc: edits.move(doc, source, destination))
