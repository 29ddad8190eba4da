"""The content hash of a module: Go's `dirhash` "h1" over a normalised file tree.

The tree is every regular file under the module directory whose path has no component
starting with "." (no `.git`, no editor backups): the same set whether the module is read
in place, exported from a Git commit or copied into the cache. The summary is the SHA-256
of the sorted lines ``<sha256 hex of the file>  <posix path>\\n`` in base64, prefixed `h1:`
(golang.org/x/mod/sumdb/dirhash Hash1), so another tool can recompute it.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from dataiku_iac.config.files import ConfinedReadError, read_confined
from dataiku_iac.sources.common import MAX_FILES, MAX_TOTAL_BYTES


class TreeError(Exception):
    """The module directory cannot be hashed (the message says why, naming the file)."""


@dataclass(frozen=True)
class TreeHash:
    content_hash: str  # "h1:<base64>"
    files: int

    @property
    def hex(self) -> str:
        """The hash as a file-name-safe hex string (the cache directory's name)."""
        return base64.b64decode(self.content_hash[3:]).hex()


def module_files(directory: Path) -> list[str]:
    """The posix paths, relative to `directory`, of the files that make up a module, sorted.
    A symbolic link to a directory is refused: the loader would not read through it either."""
    found: list[str] = []
    for current, dirs, files in os.walk(directory):
        here = Path(current)
        for name in sorted(dirs):
            if not name.startswith(".") and (here / name).is_symlink():
                rel = (here / name).relative_to(directory).as_posix()
                raise TreeError(f"'{rel}' is a symbolic link to a directory: not allowed in a module")
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        found.extend((here / f).relative_to(directory).as_posix() for f in files if not f.startswith("."))
        if len(found) > MAX_FILES:
            raise TreeError(f"the module holds more than {MAX_FILES} files")
    return sorted(found)


# hash_tree's answers in this process, by the directory and the stat of each of its files: a
# configuration calling one module 50 times reads and hashes its files once (a changed file has
# another size, mtime or inode, and is hashed again).
_memo: dict[tuple[str, str, tuple], TreeHash] = {}


def _signature(directory: Path, files: list[str]) -> tuple:
    stats = []
    for rel in files:
        info = os.stat(directory / rel)
        stats.append((rel, info.st_ino, info.st_mtime_ns, info.st_size))
    return tuple(stats)


def hash_tree(directory: Path, confine_to: Path) -> TreeHash:
    """The content hash of the module in `directory`. Every file is read as the loader reads
    config files (`read_confined` under `confine_to`): a symbolic link leading outside it, a
    FIFO or a file over the size limit is refused."""
    files = module_files(directory)
    try:
        key = (os.path.realpath(directory), os.path.realpath(confine_to), _signature(directory, files))
    except OSError:  # a file gone or a dangling link: the reading below says which
        return _hash_files(directory, confine_to, files)
    found = _memo.get(key)
    if found is None:
        found = _memo[key] = _hash_files(directory, confine_to, files)
    return found


def _hash_files(directory: Path, confine_to: Path, files: list[str]) -> TreeHash:
    rel_dir = os.path.relpath(directory, confine_to)
    lines: list[str] = []
    total = 0
    for rel in files:
        if "\n" in rel:
            raise TreeError(f"the file name {rel!r} holds a line break")
        path = rel if rel_dir == "." else f"{Path(rel_dir).as_posix()}/{rel}"
        try:
            data = read_confined(confine_to, path)
        except ConfinedReadError as exc:
            raise TreeError(exc.problem.message) from None
        total += len(data)
        if total > MAX_TOTAL_BYTES:
            raise TreeError(f"the module's files are larger than {MAX_TOTAL_BYTES // (1024 * 1024)} MiB in all")
        lines.append(f"{hashlib.sha256(data).hexdigest()}  {rel}\n")
    summary = hashlib.sha256("".join(lines).encode("utf-8")).digest()
    return TreeHash("h1:" + base64.b64encode(summary).decode("ascii"), len(lines))
