from __future__ import annotations

import pytest
from dataiku_iac.state import LocalBlobStore
from statetest_helpers import RecordingStore, writer_on


@pytest.fixture
def store(tmp_path):
    return LocalBlobStore(tmp_path / "state" / "dev")


@pytest.fixture
def writer(store):
    return writer_on(store)


@pytest.fixture
def recording(tmp_path):
    return RecordingStore(tmp_path / "state" / "dev")
