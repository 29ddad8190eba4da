"""A cache of parsed project files: a second run over unchanged files skips YAML parsing and,
when nothing changes a document after parsing, its schema check.

Reading and checking the YAML is most of what a command does before its first DSS request (about
1.4 s of CPU for 10,000 resources), and the configuration must be checked whole before that
request (no DSS call on a bad configuration). What a file parses into depends only on its bytes
and on the code reading it, so an entry is keyed by the SHA-256 of both (`ConfigCache.key`):
the file's bytes, and a fingerprint of this tool (its version, PyYAML's, the source of the
`config` package and the assembled project schema). A changed file, another version of the
tool or a new resource type is a different key, never a stale entry.

An entry holds what the loader needs and nothing the file does not say: the parsed data (plain
JSON), whether any string in it holds a `${...}` reference, whether the data as parsed passed the
project schema, and where the file's top-level keys and the items of its top-level lists start
(each resource's declaration, which the model records). Not the positions of every other node:
they matter only for a diagnostic, and are read again from the file when one is needed
(`LazyMarks`). Never a secret: a project file holds `{secret_env: NAME}` references, whose values
are read later from the environment, and a file the schema refuses is not stored (it may hold a
secret written inline by mistake, which the schema refuses).

Trust. A cache decides what the tool believes a file says, so it lives where the configuration's
authors cannot write: a directory private to the OS user running the CLI (0700, owned by them,
not a symbolic link), outside the configuration repository, never in it (a pull request could
otherwise carry entries making the tool apply something other than the files reviewed). The DSS
plugin does not use it. Corruption and concurrent runs: an entry carries the SHA-256 of its body
and is written to a temporary file then renamed into place, so a reader sees a whole entry or
none; anything unreadable or inconsistent is a miss, never an error.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, Mapping, MutableMapping, Optional

import yaml

from .. import __version__
from ..resources.registry import generation
from .paths import Mark, MarkMap, YamlPath
from .schema import load_schema

FORMAT = 1
# The marks an entry keeps: those of paths this long or shorter (`project`, `datasets[3]`).
ENTRY_DEPTH = 2
_MAGIC = b"dataiku-iac config cache"
# Entries beyond this total size are pruned, least recently used first (a hit refreshes an entry's
# modification time). 10,000 resources take about 3 MB.
MAX_TOTAL_BYTES = 256 * 1024 * 1024
CACHE_ENV = "DATAIKU_IAC_CONFIG_CACHE"
_OFF = {"0", "off", "false", "no"}


def dumps(data: Any) -> str:
    """The JSON an entry holds for `data` (what `ConfigCache.put` takes). ASCII: a lone surrogate
    (a YAML escape can make one) is kept as an escape, not refused by the UTF-8 encoder."""
    return json.dumps(data, separators=(",", ":"))


@dataclass(frozen=True)
class CachedFile:
    """What the cache holds for one project file."""

    data: Dict[str, Any]
    references: bool  # some string value holds "${": variables must be substituted
    schema_ok: Optional[bool]  # the data as parsed passed the project schema (None: not known)
    entry_marks: list[list[Any]]  # [*path, line, column, key line, key column] of the short paths

    def marks(self, file: str, load: Callable[[], MarkMap]) -> LazyMarks:
        """The marks of this file (named `file`): the short paths' at once, the others by `load`."""
        known = {}
        for row in self.entry_marks:
            path = tuple(row[:-4])
            known[path] = Mark(file, path, *row[-4:])
        return LazyMarks(known, load)


def entry_marks(marks: MarkMap) -> list[list[Any]]:
    """The rows `CachedFile.entry_marks` keeps of a file's marks."""
    return [[*path, m.line, m.column, m.key_line, m.key_column] for path, m in marks.items() if len(path) <= ENTRY_DEPTH]


