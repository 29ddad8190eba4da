"""From loaded configuration documents to the desired model.

The loader has already validated shapes (JSON Schema), substituted variables and applied
overrides. This step canonicalises each YAML item into logical attributes (shortcuts
expanded, defaults from iac.yml filled in, connection / code-env / container names
remapped for the environment, project keys prefixed or suffixed), infers dependencies,
and checks what a schema cannot: references to unknown objects, Flow cycles, recipes
writing the same output, scenarios calling each other in a loop, schedules and dates, the
length of effective project keys. Every problem found is reported, each located in its file.

`check_config` runs the loader and this builder in one pass, so that one run reports every
problem of a configuration: the builder also checks documents the loader found wrong,
skipping the nodes it flagged (and never reporting a follow-on error under them), and does
not call a reference unknown when the object it may name could not be read.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any, Callable, Iterable, Optional, TypeVar, Union

from dataiku_iac.address import Address, address_of, expected
from dataiku_iac.compliance.rules import config_diagnostics, rule_problems
from dataiku_iac.config import LoadedConfig, load_config
from dataiku_iac.config.cache import ConfigCache
from dataiku_iac.config.checks import check_drift_globs
from dataiku_iac.config.documents import blame_override
from dataiku_iac.config.suggest import did_you_mean
from dataiku_iac.errors import ConfigError, Diagnostic
from dataiku_iac.graphs import find_cycle, loop_text
from dataiku_iac.model import UNMANAGED_POLICIES, DesiredState, Resource, SourceRef, UnmanagedPolicy
from dataiku_iac.resources import flow_zone
from dataiku_iac.resources.policy import IGNORE_ALL, ignore_path_problem
from dataiku_iac.resources.recipe import roles_of
from dataiku_iac.resources.registry import child_specs, find_spec, project_spec, spec_for
from dataiku_iac.resources.spec import BuiltItem, ResourceSpec
from dataiku_iac.secrets import SecretsLike, secret_source

T = TypeVar("T")
# DSS documents no maximum length for a project key; 64 is the limit the config schema puts
# on a key as written, and the one kept for the effective key (prefix + key + suffix), so that
# an environment's prefix cannot make a key that the written-key rule would have refused.
# (docs/config-reference.md, "project_key": the real DSS limit is unknown, this is conservative.)
MAX_PROJECT_KEY_LENGTH = 64
# What building an item of a document the loader found wrong may raise: skipped, already reported.
_SHAPE_ERRORS = (KeyError, TypeError, AttributeError, ValueError, IndexError)

@dataclass
class _Env:
    """The environment settings the builder applies."""

    name: str = ""
    prefix: str = ""
    suffix: str = ""
    connections: dict[str, str] = field(default_factory=dict)
    code_envs: dict[str, str] = field(default_factory=dict)
    containers: dict[str, str] = field(default_factory=dict)

    def key(self, config_key: str) -> str:
        return f"{self.prefix}{config_key}{self.suffix}"


class _Builder:
    def __init__(self, cfg: Any, secrets: SecretsLike = None, *, tolerant: bool = False, secret_values: bool = True):
        self.cfg = cfg
        self.secrets = secret_source(secrets)
        # secret_values=False: a secret whose value is not set is no error of the configuration (its
        # reference is checked, not its value); it is listed in `desired.unresolved_secrets`.
        self.secret_values = secret_values
        # tolerant: the loader found errors; build what can be built, skip what cannot.
        self.tolerant = tolerant
        env_data = _mapping(cfg.environment.data) if cfg.environment is not None else {}
        key_rules = _mapping(env_data.get("project_key"))
        self.env = _Env(
            name=cfg.environment.name if cfg.environment is not None else "",
            prefix=_text(key_rules.get("prefix")),
            suffix=_text(key_rules.get("suffix")),
            connections=_names_map(env_data.get("connections")),
            code_envs=_names_map(env_data.get("code_envs")),
            containers=_names_map(env_data.get("containers")),
        )
        self.defaults = _mapping(_mapping(cfg.settings).get("defaults"))
        self.diagnostics: list[Diagnostic] = []
        self.origins: dict[Diagnostic, tuple[Any, tuple]] = {}  # diagnostic -> (document, path)
        self.desired = DesiredState(environment=self.env.name, config_digest=cfg.digest)
        self.config_keys = {doc.key for doc in cfg.projects if doc.key is not None}
        # type -> (config key, name) -> what that object starts when it runs: (callee, doc, path, what)
        # (BuildContext.calls: a scenario's run_scenario steps), checked for loops across projects
        self.calls: dict[str, dict[tuple[str, str], list[_Call]]] = {}

    # -- entry point ---------------------------------------------------------------
    def build(self) -> DesiredState:
        self.check()
        if self.diagnostics:
            raise ConfigError(self.diagnostics)
        return self.desired

    def check(self) -> list[Diagnostic]:
        """Build everything that can be built; every problem found (the desired state is
        complete only when there is none)."""
        built: set[str] = set()
        for doc in self.cfg.projects:
            if doc.key in built:
                continue  # a second file with the same key: reported by the loader
            built.add(doc.key)
            self._guard(partial(self._project_file, doc))
        self.desired.sensitive_values = frozenset(
            value for doc in self.cfg.projects for value in getattr(doc, "sensitive_values", ()))
        if not self._check_calls():
            self._check_cycles()
        return self.diagnostics

    def _guard(self, build: Callable[[], T]) -> Optional[T]:
        """Run one item's build; with loader errors around, an item of an unexpected shape is
        skipped (the loader reported it). Without, a failure is a bug and propagates."""
        if not self.tolerant:
            return build()
        try:
            return build()
        except _SHAPE_ERRORS:
            return None

    def _error(self, doc: Any, path: tuple, message: str, hint: Optional[str] = None) -> None:
        if doc.is_flagged(path):
            return  # the node (or its parent) is already reported: no follow-on error
        diagnostic = doc.diagnostic(path, message, hint)
        self.diagnostics.append(diagnostic)
        self.origins[diagnostic] = (doc, tuple(path))

    def _source(self, doc: Any, path: tuple) -> SourceRef:
        line, column = doc.locate(path)
        return SourceRef(doc.file_of(path) if doc.module_items else doc.file, line, column, doc.file, tuple(path),
                         _overridden_keys(doc, tuple(path)))

    # -- one project file ------------------------------------------------------------
    def _project_file(self, doc: Any) -> None:
        data = doc.data
        key = doc.key
        if key is None:
            return  # no usable project key (reported by the loader): nothing can be addressed
        names, complete = {}, {}
        for spec in child_specs():
            names[spec.type], complete[spec.type] = _identities(data.get(spec.section), spec.id_key)
        ctx = _FileContext(doc=doc, key=key, effective=self.env.key(key), names=names, complete=complete,
                           modules=_module_instances(doc))
        self._check_key_length(ctx)
        if "unmanaged" in data and not doc.is_flagged(("unmanaged",)):
            policy = self._guard(partial(_unmanaged_policy, data["unmanaged"]))
            if policy is not None:
                self.desired.unmanaged[ctx.effective] = policy
        project = project_spec()
        if not doc.is_flagged((project.section,)):
            self._add(self._guard(partial(self._from_spec, ctx, project, (project.section,), data[project.section])))
        # Every other type, in registration (dependency) order.
        for spec in child_specs():
            self._spec_section(ctx, spec, self._items(doc, spec.section))
        self._zones_of_recipe_groups(ctx)
        self._guard(partial(self._imports, ctx))
        self._guard(partial(self._moved, ctx))

    def _imports(self, ctx: _FileContext) -> None:
        """The file's `import:` entries (as Terraform's import blocks): each names an item of this
        file, which the next apply adopts instead of creating (docs/config-reference.md)."""
        for i, entry in enumerate(ctx.doc.data.get("import") or []):
            if ctx.doc.is_flagged(("import", i)):
                continue
            address = Address.find(entry["to"])
            spec = find_spec(address.type) if address is not None else None
            if address is None or spec is None or not spec.named:
                self._error(ctx.doc, ("import", i, "to"), f"{entry['to']!r} is not the address of an object: {expected()}")
            elif address.project != ctx.key:
                self._error(ctx.doc, ("import", i, "to"), f"{address} is not in this file's project {ctx.key}",
                            f"an import entry goes in the file of the project it adopts into: {address.project}")
            elif address.name not in ctx.names.get(address.type, set()):
                self._error(ctx.doc, ("import", i, "to"), f"{address}: this file declares no {spec.label} {address.name!r}",
                            f"an import adopts an item the config declares: add it under {spec.section} "
                            f"(or run `dataiku-iac import {address}`, which writes it)")
            elif ctx.address(address.type, address.name) != str(address):
                self._error(ctx.doc, ("import", i, "to"), f"{address}: the {spec.label} {address.name!r} is declared at "
                            f"{ctx.address(address.type, address.name)}", "write its address as the plan shows it")
            elif spec.identity.duplicates_possible and not entry.get("id"):
                self._error(ctx.doc, ("import", i), f"importing {address} needs the {spec.label}'s DSS id",
                            "add `id:` with the id DSS gave it (in its URL)")
            else:
                self.desired.imports[str(address)] = entry.get("id")

    def _moved(self, ctx: _FileContext) -> None:
        """The file's `moved:` entries (as Terraform's moved blocks): an object of the state moves
        to another address of the same DSS object, into or out of a module (docs/modules.md).
        The session applies them to the state before planning (engine/session.py)."""
        seen: dict[str, int] = {}
        declared = set(self.desired.resources)
        for i, entry in enumerate(ctx.doc.data.get("moved") or []):
            if ctx.doc.is_flagged(("moved", i)):
                continue
            problem = self._moved_problem(ctx, entry, declared)
            if problem is not None:
                key, message, hint = problem
                self._error(ctx.doc, ("moved", i, key), message, hint)
            elif entry["from"] in seen:
                line, _ = ctx.doc.locate(("moved", seen[entry["from"]]))
                self._error(ctx.doc, ("moved", i, "from"), f"{entry['from']} is moved twice (first at line {line})")
            else:
                seen[entry["from"]] = i
                self.desired.moves.append((str(Address.parse(entry["from"])), str(Address.parse(entry["to"]))))

    def _moved_problem(self, ctx: _FileContext, entry: dict, declared: set[str]) -> Optional[tuple[str, str, Optional[str]]]:
        """(key, message, hint) of what is wrong with one `moved:` entry, or None."""
        source, target = Address.find(entry["from"]), Address.find(entry["to"])
        for key, address in (("from", source), ("to", target)):
            if address is None or not find_spec(address.type) or not spec_for(address.type).named:
                return key, f"{entry[key]!r} is not the address of an object: {expected()}", None
            if address.project != ctx.key:
                return key, f"{address} is not in this file's project {ctx.key}", "a moved entry goes in the file of its project"
        assert source is not None and target is not None
        if source.type != target.type:
            return "to", f"cannot move a {source.type} to a {target.type} address", None
        if str(source) == str(target):
            return "to", f"{source} is moved to itself", None
        if spec_for(source.type).identity.name_is_identity and source.name != target.name:
            return "to", (f"a {source.type}'s name is its identity in DSS: {source} and {target} are two objects"), \
                ("a moved entry keeps the DSS object; with a module, choose the call's name_prefix so that the "
                 "DSS name stays the same")
        if str(source) in declared:
            return "from", f"{source} is still declared: a moved entry's `from` must be gone from the configuration", None
        if str(target) not in declared:
            return "to", f"{target}: the configuration declares no such object", did_you_mean(str(target), declared)
        return None

    def _spec_section(self, ctx: _FileContext, spec: ResourceSpec, items: list[tuple[int, dict]]) -> None:
        """The items of one type's section, each translated by its spec, then the spec's checks across them."""
        built = []
        for i, item in items:
            resource = self._guard(partial(self._from_spec, ctx, spec, (spec.section, i), item))
            self._add(resource)
            if resource is not None:
                built.append(BuiltItem(i, item, resource.attributes))
        if spec.check_items is not None and built:
            self._guard(partial(spec.check_items, built, _SectionContext(self, ctx, spec.section)))

    def _from_spec(self, ctx: _FileContext, spec: ResourceSpec, path: tuple, item: dict) -> Optional[Resource]:
        """One item (the project's mapping, or an item of a section), translated by its spec's `build`."""
        assert spec.build is not None, f"resource type {spec.type} has no build"
        name = item[spec.id_key]
        origin = ctx.doc.module_origin(path) if ctx.modules else None
        if origin is not None and origin.local:
            _localise(_ProbeContext(self, ctx, spec, path, name), spec, item, origin.local)
        item_ctx = _ItemContext(self, ctx, spec, path, name)
        attrs = spec.build(item, item_ctx)
        if attrs is None:
            return None
        return self._resource(ctx, spec.type, name, path, attrs, item_ctx.deps, protect=item.get("protect"),
                              secrets=item_ctx.secrets)

    @staticmethod
    def _items(doc: Any, list_key: str) -> list[tuple[int, dict]]:
        """(index, item) of a list of the document; every item when the document is valid,
        only the mappings the loader did not flag when it is not."""
        items = doc.data.get(list_key)
        if not isinstance(items, list):
            return []
        return [(i, item) for i, item in enumerate(items)
                if isinstance(item, dict) and not doc.is_flagged((list_key, i))]

    def _add(self, resource: Optional[Resource]) -> None:
        if resource is not None:
            self.desired.add(resource)

    def _check_key_length(self, ctx: _FileContext) -> None:
        """The environment's prefix/suffix must not push a key past what the schema allows a
        written key: reported at the prefix (or suffix) in the environment file."""
        if len(ctx.key) > MAX_PROJECT_KEY_LENGTH or len(ctx.effective) <= MAX_PROJECT_KEY_LENGTH:
            return  # a written key too long is the schema's error; a short one is fine
        environment = self.cfg.environment
        where = ("project_key", "prefix" if self.env.prefix else "suffix")
        line, _ = ctx.doc.locate(("project", "key"))
        message = (f"the effective key of project {ctx.key} ({ctx.doc.file}:{line}) would be {ctx.effective!r}: "
                   f"{len(ctx.effective)} characters, more than the {MAX_PROJECT_KEY_LENGTH} a project key may have")
        hint = "shorten the prefix or suffix, or the project key"
        if environment is not None:
            self.diagnostics.append(environment.diagnostic(where, message, hint, where="value"))

    def _resource(self, ctx: _FileContext, type_: str, name: str, path: tuple, attrs: dict, deps=(), protect=False, secrets=None) -> Resource:
        project_address = address_of("project", ctx.key)
        address = ctx.address(type_, name)
        depends = tuple(sorted({project_address, *deps} - {address}))
        if type_ == "project":
            depends = ()
        return Resource(
            address=address,
            type=type_,
            config_project=ctx.key,
            project_key=ctx.effective,
            name=ctx.effective if type_ == "project" else name,
            attributes=attrs,
            depends_on=depends,
            protect=bool(protect),
            source=self._source(ctx.doc, path),
            secrets=secrets or {},
            ignore_changes=self._ignore_changes(ctx.doc, type_, path),
        )

    def _ignore_changes(self, doc: Any, type_: str, path: tuple) -> tuple[str, ...]:
        """The item's `ignore_changes` (every type: the schema gives each item the key), each path
        checked against the type's field policy: an unknown attribute is an error at its line."""
        item: Any = doc.data
        for step in path:
            item = item[step]
        written = item.get("ignore_changes") if isinstance(item, dict) else None
        if written is None:
            return ()
        if written == IGNORE_ALL:
            return (IGNORE_ALL,)
        policy = spec_for(type_).policy
        paths = []
        for i, entry in enumerate(written if isinstance(written, list) else []):
            problem = ignore_path_problem(policy, entry, spec_for(type_).label) if isinstance(entry, str) else None
            if problem is not None:
                message, hint = problem
                self._error(doc, (*path, "ignore_changes", i), f"ignore_changes: {message}", hint)
            elif isinstance(entry, str):
                paths.append(entry)
        return tuple(dict.fromkeys(paths))

    def _zones_of_recipe_groups(self, ctx: _FileContext) -> None:
        """DSS keeps a recipe and its outputs in one flow zone (resources/flow_zone.py: moving one
        moves the others): the zones they declare must agree, or each apply would undo the other's
        move; the members of a group that declare none are in the group's zone (so that a member
        never falls back to the default zone alone). (Across three sections, datasets, folders and
        recipes, after each was built: no spec's `check_items` sees them all.)"""
        key = flow_zone.MEMBER_KEY
        items = self._items(ctx.doc, "recipes")
        writes = {s.section: s for s in child_specs() if s.type in flow_zone.MEMBER_TYPES and s.type != "recipe"}
        members = {item.get("name"): (section, index, item) for section in writes for index, item in self._items(ctx.doc, section)}
        for index, recipe in items:
            outputs = [members[ref] for refs in roles_of(recipe.get("outputs")).values() for ref in refs if ref in members]
            group = [("recipes", index, recipe), *outputs]
            declared = [(section, i, item) for section, i, item in group if isinstance(item.get(key), str)]
            if not declared:
                continue
            first = declared[0][2]
            differing = [(section, i, item) for section, i, item in declared if item[key] != first[key]]
            for section, i, item in differing:
                message = (f"{item.get('name')!r} declares zone {item[key]!r} and {first.get('name')!r} zone {first[key]!r}: "
                           f"DSS keeps recipe {recipe.get('name')!r} and its outputs in one flow zone")
                self._error(ctx.doc, (section, i, key), message, f"declare the zone on recipe {recipe.get('name')!r} alone")
            if not differing:
                sections = {**{s: spec.type for s, spec in writes.items()}, "recipes": "recipe"}
                self._inherit_zone(ctx, [(sections[section], item) for section, _i, item in group if key not in item], first[key])

    def _inherit_zone(self, ctx: _FileContext, members: list[tuple[str, dict]], zone: str) -> None:
        if zone not in ctx.names.get(flow_zone.TYPE, set()):
            return  # an unknown zone: reported where it is declared
        zone_address = ctx.address(flow_zone.TYPE, zone)
        for type_, item in members:
            resource = self.desired.get(ctx.address(type_, str(item.get("name"))))
            if resource is not None:
                self.desired.add(replace(resource, attributes={**resource.attributes, flow_zone.MEMBER_KEY: zone},
                                         depends_on=tuple(sorted({*resource.depends_on, zone_address}))))

    def _code_env(self, value: str) -> str:
        return value if value in ("inherit", "builtin") else self.env.code_envs.get(value, value)

    def _container(self, value: str) -> str:
        return value if value in ("inherit", "none") else self.env.containers.get(value, value)

    def _connection(self, value: Optional[str]) -> Optional[str]:
        return None if value is None else self.env.connections.get(value, value)

    def _note_remap(self, address: str, attribute: str, before: Any, after: Any) -> None:
        if before != after and isinstance(before, str):
            self.desired.remapped_from[(address, attribute)] = before

    def _require(self, ctx: _FileContext, type_: str, name: str, path: tuple, what: str, deps: set) -> None:
        if name in ctx.names[type_]:
            deps.add(ctx.address(type_, name))
        elif ctx.complete[type_]:  # else it may name an object the loader could not read
            label = spec_for(type_).label
            self._error(ctx.doc, path, f"{what} names an unknown {label} {name!r} in project {ctx.key}",
                        did_you_mean(name, ctx.names[type_]))

    def _each(self, ctx: _FileContext, path: tuple, entries: Any, build: Callable[[tuple, dict], Any]) -> list[Any]:
        """Build each entry of a list (triggers, steps), skipping those the loader flagged."""
        built = []
        for i, entry in enumerate(entries or []):
            if ctx.doc.is_flagged(path + (i,)):
                continue
            result = self._guard(partial(build, path + (i,), entry))
            if result is not None:
                built.append(result)
        return built

    def _secret(self, ctx: _FileContext, path: tuple, env_name: str, what: str) -> tuple[bool, Optional[str]]:
        """(keep the reference, its value) of a `{secret_env: NAME}` at `path`."""
        if ctx.doc.is_flagged(path):
            return False, None  # a name the schema refused (not IAC_SECRET_*): never read it
        value = self.secrets.get(env_name)
        if value is not None:
            return True, value
        where = path + ("secret_env",)
        message = f"{what} reads {self.secrets.missing(env_name)}"
        if self.secret_values:
            self._error(ctx.doc, where, message)
            return False, None
        self.desired.unresolved_secrets.append(ctx.doc.diagnostic(where, message))
        return True, None

    # -- cycles between resources --------------------------------------------------------------
    def _check_calls(self) -> bool:
        """An object that starts itself, or objects of the configuration that start each other in
        a loop (also across projects: BuildContext.calls): reported at the call that closes the
        loop. True if found."""
        found = False
        for type_, calls in self.calls.items():
            edges = {caller: {c.callee for c in made} for caller, made in calls.items()}
            cycle = find_cycle(edges)
            if cycle is None:
                continue
            found = True
            label = spec_for(type_).label
            following = cycle[1] if len(cycle) > 1 else cycle[0]
            call = next(c for c in calls[cycle[0]] if c.callee == following)
            if len(cycle) == 1:
                message = f"{label} {cycle[0][1]!r} runs itself (a {call.what} names its own {label})"
            else:
                loop = loop_text([address_of(type_, key, name) for key, name in cycle])
                message = f"{label}s run each other in a loop: {loop}"
            self._error(call.doc, call.path, message, f"a {label} may not start itself, directly or through other {label}s")
        return found

    def _check_cycles(self) -> None:
        edges = {a: set(r.depends_on) for a, r in self.desired.resources.items()}
        cycle = find_cycle(edges)
        if cycle:
            resource = self.desired.resources[cycle[0]]
            self.diagnostics.append(
                Diagnostic(
                    file=resource.source.file,
                    line=resource.source.line,
                    column=resource.source.column,
                    path="",
                    message="dependency cycle: " + loop_text(cycle),
                )
            )


@dataclass
class _FileContext:
    doc: Any
    key: str
    effective: str
    names: dict[str, set[str]]
    # whether `names` holds every object of that type (False when an item has no usable name)
    complete: dict[str, bool] = field(default_factory=dict)
    # (type, name) -> the module instance that declares it, for the objects module calls brought
    modules: dict[tuple[str, str], str] = field(default_factory=dict)

    def address(self, type_: str, name: str) -> str:
        """The address of the object `name` of this file's project (with its module prefix)."""
        return address_of(type_, self.key, name, self.modules.get((type_, name), ""))


@dataclass(frozen=True)
class _Call:
    """One object starting another of its type when it runs (BuildContext.calls)."""

    callee: tuple[str, str]  # (config key, name)
    doc: Any
    path: tuple
    what: str


class _SectionContext:
    """What a spec's `check_items` sees of the builder (resources/spec.py: CheckContext)."""

    def __init__(self, builder: _Builder, ctx: _FileContext, section: str):
        self._builder, self._ctx, self._section = builder, ctx, section
        self.key, self.effective_key = ctx.key, ctx.effective

    def error(self, path: tuple, message: str, hint: Optional[str] = None) -> None:
        self._builder._error(self._ctx.doc, (self._section, *path), message, hint)


class _ItemContext:
    """What a spec's `build` sees of the builder (resources/spec.py: BuildContext), for one item."""

    def __init__(self, builder: _Builder, ctx: _FileContext, spec: ResourceSpec, path: tuple, name: str):
        self._builder, self._ctx, self._spec, self._path, self._name = builder, ctx, spec, path, name
        self._address = ctx.address(spec.type, name)
        self.key, self.effective_key = ctx.key, ctx.effective
        self.deps: set[str] = set()
        self.secrets: dict[str, str] = {}  # the attribute path of a secret reference -> its value

    def defaults(self, type_: str) -> dict:
        return _mapping(self._builder.defaults.get(type_))

    def setting(self, name: str) -> Any:
        return self._builder.defaults.get(name)

    def did_you_mean(self, word: str, candidates: Iterable[str]) -> Optional[str]:
        return did_you_mean(word, candidates)

    def declared(self, type_: str, name: str) -> Optional[dict]:
        resource = self._builder.desired.get(self._ctx.address(type_, name))
        return resource.attributes if resource is not None else None

    def remap_connection(self, attribute: str, written: Optional[str]) -> Optional[str]:
        remapped = self._builder._connection(written)
        self._builder._note_remap(self._address, attribute, written, remapped)
        return remapped

    def remap_code_env(self, attribute: str, written: str) -> str:
        remapped = self._builder._code_env(written)
        self._builder._note_remap(self._address, attribute, written, remapped)
        return remapped

    def remap_container(self, attribute: str, written: str) -> str:
        remapped = self._builder._container(written)
        self._builder._note_remap(self._address, attribute, written, remapped)
        return remapped

    def file_text(self, rel: str) -> str:
        return str(self._ctx.doc.files[rel])

    def error(self, path: tuple, message: str, hint: Optional[str] = None) -> None:
        self._builder._error(self._ctx.doc, self._path + tuple(path), message, hint)

    def rejected(self, path: tuple) -> bool:
        return bool(self._ctx.doc.is_flagged(self._path + tuple(path)))

    def each(self, path: tuple, entries: Any, build: Callable[[tuple, dict], Any]) -> list[Any]:
        prefix = len(self._path)
        return self._builder._each(self._ctx, self._path + tuple(path), entries, lambda p, e: build(p[prefix:], e))

    def require(self, type_: str, name: str, path: tuple, what: str) -> None:
        self._builder._require(self._ctx, type_, name, self._path + tuple(path), what, self.deps)

    def require_any(self, types: tuple[str, ...], name: str, path: tuple, message: str) -> None:
        names = self._ctx.names
        found = next((t for t in types if name in names[t]), None)
        if found is not None:
            self.deps.add(self._ctx.address(found, name))
        elif all(self._ctx.complete[t] for t in types):  # else it may name an object the loader could not read
            hint = did_you_mean(name, set().union(*(names[t] for t in types)))
            self.error(path, message, hint)

    def declares_project(self, key: str) -> bool:
        return key in self._builder.config_keys

    def project_key(self, written: str) -> str:
        return self._builder.env.key(written) if self.declares_project(written) else written

    def calls(self, name: str, path: tuple, what: str, project: Optional[str] = None) -> None:
        target = project if project is not None else self.key
        if not isinstance(self._name, str) or not self.declares_project(target):
            return  # a project of another team: its objects are not the configuration's
        made = self._builder.calls.setdefault(self._spec.type, {}).setdefault((self.key, self._name), [])
        made.append(_Call((target, name), self._ctx.doc, self._path + tuple(path), what))

    def secret(self, path: tuple, env_name: str, attribute: str, what: str) -> Optional[dict]:
        keep, value = self._builder._secret(self._ctx, self._path + tuple(path), env_name, what)
        if value is not None:
            # The reference stays; its fingerprint needs the state's key, so it is added once
            # the state is read (secrets.py: fingerprint_desired).
            self.secrets[attribute] = value
        return {"secret_env": env_name} if keep else None


class _ProbeContext(_ItemContext):
    """A dry run of an item's build that only records the names its references use (and where),
    so that a module's item can name the instance's own objects by their names in the module
    (`_localise`). Nothing is reported, nothing recorded in the desired model."""

    def __init__(self, builder: _Builder, ctx: _FileContext, spec: ResourceSpec, path: tuple, name: str):
        super().__init__(builder, ctx, spec, path, name)
        self.references: list[tuple[tuple, tuple[str, ...], str]] = []  # (path in the item, types, name)

    def error(self, path: tuple, message: str, hint: Optional[str] = None) -> None:
        return None

    def require(self, type_: str, name: str, path: tuple, what: str) -> None:
        self.references.append((tuple(path), (type_,), name))

    def require_any(self, types: tuple[str, ...], name: str, path: tuple, message: str) -> None:
        self.references.append((tuple(path), tuple(types), name))

    def calls(self, name: str, path: tuple, what: str, project: Optional[str] = None) -> None:
        return None

    def secret(self, path: tuple, env_name: str, attribute: str, what: str) -> Optional[dict]:
        return {"secret_env": env_name}

    def remap_connection(self, attribute: str, written: Optional[str]) -> Optional[str]:
        return self._builder._connection(written)

    def remap_code_env(self, attribute: str, written: str) -> str:
        return self._builder._code_env(written)

    def remap_container(self, attribute: str, written: str) -> str:
        return self._builder._container(written)


def _localise(probe: _ProbeContext, spec: ResourceSpec, item: dict, local: dict[str, dict[str, str]]) -> None:
    """Rewrite, in a module's item, the references to the instance's own objects (written with
    their names in the module: `inputs: [raw]`) to their DSS names (`orders_raw`). Which values
    are references is what the type's own `build` says, through `require` (no list of reference
    fields kept here). A name the instance does not declare stays: it names an object of the
    project outside the module (an input such as `${inputs.source}` usually)."""
    try:
        assert spec.build is not None
        spec.build(item, probe)
    except Exception:
        return
    for path, types, name in probe.references:
        target = next((local[t][name] for t in types if name in local.get(t, {})), None)
        if target is None or not path:
            continue
        parent: Any = item
        for step in path[:-1]:
            parent = parent[step] if isinstance(parent, (dict, list)) else None
        last = path[-1]
        if (isinstance(parent, dict) and parent.get(last) == name) or (isinstance(parent, list) and isinstance(last, int) and 0 <= last < len(parent) and parent[last] == name):
            parent[last] = target


def _module_instances(doc: Any) -> dict[tuple[str, str], str]:
    """(type, name) -> module instance of the objects the document's module calls brought."""
    found: dict[tuple[str, str], str] = {}
    if not getattr(doc, "module_items", None):
        return found
    sections = {spec.section: spec for spec in child_specs()}
    for (section, index), origin in doc.module_items.items():
        spec = sections.get(section)
        items = doc.data.get(section)
        if spec is None or not isinstance(items, list) or index >= len(items) or not isinstance(items[index], dict):
            continue
        name = items[index].get(spec.id_key)
        if isinstance(name, str):
            found[(spec.type, name)] = origin.instance
    return found


def build_desired(cfg: Any, secrets: SecretsLike = None) -> DesiredState:
    """Build the desired model from a LoadedConfig; raises ConfigError with every problem.

    `secrets` resolves `{secret_env: NAME}` values (a `SecretSource`, or a mapping read as
    environment variables; None: the process environment, as on the CLI)."""
    return _Builder(cfg, secrets).build()


def check_config(root: Union[str, Path], environment: str, secrets: SecretsLike = None, *,
                 secret_values: bool = True, cache: Optional[ConfigCache] = None,
                 compliance: bool = True) -> tuple[LoadedConfig, DesiredState]:
    """Load and build in one pass: every offline problem of the configuration, at once.

    The loader's errors (syntax, schema, duplicates, files) and the builder's (references,
    cycles, schedules, key lengths) are raised together in one ConfigError, sorted by file and
    line, with the warnings found on the way. `secret_values=False` checks secret references
    but not that their values are set (validate, drift): the missing ones are listed in the
    desired model's `unresolved_secrets` instead. `cache`: see config/cache.py.
    `compliance`: the compliance rules' violations by the configuration are among the problems
    (severity error) and the warnings (severity warning); `report compliance` reports them itself.
    """
    cfg = load_config(root, environment, strict=False, cache=cache)
    source = secret_source(secrets)
    builder = _Builder(cfg, source, tolerant=bool(cfg.errors), secret_values=secret_values)
    found = builder.check()
    if found:
        found = _blame_overrides(root, environment, source, cfg, builder, found)
    ruled = config_diagnostics(cfg, builder.desired) if compliance else rule_problems(cfg)
    # against a complete model only (a configuration with errors may lack the resources a glob names)
    globs = [] if cfg.errors or found else check_drift_globs(cfg, builder.desired.resources)
    cfg.warnings = _sorted([*cfg.warnings, *(d for d in ruled if d.severity == "warning"), *globs])
    problems = [*cfg.errors, *found, *(d for d in ruled if d.severity != "warning")]
    if problems:
        raise ConfigError(_sorted(problems), warnings=cfg.warnings)
    return cfg, builder.desired


def _blame_overrides(root: Union[str, Path], environment: str, secrets: SecretsLike, cfg: LoadedConfig,
                     builder: _Builder, found: list[Diagnostic]) -> list[Diagnostic]:
    """A problem located in a project file that the configuration does not have without the
    environment's overrides is reported at the override that brought it in (the environment file).
    Only computed when such a problem exists: it builds the configuration once more."""
    suspects = [d for d in found if d in builder.origins and builder.origins[d][0].overridden
                and d.file == builder.origins[d][0].file]
    if not suspects or cfg.environment is None:
        return found
    plain = load_config(root, environment, strict=False, overrides=False)
    before = {(d.file, d.path, d.message) for d in _Builder(plain, secrets, tolerant=True).check()}
    blamed = []
    for diagnostic in found:
        if diagnostic in suspects and (diagnostic.file, diagnostic.path, diagnostic.message) not in before:
            doc, path = builder.origins[diagnostic]
            diagnostic = blame_override(doc, cfg.environment, path, diagnostic.message, diagnostic.hint)
        blamed.append(diagnostic)
    return blamed


def _sorted(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    unique = list(dict.fromkeys(diagnostics))
    return sorted(unique, key=lambda d: (d.file, d.line, d.column, d.path, d.message))


# -- helpers ------------------------------------------------------------------------------------
def _unmanaged_policy(written: Any) -> UnmanagedPolicy:
    """A project file's `unmanaged:` (valid against the schema): `ignore`, or {policy, ignore:
    {datasets: [globs]}, ...}; sections become the types whose items they hold."""
    if isinstance(written, str):
        return UnmanagedPolicy(default=written)
    by_section = {spec.section: spec.type for spec in child_specs()}
    patterns = tuple(
        (policy, by_section[section], glob)
        for policy in UNMANAGED_POLICIES
        for section, globs in (written.get(policy) or {}).items()
        for glob in globs
    )
    return UnmanagedPolicy(default=written.get("policy", "report"), patterns=patterns)


def _mapping(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _names_map(value: Any) -> dict[str, str]:
    """An environment's remapping section (connections, code_envs, containers): str -> str only."""
    return {k: v for k, v in _mapping(value).items() if isinstance(k, str) and isinstance(v, str)}


def _identities(items: Any, id_key: str) -> tuple[set[str], bool]:
    """The names of a list's items, and whether every item has one (else a reference to an
    unknown name may be a reference to the unnamed item: not reported)."""
    if items is None:
        return set(), True
    if not isinstance(items, list):
        return set(), False
    names = {item.get(id_key) for item in items if isinstance(item, dict)}
    complete = all(isinstance(item, dict) and isinstance(item.get(id_key), str) for item in items)
    return {n for n in names if isinstance(n, str)}, complete


def _overridden_keys(doc: Any, path: tuple) -> tuple:
    """(key, file, line) of each key of the item at `path` that an environment override wrote (its
    mark is in another file): only for the items overrides target, so marks are read only there."""
    if not any(tuple(target) == path for target, _ in getattr(doc, "overridden", ()) or ()):
        return ()
    item: Any = doc.data
    for step in path:
        item = item[step] if isinstance(item, (dict, list)) else None
    out = []
    for key in item if isinstance(item, dict) else ():
        mark = doc.marks.get((*path, key))
        if mark is not None and mark.file != doc.file:
            out.append((str(key), mark.file, mark.key_line or mark.line))
    return tuple(out)
