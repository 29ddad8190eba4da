"""Where a module's files come from: `resolve_module` turns a call's `source` (and `version`)
into a directory to read and a content hash.

Source forms (docs/modules.md, "Sources"):

- ``./path`` or ``../path``: a directory of the configuration, relative to the directory of
  the file holding the call (as Terraform does), confined to the config root like every
  file the loader reads. Read in place; hashed, never locked (it changes with the commit
  of the configuration itself).
- ``git+URL[//SUBDIR][?ref=REF]`` (URL: https://, ssh://, file://): a Git repository, at a
  tag, branch or commit, or at the newest tag matching `version`; fetched with the config
  sources' Git support (sources/git.py: no credential in a URL, a command line or a message).
- ``std/NAME``: a module of the standard library shipped with dataiku-iac.
- ``REGISTRY/NAME``: a module of a registry named in iac.yml's ``module_registries``
  (modules/registry.py).

Git, registry and standard-library modules are locked (modules/lock.py): the first resolution
(`dataiku-iac modules get`) records the commit and content hash in iac.lock.yml; later runs
read exactly that, from the module cache (modules/cache.py) or fetched again and checked
against the hash. `offline` never touches the network.

Every failure is a `ModuleSourceError` (a `ConfigError`) whose one diagnostic names the
call site's file and line; messages never hold a credential.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, Optional
from urllib.parse import parse_qs, urlsplit

from dataiku_iac.config.files import ConfinedReadError, is_inside, read_confined
from dataiku_iac.errors import ConfigError, Diagnostic, redact_userinfo
from dataiku_iac.modules import cache
from dataiku_iac.modules.cache import git_cache
from dataiku_iac.modules.hashing import TreeError, hash_tree
from dataiku_iac.modules.lock import LOCK_FILE, Key, LockEntry, ModuleLock, key_of, load_lock
from dataiku_iac.modules.registry import (
    INDEX_FILE,
    NAME,
    REGISTRY_NAME,
    STD,
    STD_ROOT,
    configured_registries,
    module_tag_version,
    parse_index,
    std_index,
    version_in,
)
from dataiku_iac.modules.versions import Constraint, Version, VersionError
from dataiku_iac.sources.common import SourceError, check_rel
from dataiku_iac.sources.git import check_url, is_ref_name, open_repository

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
    column: int = 0  # of the source's value (0: unknown)

    def error(self, message: str, hint: Optional[str] = None, path: Optional[str] = None) -> ModuleSourceError:
        """At the source's value; at its line only for a sibling `path` (its `version`)."""
        column = self.column if path is None else 0
        return ModuleSourceError([Diagnostic(self.file, self.line, column, self.path if path is None else path, message, hint)])


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
    call_column: int = 0,
) -> ResolvedModule:
    """The module `source` names, as seen from the call in `call_file` (relative to
    `config_root`, as diagnostics name files) at `call_line`. Raises ModuleSourceError."""
    site = CallSite(call_file, call_line, call_path, call_column)
    if not isinstance(source, str) or not source.strip():
        raise site.error("a module call needs a 'source'", _SOURCE_HINT)
    text = source.strip()
    if version is not None and (not isinstance(version, str) or not version.strip()):
        raise site.error("'version' must be a non-empty string such as \"~> 1.2\"", path=_sibling(call_path, "version"))
    if is_local(text):
        return _resolve_local(Path(config_root), text, version, site)
    if text.startswith("/") or (len(text) > 1 and text[1] == ":"):
        raise site.error(f"absolute module paths are not allowed ('{text}')",
                         "write the path relative to this file, starting with ./ or ../")
    constraint = _constraint(version, site)
    target = _target(Path(config_root), text, constraint, site)
    if target is None:
        raise site.error(f"unknown module source '{redact_userinfo(text)}'", _SOURCE_HINT)
    active = lock if lock is not None else _lock_of(Path(config_root))
    return _resolve_locked(target, key_of(text, version), active, site, offline)


def check_lock_declarations(config_root: Path, calls: Iterable[tuple[str, Optional[str]]]) -> list[Diagnostic]:
    """After every call of a run was resolved: warnings when iac.lock.yml was written for other
    calls (its `declarations_hash` differs and it holds entries no call uses). `calls`: the
    (source, version) of every module call; local ones are left out here. A lock that cannot
    be read gives nothing here: the resolution of each call that needs it reports why."""
    keys = [key_of(source, version) for source, version in calls
            if isinstance(source, str) and not is_local(source.strip())]
    try:
        lock = _lock_of(Path(config_root))
    except ConfigError:
        return []
    return lock.check_declarations(keys)


def _constraint(version: Optional[str], site: CallSite) -> Optional[Constraint]:
    if version is None:
        return None
    try:
        return Constraint.parse(version)
    except VersionError as exc:
        raise site.error(str(exc), path=_sibling(site.path, "version")) from None


