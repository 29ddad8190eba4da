"""Flow zones, exactly as dataikuapi 15.2 (dss/flow.py, dataset.move_to_zone...) calls them."""

from __future__ import annotations

import pytest
from emu_helpers import ILLEGAL_ARGUMENT, NOT_FOUND, UNAUTHORIZED, raises_dss


@pytest.fixture
def project(dss_client):
    p = dss_client.create_project("ZONES", "Zones", "admin")
    p.new_managed_dataset("raw").with_store_into("filesystem_managed").create()
    p.new_recipe("sync", "compute_clean").with_input("raw").with_new_output(
        "clean", "filesystem_managed"
    ).create()
    p.new_managed_dataset("lookup").with_store_into("filesystem_managed").create()
    return p


def _items(zone):
    return sorted((type(o).__name__, getattr(o, "name", None) or getattr(o, "id", None)) for o in zone.items)


def test_every_object_starts_in_the_default_zone(project):
    flow = project.get_flow()
    zones = flow.list_zones()
    assert [(z.id, z.name) for z in zones] == [("default", "Default")]
    assert zones[0]._raw["items"] == [] and zones[0]._raw["shared"] == []  # members are implicit
    assert flow.get_zone_of_object(project.get_dataset("raw")).id == "default"
    nodes = flow.get_default_zone().get_graph().nodes
    assert sorted(nodes) == ["clean", "compute_clean", "lookup", "raw"]


def test_create_get_rename_recolour_and_delete(project):
    flow = project.get_flow()
    zone = flow.create_zone("Curated")
    assert zone.name == "Curated" and zone.color == "#2ab1ac" and len(zone.id) == 7
    other = flow.create_zone("Raw data", color="#ff0000")
    assert [z.name for z in flow.list_zones()] == ["Default", "Curated", "Raw data"]
    assert flow.get_zone(other.id).color == "#ff0000"

    settings = zone.get_settings()
    settings.name = "Gold"
    settings.color = "#00ff00"
    settings.get_raw()["items"] = [{"objectId": "raw", "objectType": "DATASET"}]  # not changed this way
    settings.save()
    again = flow.get_zone(zone.id)
    assert (again.name, again.color, again._raw["items"]) == ("Gold", "#00ff00", [])

    other.delete()
    assert [z.id for z in flow.list_zones()] == ["default", zone.id]
    raises_dss(NOT_FOUND, lambda: flow.get_zone(other.id))
    raises_dss(ILLEGAL_ARGUMENT, flow.get_default_zone().delete, "cannot be deleted")
    raises_dss(ILLEGAL_ARGUMENT, lambda: flow.create_zone(""))


def test_move_objects_into_a_zone_and_back(project):
    flow = project.get_flow()
    zone = flow.create_zone("Curated")
    project.get_dataset("lookup").move_to_zone(zone)
    assert zone._raw["items"] == [{"objectId": "lookup", "objectType": "DATASET"}]  # the answer is the zone
    assert flow.get_zone_of_object(project.get_dataset("lookup")).id == zone.id
    assert flow.get_zone_of_object(project.get_dataset("raw")).id == "default"

    # A recipe and its outputs share a zone: moving the output moves the recipe that writes it.
    zone.add_item(project.get_dataset("clean"))
    assert _items(flow.get_zone(zone.id)) == [
        ("DSSDataset", "clean"),
        ("DSSDataset", "lookup"),
        ("DSSRecipe", "compute_clean"),
    ]
    graph = zone.get_graph().nodes
    assert sorted(graph) == ["clean", "compute_clean", "lookup"]
    assert graph["compute_clean"]["predecessors"] == []  # raw is in another zone
    assert graph["compute_clean"]["successors"] == ["clean"]
    assert sorted(flow.get_default_zone().get_graph().nodes) == ["raw"]

    # The move by id, and the way back: adding to the default zone only takes objects out.
    project.get_recipe("compute_clean").move_to_zone("default")
    assert _items(flow.get_zone(zone.id)) == [("DSSDataset", "lookup")]
    flow.get_zone(zone.id).add_items([project.get_dataset("raw"), project.get_recipe("compute_clean")])
    assert len(flow.get_zone(zone.id)._raw["items"]) == 4

    zone.delete()  # its items go back to the default zone
    assert flow.get_zone_of_object(project.get_dataset("raw")).id == "default"
    assert sorted(flow.get_default_zone().get_graph().nodes) == ["clean", "compute_clean", "lookup", "raw"]


