"""Flow zones (`project.get_flow()` in dataikuapi): a name and a colour, and the objects in them.

DSS gives each zone an id of its own and accepts two zones of the same name, so a zone is found
again by the id the state records (Identity.SERVER_ID), like a managed folder. Every project has
DSS's own zone `default` (an object is in it until moved elsewhere): it is never listed, created
nor deleted. Flow zones are an Enterprise feature: on an edition without them the zone list
answers 404, which observes as "no zone".

**Membership is on the member's side.** A dataset, managed folder or recipe says `zone: NAME`:
an attribute of the member (`zone`), written by the member's own create or update through the
endpoint that moves that one object into a zone (`DSSFlowZone.add_item`, what `move_to_zone`
calls), never as a list of objects on the zone that two sibling updates would both rewrite. The
members' specs call the helpers at the end of this module (`build_membership`,
`membership_to_config`, `place`). One zone list per project tells every object's zone: the
handler learns it while translating the list and gives the members their `zone` attribute once
every type is observed (`complete_observation`), so observation costs no request per object.

DSS moves a recipe and its outputs together (dataikuapi: moving an object may move "the recipe
generating" it): the builder refuses a recipe and its outputs declaring different zones, and gives
the zone one of them declares to those declaring none (builder._zones_of_recipe_groups). A
member that stops declaring its zone goes back to the default zone (`MEMBER_FIELD.reset`);
deleting a zone sends its objects back to the default zone, as DSS does.
"""

from __future__ import annotations

import copy
import re
from typing import Any, Optional

from dataiku_iac.dssclient import last_status
from dataiku_iac.model import Resource
from dataiku_iac.resources.base import Observed, ProjectContext, ResourceHandler, save_if_changed
from dataiku_iac.resources.policy import Field, FieldPolicy
from dataiku_iac.resources.spec import (
    BuildContext,
    ConfigSchema,
    Identity,
    ImportContext,
    ResourceSpec,
)

TYPE = "flow_zone"
DEFAULT_COLOR = "#2ab1ac"  # what DSS gives a zone created without one (dataikuapi's create_zone)
DEFAULT_ZONE = "default"  # the id of every project's own zone: DSS's, never created nor deleted

# What the schema's `$defs/name` accepts (config/schemas/project.schema.json). DSS zone names are
# free text ("Plain Zone"): import leaves out a zone (and the memberships) it cannot write.
WRITABLE_NAME = re.compile(r"^[A-Za-z0-9_]{1,128}$")

POLICY = FieldPolicy(fields=(Field("color"),))

# -- the members' side ----------------------------------------------------------------------------
MEMBER_KEY = "zone"  # the item key and logical attribute of a member
# The member types and their DSS object types in zone references ({objectType, objectId}).
MEMBER_TYPES = {"dataset": "DATASET", "managed_folder": "MANAGED_FOLDER", "recipe": "RECIPE", "saved_model": "SAVED_MODEL",
                "model_evaluation_store": "MODEL_EVALUATION_STORE"}
# A member's field: a member that stops declaring its zone goes back to the default zone.
MEMBER_FIELD = Field(MEMBER_KEY, reset=DEFAULT_ZONE)
_MEMBERSHIPS = "flow_zone.members"  # ProjectContext.learn: "OBJECTTYPE:objectId" -> zone name


def normal_color(color: Any) -> Any:
    """DSS keeps a colour as written ("#31439C" in its samples); the tool speaks lower case.
    `build` and `to_logical` both normalise with this, or a mixed-case colour in DSS would be a
    change on every plan."""
    return color.lower() if isinstance(color, str) else color


class FlowZoneHandler(ResourceHandler):
    type = TYPE
    policy = POLICY
    list_has_version_numbers = False  # a zone carries no versionTag
    renames_in_place = True

    def list_items(self, client: Any, project_key: str) -> list[dict[str, Any]]:
        flow = client.get_project(project_key).get_flow()
        try:
            zones = flow.list_zones()  # full documents, with their items: one request
        except Exception:
            if last_status() == 404:
                return []  # an edition without flow zones (the project exists: observed first)
            raise
        return [zone.get_settings().get_raw() for zone in zones if zone.id != DEFAULT_ZONE]

    def item_id(self, item: dict[str, Any]) -> Optional[str]:
        return item.get("id")

    def listed_version(self, item: dict[str, Any]) -> Optional[dict[str, Any]]:
        return None

    def observed_from(self, project_key: str, doc: dict[str, Any], ctx: ProjectContext) -> Observed:
        ctx.remember(TYPE, doc["name"], doc["id"])  # members name their zone; moves need its id
        for ref in doc.get("items") or []:
            if not ref.get("projectKey") or ref.get("projectKey") == project_key:
                ctx.learn(_MEMBERSHIPS, f"{ref.get('objectType')}:{ref.get('objectId')}", doc["name"])
        return Observed(TYPE, project_key, doc["name"], doc["id"], self.to_logical(doc, ctx))

    def to_logical(self, doc: dict[str, Any], ctx: ProjectContext) -> dict[str, Any]:
        return {"color": normal_color(doc.get("color"))}

    def complete_observation(self, objects: dict[str, list[Observed]], ctx: ProjectContext) -> None:
        """Give every dataset, folder and recipe its `zone`: the default zone unless a zone lists it."""
        zone_of = ctx.learned(_MEMBERSHIPS)
        for type_, object_type in MEMBER_TYPES.items():
            for member in objects.get(type_, []):
                member.attributes[MEMBER_KEY] = zone_of.get(f"{object_type}:{member.dss_id}", DEFAULT_ZONE)

    def create(self, client: Any, resource: Resource, ctx: ProjectContext) -> Observed:
        flow = client.get_project(resource.project_key).get_flow()
        zone = flow.create_zone(resource.name, color=resource.attributes["color"])
        return self.observed_from(resource.project_key, zone.get_settings().get_raw(), ctx)

    def update(self, client: Any, resource: Resource, current: Observed, ctx: ProjectContext) -> Observed:
        settings = client.get_project(resource.project_key).get_flow().get_zone(current.dss_id).get_settings()
        raw = settings.get_raw()
        before = copy.deepcopy(raw)
        raw["color"] = resource.attributes["color"]
        raw["name"] = resource.name  # renamed in place: members name the zone, DSS moves them by id
        return self.observed_from(resource.project_key, save_if_changed(settings, raw, before), ctx)

    def delete(self, client: Any, project_key: str, dss_id: str, *, drop_data: bool) -> None:
        # DSS sends the zone's objects back to the default zone; they are not deleted.
        client.get_project(project_key).get_flow().get_zone(dss_id).delete()


