"""Instance endpoints: connections, code envs, users, groups, plugins, variables, identity."""

from __future__ import annotations

from emu_helpers import CODED_IO, ILLEGAL_ARGUMENT, NOT_AUTHENTICATED, NOT_FOUND, raises_dss


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
    assert {g["name"] for g in dss_client.list_groups()} >= {"administrators", "data_team", "analysts"}
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
