"""Projects: name, description, tags, owner, permissions, variables, code env, container.

A DSS project is spread over four documents (metadata, permissions, variables,
settings); an update rewrites only the documents holding a changed attribute.

The tool marks each project it creates or adopts with the lineage of the state that owns it,
in the project's custom metadata (`custom.kv`, the "Metadata" tab of the project in DSS).
The marker is a second key next to the state: a delete in a project whose marker is missing
or names another state is refused unless forced (see planner `_marker_problems`), so a state
edited to claim a project the configuration never named cannot make `apply` delete it.
It is read with the metadata every observation reads anyway: no extra request.
"""

from __future__ import annotations

import copy
import re
from typing import Any, Optional

from dataiku_iac.model import Resource
from dataiku_iac.resources.base import (
    Observed,
    ProjectContext,
    ResourceHandler,
    container_to_dss,
    container_to_logical,
    copy_keys,
    env_selection_to_dss,
    env_selection_to_logical,
    version_tag_of,
)
from dataiku_iac.resources.policy import ABSENT, Field, FieldPolicy, is_secret_ref
from dataiku_iac.resources.spec import BuildContext, ConfigSchema, ImportContext, ResourceSpec

# DSS permission flags, camelCase as DSS writes them; the config uses snake_case.
PERMISSION_FLAGS = (
    "admin",
    "readProjectContent",
    "writeProjectContent",
    "exportDatasetsData",
    "readDashboards",
    "writeDashboards",
    "moderateDashboards",
    "runScenarios",
    "manageDashboardAuthorizations",
    "manageExposedElements",
    "manageAdditionalDashboardUsers",
    "executeApp",
    "shareToWorkspaces",
    "publishToDataCollections",
)
ROLES = {
    "reader": ("read_project_content", "read_dashboards"),
    "contributor": (
        "read_project_content",
        "write_project_content",
        "export_datasets_data",
        "read_dashboards",
        "write_dashboards",
        "run_scenarios",
    ),
    "admin": (
        "admin",
        "read_project_content",
        "write_project_content",
        "export_datasets_data",
        "read_dashboards",
        "write_dashboards",
        "run_scenarios",
    ),
    # Sees the project's dashboards (and the objects `dashboard_authorizations` opens), not its Flow.
    "dashboard_reader": ("read_dashboards",),
}


# The key of the project's custom metadata holding the lineage of the state that manages it.
MARKER_KEY = "dataiku-iac.lineage"


def marker_of(metadata: Any) -> Optional[str]:
    """The state lineage a project's metadata document is marked with, None if unmarked."""
    custom = metadata.get("custom") if isinstance(metadata, dict) else None
    kv = custom.get("kv") if isinstance(custom, dict) else None
    value = kv.get(MARKER_KEY) if isinstance(kv, dict) else None
    return value if isinstance(value, str) and value else None


def with_marker(metadata: dict[str, Any], lineage: str) -> dict[str, Any]:
    """`metadata` with the marker set, every other custom key kept."""
    patched = copy.deepcopy(metadata)
    custom = patched.get("custom")
    custom = custom if isinstance(custom, dict) else {}
    kv = custom.get("kv")
    kv = kv if isinstance(kv, dict) else {}
    patched["custom"] = {**custom, "kv": {**kv, MARKER_KEY: lineage}}
    return patched


def snake(flag: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in flag)


def _permission_key(row: dict[str, Any]) -> str:
    return f"group:{row['group']}" if "group" in row else f"user:{row.get('user')}"


POLICY = FieldPolicy(
    fields=(
        Field("name"),
        Field("description", reset=""),
        Field("short_description", reset=""),
        Field("tags", compare="set", reset=[]),
        Field("owner"),
        Field("permissions", compare="keyed", key=_permission_key, reset=[]),
        # What dashboard-only readers may see through the dashboards' insights (docs/dashboards.md).
        Field("dashboard_authorizations"),
        Field("variables", compare="map"),
        Field("code_env", compare="subset", reset={"python": "inherit", "r": "inherit"}),
        Field("container", reset="inherit"),
    )
)

