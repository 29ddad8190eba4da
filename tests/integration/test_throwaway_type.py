"""Acceptance (issue 11): a resource type defined in one spec (tests/support/throwaway_type.py) and
registered with one line gets validate (file:line errors), plan, apply, drift, import and the state
commands, against the emulator through the real dataikuapi client, with no other file touched.

The type manages SQL notebooks, which no built-in type manages (flow zones are built in:
resources/flow_zone.py), so the two never observe the same objects.
The CLI runs in this process (click's runner), since the registration lives in this process.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml
from click.testing import CliRunner
from dataiku_iac.address import Address, AddressError
from dataiku_iac.cli.main import cli
from dataiku_iac.config.schema import load_schema
from dataiku_iac.resources.registry import find_spec, registered

from tests.support import throwaway_type
from tests.support.cli import write_config

KEY = "ZT"
PROJECT = f"""\
project:
  key: {KEY}
  name: Notebooks

throwaway_notebooks:
  - name: raw
    connection: pg_dw
    language: HIVE
  - name: clean
    connection: pg_dw
"""


@pytest.fixture
def notebook_type() -> Iterator[Any]:
    with registered(throwaway_type.SPEC) as spec:  # the one registration line
        yield spec


def run(dss: Any, root: Path, *args: str, expect: int = 0) -> str:
    """`dataiku-iac --no-color -C root ARGS` in this process; its exit code is asserted."""
    env = {"DKU_DSS_URL": dss.url, "DKU_API_KEY": dss.api_key, "NO_COLOR": "1"}
    result = CliRunner().invoke(cli, ["--no-color", "-C", str(root), *args], env=env, standalone_mode=False)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    code = result.exit_code if isinstance(result.exception, SystemExit) else (result.return_value or 0)
    assert code == expect, f"dataiku-iac {' '.join(args)} exited {code}:\n{result.output}"
    return result.output


def notebooks(dss: Any, key: str = KEY) -> dict[str, tuple[str, str]]:
    """name -> (language, connection) of the project's SQL notebooks in DSS."""
    return {n["name"]: (n.language, n.connection) for n in dss.client().get_project(key).list_sql_notebooks()}


def test_validate_reports_each_bad_item_at_its_file_and_line(dss, tmp_path, notebook_type) -> None:
    bad = PROJECT + "  - name: old\n    connection: pg\n    language: cobol\n  - name: wrong\n    connection: pg\n    language: s-q-l\n    shape: round\n"
    root = write_config(tmp_path / "cfg", {"notes.yml": bad})
    out = run(dss, root, "validate", "-e", "dev", "--offline", expect=1)
    assert re.search(r"projects/notes\.yml:13:5\b.*DSS has no cobol notebook", out), out  # the spec's build
    assert re.search(r"projects/notes\.yml:16:15\b.*a language is a word", out), out  # its schema fragment
    assert re.search(r"projects/notes\.yml:17:5\b.*shape", out), out
    good = write_config(tmp_path / "good", {"notes.yml": PROJECT})
    run(dss, good, "validate", "-e", "dev", "--offline")


def test_validate_reports_a_check_across_items_at_its_file_and_line(dss, tmp_path, notebook_type) -> None:
    """The spec's `check_items` sees the built items of one project's section and reports at file:line."""
    twice = PROJECT + "  - name: again\n    connection: pg_dw\n    language: hive\n  - name: other\n    connection: pg\n    language: hive\n"
    root = write_config(tmp_path / "cfg", {"notes.yml": twice})
    out = run(dss, root, "validate", "-e", "dev", "--offline", expect=1)
    assert re.search(r"projects/notes\.yml:13:5\b.*notebook again has the connection and language of notebook raw", out), out
    assert "has 1 problem" in out, out  # notebook other has a connection of its own


def test_plan_apply_drift_and_state_commands(dss, tmp_path, notebook_type) -> None:
    root = write_config(tmp_path / "cfg", {"notes.yml": PROJECT})
    plan = run(dss, root, "plan", "-e", "dev", "--detailed-exitcode", expect=2)
    assert "throwaway_notebook.ZT.raw" in plan and "throwaway_notebook.ZT.clean" in plan, plan
    run(dss, root, "apply", "-e", "dev", "--auto-approve")
    assert notebooks(dss) == {"raw": ("HIVE", "pg_dw"), "clean": ("SQL", "pg_dw")}
    assert run(dss, root, "plan", "-e", "dev", "--detailed-exitcode").strip().splitlines()[-1].startswith("No changes.")

    # Drift: a connection changed in DSS, and a notebook made there by hand.
    project = dss.client().get_project(KEY)
    raw_id = next(n.id for n in project.list_sql_notebooks() if n["name"] == "raw")
    content = project.get_sql_notebook(raw_id).get_content()
    content.connection = "pg_other"
    content.save()
    project.create_sql_notebook({"name": "by_hand", "connection": "pg"})
    drift = run(dss, root, "drift", "-e", "dev", expect=2)
    assert "throwaway_notebook.ZT.raw" in drift and "throwaway_notebook.ZT.by_hand" in drift, drift
    plan = run(dss, root, "plan", "-e", "dev", "--detailed-exitcode", expect=2)
    assert "connection" in plan and "pg_other" in plan, plan
    run(dss, root, "apply", "-e", "dev", "--auto-approve")
    assert notebooks(dss)["raw"] == ("HIVE", "pg_dw")

    # The state commands: list, show, mv (a notebook has a DSS id: renamed in DSS, its address follows), rm.
    listed = run(dss, root, "state", "list", "-e", "dev")
    assert "throwaway_notebook.ZT.raw" in listed and "throwaway_notebook.ZT.clean" in listed, listed
    shown = run(dss, root, "state", "show", "-e", "dev", "throwaway_notebook.ZT.raw")
    assert raw_id in shown and "hive" in shown, shown
    content = project.get_sql_notebook(raw_id).get_content()
    content.get_raw()["name"] = "landing"
    content.save()
    run(dss, root, "state", "mv", "-e", "dev", "throwaway_notebook.ZT.raw", "throwaway_notebook.ZT.landing")
    (root / "projects" / "notes.yml").write_text(PROJECT.replace("name: raw", "name: landing"), encoding="utf-8")
    assert run(dss, root, "plan", "-e", "dev", "--detailed-exitcode").strip().splitlines()[-1].startswith("No changes.")
    run(dss, root, "state", "rm", "-e", "dev", "throwaway_notebook.ZT.clean")
    assert "throwaway_notebook.ZT.clean" not in run(dss, root, "state", "list", "-e", "dev")
    assert "clean" in notebooks(dss)  # rm forgets, DSS keeps it


