"""`import project KEY`: adopt a live DSS project as YAML plus state.

The YAML is written from the logical attributes the handlers read, minus what DSS
fills in by itself (server-computed paths, default format options, default step and
trigger settings), so the file reads like something a person wrote. Code goes to
`recipes/` and `sql/` files. Then the objects are adopted into state (origin
"imported": owned from now on), and a plan confirms the import is exact: `No changes.`

Objects the config format cannot express yet (visual recipes, plugin datasets,
scenarios with script steps) are left out, reported, and stay unmanaged. Variables whose
names look secret are written as `{secret_env: NAME}` references, never as values.

Adopting marks the project as managed by this state (its metadata marker, see
resources/project.py); a project marked by another state is refused. The managed folder that
holds this very state (managed_folder backend) is adopted as protected (`protect: true` in the
YAML and the state): with the planner's own rule, it is never deleted or replaced.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Optional

import yaml

from dataiku_iac.address import Address, AddressError, address_of, flat_address
from dataiku_iac.builder import build_desired
from dataiku_iac.config import load_config
from dataiku_iac.config.edit import append_item
from dataiku_iac.config.files import FileEdits
from dataiku_iac.config.yamlsafe import resolve_plain
from dataiku_iac.dssclient import with_retries
from dataiku_iac.engine.executor import with_recorded
from dataiku_iac.engine.observe import observe
from dataiku_iac.errors import IacError, remember_secret
from dataiku_iac.model import Resource, StateHome
from dataiku_iac.planner.observed import ProjectObservation
from dataiku_iac.planner.plan import PlanOptions
from dataiku_iac.planner.planner import plan as compute_plan
from dataiku_iac.resources.base import Observed
from dataiku_iac.resources.project import MARKER_KEY, ProjectHandler
from dataiku_iac.resources.registry import child_specs, find_spec, project_spec, spec_for
from dataiku_iac.resources.spec import ToConfig
from dataiku_iac.secrets import KnownValuesFirst, secret_ref_paths
from dataiku_iac.state import ResourceState


@dataclass
class ImportResult:
    project_key: str
    config_key: str
    files: list[str] = field(default_factory=list)
    adopted: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    # What the configuration cannot express, by object, with the reason: `unmanaged` the objects
    # left out whole (they stay unmanaged), `left_out` the settings an imported item does not say
    # (DSS keeps them as they are). Each: {address, type, name, reason}.
    unmanaged: list[dict] = field(default_factory=list)
    left_out: list[dict] = field(default_factory=list)
    secrets: list[str] = field(default_factory=list)
    protected: list[str] = field(default_factory=list)  # adopted as protected, and why
    plan_summary: dict = field(default_factory=dict)



def adopted_entry(resource: Resource, observed: Observed) -> ResourceState:
    """The state entry of an object adopted as it is in DSS: the configuration's attributes (and,
    as an apply records them, the type's recorded ones as DSS has them: a saved model's
    versions), DSS's id and version."""
    return ResourceState(
        address=resource.address,
        type=resource.type,
        project_key=resource.project_key,
        name=resource.name,
        dss_id=observed.dss_id,
        attributes=with_recorded(resource.type, dict(resource.attributes), observed, None),
        version_tag=observed.version_tag,
        depends_on=list(resource.depends_on),
        protect=resource.protect,
        origin="imported",
    )

def import_project(session: Any, project_key: str, output: Optional[Path] = None) -> ImportResult:
    root = Path(output) if output is not None else session.root
    env = session.settings.environment.data if session.settings.environment else {}
    config_key = _config_key(project_key, env.get("project_key") or {})
    reader = session.state_reader()
    home = reader.home()
    observation, _contexts = observe(session.connection(), [project_key], parallelism=session.parallelism)
    live = observation.project(project_key)
    if live is None or not live.exists or live.project is None:
        raise IacError(f"project {project_key} does not exist in DSS (or this API key cannot read it)")
    _refuse_foreign_marker(live, reader.read())  # before any file is written
    result = ImportResult(project_key=project_key, config_key=config_key)
    writer = _Writer(root, env, result, home if home is not None and home.project_key == project_key else None)
    document = writer.project_document(config_key, live)
    writer.write(f"projects/{config_key.lower()}.yml", _dump(document))
    secret_values = writer.secret_values
    _adopt(session, root, live, result, secret_values)
    return result


