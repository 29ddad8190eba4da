"""Code webapps (`project.create_webapp`, dataikuapi `dss/webapp.py`): standard (HTML, CSS, JS and
an optional Python backend), Bokeh, Dash, Streamlit (Python) and Shiny (R) webapps, their code
from files, their backend settings.

DSS gives a webapp an id of its own (7 characters) and accepts two of one name, so a webapp is
found again by the id the state records (Identity.SERVER_ID), and renamed in place.

**Code.** The API's settings document carries the code in `params`: `html`, `css`, `js` and
`python` (a standard webapp's page and backend), `python` (Bokeh, Dash, Streamlit), `ui` and
`server` (Shiny's two R files). Each piece is a logical attribute of its own (`html`, `css`…),
managed when the configuration names its file (`html_file`…): a piece it does not name keeps the
code DSS has (the starter code DSS writes at creation, or what someone wrote).

**Backend.** `backend: {enabled, auto_start, code_env}` is DSS's `params.backendEnabled` (standard
webapps only: the other kinds are all backend), `params.autoStartBackend` and
`params.envSelection`. When an apply changes a webapp whose backend is running, the backend is
restarted, so that it serves what was applied (DSS's editor does the same on save). Nothing else
starts or stops a backend: DSS starts those with `auto_start` itself.

**Type.** A webapp's `type` is changed in place, by saving its settings with the new type (DSS's
settings carry it; a public script changes plugin webapps' types that way): a replacement would
need a delete, which DSS's public API lacks.

**No delete.** dataikuapi (15.2) has no call that deletes a webapp: it goes with its project
(`deleted_with_project`, as API services).
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import re
from typing import Any, Optional

from dataiku_iac.model import Resource
from dataiku_iac.resources.base import (
    Observed,
    ProjectContext,
    ResourceHandler,
    described,
    env_selection_to_dss,
    env_selection_to_logical,
    save_if_changed,
    version_tag_of,
)
from dataiku_iac.resources.policy import Field, FieldPolicy
from dataiku_iac.resources.spec import BuildContext, ConfigSchema, Identity, ImportContext, ResourceSpec

TYPE = "webapp"
CODE_DIR = "webapps"  # where import writes a webapp's code

# The configuration's types and DSS's.
TYPES = {"standard": "STANDARD", "bokeh": "BOKEH", "dash": "DASH", "streamlit": "STREAMLIT", "shiny": "SHINY"}
LOGICAL_TYPES = {dss: logical for logical, dss in TYPES.items()}

# Each piece of code: its item key, its key in DSS's params (the logical attribute too), and the
# file name DSS gives it on disk (import writes it so).
CODE_PIECES = {
    "html_file": ("html", "body.html"),
    "css_file": ("css", "style.css"),
    "js_file": ("js", "app.js"),
    "python_file": ("python", "backend.py"),
    "ui_file": ("ui", "ui.R"),
    "server_file": ("server", "server.R"),
}
# The pieces each type has.
TYPE_CODE = {
    "standard": ("html_file", "css_file", "js_file", "python_file"),
    "bokeh": ("python_file",),
    "dash": ("python_file",),
    "streamlit": ("python_file",),
    "shiny": ("ui_file", "server_file"),
}
ENV_MODE_KEY = "envMode"  # a webapp's params.envSelection, as a code recipe's

# Free text, as DSS names webapps ("Sales dashboard"): no surrounding blanks, no control character.
DISPLAY_NAME = r"^[^\s\x00-\x1f](?:[^\x00-\x1f]*[^\s\x00-\x1f])?$"
WRITABLE_NAME = re.compile(DISPLAY_NAME)

POLICY = FieldPolicy(
    fields=(
        Field("type"),
        *(Field(attribute) for attribute, _ in CODE_PIECES.values()),
        Field("backend", compare="subset"),
        Field("description", reset=""),
        Field("tags", compare="set", reset=[]),
    )
)


class WebappHandler(ResourceHandler):
    type = TYPE
    policy = POLICY
    per_object_read = True  # the list has ids and names: code and params come from each webapp's settings
    list_has_version_numbers = False
    renames_in_place = True

    def list_items(self, client: Any, project_key: str) -> list[dict[str, Any]]:
        return [dict(item) for item in client.get_project(project_key).list_webapps()]

    def item_id(self, item: dict[str, Any]) -> Optional[str]:
        return item.get("id")

    def listed_version(self, item: dict[str, Any]) -> Optional[dict[str, Any]]:
        return None

    def read_item(self, client: Any, project_key: str, item: dict[str, Any]) -> dict[str, Any]:
        return dict(client.get_project(project_key).get_webapp(item["id"]).get_settings().get_raw())

    def observed_from(self, project_key: str, doc: dict[str, Any], ctx: ProjectContext) -> Observed:
        return Observed(TYPE, project_key, doc["name"], doc["id"], self.to_logical(doc, ctx), version_tag_of(doc))

    def to_logical(self, doc: dict[str, Any], ctx: ProjectContext) -> dict[str, Any]:
        dss_type = doc.get("type")
        kind = LOGICAL_TYPES.get(str(dss_type), dss_type)
        params = doc.get("params") or {}
        logical: dict[str, Any] = {"type": kind}
        for attribute, _ in CODE_PIECES.values():
            if attribute in params:
                logical[attribute] = params[attribute] if params[attribute] is not None else ""
        logical["backend"] = {
            "enabled": bool(params.get("backendEnabled")) if kind == "standard" else True,
            "auto_start": bool(params.get("autoStartBackend")),
            "code_env": env_selection_to_logical(params.get("envSelection"), ENV_MODE_KEY),
        }
        logical["description"] = doc.get("description") or ""
        logical["tags"] = list(doc.get("tags") or [])
        return logical

    def create(self, client: Any, resource: Resource, ctx: ProjectContext) -> Observed:
        project = client.get_project(resource.project_key)
        webapp = project.create_webapp(resource.name, webapp_type=TYPES[resource.attributes["type"]])
        return self._save(webapp, resource, ctx)

    def update(self, client: Any, resource: Resource, current: Observed, ctx: ProjectContext) -> Observed:
        webapp = client.get_project(resource.project_key).get_webapp(current.dss_id)
        return self._save(webapp, resource, ctx, restart=True)

    def _save(self, webapp: Any, resource: Resource, ctx: ProjectContext, *, restart: bool = False) -> Observed:
        """Read-modify-write of the settings; a running backend restarted when they changed."""
        settings = webapp.get_settings()
        raw = settings.get_raw()
        before = copy.deepcopy(raw)
        patch_document(raw, resource.name, resource.attributes)
        changed = raw != before
        saved = save_if_changed(settings, raw, before)
        if restart and changed and webapp.get_state().running:
            webapp.start_or_restart_backend().wait_for_result()
        return self.observed_from(resource.project_key, saved, ctx)



def patch_document(raw: dict[str, Any], name: str, attrs: dict[str, Any]) -> None:
    """Write the declared attributes into a webapp's settings document (only those keys)."""
    raw["name"] = name
    if "type" in attrs:  # a plugin's webapp type (never declared) is kept as DSS has it
        raw["type"] = TYPES.get(attrs["type"], attrs["type"])
    params = raw.setdefault("params", {})
    for attribute, _ in CODE_PIECES.values():
        if attribute in attrs:
            params[attribute] = attrs[attribute]
    backend = attrs.get("backend") or {}
    if "enabled" in backend and raw.get("type") == "STANDARD":
        params["backendEnabled"] = backend["enabled"]
    if "auto_start" in backend:
        params["autoStartBackend"] = backend["auto_start"]
    if "code_env" in backend:
        params["envSelection"] = env_selection_to_dss(backend["code_env"], params.get("envSelection") or {}, ENV_MODE_KEY)
    if "description" in attrs:
        raw["description"] = attrs["description"]
    if "tags" in attrs:
        raw["tags"] = list(attrs["tags"])


