"""Where a configuration comes from, inside DSS or out: a local directory, a folder of a DSS
project library, or a Git repository.

`materialize(spec, ...)` returns `(Path, provenance)`: a directory the config loader reads (the
loader then confines every file it reads to it) and a small dict recorded in the plan
(`Session(source=provenance)` -> `Plan.source`), e.g.

    {"kind": "git", "url": "https://git.example.com/data/iac.git", "ref": "main",
     "subpath": "dss", "commit": "3f2c…"}

Source specs (what macros, steps and the webapp pass):

    {"kind": "directory", "path": "/srv/iac"}
    {"kind": "library", "project_key": "OPS", "path": "iac"}        # project library folder
    {"kind": "library", "project_key": "OPS", "path": "iac",
     "git_reference": "iac", "git_refresh": True}                   # ... that a DSS Git reference
                                                                    # populates, re-imported first
    {"kind": "git", "url": "...", "ref": "main", "subpath": "dss",
     "credentials": {"username": "...", "password": "..."}}         # never logged, never in URLs
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Optional

from dataiku_iac.sources.common import SourceError
from dataiku_iac.sources.directory import from_directory
from dataiku_iac.sources.git import GitCredentials, from_git
from dataiku_iac.sources.library import from_library

__all__ = ["GitCredentials", "SourceError", "describe_source", "materialize"]

KINDS = ("directory", "library", "git")


def materialize(
    spec: dict,
    *,
    client_factory: Optional[Callable[[], Any]] = None,
    work_dir: Optional[Path] = None,
    cache_dir: Optional[Path] = None,
    user: Optional[str] = None,
) -> tuple[Path, dict]:
    """Make the configuration of `spec` readable on disk; see the module docstring.

    `work_dir` receives the materialized copy (library, git); `cache_dir` keeps Git clones
    between runs (default: the OS user's private directory under the system temp dir), in a
    private subdirectory per `user` (the DSS login of the caller).
    """
    if not isinstance(spec, dict):
        raise SourceError("the config source must be a mapping with a 'kind'")
    kind = spec.get("kind")
    if kind == "directory":
        return from_directory(spec)
    if kind == "library":
        if client_factory is None:
            raise SourceError("a project library source needs a DSS client")
        return from_library(spec, client_factory(), _work(work_dir))
    if kind == "git":
        return from_git(spec, _work(work_dir), cache_dir, user)
    raise SourceError(f"unknown config source kind {kind!r} (expected one of: {', '.join(KINDS)})")


def _work(work_dir: Optional[Path]) -> Path:
    if work_dir is None:
        import tempfile

        return Path(tempfile.mkdtemp(prefix="dataiku-iac-src-"))
    Path(work_dir).mkdir(parents=True, exist_ok=True)
    return Path(work_dir)


def describe_source(provenance: dict) -> str:
    """One line for humans: where a plan's configuration came from."""
    kind = provenance.get("kind")
    if kind == "git":
        sub = f" ({provenance['subpath']})" if provenance.get("subpath") else ""
        return f"git {provenance.get('url')} @ {provenance.get('ref')} = {str(provenance.get('commit', ''))[:12]}{sub}"
    if kind == "library":
        text = f"project library of {provenance.get('project_key')}, folder /{provenance.get('path', '')}"
        git = provenance.get("git")
        if isinstance(git, dict):
            text += (f", Git reference {git.get('reference')}: {git.get('remote')} @ {git.get('checkout') or 'HEAD'}"
                     f" = {str(git.get('commit', ''))[:12]}")
            text += " (refreshed from upstream)" if git.get("refreshed") else ""
            text += " (with changes made in DSS since)" if git.get("dirty") else ""
        return text
    if kind == "directory":
        return f"directory {provenance.get('path')}"
    return str(kind)