def unmanaged_suggestion(result: ImportResult) -> str:
    """What to add to the project file to leave the objects import could not express unmanaged on
    purpose (drift then stops reporting them): the per-project `unmanaged:` policy, an `ignore`
    pattern per object, by section (docs/config-reference.md, "unmanaged")."""
    sections: dict[str, list[str]] = {}
    for u in result.unmanaged:
        sections.setdefault(spec_for(u["type"]).section, []).append(u["name"])
    if not sections:
        return ""
    text = yaml.dump({"unmanaged": {"ignore": sections}}, Dumper=_ReadableDumper, sort_keys=False, default_flow_style=None, width=100)
    return (f"To leave them unmanaged on purpose (drift then ignores them), add to projects/{result.config_key.lower()}.yml:\n"
            + "".join(f"  {line}\n" for line in text.splitlines()))


def _spec_item(to_config: ToConfig, writer: _Writer, name: str, attrs: dict) -> Optional[dict]:
    return to_config(name, attrs, writer)


def _config_key(project_key: str, rules: dict) -> str:
    prefix, suffix = rules.get("prefix") or "", rules.get("suffix") or ""
    key = project_key
    if prefix and key.startswith(prefix):
        key = key[len(prefix) :]
    if suffix and key.endswith(suffix):
        key = key[: -len(suffix)]
    return key


class _Writer:
    """Builds the YAML document and the code files of one project."""

    def __init__(self, root: Path, env: dict, result: ImportResult, home: Optional[StateHome] = None):
        self.root = root
        self.result = result
        self.home = home  # the state's own folder, if it is in this project
        self.secret_values: dict[str, str] = {}
        self.config_key = ""
        self._reasons: list[str] = []
        self.defer = False  # one object's import: files are kept in `pending` until the lock is held
        self.pending: dict[str, str] = {}
        self.connections = {v: k for k, v in (env.get("connections") or {}).items()}
        self.code_envs = {v: k for k, v in (env.get("code_envs") or {}).items()}
        self.containers = {v: k for k, v in (env.get("containers") or {}).items()}
        self.items: dict[tuple[str, str], dict] = {}  # (type, name) -> the item written for it
        self.live: Optional[ProjectObservation] = None  # the project imported whole, as DSS has it

    def declared(self, type_: str, name: str) -> Optional[dict]:
        return self.items.get((type_, name))

    def exists(self, type_: str, name: str) -> bool:
        if self.live is None:  # one object's import: the plan checked after it says the rest
            return True
        return any(o.name == name for o in self.live.objects.get(type_, []))

    @property
    def key(self) -> str:
        return self.config_key

    def config_connection(self, name: Optional[str]) -> Optional[str]:
        return self.connections.get(name, name) if name is not None else None

    def config_code_env(self, name: str) -> str:
        return self.code_envs.get(name, name)

    def config_container(self, name: str) -> str:
        return self.containers.get(name, name)

    def not_expressed(self, reason: str) -> None:
        self._reasons.append(reason)

    def secret(self, env_name: str, value: str, what: str) -> dict[str, Any]:
        self.secret_values[env_name] = value
        remember_secret(value)  # never in a message (errors.remember_secret)
        self.result.secrets.append(f"{what} -> ${env_name}")
        return {"secret_env": env_name}

    def _convert(self, convert: Any, type_: str, name: str, attrs: dict) -> Optional[dict]:
        """One object's item, and what it cannot say recorded in the result by object."""
        self._reasons = []
        item = convert(name, attrs)
        where = {"address": address_of(type_, self.config_key, name), "type": type_, "name": name}
        if item is None:
            self.result.skipped.append(f"{type_} {name}")
            reasons = self._reasons or ["the configuration has no way to write it yet"]
            self.result.unmanaged.append({**where, "reason": "; ".join(reasons)})
        else:
            self.result.left_out.extend({**where, "reason": reason} for reason in self._reasons)
        return item

    def write(self, rel: str, text: str) -> None:
        path = self.root / rel
        if path.exists() or rel in self.pending:
            raise IacError(f"{path} already exists; import into an empty location or remove it first")
        if self.defer:
            self.pending[rel] = text  # written with the project file, under the state lock
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        self.result.files.append(rel)

    def project_document(self, config_key: str, live: ProjectObservation) -> dict:
        assert live.project is not None  # import_project checked it
        self.config_key, self.live = config_key, live
        project = project_spec()
        assert project.to_config is not None
        doc: dict[str, Any] = {project.section: project.to_config(config_key, live.project.attributes, self)}
        # Every type, in registration order, each item written by its spec's `to_config`.
        for spec in child_specs():
            key, type_ = spec.section, spec.type
            convert = _converter(spec, self)
            items = []
            for obj in sorted(live.objects.get(type_, []), key=lambda o: o.name):
                item = self._convert(convert, type_, obj.name, obj.attributes)
                if item is None:
                    continue
                if self.home is not None and type_ == "managed_folder" and obj.dss_id == self.home.folder_id:
                    item["protect"] = True  # it holds this very state: never deleted, whatever the YAML says
                    self.result.protected.append(f"managed folder {obj.name}: it holds the state ({self.home.where})")
                items.append(item)
                self.items[(type_, obj.name)] = item
            if items:
                doc[key] = items
        return doc