# -- the lock -----------------------------------------------------------------------------------

_lock_memo: dict[str, tuple[tuple[int, int, int], ModuleLock]] = {}


def _lock_of(config_root: Path) -> ModuleLock:
    """The configuration's lock in verify mode, read once per change of the file."""
    path = config_root / LOCK_FILE
    try:
        info = path.stat()
        signature = (info.st_ino, info.st_mtime_ns, info.st_size)  # the lock is replaced, never edited in place
    except OSError:
        signature = (0, 0, -1)
    memo = _lock_memo.get(str(path))
    if memo is not None and memo[0] == signature:
        return memo[1]
    lock = load_lock(config_root)
    _lock_memo[str(path)] = (signature, lock)
    return lock


def _resolve_locked(target: _Target, key: Key, lock: ModuleLock, site: CallSite, offline: bool) -> ResolvedModule:
    pinned = lock.pinned(key)
    if pinned is not None and pinned.kind != target.kind:
        raise site.error(f"iac.lock.yml records '{target.shown}' as a {pinned.kind} module, not {target.kind}",
                         f"run `dataiku-iac modules update {_call_names(pinned, target)}`")
    if pinned is not None:
        return target.pinned(pinned, offline)
    if lock.mode == "verify":
        raise site.error(f"module '{target.shown}'{_with_version(key)} is not in iac.lock.yml",
                         "run `dataiku-iac modules get` to fetch it and record its commit and content hash")
    found = target.resolve(offline)
    lock.record(LockEntry(source=key[0], version=key[1] or None, kind=found.kind, content_hash=found.content_hash,
                          commit=found.commit, resolved=found.version))
    return found


def _with_version(key: Key) -> str:
    return f' (version "{key[1]}")' if key[1] else ""


def _call_names(entry: LockEntry, target: _Target) -> str:
    return " ".join(entry.calls) if entry.calls else target.shown


def _changed(target: _Target, entry: LockEntry, found: str) -> ModuleSourceError:
    return target.site.error(
        f"module '{target.shown}' changed: its files hash to {found}, iac.lock.yml has {entry.content_hash}"
        + (f" (commit {entry.commit})" if entry.commit else ""),
        f"if the change is expected, run `dataiku-iac modules update {_call_names(entry, target)}`",
    )


# -- remote sources -----------------------------------------------------------------------------


class _Target:
    """A non-local source, parsed: `resolve` finds it anew, `pinned` reads what the lock says."""

    kind = ""

    def __init__(self, shown: str, constraint: Optional[Constraint], site: CallSite):
        self.shown = shown
        self.constraint = constraint
        self.site = site

    def resolve(self, offline: bool) -> ResolvedModule:
        raise NotImplementedError

    def pinned(self, entry: LockEntry, offline: bool) -> ResolvedModule:
        raise NotImplementedError


def _target(config_root: Path, text: str, constraint: Optional[Constraint], site: CallSite) -> Optional[_Target]:
    if text.startswith("git+"):
        return _GitTarget.parse(text, constraint, site)
    registry, slash, name = text.partition("/")
    if not slash or not REGISTRY_NAME.match(registry) or "/" in name:
        return None
    if not NAME.match(name):
        raise site.error(f"'{name}' is not a module name (lowercase letters, digits and '_')")
    if registry == STD:
        return _StdTarget(text, name, constraint, site)
    url = _registry_url(config_root, registry, site)
    return _RegistryTarget(text, url, name, constraint, site)


def _git_errors(target: _Target) -> Any:
    """SourceError (from sources/git.py: messages already free of credentials) -> a diagnostic."""

    @contextlib.contextmanager
    def wrap() -> Iterator[None]:
        try:
            yield
        except (SourceError, TreeError) as exc:
            raise target.site.error(f"module '{target.shown}': {exc}") from None

    return wrap()