def test_import_writes_the_type_and_plans_no_changes(dss, tmp_path, notebook_type) -> None:
    client = dss.client()
    project = client.create_project("ZI", "Imported notebooks", "admin")
    project.create_sql_notebook({"name": "landing", "connection": "pg", "language": "IMPALA"})
    project.create_sql_notebook({"name": "plain", "connection": "pg"})
    root = write_config(tmp_path / "cfg", {})
    run(dss, root, "import", "project", "ZI", "-e", "dev")
    written = yaml.safe_load((root / "projects" / "zi.yml").read_text(encoding="utf-8"))
    assert written["throwaway_notebooks"] == [
        {"name": "landing", "connection": "pg", "language": "impala"}, {"name": "plain", "connection": "pg"}
    ]
    listed = run(dss, root, "state", "list", "-e", "dev")
    assert "throwaway_notebook.ZI.landing" in listed and "throwaway_notebook.ZI.plain" in listed, listed
    assert run(dss, root, "plan", "-e", "dev", "--detailed-exitcode").strip().splitlines()[-1].startswith("No changes.")


def test_import_of_an_upper_case_language_plans_no_changes(dss, tmp_path, notebook_type) -> None:
    """DSS keeps a language in upper case ("HIVE"): to_logical normalises it as build does, or the
    imported file's language would differ from DSS's on every plan."""
    client = dss.client()
    client.create_project("ZC", "Hive notebooks", "admin").create_sql_notebook({"name": "upper", "connection": "h", "language": "HIVE"})
    root = write_config(tmp_path / "cfg", {})
    run(dss, root, "import", "project", "ZC", "-e", "dev")
    written = yaml.safe_load((root / "projects" / "zc.yml").read_text(encoding="utf-8"))
    assert written["throwaway_notebooks"] == [{"name": "upper", "connection": "h", "language": "hive"}]
    assert run(dss, root, "plan", "-e", "dev", "--detailed-exitcode").strip().splitlines()[-1].startswith("No changes.")


def test_import_of_a_free_text_name_never_writes_an_invalid_file(dss, tmp_path, notebook_type) -> None:
    """DSS notebook names are free text; the schema's names are not: to_config returns None, the
    notebook is reported as not expressible and stays unmanaged, and the written file validates."""
    client = dss.client()
    project = client.create_project("ZN", "Named notebooks", "admin")
    project.create_sql_notebook({"name": "Plain Notebook", "connection": "pg"})
    project.create_sql_notebook({"name": "kept", "connection": "pg"})
    root = write_config(tmp_path / "cfg", {})
    output = run(dss, root, "import", "project", "ZN", "-e", "dev")
    assert "not imported (not expressible in the config yet): throwaway_notebook Plain Notebook" in output, output
    written = yaml.safe_load((root / "projects" / "zn.yml").read_text(encoding="utf-8"))
    assert written["throwaway_notebooks"] == [{"name": "kept", "connection": "pg"}]
    run(dss, root, "validate", "-e", "dev", "--offline")
    assert "Plain Notebook" not in run(dss, root, "state", "list", "-e", "dev")
    assert run(dss, root, "plan", "-e", "dev", "--detailed-exitcode").strip().splitlines()[-1].startswith("No changes.")
    assert "Plain Notebook" in notebooks(dss, "ZN")  # left alone in DSS


def test_the_registration_ends_with_its_block() -> None:
    with registered(throwaway_type.SPEC):
        assert Address.parse("throwaway_notebook.ZT.raw").type == "throwaway_notebook"
        assert "throwaway_notebooks" in load_schema("project")["properties"]
    assert find_spec("throwaway_notebook") is None
    assert "throwaway_notebooks" not in load_schema("project")["properties"]
    with pytest.raises(AddressError):
        Address.parse("throwaway_notebook.ZT.raw")
