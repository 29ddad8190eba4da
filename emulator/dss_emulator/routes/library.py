"""The project library: a tree of folders and files (``contents//x`` and ``contents/x`` are the same)."""

from __future__ import annotations

import base64
import json
import posixpath
from typing import Any, Dict, List

from .. import defaults, errors, gitfetch
from ..auth import READ, WRITE
from ..context import Ctx
from ..files import FileArea, normalize
from ..router import route


def _path(ctx: Ctx) -> str:
    try:
        path = normalize(ctx.params.get("path", ""))
    except ValueError as exc:
        raise errors.bad_request(str(exc)) from None
    if not path:
        raise errors.bad_request("A library path is required")
    return path


def _tree(lib: FileArea) -> List[Dict[str, Any]]:
    root: Dict[str, Any] = {}
    for d in lib.list_dirs():
        node = root
        for part in d.split("/"):
            node = node.setdefault(part, {})
    for path, _, _ in lib.list_files():
        parts = path.split("/")
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = None

    def render(node: Dict[str, Any], prefix: str) -> List[Dict[str, Any]]:
        out: List[Dict[str, Any]] = []
        for name in sorted(node):
            full = prefix + "/" + name
            child = node[name]
            if child is None:
                out.append({"name": name, "path": full, "type": "file"})
            else:
                out.append({"name": name, "path": full, "type": "folder", "children": render(child, full)})
        return out

    return render(root, "")


@route("GET", "/projects/<pk>/libraries/contents")
def contents(ctx: Ctx) -> List[Dict[str, Any]]:
    return _tree(ctx.project(READ).library)


@route("GET", "/projects/<pk>/libraries/contents/<dsspath:path>")
def read_file(ctx: Ctx) -> Dict[str, Any]:
    lib = ctx.project(READ).library
    path = _path(ctx)
    data = lib.read(path)
    if data is None:
        raise errors.not_found(f"Library file does not exist: /{path}")
    if ctx.query("dataEncoding") == "base64":
        text = base64.b64encode(data).decode("ascii")
    else:
        text = data.decode("utf-8", errors="replace")
    return {"name": posixpath.basename(path), "path": "/" + path, "data": text}


@route("POST", "/projects/<pk>/libraries/contents/<dsspath:path>")
def write_file(ctx: Ctx) -> Dict[str, Any]:
    lib = ctx.project(WRITE).library
    path = _path(ctx)
    if lib.exists_dir(path):
        raise errors.bad_request(f"/{path} is a folder")
    lib.write(path, ctx.raw_body())
    return {}


@route("POST", "/projects/<pk>/libraries/folders/<dsspath:path>")
def add_folder(ctx: Ctx) -> Dict[str, Any]:
    lib = ctx.project(WRITE).library
    path = _path(ctx)
    if lib.read(path) is not None:
        raise errors.bad_request(f"/{path} is a file")
    lib.mkdir(path)
    return {}


@route("DELETE", "/projects/<pk>/libraries/contents/<dsspath:path>")
def delete(ctx: Ctx) -> Dict[str, Any]:
    lib = ctx.project(WRITE).library
    path = _path(ctx)
    if not lib.delete(path):
        raise errors.not_found(f"Library item does not exist: /{path}")
    return {}


def _exists(lib: FileArea, path: str) -> bool:
    return lib.read(path) is not None or lib.exists_dir(path)


@route("POST", "/projects/<pk>/libraries/contents-actions/rename/")
def rename(ctx: Ctx) -> Dict[str, Any]:
    lib = ctx.project(WRITE).library
    body = ctx.body_dict()
    old = normalize(str(body.get("oldPath", "")))
    new_name = str(body.get("newName", ""))
    if not old or not _exists(lib, old):
        raise errors.not_found(f"Library item does not exist: /{old}")
    if not new_name or "/" in new_name:
        raise errors.bad_request(f"Invalid new name '{new_name}'")
    target = normalize(posixpath.join(posixpath.dirname(old), new_name))
    if _exists(lib, target):
        raise errors.already_exists(f"/{target} already exists")
    lib.move(old, target)
    return {}


