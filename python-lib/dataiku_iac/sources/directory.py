"""A configuration in a local directory (a laptop, a CI checkout, a DSS-host path)."""

from __future__ import annotations

from pathlib import Path

from dataiku_iac.sources.common import SourceError


def from_directory(spec: dict) -> tuple[Path, dict]:
    path = spec.get("path")
    if not isinstance(path, str) or not path:
        raise SourceError("a directory source needs a 'path'")
    root = Path(path).expanduser()
    if not root.is_dir():
        raise SourceError(f"the configuration directory {path} does not exist")
    # The loader confines every read to this root; nothing more to do here.
    return root, {"kind": "directory", "path": str(root.resolve())}
