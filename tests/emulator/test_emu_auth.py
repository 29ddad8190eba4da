"""Authentication and authorization: unknown keys, non-admin keys, tickets, bearer, impersonation."""

from __future__ import annotations

import dataikuapi
import pytest
import requests
from emu_helpers import NOT_AUTHENTICATED, UNAUTHORIZED, raises_dss


@pytest.fixture
def bob(dss):
    dss.admin.seed(
        api_keys=[
            {"key": "bob-key", "login": "bob", "admin": False, "groups": ["analysts"]},
            {"key": "carol-key", "login": "carol", "admin": False, "groups": ["data_team"]},
        ]
    )
    return dss.client_for("bob-key")


def test_unknown_key_and_no_credentials(dss):
    client = dss.client_for("wrong-key")
    raises_dss(NOT_AUTHENTICATED, client.list_project_keys, "Unknown API Key")
    resp = requests.get(dss.url + "/dip/publicapi/projects/")
    assert resp.status_code == 401 and resp.json()["errorType"] == NOT_AUTHENTICATED


def test_ticket_and_bearer_are_accepted(dss):
    assert dataikuapi.DSSClient(dss.url, internal_ticket=dss.api_key).list_project_keys() == []
    assert (
        dataikuapi.DSSClient(dss.url, jwt_bearer_token=dss.api_key).get_auth_info()["authIdentifier"]
        == "admin"
    )


def test_non_admin_sees_only_permitted_projects(dss_client, bob):
    dss_client.create_project(
        "OPEN", "o", "admin", permissions=[{"group": "analysts", "readProjectContent": True}]
    )
    dss_client.create_project("SECRET", "s", "admin")
    assert bob.list_project_keys() == ["OPEN"]
    raises_dss(UNAUTHORIZED, bob.get_project("SECRET").get_metadata, "Failed to read project permissions")
    assert bob.get_project("OPEN").list_datasets() == []


def test_missing_and_unreadable_projects_answer_alike(dss, dss_client, bob):
    """DSS answers 401 "Failed to read project permissions" for a project that does not exist and
    for one the caller may not read, alike (findings section 3): nothing tells them apart."""
    dss_client.create_project("HIDDEN", "h", "admin")
    answers = []
    for key in ("HIDDEN", "NO_SUCH_PROJECT"):
        dss.admin.clear_requests()
        error = raises_dss(UNAUTHORIZED, bob.get_project(key).get_summary)
        (entry,) = dss.admin.requests()
        answers.append((entry["status"], str(error).replace(key, "KEY")))
    assert answers[0] == answers[1] == (401, f"{UNAUTHORIZED}: Failed to read project permissions")
    assert "HIDDEN" not in bob.list_project_keys()


def test_read_only_key_cannot_write(dss_client, bob):
    dss_client.create_project(
        "RO", "ro", "admin", permissions=[{"group": "analysts", "readProjectContent": True}]
    )
    project = bob.get_project("RO")
    raises_dss(UNAUTHORIZED, lambda: project.create_managed_folder("f"))
    raises_dss(
        UNAUTHORIZED, lambda: project.new_managed_dataset("d").with_store_into("filesystem_managed").create()
    )
    raises_dss(UNAUTHORIZED, lambda: project.set_variables({"standard": {}, "local": {}}))
    raises_dss(UNAUTHORIZED, project.delete)


def test_writer_records_its_login(dss_client, dss):
    dss.admin.seed(api_keys=[{"key": "carol-key", "login": "carol", "admin": False, "groups": ["data_team"]}])
    dss_client.create_project(
        "RW", "rw", "admin", permissions=[{"group": "data_team", "writeProjectContent": True}]
    )
    carol = dss.client_for("carol-key")
    ds = carol.get_project("RW").new_managed_dataset("d").with_store_into("filesystem_managed").create()
    assert ds.get_settings().get_raw()["versionTag"]["lastModifiedBy"]["login"] == "carol"


def test_non_admin_cannot_use_admin_endpoints_or_create_projects(bob, dss):
    raises_dss(UNAUTHORIZED, bob.list_connections)
    raises_dss(UNAUTHORIZED, lambda: bob.create_project("NOPE", "n", "bob"))
    dss.admin.seed(api_keys=[{"key": "carol-key", "login": "carol", "admin": False, "groups": ["data_team"]}])
    carol = dss.client_for("carol-key")
    carol.create_project("CAROLS", "c", "carol")  # data_team may create projects; the owner has all rights
    carol.get_project("CAROLS").create_managed_folder("mine")
    carol.get_project("CAROLS").delete()


def test_impersonation(dss_client, dss):
    dss.admin.seed(users=[{"login": "dave", "groups": ["analysts"]}])
    as_dave = dss_client.get_user("dave").get_client_as()
    info = as_dave.get_auth_info()
    assert info["authIdentifier"] == "dave" and info["groups"] == ["analysts"]
    dss_client.create_project("IMP", "i", "admin")
    raises_dss(UNAUTHORIZED, as_dave.get_project("IMP").get_metadata)


def test_auth_info(dss_client):
    info = dss_client.get_auth_info()
    assert info["authIdentifier"] == "admin" and "administrators" in info["groups"]
