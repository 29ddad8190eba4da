"""The console's Graph tab (issue 15 §7): `POST /api/graph` lays out the configuration's dependency
graph on the server from the YAML alone (no DSS object read, no state), for a caller who may read
the configuration and its projects; names reach the page as data, never as markup."""

from __future__ import annotations

from typing import Any

from tests.webapp.conftest import error_of
from tests.webapp.console_setup import (
    ADMIN,
    ALICE,
    CANARY,
    DEMO_KEY,
    FILES,
    MALLORY,
    OPS_PROJECT,
    World,
    write_library,
)


def test_the_graph_is_laid_out_from_the_configuration(as_user: Any, world: World, dss: Any) -> None:
    before = len(dss.admin.requests())
    response = as_user(ALICE).post("/api/graph", world.target())
    assert response.status_code == 200, response.get_data(as_text=True)
    graph = response.get_json()["graph"]
    assert [n["address"] for n in graph["nodes"]] == [
        f"project.{DEMO_KEY}", f"dataset.{DEMO_KEY}.ORDERS", f"dataset.{DEMO_KEY}.TEST_DATA",
    ]
    assert graph["title"] == "dataiku-iac dev: 3 resources, 2 dependencies"
    assert graph["hidden_project_edges"] == 2 and graph["edges"] == []
    columns = {n["address"]: n["x"] for n in graph["nodes"]}
    assert columns[f"project.{DEMO_KEY}"] < columns[f"dataset.{DEMO_KEY}.ORDERS"]
    assert {"node_width", "node_height", "width", "height"} <= set(graph)
    touched = {r["path"] for r in dss.admin.requests(since=before)}
    assert not any(p.startswith(f"/projects/{DEMO_KEY}") for p in touched), "the graph read DSS objects"


def test_the_graph_needs_read_access_to_the_configuration(as_user: Any, world: World) -> None:
    response = as_user(MALLORY).post("/api/graph", world.target())
    assert response.status_code == 403
    assert f"may not read project(s) {OPS_PROJECT}" in error_of(response)["message"]


def test_the_graph_needs_read_access_to_the_projects_it_shows(as_user: Any, world: World, dss: Any) -> None:
    admin = as_user(ADMIN)
    assert admin.post("/api/graph", world.target()).status_code == 200
    dss.client().create_project(DEMO_KEY, "Demo", ADMIN)  # exists, and alice's group may not read it
    response = as_user(ALICE).post("/api/graph", world.target())
    assert response.status_code == 403 and DEMO_KEY in error_of(response)["message"]
    assert admin.post("/api/graph", world.target()).status_code == 200


def test_configuration_errors_come_back_as_diagnostics(as_user: Any, world: World, dss: Any) -> None:
    broken = FILES["projects/demo.yml"].replace("format: csv", "format: csv\n    connection: 7")
    write_library(dss.client(), OPS_PROJECT, "iac", {"projects/demo.yml": broken})
    response = as_user(ALICE).post("/api/graph", world.target())
    assert response.status_code == 400, response.get_data(as_text=True)


def test_no_secret_value_is_resolved_for_a_graph(as_user: Any, world: World) -> None:
    response = as_user(ALICE).post("/api/graph", world.target())
    assert response.status_code == 200 and CANARY not in response.get_data(as_text=True)
