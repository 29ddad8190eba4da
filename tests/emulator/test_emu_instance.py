"""Instance endpoints: connections, code envs, users, groups, plugins, variables, identity."""

from __future__ import annotations

from emu_helpers import CODED_IO, ILLEGAL_ARGUMENT, NOT_AUTHENTICATED, NOT_FOUND, UNAUTHORIZED, raises_dss


def test_seeded_connections(dss_client):
    conns = dss_client.list_connections()
    assert {"filesystem_managed", "filesystem_folders", "postgres_dw"} <= set(conns)
    assert conns["postgres_dw"]["type"] == "PostgreSQL"
    assert dss_client.list_connections_names("PostgreSQL") == ["postgres_dw"]
    info = dss_client.get_connection("filesystem_managed").get_info()
    assert info.get_type() == "Filesystem"


def test_connection_crud(dss_client):
    conn = dss_client.create_connection("pg2", "PostgreSQL", params={"host": "h", "password": "pw"})
    settings = conn.get_settings()
    assert settings.get_raw()["params"]["password"].startswith("e:AES:")
    settings.get_raw()["allowWrite"] = False
    settings.save()
    assert dss_client.get_connection("pg2").get_settings().get_raw()["allowWrite"] is False
    raises_dss(ILLEGAL_ARGUMENT, lambda: dss_client.create_connection("pg2", "PostgreSQL"), "already exists")
    conn.delete()
    raises_dss(ILLEGAL_ARGUMENT, conn.get_settings, "does not exist")


def test_code_envs(dss_client):
    envs = dss_client.list_code_envs()
    assert {
        "envLang": "PYTHON",
        "envName": "py39_default",
        "deploymentMode": "DESIGN_MANAGED",
        "owner": "admin",
        "isUptodate": True,
    } in envs
    env = dss_client.create_code_env(
        "PYTHON", "py311", "DESIGN_MANAGED", params={"pythonInterpreter": "PYTHON311"}
    )
    settings = env.get_settings()
    settings.get_raw()["specPackageList"] = "pandas\n"
    settings.save()
    assert (
        dss_client.get_code_env("PYTHON", "py311").get_settings().get_raw()["specPackageList"] == "pandas\n"
    )
    env.delete()
    raises_dss(
        CODED_IO, dss_client.get_code_env("PYTHON", "py311").get_settings, "PYTHON env py311 doesn't exist"
    )


def test_users_and_groups(dss_client):
    assert {g["name"] for g in dss_client.list_groups()} == {"administrators", "data_team", "readers"}
    dss_client.create_group("ops", description="Ops")
    user = dss_client.create_user("erin", "pw", display_name="Erin", groups=["ops"])
    settings = user.get_settings()
    settings.get_raw()["email"] = "erin@example.com"
    settings.save()
    assert dss_client.get_user("erin").get_settings().get_raw()["email"] == "erin@example.com"
    assert "erin" in [u["login"] for u in dss_client.list_users()]
    raises_dss(NOT_FOUND, lambda: dss_client.create_user("x", "pw", groups=["nope"]))
    user.delete()
    dss_client.get_group("ops").delete()
    raises_dss(NOT_FOUND, dss_client.get_user("erin").get_settings)


def test_global_variables_and_instance_info(dss_client):
    variables = dss_client.get_global_variables()
    variables["region"] = "eu"
    variables.save()
    assert dss_client.get_global_variables()["region"] == "eu"
    assert dss_client.get_instance_info().node_type == "DESIGN"


def test_auth_info_from_browser_headers(dss_client, dss):
    dss.admin.seed(users=[{"login": "frank", "groups": ["analysts"]}])
    info = dss_client.get_auth_info_from_browser_headers({"X-Emulator-User": "frank"})
    assert info["authIdentifier"] == "frank" and info["groups"] == ["analysts"]
    info = dss_client.get_auth_info_from_browser_headers({"Cookie": "a=b; dss_emulator_user=frank"})
    assert info["authIdentifier"] == "frank"
    raises_dss(NOT_AUTHENTICATED, lambda: dss_client.get_auth_info_from_browser_headers({}))


def test_plugins_listing(dss_client):
    ids = [p["id"] for p in dss_client.list_plugins()]
    assert "dataiku-iac" in ids  # the repo itself is registered by the pytest fixture


def test_code_env_document_mirrors_its_container_settings(dss_client):
    """usableByAll, allContainerConfs and containerConfs sit both at the top level and in `desc`;
    on a PUT the top-level value wins (findings section 7)."""
    settings = dss_client.get_code_env("PYTHON", "py39_default").get_settings()
    raw = settings.get_raw()
    for key in ("usableByAll", "allContainerConfs", "containerConfs"):
        assert raw[key] == raw["desc"][key], key
    raw["containerConfs"] = ["k8s-small"]
    raw["usableByAll"] = False
    raw["desc"]["containerConfs"] = ["ignored"]  # the top level wins
    settings.save()
    saved = dss_client.get_code_env("PYTHON", "py39_default").get_settings().get_raw()
    assert saved["containerConfs"] == saved["desc"]["containerConfs"] == ["k8s-small"]
    assert saved["usableByAll"] is False and saved["desc"]["usableByAll"] is False


def test_groups_shipped_and_their_mapping_keys(dss_client):
    groups = {g["name"]: g for g in dss_client.list_groups()}
    assert {"readers", "data_team"} <= set(groups)  # DSS ships both (findings section 7)
    created = dss_client.create_group("ops").get_definition()
    assert created["azureADGroupNames"] == [] and created["ldapGroupNames"] == []
    assert "ssoGroupNames" not in created


def test_a_new_user_gets_a_default_group(dss_client):
    user = dss_client.create_user("newbie", "pw", display_name="New")
    assert user.get_settings().get_raw()["groups"] == ["readers"]
    named = dss_client.create_user("member", "pw", groups=["data_team"])
    assert named.get_settings().get_raw()["groups"] == ["data_team"]


def test_connection_settings_carry_a_creation_tag(dss_client):
    conn = dss_client.create_connection("pg3", "PostgreSQL", params={"host": "h"})
    raw = conn.get_settings().get_raw()
    tag = raw["creationTag"]
    assert tag["versionNumber"] == 0 and tag["lastModifiedBy"]["login"] == "admin"
    settings = conn.get_settings()
    settings.get_raw()["creationTag"] = {"versionNumber": 99}  # a PUT cannot change it
    settings.save()
    assert conn.get_settings().get_raw()["creationTag"] == tag
    assert "creationTag" in dss_client.list_connections()["filesystem_managed"]


def test_licensing_status_is_a_valid_enterprise_licence(dss, dss_client):
    status = dss_client.get_licensing_status()
    assert status["ceEnterprise"] is False and status["community"] is False and status["expired"] is False
    assert {"DESIGNER", "DATA_SCIENTIST"} <= set(status["limits"]["licensedProfiles"])
    dss.admin.seed(api_keys=[{"key": "lic-reader", "login": "lic_reader", "groups": ["readers"]}])
    raises_dss(UNAUTHORIZED, dss.client_for("lic-reader").get_licensing_status)
