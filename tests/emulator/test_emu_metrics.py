"""Dataset metrics computed on the stored rows (real dataikuapi over HTTP)."""

from __future__ import annotations

from emu_helpers import NOT_FOUND, dataset_with_rows, raises_dss


def test_default_probes_count_columns_and_records(dss_client):
    project = dss_client.create_project("MET", "Metrics", "admin")
    ds = dataset_with_rows(project, "sales", b"id,amount\n1,10\n2,\n3,5\n")
    settings = ds.get_settings()
    for probe in settings.get_raw()["metrics"]["probes"]:
        probe["enabled"] = True
    settings.save()
    report = ds.compute_metrics()
    assert {p["metric"]["id"] for p in report["computed"]} >= {"records:COUNT_RECORDS", "basic:COUNT_COLUMNS"}
    last = ds.get_last_metric_values()
    assert last.get_global_value("records:COUNT_RECORDS") == 3
    assert last.get_global_value("basic:COUNT_COLUMNS") == 2


def test_column_statistics_from_probes_and_ids(dss_client):
    project = dss_client.create_project("MET2", "Metrics", "admin")
    ds = dataset_with_rows(project, "sales", b"id,amount\n1,10\n2,\n3,5\n")
    probes = {
        "probes": [
            {
                "type": "col_stats",
                "enabled": True,
                "configuration": {
                    "aggregates": [
                        {"column": "amount", "aggregated": "MAX"},
                        {"column": "amount", "aggregated": "COUNT_NULL"},
                        {"column": "amount", "aggregated": "AVG"},
                    ]
                },
            }
        ]
    }
    ds.compute_metrics(probes=probes)
    last = ds.get_last_metric_values()
    assert last.get_global_value("col_stats:MAX:amount") == 10
    assert last.get_global_value("col_stats:COUNT_NULL:amount") == 1
    assert last.get_global_value("col_stats:AVG:amount") == 7.5
    ds.compute_metrics(metric_ids=["records:COUNT_RECORDS"])
    assert ds.get_last_metric_values().get_global_value("records:COUNT_RECORDS") == 3
    raises_dss(NOT_FOUND, lambda: project.get_dataset("nope").compute_metrics())
