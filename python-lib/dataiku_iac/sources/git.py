"""A configuration in a Git repository (URL, branch/tag/commit, sub-path), fetched with gitpython.

- The repository is fetched into a bare cache (one per URL, under a file lock so concurrent
  runs do not corrupt it), then the resolved commit's tree (or its sub-path) is exported to a
  fresh directory with `git archive`: the run never reads a work tree another run may change.
- Credentials never appear in a URL, a command line, a log or an error: URLs holding user info
  are refused, and the username/password reach git through a GIT_ASKPASS helper that reads
  them from the environment of the git process only. Messages from git are scrubbed of them.
- Only regular files and directories are exported; symbolic links are skipped (the loader
  would refuse those pointing outside anyway).
- The cache is private: one per OS user (`<tmp>/dataiku-iac-git-<uid>`) and, inside it, one
  per DSS user, each created 0700. A cache directory owned by another user, reachable through
  a symbolic link, or open to group/others is refused, never used: another user could have
  planted objects or hooks in it, or could read what was fetched with someone's credentials.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import stat
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Optional
from urllib.parse import urlsplit

from dataiku_iac.sources.common import MAX_FILES, MAX_TOTAL_BYTES, SourceError, check_rel, write_confined

_SHA = re.compile(r"^[0-9a-f]{7,40}$")
_REF = re.compile(r"^[A-Za-z0-9._/-]+$")
ASKPASS_SCRIPT = """#!/bin/sh
case "$1" in
  [Uu]sername*) printf '%s\\n' "$DATAIKU_IAC_GIT_USERNAME" ;;
  *) printf '%s\\n' "$DATAIKU_IAC_GIT_PASSWORD" ;;
