"""A configuration kept in a folder of a DSS project library (which DSS can link to Git).

Read through the public API (`project.get_library()`, then one read per file) and written to
a fresh directory; names from DSS are treated as untrusted (no '..', no absolute paths).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dataiku_iac.dssclient import with_retries
from dataiku_iac.errors import IacError
from dataiku_iac.sources.common import (
    MAX_FILES,
    MAX_TOTAL_BYTES,
    SourceError,
    check_rel,
    tree_digest,
    write_confined,
)


def library_folder(path: Any) -> str:
    folder = str(path or "").strip().strip("/")
    if folder:
        check_rel(folder)
    return folder


def from_library(spec: dict, client: Any, work: Path) -> tuple[Path, dict]:
    project_key = spec.get("project_key")
    if not isinstance(project_key, str) or not project_key:
        raise SourceError("a project library source needs a 'project_key'")
    folder = library_folder(spec.get("path", "iac"))
    library = _call(lambda: client.get_project(project_key).get_library(), f"read the library of {project_key}")
    files = list_library_files(library, folder)
    if not files:
        where = f"/{folder}" if folder else "/"
        raise SourceError(f"the library of project {project_key} has no files under {where}")
    total = 0
    root = work / "config"
    root.mkdir(parents=True, exist_ok=True)
    for rel, handle in files:
        data = _call(lambda handle=handle: handle.read(as_type="bytes"), f"read /{handle.path}")
        total += len(data)
        if total > MAX_TOTAL_BYTES:
            raise SourceError(f"the library folder /{folder} holds more than {MAX_TOTAL_BYTES // 2**20} MiB")
        write_confined(root, rel, data)
    provenance = {"kind": "library", "project_key": project_key, "path": folder, "digest": tree_digest(root)}
    return root, provenance


def list_library_files(library: Any, folder: str) -> list:
    """(relative path, file handle) of every file under /folder of a `DSSLibrary`, sorted."""
    try:
        node = library.get_folder("/" + folder) if folder else library.root
    except Exception:  # the client raises when the path names a file
        node = None
    if node is None:
        return []
    out: list = []
    _walk(node, "", out)
    if len(out) > MAX_FILES:
        raise SourceError(f"the library folder /{folder} holds more than {MAX_FILES} files")
    return sorted(out, key=lambda item: item[0])


def _walk(folder: Any, prefix: str, out: list) -> None:
    for child in folder.list():
        rel = check_rel(f"{prefix}{child.name}")
        if child.children is not None:
            _walk(child, rel + "/", out)
        else:
            out.append((rel, child))


def _call(fn: Any, doing: str) -> Any:
    try:
        return with_retries(fn)
    except IacError as exc:
        raise SourceError(f"cannot {doing}: {exc}") from None
