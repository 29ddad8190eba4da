"""From loaded configuration documents to the desired model.

The loader has already validated shapes (JSON Schema), substituted variables and applied
overrides. This step canonicalises each YAML item into logical attributes (shortcuts
expanded, defaults from iac.yml filled in, connection / code-env / container names
remapped for the environment, project keys prefixed or suffixed), infers dependencies,
and checks what a schema cannot: references to unknown objects, Flow cycles, recipes
writing the same output, scenarios calling each other in a loop. Every problem found is
reported, each located in its file.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from typing import Any, Optional

from dataiku_iac.errors import ConfigError, Diagnostic
from dataiku_iac.model import DesiredState, Resource, SourceRef, address_of
from dataiku_iac.resources.project import expand_role
from dataiku_iac.secret_sources import SecretsLike, secret_source

FINGERPRINT_KEY = b"dataiku-iac/secret-fingerprint/v1"
DEFAULT_CONNECTIONS = {"dataset": "filesystem_managed", "managed_folder": "filesystem_folders"}


def fingerprint(value: str) -> str:
    """A non-reversible marker of a secret value, for change detection only."""
    digest = hmac.new(FINGERPRINT_KEY, value.encode("utf-8"), hashlib.sha256).hexdigest()
    return "hmac-sha256:" + digest[:32]


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
    def __init__(self, cfg: Any, secrets: SecretsLike = None):
        self.cfg = cfg
        self.secrets = secret_source(secrets)
        env_data = cfg.environment.data if cfg.environment is not None else {}
        key_rules = env_data.get("project_key") or {}
        self.env = _Env(
            name=cfg.environment.name if cfg.environment is not None else "",
            prefix=key_rules.get("prefix") or "",
            suffix=key_rules.get("suffix") or "",
            connections=dict(env_data.get("connections") or {}),
            code_envs=dict(env_data.get("code_envs") or {}),
            containers=dict(env_data.get("containers") or {}),
        )
        self.defaults = (cfg.settings or {}).get("defaults") or {}
        self.diagnostics: list[Diagnostic] = []
        self.desired = DesiredState(environment=self.env.name, config_digest=cfg.digest)
        self.config_keys = {doc.data["project"]["key"] for doc in cfg.projects}

    # -- entry point ---------------------------------------------------------------
    def build(self) -> DesiredState:
        for doc in self.cfg.projects:
            self._project_file(doc)
        self._check_cycles()
        if self.diagnostics:
            raise ConfigError(self.diagnostics)
        return self.desired

    def _error(self, doc: Any, path: tuple, message: str, hint: Optional[str] = None) -> None:
        self.diagnostics.append(doc.diagnostic(path, message, hint))

    def _source(self, doc: Any, path: tuple) -> SourceRef:
        line, column = doc.locate(path)
        return SourceRef(doc.file, line, column)

    # -- one project file ------------------------------------------------------------
    def _project_file(self, doc: Any) -> None:
        data = doc.data
        key = data["project"]["key"]
        names = {
            "dataset": {d["name"] for d in data.get("datasets") or []},
            "managed_folder": {f["name"] for f in data.get("managed_folders") or []},
            "scenario": {s["id"] for s in data.get("scenarios") or []},
        }
        ctx = _FileContext(doc=doc, key=key, effective=self.env.key(key), names=names)
        self._add(self._project(ctx, data["project"]))
        for i, item in enumerate(data.get("managed_folders") or []):
            self._add(self._folder(ctx, i, item))
        for i, item in enumerate(data.get("datasets") or []):
            self._add(self._dataset(ctx, i, item))
        self._recipes(ctx, data.get("recipes") or [])
        for i, item in enumerate(data.get("scenarios") or []):
            self._add(self._scenario(ctx, i, item))

    def _add(self, resource: Optional[Resource]) -> None:
        if resource is not None:
            self.desired.add(resource)

    def _resource(self, ctx: _FileContext, type_: str, name: str, path: tuple, attrs: dict, deps=(), protect=False, secrets=None) -> Resource:
        project_address = address_of("project", ctx.key)
        depends = tuple(sorted({project_address, *deps} - {address_of(type_, ctx.key, name)}))
        if type_ == "project":
            depends = ()
        return Resource(
            address=address_of(type_, ctx.key, name),
            type=type_,
            config_project=ctx.key,
            project_key=ctx.effective,
            name=ctx.effective if type_ == "project" else name,
            attributes=attrs,
            depends_on=depends,
            protect=bool(protect),
            source=self._source(ctx.doc, path),
            secrets=secrets or {},
        )

    # -- project -----------------------------------------------------------------------
    def _project(self, ctx: _FileContext, item: dict) -> Resource:
        attrs: dict[str, Any] = {"name": item["name"]}
        _copy(item, attrs, "description", "short_description", "owner")
        if "tags" in item:
            attrs["tags"] = list(item["tags"])
        if "permissions" in item:
            attrs["permissions"] = [self._permission(row) for row in item["permissions"]]
        secrets: dict[str, str] = {}
        if "variables" in item:
            attrs["variables"] = self._variables(ctx, item["variables"], secrets)
        if "code_env" in item:
            value = item["code_env"]
            value = {"python": value} if isinstance(value, str) else dict(value)
            attrs["code_env"] = {lang: self._code_env(v) for lang, v in value.items()}
            for lang, v in value.items():
                self._note_remap(address_of("project", ctx.key), f"code_env.{lang}", v, attrs["code_env"][lang])
        if "container" in item:
            attrs["container"] = self._container(item["container"])
        return self._resource(ctx, "project", ctx.key, ("project",), attrs, protect=item.get("protect"), secrets=secrets)

    @staticmethod
    def _permission(row: dict) -> dict:
        who = {"group": row["group"]} if "group" in row else {"user": row["user"]}
        flags = expand_role(row["role"]) if "role" in row else sorted(set(row.get("permissions") or []))
        who["permissions"] = flags
        return who

    def _variables(self, ctx: _FileContext, variables: dict, secrets: dict) -> dict:
        result: dict[str, dict] = {}
        for section in ("standard", "local"):
            if section not in variables:
                continue
            result[section] = {}
            for name, value in (variables[section] or {}).items():
                if isinstance(value, dict) and set(value) == {"secret_env"}:
                    secret = self.secrets.get(value["secret_env"])
                    if secret is None:
                        self._error(
                            ctx.doc,
                            ("project", "variables", section, name, "secret_env"),
                            f"secret variable {name!r} reads {self.secrets.missing(value['secret_env'])}",
                        )
                        continue
                    secrets[f"variables.{section}.{name}"] = secret
                    value = {"secret_env": value["secret_env"], "fingerprint": fingerprint(secret)}
                result[section][name] = value
        return result

    def _code_env(self, value: str) -> str:
        return value if value in ("inherit", "builtin") else self.env.code_envs.get(value, value)

    def _container(self, value: str) -> str:
        return value if value in ("inherit", "none") else self.env.containers.get(value, value)

    def _connection(self, value: Optional[str]) -> Optional[str]:
        return None if value is None else self.env.connections.get(value, value)

    def _note_remap(self, address: str, attribute: str, before: Any, after: Any) -> None:
        if before != after and isinstance(before, str):
            self.desired.remapped_from[(address, attribute)] = before

    # -- folders and datasets ----------------------------------------------------------------
    def _folder(self, ctx: _FileContext, index: int, item: dict) -> Resource:
        defaults = self.defaults.get("managed_folder") or {}
        written = item.get("connection") or defaults.get("connection") or DEFAULT_CONNECTIONS["managed_folder"]
        attrs: dict[str, Any] = {"connection": self._connection(written)}
        self._note_remap(address_of("managed_folder", ctx.key, item["name"]), "connection", written, attrs["connection"])

        _copy(item, attrs, "path", "description")
        if "tags" in item:
            attrs["tags"] = list(item["tags"])
        return self._resource(ctx, "managed_folder", item["name"], ("managed_folders", index), attrs, protect=item.get("protect"))

    def _dataset(self, ctx: _FileContext, index: int, item: dict) -> Resource:
        kind = item["type"]
        written = self._dataset_connection(item)
        attrs: dict[str, Any] = {"kind": kind, "connection": self._connection(written)}
        self._note_remap(address_of("dataset", ctx.key, item["name"]), "connection", written, attrs["connection"])
        defaults = self.defaults.get("dataset") or {}
        # The default format goes with the default connection: a dataset on a connection of its
        # own (an SQL database, where DSS keeps no format) gets what DSS chooses unless it names one.
        fmt = item.get("format") or (defaults.get("format") if kind == "managed" and not item.get("connection") else None)
        if fmt and kind in ("managed", "filesystem", "uploaded"):
            attrs["format"] = fmt
        _copy(item, attrs, "format_params", "path", "table", "schema_name", "catalog", "description", "params")
        if kind == "sql_query":
            attrs["query"] = item["query"] if "query" in item else ctx.doc.files[item["sql_file"]]
        if "partitioning" in item:
            attrs["partitioning"] = _partitioning(item["partitioning"])
        if "schema" in item:
            attrs["schema"] = {"columns": [dict(c) for c in (item["schema"] or {}).get("columns") or []]}
        if "tags" in item:
            attrs["tags"] = list(item["tags"])
        return self._resource(ctx, "dataset", item["name"], ("datasets", index), attrs, protect=item.get("protect"))

    def _dataset_connection(self, item: dict) -> Optional[str]:
        if item.get("connection"):
            return item["connection"]
        if item["type"] in ("sql_table", "sql_query"):
            return self.defaults.get("sql_connection")
        if item["type"] == "uploaded":
            return None
        return (self.defaults.get("dataset") or {}).get("connection") or DEFAULT_CONNECTIONS["dataset"]

    # -- recipes ------------------------------------------------------------------------------
    def _recipes(self, ctx: _FileContext, items: list) -> None:
        writers: dict[str, int] = {}
        for index, item in enumerate(items):
            resource = self._recipe(ctx, index, item, writers)
            self._add(resource)
        ctx.flow_edges = self._flow_edges(ctx, items)

    def _recipe(self, ctx: _FileContext, index: int, item: dict, writers: dict[str, int]) -> Resource:
        path = ("recipes", index)
        kind = item["type"]
        inputs = _roles(item.get("inputs"))
        outputs = _roles(item.get("outputs"))
        deps = set()
        for role_kind, roles in (("inputs", inputs), ("outputs", outputs)):
            for role, refs in roles.items():
                for position, ref in enumerate(refs):
                    where = path + (role_kind,) + ((role, position) if isinstance(item.get(role_kind), dict) else (position,))
                    deps |= self._flow_ref(ctx, ref, where, role_kind)
        for ref in {r for refs in outputs.values() for r in refs}:
            if ref in {r for refs in inputs.values() for r in refs}:
                self._error(ctx.doc, path + ("outputs",), f"recipe {item['name']!r} writes {ref!r}, which is also its input")
            if ref in writers:
                self._error(
                    ctx.doc,
                    path + ("outputs",),
                    f"{ref!r} is already the output of recipe #{writers[ref] + 1}; a dataset has one writer",
                )
            writers.setdefault(ref, index)
        attrs: dict[str, Any] = {"kind": kind, "inputs": inputs, "outputs": outputs}
        code = _code_of(ctx.doc, item)
        if code is not None:
            attrs["code"] = code
        if "code_env" in item:
            attrs["code_env"] = self._code_env(item["code_env"])
            self._note_remap(address_of("recipe", ctx.key, item["name"]), "code_env", item["code_env"], attrs["code_env"])
        _copy(item, attrs, "params", "description")
        if "tags" in item:
            attrs["tags"] = list(item["tags"])
        return self._resource(ctx, "recipe", item["name"], path, attrs, deps, protect=item.get("protect"))

    def _flow_ref(self, ctx: _FileContext, ref: str, path: tuple, role_kind: str) -> set[str]:
        """Resolve a recipe input/output to the address it depends on."""
        if "." in ref:
            # A foreign object ("OTHERKEY.name"): DSS checks it exists; ordering across
            # projects is not enforced (documented in docs/config-reference.md).
            return set()
        for type_ in ("dataset", "managed_folder"):
            if ref in ctx.names[type_]:
                return {address_of(type_, ctx.key, ref)}
        what = "input" if role_kind == "inputs" else "output"
        hint = _did_you_mean(ref, ctx.names["dataset"] | ctx.names["managed_folder"])
        self._error(ctx.doc, path, f"recipe {what} {ref!r} is not a dataset or managed folder of project {ctx.key}", hint)
        return set()

    def _flow_edges(self, ctx: _FileContext, items: list) -> dict[str, set[str]]:
        """Dataset-level Flow graph: input -> output through each recipe."""
        edges: dict[str, set[str]] = {}
        for item in items:
            inputs = {r for refs in _roles(item.get("inputs")).values() for r in refs}
            outputs = {r for refs in _roles(item.get("outputs")).values() for r in refs}
            for source in inputs:
                edges.setdefault(source, set()).update(outputs)
        self._check_flow_cycle(ctx, edges, items)
        return edges

    def _check_flow_cycle(self, ctx: _FileContext, edges: dict[str, set[str]], items: list) -> None:
        cycle = _find_cycle(edges)
        if cycle:
            index = next(
                (i for i, item in enumerate(items) if cycle[0] in {r for refs in _roles(item.get("outputs")).values() for r in refs}),
                0,
            )
            self._error(ctx.doc, ("recipes", index), "the Flow has a cycle: " + " -> ".join(cycle + [cycle[0]]))

    # -- scenarios --------------------------------------------------------------------------------
    def _scenario(self, ctx: _FileContext, index: int, item: dict) -> Resource:
        path = ("scenarios", index)
        deps: set[str] = set()
        attrs: dict[str, Any] = {"name": item["name"], "active": bool(item.get("active", False))}
        if "run_as" in item:
            attrs["run_as"] = item["run_as"]
        attrs["triggers"] = [self._trigger(ctx, path + ("triggers", i), t, deps) for i, t in enumerate(item.get("triggers") or [])]
        attrs["steps"] = [self._step(ctx, path + ("steps", i), s, deps) for i, s in enumerate(item.get("steps") or [])]
        attrs["reporters"] = [dict(r) for r in item.get("reporters") or []]
        _copy(item, attrs, "description")
        if "tags" in item:
            attrs["tags"] = list(item["tags"])
        return self._resource(ctx, "scenario", item["id"], path, attrs, deps, protect=item.get("protect"))

    def _require(self, ctx: _FileContext, type_: str, name: str, path: tuple, what: str, deps: set) -> None:
        if name in ctx.names[type_]:
            deps.add(address_of(type_, ctx.key, name))
        else:
            label = {"dataset": "dataset", "managed_folder": "managed folder", "scenario": "scenario"}[type_]
            self._error(ctx.doc, path, f"{what} names unknown {label} {name!r} in project {ctx.key}", _did_you_mean(name, ctx.names[type_]))

    def _trigger(self, ctx: _FileContext, path: tuple, item: dict, deps: set) -> dict:
        kind = item["type"]
        trigger: dict[str, Any] = {"type": kind, "active": item.get("active", True)}
        if "name" in item:
            trigger["name"] = item["name"]
        if kind == "periodic":
            trigger["every_minutes"] = item["every_minutes"]
        elif kind == "temporal":
            self._temporal(ctx, path, item, trigger)
        elif kind == "dataset_change":
            for i, name in enumerate(item.get("datasets") or []):
                self._require(ctx, "dataset", name, path + ("datasets", i), "trigger", deps)
            for i, name in enumerate(item.get("folders") or []):
                self._require(ctx, "managed_folder", name, path + ("folders", i), "trigger", deps)
            trigger["datasets"] = list(item.get("datasets") or [])
            trigger["folders"] = list(item.get("folders") or [])
            if "grace_delay_seconds" in item:
                trigger["grace_delay_seconds"] = item["grace_delay_seconds"]
        return trigger

    def _temporal(self, ctx: _FileContext, path: tuple, item: dict, trigger: dict) -> None:
        if "cron" in item:
            parsed = parse_cron(item["cron"])
            if parsed is None:
                self._error(
                    ctx.doc,
                    path + ("cron",),
                    f"unsupported cron expression {item['cron']!r}",
                    "supported forms: 'M * * * *' (hourly), 'M H * * *' (daily), 'M H * * DAYS' (weekly, DAYS like 1-5 or MON,WED)",
                )
                return
            trigger.update(parsed)
        for key in ("frequency", "repeat_every", "hour", "minute", "days", "timezone", "starting_from", "monthly_run_on"):
            if key in item:
                trigger[key] = item[key]
        if trigger.get("frequency") == "Minutely":
            trigger["type"] = "periodic"
            trigger["every_minutes"] = trigger.pop("repeat_every", 1)
            trigger.pop("frequency")

    def _step(self, ctx: _FileContext, path: tuple, item: dict, deps: set) -> dict:
        kind = item["type"]
        step: dict[str, Any] = {
            "type": kind,
            "enabled": item.get("enabled", True),
            "run_condition": item.get("run_condition", "on_success"),
        }
        if "name" in item:
            step["name"] = item["name"]
        if kind == "build":
            for i, name in enumerate(item.get("datasets") or []):
                self._require(ctx, "dataset", name, path + ("datasets", i), "build step", deps)
            for i, name in enumerate(item.get("folders") or []):
                self._require(ctx, "managed_folder", name, path + ("folders", i), "build step", deps)
            step["datasets"] = list(item.get("datasets") or [])
            step["folders"] = list(item.get("folders") or [])
            if "job_type" in item:
                step["job_type"] = item["job_type"]
        elif kind == "run_scenario":
            project = item.get("project")
            if project is None or project == ctx.key:
                self._require(ctx, "scenario", item["scenario"], path + ("scenario",), "run_scenario step", deps)
            step["scenario"] = item["scenario"]
            if project is not None:
                step["project"] = self.env.key(project) if project in self.config_keys else project
        elif kind == "run_macro":
            step["macro"] = item["macro"]
            step["params"] = dict(item.get("params") or {})
        elif kind == "set_variables":
            step["variables"] = dict(item.get("variables") or {})
        return step

    # -- cycles between resources --------------------------------------------------------------
    def _check_cycles(self) -> None:
        edges = {a: set(r.depends_on) for a, r in self.desired.resources.items()}
        cycle = _find_cycle(edges)
        if cycle:
            resource = self.desired.resources[cycle[0]]
            doc = next(d for d in self.cfg.projects if d.file == resource.source.file)
            self.diagnostics.append(
                Diagnostic(
                    file=doc.file,
                    line=resource.source.line,
                    column=resource.source.column,
                    path="",
                    message="dependency cycle: " + " -> ".join(cycle + [cycle[0]]),
                )
            )


@dataclass
class _FileContext:
    doc: Any
    key: str
    effective: str
    names: dict[str, set[str]]
    flow_edges: dict[str, set[str]] = field(default_factory=dict)


def build_desired(cfg: Any, secrets: SecretsLike = None) -> DesiredState:
    """Build the desired model from a LoadedConfig; raises ConfigError with every problem.

    `secrets` resolves `{secret_env: NAME}` values (a `SecretSource`, or a mapping read as
    environment variables; None: the process environment, as on the CLI)."""
    return _Builder(cfg, secrets).build()


# -- helpers ------------------------------------------------------------------------------------
def _copy(source: dict, target: dict, *keys: str) -> None:
    for key in keys:
        if key in source:
            value = source[key]
            target[key] = dict(value) if isinstance(value, dict) else value


def _roles(value: Any) -> dict[str, list[str]]:
    if value is None:
        return {}
    if isinstance(value, list):
        return {"main": list(value)} if value else {}
    return {role: list(refs) for role, refs in value.items() if refs}


def _code_of(doc: Any, item: dict) -> Optional[str]:
    for inline, file_key in (("code", "code_file"), ("sql", "sql_file")):
        if inline in item:
            return item[inline]
        if file_key in item:
            return doc.files[item[file_key]]
    return None


def _partitioning(value: dict) -> dict:
    logical: dict[str, Any] = {"dimensions": [dict(d) for d in value.get("dimensions") or []]}
    if "file_path_pattern" in value:
        logical["file_path_pattern"] = value["file_path_pattern"]
    return logical


def _find_cycle(edges: dict[str, set[str]]) -> Optional[list[str]]:
    """Return one cycle (as a node list) if the directed graph has any."""
    white, grey, black = 0, 1, 2
    color: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> Optional[list[str]]:
        color[node] = grey
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            state = color.get(nxt, white)
            if state == grey:
                return stack[stack.index(nxt) :]
            if state == white:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        color[node] = black
        return None

    for node in sorted(edges):
        if color.get(node, white) == white:
            found = visit(node)
            if found:
                return found
    return None


def _did_you_mean(name: str, candidates: set[str]) -> Optional[str]:
    import difflib

    close = difflib.get_close_matches(name, sorted(candidates), n=1)
    return f"did you mean {close[0]!r}?" if close else None


_DAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
_DAY_NAMES = {d[:3].upper(): i for i, d in enumerate(_DAYS)}


def parse_cron(expression: str) -> Optional[dict]:
    """Translate the cron forms DSS's temporal triggers can express; None otherwise."""
    parts = expression.split()
    if len(parts) != 5 or parts[2] != "*" or parts[3] != "*":
        return None
    minute, hour, _, _, dow = parts
    if not minute.isdigit() or not 0 <= int(minute) <= 59:
        return None
    if hour == "*" and dow == "*":
        return {"frequency": "Hourly", "minute": int(minute), "hour": 0}
    if not hour.isdigit() or not 0 <= int(hour) <= 23:
        return None
    if dow == "*":
        return {"frequency": "Daily", "hour": int(hour), "minute": int(minute)}
    days = _parse_days(dow)
    if days is None:
        return None
    return {"frequency": "Weekly", "hour": int(hour), "minute": int(minute), "days": days}


def _parse_days(field_text: str) -> Optional[list[str]]:
    indexes: set[int] = set()
    for part in field_text.split(","):
        if "-" in part:
            lo, hi = (_day_index(p) for p in part.split("-", 1))
            if lo is None or hi is None or lo > hi:
                return None
            indexes.update(range(lo, hi + 1))
        else:
            index = _day_index(part)
            if index is None:
                return None
            indexes.add(index)
    return [_DAYS[i % 7] for i in sorted(indexes)]


def _day_index(text: str) -> Optional[int]:
    text = text.strip().upper()
    if text.isdigit() and 0 <= int(text) <= 7:
        return int(text) % 7
    return _DAY_NAMES.get(text[:3])
