"""What the visual recipe kinds share: the kind record, filters, computed columns, column checks.

A visual recipe keeps its settings in a JSON *payload* (a `.grouping`, `.join`, `.shaker`… file in
DSS's project Git). Each kind (`grouping.py`, `join.py`…) translates the part of the payload people
write by hand into *typed* logical attributes (`keys`, `aggregations`, `joins`, `steps`…), and back.
The rest of the payload is reachable through the raw escape hatch, the recipe's `payload:` key
(compared as a subset, merged over the typed part). The recipe spec (`resources/recipe.py`) is the
only way in: it finds a kind here by its DSS type.

Every kind reads and writes its typed attributes the same way:
- `build(item, ctx)`: a config item -> the complete typed attributes (defaults filled in: what the
  config does not say is DSS's creation default, so a setting changed in the UI is drift);
- `read(payload, io)`: DSS's payload -> the same typed attributes (only what they say; DSS's own
  keys, default flags and UI state are left out, so they never compare different);
- `write(attrs, payload, io)`: the typed attributes -> the payload, in place, touching a payload
  key only when what it says differs (server-side keys of kept entries stay);
- `to_config(attrs)`: the typed attributes -> the config keys a person writes (defaults left out).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Optional

from dataiku_iac.resources.spec import BuildContext

Attrs = dict[str, Any]
Path = tuple[Any, ...]
# A column a recipe names: (path in the item, the input it belongs to, the name).
Use = tuple[Path, str, Any]


@dataclass(frozen=True)
class Io:
    """A recipe's inputs and outputs of the main role, by configured name (what a payload indexes)."""

    inputs: list[str]
    outputs: list[str]


@dataclass(frozen=True)
class VisualKind:
    """One visual recipe type: its typed config, its payload, how DSS's creator makes it."""

    type: str  # DSS's recipe type ("grouping", "shaker"…)
    config_type: str  # the config's `type:` ("grouping", "prepare"…)
    # typed logical attribute -> its default (build fills it in, to_config leaves it out)
    defaults: Mapping[str, Any]
    # the payload keys the typed attributes own -> the typed key that writes each: `payload:` may not
    # set them (a setting has one place)
    owned: Mapping[str, str]
    schema: Mapping[str, Any]  # JSON Schema of the typed keys (item properties)
    build: Callable[[Attrs, BuildContext, Io], Attrs]
    read: Callable[[Attrs, Io], Attrs]
    write: Callable[[Attrs, Attrs, Io], None]
    required: tuple[str, ...] = ()  # typed keys an item must have
    defs: Mapping[str, Any] = field(default_factory=dict)  # schema definitions the typed keys $ref
    # The columns the typed attributes name, by input, and the ones the recipe computes itself
    # (checked against the inputs' declared schemas: by build, and by import before writing the item).
    columns: Callable[[Attrs, Io], tuple[list[Use], tuple[str, ...]]] = lambda attrs, io: ([], ())
    # Extra creationSettings DSS's own creator sends for this kind (dataikuapi's XRecipeCreator).
    creation: Callable[[Attrs, Io], Attrs] = lambda attrs, io: {}
    # Whether DSS's creator takes the inputs as `virtualInputs` (join, vstack: the prototype's inputs stay empty).
    virtual_inputs: bool = False
    # Whether the creator sends the outputs as multiple-output creation settings (split).
    multiple_outputs: bool = False
    # Whether DSS's creator is dataikuapi's plain DSSRecipeCreator (topn): no creation settings at all.
    plain_creator: bool = False
    # Payload keys DSS writes at creation with these values (dss-samples): import leaves them out.
    payload_defaults: Mapping[str, Any] = field(default_factory=dict)
    # Payload keys that are the UI's state (samples, column widths): never imported.
    ui_state: tuple[str, ...] = ()
    # typed attribute -> its compare mode when not "exact" (resources/policy.py)
    compare: Mapping[str, str] = field(default_factory=dict)
    # Extra typed -> config translation (the default writes each typed key that is not its default).
    to_config: Optional[Callable[[Attrs], Attrs]] = None
    # Typed attributes kept in the recipe's params rather than in its payload (a sampling recipe's
    # `selection`): read from and written into the params, as `read` and `write` do the payload.
    read_params: Callable[[Attrs, Io], Attrs] = lambda params, io: {}
    write_params: Callable[[Attrs, Attrs, Io], None] = lambda attrs, params, io: None
    # The params keys those attributes own ("selection.samplingMethod" -> the typed key): `params:` may not set them
    owned_params: Mapping[str, str] = field(default_factory=dict)
    # Roles whose objects DSS names by id, not by name -> the type of those objects (a scoring
    # recipe's `model` role holds a saved model's id). `ref_keys`: the item keys that name such an
    # input (`model: churn_model` -> role `model`); `typed_outputs`: an output of that type goes
    # to that role (an evaluation store among an evaluate recipe's outputs -> `evaluationStore`).
    ref_keys: Mapping[str, str] = field(default_factory=dict)  # item key -> input role
    typed_outputs: Mapping[str, str] = field(default_factory=dict)  # object type -> output role
    id_roles: Mapping[str, str] = field(default_factory=dict)  # role -> object type
    # The order of the input roles in the prototype DSS's creator sends (a scoring creator: model first).
    input_roles: tuple[str, ...] = ("main",)

    def config_of(self, attrs: Attrs) -> Attrs:
        if self.to_config is not None:
            return self.to_config(attrs)
        return {k: attrs[k] for k in self.defaults if k in attrs and attrs[k] != self.defaults[k]}


