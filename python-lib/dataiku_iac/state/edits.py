"""Edits of the recorded state that change nothing in DSS: the rules of `state rm`, `protect`,
`mv` and `push`.

Each rule takes the state document, changes it in place or raises (an `IacError` naming what
is wrong; nothing is written then) and returns what to tell the user. `edit` runs one under
the state lock as one new serial, and refuses while an interrupted apply's journal is waiting
to be reconciled: the journal's records would otherwise be folded into a state they no longer
describe. The CLI only parses arguments and prints the messages.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from dataiku_iac import secrets as fp
from dataiku_iac.address import Address
from dataiku_iac.errors import IacError, StateError
from dataiku_iac.resources.registry import spec_for
from dataiku_iac.state.model import StateDocument
from dataiku_iac.state.store import StateWriter

# A rule: changes the document in place, returns the messages for the user.
Change = Callable[[StateDocument], list[str]]
Move = tuple[str, str]  # (old address, new address)

# Journal states that leave nothing to reconcile (journal.py: none, stale, empty, header_only).
_NOTHING_PENDING = ("none", "stale", "empty", "header_only")

@dataclass(frozen=True)
class EditResult:
    messages: list[str]
    written: StateDocument | None  # the new serial; None when the rule changed no resource


def edit(writer: StateWriter, operation: str, change: Change) -> EditResult:
    """Lock, refuse if an interrupted apply is pending, change, write one new serial."""
    lock = writer.lock(operation)
    try:
        journal = writer.read_journal()
        if journal.status not in _NOTHING_PENDING:
            raise StateError("an interrupted apply left a journal to reconcile: run `dataiku-iac apply` first")
        doc = writer.read()
        updated = doc.copy()
        messages = change(updated)
        written = None
        if updated.resources != doc.resources:
            written = writer.write(updated, expected_serial=doc.serial, operation=operation)
        return EditResult(messages, written)
    finally:
        writer.unlock(lock.id)


# -- rm, protect ----------------------------------------------------------------------------------


def remove(doc: StateDocument, addresses: tuple[str, ...]) -> list[str]:
    """Stop managing resources: forget them, leave the DSS objects."""
    missing = [a for a in addresses if doc.get(a) is None]
    if missing:
        raise IacError(f"not in the state: {', '.join(missing)}")
    for address in addresses:
        doc.remove(address)
    return [f"Removed {a} from the state (the DSS object is untouched)." for a in addresses]


def protect(doc: StateDocument, addresses: tuple[str, ...], *, on: bool = True) -> list[str]:
    """Mark resources protected (plans deleting or replacing them are refused), or unmark them."""
    for address in addresses:
        entry = doc.get(address)
        if entry is None:
            raise IacError(f"{address} is not in the state")
        entry.protect = on
    return [f"{'Protected' if on else 'Unprotected'} {a}." for a in addresses]


# -- mv -------------------------------------------------------------------------------------------


def move(doc: StateDocument, source: str, destination: str) -> list[str]:
    """Give a managed resource a new address, keeping the DSS object (a project: with all of it)."""
    moves = plan_moves(doc, source, destination)
    apply_moves(doc, moves)
    return [f"Moved {old} to {new}." for old, new in moves]


def plan_moves(doc: StateDocument, source: str, destination: str) -> list[Move]:
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
    spec = spec_for(old.type)
    if not spec.named:  # the project, container of the others
        return _project_moves(doc, old, new)
    # DSS identifies most types by name: a new name would point the state at an object it does not have.
    if spec.identity.name_is_identity and old.name != new.name:
        raise IacError(
            f"a {old.type}'s name is its identity in DSS: moving {source} to {destination} would point the state at a "
            f"{old.type} {new.name!r} that DSS does not have. Rename it in DSS first, or `state rm` it and `import` it again"
        )
    return [(source, destination)]


def _project_moves(doc: StateDocument, old: Address, new: Address) -> list[Move]:
    """The project and every resource of it; the effective DSS key (project_key) is unchanged."""
    moves = [(str(old), str(new))]
    for address in sorted(doc.resources):
        parsed = Address.parse(address)
        if parsed.type != old.type and parsed.project == old.project:
            moves.append((address, str(Address(parsed.type, new.project, parsed.name))))
    taken = [n for _, n in moves if doc.get(n) is not None]
    if taken:
        raise IacError(f"cannot move project {old.project}: already in the state: {', '.join(taken)}")
    return moves


def apply_moves(doc: StateDocument, moves: list[Move]) -> None:
    renamed = dict(moves)
    for old, new in moves:
        entry = doc.remove(old)
        if entry is None:
            raise IacError(f"{old} is not in the state")
        entry.address = new
        if entry.type != "project":  # a project's name is its effective DSS key, which stays
            entry.name = Address.parse(new).name
        doc.put(entry)
    for entry in doc.resources.values():
        entry.depends_on = sorted(renamed.get(d, d) for d in entry.depends_on)
    problem = next((e.problem() for e in doc.resources.values() if e.problem()), None)
    if problem:
        raise IacError(f"the move would leave an invalid state: {problem}")


# -- push -----------------------------------------------------------------------------------------


def push(doc: StateDocument, pushed: StateDocument, *, environment: str, force: bool) -> list[str]:
    """Replace the stored resources by those of `pushed` (a `state pull` backup), under `check_push`'s
    rules. The stored lineage and its fingerprint key stay (a first push brings its own)."""
    messages = check_push(pushed, doc, environment=environment, force=force)
    if doc.serial == 0:  # nothing stored yet: the pushed state brings its lineage and key
        doc.lineage = pushed.lineage
        doc.fingerprint_key = pushed.fingerprint_key or doc.fingerprint_key
    if pushed.resources == doc.resources:
        messages.append("The stored state already holds this content: nothing written.")
    doc.resources = {a: r.copy() for a, r in pushed.resources.items()}
    if pushed.fingerprint_key not in (None, doc.fingerprint_key):
        # A lineage keeps its key; fingerprints made under another one compare with nothing.
        dropped = fp.forget_fingerprints(doc)
        if dropped:
            messages.append(
                f"{dropped} secret fingerprint(s) of the pushed state were made under another state's key: "
                f"unknown until the next apply records them."
            )
    return messages


def check_push(pushed: StateDocument, stored: StateDocument, *, environment: str, force: bool) -> list[str]:
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
