"""Check every connection and code env the desired model uses against the target DSS.

A promotion usually fails on names: prod has `fs_prod`, not `filesystem_managed`. The builder
has already applied the environment's remapping, so each resource carries the *target* name;
this module asks DSS (two list calls) whether each target exists and fits its use, before any
change is planned:

- a managed dataset needs a connection that allows managed datasets and can store them
  (file-based or SQL); an `sql_table`/`sql_query` dataset a SQL connection; a `filesystem`
  dataset a Filesystem connection; a managed folder a file-based connection allowing folders;
- a code env must exist in the language that uses it (python recipes and `code_env.python`:
  PYTHON; r: R);
- a managed dataset on a SQL connection declares no `format`/`format_params` (a table has none).

Each problem becomes a `Diagnostic` located where the name comes from: the remapping entry in
the environment file (`connections.filesystem_managed`) when the name was remapped, else the
resource in its project file, with the missing target and what DSS offers instead.

Connections are listed with the admin endpoint; a key without admin rights falls back to the
names endpoint plus `/connections/{name}/info` per connection used. Container configurations
are not checked (no public listing of them in the API the engine uses).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from dataiku_iac.config.suggest import did_you_mean
from dataiku_iac.errors import Diagnostic
from dataiku_iac.model import DesiredState, Resource
from dataiku_iac.resources.registry import spec_for, specs

# Connection types, as DSS names them (dataikuapi dss/dataset.py; S3 connections report "EC2").
SQL_TYPES = frozenset({
    "JDBC", "PostgreSQL", "MySQL", "Vertica", "Snowflake", "Redshift", "Greenplum", "Teradata", "Oracle",
    "SQLServer", "SAPHANA", "Netezza", "BigQuery", "Athena", "hiveserver2", "Synapse", "FabricWarehouse",
    "Databricks", "DatabricksLakebase", "ClickHouse", "Trino", "AlloyDB", "Denodo", "Kdbplus",
})
FILE_TYPES = frozenset({"Filesystem", "HDFS", "EC2", "S3", "Azure", "GCS", "SharePointOnline"})


@dataclass(frozen=True)
class Need:
    """What a resource needs from a connection."""

    label: str  # "a connection allowing managed datasets (file-based or SQL)"
    types: frozenset
    flag: Optional[str] = None  # a connection setting that must not be False


NEEDS = {
    "managed": Need("a connection allowing managed datasets (file-based or SQL)", FILE_TYPES | SQL_TYPES, "allowManagedDatasets"),
    "sql_table": Need("a SQL connection", SQL_TYPES),
    "sql_query": Need("a SQL connection", SQL_TYPES),
    "filesystem": Need("a Filesystem connection", frozenset({"Filesystem"})),
    "uploaded": Need("a file-based connection", FILE_TYPES),
    "managed_folder": Need("a file-based connection allowing managed folders", FILE_TYPES, "allowManagedFolders"),
}
RECIPE_LANGS = {"python": "PYTHON", "r": "R"}


@dataclass
class Inventory:
    """What the target DSS offers. `connections` maps a name to its info (type, allow* flags)."""

    connections: dict[str, dict]
    code_envs: set  # {(LANG, name)}
    code_envs_listed: bool = True
    notes: list[str] = field(default_factory=list)


@dataclass
class _Use:
    """One target name and everyone who needs it, with the same requirement."""

    kind: str  # "connection" | "code_env"
    target: str
    requirement: Any  # Need, or a language "PYTHON"/"R"
    users: list = field(default_factory=list)  # (Resource, what, the attribute that names it)
    written: set = field(default_factory=set)  # the names in the config that the environment remapped here


def read_inventory(client: Any, names: set, with_retries: Callable = lambda f: f()) -> Inventory:
    """List connections and code envs (admin endpoints first, per-connection info otherwise)."""
    notes: list[str] = []
    try:
        listed = with_retries(lambda: client.list_connections())
        connections = {name: dict(item) for name, item in listed.items()}
    except Exception:
        connections = _connections_without_admin(client, names, with_retries)
        notes.append("connections were checked through /connections/{name}/info (the API key is not an admin's)")
    try:
        envs = with_retries(lambda: client.list_code_envs())
        code_envs = {(e.get("envLang"), e.get("envName")) for e in envs}
        listed_envs = True
    except Exception as exc:
        code_envs, listed_envs = set(), False
        notes.append(f"code envs were not checked: DSS refused to list them ({str(exc)[:120]})")
    return Inventory(connections, code_envs, listed_envs, notes)


def _connections_without_admin(client: Any, names: set, with_retries: Callable) -> dict:
    existing = set(with_retries(lambda: client.list_connections_names("")))
    found = {}
    for name in sorted(names & existing):
        try:
            found[name] = dict(with_retries(lambda n=name: client.get_connection(n).get_info()))
        except Exception:
            found[name] = {"name": name}  # exists but its details are not readable: type unknown
    return found


def connection_names(desired: DesiredState) -> set:
    return {u.target for u in _uses(desired) if u.kind == "connection"}


def _uses(desired: DesiredState) -> list[_Use]:
    uses: dict[tuple, _Use] = {}

    def add(kind: str, target: Optional[str], requirement: Any, resource: Resource, what: str, attribute: str) -> None:
        if not target or target in ("inherit", "builtin"):
            return
        key = (kind, target, requirement)
        use = uses.setdefault(key, _Use(kind, target, requirement))
        use.users.append((resource, what, attribute))
        written = desired.remapped_from.get((resource.address, attribute))
        if written:
            use.written.add(written)

    for resource in sorted(desired.resources.values(), key=lambda r: r.address):
        attrs = resource.attributes
        if resource.type == "dataset" and attrs.get("kind") in NEEDS:
            add("connection", attrs.get("connection"), NEEDS[attrs["kind"]], resource, f"{attrs['kind']} dataset", "connection")
        elif resource.type == "managed_folder":
            add("connection", attrs.get("connection"), NEEDS["managed_folder"], resource, "managed folder", "connection")
        elif resource.type == "recipe" and attrs.get("kind") in RECIPE_LANGS:
            add("code_env", attrs.get("code_env"), RECIPE_LANGS[attrs["kind"]], resource, f"{attrs['kind']} recipe", "code_env")
        elif resource.type == "project":
            for lang, env in (attrs.get("code_env") or {}).items():
                add("code_env", env, lang.upper(), resource, f"project code_env.{lang}", f"code_env.{lang}")
    return list(uses.values())


def check_targets(
    desired: DesiredState, inventory: Inventory, environment: Any, *, where: str, config: Any = None
) -> list[Diagnostic]:
    """Every problem with the connections and code envs the model uses; [] when all fit.

    `environment` is the loaded EnvironmentConfig (for locating remapping entries), `where`
    names the target DSS in messages ("DSS http://… of environment 'prod'"); `config`, the
    LoadedConfig the model was built from, locates a problem at the field that causes it.
    """
    problems = _format_on_sql_problems(desired, inventory, config)
    for use in _merge_missing(_uses(desired), inventory):
        if use.kind == "connection":
            message, hint = _connection_problem(use, inventory)
        else:
            message, hint = _code_env_problem(use, inventory)
        if message:
            problems.append(_locate(use, message.replace("{where}", where), hint, environment, config))
    return problems


def _format_on_sql_problems(desired: DesiredState, inventory: Inventory, config: Any) -> list[Diagnostic]:
    """A managed dataset on a SQL connection is a table: DSS keeps no file format for it, so a
    declared `format`/`format_params` would be written into a document that ignores it (and
    compared forever). Only known at the target: the environment may remap the connection."""
    problems = []
    for resource in sorted(desired.by_type("dataset"), key=lambda r: r.address):
        attrs = resource.attributes
        declared = [f for f in ("format", "format_params") if f in attrs]
        if attrs.get("kind") != "managed" or not declared:
            continue
        ctype = (inventory.connections.get(str(attrs.get("connection"))) or {}).get("type")
        if ctype not in SQL_TYPES:
            continue
        message = (
            f"{resource.address} is a managed dataset on {ctype} connection {attrs['connection']!r}: DSS stores it "
            f"as a SQL table, which has no file format ({' and '.join(declared)} would be ignored)"
        )
        hint = "remove format and format_params, or store the dataset on a file-based connection"
        problems.append(_at_field(resource, declared, message, hint, config))
    return sorted(problems, key=lambda d: (d.file, d.line, d.column))


def _at_field(resource: Resource, fields: list[str], message: str, hint: Optional[str], config: Any) -> Diagnostic:
    """At the first of `fields` (dotted for nested ones) as written for the resource (in its
    project file, or in the environment file when an override wrote it); a field that came from
    iac.yml's `defaults.<type>` at that default; else at the resource."""
    doc = config.project(resource.config_project) if config is not None else None
    entry = _entry_path(doc, resource) if doc is not None else None
    if doc is not None and entry is not None:
        written = doc.data
        for key in entry:
            written = written[key]
        for name in fields:
            parts = _written_part(written, tuple(name.split(".")))
            if parts:
                return doc.diagnostic(entry + parts, message, hint, where="value")
        mark = config.settings_marks.get(("defaults", resource.type, fields[0]))
        if mark is not None:
            return Diagnostic("iac.yml", mark.line, mark.column, f"defaults.{resource.type}.{fields[0]}", message, hint)
    source = resource.source
    return Diagnostic(source.file, source.line, source.column, resource.address, message, hint)


