"""Fault injection, latency and the request log."""

from __future__ import annotations

import threading
import time

import dataikuapi
import pytest
import requests
from dataikuapi.utils import DataikuException


def test_request_log_and_stats(dss, dss_client):
    dss_client.create_project("LOG", "l", "admin")
    dss_client.get_project("LOG").get_metadata()
    log = dss.admin.requests()
    assert [(e["method"], e["path"], e["status"]) for e in log] == [
        ("POST", "/projects/", 200),
        ("GET", "/projects/LOG/metadata", 200),
    ]
    assert all(e["duration_ms"] >= 0 and e["time"] > 0 and e["seq"] > 0 for e in log)
    assert dss.admin.requests(since=log[0]["seq"]) == log[1:]
    stats = dss.admin.stats()
    assert stats["requests"] == 2 and stats["by_method"] == {"POST": 1, "GET": 1}
    dss.admin.clear_requests()
    assert dss.admin.requests() == [] and dss.admin.stats()["requests"] == 0


def test_fail_nth_matching_request(dss, dss_client):
    p = dss_client.create_project("F", "f", "admin")
    rule = dss.admin.add_fault(method="GET", path=r"^/projects/F/metadata$", status=503, nth=2, times=2)
    p.get_metadata()  # 1st match passes
    for _ in range(2):  # 2nd and 3rd fail
        with pytest.raises(DataikuException):
            p.get_metadata()
    p.get_metadata()  # 4th passes again
    p.get_settings()  # other paths never match
    listed = dss.admin.faults()[0]
    assert listed["id"] == rule["id"] and listed["matched"] == 4 and listed["fired"] == 2
    statuses = [e["status"] for e in dss.admin.requests() if e["path"] == "/projects/F/metadata"]
    assert statuses == [200, 503, 503, 200]


def test_error_mode_does_not_apply_the_change(dss, dss_client):
    p = dss_client.create_project("E", "e", "admin")
    dss.admin.add_fault(method="POST", path="/managedfolders/$", status=500)
    with pytest.raises(DataikuException) as info:
        p.create_managed_folder("never")
    assert str(info.value).startswith("com.dataiku.dip.emulator.InjectedFault")
    assert p.list_managed_folders() == []


def test_after_mode_applies_then_fails(dss, dss_client):
    p = dss_client.create_project("A", "a", "admin")
    dss.admin.add_fault(
        method="POST",
        path="/datasets/managed$",
        status=502,
        mode="after",
        body={"errorType": "com.example.Gateway", "message": "bad gateway"},
    )
    with pytest.raises(DataikuException, match=r"com\.example\.Gateway: bad gateway"):
        p.new_managed_dataset("made_anyway").with_store_into("filesystem_managed").create()
    assert [d["name"] for d in p.list_datasets()] == ["made_anyway"]


def test_error_rate(dss, dss_client):
    dss.admin.add_fault(method="*", path="^/projects/$", status=500, error_rate=1.0)
    with pytest.raises(DataikuException):
        dss_client.list_project_keys()
    dss.admin.clear_faults()
    dss.admin.add_fault(method="*", path="^/projects/$", status=500, error_rate=0.0)
    for _ in range(5):
        dss_client.list_project_keys()


def test_latency_global_and_per_rule(dss, dss_client):
    dss.admin.set_latency(150)
    start = time.time()
    dss_client.list_project_keys()
    assert time.time() - start >= 0.15
    dss.admin.set_latency(0)
    dss.admin.add_fault(method="GET", path="^/projects/$", mode="latency", latency_ms=200, times=0)
    start = time.time()
    dss_client.list_project_keys()
    dss_client.list_project_keys()
    assert time.time() - start >= 0.4


def test_latency_overlaps_across_parallel_clients(dss):
    dss.admin.set_latency(300)
    errors = []

    def call():
        try:
            dataikuapi.DSSClient(dss.url, api_key=dss.api_key).list_project_keys()
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=call) for _ in range(6)]
    start = time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and time.time() - start < 1.2  # 6 x 300 ms would be 1.8 s if serialized


def test_hang_until_cleared(dss, dss_client):
    dss.admin.add_fault(method="GET", path="^/projects/$", mode="hang", hang_seconds=30, status=504, times=0)
    outcome = {}

    def call():
        try:
            requests.get(dss.url + "/dip/publicapi/projects/", auth=(dss.api_key, ""), timeout=20)
            outcome["status"] = "answered"
        except requests.exceptions.ReadTimeout:
            outcome["status"] = "timeout"

    thread = threading.Thread(target=call)
    thread.start()
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.get(dss.url + "/dip/publicapi/projects/", auth=(dss.api_key, ""), timeout=0.3)
    time.sleep(0.2)
    assert thread.is_alive()
    dss.admin.clear_faults()
    thread.join(timeout=5)
    assert outcome["status"] == "answered"
    assert dss_client.list_project_keys() == []


def test_hang_with_short_timeout_then_error(dss):
    dss.admin.add_fault(method="GET", path="^/projects/$", mode="hang", hang_seconds=0.2, status=504)
    start = time.time()
    resp = requests.get(dss.url + "/dip/publicapi/projects/", auth=(dss.api_key, ""), timeout=10)
    assert resp.status_code == 504 and time.time() - start >= 0.2


def test_admin_api_rejects_bad_rules(dss):
    resp = requests.post(dss.url + "/__emulator__/faults", json={"mode": "explode"})
    assert resp.status_code == 400
    resp = requests.post(dss.url + "/__emulator__/faults", data="{not json")
    assert resp.status_code == 400
    assert requests.get(dss.url + "/__emulator__/nope").status_code == 404
