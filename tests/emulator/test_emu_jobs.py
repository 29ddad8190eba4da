"""Jobs build datasets: sync, SQL query, grouping and join recipes run on the stored rows (DuckDB),
per build mode; failures as DSS reports them (real dataikuapi over HTTP)."""

from __future__ import annotations

import pytest
from dataikuapi.utils import DataikuException
from emu_helpers import dataset_with_rows, sorted_rows

ORDERS = b"id,customer,amount\n1,ann,10\n2,bob,5\n3,ann,7\n4,cid,1\n"
CUSTOMERS = b"customer,country\nann,FR\nbob,DE\n"


@pytest.fixture
def project(dss_client):
    p = dss_client.create_project("JOBS", "Jobs", "admin")
    dataset_with_rows(p, "orders", ORDERS)
    dataset_with_rows(p, "customers", CUSTOMERS)
    return p


def _sync(project, name, source, output):
    return (
        project.new_recipe("sync", name)
        .with_input(source)
        .with_new_output(output, "filesystem_managed")
        .create()
    )


def test_sync_builds_its_output_with_the_input_schema(project):
    _sync(project, "copy", "orders", "orders_copy")
    job = project.get_dataset("orders_copy").build()
    assert job.get_status()["baseStatus"]["state"] == "DONE"
    assert sorted_rows(project, "orders_copy") == sorted_rows(project, "orders")
    assert (
        project.get_dataset("orders_copy").get_schema()["columns"]
        == project.get_dataset("orders").get_schema()["columns"]
    )
    log = job.get_log()
    assert "Running recipe copy" in log and "Wrote 4 row(s) to orders_copy" in log


def test_sql_query_reads_inputs_by_their_table_names(project):
    recipe = (
        project.new_recipe("sql_query", "q")
        .with_input("orders")
        .with_new_output("big", "filesystem_managed")
        .create()
    )
    settings = recipe.get_settings()
    settings.set_payload(
        "SELECT customer, sum(amount) AS total FROM orders GROUP BY customer HAVING sum(amount) > 5;"
    )
    settings.save()
    recipe.run()
    assert sorted_rows(project, "big") == [["ann", 17]]
    assert [(c["name"], c["type"]) for c in project.get_dataset("big").get_schema()["columns"]] == [
        ("customer", "string"),
        ("total", "bigint"),
    ]


def test_sql_query_on_sql_datasets_names_the_connection_table(project):
    table_in = project.new_managed_dataset("t_in").with_store_into("postgres_dw").create()
    project.get_dataset("orders").copy_to(table_in).wait_for_result()
    recipe = (
        project.new_recipe("sql_query", "q2")
        .with_input("t_in")
        .with_new_output("t_out", "postgres_dw")
        .create()
    )
    settings = recipe.get_settings()
    settings.set_payload('SELECT count(*) AS n FROM "${projectKey}_t_in"')
    settings.save()
    recipe.run()
    assert sorted_rows(project, "t_out") == [[4]]


def test_grouping_keys_aggregations_count_and_renames(project):
    recipe = (
        project.new_recipe("grouping", "grp")
        .with_input("orders")
        .with_new_output("by_customer", "filesystem_managed")
        .with_group_key("customer")
        .create()
    )
    settings = recipe.get_settings()
    payload = settings.get_json_payload()
    payload["values"] = [{"column": "amount", "sum": True, "max": True, "type": "bigint"}]
    payload["globalCount"] = True
    payload["outputColumnNameOverrides"] = {"amount_sum": "total"}
    settings.set_json_payload(payload)
    settings.save()
    recipe.run()
    schema = [c["name"] for c in project.get_dataset("by_customer").get_schema()["columns"]]
    assert schema == ["customer", "amount_max", "total", "count"]
    assert sorted_rows(project, "by_customer") == [["ann", 10, 17, 2], ["bob", 5, 5, 1], ["cid", 1, 1, 1]]


