"""Every documented dataset format applies and reads back, or `validate` refuses it with its place.

DSS writes a managed dataset in csv, parquet, avro or orc only (the format options dataikuapi
documents: docs/emulator.md, "Managed dataset formats"). Other formats (json, excel, xml...) are
for datasets reading existing files: a managed dataset declaring one is refused by `validate`,
naming file, line and field and listing the valid formats, before anything reaches DSS.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.helpers import assert_no_changes, run_cli, write_config, writes_since

MANAGED_FORMATS = ("csv", "parquet", "avro", "orc")
FILE_FORMATS = ("csv", "parquet", "avro", "orc", "json", "excel", "xml")


def _project(managed: tuple, files: tuple) -> str:
    lines = ["project:\n  key: FMT\n  name: Formats\n\ndatasets:\n"]
    lines += [f"  - name: managed_{f}\n    type: managed\n    format: {f}\n" for f in managed]
    lines += [
        f"  - name: files_{f}\n    type: filesystem\n    connection: filesystem_managed\n    path: /landing/{f}\n    format: {f}\n"
        for f in files
    ]
    return "".join(lines)


def test_every_valid_format_applies_and_reads_back(dss: Any, tmp_path: Path) -> None:
    root = write_config(tmp_path / "cfg", {"fmt.yml": _project(MANAGED_FORMATS, FILE_FORMATS)})
    run_cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    project = dss.client().get_project("FMT")
    formats = {d["name"]: d["formatType"] for d in project.list_datasets()}
    assert formats == {
        **{f"managed_{f}": f for f in MANAGED_FORMATS},
        **{f"files_{f}": f for f in FILE_FORMATS},
    }
    before = dss.admin.stats()["requests"]
    assert_no_changes(dss, root)
    assert writes_since(dss, before) == []
    report = run_cli(dss, root, "drift", "-e", "dev", "--json").json()
    assert report["drift"] is False, report


@pytest.mark.parametrize("fmt", ["json", "excel", "xml", "JSON", "xlsx"])
def test_a_managed_dataset_in_a_format_dss_cannot_write_is_refused_by_validate(
    dss: Any, tmp_path: Path, fmt: str
) -> None:
    root = write_config(tmp_path / "cfg", {"fmt.yml": _project(("csv", fmt), ())})
    before = dss.admin.stats()["requests"]
    for command in ("validate", "plan"):
        result = run_cli(dss, root, command, "-e", "dev", expect=1)
        line = f"projects/fmt.yml:11:13: error: datasets[1].format: DSS stores a managed dataset as csv, parquet, avro or orc only (got '{fmt}')"
        assert line in result.output, str(result)
    assert dss.admin.stats()["requests"] == before  # refused before any request to DSS
    assert "FMT" not in dss.client().list_project_keys()


def test_every_bad_format_is_reported_at_once_with_its_place(dss: Any, tmp_path: Path) -> None:
    """A default in iac.yml, two datasets and an environment override: four errors in one run."""
    iac = "version: 1\ndefaults:\n  dataset:\n    connection: filesystem_managed\n    format: json\n"
    env = 'dss:\n  api_key_env: DKU_API_KEY\noverrides:\n  "dataset.FMT.managed_csv":\n    format: excel\n'
    project = _project(("csv", "xml", "orc"), ("json",)).replace("    format: orc\n", "    format: ORC\n")
    root = write_config(tmp_path / "cfg", {"fmt.yml": project}, iac=iac, env=env)
    result = run_cli(dss, root, "validate", "-e", "dev", expect=1)
    wanted = [
        "iac.yml:5:13: error: defaults.dataset.format: DSS stores a managed dataset as csv, parquet, avro or orc only (got 'json')",
        "datasets[1].format: DSS stores a managed dataset as csv, parquet, avro or orc only (got 'xml')",
        "datasets[2].format: DSS stores a managed dataset as csv, parquet, avro or orc only (got 'ORC') (did you mean 'orc'?)",
        "format: DSS stores a managed dataset as csv, parquet, avro or orc only (got 'excel')",
    ]
    for text in wanted:
        assert text in result.output, str(result)
    assert "files_json" not in result.output  # a filesystem dataset reads json files: fine


def _format_change_project(old: str, new: str, params: dict) -> tuple[str, str]:
    """Managed dataset D declared in `old` (with a csv separator when old is csv), then in `new` with `params`."""
    before = "project:\n  key: FMTCHG\n  name: Format change\n\ndatasets:\n  - name: D\n    type: managed\n"
    first = f"    format: {old}\n" + ("    format_params: {separator: '|', style: excel}\n" if old == "csv" else "")
    second = f"    format: {new}\n    format_params: {json.dumps(params)}\n"
    return before + first, before + second


@pytest.mark.parametrize(
    "old,new,params",
    [("csv", "avro", {}), ("avro", "parquet", {}), ("parquet", "csv", {"separator": ";"}), ("csv", "orc", {})],
)
def test_changing_a_managed_datasets_format_drops_the_old_formats_params_and_warns_about_the_data(
    dss: Any, tmp_path: Path, old: str, new: str, params: dict
) -> None:
    """DSS keeps only the format's own params (the parquet sample has only parquet keys; dataikuapi's
    set_format replaces formatParams); the files already written stay in the old format."""
    before, after = _format_change_project(old, new, params)
    root = write_config(tmp_path / "cfg", {"fmt.yml": before})
    run_cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    (root / "projects" / "fmt.yml").write_text(after, encoding="utf-8")

    text = run_cli(dss, root, "plan", "-e", "dev").stdout
    assert f'~ format = "{old}" -> "{new}"' in text, text
    warning = (
        f"dataset.FMTCHG.D: the format changes from {old} to {new}, but the data DSS already stored for it "
        f"stays in {old}: rebuild the dataset (or clear its data) after this apply, before anything reads it"
    )
    assert f"Warning: {warning}" in text, text
    assert warning in run_cli(dss, root, "plan", "-e", "dev", "--json").json()["warnings"]

    run_cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    doc = dss.client().get_project("FMTCHG").get_dataset("D").get_settings().get_raw()
    assert doc["formatType"] == new
    assert doc["formatParams"] == params  # nothing of the old format's params left
    assert_no_changes(dss, root)
    assert "format changes" not in run_cli(dss, root, "plan", "-e", "dev").stdout


SQL_PROJECT = """project:
  key: FMTSQL
  name: Formats on SQL

