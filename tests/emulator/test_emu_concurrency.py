"""Concurrency: parallel creates lose nothing, duplicate nothing, and uniqueness is enforced atomically."""

from __future__ import annotations

import threading
from collections import Counter

from dataikuapi.utils import DataikuException

THREADS = 8
OWN = 10
CONTESTED = 10


def test_parallel_dataset_creation(dss, dss_client):
    dss_client.create_project("CONC", "c", "admin")
    wins: Counter = Counter()
    dup_errors: Counter = Counter()
    other_errors = []
    barrier = threading.Barrier(THREADS)

    def worker(i: int) -> None:
        project = dss.client().get_project("CONC")
        barrier.wait()
        for j in range(max(OWN, CONTESTED)):
            if j < OWN:
                project.new_managed_dataset(f"t{i}_{j}").with_store_into("filesystem_managed").create()
            if j < CONTESTED:
                name = f"shared_{j}"
                try:
                    project.new_managed_dataset(name).with_store_into("filesystem_managed").create()
                    wins[name] += 1
                except DataikuException as exc:
                    if "already exists" in str(exc):
                        dup_errors[name] += 1
                    else:
                        other_errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not other_errors
    assert all(wins[f"shared_{j}"] == 1 for j in range(CONTESTED)), wins
    assert all(dup_errors[f"shared_{j}"] == THREADS - 1 for j in range(CONTESTED)), dup_errors
    names = [d["name"] for d in dss_client.get_project("CONC").list_datasets()]
    assert len(names) == len(set(names)) == THREADS * OWN + CONTESTED
    on_disk = sorted(
        p.stem for p in (dss.data_dir / "config" / "projects" / "CONC" / "datasets").glob("*.json")
    )
    assert on_disk == sorted(names)


def test_parallel_folder_files_and_scenario_runs(dss, dss_client):
    project = dss_client.create_project("CONC2", "c", "admin")
    folder = project.create_managed_folder("state")
    scenario = project.create_scenario("s", "step_based")

    def writer(i: int) -> None:
        f = dss.client().get_project("CONC2").get_managed_folder(folder.id)
        for j in range(10):
            f.put_file(f"/w{i}/f{j}.json", b"{}")

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(folder.list_contents()["items"]) == THREADS * 10
    assert scenario.run_and_wait().outcome == "SUCCESS"


def test_lists_are_encoded_under_the_store_lock(monkeypatch):
    """The dataset, recipe and folder lists answer with the stored documents themselves (no copy):
    that is only safe because a locked route's answer is encoded before the store lock is released,
    so no concurrent write can change a document half-way through its JSON."""
    import dataikuapi
    from dss_emulator import server as server_module
    from dss_emulator.server import EmulatorServer

    srv = EmulatorServer(port=0, api_key="k").start()
    try:
        client = dataikuapi.DSSClient(srv.url, "k")
        project = client.create_project("ENC", "e", "admin")
        project.create_managed_folder("f")
        project.new_managed_dataset("d").with_store_into("filesystem_managed").create()
        project.new_recipe("sync").with_input("d").with_new_output("d_out", "filesystem_managed").create()
        encoded_while_locked = []
        encode = server_module.json_response

        def checking(payload, status=200):
            encoded_while_locked.append(srv.app.store.lock._is_owned())
            return encode(payload, status)

        monkeypatch.setattr(server_module, "json_response", checking)
        listed = {
            "datasets": project.list_datasets(as_type="listitems"),
            "recipes": project.list_recipes(as_type="listitems"),
            "folders": project.list_managed_folders(),
        }
        assert all(listed.values()) and encoded_while_locked == [True, True, True]
        # What was answered is a snapshot: a later save does not reach it, and the store keeps its own.
        settings = project.get_dataset("d").get_settings()
        settings.get_raw()["description"] = "changed"
        settings.save()
        assert "changed" not in str(listed["datasets"])
        assert project.get_dataset("d").get_settings().get_raw()["description"] == "changed"
    finally:
        srv.stop()
