"""Recipes: python, r, shell, sql_query, sql_script, sync, and the visual recipes.

Code recipes are created in DSS's *raw* mode: the prototype is taken as-is, so DSS neither
auto-creates outputs nor touches existing data (outputs are datasets or folders of their
own, created earlier in the plan). The code, code env and the rest are then set with one
read-modify-write. Managed folders appear in DSS documents by id and in the config by
name; the project context translates.

Visual recipes (grouping, join, prepare…; one module per kind under `resources/visual/`) are
created the way DSS's own recipe creators create them (dataikuapi's `GroupingRecipeCreator`…):
the prototype with the existing outputs and the kind's creation settings, DSS builds the initial
payload, then one settings save writes the typed settings and the raw `payload:` keys. So a recipe
made from the configuration reads back like one made in the UI or with dataikuapi.
"""

from __future__ import annotations

import copy
import json
from typing import Any, Mapping, Optional

from dataiku_iac.graphs import find_cycle, loop_text
from dataiku_iac.model import Resource, clone_json
from dataiku_iac.resources import flow_zone
from dataiku_iac.resources.base import (
    Observed,
    ProjectContext,
    ResourceHandler,
    container_to_dss,
    container_to_logical,
    copy_keys,
    deep_merge,
    described,
    env_selection_to_dss,
    env_selection_to_logical,
    version_after_save,
    version_tag_of,
)
from dataiku_iac.resources.policy import Effect, Field, FieldPolicy, Impact, same_json
from dataiku_iac.resources.spec import (
    WRITES,
    BuildContext,
    BuiltItem,
    CheckContext,
    ConfigSchema,
    FlowLink,
    ImportContext,
    ResourceSpec,
    split_ref,
)
from dataiku_iac.resources.visual import config_kind, id_roles, kind_of, schema_defs, typed_attributes
from dataiku_iac.resources.visual.common import Io, VisualKind, check_columns, missing_columns

# The recipes DSS makes to train a saved model: the saved model's (resources/saved_model.py).
TRAINING_RECIPE_TYPES = ("prediction_training", "clustering_training")
CODE_TYPES = ("python", "r", "shell", "sql_query", "sql_script")
ENV_TYPES = ("python", "r")
# The recipe types the configuration can express (import leaves the others out, unmanaged): the
# visual ones are those resources/visual/ knows (kind_of).
SUPPORTED = (*CODE_TYPES, "sync")
# Where import writes a code recipe's code: (directory, extension).
CODE_FILES = {
    "python": ("recipes", ".py"),
    "r": ("recipes", ".R"),
    "shell": ("recipes", ".sh"),
    "sql_query": ("sql", ".sql"),
    "sql_script": ("sql", ".sql"),
}


def _outputs_rule(before: Any, after: Any, _old: Mapping[str, Any], _new: Mapping[str, Any]) -> list[Effect]:
    """An output the recipe no longer writes: what reads it, or builds it, is no longer fed. (What a
    recipe computes, its code, inputs and settings, is not judged: its outputs' declared schemas are.)"""
    removed = sorted(_refs(before) - _refs(after))
    if not removed:
        return []
    names = ", ".join(map(repr, removed))
    return [Effect(Impact.BREAKING, f"output{'s' if len(removed) > 1 else ''} {names} no longer written by this recipe",
                   starts=tuple(removed))]


def _refs(roles: Any) -> set[str]:
    return {r for refs in (roles or {}).values() if isinstance(refs, list) for r in refs if isinstance(r, str)}


def flow_links(attrs: Mapping[str, Any]) -> list[FlowLink]:
    """The datasets and folders the recipe reads (with the columns a visual recipe names) and writes."""
    named = _named_columns(attrs)
    typed = id_roles(attrs.get("kind"))  # a saved model read, an evaluation store written
    links = []
    for relation, role_kind in (("reads", "inputs"), (WRITES, "outputs")):
        roles = attrs.get(role_kind) or {}
        for ref, role in sorted({(r, role) for role, refs in roles.items() if isinstance(refs, list)
                                 for r in refs if isinstance(r, str)}):
            project, name = split_ref(ref)
            columns = named.get(ref) if relation == "reads" else None
            types = (typed[role],) if role in typed else ("dataset", "managed_folder")
            links.append(FlowLink(relation, name, types, project, columns))
    return links


