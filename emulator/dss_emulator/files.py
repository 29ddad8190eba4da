"""File areas: the contents of a managed folder or a project library, in memory or on disk."""

from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path
from typing import Dict, List, Optional, Set, Tuple


def collapse(path: str) -> str:
    """'//a//b/' -> 'a/b'. DSS treats 'contents/x' and 'contents//x' as the same file."""
    return "/".join(p for p in path.replace("\\", "/").split("/") if p not in ("", "."))


def normalize(path: str) -> str:
    """``collapse``, refusing '..' (a file path never leaves its folder)."""
    collapsed = collapse(path)
    if ".." in collapsed.split("/"):
        raise ValueError(f"Illegal path: {path}")
    return collapsed


FileInfo = Tuple[str, int, int]  # (relative path, size, lastModified ms)


class FileArea:
    """A tree of files and (possibly empty) folders addressed by relative '/'-separated paths."""

    def list_files(self) -> List[FileInfo]:
        raise NotImplementedError

    def list_dirs(self) -> List[str]:
        raise NotImplementedError

    def read(self, path: str) -> Optional[bytes]:
        raise NotImplementedError

    def write(self, path: str, data: bytes) -> FileInfo:
        raise NotImplementedError

    def mkdir(self, path: str) -> None:
        raise NotImplementedError

    def delete(self, path: str) -> bool:
        """Delete a file or a folder (recursively). Returns whether something was deleted."""
        raise NotImplementedError

    def exists_dir(self, path: str) -> bool:
        return normalize(path) in set(self.list_dirs())

    def move(self, old: str, new: str) -> None:
        old, new = normalize(old), normalize(new)
        files = [(p, self.read(p)) for p, _, _ in self.list_files() if p == old or p.startswith(old + "/")]
        dirs = [d for d in self.list_dirs() if d == old or d.startswith(old + "/")]
        for d in dirs:
            self.mkdir(new + d[len(old) :])
        for p, data in files:
            self.write(new + p[len(old) :], data or b"")
        self.delete(old)

    def destroy(self) -> None:
        raise NotImplementedError


class MemoryFileArea(FileArea):
    def __init__(self) -> None:
        self._files: Dict[str, Tuple[bytes, int]] = {}
        self._dirs: Set[str] = set()
        self._lock = threading.Lock()

    def list_files(self) -> List[FileInfo]:
        with self._lock:
            return sorted((p, len(d), m) for p, (d, m) in self._files.items())

    def list_dirs(self) -> List[str]:
        with self._lock:
            dirs = set(self._dirs)
            for p in self._files:
                parts = p.split("/")[:-1]
                dirs.update("/".join(parts[: i + 1]) for i in range(len(parts)))
            return sorted(dirs)

    def read(self, path: str) -> Optional[bytes]:
        with self._lock:
            entry = self._files.get(normalize(path))
            return entry[0] if entry else None

    def write(self, path: str, data: bytes) -> FileInfo:
        key = normalize(path)
        now = int(time.time() * 1000)
        with self._lock:
            self._files[key] = (bytes(data), now)
        return key, len(data), now

    def mkdir(self, path: str) -> None:
        with self._lock:
            self._dirs.add(normalize(path))

    def delete(self, path: str) -> bool:
        key = normalize(path)
        with self._lock:
            doomed = [p for p in self._files if p == key or p.startswith(key + "/")]
            gone_dirs = {d for d in self._dirs if d == key or d.startswith(key + "/")}
            for p in doomed:
                del self._files[p]
            self._dirs -= gone_dirs
            return bool(doomed or gone_dirs)

    def destroy(self) -> None:
        with self._lock:
            self._files.clear()
            self._dirs.clear()


class DiskFileArea(FileArea):
    """Files stored as real files under ``root`` (created lazily)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _abs(self, path: str) -> Path:
        key = normalize(path)
        if not key:
            raise ValueError("Empty path")
        return self.root / key

    def list_files(self) -> List[FileInfo]:
        out: List[FileInfo] = []
        if not self.root.is_dir():
            return out
        for dirpath, _dirs, files in os.walk(self.root):
            for f in files:
                if f.startswith(".emu-tmp-"):
                    continue
                full = Path(dirpath) / f
                st = full.stat()
                out.append((full.relative_to(self.root).as_posix(), st.st_size, int(st.st_mtime * 1000)))
        return sorted(out)

    def list_dirs(self) -> List[str]:
        if not self.root.is_dir():
            return []
        return sorted(
            (Path(dp) / d).relative_to(self.root).as_posix()
            for dp, dirs, _ in os.walk(self.root)
            for d in dirs
        )

    def read(self, path: str) -> Optional[bytes]:
        target = self._abs(path)
        return target.read_bytes() if target.is_file() else None

    def write(self, path: str, data: bytes) -> FileInfo:
        target = self._abs(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.parent / (f".emu-tmp-{target.name}-{threading.get_ident()}")
        tmp.write_bytes(data)
        os.replace(tmp, target)  # readers never see a half-written file
        st = target.stat()
        return normalize(path), st.st_size, int(st.st_mtime * 1000)

    def mkdir(self, path: str) -> None:
        self._abs(path).mkdir(parents=True, exist_ok=True)

    def delete(self, path: str) -> bool:
        target = self._abs(path)
        if target.is_dir():
            shutil.rmtree(target)
            return True
        if target.is_file():
            target.unlink()
            return True
        return False

    def destroy(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
