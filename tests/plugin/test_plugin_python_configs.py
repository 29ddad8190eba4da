"""Python project files (projects/*.py) inside DSS: a macro refuses a configuration holding one,
naming it and the setting, unless a DSS administrator allows them in the plugin's settings; then
it plans the Python file's project like a YAML one (docs/security.md, "Python project files")."""

from __future__ import annotations

import dataikuapi
import pytest
from dataiku_iac.dss.html import extract_plan_json
from plugin_helpers import PLUGIN_ID, demo_config, run_macro, upload_library

OPS = "OPS"
LIBRARY = {"source_kind": "library", "library_path": "iac", "environment": "dev"}
PYTHON_PROJECT = """\
from dataiku_iac.dsl import DatasetManaged, Project, ProjectFile

config = ProjectFile(
    project=Project(key="PY_DEMO", name="From Python"),
    datasets=[DatasetManaged(name=f"part_{i}", format="parquet") for i in range(2)],
)
"""


@pytest.fixture
def library(dss, state_project):
    client = dss.client()
    upload_library(client, OPS, "iac", {**demo_config(), "projects/py_demo.py": PYTHON_PROJECT})
    return client


def test_a_macro_refuses_python_project_files_by_default(dss, library):
    with pytest.raises(Exception, match=r"Python project files do not run inside DSS unless a DSS administrator"):
        run_macro(library, OPS, "plan", LIBRARY)
    assert "PY_DEMO" not in {p["projectKey"] for p in library.list_projects()}


def test_an_administrator_allows_them_and_the_python_project_is_planned(dss, library):
    alice = dataikuapi.DSSClient(dss.url, api_key="alice-key")
    with pytest.raises(Exception, match=r"403|[Aa]dmin"):
        alice.get_plugin(PLUGIN_ID).get_settings()  # plugin settings: administrators only
    settings = library.get_plugin(PLUGIN_ID).get_settings()
    settings.get_raw()["config"]["allow_python_configs"] = True
    settings.save()
    plan = extract_plan_json(run_macro(library, OPS, "plan", LIBRARY))
    addresses = {change["address"] for change in plan["resource_changes"]}
    assert {"project.PY_DEMO", "dataset.PY_DEMO.part_0", "dataset.PY_DEMO.part_1", "project.PLUG_DEMO"} <= addresses