def test_join_left_with_selected_columns(project):
    recipe = (
        project.new_recipe("join", "jn")
        .with_input("orders")
        .with_input("customers")
        .with_new_output("joined", "filesystem_managed")
        .create()
    )
    settings = recipe.get_settings()
    payload = settings.get_json_payload()
    payload["joins"] = [
        {
            "table1": 0,
            "table2": 1,
            "type": "LEFT",
            "conditionsMode": "AND",
            "on": [
                {
                    "column1": {"name": "customer", "table": 0},
                    "column2": {"name": "customer", "table": 1},
                    "type": "EQ",
                }
            ],
        }
    ]
    settings.set_json_payload(payload)
    settings.save()
    recipe.run()
    assert [c["name"] for c in project.get_dataset("joined").get_schema()["columns"]] == [
        "id",
        "customer",
        "amount",
        "country",
    ]
    assert sorted_rows(project, "joined") == [
        [1, "ann", 10, "FR"],
        [2, "bob", 5, "DE"],
        [3, "ann", 7, "FR"],
        [4, "cid", 1, ""],
    ]  # null reads as "" (dataikuapi casts strings as is)


def test_build_modes_recursive_smart_and_non_recursive(project):
    _sync(project, "s1", "orders", "step1")
    _sync(project, "s2", "step1", "step2")
    # Non-recursive: only the target's recipe runs; its input was never built (no schema): it fails.
    failed = project.new_job("NON_RECURSIVE_FORCED_BUILD").with_output("step2").start_and_wait(no_fail=True)
    assert failed.get_status()["baseStatus"]["state"] == "FAILED"
    assert "step1 has an empty schema" in failed.get_log()
    # Recursive: the upstream recipe runs first.
    job = project.new_job("RECURSIVE_BUILD").with_output("step2").start_and_wait()
    assert len(sorted_rows(project, "step2")) == 4
    assert set(job.get_status()["baseStatus"]["activities"]) == {"compute_step1_NP", "compute_step2_NP"}
    # Smart: nothing changed, nothing runs.
    again = project.new_job("RECURSIVE_BUILD").with_output("step2").start_and_wait()
    assert again.get_status()["baseStatus"]["activities"] == {}
    assert "Nothing to do" in again.get_log()
    # A change upstream makes it run again; forced builds always run everything.
    dataset_with_rows(project, "orders2", b"id,customer,amount\n9,zed,1\n")
    project.get_dataset("orders2").copy_to(project.get_dataset("orders")).wait_for_result()
    project.new_job("RECURSIVE_BUILD").with_output("step2").start_and_wait()
    assert sorted_rows(project, "step2") == [[9, "zed", 1]]
    forced = project.new_job("RECURSIVE_FORCED_BUILD").with_output("step2").start_and_wait()
    assert len(forced.get_status()["baseStatus"]["activities"]) == 2


def test_a_failing_recipe_fails_the_job_and_leaves_outputs_untouched(project):
    _sync(project, "copy", "orders", "orders_copy")
    project.get_dataset("orders_copy").build()
    recipe = (
        project.new_recipe("sql_query", "bad")
        .with_input("orders")
        .with_new_output("bad_out", "filesystem_managed")
        .create()
    )
    settings = recipe.get_settings()
    settings.set_payload("SELECT no_such_column FROM orders")
    settings.save()
    with pytest.raises(DataikuException, match="FAILED"):
        project.get_dataset("bad_out").build()
    # (dataikuapi's dataset.build() drops no_fail: the job builder passes it on)
    job = project.new_job().with_output("bad_out").start_and_wait(no_fail=True)
    status = job.get_status()
    assert status["baseStatus"]["state"] == "FAILED" and status["globalState"]["failed"] == 1
    assert "no_such_column" in job.get_log() and "no_such_column" in job.get_log(
        activity="compute_bad_out_NP"
    )
    assert project.get_dataset("bad_out").get_schema()["columns"] == []
    # A job of an unsupported recipe kind fails the same way, naming the kind.
    project.new_recipe("r", "rr").with_input("orders").with_new_output_dataset(
        "r_out", "filesystem_managed"
    ).with_script("x").create()
    py_job = project.new_job().with_output("r_out").start_and_wait(no_fail=True)
    assert py_job.get_status()["baseStatus"]["state"] == "FAILED"
    assert "recipes of type r" in py_job.get_log()
    assert len(sorted_rows(project, "orders_copy")) == 4