def _entry_path(doc: Any, resource: Resource) -> Optional[tuple]:
    """Where the resource's own entry sits in its project file: the project section, or its
    item in its type's list."""
    spec = spec_for(resource.type)
    if not spec.section:
        return None
    if resource.type == "project":
        return (spec.section,) if isinstance(doc.data.get(spec.section), dict) else None
    items = doc.data.get(spec.section) or []
    index = next(
        (i for i, item in enumerate(items) if isinstance(item, dict) and item.get(spec.id_key) == resource.name), None
    )
    return None if index is None else (spec.section, index)


def _written_part(node: Any, parts: tuple) -> tuple:
    """The longest leading part of `parts` written in `node` (`code_env: py39` writes
    `code_env.python` in one string)."""
    found: tuple = ()
    for key in parts:
        if not isinstance(node, dict) or key not in node:
            break
        node, found = node[key], found + (key,)
    return found


def _merge_missing(uses: list[_Use], inventory: Inventory) -> list[_Use]:
    """One problem per missing connection, whatever the uses: a missing name is one mistake."""
    merged: list[_Use] = []
    missing: dict[str, _Use] = {}
    for use in uses:
        if use.kind == "connection" and use.target not in inventory.connections:
            if use.target in missing:
                missing[use.target].users.extend(use.users)
                missing[use.target].written |= use.written
                continue
            missing[use.target] = use
        merged.append(use)
    return merged


