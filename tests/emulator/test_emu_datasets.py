"""Datasets: managed (Filesystem csv/parquet, SQL), generic, settings, schema, metadata, rename, delete."""

from __future__ import annotations

import pytest
from dss_emulator import defaults
from emu_helpers import ILLEGAL_ARGUMENT, NOT_FOUND, raises_dss


@pytest.fixture
def project(dss_client):
    return dss_client.create_project("DS", "Datasets", "admin")


def test_managed_filesystem_csv_gets_dss_defaults(project):
    ds = project.new_managed_dataset("TEST_DATA").with_store_into("filesystem_managed").create()
    raw = ds.get_settings().get_raw()
    assert raw["type"] == "Filesystem" and raw["managed"] is True
    assert raw["params"]["connection"] == "filesystem_managed"
    assert raw["params"]["path"] == "${projectKey}/TEST_DATA"
    assert raw["params"]["filesSelectionRules"]["mode"] == "ALL"
    # No format option: gzip CSV, unix style, as every recent filesystem sample (findings section 5).
    assert raw["formatType"] == "csv"
    assert raw["formatParams"]["style"] == "unix" and raw["formatParams"]["compress"] == "gz"
    assert raw["formatParams"] == defaults.load("format_csv_unix_gzip.json")  # the DSS 8 export's
    for key in (
        "metrics",
        "metricsChecks",
        "flowOptions",
        "readWriteOptions",
        "partitioning",
        "customMeta",
        "checklists",
        "schema",
        "dkuProperties",
        "customFields",
    ):
        assert key in raw, key
    assert raw["metrics"]["probes"][0]["type"] == "basic"
    assert raw["creationTag"]["versionNumber"] == 0 and raw["versionTag"]["versionNumber"] == 1
    assert raw["versionTag"]["lastModifiedBy"]["login"] == "admin"


def test_managed_parquet_format(project):
    ds = (
        project.new_managed_dataset("PQ")
        .with_store_into("filesystem_managed", format_option_id="PARQUET_HIVE")
        .create()
    )
    raw = ds.get_settings().get_raw()
    assert raw["formatType"] == "parquet" and raw["formatParams"]["parquetCompressionMethod"] == "SNAPPY"


@pytest.mark.parametrize(
    ("option", "format_type", "style"),
    [
        ("CSV_ESCAPING_NOGZIP_FORHIVE", "csv", "escape_only_no_quote"),
        ("CSV_UNIX_GZIP", "csv", "unix"),
        ("CSV_EXCEL_GZIP", "csv", "excel"),
        ("CSV_EXCEL_GZIP_BIGQUERY", "csv", "excel"),
        ("CSV_NOQUOTING_NOGZIP_FORPIG", "csv", "escape_only_no_quote"),
        ("PARQUET_HIVE", "parquet", None),
        ("AVRO", "avro", None),
        ("ORC", "orc", None),
    ],
)
def test_every_documented_format_option(project, option, format_type, style):
    """The format options dataikuapi documents for new managed datasets (dss/recipe.py)."""
    ds = (
        project.new_managed_dataset("f")
        .with_store_into("filesystem_managed", format_option_id=option)
        .create()
    )
    raw = ds.get_settings().get_raw()
    assert raw["formatType"] == format_type
    assert raw["formatParams"].get("style") == style


@pytest.mark.parametrize("option", ["JSON", "excel", "csv", "parquet", "XLSX"])
def test_unknown_format_options_are_refused(project, option):
    raises_dss(
        ILLEGAL_ARGUMENT,
        lambda: (
            project.new_managed_dataset("f")
            .with_store_into("filesystem_managed", format_option_id=option)
            .create()
        ),
        f"Unknown format option '{option}'.*CSV_UNIX_GZIP",
    )
    assert project.list_datasets() == []


def test_default_format_of_cloud_and_hadoop_stores_is_hive_csv(dss, project):
    dss.admin.seed(connections=[{"name": "s3_managed", "type": "EC2"}])
    raw = project.new_managed_dataset("s3").with_store_into("s3_managed").create().get_settings().get_raw()
    assert raw["formatParams"]["style"] == "escape_only_no_quote" and raw["formatParams"]["compress"] == ""


def test_managed_sql_table(project):
    ds = project.new_managed_dataset("orders").with_store_into("postgres_dw").create()
    raw = ds.get_settings().get_raw()
    assert raw["type"] == "PostgreSQL" and raw["managed"] is True
    params = raw["params"]
    assert params["table"] == "${projectKey}_orders" and params["mode"] == "table"
    assert params["writeInsertBatchSize"] == 10000 and params["tableCreationMode"] == "auto"
    assert "formatType" not in raw
    assert type(ds.get_settings()).__name__ == "SQLDatasetSettings"


def test_managed_unknown_connection_and_format(project):
    raises_dss(
        ILLEGAL_ARGUMENT,
        lambda: project.new_managed_dataset("X").with_store_into("nope").create(),
        "Connection 'nope' does not exist",
    )
    raises_dss(
        ILLEGAL_ARGUMENT,
        lambda: (
            project.new_managed_dataset("X")
            .with_store_into("filesystem_managed", format_option_id="xlsx")
            .create()
        ),
        "format",
    )


