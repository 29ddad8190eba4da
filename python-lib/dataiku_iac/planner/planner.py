"""The planner: desired config + recorded state + observed DSS -> Plan. No I/O.

Rules, in the order they apply to each address:
- declared, not in state, absent from DSS        -> create
- declared, not in state, present in DSS         -> error: an unmanaged object stands there
- declared, in state, absent from DSS            -> create (deleted outside the tool)
- declared, in state, present, fields differ     -> update, or replace when a field forces it
- declared, in state, present, no difference     -> no-op
- not declared, in state, present in DSS         -> delete (only what the state owns)
- not declared, in state, absent from DSS        -> forget (drop from state, no DSS call)
Objects that are neither declared nor in state are never touched.

Safety checks run after the decisions and raise one error listing every problem:
protected objects cannot be deleted or replaced; a project holding objects the tool does
not own cannot be deleted (deleting it would delete them); a managed folder read or written
by an unmanaged recipe cannot be deleted (DSS deletes the recipes using a folder), nor can a
dataset one reads or writes (the recipe would break), unless `--force-delete` names it; the
managed folder holding the state itself, and its project, are never deleted or replaced
(`state_home`: the tool must not destroy its own state and history); nothing is deleted or
replaced in a project whose marker (project metadata, see resources/project.py) does not name
this state's lineage, unless `--force-delete` names it: the state alone is not proof enough
that the tool owns a project (a state edited to claim a foreign project must not delete it).
"""

from __future__ import annotations

import datetime
from dataclasses import replace
from typing import Any, Callable, Iterable, Optional

from dataiku_iac import __version__
from dataiku_iac.address import project_address_of, type_of
from dataiku_iac.commands import command_line
from dataiku_iac.errors import PlanError, PlanProblem, UnsafeOperationError
from dataiku_iac.model import DesiredState, Resource, StateHome
from dataiku_iac.planner.impact import analyse, data_always_lost
from dataiku_iac.planner.observed import Observation
from dataiku_iac.planner.plan import (
    Action,
    FieldChange,
    Plan,
    PlanOptions,
    ResourceChange,
    holds_sensitive,
)
from dataiku_iac.resources.base import Observed
from dataiku_iac.resources.policy import (
    ABSENT,
    RECORDED,
    TRAIN,
    TRAIN_FROM_SOURCE,
    UNSET,
    ignores_whole,
    is_secret_ref,
    project_observed,
    same_json,
    with_live_ignored,
    without_ignored,
)
from dataiku_iac.resources.project import MARKER_KEY
from dataiku_iac.resources.registry import find_spec, handler_for, spec_for, types
from dataiku_iac.resources.spec import Identity

# The name, as a planned change of a type found by its DSS id (see _renaming).
NAME = "name"
REPLACE_REQUESTED = "replacement requested with --replace"
FOLDER_USER_REPLACED = "DSS deletes it with the managed folder the plan replaces:"
REPLACED_WITH = "made from what the plan replaces:"
REWRITTEN_WITH = "names by id what the plan replaces:"
# The field change of such an update: the ids it writes are DSS's, known once the apply made them.
NEW_IDS = "ids of replaced references"


def plan(
    desired: DesiredState,
    state: Any,
    observed: Observation,
    options: PlanOptions = PlanOptions(),
    *,
    created_at: Optional[str] = None,
    source: Optional[dict[str, Any]] = None,
    state_home: Optional[StateHome] = None,
) -> Plan:
    """Compute a plan. `state` is a StateDocument (lineage, serial, resources); `state_home`
    is where that state is stored in DSS, if it is (never deleted)."""
    _check_fingerprinted(desired)
    _check_options(options)
    wanted = _select_desired(desired, state, options)
    order = {t: i for i, t in enumerate(types())}  # dependency order, then address
    addresses = sorted(set(wanted) | _state_addresses(state, desired, options), key=lambda a: _sort_key(a, order))
    if options.refresh_only:  # the state catches up with DSS: no DSS change, so none of the checks below
        changes, kept = refresh_changes(addresses, desired, state, observed)
        changes = hide_sensitive(changes, desired.sensitive_values)
    else:
        changes, kept = _changes(addresses, wanted, desired, state, observed, options, state_home)
        changes = analyse(hide_sensitive(changes, desired.sensitive_values), desired, state, observed, options)
    return Plan(
        environment=desired.environment or getattr(state, "environment", ""),
        lineage=state.lineage,
        serial=state.serial,
        fingerprint_key_id=getattr(state, "fingerprint_key_id", ""),
        config_digest=desired.config_digest,
        changes=tuple(changes),
        options=options,
        warnings=tuple(
            kept + _warnings(changes, options) + _format_warnings(changes) + _marker_warnings(changes, state, observed, options)
            + _forbidden_unmanaged(desired, state, observed, options)
        ),
        tool_version=__version__,
        created_at=created_at or _now(),
        source=source or {},
        mark_projects=tuple(_projects_to_mark(changes, observed)),
        impact_analysed=not options.refresh_only,  # a refresh-only plan changes nothing in DSS
    )


def _changes(
    addresses: list[str], wanted: dict[str, Resource], desired: DesiredState, state: Any, observed: Observation,
    options: PlanOptions, state_home: Optional[StateHome],
) -> tuple[list[ResourceChange], list[str]]:
    """The changes that make DSS match `wanted` (nothing, for a destroy), checked for safety;
    and the notes of a destroy (what it keeps)."""
    imports = {a: i for a, i in desired.imports.items() if a in wanted}
    _check_replace(options, wanted, imports)
    replaced = set(options.replace)
    _check_live(wanted, state, observed)
    changes = [_decide(a, wanted.get(a), state.resources.get(a), observed, imports, a in replaced) for a in addresses]
    changes = _with_create_notes(_rewritten_with(_replaced_with(_replacing_folder_users(changes))))
    stale = _stale_training(changes, wanted, observed)
    changes = _training(changes, wanted, options, stale)
    _check_replaced(changes, wanted)
    env = desired.environment or getattr(state, "environment", "")
    kept = _destroy_reasons(changes, state_home, env) if options.destroy else []
    _check_conflicts(changes, wanted, state, observed, env)
    _check_force_delete(changes, options)
    _check_safety(changes, state, observed, options, state_home, env)
    return changes, kept + _replace_notes(changes, options) + _stale_notes(stale, changes, options)


def _check_live(wanted: dict[str, Resource], state: Any, observed: Observation) -> None:
    """What a type's `check_live` refuses of the live objects (a pinned version DSS does not have):
    plan errors at the item's file and line."""
    problems: list[PlanProblem] = []
    by_name: dict[tuple[str, str, str], Resource] = {}  # built once, when a type checks (10,000 resources)
    for address, resource in wanted.items():
        spec = find_spec(resource.type)
        if spec is None or spec.check_live is None:
            continue
        live = _lookup(address, resource, state.resources.get(address), observed)
        by_name = by_name or {(r.type, r.project_key, r.name): r for r in wanted.values()}
        peers = _peer_finder(resource, by_name, state, observed)
        problems.extend(_located_problem(resource, found) for found in spec.check_live(resource, live, peers))
    if problems:
        raise PlanError.of(problems)