def test_moving_unknown_or_foreign_objects_is_refused(dss_client, project):
    flow = project.get_flow()
    zone = flow.create_zone("Curated")
    raises_dss(NOT_FOUND, lambda: zone.add_item(project.get_dataset("nope")), "does not exist")
    raises_dss(NOT_FOUND, lambda: project.get_dataset("raw").move_to_zone("nozone"))
    other = dss_client.create_project("OTHER", "Other", "admin")
    other.new_managed_dataset("theirs").with_store_into("filesystem_managed").create()
    raises_dss(
        ILLEGAL_ARGUMENT, lambda: zone.add_item(other.get_dataset("theirs")), "Only objects of project"
    )
    assert flow.get_zone(zone.id)._raw["items"] == []


def test_share_and_unshare(dss_client, project):
    flow = project.get_flow()
    zone = flow.create_zone("Reports")
    project.get_dataset("lookup").share_to_zone(zone)
    project.get_dataset("lookup").share_to_zone(zone.id)  # twice: shared once
    other = dss_client.create_project("OTHER", "Other", "admin")
    other.new_managed_dataset("theirs").with_store_into("filesystem_managed").create()
    zone.add_shared(other.get_dataset("theirs"))
    shared = flow.get_zone(zone.id)._raw["shared"]
    assert shared == [
        {"objectId": "lookup", "objectType": "DATASET"},
        {"projectKey": "OTHER", "objectId": "theirs", "objectType": "DATASET"},
    ]
    assert sorted(zone.get_graph().nodes) == ["lookup"]  # shown in the zone, still in the default one
    assert flow.get_zone_of_object(project.get_dataset("lookup")).id == "default"
    project.get_dataset("lookup").unshare_from_zone(zone)
    assert flow.get_zone(zone.id)._raw["shared"] == [shared[1]]


def test_zones_follow_renames_and_deletes(project):
    flow = project.get_flow()
    zone = flow.create_zone("Curated")
    zone.add_items([project.get_dataset("lookup"), project.get_dataset("clean")])
    project.get_dataset("lookup").rename("lookup_v2")
    project.get_recipe("compute_clean").rename("compute_clean_v2")
    assert _items(flow.get_zone(zone.id)) == [
        ("DSSDataset", "clean"),
        ("DSSDataset", "lookup_v2"),
        ("DSSRecipe", "compute_clean_v2"),
    ]
    project.get_dataset("lookup_v2").delete()
    assert ("DSSDataset", "lookup_v2") not in _items(flow.get_zone(zone.id))


def test_zone_rights(dss, project):
    dss.admin.seed(api_keys=[{"key": "zone-reader", "login": "zone_reader", "groups": ["readers"]}])
    permissions = project.get_permissions()
    permissions["permissions"].append({"group": "readers", "readProjectContent": True})
    project.set_permissions(permissions)
    as_reader = dss.client_for("zone-reader").get_project("ZONES").get_flow()
    assert [z.id for z in as_reader.list_zones()] == ["default"]
    raises_dss(UNAUTHORIZED, lambda: as_reader.create_zone("Mine"))


def test_zones_survive_a_restart(tmp_path):
    from dss_emulator.pytest_plugin import start_subprocess, stop_subprocess

    handle = start_subprocess(tmp_path / "data")
    try:
        project = handle.client().create_project("KEEP", "Kept", "admin")
        project.new_managed_dataset("d").with_store_into("filesystem_managed").create()
        zone = project.get_flow().create_zone("Kept zone")
        project.get_dataset("d").move_to_zone(zone)
    finally:
        stop_subprocess(handle)
    handle = start_subprocess(tmp_path / "data")
    try:
        flow = handle.client().get_project("KEEP").get_flow()
        assert [z.name for z in flow.list_zones()] == ["Default", "Kept zone"]
        assert flow.get_zone(zone.id)._raw["items"] == [{"objectId": "d", "objectType": "DATASET"}]
    finally:
        stop_subprocess(handle)