class _ReadableDumper(yaml.SafeDumper):
    """Writes multi-line strings (descriptions, step scripts) as `|` blocks, which read and diff
    like the text itself; PyYAML's default folds them into quoted scalars with blank lines."""


_OTHER_BREAKS = frozenset("\r\x85\u2028\u2029")


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    # The emitter still falls back to a quoted scalar where a block cannot hold the text exactly
    # (trailing spaces on a line, control characters), so the round trip stays lossless.
    # Other YAML line breaks (\r, NEL, LS, PS) are normalized by a block and even by PyYAML's
    # single-quoted style: only an escaped double-quoted scalar keeps them.
    # PyYAML writes plain what its YAML 1.1 rules read as text, but the config reader uses the
    # YAML 1.2 core schema, where `0E0`, `1e3` or `0o17` are numbers: quote those.
    if _OTHER_BREAKS.intersection(value):
        style: Optional[str] = '"'
    elif "\n" in value:
        style = "|"
    else:
        style = None if isinstance(resolve_plain(value), str) else "'"
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_ReadableDumper.add_representer(str, _represent_str)


def _dump(document: dict) -> str:
    header = "# Imported by dataiku-iac. Review, commit, and manage this project from here on.\n"
    body = yaml.dump(
        document,
        Dumper=_ReadableDumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=100,
    )
    return header + body


def _adopt(
    session: Any, root: Path, live: ProjectObservation, result: ImportResult, secrets: dict[str, str]
) -> None:
    """Record the imported objects in state, then check the plan is empty for them."""
    cfg = load_config(root, session.environment)
    # The live values of imported secret variables first, then the session's own secret source.
    unkeyed = build_desired(cfg, KnownValuesFirst(secrets, session.secrets))
    writer = session.state_writer()
    lock = writer.lock(f"import project {live.project_key}")
    try:
        state = writer.read()
        desired = session.keyed(unkeyed, state)  # the state records fingerprints under its key
        resources = [r for r in desired.resources.values() if r.project_key == live.project_key]
        clash = [r.address for r in resources if state.get(r.address) is not None]
        if clash:
            raise IacError(f"already in the state: {', '.join(clash)}")
        _mark_adopted(session, live, state)
        updated = state.copy()
        for resource in resources:
            observed = (
                live.project if resource.type == "project" else live.find(resource.type, name=resource.name)
            )
            if observed is None:
                continue
            updated.put(adopted_entry(resource, observed))
            result.adopted.append(resource.address)
        state = writer.write(
            updated, expected_serial=state.serial, operation=f"import project {live.project_key}"
        )
    finally:
        writer.unlock(lock.id)
    targets = tuple(result.adopted)
    observation, _ = observe(
        session.connection(),
        [live.project_key],
        parallelism=session.parallelism,
        secret_paths=_secret_paths(resources),
        fingerprint=session.fingerprinter(state),
    )
    check = compute_plan(desired, state, observation, PlanOptions(targets=targets))
    result.plan_summary = check.summary()