def test_a_scenario_build_step_runs_the_job(project):
    _sync(project, "copy", "orders", "orders_copy")
    _sync(project, "copy2", "orders_copy", "downstream")
    scenario = project.create_scenario("build", "step_based")
    settings = scenario.get_settings()
    settings.raw_steps.append(
        {
            "type": "build_flowitem",
            "name": "b",
            "params": {"builds": [{"type": "DATASET", "itemId": "orders_copy"}]},
        }
    )
    settings.save()
    assert scenario.run_and_wait().outcome == "SUCCESS"
    assert len(sorted_rows(project, "orders_copy")) == 4
    # The step's default mode (DSS's REVERSE_FORCED_BUILD) also builds what reads the item.
    assert len(sorted_rows(project, "downstream")) == 4


PYTHON_RECIPE = """
import dataiku

orders = dataiku.Dataset("orders")
totals = {}
for row in orders.iter_rows():
    totals[row["customer"]] = totals.get(row["customer"], 0) + row["amount"]
out = dataiku.Dataset("totals")
out.write_schema([{"name": "customer", "type": "string"}, {"name": "total", "type": "bigint"}])
with out.get_writer() as writer:
    for customer, total in sorted(totals.items()):
        writer.write_row_dict({"customer": customer, "total": total})
"""


def test_a_python_recipe_runs_with_the_dataiku_stand_in(project):
    creator = (
        project.new_recipe("python", "py")
        .with_input("orders")
        .with_new_output_dataset("totals", "filesystem_managed")
    )
    creator.with_script(PYTHON_RECIPE).create()
    job = project.new_job().with_output("totals").start_and_wait(no_fail=True)
    assert job.get_status()["baseStatus"]["state"] == "DONE", job.get_log()
    assert list(project.get_dataset("totals").iter_rows()) == [["ann", 17], ["bob", 5], ["cid", 1]]
    assert "Wrote 3 row(s) to totals" in job.get_log()


def test_a_failing_python_recipe_fails_the_job_with_its_error(project):
    creator = (
        project.new_recipe("python", "py_bad")
        .with_input("orders")
        .with_new_output_dataset("nothing", "filesystem_managed")
    )
    creator.with_script(
        "import dataiku\nraise ValueError('bad input: ' + str(len(list(dataiku.Dataset('orders').iter_rows()))))\n"
    ).create()
    job = project.new_job().with_output("nothing").start_and_wait(no_fail=True)
    assert job.get_status()["baseStatus"]["state"] == "FAILED"
    assert "ValueError: bad input: 4" in job.get_log()


def test_dataset_info_tells_the_last_build(project):
    _sync(project, "copy", "orders", "orders_copy")
    info = project.get_dataset("orders_copy").get_info()
    assert info.last_build_start_time is None and info.is_last_build_successful is False  # never built
    project.get_dataset("orders_copy").build()
    info = project.get_dataset("orders_copy").get_info()
    assert info.is_last_build_successful is True
    assert info.last_build_end_time >= info.last_build_start_time
    recipe = (
        project.new_recipe("sql_query", "bad")
        .with_input("orders")
        .with_new_output("bad_out", "filesystem_managed")
        .create()
    )
    settings = recipe.get_settings()
    settings.set_payload("SELECT nope FROM orders")
    settings.save()
    project.new_job().with_output("bad_out").start_and_wait(no_fail=True)
    assert project.get_dataset("bad_out").get_info().is_last_build_successful is False
    assert project.get_dataset("bad_out").get_info().get_raw()["lastBuild"]["jobId"]