def _peer_finder(
    resource: Resource, by_name: dict[tuple[str, str, str], Resource], state: Any, observed: Observation
) -> Callable[[str, str], tuple[Optional[Resource], Optional[Observed]]]:
    """(type, name) -> the object of that name in the resource's project: as configured (None when
    not) and as DSS has it (None when it does not): what a check reads of the objects referenced.
    `by_name`: the configured resources by (type, project key, name)."""

    def find(type_: str, name: str) -> tuple[Optional[Resource], Optional[Observed]]:
        desired = by_name.get((type_, resource.project_key, name))
        if desired is not None:
            return desired, _lookup(desired.address, desired, state.resources.get(desired.address), observed)
        return None, observed.find(type_, resource.project_key, name=name)

    return find


def _check_replaced(changes: list[ResourceChange], wanted: dict[str, Resource]) -> None:
    """What a type's `check_replace` refuses of a planned replace (a pinned version the replace
    deletes): plan errors where the value is written."""
    problems: list[PlanProblem] = []
    for change in changes:
        spec = find_spec(change.type)
        resource = wanted.get(change.address)
        if change.action != Action.REPLACE or resource is None or spec is None or spec.check_replace is None:
            continue
        problems.extend(_located_problem(resource, found) for found in spec.check_replace(resource, change))
    if problems:
        raise PlanError.of(problems)


def _located_problem(resource: Resource, found: Any) -> PlanProblem:
    """A check's finding (a text, or (attribute, text)) at the file and line of the attribute: an
    environment override's when one set it, else the item's."""
    attribute, text = found if isinstance(found, tuple) else ("", found)
    file, line = resource.source.of(attribute) if attribute else (resource.source.file, resource.source.line)
    where = f"{file}:{line}: " if file else ""
    return PlanProblem(resource.address, resource.project_key, f"{where}{resource.address}: {text}")


def _cascade(changes: list[ResourceChange], types_of: Callable[[Any], tuple[str, ...]],
             turn: Callable[[ResourceChange, list[str]], ResourceChange]) -> list[ResourceChange]:
    """The changes of the objects that reference an object this plan replaces, of a type their spec
    lists (`types_of(spec)`), become `turn(change, the replaced addresses they reference)`."""
    replaced = {c.address: c.type for c in changes if c.action == Action.REPLACE}
    if not replaced:
        return changes
    out = []
    for change in changes:
        spec = find_spec(change.type)
        types = types_of(spec) if spec is not None else ()
        causes = sorted(a for a in change.depends_on if replaced.get(a) in types)
        out.append(turn(change, causes) if causes else change)
    return out


def _replaced_with(changes: list[ResourceChange]) -> list[ResourceChange]:
    """An object whose type is replaced with what it references (spec.replaced_with: a saved model
    and the ML task it is deployed from) is replaced in the same plan as that object, created again
    after it; else the next plan would find it bound to an object that no longer exists."""
    def replaced_too(change: ResourceChange, causes: list[str]) -> ResourceChange:
        if change.action not in (Action.NOOP, Action.UPDATE):
            return change
        return replace(change, action=Action.REPLACE, reason=f"{REPLACED_WITH} {', '.join(causes)}")
    return _cascade(changes, lambda spec: spec.replaced_with, replaced_too)


def _rewritten_with(changes: list[ResourceChange]) -> list[ResourceChange]:
    """An object that names a referenced object by its DSS id (spec.rewritten_with: a dashboard's
    tiles, their insights) is updated in the plan that replaces that object, after it: its write
    then names the new object. Else DSS would keep the old id, and only the next plan would see it."""
    def rewritten(change: ResourceChange, causes: list[str]) -> ResourceChange:
        if change.action != Action.NOOP:
            return change
        field = FieldChange(NEW_IDS, before="the replaced objects' ids", after="the new objects' ids")
        return replace(change, action=Action.UPDATE, reason=f"{REWRITTEN_WITH} {', '.join(causes)}",
                       field_changes=(*change.field_changes, field))
    return _cascade(changes, lambda spec: spec.rewritten_with, rewritten)


def _with_create_notes(changes: list[ResourceChange]) -> list[ResourceChange]:
    """A create's (an update's) reason says what creating (updating) the object does beyond the
    object (spec.create_note, spec.update_note)."""
    out = []
    for change in changes:
        spec = find_spec(change.type)
        if spec is not None and spec.create_note and change.action in (Action.CREATE, Action.REPLACE):
            change = replace(change, reason=f"{change.reason}; {spec.create_note}")
        elif spec is not None and spec.update_note and change.action == Action.UPDATE:
            change = replace(change, reason=f"{change.reason}; {spec.update_note}" if change.reason else spec.update_note)
        out.append(change)
    return out


TRAIN_REASON = "apply --train: a job builds it, DSS trains a new version and makes it active"
TRAIN_PINNED = " (then the pinned active_version is activated again)"
TRAIN_FROM_SOURCE_REASON = ("{why}: the ML task trains in the lab with its settings and the model is "
                            "redeployed to the Flow as a new version")
TRAIN_FROM_SOURCE_PINNED = " (not made active: active_version is pinned)"


def _stale_training(changes: list[ResourceChange], wanted: dict[str, Resource], observed: Observation) -> dict[str, list[str]]:
    """Address -> the settings of its training source that the config declares otherwise than what
    the existing object was last trained from (spec.stale_training), for the objects the plan
    keeps or updates; read from DSS (the live object), so a lost state changes nothing."""
    out: dict[str, list[str]] = {}
    for change in changes:
        spec = find_spec(change.type)
        resource = wanted.get(change.address)
        if spec is None or spec.stale_training is None or resource is None or change.action not in (Action.NOOP, Action.UPDATE):
            continue
        live = observed.find(change.type, change.project_key, dss_id=change.dss_id) if change.dss_id else None
        settings = spec.stale_training(resource, live.attributes, wanted) if live is not None else []
        if settings:
            out[change.address] = settings
    return out


def _stale_notes(stale: dict[str, list[str]], changes: list[ResourceChange], options: PlanOptions) -> list[str]:
    """Without --train, a saved model whose ML task changed since its deployment keeps the old
    settings (unless the plan trains it anyway: a new algorithm)."""
    if options.train:
        return []
    training = {c.address for c in changes if (c.after or {}).get(TRAIN)}
    return [f"{address} was deployed with other settings of its ML task ({', '.join(settings)}): it keeps them until "
            "a retraining with apply --train, which trains the ML task with the new ones and redeploys it"
            for address, settings in sorted(stale.items()) if address not in training]


