"""The ephemeral environment made from the user's: suffixed keys, its own local state, every
dataset managed (no test reads or writes data outside its projects)."""

from __future__ import annotations

from dataiku_iac.testing.isolation import ephemeral_environment, key_suffix, owner_digest


def test_the_test_environment_suffixes_keys_owns_its_state_and_manages_every_dataset() -> None:
    user = {
        "project_key": {"prefix": "DEV_", "suffix": "_X"},
        "state": {"backend": "s3", "bucket": "prod-state"},
        "policies": {"allow_destroy": False, "require_saved_plan": True, "drift": "warn"},
        "overrides": {"dataset.SALES.orders_raw": {"description": "raw", "table": "orders_v2"}},
        "connections": {"postgres_dw": "pg_dev"},
    }
    datasets = {"SALES": [
        {"name": "orders_raw", "type": "sql_table", "connection": "postgres_dw", "table": "orders", "schema_name": "public",
         "description": "Raw", "zone": "ingestion"},
        {"name": "orders_clean", "type": "managed", "format": "parquet"},
        {"name": "export", "type": "managed", "connection": "postgres_dw"},
        {"name": "files", "type": "filesystem", "path": "/data/in", "format": "csv"},
    ]}
    user["overrides"]["scenario.SALES.NIGHTLY"] = {"active": True, "name": "Nightly"}
    env = ephemeral_environment(user, "ab12cd34", datasets, {"SALES": ["NIGHTLY", "WEEKLY"]})
    assert env["project_key"] == {"prefix": "DEV_", "suffix": "_X_TAB12CD34"}
    assert env["state"] == {"backend": "local", "path": ".dataiku-iac/state"}
    assert env["policies"] == {"allow_destroy": True, "require_saved_plan": False, "drift": "warn"}
    assert env["connections"] == {"postgres_dw": "pg_dev"}
    assert env["overrides"] == {
        "dataset.SALES.orders_raw": {"connection": None, "table": None, "schema_name": None, "description": "raw", "type": "managed"},
        "dataset.SALES.export": {"connection": None, "type": "managed"},
        "dataset.SALES.files": {"path": None, "format": None, "type": "managed"},
        "scenario.SALES.NIGHTLY": {"active": False, "name": "Nightly"},
        "scenario.SALES.WEEKLY": {"active": False},
    }
    assert user["policies"]["allow_destroy"] is False  # the user's data is not changed in place
    assert key_suffix("ab12cd34") == "_TAB12CD34"
    assert owner_digest("dev", ["B", "A"]) == owner_digest("dev", ["A", "B"]) != owner_digest("prod", ["A", "B"])