def _refuse_foreign_marker(live: ProjectObservation, state: Any) -> None:
    """A project marked by another state is refused: two states deleting in one project would
    fight over it. (A state never written yet has no lineage of its own: any marker is foreign.)"""
    if live.marker is not None and (live.marker != state.lineage or state.serial == 0):
        raise IacError(
            f"project {live.project_key} is marked as managed by another dataiku-iac state (lineage {live.marker}, "
            f"the {MARKER_KEY!r} key of its metadata): import it into that state, or, if that state is gone for good, "
            f"remove the key from the project's metadata in DSS first"
        )


def _mark_adopted(session: Any, live: ProjectObservation, state: Any) -> None:
    """Mark the project as this state's before the state records it."""
    _refuse_foreign_marker(live, state)
    if live.marker is None:
        client = session.connection().client
        with_retries(lambda: ProjectHandler().mark(client(), live.project_key, state.lineage))


def _secret_paths(resources: list) -> dict:
    """Where the imported resources hold secret references, for the check's observation to mask."""
    paths: dict[str, dict] = {}
    for resource in resources:
        for path, ref in secret_ref_paths(resource.attributes):
            paths.setdefault(resource.project_key, {})[(resource.type, resource.name, None, path)] = ref["secret_env"]
    return paths


# -- one object: `import ADDRESS [ID]` ------------------------------------------------------------
@dataclass
class ObjectImport:
    address: str
    file: str  # the project file the item was added to
    section: str
    dss_id: str
    files: list[str] = field(default_factory=list)  # code files written
    left_out: list[dict] = field(default_factory=list)
    plan_summary: dict = field(default_factory=dict)


def import_object(session: Any, text: str, dss_id: Optional[str] = None) -> ObjectImport:
    """Adopt one live object into a project the configuration already declares: its item appended
    to the project file's section (the file's comments and layout kept), its record in the state."""
    address = _importable_address(text)
    spec = find_spec(address.type)
    assert spec is not None  # parsed
    cfg = session.config
    document = next((p for p in cfg.projects if p.key == address.project), None)
    if document is None:
        raise IacError(f"no project file declares project {address.project}: {address} must be in a project the "
                       f"configuration manages (to adopt a whole project: dataiku-iac import project KEY)")
    if document.file.endswith(".py"):
        raise IacError(f"project {address.project} is written in Python ({document.file}): the import cannot add an item "
                       f"to it; add the object there yourself, then `import: [{{to: {address}}}]` adopts it on apply "
                       f"(docs/python-dsl.md)")
    desired = session.desired
    project = desired.resources.get(address_of("project", address.project))
    dss_key = project.project_key if project is not None else address.project
    reader = session.state_reader()
    if reader.read().get(str(address)) is not None:
        raise IacError(f"{address} is already in the state: `dataiku-iac state show {address}` shows it")
    declared = _declared_as(desired, address)
    if declared is not None:
        id_part = "" if not spec.identity.duplicates_possible else ", id: ID"
        in_module = declared.address != str(address)
        where = f"{declared.source.file}, as {declared.address}" if in_module else document.file
        target = document.file if in_module else "that file"
        raise IacError(f"{address} is already in the configuration ({where}); to adopt the live object "
                       f"it describes, add `import: [{{to: {declared.address}{id_part}}}]` to {target} and apply")
    if address.module:
        raise IacError(f"{address}: no call of module {address.module} declares it, and import writes an object into "
                       f"the project file, never into a module: import {flat_address(str(address))}, or declare it in "
                       f"the module and add an `import:` entry to {document.file}")
    live = _live_project(session, dss_key)
    observed = _find_live(live, spec, address, dss_id)
    _refuse_foreign_marker(live, reader.read())

    result = ObjectImport(address=str(address), file=document.file, section=spec.section, dss_id=observed.dss_id)
    writer = _Writer(session.root, cfg.environment.data if cfg.environment else {}, ImportResult(dss_key, address.project))
    writer.config_key, writer.defer = address.project, True
    item = writer._convert(_converter(spec, writer), spec.type, observed.name, observed.attributes)
    if item is None:
        (why,) = [u["reason"] for u in writer.result.unmanaged]
        raise IacError(f"{address} cannot be written in the configuration: {why}")
    original = (session.root / document.file).read_text(encoding="utf-8")
    edits = {**writer.pending, document.file: append_item(original, spec.section, item, _dump_value)}
    result.files, result.left_out = writer.result.files, writer.result.left_out
    result.plan_summary = _adopt_one(session, str(address), live, observed, FileEdits(session.root, edits))
    return result