class _GitTarget(_Target):
    kind = "git"

    def __init__(self, shown: str, url: str, subdir: str, ref: Optional[str], constraint: Optional[Constraint],
                 site: CallSite):
        super().__init__(shown, constraint, site)
        self.url, self.subdir, self.ref = url, subdir, ref

    @classmethod
    def parse(cls, text: str, constraint: Optional[Constraint], site: CallSite) -> _GitTarget:
        shown = redact_userinfo(text)
        body, _, query = text[len("git+"):].partition("?")
        ref = None
        if query:
            params = parse_qs(query, keep_blank_values=True)
            if set(params) != {"ref"} or len(params["ref"]) != 1 or not params["ref"][0]:
                raise site.error(f"'{shown}': the only query parameter of a Git source is ?ref=TAG, BRANCH or COMMIT")
            ref = params["ref"][0]
            if not is_ref_name(ref):
                raise site.error(f"'{shown}': '{ref}' is not a tag, branch or commit name")
        scheme_end = body.find("://")
        split_at = body.find("//", scheme_end + 3) if scheme_end >= 0 else -1
        url, subdir = (body[:split_at], body[split_at + 2:].strip("/")) if split_at >= 0 else (body, "")
        if _has_credentials(url):  # said for modules: sources/git.py's advice is for a configuration's Git source
            raise site.error(f"'{shown}': a module source must not contain credentials",
                             "reach a private repository over SSH (git+ssh://, the runner's SSH key) or HTTPS with "
                             "the runner's own Git credential helper (docs/modules.md, \"Source forms\")")
        try:
            check_url(url)
            if subdir:
                check_rel(subdir)
        except SourceError as exc:
            raise site.error(f"'{shown}': {exc}") from None
        if ref is not None and constraint is not None:
            raise site.error(f"'{shown}' pins ?ref={ref} and 'version' asks for a range: give one of the two",
                             path=_sibling(site.path, "version"))
        return cls(shown, url, subdir, ref, constraint, site)

    def resolve(self, offline: bool) -> ResolvedModule:
        root = cache_root_for(self)
        with _git_errors(self), open_repository(self.url, git_cache(root), fetch=not offline) as repo:
            commit, version = self._choose(repo)
            return self._export(repo, root, commit, self.subdir, version)

    def _choose(self, repo: Any) -> tuple[str, Optional[str]]:
        if self.constraint is None:
            ref = self.ref or "HEAD"
            tagged = Version.of_tag(ref) if self.ref else None
            return repo.resolve(ref), (str(tagged) if tagged else None)
        tag, version = _newest_tag(self, repo.tags(), lambda tag: tag)
        return repo.resolve(tag), version

    def _export(self, repo: Any, root: Path, commit: str, subdir: str, version: Optional[str]) -> ResolvedModule:
        with cache.staging(root) as staged:
            if (subdir and repo.show(commit, subdir) is None) or repo.export(commit, subdir, staged) == 0:
                raise self.site.error(f"module '{self.shown}': nothing under '{subdir or '/'}' at commit {commit}")
            if not (staged / MODULE_FILE).is_file():
                raise self.site.error(f"module '{self.shown}': '{subdir or '/'}' at commit {commit} has no {MODULE_FILE}")
            directory, tree = cache.store(root, staged)
        return ResolvedModule(directory, self.shown, commit, tree.content_hash, self.kind, version)

    def pinned(self, entry: LockEntry, offline: bool) -> ResolvedModule:
        root = cache_root_for(self)
        hit = cache.cached(root, entry.content_hash)
        if hit is not None:
            return ResolvedModule(hit, self.shown, entry.commit, entry.content_hash, self.kind, entry.resolved)
        commit = entry.commit or ""
        with _git_errors(self), open_repository(self.url, git_cache(root), fetch=False) as repo:
            if not repo.has_commit(commit):
                if offline:
                    raise self.site.error(
                        f"module '{self.shown}' (commit {commit[:12]}) is not in the module cache ({root})",
                        "run `dataiku-iac modules get` where the repository can be reached, or drop --offline")
                repo.fetch()
                if not repo.has_commit(commit):
                    raise self.site.error(f"module '{self.shown}': the repository no longer holds commit {commit}",
                                          "run `dataiku-iac modules update` to lock a commit it holds")
            found = self._export(repo, root, commit, self._subdir_at(repo, commit), entry.resolved)
        if found.content_hash != entry.content_hash:
            raise _changed(self, entry, found.content_hash)
        return found

    def _subdir_at(self, repo: Any, commit: str) -> str:
        return self.subdir


class _RegistryTarget(_GitTarget):
    """REGISTRY/NAME: the registry's Git repository, the module's tags NAME/vX.Y.Z, and the
    path its index gives at the chosen commit."""

    kind = "registry"

    def __init__(self, shown: str, url: str, name: str, constraint: Optional[Constraint], site: CallSite):
        super().__init__(shown, url, "", None, constraint, site)
        self.name = name

    def _choose(self, repo: Any) -> tuple[str, Optional[str]]:
        tags = [t for t in repo.tags() if module_tag_version(t, self.name) is not None]
        if self.constraint is None and not any(_release(module_tag_version(t, self.name)) for t in tags):
            return repo.resolve("HEAD"), None
        tag, version = _newest_tag(self, tags, lambda tag: module_tag_version(tag, self.name) or "")
        return repo.resolve(tag), version

    def _export(self, repo: Any, root: Path, commit: str, subdir: str, version: Optional[str]) -> ResolvedModule:
        return super()._export(repo, root, commit, subdir or self._subdir_at(repo, commit), version)

    def _subdir_at(self, repo: Any, commit: str) -> str:
        raw = repo.show(commit, INDEX_FILE)
        if raw is None:
            raise self.site.error(f"module '{self.shown}': the registry has no {INDEX_FILE} at commit {commit[:12]}")
        index = parse_index(raw, INDEX_FILE)
        entry = index.modules.get(self.name)
        if entry is None:
            problem = f" ({index.problems[0].render()})" if index.problems else ""
            raise self.site.error(f"module '{self.shown}': the registry's index has no module '{self.name}'{problem}")
        return entry.path