def _named_columns(attrs: Mapping[str, Any]) -> dict[str, frozenset[str]]:
    """Input -> the columns a visual recipe's typed settings name in it (code names none we can see)."""
    visual = kind_of(attrs.get("kind"))
    if visual is None:
        return {}
    try:
        uses, _computed = visual.columns(dict(attrs), _io(dict(attrs)))
    except (KeyError, TypeError, AttributeError):
        return {}  # settings of an unexpected shape (read from DSS): no column is claimed
    named: dict[str, set[str]] = {}
    for _path, ref, column in uses:
        if isinstance(column, str):
            named.setdefault(ref, set()).add(column)
    return {ref: frozenset(columns) for ref, columns in named.items()}


POLICY = FieldPolicy(
    fields=(
        Field("kind", replace=True),
        Field("inputs"),
        Field("outputs", impact=_outputs_rule),
        Field("code"),
        Field("code_env"),
        Field("container"),
        Field("params", compare="subset"),
        Field("description", reset=""),
        Field("tags", compare="set", reset=[]),
        flow_zone.MEMBER_FIELD,
        # A visual recipe's raw payload keys (`payload:`): declared keys equal, DSS's others ignored.
        Field("payload", compare="subset"),
        # A visual recipe's typed settings: each kind's build writes them all (defaults included).
        *(Field(name, compare=compare) for name, compare in typed_attributes()),
    )
)


class RecipeHandler(ResourceHandler):
    type = "recipe"
    policy = POLICY

    # The recipe list carries no payload (the code): DSS has no bulk read for it, so each
    # recipe is read once.
    per_object_read = True

    def list_items(self, client: Any, project_key: str) -> list[dict[str, Any]]:
        # A saved model's training recipe is the saved model's (resources/saved_model.py): two types
        # must never manage one DSS object, and import must not write it as a recipe.
        return [r for r in client.get_project(project_key).list_recipes() if _raw_item(r).get("type") not in TRAINING_RECIPE_TYPES]

    def read_item(self, client: Any, project_key: str, item: dict[str, Any]) -> dict[str, Any]:
        data: dict[str, Any] = client.get_project(project_key).get_recipe(item["name"]).get_settings().data
        return data


    def observed_from(self, project_key: str, doc: dict[str, Any], ctx: ProjectContext) -> Observed:
        return self._observed(project_key, doc, ctx)

    def _observed(self, project_key: str, data: dict[str, Any], ctx: ProjectContext) -> Observed:
        recipe = data["recipe"]
        return Observed(
            type="recipe",
            project_key=project_key,
            name=recipe["name"],
            dss_id=recipe["name"],
            attributes=self.to_logical(data, ctx),
            version_tag=version_tag_of(recipe),
        )

    def to_logical(self, doc: dict[str, Any], ctx: ProjectContext) -> dict[str, Any]:
        recipe = doc.get("recipe") or {}
        kind = recipe.get("type")
        attrs: dict[str, Any] = {
            "kind": kind,
            "inputs": _roles_to_logical(recipe.get("inputs") or {}, ctx, id_roles(kind)),
            "outputs": _roles_to_logical(recipe.get("outputs") or {}, ctx, id_roles(kind)),
            "params": clone_json(recipe.get("params") or {}),
            "description": recipe.get("description") or "",
            "tags": list(recipe.get("tags") or []),
        }
        if kind in CODE_TYPES:
            attrs["code"] = doc.get("payload") or ""
        if kind in ENV_TYPES:
            attrs["code_env"] = env_selection_to_logical((recipe.get("params") or {}).get("envSelection"), "envMode")
            attrs["container"] = container_to_logical((recipe.get("params") or {}).get("containerSelection"))
        visual = kind_of(kind)
        if visual is not None:
            payload = payload_of(doc)
            attrs.update(visual.read(payload, _io(attrs)))
            attrs.update(visual.read_params(recipe.get("params") or {}, _io(attrs)))
            attrs["payload"] = {k: v for k, v in payload.items() if k not in visual.owned}
        return attrs

    def create(self, client: Any, resource: Resource, ctx: ProjectContext) -> Observed:
        attrs = resource.attributes
        visual = kind_of(attrs.get("kind"))
        if visual is not None:
            prototype, creation = _as_creator_would(visual, resource.name, attrs, ctx)
            client.get_project(resource.project_key).create_recipe(prototype, creation)
            return flow_zone.place(client, resource, self._save(client, resource, ctx), ctx)
        prototype = {
            "type": attrs["kind"],
            "name": resource.name,
            "inputs": _roles_to_dss({}, attrs.get("inputs") or {}, ctx, "deps"),
            "outputs": _roles_to_dss({}, attrs.get("outputs") or {}, ctx, "appendMode"),
        }
        # Raw creation: no output auto-creation, no input checks, payload as given.
        creation = {"rawCreation": True, "rawPayload": attrs.get("code", "")}
        client.get_project(resource.project_key).create_recipe(prototype, creation)
        return flow_zone.place(client, resource, self._save(client, resource, ctx), ctx)

    def update(self, client: Any, resource: Resource, current: Observed, ctx: ProjectContext) -> Observed:
        return flow_zone.place(client, resource, self._save(client, resource, ctx), ctx, current=current)

    def _save(self, client: Any, resource: Resource, ctx: ProjectContext) -> Observed:
        settings = client.get_project(resource.project_key).get_recipe(resource.name).get_settings()
        before = clone_json(settings.data)
        patched = clone_json(settings.data)
        patch_document(patched, resource.attributes, ctx)
        saved = patched != before
        if saved:  # every save bumps versionTag: skip no-op saves
            settings.data["recipe"] = patched["recipe"]
            settings.set_payload(patched.get("payload", ""))
            settings.save()
            patched["recipe"].pop("versionTag", None)
        observed = self._observed(resource.project_key, patched, ctx)
        observed.expected_version = version_after_save(before.get("recipe") or {}, saved)
        return observed

    def delete(self, client: Any, project_key: str, dss_id: str, *, drop_data: bool) -> None:
        # Deleting a recipe never deletes its outputs (their data is not touched).
        client.get_project(project_key).get_recipe(dss_id).delete()