def _declared_as(desired: Any, address: Address) -> Optional[Resource]:
    """The configuration's resource for the DSS object `address` names, whatever its module
    prefix (`dataset.KEY.x` is the object a module call declares as `module.M.dataset.KEY.x`)."""
    exact = desired.resources.get(str(address))
    if exact is not None:
        return exact
    flat = flat_address(str(address))
    return next((r for r in desired.resources.values() if r.type == address.type and flat_address(r.address) == flat), None)


def _importable_address(text: str) -> Address:
    try:
        address = Address.parse(text)
    except AddressError as exc:
        raise IacError(f"{exc} (or `import project KEY` for a whole project)") from None
    spec = find_spec(address.type)
    if spec is None or not spec.named:
        raise IacError(f"{text}: to adopt a whole project, run `dataiku-iac import project KEY` (KEY as DSS knows it)")
    return address


def _converter(spec: Any, writer: _Writer) -> Any:
    """(name, attributes) -> the item the spec's `to_config` writes; None for every object of a type
    the configuration cannot declare (it has no `to_config`: its objects stay unmanaged)."""
    if spec.to_config is None:
        return lambda _name, _attrs: None
    return partial(_spec_item, spec.to_config, writer)


def _live_project(session: Any, dss_key: str) -> ProjectObservation:
    observation, _ = observe(session.connection(), [dss_key], parallelism=session.parallelism)
    live = observation.project(dss_key)
    if live is None or not live.exists:
        raise IacError(f"project {dss_key} does not exist in DSS (or this API key cannot read it)")
    return live


def _find_live(live: ProjectObservation, spec: Any, address: Address, dss_id: Optional[str]) -> Any:
    """The live object the address names: by its DSS id for types DSS gives ids to (required)."""
    if spec.identity.duplicates_possible and not dss_id:
        raise IacError(f"{address}: a {spec.label} is found by the id DSS gave it; run "
                       f"`dataiku-iac import {address} ID` with its DSS id")
    if dss_id:
        observed = live.find(spec.type, dss_id=dss_id)
        if observed is None:
            raise IacError(f"{spec.label} with id {dss_id!r} not found in project {live.project_key} (DSS answered no such object)")
        if observed.name != address.name:
            raise IacError(f"{spec.label} {dss_id!r} of project {live.project_key} is named {observed.name!r} in DSS, "
                           f"not {address.name!r}: import it as {address_of(spec.type, address.project, observed.name)}")
        return observed
    observed = live.find(spec.type, name=address.name)
    if observed is None:
        raise IacError(f"{spec.label} {address.name!r} not found in project {live.project_key} (DSS answered no such object)")
    return observed


def _dump_value(value: Any) -> str:
    return yaml.dump(value, Dumper=_ReadableDumper, sort_keys=False, allow_unicode=True, default_flow_style=False, width=100)


def _adopt_one(session: Any, address: str, live: ProjectObservation, observed: Any, edits: FileEdits) -> dict:
    """Write the files, record the object in the state as built from them (undoing the files if that
    fails), then check its plan is empty."""
    writer = session.state_writer()
    lock = writer.lock(f"import {address}")
    try:
        edits.write()
        try:
            state = _adopt_written(session, writer, address, live, observed)
        except BaseException:
            edits.undo()
            raise
    finally:
        writer.unlock(lock.id)
    desired = session.keyed(build_desired(load_config(session.root, session.environment), session.secrets), state)
    observation, _ = observe(
        session.connection(), [live.project_key], parallelism=session.parallelism, fingerprint=session.fingerprinter(state)
    )
    return compute_plan(desired, state, observation, PlanOptions(targets=(address,))).summary()


def _adopt_written(session: Any, writer: Any, address: str, live: ProjectObservation, observed: Any) -> Any:
    """The state with the object recorded as the written files build it (the lock is held)."""
    unkeyed = build_desired(load_config(session.root, session.environment), session.secrets)
    state = writer.read()
    resource = session.keyed(unkeyed, state).resources[address]
    _mark_adopted(session, live, state)
    updated = state.copy()
    updated.put(adopted_entry(resource, observed))
    return writer.write(updated, expected_serial=state.serial, operation=f"import {address}")