@route("POST", "/projects/<pk>/libraries/contents-actions/move")
def move(ctx: Ctx) -> Dict[str, Any]:
    lib = ctx.project(WRITE).library
    body = ctx.body_dict()
    old = normalize(str(body.get("oldPath", "")))
    new = normalize(str(body.get("newPath", "")))
    if not old or not _exists(lib, old):
        raise errors.not_found(f"Library item does not exist: /{old}")
    if not new or lib.exists_dir(new):  # moving into a folder (or the root) keeps the name
        new = normalize(posixpath.join(new, posixpath.basename(old)))
    if _exists(lib, new):
        raise errors.already_exists(f"/{new} already exists")
    lib.move(old, new)
    return {}


# ---------------------------------------------------------------- Git references (external libraries)
#
# DSS keeps them in the library's own `external-libraries.json` (`lib/external-libraries.json` in a
# project's Git history): `gitReferences` maps a library path (the reference's "local target path")
# to `{remote, checkout, remotePath, lastHash, conflictingFiles, resolvedFiles, faultyHash, isDirty}`,
# and `pythonPath` lists the folders added to the Python path. Importing ("pull", "reset") replaces
# the folder with the repository's `remotePath` at `checkout` and records the commit as `lastHash`.

EXTERNAL_LIBRARIES = "external-libraries.json"


