"""A resource type written in one spec, as docs/architecture.md "Adding a resource type" says: the
throwaway type of tests/integration/test_throwaway_type.py, which shows that a spec and one
registration give a type validate, plan, apply, drift, import and the state commands.

It manages DSS SQL notebooks (`project.create_sql_notebook`, `get_sql_notebook` in dataikuapi): an
object no built-in type manages, that the emulator serves as DSS does
(emulator/dss_emulator/routes/notebooks.py). DSS gives each notebook an id of its own and accepts
two notebooks of the same name, so the type is found again by the id the state records
(Identity.SERVER_ID), like managed folders and flow zones. It manages two fields, the language and
the connection, and nothing of the cells. It is a test type; `resources/flow_zone.py` is a built-in
type written the same way.
"""

from __future__ import annotations

import re
from typing import Any, Optional

from dataiku_iac.model import Resource
from dataiku_iac.resources.base import Observed, ProjectContext, ResourceHandler
from dataiku_iac.resources.policy import Field, FieldPolicy
from dataiku_iac.resources.spec import (
    BuildContext,
    BuiltItem,
    CheckContext,
    ConfigSchema,
    Identity,
    ImportContext,
    ResourceSpec,
)

TYPE = "throwaway_notebook"
DEFAULT_LANGUAGE = "sql"  # what DSS gives a notebook created without one
LANGUAGES = ("sql", "hive", "impala", "sparksql")

# What the schema's `$defs/name` accepts (config/schemas/project.schema.json). DSS notebook names
# are free text ("Plain Notebook"): import leaves out a notebook whose name the configuration
# cannot write.
WRITABLE_NAME = re.compile(r"^[A-Za-z0-9_]{1,128}$")

POLICY = FieldPolicy(fields=(Field("language"), Field("connection")))


def normal_language(language: Any) -> Any:
    """DSS keeps a language in upper case ("HIVE"); the tool speaks lower case. `build` and
    `to_logical` both normalise with this, or an imported notebook would be a change on every plan."""
    return language.lower() if isinstance(language, str) else language


class NotebookHandler(ResourceHandler):
    type = TYPE
    policy = POLICY
    list_has_version_numbers = False  # a notebook carries no versionTag

    def list_items(self, client: Any, project_key: str) -> list[dict[str, Any]]:
        # The list items carry the name, language and connection: one request, no read per notebook.
        return [dict(item) for item in client.get_project(project_key).list_sql_notebooks()]

    def item_id(self, item: dict[str, Any]) -> Optional[str]:
        return item.get("id")

    def listed_version(self, item: dict[str, Any]) -> Optional[dict[str, Any]]:
        return None

    def observed_from(self, project_key: str, doc: dict[str, Any], ctx: ProjectContext) -> Observed:
        return Observed(TYPE, project_key, doc["name"], doc["id"], self.to_logical(doc, ctx))

    def to_logical(self, doc: dict[str, Any], ctx: ProjectContext) -> dict[str, Any]:
        return {"language": normal_language(doc.get("language")), "connection": doc.get("connection")}

    def create(self, client: Any, resource: Resource, ctx: ProjectContext) -> Observed:
        project = client.get_project(resource.project_key)
        content = {"name": resource.name, "cells": [], **self._dss(resource.attributes)}
        notebook = project.create_sql_notebook(content)
        return self.observed_from(resource.project_key, {**content, "id": notebook.notebook_id}, ctx)

    def update(self, client: Any, resource: Resource, current: Observed, ctx: ProjectContext) -> Observed:
        content = client.get_project(resource.project_key).get_sql_notebook(current.dss_id).get_content()
        raw = content.get_raw()
        wanted = self._dss(resource.attributes)
        if any(raw.get(key) != value for key, value in wanted.items()):  # never save an unchanged notebook
            raw.update(wanted)
            content.save()
        return self.observed_from(resource.project_key, raw, ctx)

    def delete(self, client: Any, project_key: str, dss_id: str, *, drop_data: bool) -> None:
        client.get_project(project_key).get_sql_notebook(dss_id).delete()

    @staticmethod
    def _dss(attributes: dict[str, Any]) -> dict[str, Any]:
        return {"language": str(attributes["language"]).upper(), "connection": attributes["connection"]}


def build(item: dict[str, Any], ctx: BuildContext) -> Optional[dict[str, Any]]:
    """Config item -> logical attributes; what the schema cannot say is checked here."""
    language = normal_language(str(item.get("language", DEFAULT_LANGUAGE)))
    if language not in LANGUAGES:
        ctx.error(("language",), f"DSS has no {language} notebook", f"one of {', '.join(LANGUAGES)}")
        return None
    return {"language": language, "connection": item["connection"]}


def check_items(items: list[BuiltItem], ctx: CheckContext) -> None:
    """The checks across the notebooks of one project: two notebooks written for one connection and
    language would show the same thing."""
    first: dict[tuple[str, str], str] = {}
    for built in items:
        if "language" not in built.item:
            continue  # DSS's default language: not the writer's choice
        both, name = (built.attributes["connection"], built.attributes["language"]), built.item["name"]
        if both in first:
            ctx.error((built.index, "language"), f"notebook {name} has the connection and language of notebook {first[both]}",
                      "choose another connection or language")
        else:
            first[both] = name


def to_config(name: str, attributes: dict[str, Any], ctx: ImportContext) -> Optional[dict[str, Any]]:
    """Logical attributes -> config item (import), without what DSS chose by itself; None (the
    notebook is reported and stays unmanaged) for what the schema cannot express, so that import
    never writes a file that fails validation."""
    if not WRITABLE_NAME.match(name):
        return None
    item: dict[str, Any] = {"name": name, "connection": attributes.get("connection")}
    if attributes.get("language") != DEFAULT_LANGUAGE:
        item["language"] = attributes.get("language")
    return item


SCHEMA = ConfigSchema(
    defs={
        TYPE: {
            "type": "object",
            "properties": {
                "name": {"$ref": "#/$defs/name"},
                "language": {
                    "type": "string",
                    "pattern": "^[A-Za-z]+$",
                    "x-messages": {"pattern": "a language is a word (sql, hive…)"},
                },
                "connection": {"$ref": "#/$defs/nonempty"},
                "protect": {"$ref": "#/$defs/protect"},
            },
            "additionalProperties": False,
            "required": ["name", "connection"],
        }
    }
)

SPEC = ResourceSpec(
    type=TYPE,
    label="throwaway notebook",
    handler=NotebookHandler(),
    identity=Identity.SERVER_ID,
    section="throwaway_notebooks",
    schema=SCHEMA,
    build=build,
    to_config=to_config,
    check_items=check_items,
)