def _raw_item(item: Any) -> dict[str, Any]:
    raw = getattr(item, "_data", item)
    return raw if isinstance(raw, dict) else {}


def patch_document(doc: dict[str, Any], attrs: dict[str, Any], ctx: ProjectContext) -> None:
    """Write declared logical attributes into a `{recipe, payload}` document, in place."""
    recipe = doc.setdefault("recipe", {})
    typed = id_roles(attrs.get("kind", recipe.get("type")))
    if "inputs" in attrs:
        recipe["inputs"] = _roles_to_dss(recipe.get("inputs") or {}, attrs["inputs"], ctx, "deps", typed)
    if "outputs" in attrs:
        recipe["outputs"] = _roles_to_dss(recipe.get("outputs") or {}, attrs["outputs"], ctx, "appendMode", typed)
    if "params" in attrs:
        recipe["params"] = deep_merge(recipe.get("params") or {}, attrs["params"])
    if "code_env" in attrs:
        params = recipe.setdefault("params", {})
        params["envSelection"] = env_selection_to_dss(attrs["code_env"], params.get("envSelection") or {}, "envMode")
    if "container" in attrs:
        recipe.setdefault("params", {})["containerSelection"] = container_to_dss(attrs["container"])
    if "code" in attrs:
        doc["payload"] = attrs["code"]
    visual = kind_of(attrs.get("kind", recipe.get("type")))
    if visual is not None:
        _patch_payload(doc, visual, attrs, ctx)
    if "description" in attrs:
        recipe["description"] = attrs["description"]
    if "tags" in attrs:
        recipe["tags"] = list(attrs["tags"])


def payload_of(doc: dict[str, Any]) -> dict[str, Any]:
    """A visual recipe's payload, parsed (DSS keeps it as a JSON string); {} when it is not JSON."""
    try:
        payload = json.loads(doc.get("payload") or "{}")
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}


def _io(attrs: dict[str, Any]) -> Io:
    return Io(inputs=list((attrs.get("inputs") or {}).get("main") or []),
              outputs=list((attrs.get("outputs") or {}).get("main") or []))


