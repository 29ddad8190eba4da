"""The state layer: the state document, its storage, history, the apply journal and the lock.

Import from here; see docs/state-format.md for the on-disk format and its guarantees.
"""

from __future__ import annotations

from dataiku_iac.state.blobs import BlobStore, LocalBlobStore
from dataiku_iac.state.journal import JournalRead, replay
from dataiku_iac.state.lock import Locker, LockInfo
from dataiku_iac.state.model import (
    FORMAT_VERSION,
    ResourceState,
    StateDocument,
    make_address,
    parse_state,
)
from dataiku_iac.state.store import (
    HistoryEntry,
    StateReader,
    StateWriter,
    known_backends,
    open_state,
    register_backend,
)

__all__ = [
    "FORMAT_VERSION",
    "BlobStore",
    "HistoryEntry",
    "JournalRead",
    "LocalBlobStore",
    "LockInfo",
    "Locker",
    "ResourceState",
    "StateDocument",
    "StateReader",
    "StateWriter",
    "known_backends",
    "make_address",
    "open_state",
    "parse_state",
    "register_backend",
    "replay",
]