# Which DSS document holds each logical attribute.
_DOCUMENT_OF = {
    "name": "metadata",
    "description": "metadata",
    "short_description": "metadata",
    "tags": "metadata",
    "owner": "permissions",
    "permissions": "permissions",
    "dashboard_authorizations": "permissions",
    "variables": "variables",
    "code_env": "settings",
    "container": "settings",
}


class ProjectHandler(ResourceHandler):
    type = "project"
    policy = POLICY

    # -- observation -------------------------------------------------------------
    # The four documents a project is spread over; DSS has no bulk read of them.
    DOCUMENTS = ("metadata", "permissions", "variables", "settings")

    def read_document(self, client: Any, project_key: str, name: str) -> Any:
        project = client.get_project(project_key)
        if name == "metadata":
            return project.get_metadata()
        if name == "permissions":
            return project.get_permissions()
        if name == "variables":
            return project.get_variables()
        if name == "settings":
            return project.get_settings().get_raw()
        raise ValueError(f"not a project document: {name}")

    def read_documents(self, client: Any, project_key: str) -> dict[str, Any]:
        return {name: self.read_document(client, project_key, name) for name in self.DOCUMENTS}

    def observe_project(self, client: Any, project_key: str, summary: dict[str, Any]) -> Observed:
        return self.observed_from_documents(project_key, self.read_documents(client, project_key), summary)

    def observed_from_documents(self, project_key: str, documents: dict[str, Any], summary: dict[str, Any]) -> Observed:
        docs = dict(documents, summary=summary)
        return Observed(
            type="project",
            project_key=project_key,
            name=project_key,
            dss_id=project_key,
            attributes=self.to_logical(docs, ProjectContext(project_key)),
            version_tag=version_tag_of(summary),
        )

    def to_logical(self, doc: dict[str, Any], ctx: ProjectContext) -> dict[str, Any]:
        metadata = doc.get("metadata") or {}
        permissions = doc.get("permissions") or {}
        settings = (doc.get("settings") or {}).get("settings") or {}
        variables = doc.get("variables") or {}
        return {
            "name": metadata.get("label") or (doc.get("summary") or {}).get("name"),
            "description": metadata.get("description") or "",
            "short_description": metadata.get("shortDesc") or "",
            "tags": list(metadata.get("tags") or []),
            "owner": permissions.get("owner"),
            "permissions": [_row_to_logical(r) for r in permissions.get("permissions") or []],
            "dashboard_authorizations": dashboard_authorizations_of(permissions.get("dashboardAuthorizations")),
            "variables": {
                "standard": dict(variables.get("standard") or {}),
                "local": dict(variables.get("local") or {}),
            },
            "code_env": {
                "python": env_selection_to_logical((settings.get("codeEnvs") or {}).get("python"), "mode"),
                "r": env_selection_to_logical((settings.get("codeEnvs") or {}).get("r"), "mode"),
            },
            "container": container_to_logical(settings.get("container")),
        }

    # -- mutation ----------------------------------------------------------------
    def create(self, client: Any, resource: Resource, ctx: ProjectContext) -> Observed:
        attrs = resource.attributes
        owner = attrs.get("owner") or client.get_auth_info().get("authIdentifier") or "admin"
        client.create_project(
            resource.project_key,
            attrs.get("name") or resource.project_key,
            owner,
            description=attrs.get("description") or None,
            tags=list(attrs.get("tags") or []),
        )
        # The create carried name, owner, description and tags. Each document holding a declared
        # attribute is then read once and written only if it differs (which also checks that
        # DSS kept what the create carried); documents declaring nothing are not read. The
        # create cannot carry custom metadata: the marker goes with the metadata write.
        documents = self._documents_of(resource.attributes) | ({"metadata"} if ctx.marker else set())
        return self._write_documents(client, resource, documents, marker=ctx.marker)

    def mark(self, client: Any, project_key: str, lineage: str) -> None:
        """Mark an existing project as managed by the state of `lineage` (read-modify-write)."""
        project = client.get_project(project_key)
        metadata = project.get_metadata()
        if marker_of(metadata) != lineage:
            project.set_metadata(with_marker(metadata, lineage))

    def read_marker(self, client: Any, project_key: str) -> Optional[str]:
        return marker_of(client.get_project(project_key).get_metadata())

    def update(self, client: Any, resource: Resource, current: Observed, ctx: ProjectContext) -> Observed:
        documents = self._changed_documents(resource.attributes, current.attributes)
        # A create whose answer was lost finishes as an update of the project found: with its marker.
        return self._write_documents(client, resource, documents | ({"metadata"} if ctx.marker else set()), marker=ctx.marker)

    def _write_documents(self, client: Any, resource: Resource, documents: set[str], marker: Optional[str] = None) -> Observed:
        """Read-modify-write the given documents, skipping saves that change nothing.

        The project is not read again afterwards (that was 5 more requests per project, on
        the critical path of everything in it): the state records the declared attributes,
        and the next observation reads the documents anew. The versionTag is unknown after a
        save, as for every other type.
        """
        project = client.get_project(resource.project_key)
        attrs = resource.attributes
        if "metadata" in documents:
            metadata = project.get_metadata()
            patched = self._patch_metadata(metadata, attrs)
            if marker:
                patched = with_marker(patched, marker)
            if patched != metadata:
                project.set_metadata(patched)
        if "permissions" in documents:
            permissions = project.get_permissions()
            patched = self._patch_permissions(permissions, attrs)
            if patched != permissions:
                project.set_permissions(patched)
        if "variables" in documents:
            variables = project.get_variables()
            patched = self._patch_variables(variables, resource)
            if patched != {section: dict(variables.get(section) or {}) for section in ("standard", "local")}:
                project.set_variables(patched)
        if "settings" in documents:
            settings = project.get_settings()
            raw = settings.get_raw()
            before = copy.deepcopy(raw)
            self._patch_settings(raw, attrs)
            if raw != before:
                settings.save()
        return Observed(
            type="project",
            project_key=resource.project_key,
            name=resource.project_key,
            dss_id=resource.project_key,
            attributes=copy.deepcopy(dict(attrs)),
        )

    def delete(self, client: Any, project_key: str, dss_id: str, *, drop_data: bool) -> None:
        future = client.get_project(dss_id).delete(
            clear_managed_datasets=drop_data,
            clear_output_managed_folders=drop_data,
            clear_job_and_scenario_logs=True,
        )
        if future is not None and hasattr(future, "wait_for_result"):
            future.wait_for_result()

    # -- helpers -----------------------------------------------------------------
    @staticmethod
    def _documents_of(attrs: dict[str, Any]) -> set[str]:
        return {_DOCUMENT_OF[name] for name in attrs if name in _DOCUMENT_OF}

    def _changed_documents(self, desired: dict[str, Any], observed: dict[str, Any]) -> set[str]:
        return {
            _DOCUMENT_OF[name]
            for name, value in desired.items()
            if name in _DOCUMENT_OF and not self.policy.equal(name, value, observed.get(name))
        }

    @staticmethod
    def _patch_metadata(metadata: dict[str, Any], attrs: dict[str, Any]) -> dict[str, Any]:
        patched = copy.deepcopy(metadata)
        for name, key in (("name", "label"), ("description", "description"), ("short_description", "shortDesc")):
            if name in attrs:
                patched[key] = attrs[name]
        if "tags" in attrs:
            patched["tags"] = list(attrs["tags"])
        return patched

    @staticmethod
    def _patch_permissions(permissions: dict[str, Any], attrs: dict[str, Any]) -> dict[str, Any]:
        patched = copy.deepcopy(permissions)
        if attrs.get("owner"):
            patched["owner"] = attrs["owner"]
        if "permissions" in attrs:
            patched["permissions"] = [_row_to_dss(row) for row in attrs["permissions"]]
        if "dashboard_authorizations" in attrs:
            patched["dashboardAuthorizations"] = write_dashboard_authorizations(
                attrs["dashboard_authorizations"], patched.get("dashboardAuthorizations"))
        return patched

    @staticmethod
    def _patch_variables(variables: dict[str, Any], resource: Resource) -> dict[str, Any]:
        patched = {"standard": dict(variables.get("standard") or {}), "local": dict(variables.get("local") or {})}
        for section, values in (resource.attributes.get("variables") or {}).items():
            for key, value in values.items():
                if value == ABSENT:
                    patched[section].pop(key, None)
                elif is_secret_ref(value):
                    patched[section][key] = resource.secrets[f"variables.{section}.{key}"]
                else:
                    patched[section][key] = value
        return patched

    @staticmethod
    def _patch_settings(raw: dict[str, Any], attrs: dict[str, Any]) -> None:
        settings = raw.setdefault("settings", {})
        if "code_env" in attrs:
            envs = settings.setdefault("codeEnvs", {})
            for lang, value in attrs["code_env"].items():
                envs[lang] = env_selection_to_dss(value, envs.get(lang) or {}, "mode")
        if "container" in attrs:
            settings["container"] = container_to_dss(attrs["container"])


