"""Reading files under the config root, treating the repository as untrusted.

Every file the loader reads (iac.yml, environment and project files, code files) goes
through `read_confined`, which refuses absolute paths, ``..``, symlinks that resolve
outside the root, anything but a regular file (a FIFO would block the reader forever),
files over 1 MiB, and (in `read_text`) non-UTF-8 bytes. See reliability-anchors 5.3.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from ..errors import Diagnostic
from .yamlsafe import decode_utf8

MAX_FILE_BYTES = 1024 * 1024
MAX_PROJECT_FILES = 1000

_WINDOWS_DRIVE = re.compile(r"^[A-Za-z]:")


@dataclass(frozen=True)
class FileProblem:
    message: str
    hint: Optional[str] = None


class ConfinedReadError(Exception):
    def __init__(self, problem: FileProblem):
        super().__init__(problem.message)
        self.problem = problem


def check_relative_path(rel: str) -> Optional[FileProblem]:
    """Why `rel` may not name a file under the config root, or None when its shape is fine."""
    if not rel or not rel.strip():
        return FileProblem("the path is empty")
    if rel.startswith(("/", "\\")) or _WINDOWS_DRIVE.match(rel):
        return FileProblem(f"absolute paths are not allowed ('{rel}')",
                           "write the path relative to the config root, e.g. recipes/compute.py")
    if "\\" in rel:
        return FileProblem(f"use '/' as the path separator ('{rel}')")
    if ".." in rel.split("/"):
        return FileProblem(f"'..' is not allowed in a path ('{rel}'): files must stay inside the config root")
    if "\x00" in rel:
        return FileProblem("the path contains a NUL character")
    return None


def is_inside(root_real: str, target_real: str) -> bool:
    return target_real == root_real or target_real.startswith(root_real.rstrip(os.sep) + os.sep)


def read_confined(root: Path, rel: str, max_bytes: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of `root/rel`, or ConfinedReadError saying why it may not be read."""
    problem = check_relative_path(rel)
    if problem:
        raise ConfinedReadError(problem)
    root_real = os.path.realpath(root)
    target = os.path.realpath(os.path.join(root_real, rel))
    if not is_inside(root_real, target):
        raise ConfinedReadError(FileProblem(
            f"'{rel}' resolves outside the config root (through a symbolic link)",
            "symbolic links may only point to files inside the config directory"))
    return _read_regular(target, rel, max_bytes)


def read_text(root: Path, rel: str, shown: Optional[str] = None) -> tuple[Optional[str], list[Diagnostic]]:
    """The UTF-8 text of `root/rel`, read as `read_confined` reads, and the problems that kept it
    from being read, named after `shown` (default `rel`); the text is None when there is one."""
    name = shown or rel
    try:
        raw = read_confined(root, rel)
    except ConfinedReadError as exc:
        return None, [Diagnostic(name, 0, 0, "", exc.problem.message, exc.problem.hint)]
    text, problem = decode_utf8(raw, name)
    return text, [problem] if problem is not None else []


def _read_regular(target: str, rel: str, max_bytes: int) -> bytes:
    # O_NONBLOCK: opening a FIFO must not hang; fstat on the open descriptor then tells
    # us what we really opened (no window between a check and the open).
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(target, flags)
    except FileNotFoundError:
        raise ConfinedReadError(FileProblem(f"file not found: '{rel}'")) from None
    except OSError as exc:
        raise ConfinedReadError(FileProblem(f"cannot open '{rel}': {exc.strerror}")) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = "a directory" if stat.S_ISDIR(info.st_mode) else "a FIFO, device or socket"
            raise ConfinedReadError(FileProblem(f"'{rel}' is {kind}, not a regular file"))
        if info.st_size > max_bytes:
            raise ConfinedReadError(_too_big(rel, max_bytes))
        with os.fdopen(os.dup(fd), "rb") as handle:
            data = handle.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise ConfinedReadError(_too_big(rel, max_bytes))
        return data
    finally:
        os.close(fd)


def _too_big(rel: str, max_bytes: int) -> FileProblem:
    return FileProblem(f"'{rel}' is larger than {max_bytes // 1024} KiB", "split it into smaller files")


def list_yaml_files(root: Path, folder: str) -> list[str]:

    """Relative posix paths of the *.yml / *.yaml files directly in `root/folder`, sorted.

    Hidden files (editor backups, lock files) are skipped. Symlinks are listed here and
    confined when read.
    """
    base = Path(root) / folder
    if not base.is_dir():
        return []
    names = []
    with os.scandir(base) as entries:
        for entry in entries:
            if entry.name.startswith(".") or not entry.name.endswith((".yml", ".yaml")):
                continue
            if entry.is_dir():
                continue
            names.append(f"{folder}/{entry.name}")
    return sorted(names)


def replace_text(path: Path, text: str) -> None:
    """Write `text` (UTF-8) to `path` whole or not at all: into a new file beside it, renamed over
    it, so that a kill, a full disk or a text that cannot be encoded leaves the old file, never half
    of the new one. The file keeps its permission bits (a new one gets the umask's, as with
    `write_text`); a symbolic link is followed, as `write_text` would."""
    target = Path(os.path.realpath(path))
    try:
        mode: Optional[int] = stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        mode = None
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    handle = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


class FileEdits:
    """Files written under the config root as one change that can be taken back: `write` records
    each file's previous text (None: it did not exist) before replacing it, so a write that fails
    half-way is undone too, and `undo` puts every recorded file back (or removes the new ones).
    Import and pull write the configuration this way under the state lock and undo it when the
    state cannot be written: the configuration and the state never disagree."""

    def __init__(self, root: Path, texts: dict[str, str]):
        self.root, self.texts = root, texts
        self.before: dict[str, Optional[str]] = {}

    def write(self) -> None:
        for rel, text in self.texts.items():
            path = self.root / rel
            self.before[rel] = path.read_text(encoding="utf-8") if path.exists() else None
            path.parent.mkdir(parents=True, exist_ok=True)
            replace_text(path, text)

    def undo(self) -> None:
        for rel, text in self.before.items():
            path = self.root / rel
            if text is None:
                path.unlink(missing_ok=True)
            else:
                replace_text(path, text)