class ConfigCache:
    """Parsed project files in a private directory, keyed by their bytes and this tool's code."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self._fingerprint: Optional[tuple[int, bytes]] = None  # (registry generation, fingerprint)
        self.hits = 0
        self.writes = 0

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> Optional[ConfigCache]:
        """The CLI's cache: `$DATAIKU_IAC_CONFIG_CACHE` (a directory, or 0/off for none), else
        `$XDG_CACHE_HOME/dataiku-iac/config` (by default ~/.cache/dataiku-iac/config). None when
        it is turned off or the directory cannot be made private (then every file is parsed)."""
        chosen = environ.get(CACHE_ENV)
        if chosen is not None and chosen.strip().lower() in _OFF:
            return None
        if chosen:
            directory = Path(chosen)
        else:
            base = environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
            directory = Path(base) / "dataiku-iac" / "config"
        return cls(directory) if _private_dir(directory) else None

    # -- keys ------------------------------------------------------------------------------
    def key(self, raw: bytes) -> str:
        return hashlib.sha256(self.fingerprint() + raw).hexdigest()

    def fingerprint(self) -> bytes:
        """What, besides a file's bytes, decides what the loader makes of it (the project schema
        includes what the registered resource types add: a new registration is a new fingerprint)."""
        if self._fingerprint is None or self._fingerprint[0] != generation():
            digest = hashlib.sha256(_MAGIC + b" %d\0" % FORMAT)
            parts = [__version__, yaml.__version__, str(hasattr(yaml, "CSafeLoader")), sys.version.split()[0]]
            digest.update("\0".join(parts).encode("utf-8"))
            for source in sorted(Path(__file__).parent.glob("*.py")):
                digest.update(source.name.encode("utf-8") + b"\0" + source.read_bytes())
            digest.update(json.dumps(load_schema("project"), sort_keys=True, default=str).encode("utf-8"))
            self._fingerprint = (generation(), digest.digest())
        return self._fingerprint[1]

    # -- entries ---------------------------------------------------------------------------
    def get(self, raw: bytes) -> Optional[CachedFile]:
        path = self.directory / f"{self.key(raw)}.json"
        try:
            with open(path, "rb") as handle:
                content = handle.read()
            entry = _decode(content)
            if entry is not None:
                self.hits += 1
                with contextlib.suppress(OSError):
                    os.utime(path)  # recently used: pruned last
            return entry
        except (OSError, ValueError, RecursionError):
            return None  # unreadable or not an entry: parse the file

    def put(self, raw: bytes, data_json: str, marks: list[list[Any]], references: bool, schema_ok: Optional[bool]) -> None:
        """Store what a file of bytes `raw` parsed into (`data_json`: `dumps(data)`, and `marks`:
        `entry_marks`, both taken before anything changed them), atomically; a failure to write
        is ignored."""
        flags = json.dumps({"marks": marks, "references": references, "schema_ok": schema_ok})
        body = ('{"data":' + data_json + "," + flags[1:]).encode("utf-8")
        content = b"%s %d %s\n%s" % (_MAGIC, FORMAT, hashlib.sha256(body).hexdigest().encode("ascii"), body)
        try:
            fd, temp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-", suffix=".json")
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(content)
                os.replace(temp, self.directory / f"{self.key(raw)}.json")
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(temp)
                raise
            self.writes += 1
        except (OSError, ValueError):
            return

    def prune(self, max_total_bytes: int = MAX_TOTAL_BYTES) -> None:
        """Remove the least recently used entries beyond `max_total_bytes` (and stale temporary files)."""
        try:
            entries = [(e.stat().st_mtime, e.stat().st_size, e.path) for e in os.scandir(self.directory)
                       if e.is_file(follow_symlinks=False) and e.name.endswith(".json")]
        except OSError:
            return
        total = sum(size for _, size, _ in entries)
        for _, size, path in sorted(entries):
            if total <= max_total_bytes:
                break
            with contextlib.suppress(OSError):
                os.unlink(path)
            total -= size


def _decode(content: bytes) -> Optional[CachedFile]:
    header, _, body = content.partition(b"\n")
    parts = header.rsplit(b" ", 2)
    if len(parts) != 3 or parts[0] != _MAGIC or parts[1] != b"%d" % FORMAT:
        return None
    if hashlib.sha256(body).hexdigest().encode("ascii") != parts[2]:
        return None  # truncated or altered: parse the file instead
    decoded = json.loads(body)
    if not isinstance(decoded, dict):
        return None
    data, references, schema_ok = decoded.get("data"), decoded.get("references"), decoded.get("schema_ok")
    marks = decoded.get("marks")
    if not isinstance(data, dict) or not isinstance(references, bool) or schema_ok not in (True, False, None):
        return None
    if not isinstance(marks, list) or not all(_mark_row(row) for row in marks):
        return None
    return CachedFile(data, references, schema_ok, marks)


def _mark_row(row: Any) -> bool:
    return (isinstance(row, list) and 4 <= len(row) <= 4 + ENTRY_DEPTH
            and all(type(n) is int for n in row[-4:]) and all(isinstance(p, (str, int)) for p in row[:-4]))


def _private_dir(path: Path) -> bool:
    """Create `path` (mode 0700) or check that it is this user's alone; False if neither."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with contextlib.suppress(FileExistsError):
            path.mkdir(mode=0o700)
        info = os.lstat(path)
    except OSError:
        return False
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        return False
    # Another user's directory, or one others may write, could hold entries this user did not make.
    return not hasattr(os, "getuid") or (info.st_uid == os.getuid() and not info.st_mode & 0o077)


class LazyMarks(MutableMapping[YamlPath, Mark]):
    """The marks of a file read from the cache. Those of the short paths (every mark of a path of
    up to `ENTRY_DEPTH` elements) come with the entry; the others are computed, by parsing the
    file again, the first time something needs one (a diagnostic), so a run without diagnostics
    never builds them."""

    def __init__(self, known: Dict[YamlPath, Mark], load: Callable[[], MarkMap]):
        self._load: Optional[Callable[[], MarkMap]] = load
        self._marks: MarkMap = known

    @property
    def loaded(self) -> bool:
        return self._load is None

    def _all(self) -> MarkMap:
        if self._load is not None:
            load, self._load = self._load, None
            self._marks = load()
        return self._marks

    def __getitem__(self, path: YamlPath) -> Mark:
        if self._load is not None and len(path) <= ENTRY_DEPTH:
            return self._marks[path]  # complete for short paths: a miss is a miss
        return self._all()[path]

    def __setitem__(self, path: YamlPath, mark: Mark) -> None:
        self._all()[path] = mark

    def __delitem__(self, path: YamlPath) -> None:
        del self._all()[path]

    def __iter__(self) -> Iterator[YamlPath]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())
