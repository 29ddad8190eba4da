"""`dataiku-iac state …`: inspect and repair the recorded state without touching DSS."""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path
from typing import Any, Callable, Optional

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
from dataiku_iac.engine.rollback import DATA_NOTE, apply_rollback, plan_rollback
from dataiku_iac.engine.secrets import forget_fingerprints
from dataiku_iac.engine.session import DEFAULT_PARALLELISM, state_with_journal
from dataiku_iac.errors import IacError, StateError
from dataiku_iac.model import Address
from dataiku_iac.output.text import render_apply_summary, render_plan
from dataiku_iac.planner.plan import REDACTED, PlanOptions
from dataiku_iac.state import parse_state


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
        click.echo(f"serial {entry.serial:>5}  {entry.written_at}  {entry.resource_count:>5} resources  {entry.operation}")


def _mutate(obj: Context, environment: str, operation: str, change: Callable[[Any], list[str]]) -> None:
    """Lock, refuse if an interrupted apply is pending, change, write one new serial."""
    writer = _writer(obj, environment)
    lock = writer.lock(operation)
    try:
        journal = writer.read_journal()
        if journal.status not in ("none", "stale", "empty", "header_only"):
            raise StateError("an interrupted apply left a journal to reconcile: run `dataiku-iac apply` first")
        doc = writer.read()
        updated = doc.copy()
        messages = change(updated)
        if updated.resources != doc.resources:
            written = writer.write(updated, expected_serial=doc.serial, operation=operation)
            messages.append(f"State written as serial {written.serial}.")
        for message in messages:
            click.echo(message)
    finally:
        writer.unlock(lock.id)


@state.command("rm")
@env_option
@lock_timeout_option
@click.argument("addresses", nargs=-1, required=True)
@click.pass_obj
@handle_errors()
def rm(obj: Context, environment: str, addresses: tuple) -> None:
    """Stop managing resources: remove them from state, leave them in DSS."""

    def change(doc: Any) -> list[str]:
        missing = [a for a in addresses if doc.get(a) is None]
        if missing:
            raise IacError(f"not in the state: {', '.join(missing)}")
        for address in addresses:
            doc.remove(address)
        return [f"Removed {a} from the state (the DSS object is untouched)." for a in addresses]

    _mutate(obj, environment, f"state rm {' '.join(addresses)}", change)


@state.command("protect")
@env_option
@lock_timeout_option
@click.argument("addresses", nargs=-1, required=True)
@click.option("--off", is_flag=True, help="Remove the protection instead.")
@click.pass_obj
@handle_errors()
def protect(obj: Context, environment: str, addresses: tuple, off: bool) -> None:
    """Mark resources as protected: plans that delete or replace them are refused."""

    def change(doc: Any) -> list[str]:
        for address in addresses:
            entry = doc.get(address)
            if entry is None:
                raise IacError(f"{address} is not in the state")
            entry.protect = not off
        return [f"{'Unprotected' if off else 'Protected'} {a}." for a in addresses]

    _mutate(obj, environment, f"state protect{' --off' if off else ''}", change)


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

    def change(doc: Any) -> list:
        messages = check_push(pushed, doc, environment=environment, force=force)
        if doc.serial == 0:  # nothing stored yet: the pushed state brings its lineage and key
            doc.lineage = pushed.lineage
            doc.fingerprint_key = pushed.fingerprint_key or doc.fingerprint_key
        if pushed.resources == doc.resources:
            messages.append("The stored state already holds this content: nothing written.")
        doc.resources = {a: r.copy() for a, r in pushed.resources.items()}
        if pushed.fingerprint_key not in (None, doc.fingerprint_key):
            # A lineage keeps its key; fingerprints made under another one compare with nothing.
            dropped = forget_fingerprints(doc)
            if dropped:
                messages.append(
                    f"{dropped} secret fingerprint(s) of the pushed state were made under another state's key: "
                    f"unknown until the next apply records them."
                )
        return messages

    _mutate(obj, environment, f"state push (lineage {pushed.lineage} serial {pushed.serial}{', forced' if force else ''})", change)