def _connection_problem(use: _Use, inventory: Inventory) -> tuple:
    need: Need = use.requirement
    info = inventory.connections.get(use.target)
    users = _users(use)
    if info is None:
        fitting = sorted(n for n, i in inventory.connections.items() if _fits(i, need))
        hint = did_you_mean(use.target, fitting) or (
            f"connections there that fit: {', '.join(fitting)}" if fitting else "no connection there fits"
        )
        return f"connection {use.target!r} does not exist on {{where}}; needed by {users}", hint
    ctype = info.get("type")
    if ctype is not None and ctype not in need.types:
        return f"connection {use.target!r} is a {ctype} connection, but {users} needs {need.label}", None
    if need.flag and info.get(need.flag) is False:
        return f"connection {use.target!r} does not allow {_flag_text(need.flag)} ({need.flag} is off); needed by {users}", None
    return None, None


def _fits(info: dict, need: Need) -> bool:
    return info.get("type") in need.types and not (need.flag and info.get(need.flag) is False)


def _flag_text(flag: str) -> str:
    return {"allowManagedDatasets": "managed datasets", "allowManagedFolders": "managed folders"}.get(flag, flag)


def _code_env_problem(use: _Use, inventory: Inventory) -> tuple:
    if not inventory.code_envs_listed:
        return None, None
    lang = use.requirement
    if (lang, use.target) in inventory.code_envs:
        return None, None
    other = [lg for lg, name in inventory.code_envs if name == use.target]
    if other:
        return f"code env {use.target!r} is a {other[0]} env on {{where}}, but {_users(use)} needs a {lang} env", None
    same_lang = sorted(name for lg, name in inventory.code_envs if lg == lang)
    hint = did_you_mean(use.target, same_lang) or (
        f"{lang} code envs there: {', '.join(same_lang)}" if same_lang else f"there is no {lang} code env there"
    )
    return f"{lang} code env {use.target!r} does not exist on {{where}}; needed by {_users(use)}", hint


def _users(use: _Use) -> str:
    shown = [f"{r.address} ({what})" for r, what, _ in use.users[:5]]
    more = len(use.users) - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


def _locate(use: _Use, message: str, hint: Optional[str], environment: Any, config: Any) -> Diagnostic:
    """At the remapping entry of the environment file if the name was remapped, else at the line
    of the first resource that names it (its project file), saying once that no remapping applies."""
    section = "connections" if use.kind == "connection" else "code_envs"
    mapping = (environment.data.get(section) or {}) if environment is not None else {}
    keys = sorted(k for k in use.written if mapping.get(k) == use.target)
    if environment is not None and keys:
        return environment.diagnostic((section, keys[0]), message, hint, where="value")
    resource, _, attribute = use.users[0]
    env_file = environment.file if environment is not None else "the environment file"
    note = f"{section}: {use.target!r} is not remapped in {env_file}"
    return _at_field(resource, [attribute], f"{message} ({note})", hint, config)


def check_type_targets(client: Any, desired: DesiredState, *, where: str, config: Any = None) -> list[Diagnostic]:
    """What each type's `check_target` finds missing on the target DSS (an API deployment's
    infrastructure), at the field that names it; types without the check, or without resources in
    the model, make no request."""
    problems = []
    for spec in specs():
        if spec.check_target is None:
            continue
        resources = sorted((r for r in desired.resources.values() if r.type == spec.type), key=lambda r: r.address)
        if resources:
            for found in spec.check_target(client, resources):
                message = found.message.replace("{where}", where)
                problems.append(_at_field(found.resource, [found.field], message, found.hint, config))
    return problems