esac
"""


@dataclass(frozen=True)
class GitCredentials:
    """HTTP(S) credentials. `repr` never shows the password. `hosts`: the hosts a preset is
    bound to (None for the caller's own secret, which they may send where they like)."""

    username: str
    password: str
    hosts: Optional[tuple[str, ...]] = None

    def __repr__(self) -> str:
        return f"GitCredentials(username={self.username!r}, password=<redacted>, hosts={self.hosts!r})"

    @classmethod
    def from_spec(cls, value: object) -> Optional[GitCredentials]:
        if not value:
            return None
        if isinstance(value, GitCredentials):
            return value
        if not isinstance(value, dict):
            raise SourceError("git credentials must be a mapping with 'username' and 'password' (or 'token')")
        secret = value.get("password") or value.get("token")
        if not secret:
            return None
        hosts = value.get("hosts")
        bound = None if hosts is None else tuple(str(h) for h in hosts)
        # A bare token: hosts accept any non-empty user name with it (GitHub, GitLab, Bitbucket).
        return cls(str(value.get("username") or "x-access-token"), str(secret), bound)


_DEFAULT_PORTS = {"https": 443, "http": 80}


def _endpoint(text: str, default_scheme: str) -> Optional[tuple[str, str, int]]:
    """(scheme, host, port) of a URL or of a `host[:port]` entry; None if it has no host."""
    parts = urlsplit(text if "://" in text else f"{default_scheme}://{text}")
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    try:
        port = parts.port or _DEFAULT_PORTS[parts.scheme]
    except ValueError:
        return None
    return parts.scheme, parts.hostname.lower().rstrip("."), port


def check_bound(url: str, hosts: Optional[Iterable[str]]) -> None:
    """Refuse to send a preset's credentials to a URL outside the hosts it is bound to.

    An entry is `host`, `host:port` or `https://host[:port]` (HTTPS), or `http://host:port` to
    allow plain HTTP to that one endpoint. The URL's scheme, host and port must equal one
    entry's. `hosts` None means "not a preset" (nothing to check). Runs before any connection.
    """
    if hosts is None:
        return
    allowed = {e for e in (_endpoint(str(h).strip(), "https") for h in hosts) if e is not None}
    target = _endpoint(url.strip(), "") if "://" in url else None
    if target is not None and target in allowed:
        return
    names = ", ".join(sorted(str(h) for h in hosts)) or "no host"
    where = f"{target[0]}://{target[1]}:{target[2]}" if target else "a non-HTTP(S) location"
    raise SourceError(
        f"refusing to send the Git credential preset to {where}: it is bound to {names}. Use a URL "
        f"on one of those hosts, your own DSS user secret, or ask an administrator to add the host "
        f"to the preset"
    )


def check_url(url: object) -> str:
    if not isinstance(url, str) or not url.strip():
        raise SourceError("a git source needs a 'url'")
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme in ("http", "https", "ssh", "git", "file"):
        if parts.password is not None or (parts.username and parts.scheme in ("http", "https")):
            raise SourceError(
                "the git URL must not contain credentials; pass them as credentials "
                "(a DSS user secret or a plugin preset) instead"
            )
        return url
    if parts.scheme == "" and (url.startswith("/") or re.match(r"^[\w.-]+@[\w.-]+:", url)):
        return url  # a local path, or scp-like ssh (git@host:org/repo.git)
    raise SourceError(f"unsupported git URL scheme {parts.scheme!r}")


def is_ref_name(ref: str) -> bool:
    """Whether `ref` may name a branch, tag or commit on Git's command line: no option (leading
    '-'), no range ('..'), only a name's characters. Config sources and module sources ask here."""
    return bool(_REF.match(ref)) and not ref.startswith("-") and ".." not in ref


def redact_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None and not (parts.username and parts.scheme in ("http", "https")):
        return url
    host = parts.hostname or ""
    return parts._replace(netloc=host + (f":{parts.port}" if parts.port else "")).geturl()


def from_git(spec: dict, work: Path, cache_dir: Optional[Path] = None, user: Optional[str] = None) -> tuple[Path, dict]:
    url = check_url(spec.get("url"))
    ref = str(spec.get("ref") or "HEAD").strip()
    if not is_ref_name(ref):
        raise SourceError(f"invalid git ref {ref!r}")
    subpath = str(spec.get("subpath") or "").strip().strip("/")
    if subpath:
        check_rel(subpath)
    credentials = GitCredentials.from_spec(spec.get("credentials"))
    if credentials is not None:
        check_bound(url, credentials.hosts)
    cache = user_cache_dir(cache_dir, user)
    with _Git(url, cache, credentials) as git:
        commit = git.resolve(ref)
        root = work / "config"
        count = git.export(commit, subpath, root)
    if count == 0:
        raise SourceError(f"{redact_url(url)} @ {ref}: nothing under '{subpath or '/'}'")
    provenance = {"kind": "git", "url": redact_url(url), "ref": ref, "subpath": subpath, "commit": commit}
    return root, provenance


def default_cache_root() -> Path:
    """The OS user's own Git cache root: predictable, so it is checked, never trusted."""
    return Path(tempfile.gettempdir()) / f"dataiku-iac-git-{os.getuid()}"


def user_cache_dir(base: Optional[Path], user: Optional[str]) -> Path:
    """The private cache directory of one DSS user (or of the OS user when `user` is None)."""
    root = Path(base) if base is not None else default_cache_root()
    root.parent.mkdir(parents=True, exist_ok=True)
    ensure_private_dir(root)
    if not user:
        return root
    return ensure_private_dir(root / ("user-" + hashlib.sha256(user.encode("utf-8")).hexdigest()[:20]))


def ensure_private_dir(path: Path, what: str = "Git cache directory") -> Path:
    """Create `path` 0700, or check that the existing one is ours alone; SourceError otherwise."""
    with contextlib.suppress(FileExistsError):
        path.mkdir(mode=0o700)
    info = os.lstat(path)
    problem = None
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        problem = "it is not a plain directory (a symbolic link or a file)"
    elif info.st_uid != os.getuid():
        problem = f"it belongs to another user (uid {info.st_uid}, this process runs as uid {os.getuid()})"
    elif info.st_mode & 0o077:
        problem = f"other users may use it (mode {stat.S_IMODE(info.st_mode):o}, expected 700)"
    if problem:
        raise SourceError(f"refusing the {what} {path}: {problem}; remove it and run again")
    return path


class _Git:
    """A bare cache repository for one URL, locked for the duration of a fetch and export."""

    def __init__(self, url: str, cache: Path, credentials: Optional[GitCredentials], *, fetch: bool = True):
        self.url = url
        self.credentials = credentials
        self._fetch_on_enter = fetch
        key = hashlib.sha256(url.encode("utf-8")).hexdigest()[:24]
        self.path = cache / f"{key}.git"
        self._lock_path = cache / f"{key}.lock"
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> _Git:
        import git  # gitpython: imported here so the rest of the engine does not need it

        self._stack.enter_context(_file_lock(self._lock_path))
        self.env = self._stack.enter_context(_git_env(self.credentials))
        if not (self.path / "HEAD").exists():
            git.Repo.init(self.path, bare=True)
        self.repo = git.Repo(self.path)
        if self._fetch_on_enter:
            self.fetch()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def _run(self, *args: str) -> str:
        import git

        try:
            return self.repo.git.execute(["git", *self._options(), *args], env=self.env, with_extended_output=False)
        except git.GitCommandError as exc:
            raise SourceError(self._scrub(f"git {args[0]} failed: {(exc.stderr or '').strip()}")) from None

    def _options(self) -> list[str]:
        """With credentials: no redirect (it could lead them to another host) and no credential
        helper from the user's git config (it could store them on disk)."""
        if self.credentials is None:
            return []
        return ["-c", "http.followRedirects=false", "-c", "credential.helper="]

    def _scrub(self, text: str) -> str:
        text = text.replace(self.url, redact_url(self.url))
        if self.credentials:
            text = text.replace(self.credentials.password, "<redacted>")
        return text

    def fetch(self) -> None:
        self._run(
            "fetch", "--quiet", "--prune", "--force", "--tags", "--", self.url,
            "+refs/heads/*:refs/remotes/origin/*",
        )

    def resolve(self, ref: str) -> str:
        candidates = [f"refs/remotes/origin/{ref}", f"refs/tags/{ref}"]
        if ref == "HEAD":
            candidates = ["FETCH_HEAD", "refs/remotes/origin/main", "refs/remotes/origin/master"]
        if _SHA.match(ref):
            candidates.append(ref)
        for candidate in candidates:
            with contextlib.suppress(SourceError):
                return self._run("rev-parse", "--verify", "--quiet", f"{candidate}^{{commit}}").strip()
        raise SourceError(f"{redact_url(self.url)}: no branch, tag or commit {ref!r}")

    def tags(self) -> list[str]:
        """The names of the tags fetched so far (without `refs/tags/`)."""
        out = self._run("for-each-ref", "--format=%(refname)", "refs/tags")
        return [line[len("refs/tags/"):] for line in out.splitlines() if line.startswith("refs/tags/")]

    def has_commit(self, sha: str) -> bool:
        with contextlib.suppress(SourceError):
            self._run("cat-file", "-e", f"{sha}^{{commit}}")
            return True
        return False

    def show(self, commit: str, path: str) -> Optional[bytes]:
        """The bytes of `path` at `commit`, or None when it has no such file."""
        import git

        try:
            data = self.repo.git.execute(["git", *self._options(), "show", f"{commit}:{path}"],
                                         env=self.env, stdout_as_string=False)
        except git.GitCommandError:
            return None
        return data if isinstance(data, bytes) else None

    def export(self, commit: str, subpath: str, root: Path) -> int:
        import git

        args = ["archive", "--format=tar", commit] + (["--", subpath] if subpath else [])
        try:
            data = self.repo.git.execute(["git", *self._options(), *args], env=self.env, stdout_as_string=False)
        except git.GitCommandError as exc:
            raise SourceError(self._scrub(f"git archive failed: {(exc.stderr or '').strip()}")) from None
        root.mkdir(parents=True, exist_ok=True)
        return _extract(data, subpath, root)


def _extract(data: bytes, subpath: str, root: Path) -> int:
    count, total = 0, 0
    prefix = f"{subpath}/" if subpath else ""
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
        for member in tar:
            if not member.isfile() or not member.name.startswith(prefix):
                continue  # directories are implied; links, devices and the like are skipped
            rel = check_rel(member.name[len(prefix) :])
            total += member.size
            count += 1
            if count > MAX_FILES or total > MAX_TOTAL_BYTES:
                raise SourceError("the repository holds too many or too large files for a configuration")
            handle = tar.extractfile(member)
            write_confined(root, rel, handle.read() if handle else b"")
    return count


@contextlib.contextmanager
def _git_env(credentials: Optional[GitCredentials]) -> Iterator[dict]:
    """The environment of git processes: never prompt; credentials only through GIT_ASKPASS."""
    env = {
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GCM_INTERACTIVE": "never",
        "GIT_ASKPASS": "",
        "SSH_ASKPASS": "",
    }
    if credentials is None:
        yield env
        return
    with tempfile.TemporaryDirectory(prefix="dataiku-iac-askpass-") as tmp:
        script = Path(tmp) / "askpass.sh"
        script.write_text(ASKPASS_SCRIPT)
        script.chmod(stat.S_IRWXU)
        env.update(
            GIT_ASKPASS=str(script),
            DATAIKU_IAC_GIT_USERNAME=credentials.username,
            DATAIKU_IAC_GIT_PASSWORD=credentials.password,
        )
        yield env


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    import fcntl

    with open(path, "a+") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def open_repository(url: str, cache: Path, credentials: Optional[GitCredentials] = None, *, fetch: bool = True) -> _Git:
    """A context manager over the bare cache of `url` under `cache` (fetched on entry unless
    `fetch` is False: offline work from what an earlier fetch brought)."""
    return _Git(check_url(url), cache, credentials, fetch=fetch)


def askpass_answers(env: dict) -> tuple:
    """What the askpass helper answers for a user name and a password prompt (for tests)."""
    import subprocess

    def ask(prompt: str) -> str:
        full_env = {**os.environ, **env}
        return subprocess.run([env["GIT_ASKPASS"], prompt], env=full_env, capture_output=True, text=True).stdout.strip()

    return ask("Username for 'https://example.com': "), ask("Password for 'https://x@example.com': ")