def _patch_payload(doc: dict[str, Any], visual: VisualKind, attrs: dict[str, Any], ctx: ProjectContext) -> None:
    """Write the typed settings, then the raw `payload:` keys over them; the payload string is
    rewritten only when what it says changed (a re-serialised but equal payload is no change)."""
    payload = payload_of(doc)
    before = copy.deepcopy(payload)
    recipe = doc["recipe"]
    io = _io({role: attrs[role] if role in attrs else _roles_to_logical(recipe.get(role) or {}, ctx)
              for role in ("inputs", "outputs")})
    typed = {k: v for k, v in attrs.items() if k in visual.defaults}
    visual.write(typed, payload, io)
    if visual.owned_params:  # its typed settings live in the params too (sampling)
        if not isinstance(recipe.get("params"), dict):
            recipe["params"] = {}
        visual.write_params(typed, recipe["params"], io)
    if "payload" in attrs:
        payload = deep_merge(payload, attrs["payload"])
    if payload != before:
        doc["payload"] = json.dumps(payload, indent=2)


def _as_creator_would(visual: VisualKind, name: str, attrs: dict[str, Any], ctx: ProjectContext) -> tuple[dict[str, Any], dict[str, Any]]:
    """The prototype and creation settings dataikuapi's creator of this kind POSTs, with the
    outputs existing already (`with_existing_output`): DSS then builds the initial payload."""
    declared = attrs.get("inputs") or {}
    ordered = {role: declared[role] for role in visual.input_roles if role in declared}  # as the creator sends them
    ordered.update({role: refs for role, refs in declared.items() if role not in ordered})
    inputs = _roles_to_dss({}, ordered, ctx, "deps", visual.id_roles)
    outputs = _roles_to_dss({}, attrs.get("outputs") or {}, ctx, "appendMode", visual.id_roles)
    io = _io(attrs)
    for role in inputs.values():  # the creators send bare references
        role["items"] = [{"ref": item["ref"]} for item in role["items"]]
    prototype = {"type": visual.type, "name": name, "inputs": inputs, "outputs": outputs}
    creation: dict[str, Any]
    if visual.plain_creator:
        creation = {}
    elif visual.multiple_outputs:
        creation = {"outputDatasetsCreationSettingsByRole": {"main": {}}}
    else:
        creation = {"createOutputDataset": False, "outputDatasetSettings": None,
                    "createOutputFolder": None, "outputFolderSettings": None}
    if visual.virtual_inputs:  # VirtualInputsSingleOutputRecipeCreator: DSS makes the inputs from these
        main = inputs.pop("main", {"items": []})
        creation["virtualInputs"] = [item["ref"] for item in main["items"]]
    creation.update(visual.creation(attrs, io))
    return prototype, creation


def _ref_to_logical(ref: str, ctx: ProjectContext, type_: Optional[str] = None) -> str:
    if type_ is not None:  # a role whose objects DSS names by id (a saved model, an evaluation store)
        return ctx.name_of(type_, ref) or ref
    return ctx.folder_name(ref) or ref


def _ref_to_dss(name: str, ctx: ProjectContext, type_: Optional[str] = None) -> str:
    if type_ is not None:
        return ctx.dss_id_of(type_, name) or name
    return ctx.folder_id(name) or name


def _roles_to_logical(roles: dict[str, Any], ctx: ProjectContext, typed: Mapping[str, str] = {}) -> dict[str, list[str]]:
    logical = {}
    for role, body in roles.items():
        if not isinstance(body, dict):
            continue  # not a role (a key some DSS version added): nothing to read
        items = [item for item in body.get("items") or [] if isinstance(item, dict) and isinstance(item.get("ref"), str)]
        refs = [_ref_to_logical(item["ref"], ctx, typed.get(role)) for item in items]
        if refs:
            logical[role] = refs
    return logical