def _training(
    changes: list[ResourceChange], wanted: dict[str, Resource], options: PlanOptions, stale: dict[str, list[str]]
) -> list[ResourceChange]:
    """Each object of a trainable type (a saved model) that exists is updated with the attribute
    TRAIN, which its handler's update reads, when it is to be trained: with --train (in scope), by
    its own training (True: a new version) or, when its source changed since (`stale`), from the
    source's settings (TRAIN_FROM_SOURCE); and whatever the options when the update changes a field
    made by training from the source (spec.trains_when_changed: a saved model's algorithm). A create
    trains already; nothing else does."""
    out = []
    for change in changes:
        spec = find_spec(change.type)
        if spec is not None and spec.trainable and change.address in wanted and change.action in (Action.NOOP, Action.UPDATE):
            change = _trained(change, spec.trains_when_changed, stale.get(change.address) if options.train else None, options.train)
        out.append(change)
    return out


def _trained(change: ResourceChange, trains_when_changed: tuple[str, ...], stale: Optional[list[str]], train: bool) -> ResourceChange:
    """`change` with the training it makes (TRAIN, a field of the plan and the reason), if any."""
    pinned = (change.after or {}).get("active_version") is not None
    forced = [f.name for f in change.field_changes if f.name in trains_when_changed]
    mode: Any
    if forced or stale:
        whys = ([f"changing {', '.join(forced)} trains its ML task again"] if forced else []) + (
            [f"apply --train: its ML task's settings changed since it was deployed ({', '.join(stale)})"] if stale else [])
        why = TRAIN_FROM_SOURCE_REASON.format(why="; ".join(whys)) + (TRAIN_FROM_SOURCE_PINNED if pinned else "")
        mode, shown = TRAIN_FROM_SOURCE, "retrains with the ML task's new settings"
    elif train:
        why = TRAIN_REASON + (TRAIN_PINNED if pinned else "")
        mode, shown = True, "a new version"
    else:
        return change
    reason = why if change.action == Action.NOOP else f"{change.reason}; {why}"
    field = FieldChange(TRAIN, before=None, after=shown)
    return replace(change, action=Action.UPDATE, reason=reason, after={**(change.after or {}), TRAIN: mode},
                   field_changes=(*change.field_changes, field))


def _replacing_folder_users(changes: list[ResourceChange]) -> list[ResourceChange]:
    """DSS deletes the recipes that read or write a managed folder it deletes. A managed recipe
    using a folder the plan replaces is replaced with it (created again after the folder), else
    the apply would leave it deleted in DSS. The executor's delete of such a recipe finds it gone."""
    replaced = {c.address for c in changes if c.type == "managed_folder" and c.action == Action.REPLACE}
    if not replaced:
        return changes
    out = []
    for change in changes:
        folders = sorted(replaced & set(change.depends_on))
        if change.type == "recipe" and folders and change.action in (Action.NOOP, Action.UPDATE):
            change = replace(change, action=Action.REPLACE, reason=f"{FOLDER_USER_REPLACED} {', '.join(folders)}")
        out.append(change)
    return out


def _check_options(options: PlanOptions) -> None:
    """Options that cannot go together (the CLI says so first; a plan made by another caller too)."""
    problems = []
    if options.targets and options.excludes:
        problems.append("--target and --exclude cannot be used together (as in Terraform): name what to include, or what to leave out")
    if options.refresh_only and (options.destroy or options.replace or options.force_delete):
        problems.append("--refresh-only changes nothing in DSS: it cannot be combined with --destroy, --replace or --force-delete")
    if options.destroy and options.replace:
        problems.append("--replace is not a destroy option: a destroy deletes, it re-creates nothing")
    if options.train and (options.destroy or options.refresh_only):
        problems.append("--train retrains saved models: it cannot be combined with --destroy or --refresh-only")
    if problems:
        raise PlanError("; ".join(problems))


def _check_fingerprinted(desired: DesiredState) -> None:
    """A secret reference without its fingerprint would compare equal to any value (that is how
    an unknown recorded one is treated): a rotated secret would go unnoticed. The engine
    fingerprints the desired model under the state's key before planning; refuse if it did not."""
    for resource in desired.resources.values():
        if not _any_unfingerprinted(resource.attributes):
            continue  # the common case, found without building a path per container
        for path in _unfingerprinted(resource.attributes, ()):
            raise PlanError(f"{resource.address}: secret {'.'.join(map(str, path))} was not fingerprinted before planning")


def _any_unfingerprinted(value: Any) -> bool:
    """Whether `_unfingerprinted(value)` finds anything."""
    if type(value) is dict:
        if "secret_env" in value:
            return "fingerprint" not in value
        items: Iterable[Any] = value.values()
    elif type(value) is list:
        items = value
    else:
        return bool(_unfingerprinted(value, ()))  # any other container: the general walk
    for item in items:  # noqa: SIM110 - a loop, not a generator per node (every attribute of every resource)
        if isinstance(item, (dict, list)) and _any_unfingerprinted(item):
            return True
    return False


def _unfingerprinted(value: Any, path: tuple[Any, ...], found: Optional[list[tuple[Any, ...]]] = None) -> list[tuple[Any, ...]]:
    """The paths of the secret references without a fingerprint in `value` (project variables,
    reporters' values…). Runs over every attribute of every resource on each plan: a plain
    recursion into containers only, not a generator per node."""
    found = [] if found is None else found
    if is_secret_ref(value):
        if "fingerprint" not in value:
            found.append(path)
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, (dict, list)):
                _unfingerprinted(item, (*path, key), found)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, (dict, list)):
                _unfingerprinted(item, (*path, index), found)
    return found


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()


def _sort_key(address: str, order: dict[str, int]) -> tuple[int, str]:
    return (order.get(type_of(address), 99), address)


# -- sensitive module inputs --------------------------------------------------------------
def hide_sensitive(changes: list[ResourceChange], sensitive: frozenset[str]) -> list[ResourceChange]:
    """The changes with each attribute that holds a sensitive module input's value (on either
    side) marked sensitive, as a sensitive field is: every rendering of the plan shows
    "(sensitive value)" for it, and impact rules, which may quote values, skip it."""
    if not sensitive:
        return changes
    return [_hidden(change, sensitive) for change in changes]


def _hidden(change: ResourceChange, sensitive: frozenset[str]) -> ResourceChange:
    names = {name for attributes in (change.before, change.after) if attributes
             for name, value in attributes.items() if holds_sensitive(value, sensitive)}
    names |= {f.name for f in change.field_changes if holds_sensitive(f.before, sensitive) or holds_sensitive(f.after, sensitive)}
    if not names:
        return change
    fields = tuple(replace(f, sensitive=True) if f.name in names else f for f in change.field_changes)
    return replace(change, field_changes=fields, sensitive_fields=tuple(sorted(set(change.sensitive_fields) | names)))


