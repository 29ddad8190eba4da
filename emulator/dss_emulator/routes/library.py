"""The project library: a tree of folders and files (``contents//x`` and ``contents/x`` are the same)."""

from __future__ import annotations

import base64
import posixpath
from typing import Any, Dict, List

from .. import errors
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
