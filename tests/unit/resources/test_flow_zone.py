"""Flow zones without DSS: the edition without zones (404 on the list), the members' zones taken
from one zone list, and the translations both ways."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from dataiku_iac import dssclient
from dataiku_iac.resources import flow_zone
from dataiku_iac.resources.base import Observed, ProjectContext


class _Flow:
    def __init__(self, status: int):
        self.status = status

    def list_zones(self) -> Any:
        dssclient._record_status(SimpleNamespace(status_code=self.status))  # as the response hook does
        raise RuntimeError("DataikuException: an HTTP error")


def _client(status: int) -> Any:
    flow = _Flow(status)
    return SimpleNamespace(get_project=lambda key: SimpleNamespace(get_flow=lambda: flow))


def test_an_edition_without_zones_lists_none() -> None:
    assert flow_zone.FlowZoneHandler().list_items(_client(404), "P") == []


def test_another_failure_of_the_zone_list_is_not_hidden() -> None:
    with pytest.raises(RuntimeError):
        flow_zone.FlowZoneHandler().list_items(_client(500), "P")


def _observed(type_: str, name: str, dss_id: str = "", **attributes: Any) -> Observed:
    return Observed(type_, "P", name, dss_id or name, dict(attributes))


def test_one_zone_list_gives_every_member_its_zone() -> None:
    handler, ctx = flow_zone.FlowZoneHandler(), ProjectContext("P")
    zone = {
        "id": "z1", "name": "raw", "color": "#31439C",
        "items": [{"objectId": "src", "objectType": "DATASET"}, {"objectId": "f1", "objectType": "MANAGED_FOLDER"},
                  {"objectId": "r", "objectType": "RECIPE"}, {"objectId": "out", "objectType": "DATASET"},
                  {"projectKey": "OTHER", "objectId": "loose", "objectType": "DATASET"}],
    }
    observed_zone = handler.observed_from("P", zone, ctx)
    assert observed_zone.attributes == {"color": "#31439c"} and ctx.dss_id_of("flow_zone", "raw") == "z1"
    objects = {
        "dataset": [_observed("dataset", "src"), _observed("dataset", "out"), _observed("dataset", "loose")],
        "managed_folder": [_observed("managed_folder", "files", "f1")],
        "recipe": [_observed("recipe", "r", outputs={"main": ["out"]})],
    }
    handler.complete_observation(objects, ctx)
    zones = {o.name: o.attributes.get("zone", "-") for members in objects.values() for o in members}
    # `loose` is listed as another project's object: this project's `loose` is in the default zone.
    assert zones == {"src": "raw", "out": "raw", "loose": "default", "files": "raw", "r": "raw"}


def test_a_member_writes_its_zone_unless_default_or_not_writable() -> None:
    assert flow_zone.membership_to_config({"name": "a"}, {"zone": "raw"}) == {"name": "a", "zone": "raw"}
    assert flow_zone.membership_to_config({"name": "a"}, {"zone": "default"}) == {"name": "a"}
    assert flow_zone.membership_to_config({"name": "a"}, {"zone": "Plain Zone"}) == {"name": "a"}
    assert flow_zone.membership_to_config({"name": "a"}, {}) == {"name": "a"}


def test_build_and_to_logical_normalise_the_colour_alike() -> None:
    class Ctx:
        errors: list = []

        def error(self, path: tuple, message: str, hint: Any = None) -> None:
            self.errors.append((path, message))

    ctx: Any = Ctx()
    built = flow_zone.build({"name": "a", "color": "#31439C"}, ctx)
    assert built == flow_zone.FlowZoneHandler().to_logical({"color": "#31439C"}, ProjectContext("P"))
    assert flow_zone.build({"name": "Default"}, ctx) is None and ctx.errors[0][0] == ("name",)
    assert flow_zone.to_config("a", {"color": flow_zone.DEFAULT_COLOR}, ctx) == {"name": "a"}
    assert flow_zone.to_config("Plain Zone", {"color": "#000000"}, ctx) is None