def build(item: dict[str, Any], ctx: BuildContext) -> Optional[dict[str, Any]]:
    """A `webapps` item -> logical attributes."""
    kind = item.get("type", "standard")
    attrs: dict[str, Any] = {"type": kind}
    for key, (attribute, _) in CODE_PIECES.items():
        if key not in item:
            continue
        if key not in TYPE_CODE[kind]:
            ctx.error((key,), f"a {kind} webapp has no {attribute} code: `{key}` belongs to "
                      f"{', '.join(t for t, keys in TYPE_CODE.items() if key in keys)} webapps",
                      f"a {kind} webapp's code: {', '.join(TYPE_CODE[kind])}")
            continue
        with contextlib.suppress(KeyError):  # unreadable: reported by the loader
            attrs[attribute] = ctx.file_text(item[key])
    backend = _build_backend(item.get("backend") or {}, kind, ctx)
    if backend:
        attrs["backend"] = backend
    if "description" in item:
        attrs["description"] = item["description"]
    if "tags" in item:
        attrs["tags"] = list(item["tags"])
    return attrs


def _build_backend(backend: dict[str, Any], kind: str, ctx: BuildContext) -> dict[str, Any]:
    logical: dict[str, Any] = {}
    if "enabled" in backend:
        if kind != "standard":
            ctx.error(("backend", "enabled"), f"a {kind} webapp is all backend: only a standard webapp's backend "
                      "can be enabled or not", "remove backend.enabled")
        else:
            logical["enabled"] = backend["enabled"]
    if "auto_start" in backend:
        logical["auto_start"] = backend["auto_start"]
    if "code_env" in backend:
        logical["code_env"] = ctx.remap_code_env("backend.code_env", backend["code_env"])
    return logical


