"""Managed folders. DSS assigns each folder an 8-character id; the config names folders,
so the id is learned at creation and recorded in state (and in the project context, for
recipes that reference the folder)."""

from __future__ import annotations

import copy
from typing import Any, Mapping, Optional

from dataiku_iac import defaults
from dataiku_iac.model import Resource
from dataiku_iac.resources import flow_zone
from dataiku_iac.resources.base import (
    Observed,
    ProjectContext,
    ResourceHandler,
    copy_keys,
    create_answer,
    created_document,
    deep_merge,
    described,
    save_if_changed,
    version_tag_of,
)
from dataiku_iac.resources.policy import Effect, Field, FieldPolicy, Impact, ImpactRule
from dataiku_iac.resources.spec import BuildContext, ConfigSchema, Identity, ImportContext, ResourceSpec


def _storage_rule(what: str) -> ImpactRule:
    """DSS moves no file when a folder's connection or path changes: the files stay at the old place
    and the folder reads the new one (empty, or another folder's files)."""

    def rule(before: Any, after: Any, _old: Mapping[str, Any], _new: Mapping[str, Any]) -> list[Effect]:
        return [Effect(Impact.DESTRUCTIVE, f"{what} changes from {before!r} to {after!r}: the files stored so far "
                                           f"stay at the old {what}, the folder no longer reads them")]

    return rule


POLICY = FieldPolicy(
    fields=(
        Field("connection", impact=_storage_rule("connection")),
        Field("path", impact=_storage_rule("path")),
        Field("description", reset=""),
        Field("tags", compare="set", reset=[]),
        Field("params", compare="subset"),
        flow_zone.MEMBER_FIELD,
    )
)

# The params DSS gives a new folder (real document: managed_folder/filesystem_folders_2022.json);
# import writes the other keys under `params`, besides connection and path.
CREATED_PARAMS: dict[str, Any] = {
    "notReadyIfEmpty": False,
    "filesSelectionRules": {"mode": "ALL", "excludeRules": [], "includeRules": [], "explicitFiles": []},
}
_TYPED_PARAMS = ("connection", "path")


class ManagedFolderHandler(ResourceHandler):
    type = "managed_folder"
    policy = POLICY

    def list_items(self, client: Any, project_key: str) -> list[dict[str, Any]]:
        # The folder list returns full documents: one request per project.
        return list(client.get_project(project_key).list_managed_folders())

    renames_in_place = True

    def item_id(self, item: dict[str, Any]) -> Optional[str]:
        return item.get("id")

    def observed_from(self, project_key: str, doc: dict[str, Any], ctx: ProjectContext) -> Observed:
        observed = self._observed(project_key, doc, ctx)
        ctx.remember_folder(observed.name, observed.dss_id)  # recipes and scenarios name folders by id
        return observed

    def _observed(self, project_key: str, doc: dict[str, Any], ctx: ProjectContext) -> Observed:
        return Observed(
            type="managed_folder",
            project_key=project_key,
            name=doc["name"],
            dss_id=doc["id"],
            attributes=self.to_logical(doc, ctx),
            version_tag=version_tag_of(doc),
        )

    def to_logical(self, doc: dict[str, Any], ctx: ProjectContext) -> dict[str, Any]:
        params = doc.get("params") or {}
        return {
            "connection": params.get("connection"),
            "path": params.get("path"),
            "description": doc.get("description") or "",
            "tags": list(doc.get("tags") or []),
            "params": copy.deepcopy(params),
        }

    def create(self, client: Any, resource: Resource, ctx: ProjectContext) -> Observed:
        project = client.get_project(resource.project_key)
        connection = resource.attributes["connection"]
        folder, answer = create_answer(client, lambda: project.create_managed_folder(resource.name, connection_name=connection))
        ctx.remember_folder(resource.name, folder.odb_id)
        identity = {"id": folder.odb_id, "name": resource.name, "projectKey": resource.project_key}
        observed = self._save(client, resource, folder.odb_id, ctx, created_document(answer, identity, ("params",)))
        return flow_zone.place(client, resource, observed, ctx)

    def update(self, client: Any, resource: Resource, current: Observed, ctx: ProjectContext) -> Observed:
        return flow_zone.place(client, resource, self._save(client, resource, current.dss_id, ctx), ctx, current=current)

    def _save(
        self, client: Any, resource: Resource, odb_id: str, ctx: ProjectContext, created: Optional[dict[str, Any]] = None
    ) -> Observed:
        """Read-modify-write of the settings; `created`: the document a create answered with (no read)."""
        folder = client.get_project(resource.project_key).get_managed_folder(odb_id)
        if created is not None:
            from dataikuapi.dss.managedfolder import DSSManagedFolderSettings

            settings = DSSManagedFolderSettings(folder, created)
        else:
            settings = folder.get_settings()
            if settings.get_raw().get("name") != resource.name:  # a planned rename: DSS's own action, id kept
                folder.rename(resource.name)
                settings = folder.get_settings()
                ctx.remember_folder(resource.name, odb_id)
        raw = settings.get_raw()
        before = copy.deepcopy(raw)
        attrs = resource.attributes
        if "params" in attrs:
            raw["params"] = deep_merge(raw.get("params") or {}, attrs["params"])
        params = raw.setdefault("params", {})
        for key in _TYPED_PARAMS:
            if attrs.get(key) is not None:
                params[key] = attrs[key]
        if "description" in attrs:
            raw["description"] = attrs["description"]
        if "tags" in attrs:
            raw["tags"] = list(attrs["tags"])
        return self._observed(resource.project_key, save_if_changed(settings, raw, before), ctx)

    def delete(self, client: Any, project_key: str, dss_id: str, *, drop_data: bool) -> None:
        client.get_project(project_key).get_managed_folder(dss_id).delete(drop_data=drop_data)