def _row_to_logical(row: dict[str, Any]) -> dict[str, Any]:
    who = {"group": row["group"]} if row.get("group") else {"user": row.get("user")}
    who["permissions"] = sorted(snake(f) for f in PERMISSION_FLAGS if row.get(f))
    return who


def _row_to_dss(row: dict[str, Any]) -> dict[str, Any]:
    dss: dict[str, Any] = {"group": row["group"]} if "group" in row else {"user": row["user"]}
    granted = set(row.get("permissions") or [])
    for flag in PERMISSION_FLAGS:
        dss[flag] = snake(flag) in granted
    return dss


def dashboard_authorizations_of(doc: Any) -> dict[str, Any]:
    """DSS's `dashboardAuthorizations` -> {all, datasets}: the datasets readable (READ) through dashboards."""
    doc = doc if isinstance(doc, dict) else {}
    datasets = [a["objectRef"].get("objectId") for a in doc.get("authorizations") or []
                if isinstance(a, dict) and isinstance(a.get("objectRef"), dict)
                and a["objectRef"].get("objectType") == "DATASET" and "READ" in (a.get("modes") or [])]
    return {"all": bool(doc.get("allAuthorized")), "datasets": sorted(str(d) for d in datasets)}


def write_dashboard_authorizations(wanted: dict[str, Any], current: Any) -> dict[str, Any]:
    """The declared datasets as READ authorizations; the authorizations of other objects (saved
    models, folders…), which the configuration does not speak of, are kept as DSS has them."""
    doc = copy.deepcopy(current) if isinstance(current, dict) else {}
    kept = [a for a in doc.get("authorizations") or []
            if not (isinstance(a, dict) and (a.get("objectRef") or {}).get("objectType") == "DATASET")]
    doc["allAuthorized"] = bool(wanted.get("all"))
    doc["authorizations"] = kept + [{"objectRef": {"objectId": name, "objectType": "DATASET"}, "modes": ["READ"]}
                                    for name in wanted.get("datasets") or []]
    return doc


