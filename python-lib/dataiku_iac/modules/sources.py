"""Where a module's files come from: `resolve_module` turns a call's `source` (and `version`)
into a directory to read and a content hash.

Source forms (docs/modules.md, "Sources"):

- ``./path`` or ``../path``: a directory of the configuration, relative to the directory of
  the file holding the call (as Terraform does), confined to the config root like every
  file the loader reads. Read in place; hashed, never locked (it changes with the commit
  of the configuration itself).

Every failure is a `ModuleSourceError` (a `ConfigError`) whose one diagnostic names the
call site's file and line; messages never hold a credential.
"""

from __future__ import annotations

import os
import posixpath
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from dataiku_iac.config.files import is_inside
from dataiku_iac.errors import ConfigError, Diagnostic
from dataiku_iac.modules.hashing import TreeError, hash_tree

MODULE_FILE = "module.yml"
_SOURCE_HINT = "a module source is ./path or ../path (relative to this file), git+https://host/repo.git//dir?ref=TAG, std/NAME or REGISTRY/NAME"


@dataclass(frozen=True)
class ResolvedModule:
    """A module found: read its files from `directory`.

    `source`: the source as the lock file and messages name it; `commit`: the Git commit it was
    read from (None for a local or standard-library module); `content_hash`: the "h1:" hash of
    its file tree (modules/hashing.py); `kind`: local | git | registry | std; `version`: the
    version the constraint resolved to, when there is one."""

    directory: Path
    source: str
    commit: Optional[str]
    content_hash: str
    kind: str = "local"
    version: Optional[str] = None


@dataclass(frozen=True)
class CallSite:
    """Where a module is called: what every diagnostic of its resolution points at."""

    file: str
    line: int
    path: str = "source"

    def error(self, message: str, hint: Optional[str] = None, path: Optional[str] = None) -> ModuleSourceError:
        return ModuleSourceError([Diagnostic(self.file, self.line, 0, self.path if path is None else path, message, hint)])


class ModuleSourceError(ConfigError):
    """A module's source could not be resolved, fetched or verified (one diagnostic)."""


def resolve_module(
    config_root: Path,
    source: str,
    version: Optional[str],
    *,
    call_file: str,
    call_line: int,
    lock: Any = None,
    offline: bool = False,
    call_path: str = "source",
) -> ResolvedModule:
    """The module `source` names, as seen from the call in `call_file` (relative to
    `config_root`, as diagnostics name files) at `call_line`. Raises ModuleSourceError."""
    site = CallSite(call_file, call_line, call_path)
    if not isinstance(source, str) or not source.strip():
        raise site.error("a module call needs a 'source'", _SOURCE_HINT)
    text = source.strip()
    if version is not None and (not isinstance(version, str) or not version.strip()):
        raise site.error("'version' must be a non-empty string such as \"~> 1.2\"", path=_sibling(call_path, "version"))
    if _is_local(text):
        return _resolve_local(Path(config_root), text, version, site)
    if text.startswith("/") or (len(text) > 1 and text[1] == ":"):
        raise site.error(f"absolute module paths are not allowed ('{text}')",
                         "write the path relative to this file, starting with ./ or ../")
    raise site.error(f"unknown module source '{text}'", _SOURCE_HINT)


def _is_local(text: str) -> bool:
    return text in (".", "..") or text.startswith(("./", "../"))


def _sibling(path: str, key: str) -> str:
    """The YAML path of `key` next to the `source` at `path` (modules[2].source -> modules[2].version)."""
    head, _, last = path.rpartition(".")
    return f"{head}.{key}" if head and last == "source" else key


def _call_dir(config_root: Path, call_file: str) -> str:
    """The directory of the calling file, relative to the config root (posix)."""
    file = Path(call_file)
    if file.is_absolute():
        try:
            file = file.relative_to(config_root)
        except ValueError:
            return "."
    return posixpath.dirname(file.as_posix()) or "."


def _resolve_local(config_root: Path, text: str, version: Optional[str], site: CallSite) -> ResolvedModule:
    if version is not None:
        raise site.error("'version' applies to Git, registry and standard-library modules, not to a local path",
                         "a local module is read as it is in this configuration; remove 'version'",
                         path=_sibling(site.path, "version"))
    rel = posixpath.normpath(posixpath.join(_call_dir(config_root, site.file), text))
    if rel == ".." or rel.startswith("../") or posixpath.isabs(rel):
        raise site.error(f"the module path '{text}' leaves the config root",
                         "modules read from disk must sit inside the configuration directory")
    directory = config_root if rel == "." else config_root.joinpath(*rel.split("/"))
    if not is_inside(os.path.realpath(config_root), os.path.realpath(directory)):
        raise site.error(f"the module path '{text}' resolves outside the config root (through a symbolic link)")
    if not directory.is_dir():
        raise site.error(f"no module directory at '{rel}' (from '{text}')")
    if not (directory / MODULE_FILE).is_file():
        raise site.error(f"'{rel}' is not a module: it has no {MODULE_FILE}")
    try:
        tree = hash_tree(directory, config_root)
    except TreeError as exc:
        raise site.error(f"module '{text}': {exc}") from None
    return ResolvedModule(directory=directory, source=text, commit=None, content_hash=tree.content_hash, kind="local")