# -- selection (destroy, --target, --exclude, --refresh-only) -----------------------------
def _select_desired(desired: DesiredState, state: Any, options: PlanOptions) -> dict[str, Resource]:
    if options.destroy or options.refresh_only:  # a refresh-only plan looks at what the state records
        return {}
    if options.targets:
        selected = _closure(options.targets, lambda a: desired.resources[a].depends_on if a in desired.resources else ())
        return {a: r for a, r in desired.resources.items() if a in selected}
    if options.excludes:
        left_out = excluded(desired, state, options)
        return {a: r for a, r in desired.resources.items() if a not in left_out}
    return dict(desired.resources)


def _state_addresses(state: Any, desired: DesiredState, options: PlanOptions) -> set[str]:
    owned = set(state.resources)
    if options.excludes:
        return owned - excluded(desired, state, options)
    if not options.targets:
        return owned
    if options.destroy:
        # Destroying a target destroys what depends on it too.
        return owned & _closure(options.targets, lambda a: _state_dependents(state).get(a, ()))
    if options.refresh_only:  # the targets' records, and those of what they depend on
        return owned & _closure(options.targets, lambda a: _dependencies(a, desired, state))
    selected = _closure(options.targets, lambda a: desired.resources[a].depends_on if a in desired.resources else ())
    return owned & selected


def excluded(desired: DesiredState, state: Any, options: PlanOptions) -> set[str]:
    """What `--exclude` leaves out of a plan: the named resources and everything that depends on
    them, in the configuration or in the state (Terraform 1.12's `-exclude`). A destroy also
    leaves out what they depend on: deleting it would break them (a project deletes its objects)."""
    dependents: dict[str, set[str]] = {}
    for address, resource in desired.resources.items():
        for dep in resource.depends_on:
            dependents.setdefault(dep, set()).add(address)
    for dep, users in _state_dependents(state).items():
        dependents.setdefault(dep, set()).update(users)
    left_out = _closure(options.excludes, lambda a: dependents.get(a, ()))
    if options.destroy:
        left_out = _closure(left_out, lambda a: _dependencies(a, desired, state))
    return left_out


def _state_dependents(state: Any) -> dict[str, set[str]]:
    dependents: dict[str, set[str]] = {}
    for address, entry in state.resources.items():
        for dep in entry.depends_on:
            dependents.setdefault(dep, set()).add(address)
    return dependents


def _dependencies(address: str, desired: DesiredState, state: Any) -> tuple[str, ...]:
    resource = desired.resources.get(address)
    entry = state.resources.get(address)
    return (*(resource.depends_on if resource is not None else ()), *(entry.depends_on if entry is not None else ()))


def _closure(start: Iterable[str], edges: Any) -> set[str]:
    seen: set[str] = set()
    todo = list(start)
    while todo:
        address = todo.pop()
        if address in seen:
            continue
        seen.add(address)
        todo.extend(edges(address))
    return seen


# -- --replace ------------------------------------------------------------------------
def _check_replace(options: PlanOptions, wanted: dict[str, Resource], imports: dict[str, Any]) -> None:
    """Each `--replace` names a resource this plan declares, that can be re-created on its own."""
    problems = []
    for address in options.replace:
        resource = wanted.get(address)
        if resource is None:
            why = "left out by --target/--exclude" if options.targets or options.excludes else "not in the configuration"
            problems.append(PlanProblem(address, "", f"--replace {address}: {why}: there is nothing to replace"))
        elif resource.type == "project":
            problems.append(PlanProblem(address, resource.project_key,
                f"--replace {address}: replacing a project would delete every object in it with it; replace its "
                f"objects one by one, or destroy it (`destroy --target {address}`) and apply again"))
        elif address in imports:
            problems.append(PlanProblem(address, resource.project_key,
                f"--replace {address}: it has an `import:` entry (adopted as it is); import it first, then replace it"))
    if problems:
        raise PlanError.of(problems)


def _replace_notes(changes: list[ResourceChange], options: PlanOptions) -> list[str]:
    """`--replace` of an object absent from DSS: it is created (as Terraform plans it), said."""
    named = set(options.replace)
    return [f"--replace {c.address}: it is not in DSS, so it is created (nothing to delete first)"
            for c in changes if c.address in named and c.action == Action.CREATE]


# -- --refresh-only -------------------------------------------------------------------------
def refresh_changes(
    addresses: list[str], desired: DesiredState, state: Any, observed: Observation
) -> tuple[list[ResourceChange], list[str]]:
    """A refresh-only plan (Terraform's `-refresh-only`): for each object the state records, what
    it will record instead, DSS's values (REFRESH), or its removal when DSS no longer has it
    (FORGET). The configuration plays no part but for `ignore_changes` (never recorded either).
    Returns the changes (no-ops for the objects DSS still has as recorded) and notes."""
    changes, notes = [], []
    for address in addresses:
        entry = state.resources[address]
        live = _lookup(address, None, entry, observed)
        if live is None:
            changes.append(replace(_removal(address, entry, None), reason="deleted outside dataiku-iac: the state stops recording it"))
            continue
        declared = desired.resources.get(address)
        ignored = declared.ignore_changes if declared is not None else ()
        fields, recorded = _refreshed_fields(entry, live, ignored)
        if not spec_for(entry.type).identity.name_is_identity and live.name != entry.name and not ignores_whole(ignored, NAME):
            notes.append(f"{address} is named {live.name!r} in DSS: a refresh cannot record a rename (the address is the "
                         f"name); rename it in the configuration and move its state (`dataiku-iac state mv`)")
        action, reason = (Action.REFRESH, "changed outside dataiku-iac: the state records DSS's values") if fields \
            else (Action.NOOP, "DSS matches the state")
        changes.append(ResourceChange(
            address=address, type=entry.type, project_key=entry.project_key, name=entry.name, action=action,
            reason=reason, before=dict(entry.attributes), after=recorded, field_changes=tuple(fields),
            depends_on=tuple(entry.depends_on), dss_id=entry.dss_id,
            sensitive_fields=tuple(n for n in recorded if handler_for(entry.type).policy.get(n).sensitive),
        ))
    return changes, notes


def _refreshed_fields(entry: Any, live: Observed, ignored: tuple[str, ...]) -> tuple[list[FieldChange], dict[str, Any]]:
    """The recorded attributes that DSS has otherwise (compared as drift compares them), and the
    record with DSS's values: only the keys the record holds (a subset's extra DSS keys are not
    recorded), the paths `ignore_changes` names kept as recorded."""
    policy = handler_for(entry.type).policy
    fields: list[FieldChange] = []
    record = dict(entry.attributes)
    for name, applied in sorted(entry.attributes.items()):
        if ignores_whole(ignored, name):
            continue
        current = live.attributes.get(name)
        field = policy.get(name)
        if field.compare == RECORDED:  # DSS's data (a saved model's versions): recorded as DSS has it now
            if same_json(applied, current):
                continue
        elif policy.equal(name, without_ignored(ignored, name, applied), current):
            continue
        value = with_live_ignored(ignored, name, project_observed(applied, current, field.compare), applied) \
            if ignored else project_observed(applied, current, field.compare)
        record[name] = value
        fields.append(FieldChange(name=name, before=applied, after=value, sensitive=field.sensitive))
    return fields, record


