"""SQL notebooks, as dataikuapi 15.2 ``dss/sqlnotebook.py`` and ``DSSProject`` call them.

* ``GET /projects/{pk}/sql-notebooks/``: the list items (``DSSSQLNotebookListItem``: ``projectKey``,
  ``id``, ``name``, ``language``, ``connection``, ``tags``), without the cells;
* ``POST`` there: creates a notebook from its content (``create_sql_notebook``); DSS gives it an
  id of its own, whatever the content says, and accepts two notebooks of the same name;
* ``GET``/``PUT``/``DELETE /projects/{pk}/sql-notebooks/{id}``: its content (``get_content``,
  ``DSSSQLNotebookContent.save``: the content as read, with its ``name``, ``language``,
  ``connection`` and ``cells``), and its deletion.

No real notebook document was found (docs/emulator.md): the keys besides those dataikuapi reads
(``id``, ``language``, ``connection``, ``cells``) are UNVERIFIED.
"""

from __future__ import annotations

import copy
from typing import Any, Dict, List

from .. import defaults, errors
from ..auth import READ, WRITE
from ..context import Ctx
from ..router import route
from ..store import ProjectData

LANGUAGES = ("SQL", "HIVE", "IMPALA", "SPARKSQL")  # dataikuapi: DSSSQLNotebookListItem.language
LISTED = ("projectKey", "id", "name", "language", "connection", "tags")


def _notebook(proj: ProjectData, notebook_id: str) -> Dict[str, Any]:
    notebook = proj.sql_notebooks.get(notebook_id)
    if notebook is None:
        raise errors.not_found(f"SQL notebook {notebook_id} does not exist in project {proj.key}")
    return notebook


def _content(proj: ProjectData, body: Dict[str, Any], into: Dict[str, Any]) -> Dict[str, Any]:
    """`into` with what a notebook's content may change: name, language, connection, cells, tags."""
    for key in ("name", "connection"):
        if key in body:
            if not isinstance(body[key], str) or not body[key].strip():
                raise errors.bad_request(f"SQL notebook {key} must be a non-empty string")
            into[key] = body[key]
    if "language" in body:
        if body["language"] not in LANGUAGES:
            raise errors.bad_request(f"Unknown SQL notebook language {body['language']!r} (one of {', '.join(LANGUAGES)})")
        into["language"] = body["language"]
    for key in ("cells", "tags"):
        if key in body:
            if not isinstance(body[key], list):
                raise errors.bad_request(f"SQL notebook {key} must be a list")
            into[key] = copy.deepcopy(body[key])
    return into


@route("GET", "/projects/<pk>/sql-notebooks/")
def list_notebooks(ctx: Ctx) -> List[Dict[str, Any]]:
    proj = ctx.project(READ)
    return [{k: copy.deepcopy(n[k]) for k in LISTED if k in n} for n in proj.sql_notebooks.values()]


@route("POST", "/projects/<pk>/sql-notebooks/")
def create_notebook(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(WRITE)
    body = ctx.body_dict()
    for key in ("name", "connection"):
        if not body.get(key):
            raise errors.bad_request(f"SQL notebook {key} is missing")
    notebook_id = defaults.random_id(7)
    while notebook_id in proj.sql_notebooks:
        notebook_id = defaults.random_id(7)
    notebook = {"projectKey": proj.key, "id": notebook_id, "language": "SQL", "cells": [], "tags": []}
    proj.sql_notebooks[notebook_id] = _content(proj, body, notebook)
    ctx.store.save_sql_notebooks(proj)
    return copy.deepcopy(notebook)


@route("GET", "/projects/<pk>/sql-notebooks/<notebook_id>")
def get_notebook(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(READ)
    return copy.deepcopy(_notebook(proj, ctx.params["notebook_id"]))


@route("PUT", "/projects/<pk>/sql-notebooks/<notebook_id>")
def put_notebook(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(WRITE)
    notebook = copy.deepcopy(_notebook(proj, ctx.params["notebook_id"]))
    proj.sql_notebooks[notebook["id"]] = _content(proj, ctx.body_dict(), notebook)
    ctx.store.save_sql_notebooks(proj)
    return {}


@route("DELETE", "/projects/<pk>/sql-notebooks/<notebook_id>")
def delete_notebook(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(WRITE)
    _notebook(proj, ctx.params["notebook_id"])
    del proj.sql_notebooks[ctx.params["notebook_id"]]
    ctx.store.save_sql_notebooks(proj)
    return {}
