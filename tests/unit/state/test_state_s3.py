"""The S3 state backend against a local S3-compatible server (moto over HTTP, tests/s3_server.py):
the whole state lifecycle, O(entry) journal appends, immutable snapshots and a compare-and-swap
pointer, the lock (conditional create, probe, ETag-guarded refresh/release) and a lock race."""

from __future__ import annotations

import multiprocessing as mp
import uuid

import pytest
from dataiku_iac.errors import LockError, StateConflictError, StateError
from dataiku_iac.state import StateWriter, open_state
from dataiku_iac.state.backends.s3 import S3BlobStore, S3Locker, open_s3
from dataiku_iac.state.lock import LOCK_BLOB
from statetest_helpers import doc_with

from tests.s3_server import BUCKET
from tests.support.state_cycles import check_empty_states_keep_the_lineage

TRIALS = 100
RACERS = 8


def _writer(server, prefix: str | None = None, env: str = "dev") -> StateWriter:
    spec = {"backend": "s3", "bucket": BUCKET, "key_prefix": prefix or f"t/{uuid.uuid4().hex}"}
    return open_s3(spec, environment=env, config_root=None, client=server.client())


def _same_lineage(base, count: int):
    doc = doc_with(count=count)
    doc.lineage, doc.fingerprint_key = base.lineage, base.fingerprint_key
    return doc


@pytest.fixture
def s3_writer(s3_server):
    return _writer(s3_server)


# -- configuration ----------------------------------------------------------------------------


def test_open_state_builds_an_s3_writer_from_the_spec(s3_server, tmp_path, monkeypatch):
    from tests.s3_server import CREDENTIALS

    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    spec = {"backend": "s3", "bucket": BUCKET, "key_prefix": "teams/data", "region": "us-east-1", "endpoint_url": s3_server.url}
    writer = open_state(spec, environment="prod", config_root=tmp_path)
    assert writer.store.describe() == f"s3://{BUCKET}/teams/data/prod"
    assert isinstance(writer.locker, S3Locker)
    writer.write(doc_with("prod"), expected_serial=0, operation="apply")
    assert "teams/data/prod/state.json" in {o["Key"] for o in s3_server.client().list_objects_v2(Bucket=BUCKET)["Contents"]}


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"backend": "s3"}, "'bucket' is required"),
        ({"backend": "s3", "bucket": "b", "access_key": "AKIA"}, "never from the configuration"),
        ({"backend": "s3", "bucket": "b", "key_prefix": "a/../b"}, "invalid key_prefix"),
    ],
)
def test_bad_specs_are_refused(spec, message, tmp_path):
    with pytest.raises(StateError, match=message):
        open_state(spec, environment="dev", config_root=tmp_path)


def test_missing_credentials_are_named(tmp_path, monkeypatch, s3_server):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    writer = open_state({"backend": "s3", "bucket": BUCKET, "endpoint_url": s3_server.url, "region": "us-east-1"},
                        environment="dev", config_root=tmp_path)
    with pytest.raises(StateError, match="no AWS credentials found"):
        writer.read()


# -- the state lifecycle ----------------------------------------------------------------------------


def test_serials_history_and_restore(s3_writer):
    first = s3_writer.write(doc_with(count=2), expected_serial=0, operation="apply")
    second = s3_writer.write(_same_lineage(first, 4), expected_serial=1, operation="apply")
    assert (first.serial, second.serial) == (1, 2)
    assert [e.serial for e in s3_writer.history()] == [1, 2]
    restored = s3_writer.restore(1, operation="state restore")
    assert restored.serial == 3 and len(restored.resources) == 2
    assert s3_writer.read().serial == 3 and s3_writer.read_serial(2).serial == 2
    with pytest.raises(StateConflictError, match="expected stored serial 1"):
        s3_writer.write(_same_lineage(first, 1), expected_serial=1, operation="apply")