def to_config(name: str, attributes: dict[str, Any], ctx: ImportContext) -> Optional[dict[str, Any]]:
    """Logical attributes -> a `webapps` item, its code written to files under webapps/; None for a
    webapp the configuration cannot write (a plugin's webapp, a name with control characters)."""
    kind = attributes.get("type")
    if kind not in TYPE_CODE:
        ctx.not_expressed(f"it is a webapp of type {kind}, which the configuration does not declare "
                          f"({', '.join(TYPES)}: code webapps)")
        return None
    if not WRITABLE_NAME.match(name):
        return None
    item: dict[str, Any] = {"name": name, "type": kind}
    folder = f"{CODE_DIR}/{file_stem(name)}"
    for key in TYPE_CODE[str(kind)]:
        attribute, file_name = CODE_PIECES[key]
        if attributes.get(attribute):
            ctx.write(f"{folder}/{file_name}", attributes[attribute])
            item[key] = f"{folder}/{file_name}"
    backend = _backend_to_config(attributes.get("backend") or {}, str(kind), ctx)
    if backend:
        item["backend"] = backend
    return described(item, attributes)


def _backend_to_config(backend: dict[str, Any], kind: str, ctx: ImportContext) -> dict[str, Any]:
    """What DSS's settings say that is not a new webapp's default."""
    written: dict[str, Any] = {}
    if kind == "standard" and backend.get("enabled"):
        written["enabled"] = True
    if backend.get("auto_start"):
        written["auto_start"] = True
    code_env = backend.get("code_env")
    if code_env and code_env != "inherit":
        written["code_env"] = ctx.config_code_env(code_env)
    return written


def file_stem(name: str) -> str:
    """A file or folder name for an object's name: letters, digits, '_', '-' and '.' kept, anything
    else '_'; a changed name gets a short hash of the original, so that two names never share files."""
    stem = re.sub(r"[^A-Za-z0-9_.-]", "_", name).strip(".") or "_"
    if stem != name:
        stem += "-" + hashlib.sha256(name.encode("utf-8")).hexdigest()[:6]
    return stem


SCHEMA = ConfigSchema(
    defs={
        TYPE: {
            "type": "object",
            "properties": {
                "name": {"$ref": "#/$defs/display_name"},
                "type": {"enum": list(TYPES)},
                **{key: {"$ref": "#/$defs/relpath"} for key in CODE_PIECES},
                "backend": {
                    "type": "object",
                    "properties": {
                        "enabled": {"type": "boolean"},
                        "auto_start": {"type": "boolean"},
                        "code_env": {"$ref": "#/$defs/code_env_name"},
                    },
                    "additionalProperties": False,
                },
                "description": {"$ref": "#/$defs/text"},
                "tags": {"$ref": "#/$defs/tags"},
                "protect": {"$ref": "#/$defs/protect"},
            },
            "additionalProperties": False,
            "required": ["name"],
        },
        # Free-text names (webapps, wiki articles): DSS's own names have blanks.
        "display_name": {
            "type": "string",
            "pattern": DISPLAY_NAME,
            "maxLength": 256,
            "x-messages": {"pattern": "a name may not start or end with a blank, nor hold control characters",
                           "maxLength": "a name is at most 256 characters long"},
        },
    }
)

SPEC = ResourceSpec(
    type=TYPE,
    label="webapp",
    color="#c0392b",
    handler=WebappHandler(),
    identity=Identity.SERVER_ID,
    section="webapps",
    schema=SCHEMA,
    file_keys=tuple(CODE_PIECES),
    deleted_with_project=True,
    update_note="if its backend is running, the apply restarts it (to serve what is applied)",
    build=build,
    to_config=to_config,
)