# -- per-address decision ---------------------------------------------------------
def _decide(
    address: str, resource: Optional[Resource], entry: Any, observed: Observation, imports: Optional[dict[str, Any]] = None,
    replace_requested: bool = False,
) -> ResourceChange:
    importing = resource is not None and entry is None and address in (imports or {})
    live = _lookup(address, resource, entry, observed, (imports or {}).get(address))
    if resource is None:
        return _removal(address, entry, live)
    if importing:
        return _import(resource, live, (imports or {}).get(address))
    if entry is None and live is not None:
        return _change(resource, Action.NOOP, "conflict: exists in DSS but is not managed", live, entry)
    if live is None:
        reason = "deleted outside dataiku-iac" if entry is not None else "new in the config"
        return _change(resource, Action.CREATE, reason, None, entry, effective=_effective(resource, entry))
    effective = _effective(resource, entry)
    fields = _renaming(resource, live) + diff_fields(resource, live, entry, effective)
    if any(f.forces_replacement for f in fields):
        forced = ", ".join(f.name for f in fields if f.forces_replacement)
        return _change(resource, Action.REPLACE, f"{forced} cannot be changed in place", live, entry, fields, effective)
    if replace_requested:  # as Terraform's `-replace`: delete and create, whatever the differences
        return _change(resource, Action.REPLACE, REPLACE_REQUESTED, live, entry, fields, effective)
    effective = _keeping_ignored(resource, effective, live)
    if fields:
        return _change(resource, Action.UPDATE, _update_reason(fields, entry, resource.type), live, entry, fields, effective)
    return _change(resource, Action.NOOP, "in sync", live, entry, effective=effective)


def _import(resource: Resource, live: Optional[Observed], dss_id: Optional[str]) -> ResourceChange:
    """An `import:` entry of the config, not yet done: adopt the live object (as Terraform's import
    blocks). It must exist; written to only when it differs from the config, never replaced."""
    label = spec_for(resource.type).label
    if live is None:
        which = f"with id {dss_id!r}" if dss_id else repr(resource.name)
        raise PlanError.of([PlanProblem(resource.address, resource.project_key,
            f"{resource.address}: cannot import: no {label} {which} in DSS project {resource.project_key} "
            f"(remove the `import:` entry to create it instead)")])
    if dss_id and live.name != resource.name:
        raise PlanError.of([PlanProblem(resource.address, resource.project_key,
            f"{resource.address}: cannot import: the {label} with id {dss_id!r} is named {live.name!r} in DSS")])
    fields = diff_fields(resource, live, None)
    forced = [f.name for f in fields if f.forces_replacement]
    if forced:
        raise PlanError.of([PlanProblem(resource.address, resource.project_key,
            f"{resource.address}: cannot import: the config differs from DSS on {', '.join(forced)}, which would "
            f"replace the {label} (make the config say what DSS has)")])
    effective = _keeping_ignored(resource, _effective(resource, None), live)
    action, reason = (Action.UPDATE, _update_reason(fields, None)) if fields else (Action.NOOP, "an import: entry of the config")
    return replace(_change(resource, action, reason, live, None, fields, effective), importing=True)


def _lookup(
    address: str, resource: Optional[Resource], entry: Any, observed: Observation, import_id: Optional[str] = None
) -> Optional[Observed]:
    type_ = resource.type if resource else entry.type
    project_key = resource.project_key if resource else entry.project_key
    name = resource.name if resource else entry.name
    dss_id = entry.dss_id if entry is not None else import_id
    spec = find_spec(type_)  # None: a type this version does not know (nothing observed: forgotten)
    if dss_id and spec is not None and spec.identity.found_by_id:
        return observed.find(type_, project_key, dss_id=dss_id)
    return observed.find(type_, project_key, name=name)


def _removal(address: str, entry: Any, live: Optional[Observed]) -> ResourceChange:
    base = dict(
        address=address,
        type=entry.type,
        project_key=entry.project_key,
        name=entry.name,
        dss_id=entry.dss_id,
        depends_on=tuple(entry.depends_on),
    )
    if live is None:
        return ResourceChange(action=Action.FORGET, reason="gone from DSS and config", before=None, after=None, **base)
    before = project_observed(entry.attributes, live.attributes, "subset") if entry.attributes else None
    return ResourceChange(action=Action.DELETE, reason="removed from config", before=before, after=None, **base)


def _change(
    resource: Resource,
    action: Action,
    reason: str,
    live: Optional[Observed],
    entry: Any,
    fields: Iterable[FieldChange] = (),
    effective: Optional[dict[str, Any]] = None,
) -> ResourceChange:
    effective = effective if effective is not None else dict(resource.attributes)
    policy = handler_for(resource.type).policy
    before = None
    if live is not None:
        observed = live.attributes
        before = {name: project_observed(value, observed.get(name), policy.get(name).compare) for name, value in effective.items()}
        # What the state records of DSS's data (a saved model's versions): what a replace would lose.
        before.update({f.name: observed[f.name] for f in policy.fields if f.compare == RECORDED and f.name in observed})
    dss_id = live.dss_id if live is not None else (entry.dss_id if entry is not None else None)
    return ResourceChange(
        address=resource.address,
        type=resource.type,
        project_key=resource.project_key,
        name=resource.name,
        action=action,
        reason=reason,
        before=before,
        after=effective,
        field_changes=tuple(fields),
        depends_on=resource.depends_on,
        dss_id=dss_id,
        sensitive_fields=tuple(n for n in effective if policy.get(n).sensitive),
    )


def _update_reason(fields: list[FieldChange], entry: Any, type_: str = "") -> str:
    """Why an update, per field, as the state tells it: DSS still holds what the last apply wrote
    (the configuration changed), or the configuration still says what it wrote (changed in DSS
    since), or neither; without a record (an import), that DSS differs from the configuration."""
    if entry is None or not type_:
        return "DSS differs from the config on: " + ", ".join(f.name for f in fields)
    policy = handler_for(type_).policy
    config, dss, both = [], [], []
    for f in fields:
        recorded = entry.attributes.get(f.name)
        if f.name in entry.attributes and policy.equal(f.name, recorded, f.before):
            config.append(f.name)
        elif f.name in entry.attributes and recorded == f.after:
            dss.append(f.name)
        else:
            both.append(f.name)
    parts = [f"{label}{', '.join(names)}" for label, names in (
        ("the config changed: ", config), ("changed in DSS since the last apply: ", dss),
        ("DSS differs from the config on: ", both)) if names]
    return "; ".join(parts)


