"""`dataiku-iac state …`: inspect and repair the recorded state without touching DSS."""

from __future__ import annotations

import json
from typing import Any, Callable

import click

from dataiku_iac.cli.main import Context, cli, env_option, handle_errors, json_option
from dataiku_iac.errors import IacError, StateError


@cli.group()
def state() -> None:
    """Inspect and repair the recorded state (no DSS call)."""


def _writer(obj: Context, environment: str) -> Any:
    return obj.session(environment).state_writer()


@state.command("list")
@env_option
@json_option
@click.pass_obj
@handle_errors()
def list_(obj: Context, environment: str, as_json: bool) -> None:
    """List the resources the state owns."""
    doc = _writer(obj, environment).read()
    rows = [
        {"address": a, "dss_id": r.dss_id, "project_key": r.project_key, "origin": r.origin, "protect": r.protect}
        for a, r in sorted(doc.resources.items())
    ]
    if as_json:
        click.echo(json.dumps({"serial": doc.serial, "lineage": doc.lineage, "resources": rows}, indent=2))
        return
    for row in rows:
        marks = " (protected)" if row["protect"] else ""
        ident = f"  [id {row['dss_id']}]" if row["dss_id"] not in row["address"] else ""
        click.echo(f"{row['address']}{ident}{marks}")


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
        click.echo(json.dumps(doc.to_json(), indent=2))
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