def expand_role(role: str) -> list[str]:
    return sorted(ROLES[role])


# -- the configuration ----------------------------------------------------------------------
# Variable names that look like secrets: import writes them as `{secret_env: NAME}` references.
SECRET_NAME = re.compile(r"pass|secret|token|api[_-]?key|credential|pwd", re.IGNORECASE)
# DSS writes this short description itself when a project is created.
AUTO_SHORT_DESC = re.compile(r"^The project \*.*\* was created by .* on .*$")


def build(item: dict[str, Any], ctx: BuildContext) -> dict[str, Any]:
    """The `project` mapping -> logical attributes."""
    attrs: dict[str, Any] = {"name": item["name"]}
    copy_keys(item, attrs, "description", "short_description", "owner")
    if "tags" in item:
        attrs["tags"] = list(item["tags"])
    if "permissions" in item:
        attrs["permissions"] = [_permission(row) for row in item["permissions"]]
    if "dashboard_authorizations" in item:
        written = item["dashboard_authorizations"]
        attrs["dashboard_authorizations"] = {"all": bool(written.get("all", False)),
                                             "datasets": sorted(set(written.get("datasets") or []))}
    if "variables" in item:
        attrs["variables"] = _variables(item["variables"], ctx)
    if "code_env" in item:
        value = item["code_env"]
        value = {"python": value} if isinstance(value, str) else dict(value)
        attrs["code_env"] = {lang: ctx.remap_code_env(f"code_env.{lang}", v) for lang, v in value.items()}
    if "container" in item:
        attrs["container"] = ctx.remap_container("container", item["container"])
    return attrs