def test_journal_lifecycle_and_replay(s3_writer):
    base = s3_writer.write(doc_with(count=1), expected_serial=0, operation="apply")
    lock = s3_writer.lock("apply")
    s3_writer.journal_begin(base_serial=base.serial, lineage=base.lineage, operation="apply")
    record = doc_with(count=2).get("dataset.DEMO.DS_0").to_json()
    s3_writer.journal_append({"seq": 1, "kind": "intent", "action": "create", "address": "dataset.DEMO.DS_0", "resource": record})
    s3_writer.journal_append({"seq": 1, "kind": "outcome", "action": "create", "address": "dataset.DEMO.DS_0", "ok": True, "resource": record})
    journal = s3_writer.read_journal()
    assert journal.status == "ok" and len(journal.entries) == 2
    s3_writer.compact_journal()
    assert s3_writer.read_journal().status == "none"
    assert "dataset.DEMO.DS_0" in s3_writer.read().resources and s3_writer.read().serial == 2
    s3_writer.unlock(lock.id)


class _CountingClient:
    """Wraps a boto3 client and records the bytes each call sends and receives."""

    def __init__(self, client):
        self._client = client
        self.calls: list = []

    def __getattr__(self, name):
        attr = getattr(self._client, name)
        if name not in ("put_object", "get_object", "head_object", "list_objects_v2", "delete_object"):
            return attr

        def call(**kwargs):
            response = attr(**kwargs)
            self.calls.append((name, kwargs.get("Key"), len(kwargs.get("Body") or b"")))
            return response

        return call


def test_journal_append_costs_one_small_put_whatever_the_journal_size(s3_server):
    counting = _CountingClient(s3_server.client())
    store = S3BlobStore(counting, BUCKET, f"t/{uuid.uuid4().hex}/dev")
    store.put("journal.jsonl", b'{"journal": 1}\n')
    entry = b'{"seq": 1, "kind": "intent", "address": "dataset.DEMO.X"}\n'
    for _ in range(50):
        store.append("journal.jsonl", entry)
    counting.calls.clear()
    store.append("journal.jsonl", entry)
    assert counting.calls == [("put_object", counting.calls[0][1], len(entry))]
    assert store.get("journal.jsonl") == b'{"journal": 1}\n' + entry * 51
    store.put("journal.jsonl", b"fresh\n")  # a new generation: earlier appends are gone
    assert store.get("journal.jsonl") == b"fresh\n"
    store.delete("journal.jsonl")
    assert store.get("journal.jsonl") is None and store.list() == []


def test_history_snapshots_are_immutable(s3_server):
    prefix = f"t/{uuid.uuid4().hex}"
    writer = _writer(s3_server, prefix)
    writer.write(doc_with(count=1), expected_serial=0, operation="apply")
    with pytest.raises(StateConflictError, match="immutable"):
        writer.store.put("history/0000000001.json", b"{}")


def test_pointer_is_a_compare_and_swap(s3_server):
    prefix = f"t/{uuid.uuid4().hex}"
    alice, bob = _writer(s3_server, prefix), _writer(s3_server, prefix)
    first = alice.write(doc_with(count=1), expected_serial=0, operation="apply")
    stale = bob.store.get("state.json")  # bob reads serial 1 ...
    alice.write(_same_lineage(first, 2), expected_serial=1, operation="apply")  # ... alice commits serial 2
    with pytest.raises(StateConflictError, match="changed since this run read it"):
        bob.store.put("state.json", stale)
    assert alice.read().serial == 2


# -- the lock ------------------------------------------------------------------------------------------


def test_lock_is_exclusive_and_released_only_with_its_id(s3_server):
    prefix = f"t/{uuid.uuid4().hex}"
    holder, other = _writer(s3_server, prefix), _writer(s3_server, prefix)
    info = holder.lock("apply")
    with pytest.raises(LockError) as err:
        other.lock("apply")
    assert info.id in str(err.value) and f"dataiku-iac state unlock {info.id} -e dev" in str(err.value)
    assert info.backend == f"s3://{BUCKET}/{prefix}/dev"
    with pytest.raises(LockError, match="cannot release the state lock with lock ID wrong"):
        other.unlock("wrong")
    holder.refresh_lock(info.id)
    other.unlock(info.id)  # the exact id works from anywhere (force-unlock)
    assert other.current_lock() is None
    with pytest.raises(LockError, match="not locked"):
        holder.refresh_lock(info.id)


