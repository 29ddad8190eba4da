"""Python project files (projects/NAME.py) load into the same documents as YAML ones: mixed in
one configuration, checked by the same schema, with variables and overrides applied; their
problems are reported at the Python file and line that made the value (or raised)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from dataiku_iac.builder import build_desired
from dataiku_iac.config import load_config
from dataiku_iac.errors import ConfigError, Diagnostic

YAML_PROJECT = """\
project: {key: RAW, name: Raw}
datasets:
  - {name: orders, type: managed, format: csv}
"""

PYTHON_PROJECT = """\
from dataiku_iac.dsl import DatasetManaged, Project, ProjectFile, RecipeSync, var

names = ["a", "b"]
config = ProjectFile(
    project=Project(key="SALES", name="Sales", protect=var("protect")),
    datasets=[DatasetManaged(name=n, connection="${conn}") for n in names],
    recipes=[RecipeSync(name="copy", inputs=["a"], outputs=["b"])],
)
"""

ENV = """\
variables: {conn: warehouse, protect: true}
overrides:
  dataset.SALES.b: {description: from the environment}
"""


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return root


def errors_of(root: Path) -> list[Diagnostic]:
    with pytest.raises(ConfigError) as raised:
        load_config(root, "dev")
    return raised.value.diagnostics


def test_python_and_yaml_project_files_load_side_by_side(tmp_path: Path) -> None:
    root = write(tmp_path, {"environments/dev.yml": ENV, "projects/raw.yml": YAML_PROJECT,
                            "projects/sales.py": PYTHON_PROJECT})
    cfg = load_config(root, "dev")
    by_key = {doc.key: doc for doc in cfg.projects}
    assert set(by_key) == {"RAW", "SALES"}
    sales = by_key["SALES"].data
    assert sales["project"] == {"key": "SALES", "name": "Sales", "protect": True}  # the variable's own type
    assert [d["connection"] for d in sales["datasets"]] == ["warehouse", "warehouse"]
    assert sales["datasets"][1]["description"] == "from the environment"  # the override applies
    addresses = set(build_desired(cfg).resources)
    assert {"dataset.SALES.a", "dataset.SALES.b", "recipe.SALES.copy", "dataset.RAW.orders"} <= addresses


def test_a_bad_value_is_reported_at_the_constructor_call(tmp_path: Path) -> None:
    root = write(tmp_path, {"environments/dev.yml": "", "projects/sales.py": """\
        from dataiku_iac.dsl import DatasetManaged, Project, ProjectFile

        config = ProjectFile(
            project=Project(key="SALES", name="Sales"),
            datasets=[
                DatasetManaged(name="ok"),
                DatasetManaged(name="bad name", format="xlsx"),  # type: ignore[arg-type]
            ],
        )
        """})
    found = {(d.file, d.line, d.path) for d in errors_of(root)}
    assert ("projects/sales.py", 7, "datasets[1].name") in found
    assert ("projects/sales.py", 7, "datasets[1].format") in found


def test_a_value_made_in_a_helper_module_is_reported_there(tmp_path: Path) -> None:
    root = write(tmp_path, {"environments/dev.yml": "", "projects/_common.py": """\
        from dataiku_iac.dsl import DatasetManaged

        def raw(name):
            return DatasetManaged(name=name, format="xlsx")
        """, "projects/sales.py": """\
        from dataiku_iac.dsl import Project, ProjectFile
        from projects._common import raw

        config = ProjectFile(project=Project(key="SALES", name="Sales"), datasets=[raw("orders")])
        """})
    [problem] = errors_of(root)
    assert (problem.file, problem.line, problem.path) == ("projects/_common.py", 4, "datasets[0].format")


def test_an_exception_is_reported_at_the_config_file_line_of_the_traceback(tmp_path: Path) -> None:
    root = write(tmp_path, {"environments/dev.yml": "", "projects/sales.py": """\
        from dataiku_iac.dsl import DatasetManaged, Project, ProjectFile

        def make(n):
            return {"a": 1}[n]

        config = ProjectFile(project=Project(key="SALES", name="Sales"),
                             datasets=[DatasetManaged(name=make("b"))])
        """})
    [problem] = errors_of(root)
    assert (problem.file, problem.line) == ("projects/sales.py", 4)
    assert "KeyError" in problem.message


def test_a_wrong_keyword_is_an_error_at_its_line(tmp_path: Path) -> None:
    root = write(tmp_path, {"environments/dev.yml": "", "projects/sales.py": """\
        from dataiku_iac.dsl import DatasetManaged, Project, ProjectFile

        config = ProjectFile(project=Project(key="SALES", name="Sales"),
                             datasets=[DatasetManaged(name="a", formt="csv")])
        """})
    [problem] = errors_of(root)
    assert (problem.file, problem.line) == ("projects/sales.py", 4)
    assert "formt" in problem.message


@pytest.mark.parametrize("text, line, words", [
    ("config = (\n", 1, "invalid Python"),
    ("x = 1\n", 0, "assigns no 'config'"),
    ("config = [1]\n", 0, "must be a ProjectFile"),
    ("config = {'project': {'key': 'A', 'name': {1, 2}}}\n", 0, "a set is not a configuration value"),
    ("import sys\nsys.exit(3)\n", 2, "SystemExit"),
])
def test_other_mistakes_of_a_python_file(tmp_path: Path, text: str, line: int, words: str) -> None:
    root = write(tmp_path, {"environments/dev.yml": "", "projects/p.py": text})
    [problem] = errors_of(root)
    assert problem.file == "projects/p.py" and problem.line == line and words in problem.message


def test_a_python_and_a_yaml_file_declaring_one_project_collide(tmp_path: Path) -> None:
    root = write(tmp_path, {"environments/dev.yml": "", "projects/raw.yml": YAML_PROJECT, "projects/raw.py": """\
        from dataiku_iac.dsl import Project, ProjectFile
        config = ProjectFile(project=Project(key="RAW", name="Raw"))
        """})
    assert any("already declared" in d.message for d in errors_of(root))


def test_helpers_and_printing_do_not_leak(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Underscore files are helpers, not projects; what a file prints goes to stderr (stdout is the
    tool's: --json, convert); the config directory's modules are read again on the next load."""
    files = {"environments/dev.yml": "", "projects/_names.py": "NAME = 'First'\n", "projects/p.py": """\
        from dataiku_iac.dsl import Project, ProjectFile
        from projects._names import NAME
        print("hello")
        config = ProjectFile(project=Project(key="P", name=NAME))
        """}
    root = write(tmp_path, files)
    assert [d.data["project"]["name"] for d in load_config(root, "dev").projects] == ["First"]
    out = capsys.readouterr()
    assert out.out == "" and "hello" in out.err
    write(root, {"projects/_names.py": "NAME = 'Second'\n"})
    assert [d.data["project"]["name"] for d in load_config(root, "dev").projects] == ["Second"]


def test_two_configurations_in_one_process_import_their_own_helpers(tmp_path: Path) -> None:
    """The webapp and the tests load many configurations in one process: `projects._names` is each
    configuration's own (the namespace package `projects` is forgotten with its modules)."""
    for name in ("First", "Second"):
        root = write(tmp_path / name, {"environments/dev.yml": "", "projects/_names.py": f"NAME = {name!r}\n",
                                       "projects/p.py": """\
            from dataiku_iac.dsl import Project, ProjectFile
            from projects._names import NAME
            config = ProjectFile(project=Project(key="P", name=NAME))
            """})
        assert [d.data["project"]["name"] for d in load_config(root, "dev").projects] == [name]
