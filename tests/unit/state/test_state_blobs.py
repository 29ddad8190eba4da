"""BlobStore conformance: the contract every backend must meet (run here on LocalBlobStore; a new
backend adds itself to the `blob_store` fixture), plus the local directory's specifics."""

from __future__ import annotations

import errno
import os

import pytest
from dataiku_iac.errors import StateError
from dataiku_iac.state import LocalBlobStore


@pytest.fixture(params=["local", "s3"])
def blob_store(request, tmp_path):
    if request.param == "local":
        return LocalBlobStore(tmp_path / "blobs")
    if request.param == "s3":  # moto over HTTP (tests/s3_server.py), a fresh prefix per test
        import uuid

        from dataiku_iac.state.backends.s3 import S3BlobStore

        from tests.s3_server import BUCKET

        server = request.getfixturevalue("s3_server")
        return S3BlobStore(server.client(), BUCKET, f"conformance/{uuid.uuid4().hex}")
    raise AssertionError(request.param)


def test_get_missing_is_none(blob_store):
    assert blob_store.get("state.json") is None
    assert blob_store.list() == []


def test_put_replaces_atomically_and_get_reads_back(blob_store):
    blob_store.put("state.json", b"one")
    blob_store.put("state.json", b"two")
    assert blob_store.get("state.json") == b"two"


def test_put_if_absent(blob_store):
    assert blob_store.put_if_absent("lock.json", b"mine") is True
    assert blob_store.put_if_absent("lock.json", b"theirs") is False
    assert blob_store.get("lock.json") == b"mine"


def test_append_creates_then_appends(blob_store):
    blob_store.append("journal.jsonl", b"a\n")
    blob_store.append("journal.jsonl", b"b\n")
    assert blob_store.get("journal.jsonl") == b"a\nb\n"


def test_delete_is_idempotent(blob_store):
    blob_store.put("x.json", b"1")
    blob_store.delete("x.json")
    blob_store.delete("x.json")
    assert blob_store.get("x.json") is None


def test_list_with_prefix_and_nested_names(blob_store):
    for name in ["state.json", "history/0000000002.json", "history/0000000001.json", "journal.jsonl"]:
        blob_store.put(name, b"{}")
    assert blob_store.list("history/") == ["history/0000000001.json", "history/0000000002.json"]
    assert blob_store.list() == sorted(["state.json", "history/0000000001.json", "history/0000000002.json",
                                        "journal.jsonl"])


@pytest.mark.parametrize("name", ["", "/etc/passwd", "../escape", "a/../../b", "a//b", ".", ".tmp-x", "a/.."])
def test_unsafe_names_are_refused(blob_store, name):
    with pytest.raises(StateError):
        blob_store.put(name, b"x")


def test_describe_names_the_location(blob_store):
    assert blob_store.describe()


# -- local specifics -----------------------------------------------------------------------------


def test_local_directory_is_created_lazily(tmp_path):
    store = LocalBlobStore(tmp_path / "a" / "b", label=".dataiku-iac/state/dev")
    assert store.describe() == "local directory .dataiku-iac/state/dev"
    assert store.get("state.json") is None and not (tmp_path / "a").exists()
    store.put("state.json", b"{}")
    assert (tmp_path / "a" / "b" / "state.json").read_bytes() == b"{}"


def test_failed_put_leaves_no_temp_file_and_old_content(tmp_path, monkeypatch):
    store = LocalBlobStore(tmp_path)
    store.put("state.json", b"old")

    def broken_replace(src, dst):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(StateError, match="No space left on device"):
        store.put("state.json", b"new")
    assert store.get("state.json") == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json"]


def test_put_if_absent_falls_back_to_exclusive_create_without_hard_links(tmp_path, monkeypatch):
    store = LocalBlobStore(tmp_path)

    def no_links(src, dst):
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    assert store.put_if_absent("lock.json", b"mine") is True
    assert store.put_if_absent("lock.json", b"theirs") is False
    assert store.get("lock.json") == b"mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lock.json"]


def test_files_are_private(tmp_path):
    store = LocalBlobStore(tmp_path)
    store.put("state.json", b"{}")
    store.append("journal.jsonl", b"x\n")
    assert store.put_if_absent("lock.json", b"{}")
    for name in ("state.json", "journal.jsonl", "lock.json"):
        assert (tmp_path / name).stat().st_mode & 0o077 == 0, name