def _roles_to_dss(
    current: dict[str, Any], logical: dict[str, Any], ctx: ProjectContext, extra: str, typed: Mapping[str, str] = {}
) -> dict[str, Any]:
    """DSS's role -> items structure; existing items keep their server-side keys."""
    result = {}
    for role, names in logical.items():
        existing = {item.get("ref"): item for item in (current.get(role) or {}).get("items") or []}
        items = []
        for name in names:
            ref = _ref_to_dss(name, ctx, typed.get(role))
            default: dict[str, Any] = {"ref": ref, "deps": []} if extra == "deps" else {"ref": ref, "appendMode": False}

            items.append(existing.get(ref, default))
        result[role] = {"items": items}
    return result


# -- the configuration ------------------------------------------------------------------------
def build(item: dict[str, Any], ctx: BuildContext) -> dict[str, Any]:
    """A `recipes` item -> logical attributes. Its inputs and outputs must be datasets or folders of
    the project (or another project's objects, `KEY.name`); the checks across recipes (one writer
    per output, no Flow cycle) are `check_items`'."""
    inputs, outputs = roles_of(item.get("inputs")), roles_of(item.get("outputs"))
    visual = config_kind(item["type"])
    typed_outputs = dict(visual.typed_outputs) if visual is not None else {}
    for role_kind, roles in (("inputs", inputs), ("outputs", outputs)):
        what = "input" if role_kind == "inputs" else "output"
        types = ("dataset", "managed_folder", *(typed_outputs if role_kind == "outputs" else ()))
        for role, refs in roles.items():
            for position, ref in enumerate(refs):
                if "." in ref:
                    # A foreign object ("OTHERKEY.name"): DSS checks it exists; ordering across
                    # projects is not enforced (documented in docs/config-reference.md).
                    continue
                where = (role_kind,) + ((role, position) if isinstance(item.get(role_kind), dict) else (position,))
                kinds = ", ".join(t.replace("_", " ") for t in types[:-1]) + " or " + types[-1].replace("_", " ")
                message = f"recipe {what} {ref!r} is not a {kinds} of project {ctx.key}"
                ctx.require_any(types, ref, where, message)
    input_refs = {r for refs in inputs.values() for r in refs}
    for ref in sorted({r for refs in outputs.values() for r in refs} & input_refs):
        ctx.error(("outputs",), f"recipe {item.get('name')!r} writes {ref!r}, which is also its input")
    if visual is not None:
        _typed_roles(visual, item, inputs, outputs, ctx)
    attrs: dict[str, Any] = {"kind": visual.type if visual else item["type"], "inputs": inputs, "outputs": outputs}
    if visual is not None:
        attrs.update(_build_visual(visual, item, ctx, _io(attrs)))
    code = _code_of(item, ctx)
    if code is not None:
        attrs["code"] = code
    if "code_env" in item:
        attrs["code_env"] = ctx.remap_code_env("code_env", item["code_env"])
        if isinstance(item.get("params"), dict) and "envSelection" in item["params"]:
            # Both would be written at each apply, one overwriting the other: never converges.
            ctx.error(("params", "envSelection"), "params.envSelection declares again what 'code_env' declares: "
                      "a setting has one place", "remove params.envSelection (keep code_env)")
    if "container" in item:
        attrs["container"] = ctx.remap_container("container", item["container"])
        if isinstance(item.get("params"), dict) and "containerSelection" in item["params"]:
            ctx.error(("params", "containerSelection"), "params.containerSelection declares again what 'container' "
                      "declares: a setting has one place", "remove params.containerSelection (keep container)")
    copy_keys(item, attrs, "params", "description")
    if "tags" in item:
        attrs["tags"] = list(item["tags"])
    flow_zone.build_membership(item, attrs, ctx)
    return attrs


def _typed_roles(visual: VisualKind, item: dict[str, Any], inputs: dict[str, list[str]],
                 outputs: dict[str, list[str]], ctx: BuildContext) -> None:
    """The roles DSS fills with ids: an input a key names (a scoring recipe's `model:`), and the
    outputs of a type with a role of its own (an evaluation store among an evaluate recipe's outputs)."""
    for key, role in visual.ref_keys.items():
        if isinstance(item.get(key), str):
            type_ = visual.id_roles[role]
            ctx.require(type_, item[key], (key,), f"its {type_.replace('_', ' ')}")
            inputs[role] = [item[key]]
    for type_, role in visual.typed_outputs.items():
        main = outputs.get("main") or []
        moved = [ref for ref in main if ctx.declared(type_, ref) is not None]
        if moved:
            outputs[role] = outputs.get(role, []) + moved
            rest = [ref for ref in main if ref not in moved]
            if rest:
                outputs["main"] = rest
            else:
                outputs.pop("main")


