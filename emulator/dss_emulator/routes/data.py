"""Dataset data: read rows (TSV stream), clear, copy to another dataset, uploaded files, format
detection. The rows live in DuckDB (rows.py, dataset_rows.py); dataikuapi's calls, dss/dataset.py."""

from __future__ import annotations

import time
from typing import Any, Dict, List

from .. import dataset_rows, errors
from ..auth import READ, WRITE
from ..context import Ctx, Raw
from ..files import normalize
from ..router import route
from ..store import ProjectData

# The stream formats of GET .../data/: dataikuapi's iter_rows asks for the first.
TSV_FORMATS = {"tsv-excel-noheader": False, "tsv-excel-header": True}


def _dataset(ctx: Ctx, proj: ProjectData, name: str) -> Dict[str, Any]:
    doc = proj.datasets.get(name)
    if doc is None:
        raise errors.not_found(f"dataset does not exist: {proj.key}.{name}")
    return doc


def _listed(ctx: Ctx, name: str) -> List[str]:
    """A list query parameter, sent as repeated keys (requests' way) or comma-separated."""
    out: List[str] = []
    for value in ctx.request.args.getlist(name):
        out.extend(v for v in value.split(",") if v)
    return out


@route("GET", "/projects/<pk>/datasets/<name>/data/")
def read_data(ctx: Ctx) -> Raw:
    proj = ctx.project(READ)
    doc = _dataset(ctx, proj, ctx.params["name"])
    fmt = ctx.query("format") or "tsv-excel-noheader"
    if fmt not in TSV_FORMATS:
        raise errors.bad_request(f"Unsupported format: {fmt} (the emulator serves {', '.join(TSV_FORMATS)})")
    wanted = _listed(ctx, "columns") or None
    body = dataset_rows.tsv_stream(ctx.store, proj.key, doc, wanted)
    if TSV_FORMATS[fmt]:
        names = wanted or [c["name"] for c in dataset_rows.schema_columns(doc)]
        from ..rows import tsv

        body = tsv([names]) + body
    return Raw(body, "text/tab-separated-values; charset=utf-8")


@route("GET", "/projects/<pk>/datasets/<name>/finish-streaming/")
def finish_streaming(ctx: Ctx) -> Dict[str, Any]:
    # dataikuapi calls it after the last row to learn of an error while streaming; the emulator
    # builds the whole stream before answering, so an error was already the answer.
    proj = ctx.project(READ)
    _dataset(ctx, proj, ctx.params["name"])
    return {}


@route("DELETE", "/projects/<pk>/datasets/<name>/data")
def clear_data(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(WRITE)
    doc = _dataset(ctx, proj, ctx.params["name"])
    dataset_rows.clear(ctx.store, proj.key, doc)
    return {}


@route("POST", "/projects/<pk>/datasets/<name>/actions/copyTo")
def copy_to(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(READ)
    source = _dataset(ctx, proj, ctx.params["name"])
    body = ctx.body_dict()
    target_proj = ctx.project(WRITE, key=body.get("targetProjectKey") or proj.key)
    target = _dataset(ctx, target_proj, str(body.get("targetDatasetName")))
    mode = body.get("writeMode") or "OVERWRITE"
    if mode not in ("OVERWRITE", "APPEND"):
        raise errors.bad_request(f"Invalid writeMode: {mode}")
    select_sql = dataset_rows.read_sql(ctx.store, proj.key, source)
    if body.get("syncSchema", True):
        target["schema"] = {
            "columns": [dict(c) for c in dataset_rows.schema_columns(source)],
            "userModified": False,
        }
        ctx.store.save_dataset(target_proj, target["name"])
    started = int(time.time() * 1000)
    written = dataset_rows.write(ctx.store, target_proj.key, target, select_sql, append=mode == "APPEND")
    label = "Copy {}.{} to {}.{}".format(proj.key, source["name"], target_proj.key, target["name"])
    return ctx.app.runtime.start_future(
        {"writtenRows": written, "startTime": started, "endTime": int(time.time() * 1000)}, label
    )


@route("POST", "/projects/<pk>/datasets/<name>/uploaded/files")
def upload_file(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(WRITE)
    doc = _dataset(ctx, proj, ctx.params["name"])
    if doc.get("type") != "UploadedFiles":
        raise errors.bad_request(
            "Dataset {}.{} is not an UploadedFiles dataset".format(proj.key, doc["name"])
        )
    upload = ctx.request.files.get("file")
    if upload is None or not upload.filename:
        raise errors.bad_request("No file in the upload (multipart field 'file')")
    try:
        path = normalize(upload.filename)
    except ValueError as exc:
        raise errors.bad_request(str(exc)) from None
    ctx.store.upload_files(proj.key, doc["name"]).write(path, upload.read())
    return {}


@route("GET", "/projects/<pk>/datasets/<name>/uploaded/files")
def list_uploaded_files(ctx: Ctx) -> List[Dict[str, Any]]:
    proj = ctx.project(READ)
    doc = _dataset(ctx, proj, ctx.params["name"])
    files = ctx.store.upload_files(proj.key, doc["name"]).list_files()
    return [{"path": "/" + p, "size": size, "lastModified": mtime} for p, size, mtime in files]


@route("POST", "/projects/<pk>/datasets/<name>/actions/testAndDetectSettings/fsLike")
def detect_format(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(READ)
    doc = _dataset(ctx, proj, ctx.params["name"])
    if doc.get("type") not in dataset_rows.FILE_SOURCED:
        raise errors.bad_request(
            "The emulator detects formats of UploadedFiles datasets only (dataset {}.{} is {})".format(
                proj.key, doc["name"], doc.get("type")
            )
        )
    infer = bool(ctx.body_dict().get("inferStorageTypes", False))
    result = dataset_rows.detect(ctx.store, proj.key, doc, infer)
    return ctx.app.runtime.start_future(result, "Detecting format of {}.{}".format(proj.key, doc["name"]))


@route("POST", "/projects/<pk>/datasets/<name>/emulator-rows")
def write_rows(ctx: Ctx) -> Dict[str, Any]:
    """NOT a DSS route: how the emulator's `dataiku` stand-in (Python recipes) writes rows, DSS's
    package writing through an internal API the emulator does not emulate. Body: ``{columns: [the
    names, in the rows' order], tsv: rows in the tsv-excel-noheader format}``; the rows replace the
    dataset's, cast to its schema."""
    proj = ctx.project(WRITE)
    doc = _dataset(ctx, proj, ctx.params["name"])
    body = ctx.body_dict()
    names = [str(n) for n in body.get("columns") or []]
    text = str(body.get("tsv") or "")
    written = dataset_rows.write_tsv(ctx.store, proj.key, doc, names, text)
    return {"writtenRows": written}
