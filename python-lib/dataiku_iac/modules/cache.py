"""The content-addressed module cache: `<cache>/<hex of the content hash>/` holds a module's
files, written once (exported to a temporary directory beside it, then renamed), checked
against its name each time it is used; `<cache>/git/` holds the bare Git repositories modules
are fetched from.

`<cache>` is `$DATAIKU_IAC_MODULE_CACHE`, else `$XDG_CACHE_HOME/dataiku-iac/modules`, else
`~/.cache/dataiku-iac/modules`. It is private (0700, ours, no symbolic link), like the Git
cache of config sources (sources/git.py): another user could otherwise plant a module.
"""

from __future__ import annotations

import base64
import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator, Optional

from dataiku_iac.modules.hashing import TreeError, TreeHash, hash_tree
from dataiku_iac.sources.git import ensure_private_dir

CACHE_ENV = "DATAIKU_IAC_MODULE_CACHE"


def cache_root() -> Path:
    """The cache directory (created 0700 if missing; refused if others may use it)."""
    configured = os.environ.get(CACHE_ENV)
    if configured:
        root = Path(configured).expanduser()
    else:
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        root = Path(base) / "dataiku-iac" / "modules"
    root.parent.mkdir(parents=True, exist_ok=True)
    return ensure_private_dir(root, f"module cache directory (${CACHE_ENV})" if configured else "module cache directory")


def git_cache(root: Path) -> Path:
    return ensure_private_dir(root / "git", "module cache directory")


def _hex(content_hash: str) -> str:
    return base64.b64decode(content_hash[3:]).hex()


def cached(root: Path, content_hash: str) -> Optional[Path]:
    """The cached directory of `content_hash`, when present and intact. A directory whose files
    no longer hash to its name (edited, half-removed) is deleted: it is fetched again."""
    if not content_hash.startswith("h1:"):
        return None
    try:
        directory = root / _hex(content_hash)
    except ValueError:
        return None
    if not directory.is_dir():
        return None
    try:
        if hash_tree(directory, directory).content_hash == content_hash:
            return directory
    except TreeError:
        pass
    shutil.rmtree(directory, ignore_errors=True)
    return None


@contextlib.contextmanager
def staging(root: Path) -> Iterator[Path]:
    """A fresh directory inside the cache to export a module into (removed if not stored)."""
    path = Path(tempfile.mkdtemp(prefix="tmp-", dir=root))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def store(root: Path, staged: Path) -> tuple[Path, TreeHash]:
    """Move the module exported in `staged` to its place in the cache; (directory, hash)."""
    tree = hash_tree(staged, staged)
    final = cached(root, tree.content_hash)
    if final is not None:
        return final, tree
    final = root / tree.hex
    try:
        os.replace(staged, final)
    except OSError:  # another run stored the same content meanwhile
        if cached(root, tree.content_hash) is None:
            raise
    return final, tree
