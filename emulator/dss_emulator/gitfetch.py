"""Fetching one commit of a Git repository for the library's Git references (``lib-git-refs``).

DSS runs the ``git`` command line with its own configured credentials; the emulator runs it too,
but only on local repositories (an absolute path or a ``file://`` URL): it never touches the
network (``protocol.allow=never`` except for local transports, so not even a submodule or an
alternate can reach out). Each fetch happens in a throw-away bare repository.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import tarfile
import tempfile
from typing import List, Tuple
from urllib.parse import urlsplit

_SHA = re.compile(r"^[0-9a-fA-F]{7,40}$")
_REF = re.compile(r"^[A-Za-z0-9._/-]*$")
_LOCAL_ONLY = ["-c", "protocol.allow=never", "-c", "protocol.file.allow=always"]
_ENV = {"GIT_TERMINAL_PROMPT": "0", "GIT_CONFIG_NOSYSTEM": "1", "GIT_ASKPASS": "", "SSH_ASKPASS": ""}


class GitFetchError(Exception):
    """The repository could not be fetched at the checkout (the message names why)."""


def redact(url: str) -> str:
    """`url` without its user info (a token may hide there)."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]).geturl()


def _scrub(text: str) -> str:
    return re.sub(r"(\w+://)[^/@\s]*@", r"\1", text)


def is_local(remote: str) -> bool:
    return remote.startswith("file://") or (remote.startswith("/") and "://" not in remote)


def fetch_tree(remote: str, checkout: str, path_in_repo: str) -> Tuple[str, List[Tuple[str, bytes]]]:
    """(commit, [(path relative to `path_in_repo`, bytes)]) of `remote` at `checkout`.

    `checkout` is a branch (`main` or `refs/heads/main`), a tag, a commit, or empty for the
    remote's HEAD. Raises GitFetchError for a non-local remote, an unknown checkout, a missing
    path, or any git failure.
    """
    if not is_local(remote):
        raise GitFetchError(
            f"the emulator fetches only local repositories (an absolute path or a file:// URL), not {redact(remote)}"
        )
    if not _REF.match(checkout) or checkout.startswith("-") or ".." in checkout:
        raise GitFetchError(f"invalid checkout {checkout!r}")
    with tempfile.TemporaryDirectory(prefix="dss-emulator-git-") as tmp:
        _git(tmp, "init", "--quiet", "--bare", tmp)
        _git(tmp, "fetch", "--quiet", "--tags", "--", remote, "+refs/heads/*:refs/remotes/origin/*")
        if not checkout:
            _git(tmp, "fetch", "--quiet", "--", remote, "HEAD")
        commit = _resolve(tmp, checkout or "FETCH_HEAD", remote)
        archive = ["archive", "--format=tar", commit] + (["--", path_in_repo] if path_in_repo else [])
        data = _git(tmp, *archive)
    return commit, _files(data, path_in_repo)


def _resolve(repo: str, checkout: str, remote: str) -> str:
    if checkout.startswith("refs/heads/"):
        candidates = ["refs/remotes/origin/" + checkout[len("refs/heads/"):]]
    elif checkout.startswith("refs/"):
        candidates = [checkout]
    else:
        candidates = [f"refs/remotes/origin/{checkout}", f"refs/tags/{checkout}"]
        if _SHA.match(checkout) or checkout == "FETCH_HEAD":
            candidates.append(checkout)
    for candidate in candidates:
        try:
            return _git(repo, "rev-parse", "--verify", "--quiet", f"{candidate}^{{commit}}").decode().strip()
        except GitFetchError:
            continue
    raise GitFetchError(f"no branch, tag or commit {checkout!r} in {redact(remote)}")


def _files(data: bytes, path_in_repo: str) -> List[Tuple[str, bytes]]:
    prefix = path_in_repo.strip("/") + "/" if path_in_repo.strip("/") else ""
    out: List[Tuple[str, bytes]] = []
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
        for member in tar:
            if not member.isfile() or not member.name.startswith(prefix):
                continue  # directories are implied; symbolic links are not copied
            handle = tar.extractfile(member)
            out.append((member.name[len(prefix):], handle.read() if handle else b""))
    return out


def _git(repo: str, *args: str) -> bytes:
    env = {**os.environ, **_ENV}
    done = subprocess.run(
        ["git", "-C", repo, *_LOCAL_ONLY, *args], env=env, capture_output=True, timeout=60, check=False
    )
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", errors="replace").strip()
        raise GitFetchError(f"git {args[0]} failed: {_scrub(message)}")
    return done.stdout
