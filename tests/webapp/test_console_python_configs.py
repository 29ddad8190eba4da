"""The console never runs a configuration's Python project files (docs/security.md, "Python
project files inside DSS"): a configuration holding one is refused, naming the file and the
setting, even when the plugin's settings allow them for the macros and steps."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.webapp.conftest import error_of
from tests.webapp.console_setup import ALICE, OPS_PROJECT, World, write_library

PYTHON_PROJECT = """\
from dataiku_iac.dsl import Project, ProjectFile
open({marker!r}, "w").write("ran")
config = ProjectFile(project=Project(key="PY_CONSOLE", name="From Python"))
"""


def test_the_console_refuses_a_configuration_with_python_project_files(as_user: Any, world: World, dss: Any,
                                                                      tmp_path: Path) -> None:
    marker = tmp_path / "the console ran the file"
    settings = dss.client().get_plugin("dataiku-iac").get_settings()
    settings.get_raw()["config"]["allow_python_configs"] = True  # the macros' setting: not the console's
    settings.save()
    write_library(dss.client(), OPS_PROJECT, "iac", {"projects/py_console.py": PYTHON_PROJECT.format(marker=str(marker))})
    for path in ("/api/graph", "/api/plan"):
        response = as_user(ALICE).post(path, world.target())
        assert response.status_code >= 400, response.get_data(as_text=True)
        message = error_of(response)["message"]
        assert "Python project files do not run inside DSS" in message and "projects/py_console.py" in message
    assert not marker.exists()