def _effective(resource: Resource, entry: Any) -> dict[str, Any]:
    """Declared attributes, plus reset values for attributes the config stopped declaring."""
    effective = dict(resource.attributes)
    prior = entry.attributes if entry is not None else {}
    policy = handler_for(resource.type).policy
    for name, old in prior.items():
        field = policy.get(name)
        if name not in effective and field.reset is not UNSET:
            effective[name] = field.reset
        elif field.compare == "map" and name in effective:
            effective[name] = _with_removed_keys(effective[name], old)
    return effective


def _with_removed_keys(desired: dict[str, Any], prior: dict[str, Any]) -> dict[str, Any]:
    merged = {k: (dict(v) if isinstance(v, dict) else v) for k, v in (desired or {}).items()}
    for key, old in (prior or {}).items():
        if isinstance(old, dict) and not is_secret_ref(old):
            merged[key] = _with_removed_keys(merged.get(key) or {}, old)
        elif key not in merged:
            merged[key] = ABSENT
    return merged


def _keeping_ignored(resource: Resource, effective: dict[str, Any], live: Observed) -> dict[str, Any]:
    """What an update writes: the attributes `ignore_changes` names keep DSS's value (an update
    made for another attribute never reverts them); a create writes the declared ones."""
    ignored = resource.ignore_changes
    if not ignored:
        return effective
    kept = {}
    for name, value in effective.items():
        if not ignores_whole(ignored, name):
            kept[name] = with_live_ignored(ignored, name, value, live.attributes.get(name))
        elif name in live.attributes:
            kept[name] = live.attributes[name]
    return kept


def _renaming(resource: Resource, live: Observed) -> list[FieldChange]:
    """The name, for a type whose DSS id is not its name: found by id, the object may be named
    otherwise in DSS (the config renamed it and `state mv` followed, or someone renamed it in DSS).
    The name is then one more attribute to change, in place where the handler can rename."""
    if spec_for(resource.type).identity.name_is_identity or live.name == resource.name:
        return []
    if ignores_whole(resource.ignore_changes, NAME):
        return []
    in_place = handler_for(resource.type).renames_in_place
    return [FieldChange(name=NAME, before=live.name, after=resource.name, forces_replacement=not in_place)]


def diff_fields(
    resource: Resource, live: Observed, entry: Any, effective: Optional[dict[str, Any]] = None
) -> list[FieldChange]:
    """Per-field differences between the effective desired attributes (`effective`, when the
    caller has them already) and DSS, but at the attribute paths the resource's `ignore_changes`
    names."""
    policy = handler_for(resource.type).policy
    ignored = resource.ignore_changes
    observed = live.attributes
    changes = []
    for name, declared in (effective if effective is not None else _effective(resource, entry)).items():
        if ignored and ignores_whole(ignored, name):
            continue
        value = without_ignored(ignored, name, declared) if ignored else declared
        current = observed.get(name)
        field = policy.get(name)
        if policy.field_equal(field, value, current):
            continue
        changes.append(
            FieldChange(
                name=name,
                before=project_observed(value, current, field.compare),
                after=value,
                sensitive=field.sensitive,
                forces_replacement=field.replace,
            )
        )
    return changes


# -- config changes and reverts of drift ----------------------------------------------
def reverts_drift(change: ResourceChange, entry: Any) -> bool:
    """Whether `change` only undoes what was changed in DSS behind the tool's back: the state
    records the resource and the config asks for what was last applied to it, so the config did
    not change, DSS did. A re-create of an object deleted outside the tool is a revert too."""
    if entry is None or change.action not in (Action.CREATE, Action.UPDATE, Action.REPLACE):
        return False
    policy = handler_for(change.type).policy
    recorded = entry.attributes
    if change.action == Action.CREATE:
        after = change.after or {}
        data = {f.name for f in policy.fields if f.compare == RECORDED}  # DSS's data the state records
        if set(recorded) - set(after) - data:
            return False  # the config stopped declaring a field
        return all(name in recorded and policy.equal(name, value, recorded[name]) for name, value in after.items())
    return all(
        (f.name == NAME and entry.name == f.after) or (f.name in recorded and policy.equal(f.name, f.after, recorded[f.name]))
        for f in change.field_changes
    )


def split_reverts(plan: Plan, state: Any) -> tuple[dict[str, int], dict[str, int]]:
    """The plan's summary split in two: (changes the config makes, reverts of drift)."""
    config: list[ResourceChange] = []
    reverts: list[ResourceChange] = []
    for change in plan.actionable():
        (reverts if reverts_drift(change, state.resources.get(change.address)) else config).append(change)
    return _summary(config), _summary(reverts)


def _summary(changes: list[ResourceChange]) -> dict[str, int]:
    return {
        "add": sum(1 for c in changes if c.action in (Action.CREATE, Action.REPLACE)),
        "change": sum(1 for c in changes if c.action == Action.UPDATE),
        "destroy": sum(1 for c in changes if c.action in (Action.DELETE, Action.REPLACE)),
        "forget": sum(1 for c in changes if c.action == Action.FORGET),
    }


# -- checks -----------------------------------------------------------------------
def _check_conflicts(
    changes: list[ResourceChange], wanted: dict[str, Any], state: Any, observed: Observation, env: str
) -> None:
    # DSS may give a scenario the id another one is configured with (ids derived from names).
    owners = {(e.type, e.project_key, e.dss_id): e.address for e in state.resources.values()}
    problems: list[PlanProblem] = []
    for c in changes:
        if not c.reason.startswith("conflict:"):
            continue
        owner = owners.get((c.type, c.project_key, c.dss_id))
        if owner is not None and owner != c.address:
            text = (
                f"{c.address}: the {c.type} DSS holds as {c.dss_id!r} in project {c.project_key} is managed as {owner}. "
                f"If the config renamed it or moved it into or out of a module, add a `moved:` entry "
                f"{{from: {owner}, to: {c.address}}} to the project file, or move its state with "
                f"`{command_line('state mv', owner, c.address, environment=env)}`; "
                f"otherwise rename one of them in the config"
                + _id_note(c.type)
            )
        else:
            text = (
                f"{c.address} already exists in DSS (project {c.project_key}) but is not managed by dataiku-iac; "
                f"adopt it with `{command_line('import project', c.project_key, environment=env)}` or rename it in the config"
            )
        problems.append(PlanProblem(c.address, c.project_key, text))
    if problems:
        raise PlanError.of(problems)


def _id_note(type_: str) -> str:
    spec = spec_for(type_)
    return f" (DSS may derive a {spec.label}'s id from its name)" if spec.identity is Identity.REQUESTED_ID else ""


def _holds_data(type_: str) -> bool:
    spec = find_spec(type_)
    return spec is not None and spec.holds_data