def _release(version_text: Optional[str]) -> bool:
    version = Version.of_tag(version_text or "")
    return version is not None and not version.prerelease


def _newest_tag(target: _Target, tags: list[str], version_of: Any) -> tuple[str, str]:
    """The tag of the newest version the constraint allows (any release when there is none)."""
    versions: dict[Version, str] = {}
    for tag in tags:
        version = Version.of_tag(version_of(tag))
        if version is not None:
            versions.setdefault(version, tag)
    constraint = target.constraint or Constraint.parse(">= 0.0.0")
    best = constraint.newest(versions)
    if best is None:
        listed = ", ".join(str(v) for v in sorted(versions, reverse=True)[:8]) or "none"
        raise target.site.error(
            f"module '{target.shown}': no version matches \"{constraint.text}\" (versions: {listed})",
            path=_sibling(target.site.path, "version"))
    return versions[best], str(best)


class _StdTarget(_Target):
    kind = "std"

    def __init__(self, shown: str, name: str, constraint: Optional[Constraint], site: CallSite):
        super().__init__(shown, constraint, site)
        self.name = name

    def resolve(self, offline: bool) -> ResolvedModule:
        index = std_index()
        entry = index.modules.get(self.name)
        if entry is None:
            names = ", ".join(sorted(index.modules)) or "none"
            raise self.site.error(f"the standard library has no module '{self.name}' (modules: {names})")
        directory = STD_ROOT.joinpath(*entry.path.split("/"))
        version = _module_version(directory)
        if self.constraint is not None and (version is None or not self.constraint.allows(version)):
            raise self.site.error(
                f"'{self.shown}' is version {version or 'unknown'}, which does not match \"{self.constraint.text}\"",
                "the standard library comes with dataiku-iac: change the constraint or the dataiku-iac version",
                path=_sibling(self.site.path, "version"))
        try:
            tree = hash_tree(directory, STD_ROOT)
        except TreeError as exc:
            raise self.site.error(f"module '{self.shown}': {exc}") from None
        return ResolvedModule(directory, self.shown, None, tree.content_hash, self.kind,
                              str(version) if version else None)

    def pinned(self, entry: LockEntry, offline: bool) -> ResolvedModule:
        found = self.resolve(offline)
        if found.content_hash != entry.content_hash:
            raise _changed(self, entry, found.content_hash)
        return found


def _module_version(directory: Path) -> Optional[Version]:
    """The `version:` of a module.yml (the standard library's modules carry theirs)."""
    try:
        info = (directory / MODULE_FILE).stat()
    except OSError:
        return None
    key = (str(directory), info.st_ino, info.st_mtime_ns, info.st_size)
    if key not in _version_memo:
        _version_memo[key] = _read_module_version(directory)
    return _version_memo[key]


_version_memo: dict[tuple, Optional[Version]] = {}


def _read_module_version(directory: Path) -> Optional[Version]:
    try:
        raw = read_confined(directory, MODULE_FILE)
    except ConfinedReadError:
        return None
    value = version_in(raw)
    return Version.of_tag(value) if value is not None else None


def _has_credentials(url: str) -> bool:
    """A password, or an HTTP(S) user name (a token), in `url`'s user info: as sources/git.py refuses."""
    try:
        parts = urlsplit(url)
        return parts.password is not None or bool(parts.username and parts.scheme in ("http", "https"))
    except ValueError:
        return False  # check_url reports what is no URL


def _registry_url(config_root: Path, registry: str, site: CallSite) -> str:
    """The Git URL of the registry named `registry` in iac.yml's `module_registries`."""
    registries = configured_registries(config_root)
    url = registries.get(registry)
    if url is None:
        named = ", ".join(sorted(registries)) or "none"
        raise site.error(f"no module registry named '{registry}' (iac.yml module_registries: {named}; std is built in)",
                         "name it in iac.yml: module_registries: {" + registry + ": git+https://…}")
    return url


def cache_root_for(target: _Target) -> Path:
    try:
        return cache.cache_root()
    except SourceError as exc:
        raise target.site.error(f"module '{target.shown}': {exc}") from None


def is_local(text: str) -> bool:
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
