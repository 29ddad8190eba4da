"""What every config source shares: the error type, limits, and confined writes."""

from __future__ import annotations

import hashlib
from pathlib import Path

from dataiku_iac.config.files import MAX_FILE_BYTES, check_relative_path
from dataiku_iac.errors import IacError

MAX_FILES = 5000
MAX_TOTAL_BYTES = 64 * 1024 * 1024


class SourceError(IacError):
    """The configuration could not be fetched from its source (messages never hold secrets)."""


def check_rel(rel: str) -> str:
    """A relative path from an untrusted listing, refused if it could leave the source root."""
    problem = check_relative_path(rel)
    if problem is None and any(part in ("", ".") for part in rel.split("/")):
        problem_text = f"empty or '.' path component in '{rel}'"
        raise SourceError(f"refusing the source file path: {problem_text}")
    if problem is not None:
        raise SourceError(f"refusing the source file path: {problem.message}")
    return rel


def write_confined(root: Path, rel: str, data: bytes) -> Path:
    """Write `data` at root/rel, refusing paths that leave `root` (also through symlinks)."""
    check_rel(rel)
    if len(data) > MAX_FILE_BYTES:
        raise SourceError(f"'{rel}' is larger than {MAX_FILE_BYTES // 1024} KiB")
    target = root.joinpath(*rel.split("/"))
    real_root = root.resolve()
    parent = target.parent
    parent.mkdir(parents=True, exist_ok=True)
    if real_root not in (parent.resolve(), *parent.resolve().parents):
        raise SourceError(f"refusing the source file path '{rel}': it leaves the config root")
    target.write_bytes(data)
    return target


def tree_digest(root: Path) -> str:
    """A content digest of every regular file under `root` (names and bytes)."""
    h = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink()):
        h.update(path.relative_to(root).as_posix().encode("utf-8") + b"\0")
        h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()