def _permission(row: dict[str, Any]) -> dict[str, Any]:
    who: dict[str, Any] = {"group": row["group"]} if "group" in row else {"user": row["user"]}
    who["permissions"] = expand_role(row["role"]) if "role" in row else sorted(set(row.get("permissions") or []))
    return who


def _variables(variables: dict[str, Any], ctx: BuildContext) -> dict[str, Any]:
    result: dict[str, dict[str, Any]] = {}
    for section in ("standard", "local"):
        if section not in variables:
            continue
        result[section] = {}
        for name, value in (variables[section] or {}).items():
            if isinstance(value, dict) and set(value) == {"secret_env"}:
                value = ctx.secret(("variables", section, name), value["secret_env"], f"variables.{section}.{name}",
                                   f"secret variable {name!r}")
                if value is None:
                    continue
            result[section][name] = value
    return result


def to_config(key: str, attrs: dict[str, Any], ctx: ImportContext) -> dict[str, Any]:
    """Logical attributes -> the `project` mapping (`key`: the project key as the configuration
    writes it). Variables whose names look secret become `{secret_env: NAME}` references."""
    item: dict[str, Any] = {"key": key, "name": attrs.get("name") or key}
    if attrs.get("description"):
        item["description"] = attrs["description"]
    short = attrs.get("short_description") or ""
    if short and not AUTO_SHORT_DESC.match(short):
        item["short_description"] = short
    if attrs.get("owner"):
        item["owner"] = attrs["owner"]
    if attrs.get("tags"):
        item["tags"] = list(attrs["tags"])
    if attrs.get("permissions"):
        item["permissions"] = [_permission_to_config(row) for row in attrs["permissions"]]
    authorizations = attrs.get("dashboard_authorizations") or {}
    if authorizations.get("all") or authorizations.get("datasets"):
        item["dashboard_authorizations"] = {k: v for k, v in authorizations.items() if v}
    variables = _variables_to_config(key, attrs.get("variables") or {}, ctx)
    if variables:
        item["variables"] = variables
    envs = {lang: ctx.config_code_env(v) for lang, v in (attrs.get("code_env") or {}).items() if v and v != "inherit"}
    if envs:
        item["code_env"] = envs["python"] if list(envs) == ["python"] else envs
    if attrs.get("container") not in (None, "", "inherit"):
        item["container"] = ctx.config_container(attrs["container"])
    return item


def _permission_to_config(row: dict[str, Any]) -> dict[str, Any]:
    who = {k: row[k] for k in ("group", "user") if k in row}
    flags = sorted(row.get("permissions") or [])
    role = next((r for r, granted in ROLES.items() if sorted(granted) == flags), None)
    return {**who, "role": role} if role else {**who, "permissions": flags}


def _variables_to_config(key: str, variables: dict[str, Any], ctx: ImportContext) -> dict[str, Any]:
    result = {}
    for section in ("standard", "local"):
        values = {}
        for name, value in (variables.get(section) or {}).items():
            if SECRET_NAME.search(name) and isinstance(value, str):
                env_name = re.sub(r"[^A-Z0-9]+", "_", f"IAC_SECRET_{key}_{name}".upper())
                values[name] = ctx.secret(env_name, value, f"{section}.{name}")
            else:
                values[name] = value
        if values:
            result[section] = values
    return result