def test_release_never_deletes_a_lock_taken_over_meanwhile(s3_server):
    prefix = f"t/{uuid.uuid4().hex}"
    first = _writer(s3_server, prefix)
    info = first.lock("apply")
    locker = first.locker
    _holder, etag = locker._require_with_etag(info.id, "release the state lock")
    first.store.delete(LOCK_BLOB)  # an operator force-unlocks, and a new run takes the lock
    second = _writer(s3_server, prefix).lock("apply")
    assert first.store.delete_if_match(LOCK_BLOB, etag) is False
    assert first.current_lock().id == second.id


class _IgnoresConditions:
    """A store that accepts If-None-Match / If-Match and ignores them (stackitcloud#1534)."""

    def __init__(self, client):
        self._client = client

    def __getattr__(self, name):
        attr = getattr(self._client, name)
        if name not in ("put_object", "delete_object"):
            return attr
        return lambda **kw: attr(**{k: v for k, v in kw.items() if k not in ("IfNoneMatch", "IfMatch")})


def test_a_store_that_ignores_conditional_writes_cannot_be_locked(s3_server):
    store = S3BlobStore(_IgnoresConditions(s3_server.client()), BUCKET, f"t/{uuid.uuid4().hex}/dev")
    store.client.meta = s3_server.client().meta
    S3Locker._probed.clear()
    writer = StateWriter(store, environment="dev", locker=S3Locker(store, environment="dev"))
    with pytest.raises(LockError, match="does not honour conditional writes"):
        writer.lock("apply")
    S3Locker._probed.clear()


def _racer(url: str, prefix_root: str, start, results) -> None:
    import boto3

    client = boto3.client("s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
    for trial in range(TRIALS):
        spec = {"backend": "s3", "bucket": BUCKET, "key_prefix": f"{prefix_root}/{trial}"}
        writer = open_s3(spec, environment="dev", config_root=None, client=client)
        start.wait()
        try:
            results.put((trial, "won", writer.lock("apply").id))
        except LockError as exc:
            results.put((trial, "lost", str(exc)))


def test_lock_race_100_trials_8_processes_exactly_one_holder(s3_server, capsys):
    ctx = mp.get_context("spawn")
    start, results = ctx.Barrier(RACERS), ctx.Queue()
    prefix_root = f"race/{uuid.uuid4().hex}"
    procs = [ctx.Process(target=_racer, args=(s3_server.url, prefix_root, start, results)) for _ in range(RACERS)]
    for proc in procs:
        proc.start()
    outcomes = [results.get(timeout=120) for _ in range(TRIALS * RACERS)]
    for proc in procs:
        proc.join(timeout=60)
    winners: dict = {}
    losers: dict = {}
    for trial, kind, detail in outcomes:
        (winners if kind == "won" else losers).setdefault(trial, []).append(detail)
    double = [t for t in range(TRIALS) if len(winners.get(t, [])) != 1]
    named = sum(1 for t, errors in losers.items() for e in errors if winners.get(t) and winners[t][0] in e)
    with capsys.disabled():
        print(f"\nS3 lock race: {TRIALS} trials x {RACERS} processes: trials without exactly one holder: "
              f"{len(double)}; losers naming the winner's lock ID: {named}/{TRIALS * (RACERS - 1)}")
    assert double == []
    assert named == TRIALS * (RACERS - 1)


def test_a_state_holding_no_resources_keeps_its_lineage(s3_server):
    """Issue 10: destroy leaves a state without resources; the next apply continues its lineage."""
    prefix = f"t/{uuid.uuid4().hex}"
    check_empty_states_keep_the_lineage(lambda: _writer(s3_server, prefix))
