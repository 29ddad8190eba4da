"""A resource type written in one spec, as docs/architecture.md "Adding a resource type" says: the
throwaway type of tests/integration/test_throwaway_type.py, which shows that a spec and one
registration give a type validate, plan, apply, drift, import and the state commands.

It manages DSS Flow zones (`project.get_flow()` in dataikuapi): an object no built-in type manages,
that the emulator serves as DSS does (emulator/dss_emulator/routes/flow.py). DSS gives each zone
an id of its own and accepts two zones of the same name, so the type is found again by the id the
state records (Identity.SERVER_ID), like managed folders. It manages one field, the colour.
It is a test type: a real `zone` type (next issues) also manages a zone's objects.
"""

from __future__ import annotations

import copy
import re
from typing import Any, Optional

from dataiku_iac.model import Resource
from dataiku_iac.resources.base import Observed, ProjectContext, ResourceHandler, save_if_changed
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

TYPE = "throwaway_zone"
DEFAULT_COLOR = "#2ab1ac"  # what DSS gives a zone created without one (dataikuapi's create_zone)
DEFAULT_ZONE = "default"  # every project's own zone: DSS's, never created nor deleted

# What the schema's `$defs/name` accepts (config/schemas/project.schema.json). DSS zone names are
# free text ("Plain Zone"): import leaves out a zone whose name the configuration cannot write.
WRITABLE_NAME = re.compile(r"^[A-Za-z0-9_]{1,128}$")

POLICY = FieldPolicy(fields=(Field("color"),))


def normal_color(color: Any) -> Any:
    """DSS keeps a colour as written ("#31439C" in its samples); the tool speaks lower case.
    `build` and `to_logical` both normalise with this, or a mixed-case colour in DSS would be a
    change on every plan."""
    return color.lower() if isinstance(color, str) else color


class ZoneHandler(ResourceHandler):
    type = TYPE
    policy = POLICY
    list_has_version_numbers = False  # a zone carries no versionTag

    def list_items(self, client: Any, project_key: str) -> list[dict[str, Any]]:
        zones = client.get_project(project_key).get_flow().list_zones()  # full documents: one request
        return [zone.get_settings().get_raw() for zone in zones if zone.id != DEFAULT_ZONE]

    def item_id(self, item: dict[str, Any]) -> Optional[str]:
        return item.get("id")

    def listed_version(self, item: dict[str, Any]) -> Optional[dict[str, Any]]:
        return None

    def observed_from(self, project_key: str, doc: dict[str, Any], ctx: ProjectContext) -> Observed:
        return Observed(TYPE, project_key, doc["name"], doc["id"], self.to_logical(doc, ctx))

    def to_logical(self, doc: dict[str, Any], ctx: ProjectContext) -> dict[str, Any]:
        return {"color": normal_color(doc.get("color"))}

    def create(self, client: Any, resource: Resource, ctx: ProjectContext) -> Observed:
        flow = client.get_project(resource.project_key).get_flow()
        zone = flow.create_zone(resource.name, color=resource.attributes["color"])
        return self.observed_from(resource.project_key, zone.get_settings().get_raw(), ctx)

    def update(self, client: Any, resource: Resource, current: Observed, ctx: ProjectContext) -> Observed:
        settings = client.get_project(resource.project_key).get_flow().get_zone(current.dss_id).get_settings()
        raw = settings.get_raw()
        before = copy.deepcopy(raw)
        raw["color"] = resource.attributes["color"]
        return self.observed_from(resource.project_key, save_if_changed(settings, raw, before), ctx)

    def delete(self, client: Any, project_key: str, dss_id: str, *, drop_data: bool) -> None:
        client.get_project(project_key).get_flow().get_zone(dss_id).delete()


def build(item: dict[str, Any], ctx: BuildContext) -> Optional[dict[str, Any]]:
    """Config item -> logical attributes; what the schema cannot say is checked here."""
    color = normal_color(str(item.get("color", DEFAULT_COLOR)))
    if color == "#ffffff":
        ctx.error(("color",), "a white zone cannot be seen in the Flow", "choose another colour")
        return None
    return {"color": color}


def check_items(items: list[BuiltItem], ctx: CheckContext) -> None:
    """The checks across the zones of one project (a real zone type checks that no object is in
    two zones): two zones written with one colour cannot be told apart in the Flow."""
    first: dict[str, str] = {}
    for built in items:
        if "color" not in built.item:
            continue  # DSS's default colour: not the writer's choice
        color, name = built.attributes["color"], built.item["name"]
        if color in first:
            ctx.error((built.index, "color"), f"zone {name} has the colour of zone {first[color]}", "choose another colour")
        else:
            first[color] = name


def to_config(name: str, attributes: dict[str, Any], ctx: ImportContext) -> Optional[dict[str, Any]]:
    """Logical attributes -> config item (import), without what DSS chose by itself; None (the
    zone is reported and stays unmanaged) for what the schema cannot express, so that import
    never writes a file that fails validation."""
    if not WRITABLE_NAME.match(name):
        return None
    item: dict[str, Any] = {"name": name}
    if attributes.get("color") != DEFAULT_COLOR:
        item["color"] = attributes.get("color")
    return item


SCHEMA = ConfigSchema(
    defs={
        TYPE: {
            "type": "object",
            "properties": {
                "name": {"$ref": "#/$defs/name"},
                "color": {
                    "type": "string",
                    "pattern": "^#[0-9A-Fa-f]{6}$",
                    "x-messages": {"pattern": "a colour is written #RRGGBB"},
                },
                "protect": {"$ref": "#/$defs/protect"},
            },
            "additionalProperties": False,
            "required": ["name"],
        }
    }
)

SPEC = ResourceSpec(
    type=TYPE,
    label="throwaway zone",
    handler=ZoneHandler(),
    identity=Identity.SERVER_ID,
    section="throwaway_zones",
    schema=SCHEMA,
    build=build,
    to_config=to_config,
    check_items=check_items,
)