def test_generic_sql_and_fs_datasets(project):
    project.create_sql_table_dataset("ext", "PostgreSQL", "postgres_dw", "customers", "public")
    raw = project.get_dataset("ext").get_settings().get_raw()
    assert (
        raw["managed"] is False
        and raw["params"]["table"] == "customers"
        and raw["params"]["schema"] == "public"
    )
    assert raw["params"]["tableCreationMode"] == "auto"
    project.create_filesystem_dataset("files", "filesystem_managed", "some/path")
    assert project.get_dataset("files").get_settings().get_raw()["params"]["path"] == "some/path"
    up = project.create_upload_dataset("uploaded")
    assert up.get_settings().get_raw()["type"] == "UploadedFiles"
    raises_dss(
        ILLEGAL_ARGUMENT, lambda: project.create_sql_table_dataset("e2", "PostgreSQL", "nope", "t", "s")
    )


def test_duplicate_and_invalid_names(project):
    project.new_managed_dataset("d").with_store_into("filesystem_managed").create()
    raises_dss(
        ILLEGAL_ARGUMENT,
        lambda: project.new_managed_dataset("d").with_store_into("filesystem_managed").create(),
        "already exists",
    )
    raises_dss(
        ILLEGAL_ARGUMENT,
        lambda: project.create_dataset("bad name", "Filesystem", params={"connection": "filesystem_managed"}),
    )
    raises_dss(
        ILLEGAL_ARGUMENT,
        lambda: project.create_dataset("x-y", "Filesystem", params={"connection": "filesystem_managed"}),
    )


def test_list_returns_full_documents_and_filters_tags(project):
    project.new_managed_dataset("a").with_store_into("filesystem_managed").create()
    b = project.new_managed_dataset("b").with_store_into("filesystem_managed").create()
    md = b.get_metadata()
    md["tags"] = ["gold"]
    b.set_metadata(md)
    items = project.list_datasets(as_type="objects")
    assert sorted(d.name for d in items) == ["a", "b"]
    raw = project.list_datasets()
    assert all("formatParams" in d and "versionTag" in d for d in raw)
    assert [d["name"] for d in project.list_datasets(tags=["gold"])] == ["b"]


def test_save_bumps_version_even_without_change(project):
    ds = project.new_managed_dataset("v").with_store_into("filesystem_managed").create()
    settings = ds.get_settings()
    first = settings.get_raw()["versionTag"]
    settings.save()
    settings = ds.get_settings()
    second = settings.get_raw()["versionTag"]
    assert second["versionNumber"] == first["versionNumber"] + 1
    assert second["lastModifiedOn"] > first["lastModifiedOn"]
    assert settings.get_raw()["creationTag"]["versionNumber"] == 0


def test_put_cannot_change_identity_and_checks_connection(project):
    ds = project.new_managed_dataset("keep").with_store_into("filesystem_managed").create()
    settings = ds.get_settings()
    settings.get_raw()["name"] = "other"
    settings.get_raw()["projectKey"] = "OTHER"
    settings.get_raw()["description"] = "changed"
    settings.save()
    raw = project.get_dataset("keep").get_settings().get_raw()
    assert raw["name"] == "keep" and raw["projectKey"] == "DS" and raw["description"] == "changed"
    settings = ds.get_settings()
    settings.get_raw()["params"]["connection"] = "missing_conn"
    raises_dss(ILLEGAL_ARGUMENT, settings.save, "missing_conn")


def test_schema_and_metadata(project):
    ds = project.new_managed_dataset("s").with_store_into("filesystem_managed").create()
    ds.set_schema({"columns": [{"name": "a", "type": "string"}, {"name": "b", "type": "bigint"}]})
    assert [c["name"] for c in ds.get_schema()["columns"]] == ["a", "b"]
    md = ds.get_metadata()
    assert md["label"] == "s" and md["custom"] == {"kv": {}}
    md["custom"]["kv"]["owner"] = "team"
    ds.set_metadata(md)
    assert ds.get_settings().get_raw()["customMeta"]["kv"]["owner"] == "team"


def test_missing_dataset(project):
    ds = project.get_dataset("missing")
    raises_dss(NOT_FOUND, ds.get_settings)
    raises_dss(NOT_FOUND, ds.get_metadata)
    raises_dss(NOT_FOUND, ds.delete)
    assert ds.exists() is False


def test_rename_updates_recipe_refs_and_delete_keeps_others(project):
    project.new_managed_dataset("src").with_store_into("filesystem_managed").create()
    project.new_recipe("sync", "sync_it").with_input("src").with_new_output(
        "dst", "filesystem_managed"
    ).create()
    project.get_dataset("src").rename("src2")
    recipe = project.get_recipe("sync_it").get_settings()
    assert recipe.get_flat_input_refs() == ["src2"]
    project.get_dataset("dst").delete()
    assert [r["name"] for r in project.list_recipes()] == ["sync_it"]
    assert [d["name"] for d in project.list_datasets()] == ["src2"]
