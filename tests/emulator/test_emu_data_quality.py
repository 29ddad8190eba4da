"""Data-quality rules created, computed on the stored rows and read back (real dataikuapi over HTTP)."""

from __future__ import annotations

from emu_helpers import dataset_with_rows

BASE = {"enabled": True, "autoRun": False, "computeOnBuildMode": "PARTITION"}


def test_rules_computed_on_rows(dss_client):
    project = dss_client.create_project("DQ", "Quality", "admin")
    ds = dataset_with_rows(project, "orders", b"id,status,amount\n1,ok,10\n1,,-1\n3,ko,5\n")
    rules = ds.get_data_quality_rules()
    made = {
        "not_empty": rules.create_rule({**BASE, "type": "ColumnNotEmptyRule", "columns": ["status"]}),
        "unique": rules.create_rule({**BASE, "type": "ColumnUniqueValuesRule", "columns": ["id"]}),
        "in_set": rules.create_rule(
            {**BASE, "type": "ValuesInSetRule", "columns": ["status"], "valueSet": ["ok", "ko"]}
        ),
        "range": rules.create_rule(
            {**BASE, "type": "ValuesInRangeRule", "columns": ["amount"], "minimum": 0, "minimumEnabled": True}
        ),
        "count": rules.create_rule(
            {
                **BASE,
                "type": "RecordCountInRangeRule",
                "minimum": 1,
                "minimumEnabled": True,
                "maximum": 10,
                "maximumEnabled": True,
            }
        ),
    }
    assert len(rules.list_rules()) == 5
    rules.compute_rules().wait_for_result()
    outcomes = {r.id: r.outcome for r in rules.get_last_rules_results()}
    assert {name: outcomes[rule.id] for name, rule in made.items()} == {
        "not_empty": "ERROR",
        "unique": "ERROR",
        "in_set": "OK",
        "range": "ERROR",
        "count": "OK",
    }
    assert made["unique"].get_last_result().message == "1 duplicate value(s) in id"
    assert rules.get_status()["outcome"] == "ERROR"
    made["range"].delete()
    assert len(rules.list_rules()) == 4
    assert made["range"].id not in {r.id for r in rules.get_last_rules_results()}