# The engine parameters DSS writes into a new grouping, join, window or split payload
# (dss-samples/recipe/*.payload.json, all four identical).
ENGINE_PARAMS: Attrs = {
    "hive": {"skipPrerunValidate": False, "hiveconf": [], "inheritConf": "default", "addDkuUdf": False,
             "executionEngine": "HIVESERVER2"},
    "sqlPipelineParams": {"pipelineAllowMerge": True, "pipelineAllowStart": True},
    "impala": {"forceStreamMode": True},
    "containerSelection": {"containerMode": "INHERIT"},
    "lowerCaseSchemaIfEngineRequiresIt": True,
    "sparkSQL": {"skipPrerunValidate": False, "pipelineAllowMerge": True, "useGlobalMetastore": False,
                 "pipelineAllowStart": True, "readParams": {"mode": "AUTO", "autoModeRepartitionInto": 10, "map": {}},
                 "overwriteOutputSchema": False, "executionEngine": "SPARK_SUBMIT",
                 "sparkConfig": {"inheritConf": "default", "conf": []}},
}


# -- schema pieces -----------------------------------------------------------------------------
TEXT = {"type": "string"}
COLUMN = {"type": "string", "minLength": 1}
COLUMNS = {"type": "array", "items": COLUMN}
FILTER = {
    "type": "object",
    "properties": {
        "expression": {"type": "string", "description": "a DSS formula (GREL)"},
        "sql": {"type": "string", "description": "an SQL expression"},
        "conditions": {"type": "array", "items": {"type": "object"}},
        "match": {"enum": ["all", "any"]},
        "distinct": {"type": "boolean"},
    },
    "additionalProperties": False,
    "x-context": "a filter",
}
COMPUTED_COLUMNS = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["name"],
        "properties": {"name": COLUMN, "type": {"type": "string"}, "expression": TEXT, "sql": TEXT},
        "additionalProperties": False,
        "x-context": "a computed column",
    },
}
RENAME = {"type": "object", "additionalProperties": {"type": "string"}}


# -- filters -----------------------------------------------------------------------------------
def build_filter(value: Any, ctx: BuildContext, path: Path) -> Optional[Attrs]:
    """A config filter -> its logical form: one of expression / sql / conditions, and `distinct`."""
    if not isinstance(value, dict):
        return None
    given = [k for k in ("expression", "sql", "conditions") if k in value]
    if len(given) > 1:
        ctx.error(path + (given[1],), f"a filter takes one of 'expression', 'sql' or 'conditions', not {given[0]!r} and {given[1]!r}")
    if "match" in value and "conditions" not in value:
        ctx.error(path + ("match",), "'match' applies to 'conditions' only")
    logical: Attrs = {}
    if given:
        logical[given[0]] = copy.deepcopy(value[given[0]])
        if given[0] == "conditions":
            logical["match"] = value.get("match", "all")
    if value.get("distinct"):
        logical["distinct"] = True
    return logical or None


def read_filter(dss: Any) -> Optional[Attrs]:
    if not isinstance(dss, dict):
        return None
    logical: Attrs = {}
    if dss.get("enabled"):
        ui: Attrs = dss["uiData"] if isinstance(dss.get("uiData"), dict) else {}
        mode = ui.get("mode")
        if mode == "SQL":
            logical["sql"] = dss.get("expression") or ""
        elif mode in ("&&", "||"):
            logical["conditions"] = copy.deepcopy(ui.get("conditions") or [])
            logical["match"] = "all" if mode == "&&" else "any"
        else:
            logical["expression"] = dss.get("expression") or ""
    if dss.get("distinct"):
        logical["distinct"] = True
    return logical or None