def _external_libraries(lib: FileArea) -> Dict[str, Any]:
    doc: Any = None
    raw = lib.read(EXTERNAL_LIBRARIES)
    if raw is not None:
        try:
            doc = json.loads(raw.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            doc = None
    if not isinstance(doc, dict):
        doc = defaults.load("library_external_libraries.json")
    if not isinstance(doc.get("gitReferences"), dict):
        doc["gitReferences"] = {}
    if not isinstance(doc.get("pythonPath"), list):
        doc["pythonPath"] = []
    return doc


def _save_external_libraries(lib: FileArea, doc: Dict[str, Any]) -> None:
    lib.write(EXTERNAL_LIBRARIES, json.dumps(doc, indent=2).encode("utf-8"))


def _ref_path(value: Any) -> str:
    try:
        path = normalize(str(value or ""))
    except ValueError as exc:
        raise errors.bad_request(str(exc)) from None
    if not path:
        raise errors.bad_request("The local target path of a Git reference is required (a folder of the library)")
    if path == EXTERNAL_LIBRARIES:
        raise errors.bad_request(f"/{path} is the library's own settings file")
    return path


def _git_reference(doc: Dict[str, Any], path: str) -> Dict[str, Any]:
    ref = doc["gitReferences"].get(path)
    if not isinstance(ref, dict):
        raise errors.not_found(f"Git reference does not exist: {path}")
    return ref


def _import(lib: FileArea, path: str, ref: Dict[str, Any]) -> None:
    """Replace the folder `path` with the repository's content; record the commit in `ref`."""
    remote = str(ref.get("remote") or "")
    try:
        commit, files = gitfetch.fetch_tree(remote, str(ref.get("checkout") or ""), str(ref.get("remotePath") or ""))
    except gitfetch.GitFetchError as exc:
        message = str(exc).replace(remote, gitfetch.redact(remote))
        raise errors.DSSError(500, errors.CODED_IO, f"Failed to pull Git reference {path}: {message}") from None
    lib.delete(path)
    lib.mkdir(path)
    for rel, data in files:
        lib.write(f"{path}/{rel}", data)
    ref.update(lastHash=commit, conflictingFiles=[], resolvedFiles=[], faultyHash="", isDirty=False)


def _as_future(ctx: Ctx, label: str, task: Any) -> Dict[str, Any]:
    """Run `task` inline; a failure is the future's, not the request's (DSS answers with a future)."""
    try:
        task()
    except errors.DSSError as exc:
        return ctx.app.runtime.fail_future(exc, label)
    return ctx.app.runtime.start_future({}, label)


@route("GET", "/projects/<pk>/git/lib-git-refs/")
def list_git_references(ctx: Ctx) -> Dict[str, Any]:
    return _external_libraries(ctx.project(READ).library)


@route("POST", "/projects/<pk>/git/lib-git-refs/")
def add_git_reference(ctx: Ctx) -> Dict[str, Any]:
    lib = ctx.project(WRITE).library
    body = ctx.body_dict()
    path = _ref_path(body.get("localTargetPath"))
    remote = str(body.get("repository") or "").strip()
    if not remote:
        raise errors.bad_request("The repository of a Git reference is required")
    doc = _external_libraries(lib)
    if path in doc["gitReferences"]:
        raise errors.already_exists(f"A Git reference already exists at {path}")
    ref: Dict[str, Any] = {
        "remote": remote,
        "checkout": str(body.get("checkout") or ""),
        "remotePath": str(body.get("pathInGitRepository") or "").strip("/"),
        "isDirty": False,
    }
    if body.get("login"):
        ref["remoteLogin"] = str(body["login"])  # the password is not kept (docs/emulator.md)
    doc["gitReferences"][path] = ref
    if body.get("addToPythonPath", True) and path not in doc["pythonPath"]:
        doc["pythonPath"].append(path)
    _save_external_libraries(lib, doc)  # the reference stays even when its first pull fails
    return _as_future(ctx, f"Pull Git reference {path}", lambda: _pull_and_save(lib, path))


def _pull_and_save(lib: FileArea, path: str) -> None:
    doc = _external_libraries(lib)
    ref = _git_reference(doc, path)
    _import(lib, path, ref)
    _save_external_libraries(lib, doc)


@route("PUT", "/projects/<pk>/git/lib-git-refs/<dsspath:path>")
def set_git_reference(ctx: Ctx) -> Dict[str, Any]:
    lib = ctx.project(WRITE).library
    path = _ref_path(ctx.params.get("path"))
    body = ctx.body_dict()
    doc = _external_libraries(lib)
    ref = _git_reference(doc, path)
    for key, field in (("repository", "remote"), ("checkout", "checkout"), ("pathInGitRepository", "remotePath")):
        if body.get(key) is not None:
            ref[field] = str(body[key]).strip("/") if field == "remotePath" else str(body[key])
    if body.get("login"):
        ref["remoteLogin"] = str(body["login"])
    _save_external_libraries(lib, doc)
    return {}


@route("DELETE", "/projects/<pk>/git/lib-git-refs/<dsspath:path>")
def remove_git_reference(ctx: Ctx) -> Dict[str, Any]:
    lib = ctx.project(WRITE).library
    path = _ref_path(ctx.params.get("path"))
    doc = _external_libraries(lib)
    _git_reference(doc, path)
    del doc["gitReferences"][path]
    doc["pythonPath"] = [p for p in doc["pythonPath"] if p != path]
    _save_external_libraries(lib, doc)
    if ctx.qbool("deleteDirectory"):
        lib.delete(path)
    return {}


@route("POST", "/projects/<pk>/git/lib-git-refs/action/reset")
def reset_git_reference(ctx: Ctx) -> Dict[str, Any]:
    lib = ctx.project(WRITE).library
    path = _ref_path(ctx.body_dict().get("gitRef"))
    _git_reference(_external_libraries(lib), path)
    return _as_future(ctx, f"Reset Git reference {path}", lambda: _pull_and_save(lib, path))


@route("POST", "/projects/<pk>/git/actions/git-refs/reset-all")
def reset_all_git_references(ctx: Ctx) -> Dict[str, Any]:
    lib = ctx.project(WRITE).library

    def reset_all() -> None:
        for path in sorted(_external_libraries(lib)["gitReferences"]):
            _pull_and_save(lib, path)

    return _as_future(ctx, "Reset all Git references", reset_all)