datasets:
  - name: on_sql
    type: managed
    connection: postgres_dw
    format: parquet
  - name: params_on_sql
    type: managed
    connection: postgres_dw
    format_params: {separator: ";"}
  - name: plain_sql
    type: managed
    connection: postgres_dw
  - name: overridden
    type: managed
    connection: postgres_dw
  - name: lost
    type: managed
    connection: no_such_connection
"""
SQL_ENV = 'dss:\n  api_key_env: DKU_API_KEY\noverrides:\n  "dataset.FMTSQL.overridden":\n    format: csv\n'


@pytest.mark.parametrize("command", ["validate", "plan"])
def test_a_format_on_a_managed_sql_dataset_is_refused_at_its_line_with_the_other_dss_checks(
    dss: Any, tmp_path: Path, command: str
) -> None:
    """DSS stores a managed dataset on a SQL connection as a table: no file format. Only the target
    knows the connection's type, so it is a DSS-side check, reported with the missing connection."""
    root = write_config(tmp_path / "cfg", {"fmt.yml": SQL_PROJECT}, env=SQL_ENV)
    before = dss.admin.stats()["requests"]
    result = run_cli(dss, root, command, "-e", "dev", expect=1)
    sql = "is a managed dataset on PostgreSQL connection 'postgres_dw': DSS stores it as a SQL table, which has no file format"
    expected = [
        f"projects/fmt.yml:9:13: error: datasets[0].format: dataset.FMTSQL.on_sql {sql} (format would be ignored)",
        f"projects/fmt.yml:13:20: error: datasets[1].format_params: dataset.FMTSQL.params_on_sql {sql} (format_params would be ignored)",
        f'environments/dev.yml:5:13: error: overrides["dataset.FMTSQL.overridden"].format: dataset.FMTSQL.overridden {sql}',
        "projects/fmt.yml:22:17: error: datasets[4].connection: connection 'no_such_connection' does not exist",
    ]
    for line in expected:
        assert line in result.output, str(result)
    assert "the configuration has 4 problems" in result.output
    assert "plain_sql" not in result.output  # a managed SQL dataset without a format is fine
    assert "remove format and format_params, or store the dataset on a file-based connection" in result.output
    assert writes_since(dss, before) == []


