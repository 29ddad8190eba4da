"""The point of the typed DSL: a type checker (mypy, the project's, run in-process through its
API) catches a misspelt key, a value outside a fixed set and a wrong type in a Python project
file, and accepts `${...}` where the YAML does (a string field as it is, `var()` elsewhere)."""

from __future__ import annotations

from pathlib import Path

from mypy import api

MISTAKES = """\
from dataiku_iac.dsl import DatasetManaged, Project, ProjectFile, RecipeSync, var

config = ProjectFile(
    project=Project(key="A", name="A", owner="${owner}", protect=var("protect")),
    datasets=[
        DatasetManaged(name="a", formt="csv"),
        DatasetManaged(name="b", format="xlsx"),
        DatasetManaged(name="c", format=var("fmt"), protect="yes"),
    ],
    recipes=[RecipeSync(name="r", inputs=["a"], outputs=["b"], tags=("t",)), RecipeSync(name="s", inputs=["a"], outputs="b")],
)
"""


def test_mypy_reports_the_mistakes_of_a_python_project_file_and_nothing_else(tmp_path: Path) -> None:
    path = tmp_path / "p.py"
    path.write_text(MISTAKES, encoding="utf-8")
    out, _err, status = api.run(["--config-file=", "--strict", "--no-incremental", "--cache-dir", str(tmp_path / "cache"),
                                 str(path)])
    errors = sorted(line.split(": error: ")[0].rsplit(":", 1)[1] + " " + line.split("[")[-1]
                    for line in out.splitlines() if ": error: " in line)
    assert status == 1
    # line 10: `outputs="b"`, a string where a list of strings goes (a str is a Sequence[str])
    assert errors == ["10 arg-type]", "6 call-arg]", "7 arg-type]", "8 arg-type]"], out
