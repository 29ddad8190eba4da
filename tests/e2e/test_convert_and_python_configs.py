"""Python project files and `dataiku-iac convert`, as a user runs them against the emulator: a
configuration mixing a YAML and a Python project applies, then plans `No changes.`; a YAML project
converted to Python (and the original removed) plans nothing either; convert's refusals (an
existing output, a file outside the configuration, a key no class has) and `import` into a
Python-written project are clear errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.e2e.helpers import assert_no_changes, list_names, run_cli, write_config

RAW = """\
project:
  key: RAW_PY
  name: Raw
datasets:
  - name: orders
    type: managed
    format: csv
    description: ${who}   # a variable of the environment
"""

SALES = """\
from dataiku_iac.dsl import DatasetManaged, Project, ProjectFile, RecipeSync

regions = ["eu", "us"]
config = ProjectFile(
    project=Project(key="SALES_PY", name="Sales from Python"),
    datasets=[DatasetManaged(name=f"sales_{r}", format="parquet") for r in regions],
    recipes=[RecipeSync(name="copy_eu", inputs=["sales_eu"], outputs=["sales_us"])],
)
"""


def test_a_mixed_configuration_applies_and_then_plans_no_changes(dss: Any, tmp_path: Path) -> None:
    root = write_config(tmp_path / "cfg", {"raw.yml": RAW, "sales.py": SALES}, env="variables:\n  who: the team\n")
    run_cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    client = dss.client()
    assert sorted(list_names(client, "SALES_PY")["dataset"]) == ["sales_eu", "sales_us"]
    assert list_names(client, "SALES_PY")["recipe"] == ["copy_eu"]
    assert client.get_project("RAW_PY").get_dataset("orders").get_settings().get_raw()["description"] == "the team"
    assert_no_changes(dss, root)

    # The YAML project in Python, the YAML file gone: still nothing to do.
    converted = run_cli(dss, root, "convert", "projects/raw.yml", "--output", "projects/raw.py")
    assert "Remove projects/raw.yml" in converted.stderr
    (root / "projects" / "raw.yml").unlink()
    assert 'description="${who}"' in (root / "projects" / "raw.py").read_text(encoding="utf-8")
    assert_no_changes(dss, root)

    # And the Python project in YAML (loops expanded).
    back = run_cli(dss, root, "convert", "projects/sales.py")
    assert "- name: sales_eu" in back.stdout and "- name: sales_us" in back.stdout


def test_convert_refuses_what_it_cannot_do(dss: Any, tmp_path: Path) -> None:
    root = write_config(tmp_path / "cfg", {"raw.yml": RAW, "bad.yml": "project: {key: BAD, name: Bad}\ndatasets:\n"
                                           "  - name: d\n    type: managed\n    formt: csv\n"})
    (root / "out.py").write_text("# mine\n", encoding="utf-8")
    exists = run_cli(dss, root, "convert", "projects/raw.yml", "--output", "out.py", expect=1)
    assert "out.py exists; pass --force" in exists.stderr
    assert (root / "out.py").read_text(encoding="utf-8") == "# mine\n"
    run_cli(dss, root, "convert", "projects/raw.yml", "--output", "out.py", "--force")
    assert "config = ProjectFile(" in (root / "out.py").read_text(encoding="utf-8")
    outside = tmp_path / "elsewhere.yml"
    outside.write_text(RAW, encoding="utf-8")
    refused = run_cli(dss, root, "convert", str(outside), expect=1)
    assert "is not inside the configuration directory" in refused.stderr
    unknown = run_cli(dss, root, "convert", "projects/bad.yml", expect=1)
    assert "projects/bad.yml:5" in unknown.stderr and "unknown key 'formt'" in unknown.stderr


def test_import_does_not_write_into_a_python_project_file(dss: Any, tmp_path: Path) -> None:
    root = write_config(tmp_path / "cfg", {"sales.py": SALES})
    run_cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    dss.client().get_project("SALES_PY").create_dataset("made_by_hand", "Filesystem",
                                                         params={"connection": "filesystem_managed", "path": "x"})
    refused = run_cli(dss, root, "import", "dataset.SALES_PY.made_by_hand", "-e", "dev", expect=1)
    assert "is written in Python (projects/sales.py)" in refused.stderr
    assert (root / "projects" / "sales.py").read_text(encoding="utf-8") == SALES