def _build_visual(visual: VisualKind, item: dict[str, Any], ctx: BuildContext, io: Io) -> dict[str, Any]:
    """A visual recipe's typed settings and its raw `payload:` keys."""
    attrs = visual.build(item, ctx, io)
    check_columns(ctx, *visual.columns(attrs, io))
    raw = item.get("payload")
    if isinstance(raw, dict):
        for key in raw:
            if key in visual.owned:
                # Written by the typed settings too: each apply would write both, never converging.
                ctx.error(("payload", key), f"payload key {key!r} is what {visual.owned[key]!r} of a {visual.config_type} "
                          "recipe writes: a setting has one place", f"use '{visual.owned[key]}' (remove payload.{key})")
        attrs["payload"] = copy.deepcopy(raw)
    for path, typed in visual.owned_params.items():
        if _has_path(item.get("params"), path.split(".")):
            ctx.error(("params", *path.split(".")), f"params.{path} is what {typed!r} of a {visual.config_type} recipe "
                      "writes: a setting has one place", f"use '{typed}' (remove params.{path})")
    return attrs


def _has_path(value: Any, keys: list[str]) -> bool:
    for key in keys:
        if not isinstance(value, dict) or key not in value:
            return False
        value = value[key]
    return True


def roles_of(value: Any) -> dict[str, list[str]]:
    """role -> references, from a list (the main role) or a mapping of lists. References that
    are not strings (a schema error, reported by the loader) are left out."""
    if isinstance(value, list):
        refs = [r for r in value if isinstance(r, str)]
        return {"main": refs} if refs else {}
    if isinstance(value, dict):
        roles = {role: [r for r in refs if isinstance(r, str)] for role, refs in value.items() if isinstance(refs, list)}
        return {role: refs for role, refs in roles.items() if refs}
    return {}


def _code_of(item: dict[str, Any], ctx: BuildContext) -> Optional[str]:
    for inline, file_key in (("code", "code_file"), ("sql", "sql_file")):
        if inline in item:
            return str(item[inline])
        if file_key in item:
            try:
                return ctx.file_text(item[file_key])
            except KeyError:
                return None  # unreadable: reported by the loader
    return None


def to_config(name: str, attrs: dict[str, Any], ctx: ImportContext) -> Optional[dict[str, Any]]:
    """Logical attributes -> a `recipes` item (the code in a file of its own, a visual recipe's typed
    keys); None, with the reason, for what the configuration cannot express."""
    kind = attrs.get("kind")
    visual = kind_of(kind)
    if kind not in SUPPORTED and visual is None:
        ctx.not_expressed(f"the configuration has no recipe type {kind!r} yet")
        return None
    if visual is not None and attrs.get("unsupported"):
        ctx.not_expressed(f"its payload says what the typed keys of a {visual.config_type} recipe cannot: "
                          + "; ".join(attrs["unsupported"]))
        return None
    missing = missing_columns(ctx, *visual.columns(attrs, _io(attrs))) if visual is not None else []
    if missing:
        # A recipe DSS could not run as it is: `validate` would refuse the item.
        (_, ref, column), _columns = missing[0]
        ctx.not_expressed(f"it names column {column!r}, which the schema of its input {ref!r} lacks")
        return None
    inputs, outputs = dict(attrs.get("inputs") or {}), dict(attrs.get("outputs") or {})
    named: dict[str, Any] = {}
    if visual is not None:
        for key, role in visual.ref_keys.items():  # `model: NAME`, not an input role
            refs = inputs.pop(role, [])
            if len(refs) != 1:
                ctx.not_expressed(f"its {role!r} role holds {len(refs)} objects (the configuration names one)")
                return None
            named[key] = refs[0]
        for role in visual.typed_outputs.values():  # listed among the outputs
            outputs["main"] = list(outputs.get("main") or []) + list(outputs.pop(role, []))
    item: dict[str, Any] = {
        "name": name,
        "type": visual.config_type if visual else kind,
        **named,
        "inputs": _roles_to_config(inputs),
        "outputs": _roles_to_config(outputs),
    }
    if kind in CODE_TYPES:
        folder, ext = CODE_FILES[kind]
        rel = f"{folder}/{name}{ext}"
        ctx.write(rel, attrs.get("code") or "")
        item["sql_file" if folder == "sql" else "code_file"] = rel
    if attrs.get("code_env") not in (None, "", "inherit"):
        item["code_env"] = ctx.config_code_env(attrs["code_env"])
    if attrs.get("container") not in (None, "", "inherit"):
        item["container"] = ctx.config_container(attrs["container"])
    if visual is not None:
        item.update(visual.config_of(attrs))
        raw = _non_default(attrs.get("payload") or {}, visual.payload_defaults, visual.ui_state)
        if raw:
            item["payload"] = raw
    return flow_zone.membership_to_config(described(item, attrs), attrs)