# -- the schema of the `project` mapping (the project file) ----------------------------------
_NONEMPTY = {"$ref": "#/$defs/nonempty"}
SCHEMA = ConfigSchema(
    defs={
        "project": {
            "type": "object",
            "properties": {
                "key": {"$ref": "#/$defs/project_key"},
                "name": _NONEMPTY,
                "description": {"$ref": "#/$defs/text"},
                "short_description": {"$ref": "#/$defs/text"},
                "owner": _NONEMPTY,
                "tags": {"$ref": "#/$defs/tags"},
                "variables": {
                    "type": "object",
                    "properties": {"standard": {"$ref": "#/$defs/variables_map"}, "local": {"$ref": "#/$defs/variables_map"}},
                    "additionalProperties": False,
                },
                "permissions": {"type": "array", "items": {"$ref": "#/$defs/permission"}},
                "dashboard_authorizations": {
                    "type": "object",
                    "properties": {
                        "all": {"type": "boolean"},
                        "datasets": {"type": "array", "items": {"$ref": "#/$defs/name"}, "uniqueItems": True},
                    },
                    "additionalProperties": False,
                },
                "code_env": {
                    "anyOf": [
                        {"$ref": "#/$defs/code_env_name"},
                        {
                            "type": "object",
                            "properties": {"python": {"$ref": "#/$defs/code_env_name"}, "r": {"$ref": "#/$defs/code_env_name"}},
                            "additionalProperties": False,
                        },
                    ],
                    "x-messages": {"anyOf": "expected a code env name, or a mapping with 'python' and/or 'r'"},
                },
                "container": {"type": "string", "minLength": 1, "description": "inherit | none | a container config name"},
                "protect": {"$ref": "#/$defs/protect"},
            },
            "additionalProperties": False,
            "required": ["key", "name"],
        },
        "permission": {
            "type": "object",
            "properties": {
                "group": _NONEMPTY,
                "user": _NONEMPTY,
                "role": {"enum": list(ROLES)},
                "permissions": {"type": "array", "uniqueItems": True, "items": {"enum": [
                    "read_project_content", "write_project_content", "export_datasets_data", "read_dashboards",
                    "write_dashboards", "moderate_dashboards", "run_scenarios", "manage_dashboard_authorizations",
                    "manage_exposed_elements", "manage_additional_dashboard_users", "execute_app",
                    "share_to_workspaces", "publish_to_data_collections", "admin"]}},
            },
            "additionalProperties": False,
            "allOf": [
                {
                    "anyOf": [{"required": ["group"]}, {"required": ["user"]}],
                    "not": {"required": ["group", "user"]},
                    "x-locate": "user",
                    "x-messages": {
                        "anyOf": "a permission needs a 'group' or a 'user'",
                        "not": "a permission names either a 'group' or a 'user', not both",
                    },
                },
                {
                    "anyOf": [{"required": ["role"]}, {"required": ["permissions"]}],
                    "not": {"required": ["role", "permissions"]},
                    "x-locate": "permissions",
                    "x-messages": {
                        "anyOf": "a permission needs a 'role' (reader, contributor, admin) or a list of 'permissions'",
                        "not": "a permission takes either a 'role' or a list of 'permissions', not both",
                    },
                },
            ],
        },
        # A variable is a value, or a secret reference (`$defs/secret_ref`, shared).
        "variables_map": {
            "type": "object",
            "additionalProperties": {"if": {"type": "object", "required": ["secret_env"]}, "then": {"$ref": "#/$defs/secret_ref"}},
        },
    }
)


SPEC = ResourceSpec(
    type="project",
    label="project",
    color="#5b6770",
    handler=ProjectHandler(),
    named=False,
    section="project",
    id_key="key",
    schema=SCHEMA,
    holds_data=True,
    data_held="its managed datasets' and output folders' data",
    build=build,
    to_config=to_config,
)
