"""Persistence: a restart with the same data dir keeps every object and file; reset clears projects."""

from __future__ import annotations

from dss_emulator.pytest_plugin import start_subprocess, stop_subprocess


def _populate(client) -> dict:
    p = client.create_project(
        "KEEP", "Kept", "admin", permissions=[{"group": "analysts", "readProjectContent": True}]
    )
    p.new_managed_dataset("d").with_store_into("filesystem_managed").create()
    p.new_recipe("python", "r").with_input("d").with_new_output_dataset(
        "o", "filesystem_managed"
    ).with_script("print(2)").create()
    folder = p.create_managed_folder("state")
    folder.put_file("/state/v1.json", b'{"serial": 1}')
    scenario = p.create_scenario("Nightly", "step_based")
    p.set_variables({"standard": {"env": "prod"}, "local": {"l": 1}})
    lib = p.get_library()
    lib.get_folder("/python").add_file("helpers.py").write("X = 1\n")
    client.create_connection("extra_conn", "Filesystem", params={"root": "/x"})
    return {"folder": folder.id, "scenario": scenario.id}


def test_restart_keeps_everything(tmp_path):
    handle = start_subprocess(tmp_path / "data")
    try:
        ids = _populate(handle.client())
        before = handle.client().get_project("KEEP").get_dataset("d").get_settings().get_raw()
    finally:
        stop_subprocess(handle)
    handle = start_subprocess(tmp_path / "data")
    try:
        client = handle.client()
        p = client.get_project("KEEP")
        assert p.get_dataset("d").get_settings().get_raw() == before
        assert [r["name"] for r in p.list_recipes()] == ["r"]
        assert p.get_recipe("r").get_settings().get_code() == "print(2)"
        assert p.get_managed_folder(ids["folder"]).get_file("/state/v1.json").content == b'{"serial": 1}'
        assert [s["id"] for s in p.list_scenarios()] == [ids["scenario"]]
        assert p.get_variables() == {"standard": {"env": "prod"}, "local": {"l": 1}}
        assert p.get_permissions()["permissions"][0]["group"] == "analysts"
        assert p.get_library().get_file("/python/helpers.py").read() == "X = 1\n"
        assert "extra_conn" in client.list_connections()
        handle.admin.reset()
        assert client.list_project_keys() == []
        assert "extra_conn" in client.list_connections()
        handle.admin.reset(full=True)
        assert "extra_conn" not in client.list_connections()
        assert "filesystem_managed" in client.list_connections()
    finally:
        stop_subprocess(handle)


def test_in_memory_server_in_process():
    import dataikuapi
    from dss_emulator.server import EmulatorServer

    server = EmulatorServer(port=0, api_key="k").start()
    try:
        client = dataikuapi.DSSClient(server.url, api_key="k")
        client.create_project("MEM", "m", "admin")
        assert client.list_project_keys() == ["MEM"]
    finally:
        server.stop()


def test_console_script_start_contract(tmp_path):
    """`dss-emulator --port PORT --host --api-key --data-dir --latency-ms` answers GET /projects/ once ready."""
    import shutil
    import socket
    import subprocess
    import sys
    import time
    from pathlib import Path

    import dataikuapi
    from dss_emulator.pytest_plugin import wait_until_ready

    script = shutil.which("dss-emulator") or str(Path(sys.executable).parent / "dss-emulator")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [
            script,
            "--port",
            str(port),
            "--host",
            "127.0.0.1",
            "--api-key",
            "cli-key",
            "--data-dir",
            str(tmp_path / "d"),
            "--latency-ms",
            "100",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_ready(url, "cli-key", proc=proc)
        start = time.time()
        assert dataikuapi.DSSClient(url, api_key="cli-key").list_project_keys() == []
        assert time.time() - start >= 0.1
    finally:
        proc.kill()
        proc.wait()


def test_collections_of_other_kinds_survive_a_restart(tmp_path):
    """Project and instance collections (the kinds a route module owns) are kept per kind."""
    from dss_emulator.store import Store

    store = Store(tmp_path / "data")
    proj = store.add_project("KEEP", {"projectKey": "KEEP", "name": "Kept"})
    proj.collection("savedmodels")["a1"] = {"id": "a1", "name": "churn"}
    proj.collection("savedmodels")["b2"] = {"id": "b2", "name": "upsell"}
    store.save_collection(proj, "savedmodels")
    store.instance_collection("api-deployer/infras")["prod"] = {"id": "prod"}
    store.save_instance_collection("api-deployer/infras")

    again = Store(tmp_path / "data")
    assert list(again.projects["KEEP"].collection("savedmodels")) == ["a1", "b2"]
    assert again.projects["KEEP"].collection("savedmodels")["b2"]["name"] == "upsell"
    assert again.instance_collection("api-deployer/infras") == {"prod": {"id": "prod"}}
    again.reset()
    assert "KEEP" not in again.projects