def build(item: dict[str, Any], ctx: BuildContext) -> Optional[dict[str, Any]]:
    """A `flow_zones` item -> logical attributes."""
    if str(item["name"]).lower() == DEFAULT_ZONE:
        ctx.error(("name",), "'default' is the name of DSS's own zone, which every project has",
                  "leave an object in the default zone by not giving it a zone")
        return None
    return {"color": normal_color(str(item.get("color", DEFAULT_COLOR)))}


def writable(name: str) -> bool:
    """Whether the configuration can write a zone of that name (`$defs/name`, not `default`)."""
    return bool(WRITABLE_NAME.match(name)) and name.lower() != DEFAULT_ZONE


def to_config(name: str, attributes: dict[str, Any], ctx: ImportContext) -> Optional[dict[str, Any]]:
    """Logical attributes -> a `flow_zones` item, without DSS's default colour; None (the zone is
    reported and stays unmanaged) for a name the schema cannot write."""
    if not writable(name):
        return None
    item: dict[str, Any] = {"name": name}
    if attributes.get("color") != DEFAULT_COLOR:
        item["color"] = attributes.get("color")
    return item


# -- helpers of the member types (dataset, managed folder, recipe) ----------------------------------
def build_membership(item: dict[str, Any], attrs: dict[str, Any], ctx: BuildContext) -> None:
    """A member's `zone: NAME` -> its `zone` attribute; the zone must be declared (did you mean…)
    and is created before the member."""
    if MEMBER_KEY in item:
        ctx.require(TYPE, item[MEMBER_KEY], (MEMBER_KEY,), "its zone")
        attrs[MEMBER_KEY] = item[MEMBER_KEY]


def membership_to_config(item: dict[str, Any], attrs: dict[str, Any]) -> dict[str, Any]:
    """A member's `zone` -> `zone: NAME` in its imported item: not for the default zone, nor for a
    zone import cannot write (the membership then stays unmanaged with it)."""
    zone = attrs.get(MEMBER_KEY)
    if isinstance(zone, str) and writable(zone):
        item[MEMBER_KEY] = zone
    return item


def place(
    client: Any, resource: Resource, observed: Observed, ctx: ProjectContext, *, current: Optional[Observed] = None
) -> Observed:
    """Move a member into the zone it declares (one object, through the zone's move endpoint) when
    it is elsewhere (`current`: as observed; None after its create, when DSS put it in the default
    zone); `observed` (what its create or update returned) then says its zone."""
    wanted = resource.attributes.get(MEMBER_KEY)
    if wanted is None:
        return observed  # not managed
    now = current.attributes.get(MEMBER_KEY, DEFAULT_ZONE) if current is not None else DEFAULT_ZONE
    if wanted != now:
        zone_id = DEFAULT_ZONE if wanted == DEFAULT_ZONE else ctx.dss_id_of(TYPE, wanted)
        if zone_id is None:
            raise ValueError(f"flow zone {wanted!r} of project {resource.project_key} is not known to exist")
        project = client.get_project(resource.project_key)
        project.get_flow().get_zone(zone_id).add_item(_object(project, resource.type, observed.dss_id))
    observed.attributes[MEMBER_KEY] = wanted
    return observed


def _object(project: Any, type_: str, dss_id: str) -> Any:
    if type_ == "dataset":
        return project.get_dataset(dss_id)
    if type_ == "managed_folder":
        return project.get_managed_folder(dss_id)
    if type_ == "saved_model":
        return project.get_saved_model(dss_id)
    if type_ == "model_evaluation_store":
        return project.get_model_evaluation_store(dss_id)
    return project.get_recipe(dss_id)


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
    label="flow zone",
    color="#8a6d3b",
    handler=FlowZoneHandler(),
    identity=Identity.SERVER_ID,
    section="flow_zones",
    schema=SCHEMA,
    removal_breaks=False,  # nothing reads a zone: its members go back to the default zone
    build=build,
    to_config=to_config,
)