def _check_safety(
    changes: list[ResourceChange], state: Any, observed: Observation, options: PlanOptions, home: Optional[StateHome],
    env: str,
) -> None:
    problems: list[PlanProblem] = []
    for change in changes:
        if change.action not in (Action.DELETE, Action.REPLACE):
            continue
        problems.extend(_state_home_problems(change, home, env))
        entry = state.resources.get(change.address)
        texts = []
        if entry is not None and entry.protect:
            texts.append(
                f"{change.address} is protected and would be {'replaced' if change.action == Action.REPLACE else 'deleted'}; "
                f"remove the protection first (`{command_line('state protect', '--off', change.address, environment=env)}`)"
            )
        if change.type == "project" and change.action == Action.DELETE:
            texts.extend(_unowned_in_project(change, state, observed))
        if change.type in _recipe_referenced_types() and not _forced(change, options):
            texts.extend(_unowned_recipe_users(change, state, observed))
        texts.extend(_deleted_only_with_project(change, changes, env))
        texts.extend(_data_loss_consent(change, options))
        problems.extend(PlanProblem(change.address, change.project_key, text) for text in texts)
    problems.extend(_marker_problems(changes, state, observed, options))
    if problems:
        raise UnsafeOperationError.of(problems, prefix="refusing to plan: ")


def _loses_data(change: ResourceChange) -> bool:
    spec = find_spec(change.type)
    return spec is not None and spec.data_always_deleted is not None


def _data_loss_consent(change: ResourceChange, options: PlanOptions) -> list[str]:
    """Data DSS deletes with the object whatever --drop-data says (a saved model's trained
    versions) is lost only with --drop-data given: an irreversible loss is asked for, never implied
    (a replace made by another change, a removed item)."""
    lost = data_always_lost(change)
    if not lost or options.drop_data:
        return []
    verb = "replaced" if change.action == Action.REPLACE else "deleted"
    why = f" ({change.reason.split(';')[0]})" if change.reason else ""
    return [
        f"{change.address} would be {verb}{why}, and DSS deletes {lost} with it, which cannot be undone; "
        f"if that is intended, plan again with --drop-data (it also deletes the stored data of the datasets and "
        f"folders the plan deletes), else keep it as it is"
    ]


def _deleted_only_with_project(change: ResourceChange, changes: list[ResourceChange], env: str) -> list[str]:
    """An object DSS's public API cannot delete alone (spec.deleted_with_project) is removed only
    with its project."""
    spec = find_spec(change.type)
    if spec is None or not spec.deleted_with_project:
        return []
    project = project_address_of(change.address)
    if any(c.address == project and c.action == Action.DELETE for c in changes):
        return []
    verb = "replaced" if change.action == Action.REPLACE else "deleted"
    return [
        f"{change.address} cannot be {verb}: DSS's public API has no call that deletes it (a {spec.label} goes "
        f"only with its project); keep it in the configuration, or delete it in DSS and stop managing it "
        f"(`{command_line('state rm', change.address, environment=env)}`)"
    ]


def _state_home_problems(change: ResourceChange, home: Optional[StateHome], env: str) -> list[PlanProblem]:
    """The state's own folder and its project: deleting them would delete the state and its
    history (no flag allows it; `state rm` stops managing them without touching DSS)."""
    if home is None or change.project_key != home.project_key:
        return []
    verb = "replaced" if change.action == Action.REPLACE else "deleted"
    if change.type == "project" and change.action == Action.DELETE:
        what = f"project {change.project_key} holds the state of this environment ({home.where})"
    elif change.type == "managed_folder" and change.dss_id == home.folder_id:
        what = f"{change.address} is the managed folder holding the state of this environment ({home.where})"
    else:
        return []
    text = (
        f"{what}: it is never {verb} by dataiku-iac; keep {change.address} in the configuration as it is, or stop "
        f"managing it without touching DSS (`{command_line('state rm', change.address, environment=env)}`)"
    )
    return [PlanProblem(change.address, change.project_key, text)]


def _destroy_reasons(changes: list[ResourceChange], home: Optional[StateHome], env: str) -> list[str]:
    """A destroy deletes everything the state owns (the reason says so, not "removed from
    config"), but the state's own folder and project: those are kept (no-ops) rather than the
    destroy refused; returns a note for each one kept."""
    notes = []
    for index, change in enumerate(changes):
        if change.action == Action.DELETE:
            changes[index] = change = replace(change, reason="destroy requested")
        elif change.action == Action.FORGET:
            changes[index] = change = replace(change, reason="gone from DSS")
        if change.action == Action.DELETE and home is not None and _state_home_problems(change, home, env):
            changes[index] = replace(change, action=Action.NOOP, reason="kept: holds the state of this environment")
            notes.append(f"{change.address} is kept: it holds the state of this environment ({home.where}), which "
                         f"dataiku-iac never deletes (`{command_line('state rm', change.address, environment=env)}` "
                         "stops managing it)")
    return notes


# -- project markers (a second key next to the state) --------------------------------------
def _project_address(change: ResourceChange) -> str:
    return project_address_of(change.address)


def _forced(change: ResourceChange, options: PlanOptions) -> bool:
    return options.forces_delete(change.address)


def _removes(change: ResourceChange) -> bool:
    return change.action in (Action.DELETE, Action.REPLACE)


def _marker_problems(
    changes: list[ResourceChange], state: Any, observed: Observation, options: PlanOptions
) -> list[PlanProblem]:
    """Deletes in projects not marked with this state's lineage, grouped by project."""
    unmarked: dict[str, tuple[Optional[str], str, list[str]]] = {}
    for change in changes:
        if not _removes(change) or _forced(change, options):
            continue
        project = observed.project(change.project_key)
        marker = project.marker if project is not None else None
        if marker == state.lineage:
            continue
        entry = unmarked.setdefault(change.project_key, (marker, _project_address(change), []))
        entry[2].append(change.address)
    problems = []
    for key, (marker, project_address, addresses) in sorted(unmarked.items()):
        why = (
            f"project {key} is marked as managed by another dataiku-iac state (lineage {marker}), not by this one "
            f"(lineage {state.lineage})"
            if marker
            else f"project {key} is not marked as managed by this state (its metadata has no {MARKER_KEY!r} key): "
            f"this state did not create or import it, or was written before dataiku-iac marked projects"
        )
        text = (
            f"{why}; it would delete {', '.join(addresses)}. If that is intended, name it: `--force-delete "
            f"{project_address}` (every delete in the project) or `--force-delete ADDR` for each"
        )
        problems.append(PlanProblem(project_address, key, text))
    return problems


def _check_force_delete(changes: list[ResourceChange], options: PlanOptions) -> None:
    """Each `--force-delete` must name something this plan deletes: a typo must not pass silently."""
    removed = {c.address for c in changes if _removes(c)} | {_project_address(c) for c in changes if _removes(c)}
    unused = [a for a in options.force_delete if a not in removed]
    if unused:
        raise PlanError(f"--force-delete {', '.join(unused)}: this plan deletes nothing there")