def write_filter(current: Any, logical: Optional[Attrs]) -> Attrs:
    """The DSS filter saying `logical`; `current` as it is when it says it already."""
    current = current if isinstance(current, dict) else {}
    if read_filter(current) == logical:
        return dict(current)
    logical = logical or {}
    dss: Attrs = copy.deepcopy(current)
    dss["distinct"] = bool(logical.get("distinct"))
    active = [k for k in ("expression", "sql", "conditions") if k in logical]
    dss["enabled"] = bool(active)
    if active:
        ui = dict(dss.get("uiData") or {}) if isinstance(dss.get("uiData"), dict) else {}
        if "conditions" in logical:
            ui["mode"] = "&&" if logical.get("match", "all") == "all" else "||"
            ui["conditions"] = copy.deepcopy(logical["conditions"])
        else:
            ui["mode"] = "SQL" if "sql" in logical else "CUSTOM"
            ui.pop("conditions", None)
            dss["expression"] = logical.get("sql", logical.get("expression", ""))
        dss["uiData"] = ui
    return dss


# -- computed columns --------------------------------------------------------------------------
DEFAULT_COLUMN_TYPE = "string"


def build_computed(value: Any, ctx: BuildContext, path: Path) -> list[Attrs]:
    columns = []
    for i, column in enumerate(value if isinstance(value, list) else []):
        if not isinstance(column, dict):
            continue
        given = [k for k in ("expression", "sql") if k in column]
        if len(given) != 1:
            ctx.error(path + (i,), f"computed column {column.get('name')!r} needs one of 'expression' (a formula) or 'sql'")
            continue
        columns.append({"name": column.get("name"), "type": column.get("type", DEFAULT_COLUMN_TYPE), given[0]: column[given[0]]})
    return columns


def read_computed(value: Any) -> list[Attrs]:
    columns = []
    for column in value if isinstance(value, list) else []:
        if isinstance(column, dict):
            language = "sql" if column.get("mode") == "SQL" else "expression"
            columns.append({"name": column.get("name"), "type": column.get("type") or DEFAULT_COLUMN_TYPE,
                            language: column.get("expr") or ""})
    return columns


def write_computed(current: Any, logical: list[Attrs]) -> list[Any]:
    current = current if isinstance(current, list) else []
    if read_computed(current) == logical:
        return list(current)
    by_name = {c.get("name"): c for c in current if isinstance(c, dict)}
    written = []
    for column in logical:
        entry = copy.deepcopy(by_name.get(column["name"], {}))
        language = "sql" if "sql" in column else "expression"
        entry.update(name=column["name"], type=column["type"], mode="SQL" if language == "sql" else "GREL", expr=column[language])
        written.append(entry)
    return written


def computed_to_config(columns: list[Attrs]) -> list[Attrs]:
    return [{k: v for k, v in c.items() if not (k == "type" and v == DEFAULT_COLUMN_TYPE)} for c in columns]


def shared_to_config(item: Attrs, attrs: Attrs, keys: tuple[str, ...]) -> Attrs:
    """Add to `item`, in the order of `keys`, the keys several kinds share (`pre_filter`,
    `computed_columns`, `rename`) that `attrs` sets; returns `item`."""
    for key in keys:
        if attrs.get(key):
            item[key] = computed_to_config(attrs[key]) if key == "computed_columns" else dict(attrs[key])
    return item


# -- columns of the inputs ---------------------------------------------------------------------


def input_columns(ctx: Any, ref: str) -> Optional[list[str]]:
    """The columns of input `ref` when the configuration declares its schema (else None: unknown).
    `ctx` is a BuildContext (logical attributes) or an ImportContext (the item written): both
    keep a dataset's schema as `{columns: [{name, type}…]}`."""
    if "." in ref:
        return None  # another project's dataset: its schema is not in this file
    declared = ctx.declared("dataset", ref)
    schema = declared.get("schema") if isinstance(declared, Mapping) else None
    columns = schema.get("columns") if isinstance(schema, Mapping) else None
    if not columns:
        return None
    return [str(c.get("name")) for c in columns if isinstance(c, dict)]


def missing_columns(ctx: Any, uses: list[Use], extra: tuple[str, ...] = ()) -> list[tuple[Use, list[str]]]:
    """The uses naming a column that is not in their input's declared schema (nor in `extra`, the
    columns the recipe computes itself), each with the input's columns."""
    missing = []
    for use in uses:
        _, ref, name = use
        columns = input_columns(ctx, ref)
        if columns is not None and isinstance(name, str) and name not in set(columns) | set(extra):
            missing.append((use, columns))
    return missing


def check_columns(ctx: BuildContext, uses: list[Use], extra: tuple[str, ...] = ()) -> None:
    """Every column a recipe names must be in its input's declared schema: else an error at it."""
    for (path, ref, name), columns in missing_columns(ctx, uses, extra):
        shown = ", ".join(columns[:12]) + (", …" if len(columns) > 12 else "")
        hint = ctx.did_you_mean(name, [*columns, *extra]) or f"its declared columns: {shown}"
        ctx.error(path, f"column {name!r} is not in the schema of input {ref!r}", hint)


def first_input(io: Io) -> Optional[str]:
    return io.inputs[0] if io.inputs else None


def set_if_changed(payload: Attrs, key: str, value: Any) -> None:
    if payload.get(key) != value:
        payload[key] = value
