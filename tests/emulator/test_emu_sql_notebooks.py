"""SQL notebooks, exactly as dataikuapi 15.2 (dss/sqlnotebook.py, DSSProject) calls them."""

from __future__ import annotations

import pytest
from emu_helpers import ILLEGAL_ARGUMENT, NOT_FOUND, raises_dss


@pytest.fixture
def project(dss_client):
    return dss_client.create_project("NOTES", "Notes", "admin")


def test_create_list_read_save_and_delete(project):
    first = project.create_sql_notebook({"name": "Explore", "language": "HIVE", "connection": "hive_dw", "cells": []})
    second = project.create_sql_notebook({"name": "Explore", "connection": "pg"})  # same name: DSS accepts it
    assert first.notebook_id != second.notebook_id and len(first.notebook_id) == 7
    listed = project.list_sql_notebooks()
    assert [(n.id, n.language, n.connection) for n in listed] == [
        (first.notebook_id, "HIVE", "hive_dw"), (second.notebook_id, "SQL", "pg")
    ]
    assert "cells" not in listed[0]._data and listed[0]._data["name"] == "Explore"
    content = first.get_content()
    content.connection = "other"
    content.cells = [{"id": "c1", "type": "QUERY", "name": "q", "code": "select 1"}]
    content.get_raw()["name"] = "Renamed"
    content.save()
    again = first.get_content().get_raw()
    assert (again["name"], again["connection"], again["cells"][0]["code"]) == ("Renamed", "other", "select 1")
    first.delete()
    assert [n.id for n in project.list_sql_notebooks()] == [second.notebook_id]
    raises_dss(NOT_FOUND, lambda: first.get_content())


def test_refused_contents(project):
    raises_dss(ILLEGAL_ARGUMENT, lambda: project.create_sql_notebook({"name": "x"}), "connection")
    raises_dss(ILLEGAL_ARGUMENT, lambda: project.create_sql_notebook({"name": "x", "connection": "c", "language": "COBOL"}))
