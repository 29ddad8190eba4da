"""Code webapps, exactly as dataikuapi 15.2 (dss/webapp.py, DSSProject) calls them."""

from __future__ import annotations

import pytest
from emu_helpers import ILLEGAL_ARGUMENT, NOT_FOUND, raises_dss


@pytest.fixture
def project(dss_client):
    return dss_client.create_project("WEBAPPS", "Webapps", "admin")


def test_create_answers_the_id_and_lists_it(project):
    webapp = project.create_webapp("Sales board")  # STANDARD by default
    assert len(webapp.webapp_id) == 7
    items = project.list_webapps()
    assert [(i.id, i.name) for i in items] == [(webapp.webapp_id, "Sales board")]
    assert items[0].to_webapp().webapp_id == webapp.webapp_id
    assert [w.webapp_id for w in project.list_webapps(as_type="objects")] == [webapp.webapp_id]


def test_created_documents_are_dss_s_per_type(project):
    standard = project.create_webapp("std").get_settings().get_raw()
    assert standard["type"] == "STANDARD" and standard["projectKey"] == "WEBAPPS"
    params = standard["params"]
    assert params["backendEnabled"] is False and params["autoStartBackend"] is False
    assert params["envSelection"] == {"envMode": "INHERIT"} and params["libraries"] == ["jquery", "dataiku"]
    assert {"html", "css", "js", "python"} <= set(params) and len(standard["apiKey"]) == 32
    assert standard["versionTag"] == standard["creationTag"]
    dash = project.create_webapp("dash", webapp_type="DASH").get_settings().get_raw()
    assert dash["params"]["serveLocally"] is True and "apiKey" not in dash and "backendEnabled" not in dash["params"]
    shiny = project.create_webapp("shiny", webapp_type="SHINY").get_settings().get_raw()
    assert {"ui", "server"} <= set(shiny["params"]) and "nbProcesses" not in shiny["params"]


def test_save_keeps_what_dss_owns_and_bumps_the_version(project):
    webapp = project.create_webapp("std")
    settings = webapp.get_settings()
    raw = settings.get_raw()
    key, created = raw["apiKey"], raw["creationTag"]
    raw["params"]["python"] = "print('hello')\n"
    raw["name"] = "renamed"
    raw["apiKey"] = "forged"
    raw["id"] = "other"
    settings.save()
    saved = webapp.get_settings().get_raw()
    assert saved["params"]["python"] == "print('hello')\n" and saved["name"] == "renamed"
    assert saved["apiKey"] == key and saved["id"] == webapp.webapp_id and saved["creationTag"] == created
    assert saved["versionTag"]["versionNumber"] == 1
    saved["type"] = "NOT_A_TYPE"
    raises_dss(ILLEGAL_ARGUMENT, lambda: _save(webapp, saved))


def _save(webapp, raw):
    settings = webapp.get_settings()
    settings.data = raw
    settings.save()


def test_backend_starts_stops_and_says_so(project):
    webapp = project.create_webapp("dash", webapp_type="DASH")
    state = webapp.get_state()
    assert state.running is False and "futureInfo" not in state.state
    assert state.state["webAppId"] == webapp.webapp_id
    future = webapp.start_or_restart_backend()
    future.wait_for_result()
    assert webapp.get_state().running is True
    webapp.stop_backend()
    assert webapp.get_state().running is False and "futureInfo" in webapp.get_state().state


def test_a_standard_webapp_runs_a_backend_only_once_enabled(project):
    webapp = project.create_webapp("std")
    raises_dss(ILLEGAL_ARGUMENT, webapp.start_or_restart_backend, "has no backend")
    settings = webapp.get_settings()
    settings.get_raw()["params"]["backendEnabled"] = True
    settings.save()
    webapp.start_or_restart_backend().wait_for_result()
    assert webapp.get_state().running


def test_unknown_webapps_and_types(project):
    raises_dss(NOT_FOUND, project.get_webapp("nope123").get_settings)
    raises_dss(NOT_FOUND, project.get_webapp("nope123").get_state)
    with pytest.raises(ValueError):
        project.create_webapp("x", webapp_type="PLUGIN")  # dataikuapi refuses it itself
    raises_dss(ILLEGAL_ARGUMENT, lambda: project.client._perform_json(
        "POST", "/projects/WEBAPPS/webapps/", body={"name": "x", "type": "VUE"}))