def _non_default(payload: dict[str, Any], defaults: Any, ui_state: tuple[str, ...] = ()) -> dict[str, Any]:
    """What `payload` says beyond DSS's creation defaults (and the UI's state): the keys import
    writes under `payload:`. Mappings are compared key by key (a subset is all the config needs)."""
    raw = {}
    for key, value in payload.items():
        if key in ui_state:
            continue
        default = defaults.get(key) if isinstance(defaults, dict) else None
        if isinstance(value, dict) and isinstance(default, dict):
            nested = _non_default(value, default)
            if nested:
                raw[key] = nested
        elif isinstance(defaults, dict) and key in defaults and same_json(value, default):
            continue
        else:
            raw[key] = copy.deepcopy(value)
    return raw


def _roles_to_config(roles: Any) -> Any:
    roles = roles or {}
    if set(roles) <= {"main"}:
        return list(roles.get("main") or [])
    return {role: list(refs) for role, refs in roles.items()}


def check_items(built: list[BuiltItem], ctx: CheckContext) -> None:
    """What no single recipe shows: an output written by two recipes, and a cycle in the Flow."""
    writers: dict[str, int] = {}
    for recipe in built:
        for ref in sorted({r for refs in roles_of(recipe.item.get("outputs")).values() for r in refs}):
            if ref in writers:
                message = f"{ref!r} is already the output of recipe #{writers[ref] + 1}; a dataset has one writer"
                ctx.error((recipe.index, "outputs"), message)
            writers.setdefault(ref, recipe.index)
    _check_flow_cycle(built, ctx)


def _check_flow_cycle(built: list[BuiltItem], ctx: CheckContext) -> None:
    """Dataset-level Flow graph (input -> output through each recipe): a cycle is an error at the
    recipe writing its first dataset."""
    edges: dict[str, set[str]] = {}
    writer_of: dict[str, int] = {}
    for recipe in built:
        inputs = {r for refs in roles_of(recipe.item.get("inputs")).values() for r in refs}
        outputs = {r for refs in roles_of(recipe.item.get("outputs")).values() for r in refs}
        for output in outputs:
            writer_of.setdefault(output, recipe.index)
        for source in inputs:
            edges.setdefault(source, set()).update(outputs)
    cycle = find_cycle(edges)
    if cycle:
        ctx.error((writer_of.get(cycle[0], built[0].index),), "the Flow has a cycle: " + loop_text(cycle))


SPEC = ResourceSpec(
    type="recipe",
    label="recipe",
    color="#b35c00",
    handler=RecipeHandler(),
    section="recipes",
    # The code kinds' item schemas are in project.schema.json; the visual kinds' come with their modules.
    schema=ConfigSchema(in_project_schema=True, defs=schema_defs()),
    file_keys=("code_file", "sql_file"),
    references=("flow_zone", "dataset", "managed_folder", "saved_model", "model_evaluation_store"),
    # A scoring or evaluation recipe names its saved model and its evaluation store by DSS id: one the
    # plan replaces has a new id, so the recipe is written again after it (a replaced folder instead
    # replaces its recipes: DSS deletes them with it).
    rewritten_with=("saved_model", "model_evaluation_store"),
    build=build,
    to_config=to_config,
    check_items=check_items,
    flow_links=flow_links,
)
