"""Datasets hold rows: upload, format detection, iter_rows, copy_to, clear (real dataikuapi over HTTP)."""

from __future__ import annotations

import datetime
import io

import pytest
from dataikuapi.utils import DataikuException
from emu_helpers import NOT_FOUND, raises_dss

DATA_ERROR = "com.dataiku.dip.exceptions.DataStoreIOException"

CSV = b'id,name,score,born\n1,Ann,1.5,2020-01-02\n2,"Bob, Jr.",2,2021-03-04\n3,"tab\there",,\n'


@pytest.fixture
def project(dss_client):
    return dss_client.create_project("ROWS", "Rows", "admin")


def _uploaded(project, name="src", data=CSV, infer=True):
    ds = project.create_upload_dataset(name)
    ds.uploaded_add_file(io.BytesIO(data), "data.csv")
    ds.autodetect_settings(infer_storage_types=infer).save()
    return ds


def test_uploaded_csv_is_detected_and_read_back_typed(project):
    ds = _uploaded(project)
    assert [f["path"] for f in ds.uploaded_list_files()] == ["/data.csv"]
    schema = ds.get_schema()["columns"]
    assert [(c["name"], c["type"]) for c in schema] == [
        ("id", "bigint"),
        ("name", "string"),
        ("score", "double"),
        ("born", "dateonly"),
    ]
    rows = list(ds.iter_rows())
    assert rows[0] == [1, "Ann", 1.5, datetime.datetime(2020, 1, 2)]
    assert rows[1][:3] == [2, "Bob, Jr.", 2.0]
    assert rows[2] == [3, "tab\there", None, None]  # empty cells read as nothing


def test_detection_without_inference_types_every_column_string(project):
    ds = _uploaded(project, infer=False)
    assert {c["type"] for c in ds.get_schema()["columns"]} == {"string"}
    assert next(iter(ds.iter_rows())) == ["1", "Ann", "1.5", "2020-01-02"]


def test_iter_rows_selects_columns_in_the_order_asked(project):
    ds = _uploaded(project)
    assert list(ds.iter_rows(columns=["name", "id"])) == [["Ann", 1], ["Bob, Jr.", 2], ["tab\there", 3]]


def test_copy_to_a_managed_dataset_then_append_and_clear(project):
    src = _uploaded(project)
    dst = project.new_managed_dataset("copy").with_store_into("filesystem_managed").create()
    dst.set_schema({"columns": [{"name": "id", "type": "int"}]})
    assert list(dst.iter_rows()) == []  # never built: empty
    src.copy_to(dst).wait_for_result()
    assert dst.get_schema()["columns"] == src.get_schema()["columns"]  # syncSchema
    assert [r[0] for r in dst.iter_rows()] == [1, 2, 3]
    src.copy_to(dst, write_mode="APPEND").wait_for_result()
    assert sorted(r[0] for r in dst.iter_rows()) == [1, 1, 2, 2, 3, 3]
    dst.clear()
    assert list(dst.iter_rows()) == []


def test_rows_follow_a_rename_and_schema_changes_read_by_name(project):
    src = _uploaded(project)
    dst = project.new_managed_dataset("copy").with_store_into("filesystem_managed").create()
    src.copy_to(dst).wait_for_result()
    dst.rename("renamed")
    renamed = project.get_dataset("renamed")
    renamed.set_schema({"columns": [{"name": "name", "type": "string"}, {"name": "extra", "type": "int"}]})
    assert list(renamed.iter_rows()) == [["Ann", None], ["Bob, Jr.", None], ["tab\there", None]]


def test_a_csv_cell_its_column_type_cannot_hold_reads_as_nothing(project):
    """Issue 13: `warm` in a double column answered "Emulator internal error: ConversionException"
    (DuckDB turned the lenient cast into a strict one inside the CSV scan); DSS reads it as no value."""
    src = project.create_upload_dataset("temps")
    src.uploaded_add_file(io.BytesIO(b"temp,place\nwarm,a\n2.5,b\n"), "t.csv")
    settings = src.get_settings()
    settings.set_csv_format(separator=",", style="excel", header_row=True)
    settings.get_raw()["schema"] = {"columns": [{"name": "temp", "type": "double"}, {"name": "place", "type": "string"}],
                                    "userModified": True}
    settings.save()
    assert list(src.iter_rows()) == [[None, "a"], [2.5, "b"]]
    dst = project.new_managed_dataset("temps_copy").with_store_into("filesystem_managed").create()
    src.copy_to(dst, write_mode="OVERWRITE").wait_for_result()
    assert [r[1] for r in dst.iter_rows()] == ["a", "b"]


def test_data_errors_as_dss_reports_them(project):
    raises_dss(NOT_FOUND, lambda: list(project.get_dataset("nope").iter_rows()), "dataset does not exist")
    empty = project.create_upload_dataset("noschema")
    raises_dss(DATA_ERROR, lambda: list(empty.iter_rows()), "empty schema")
    target = project.create_upload_dataset("up")
    target.set_schema({"columns": [{"name": "a", "type": "string"}]})
    src = _uploaded(project)
    with pytest.raises(DataikuException, match="cannot be written"):
        src.copy_to(target).wait_for_result()


def test_rows_survive_a_restart(tmp_path):
    from dss_emulator.pytest_plugin import start_subprocess, stop_subprocess

    handle = start_subprocess(tmp_path)
    try:
        project = handle.client().create_project("KEEP", "Keep", "admin")
        dst = project.new_managed_dataset("copy").with_store_into("filesystem_managed").create()
        _uploaded(project).copy_to(dst).wait_for_result()
    finally:
        stop_subprocess(handle)
    handle = start_subprocess(tmp_path)
    try:
        again = handle.client().get_project("KEEP")
        assert [r[1] for r in again.get_dataset("copy").iter_rows()] == ["Ann", "Bob, Jr.", "tab\there"]
        assert len(list(again.get_dataset("src").iter_rows())) == 3  # the uploaded file is kept too
    finally:
        stop_subprocess(handle)
