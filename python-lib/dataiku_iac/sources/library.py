"""A configuration kept in a folder of a DSS project library (which DSS can link to Git).

Read through the public API (`project.get_library()`, then one read per file) and written to
a fresh directory; names from DSS are treated as untrusted (no '..', no absolute paths).

A library folder may be populated by one of DSS's Git references (the project library's
"external libraries", `DSSProjectGit.list_libraries()`): DSS imports a repository's folder at
a branch, tag or commit into the library and records the commit it imported (`lastHash`).
The source then reports that commit in its provenance, and with `git_refresh` first asks DSS to
re-import the reference from upstream (`reset_library`). DSS fetches with its own configured
Git credentials: the configuration never sends any, and remotes are shown without user info.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from dataiku_iac.dssclient import classify, with_retries
from dataiku_iac.errors import IacError, redact_userinfo
from dataiku_iac.sources.common import (
    MAX_FILES,
    MAX_TOTAL_BYTES,
    SourceError,
    check_rel,
    tree_digest,
    write_confined,
)


def library_folder(path: Any) -> str:
    folder = str(path or "").strip().strip("/")
    if folder:
        check_rel(folder)
    return folder


def from_library(spec: dict, client: Any, work: Path) -> tuple[Path, dict]:
    project_key = spec.get("project_key")
    if not isinstance(project_key, str) or not project_key:
        raise SourceError("a project library source needs a 'project_key'")
    named = str(spec.get("git_reference") or "").strip().strip("/")
    folder = library_folder(spec["path"] if spec.get("path") is not None else named or "iac")
    refresh = spec.get("git_refresh", False)
    if not isinstance(refresh, bool):
        raise SourceError(f"'git_refresh' must be true or false, not {refresh!r}")
    git = git_reference_of(client, project_key, folder, named, refresh=refresh)
    library = _call(lambda: client.get_project(project_key).get_library(), f"read the library of {project_key}")
    files = list_library_files(library, folder)
    if not files:
        where = f"/{folder}" if folder else "/"
        unimported_reference(client, project_key, folder)
        raise SourceError(f"the library of project {project_key} has no files under {where}")
    total = 0
    root = work / "config"
    root.mkdir(parents=True, exist_ok=True)
    for rel, handle in files:
        data = _call(lambda handle=handle: handle.read(as_type="bytes"), f"read /{handle.path}")
        total += len(data)
        if total > MAX_TOTAL_BYTES:
            raise SourceError(f"the library folder /{folder} holds more than {MAX_TOTAL_BYTES // 2**20} MiB")
        write_confined(root, rel, data)
    provenance: dict[str, Any] = {"kind": "library", "project_key": project_key, "path": folder, "digest": tree_digest(root)}
    if git is not None:
        provenance["git"] = git
    return root, provenance


# -- Git references -----------------------------------------------------------------------


def git_reference_of(client: Any, project_key: str, folder: str, named: str, *, refresh: bool) -> Optional[dict]:
    """What the source records of the Git reference populating /folder (None when there is none
    and none was asked for); refreshes it first when `refresh`. SourceError when the reference
    named (or needed for a refresh) is missing, was never imported, or DSS fails to refresh it."""
    asked = bool(named) or refresh
    project_git = client.get_project(project_key).get_project_git()
    try:
        references = _references(project_git, project_key)
    except SourceError:
        if asked:
            raise
        return None  # an older DSS, or no right to list them: the folder is read as plain files
    key = _covering(references, folder, named, project_key, required=asked)
    if key is None or not (asked or references[key].get("lastHash")):
        return None  # not asked for, and never imported: nothing to report
    if refresh:
        _refresh(project_git, project_key, key, references[key])
        references = _references(project_git, project_key)
        if key not in references:
            raise SourceError(f"the Git reference '{key}' of project {project_key} disappeared during its refresh")
    return _record(project_key, key, references[key], refreshed=refresh)


def unimported_reference(client: Any, project_key: str, folder: str) -> None:
    """Name the never-imported Git reference that should have populated an empty /folder."""
    project_git = client.get_project(project_key).get_project_git()
    try:
        references = _references(project_git, project_key)
    except SourceError:
        return
    key = _covering(references, folder, "", project_key, required=False)
    if key is not None:
        _record(project_key, key, references[key], refreshed=False)  # raises when there is no commit


def _references(project_git: Any, project_key: str) -> dict:
    doc = _call(project_git.list_libraries, f"list the Git references of the library of {project_key}")
    refs = doc.get("gitReferences") if isinstance(doc, dict) else None
    return {str(k): v for k, v in refs.items() if isinstance(v, dict)} if isinstance(refs, dict) else {}


def _covering(references: dict, folder: str, named: str, project_key: str, *, required: bool) -> Optional[str]:
    """The key (as DSS spells it) of the reference `named`, or of the one whose folder holds /folder."""
    def inside(key: str) -> bool:
        ref_folder = key.strip("/")
        return not ref_folder or folder == ref_folder or folder.startswith(ref_folder + "/")

    if named:
        key = next((k for k in references if k.strip("/") == named), None)
        if key is None:
            known = ", ".join(sorted(k.strip("/") or "/" for k in references)) or "none"
            raise SourceError(
                f"the library of project {project_key} has no Git reference '{named}' (its Git references: {known}); "
                f"add it in DSS (project Libraries > Git > Import from Git) or fix git_reference"
            )
        if not inside(key):
            raise SourceError(
                f"the library folder /{folder} is not inside the folder of the Git reference '{named}' "
                f"(/{named}): set the library path to /{named} or a folder under it"
            )
        return key
    candidates = sorted((k for k in references if inside(k)), key=lambda k: len(k.strip("/")), reverse=True)
    if candidates:
        return candidates[0]
    if required:
        raise SourceError(
            f"no Git reference of the library of project {project_key} populates /{folder}, so there is "
            f"nothing to refresh: import the repository into that folder in DSS (project Libraries > Git) "
            f"or read the folder without git_refresh"
        )
    return None


def _refresh(project_git: Any, project_key: str, key: str, ref: dict) -> None:
    """Ask DSS to re-import the reference from upstream (DSS uses its own Git credentials)."""
    try:
        with_retries(lambda: project_git.reset_library(key).wait_for_result())
    except Exception as exc:  # DssError from with_retries, or what the future raised
        error = exc if isinstance(exc, IacError) else classify(exc)
        raise SourceError(
            f"DSS could not refresh the Git reference '{key.strip('/') or '/'}' of project {project_key} "
            f"from {_where(ref)}: {redact_userinfo(str(error))}"
        ) from None


def _record(project_key: str, key: str, ref: dict, *, refreshed: bool) -> dict:
    commit = str(ref.get("lastHash") or "")
    name = key.strip("/") or "/"
    if not commit:
        raise SourceError(
            f"the Git reference '{name}' of project {project_key} ({_where(ref)}) has not been imported yet "
            f"(DSS records no commit for it): refresh it (git_refresh) or reset it from upstream in DSS"
        )
    record = {
        "reference": name,
        "remote": redact_userinfo(str(ref.get("remote") or "")),
        "checkout": str(ref.get("checkout") or ""),
        "commit": commit,
        "refreshed": refreshed,
    }
    if ref.get("isDirty"):
        record["dirty"] = True  # edited in DSS since the import: the files may differ from the commit
    return record


def _where(ref: dict) -> str:
    remote = redact_userinfo(str(ref.get("remote") or "?"))
    path = str(ref.get("remotePath") or "").strip("/")
    return f"{remote} @ {ref.get('checkout') or 'HEAD'}" + (f", /{path}" if path else "")


def list_library_files(library: Any, folder: str) -> list:
    """(relative path, file handle) of every file under /folder of a `DSSLibrary`, sorted."""
    try:
        node = library.get_folder("/" + folder) if folder else library.root
    except Exception:  # the client raises when the path names a file
        node = None
    if node is None:
        return []
    out: list = []
    _walk(node, "", out)
    if len(out) > MAX_FILES:
        raise SourceError(f"the library folder /{folder} holds more than {MAX_FILES} files")
    return sorted(out, key=lambda item: item[0])


def _walk(folder: Any, prefix: str, out: list) -> None:
    for child in folder.list():
        rel = check_rel(f"{prefix}{child.name}")
        if child.children is not None:
            _walk(child, rel + "/", out)
        else:
            out.append((rel, child))


def _call(fn: Any, doing: str) -> Any:
    try:
        return with_retries(fn)
    except IacError as exc:
        raise SourceError(f"cannot {doing}: {exc}") from None