def test_a_default_format_on_a_default_sql_connection_is_refused_at_the_default(dss: Any, tmp_path: Path) -> None:
    iac = "version: 1\ndefaults:\n  dataset:\n    connection: postgres_dw\n    format: parquet\n"
    project = "project:\n  key: FMTDEF\n  name: Defaults\n\ndatasets:\n  - name: D\n    type: managed\n"
    root = write_config(tmp_path / "cfg", {"fmt.yml": project}, iac=iac)
    result = run_cli(dss, root, "plan", "-e", "dev", expect=1)
    line = "iac.yml:5:13: error: defaults.dataset.format: dataset.FMTDEF.D is a managed dataset on PostgreSQL connection"
    assert line in result.output, str(result)


SUBSET_BEFORE = """project:
  key: FMTSUB
  name: Subsets

datasets:
  - name: D
    type: managed
    format: csv
    format_params: {separator: ";", style: excel}
    params: {notReadyIfEmpty: true}
"""


def test_format_params_and_params_manage_only_the_declared_keys_and_a_removed_key_keeps_its_value(
    dss: Any, tmp_path: Path
) -> None:
    """docs/config-reference.md: keys DSS adds are ignored; a key removed from the config stops
    being managed (DSS keeps its value, the plan shows nothing); a declared key is enforced."""
    root = write_config(tmp_path / "cfg", {"fmt.yml": SUBSET_BEFORE})
    run_cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    dataset = dss.client().get_project("FMTSUB").get_dataset("D")

    def edit_in_dss(format_params: dict, params: dict) -> None:
        settings = dataset.get_settings()
        settings.get_raw()["formatParams"].update(format_params)
        settings.get_raw()["params"].update(params)
        settings.save()

    edit_in_dss({"quoteChar": "'"}, {"filesSelectionRules": {"mode": "ALL", "excludeRules": ["x"]}})  # never declared
    assert_no_changes(dss, root)
    assert run_cli(dss, root, "drift", "-e", "dev", "--json").json()["drift"] is False

    # separator and notReadyIfEmpty leave the config: DSS keeps them, nothing to apply
    after = SUBSET_BEFORE.replace('separator: ";", ', "").replace("    params: {notReadyIfEmpty: true}\n", "")
    (root / "projects" / "fmt.yml").write_text(after, encoding="utf-8")
    assert_no_changes(dss, root)
    run_cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    raw = dataset.get_settings().get_raw()
    assert raw["formatParams"]["separator"] == ";" and raw["params"]["notReadyIfEmpty"] is True
    edit_in_dss({"separator": ","}, {"notReadyIfEmpty": False})  # no longer managed: no difference
    assert_no_changes(dss, root)

    edit_in_dss({"style": "unix"}, {})  # still declared: the plan puts it back
    text = run_cli(dss, root, "plan", "-e", "dev").stdout
    assert "~ format_params" in text and '"unix"' in text and '"excel"' in text, text
    run_cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    raw = dataset.get_settings().get_raw()
    assert raw["formatParams"]["style"] == "excel" and raw["formatParams"]["separator"] == ","
    assert raw["formatParams"]["quoteChar"] == "'"
    assert_no_changes(dss, root)
