"""The data-directories footprint of a project (dataikuapi `get_data_directories_footprint()
.compute_project_footprint(key)`): a DSS administrator's call, answered as a finished future.

No real answer was at hand (docs/emulator.md, "Data-directories footprint"): the shape follows
dataikuapi's `Footprint` helper (`size`, `nbFiles`, `nbFolders`, `nbErrors`, sub-footprints as
mappings; a project item carries `projectKey`, and `compute_project_footprint` reads
`result.projects.items[0]`). The emulator counts the files it holds for the project: managed
folders' contents and uploaded datasets' files; the rows of its managed datasets, kept in its
database, are not files and count for nothing.
"""

from __future__ import annotations

from typing import Any, Dict, List

from .. import errors
from ..auth import require_admin
from ..context import Ctx
from ..dataset_rows import FILE_SOURCED
from ..router import route


def _category(files: List[Any], folders: int) -> Dict[str, Any]:
    return {"size": sum(size for _path, size, _modified in files), "nbFiles": len(files), "nbFolders": folders, "nbErrors": 0}


@route("GET", "/directories-footprint/projects/<pk>")
def project_footprint(ctx: Ctx) -> Dict[str, Any]:
    require_admin(ctx.caller)
    key = ctx.params["pk"]
    with ctx.store.lock:
        proj = ctx.store.projects.get(key)
        if proj is None:
            raise errors.not_found(f"Project {key} does not exist")
        folder_files = [f for fid in sorted(proj.folders) for f in ctx.store.folder_files(key, fid).list_files()]
        dataset_files = [
            f for name in sorted(proj.datasets) if proj.datasets[name].get("type") in FILE_SOURCED
            for f in ctx.store.upload_files(key, name).list_files()
        ]
    folders = _category(folder_files, len(proj.folders))
    datasets = _category(dataset_files, sum(1 for d in proj.datasets.values() if d.get("type") in FILE_SOURCED))
    item = {
        "projectKey": key,
        "size": folders["size"] + datasets["size"],
        "nbFiles": folders["nbFiles"] + datasets["nbFiles"],
        "nbFolders": folders["nbFolders"] + datasets["nbFolders"],
        "nbErrors": 0,
        "managedFolders": folders,
        "datasets": datasets,
    }
    summary = {k: item[k] for k in ("size", "nbFiles", "nbFolders", "nbErrors")}
    return {"hasResult": True, "result": {"projects": {**summary, "items": [item]}}}
