"""Shared builders and store doubles for the state-layer tests."""

from __future__ import annotations

from pathlib import Path

from dataiku_iac.state import LocalBlobStore, ResourceState, StateDocument, StateWriter, make_address


def resource(
    type_: str = "dataset", key: str = "DEMO", name: str = "TEST_DATA", *, effective: str = "", **extra
) -> ResourceState:
    """A resource of config project `key`, deployed as DSS project `effective` (default: the same)."""
    effective = effective or key
    name = effective if type_ == "project" else name
    fields = dict(
        address=make_address(type_, key, name),
        type=type_,
        project_key=effective,
        name=name,
        dss_id=name,
        attributes={"type": "managed", "format": "parquet"},
        version_tag={"versionNumber": 1, "lastModifiedOn": 1700000000000, "lastModifiedBy": {"login": "admin"}},
        depends_on=[] if type_ == "project" else [f"project.{key}"],
    )
    fields.update(extra)
    return ResourceState(**fields)


def doc_with(env: str = "dev", count: int = 3) -> StateDocument:
    doc = StateDocument.new(env)
    doc.put(resource("project", "DEMO", "DEMO"))
    for i in range(count - 1):
        doc.put(resource("dataset", "DEMO", f"DS_{i}"))
    return doc


class RecordingStore(LocalBlobStore):
    """A LocalBlobStore that counts bytes read and written per operation, and can fail on demand."""

    def __init__(self, root: Path):
        super().__init__(root)
        self.written: list = []  # (op, name, nbytes)
        self.read_bytes = 0
        self.fail_put: str | None = None

    def get(self, name):
        data = super().get(name)
        self.read_bytes += len(data or b"")
        return data

    def put(self, name, data):
        if self.fail_put == name:
            raise KeyboardInterrupt(f"simulated kill before writing {name}")
        self.written.append(("put", name, len(data)))
        super().put(name, data)

    def put_if_absent(self, name, data):
        self.written.append(("put_if_absent", name, len(data)))
        return super().put_if_absent(name, data)

    def append(self, name, data):
        self.written.append(("append", name, len(data)))
        super().append(name, data)


def writer_on(store, env: str = "dev") -> StateWriter:
    return StateWriter(store, environment=env)