def build(item: dict[str, Any], ctx: BuildContext) -> dict[str, Any]:
    """A `managed_folders` item -> logical attributes."""
    written = item.get("connection") or ctx.defaults("managed_folder").get("connection") or defaults.FOLDER_CONNECTION
    attrs: dict[str, Any] = {"connection": ctx.remap_connection("connection", written)}
    copy_keys(item, attrs, "path", "description", "params")
    _refuse_declared_twice(item, ctx)
    if "tags" in item:
        attrs["tags"] = list(item["tags"])
    flow_zone.build_membership(item, attrs, ctx)
    return attrs


def to_config(name: str, attrs: dict[str, Any], ctx: ImportContext) -> dict[str, Any]:
    """Logical attributes -> a `managed_folders` item; a path DSS computed (`${odbId}`) is left out."""
    item: dict[str, Any] = {"name": name, "connection": ctx.config_connection(attrs.get("connection"))}
    path = attrs.get("path") or ""
    if path and "${odbId}" not in path:
        item["path"] = path
    live = attrs.get("params") or {}
    chosen = {k: v for k, v in live.items() if k not in _TYPED_PARAMS and k in CREATED_PARAMS and CREATED_PARAMS[k] != v}
    if chosen:
        item["params"] = chosen
    return flow_zone.membership_to_config(described(item, attrs), attrs)


def _refuse_declared_twice(item: dict[str, Any], ctx: BuildContext) -> None:
    """`path: /a` with `params: {path: /b}` would never converge: a setting has one place."""
    params = item.get("params")
    for key in _TYPED_PARAMS:
        if isinstance(params, dict) and key in params:
            ctx.error(("params", key), f"params.{key} declares again what the folder's {key!r} key declares: "
                      "a setting has one place", f"remove params.{key} (keep {key})")


SPEC = ResourceSpec(
    type="managed_folder",
    label="managed folder",
    color="#0a6e8a",
    handler=ManagedFolderHandler(),
    identity=Identity.SERVER_ID,
    section="managed_folders",
    references=("flow_zone",),
    schema=ConfigSchema(in_project_schema=True),
    holds_data=True,
    build=build,
    to_config=to_config,
)