def check_push(pushed: Any, stored: Any, *, environment: str, force: bool) -> list:
    """Terraform's CheckValidImport, with our invariant that the lineage never changes."""
    if pushed.environment != environment:
        raise StateError(f"the pushed state belongs to environment {pushed.environment!r}, not {environment!r}")
    messages = []
    fresh = stored.serial == 0
    if not fresh and pushed.lineage != stored.lineage:
        if not force:
            raise StateError(
                f"refusing to push: the file is state lineage {pushed.lineage}, the stored state is lineage "
                f"{stored.lineage} (a different state); use --force to replace it anyway"
            )
        messages.append(f"Forced: the content of lineage {pushed.lineage} replaces the state; it keeps lineage {stored.lineage}.")
    elif not fresh and pushed.serial < stored.serial and not force:
        raise StateError(
            f"refusing to push: the file is serial {pushed.serial}, older than the stored serial {stored.serial} "
            f"(it would undo later changes); use --force, or `state rollback`/`state restore` to go back on purpose"
        )
    elif not fresh and pushed.serial == stored.serial and pushed.resources != stored.resources and not force:
        raise StateError(
            f"refusing to push: the file and the stored state are both serial {pushed.serial} but differ; use --force"
        )
    return messages


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

    def change(doc: Any) -> list:
        moves = plan_moves(doc, source, destination)
        apply_moves(doc, moves)
        return [f"Moved {old} to {new}." for old, new in moves]

    _mutate(obj, environment, f"state mv {source} {destination}", change)


# DSS identifies these by name: a new name would point the state at an object that does not exist.
_NAMED_BY_DSS = ("dataset", "recipe", "scenario")


def plan_moves(doc: Any, source: str, destination: str) -> list:
    """[(old, new)] addresses to move; IacError when the move cannot be right."""
    try:
        old, new = Address.parse(source), Address.parse(destination)
    except ValueError as exc:
        raise IacError(str(exc)) from None
    if doc.get(source) is None:
        raise IacError(f"{source} is not in the state")
    if old.type != new.type:
        raise IacError(f"cannot move a {old.type} to a {new.type} address")
    if doc.get(destination) is not None:
        raise IacError(f"{destination} is already in the state")
    if old.type == "project":
        return _project_moves(doc, old, new)
    if old.type in _NAMED_BY_DSS and old.name != new.name:
        raise IacError(
            f"a {old.type}'s name is its identity in DSS: moving {source} to {destination} would point the state at a "
            f"{old.type} {new.name!r} that DSS does not have. Rename it in DSS first, or `state rm` it and `import` it again"
        )
    return [(source, destination)]


def _project_moves(doc: Any, old: Address, new: Address) -> list:
    """The project and every resource of it; the effective DSS key (project_key) is unchanged."""
    moves = [(str(old), str(new))]
    for address in sorted(doc.resources):
        parsed = Address.parse(address)
        if parsed.type != "project" and parsed.project == old.project:
            moves.append((address, str(Address(parsed.type, new.project, parsed.name))))
    taken = [n for _, n in moves if doc.get(n) is not None]
    if taken:
        raise IacError(f"cannot move project {old.project}: already in the state: {', '.join(taken)}")
    return moves


def apply_moves(doc: Any, moves: list) -> None:
    renamed = dict(moves)
    for old, new in moves:
        entry = doc.remove(old)
        entry.address = new
        if entry.type != "project":  # a project's name is its effective DSS key, which stays
            entry.name = Address.parse(new).name
        doc.put(entry)
    for entry in doc.resources.values():
        entry.depends_on = sorted(renamed.get(d, d) for d in entry.depends_on)
    problem = next((e.problem() for e in doc.resources.values() if e.problem()), None)
    if problem:
        raise IacError(f"the move would leave an invalid state: {problem}")