def _marker_warnings(changes: list[ResourceChange], state: Any, observed: Observation, options: PlanOptions) -> list[str]:
    warnings = []
    forced = {c.address: c for c in changes if _removes(c) and _forced(c, options)}
    if forced:
        warnings.append(
            f"--force-delete: deleted without checking that their project is marked as this state's, nor that no recipe "
            f"dataiku-iac does not manage uses them: {', '.join(sorted(forced))}"
        )
    for _, change in sorted(forced.items()):
        users = _unowned_users(change, state, observed)
        if users:
            warnings.append(f"--force-delete: {change.address} is used by recipe(s) dataiku-iac does not manage, which "
                            f"it leaves broken: {', '.join(users)}")
    markers = observed.markers()
    foreign = sorted({
        c.project_key for c in changes
        if c.action in (Action.CREATE, Action.UPDATE) and markers.get(c.project_key) not in (None, state.lineage)
    })
    for key in foreign:
        warnings.append(
            f"project {key} is marked as managed by another dataiku-iac state (lineage {markers[key]}); "
            f"this plan changes objects in it"
        )
    return warnings


def _projects_to_mark(changes: list[ResourceChange], observed: Observation) -> list[str]:
    """Existing, unmarked projects this plan writes in: the apply marks them first. Not those it
    only deletes in (forced), so marking never makes its own deletes look owned."""
    keys = set()
    for change in changes:
        if change.action not in (Action.CREATE, Action.UPDATE):
            continue
        project = observed.project(change.project_key)
        if project is not None and project.exists and project.marker is None:
            keys.add(change.project_key)
    return sorted(keys)


def _unowned_in_project(change: ResourceChange, state: Any, observed: Observation) -> list[str]:
    project = observed.project(change.project_key)
    if project is None or not project.exists:
        return []
    owned = {(e.type, e.dss_id) for e in state.resources.values() if e.project_key == change.project_key}
    strangers = [f"{o.type} {o.name}" for o in project.all_objects() if (o.type, o.dss_id) not in owned]
    if not strangers:
        return []
    listed = ", ".join(sorted(strangers)[:10]) + (" …" if len(strangers) > 10 else "")
    return [
        f"project {change.project_key} cannot be deleted: it holds {len(strangers)} object(s) "
        f"not managed by dataiku-iac ({listed}), which DSS would delete with it"
    ]


def _recipe_referenced_types() -> tuple[str, ...]:
    """The types a recipe reads or writes: those the recipe spec references that hold data
    (datasets, managed folders; not the Flow zone a recipe sits in)."""
    spec = find_spec("recipe")
    return tuple(t for t in (spec.references if spec is not None else ()) if _holds_data(t))


def _unowned_users(change: ResourceChange, state: Any, observed: Observation) -> list[str]:
    """The recipes the state does not own that read or write the object `change` removes."""
    project = observed.project(change.project_key)
    if project is None:
        return []
    owned_recipes = {e.dss_id for e in state.resources.values() if e.type == "recipe" and e.project_key == change.project_key}
    names = {change.name} | ({change.dss_id} if change.dss_id else set())
    users = []
    for recipe in project.objects.get("recipe", []):
        refs = [r for role in ("inputs", "outputs") for refs in recipe.attributes.get(role, {}).values() for r in refs]
        if names & set(refs) and recipe.dss_id not in owned_recipes:
            users.append(recipe.name)
    return sorted(users)


def _unowned_recipe_users(change: ResourceChange, state: Any, observed: Observation) -> list[str]:
    """Recipes the state does not own that read or write the object a plan deletes or replaces:
    DSS deletes the recipes using a folder it deletes, and a recipe left reading a deleted dataset
    is broken. Never break what is not ours: refused unless `--force-delete` names the object."""
    users = _unowned_users(change, state, observed)
    if not users:
        return []
    label = spec_for(change.type).label
    consequence = (
        "DSS deletes the recipes using a folder it deletes"
        if change.type == "managed_folder"
        else f"they would be left using a {label} that no longer exists"
    )
    verb = "replaced" if change.action == Action.REPLACE else "deleted"
    return [
        f"{label} {change.name} in {change.project_key} is used by recipe(s) not managed by dataiku-iac "
        f"({', '.join(sorted(users))}) and would be {verb}: {consequence}. Change or import those recipes first, "
        f"or name it: `--force-delete {change.address}`"
    ]


def _forbidden_unmanaged(desired: DesiredState, state: Any, observed: Observation, options: PlanOptions) -> list[str]:
    """Objects the state does not own in a project whose `unmanaged:` policy says `fail` for them:
    a plan never touches them (it deletes only what the state owns), but says drift will fail."""
    if options.destroy:
        return []
    owned = {(e.project_key, e.type, e.dss_id) for e in state.resources.values()}
    warnings = []
    for key, policy in sorted(desired.unmanaged.items()):
        project = observed.project(key)
        if project is None or not project.exists:
            continue
        forbidden = sorted(
            f"{o.type} {o.name}" for o in project.all_objects()
            if (key, o.type, o.dss_id) not in owned and policy.of(o.type, o.name) == "fail"
        )
        if forbidden:
            listed = ", ".join(forbidden[:10]) + (" …" if len(forbidden) > 10 else "")
            warnings.append(
                f"project {key} holds {len(forbidden)} object(s) dataiku-iac does not manage, which its `unmanaged: fail` "
                f"policy forbids ({listed}): drift fails until they are imported, deleted in DSS or matched by an "
                f"`ignore` pattern (this plan leaves them as they are)"
            )
    return warnings


def _format_warnings(changes: list[ResourceChange]) -> list[str]:
    """A managed dataset whose format changes keeps the files DSS wrote in the old format: DSS
    converts nothing, and reading them as the new format fails or reads garbage."""
    warnings = []
    for change in changes:
        if change.type != "dataset" or change.action != Action.UPDATE or (change.after or {}).get("kind") != "managed":
            continue
        for field in change.field_changes:
            if field.name == "format" and field.before:
                warnings.append(
                    f"{change.address}: the format changes from {field.before} to {field.after}, but the data DSS "
                    f"already stored for it stays in {field.before}: rebuild the dataset (or clear its data) after "
                    f"this apply, before anything reads it"
                )
    return warnings


def _warnings(changes: list[ResourceChange], options: PlanOptions) -> list[str]:
    warnings: list[str] = []
    lost = [(c, data_always_lost(c)) for c in changes]
    warnings.extend(f"{c.address}: {'replacing' if c.action == Action.REPLACE else 'deleting'} it deletes {what} "
                    "(DSS deletes them with it; this cannot be undone)" for c, what in lost if what)
    deletes = [c for c in changes if c.action in (Action.DELETE, Action.REPLACE) and _holds_data(c.type) and not _loses_data(c)]
    if deletes and not options.drop_data:
        warnings.append("objects deleted or replaced keep their stored data (use --drop-data to delete it)")
    if deletes and options.drop_data:
        warnings.append("--drop-data: the stored data of deleted datasets and folders will be DELETED")
    return warnings
