"""`dataiku-iac test` as a user runs it, against the emulator: progress and a pytest-like summary,
exit codes, JUnit XML valid against Jenkins' schema, JSON and coverage; bad test files refused
before any DSS request; the ephemeral environment destroyed after the run, after Ctrl-C, and,
after a kill -9, by the next run, which never deletes what is not its own.

Schema tests need only what the emulator serves today; quality and pipeline tests (rows, jobs)
are covered in tests/e2e/test_test_pipelines.py once the emulator holds rows."""

from __future__ import annotations

import json
import shutil
import signal
from pathlib import Path
from typing import Any

import xmlschema

from tests.e2e.helpers import cli_env, run_cli, spawn_cli, wait_for, write_config, writes_since
from tests.support import request_count

XSD = Path(__file__).resolve().parents[1] / "fixtures" / "junit" / "junit-10.xsd"

SHOP = """\
project:
  key: SHOP
  name: Shop
datasets:
  - name: orders_raw
    type: managed
    schema:
      columns:
        - {name: id, type: bigint}
        - {name: amount, type: double}
  - name: orders
    type: managed
    schema:
      columns:
        - {name: id, type: bigint}
        - {name: amount, type: double}
  - name: customers
    type: managed
recipes:
  - name: copy_orders
    type: sync
    inputs: [orders_raw]
    outputs: [orders]
scenarios:
  - id: NIGHTLY
    name: Nightly
    active: true
    triggers:
      - type: temporal
        cron: "30 2 * * *"
"""

TESTS = """\
tests:
  - name: orders_has_id
    schema:
      dataset: orders
      columns: [{name: id, type: bigint}, {name: amount}]
  - name: amount_is_text
    schema:
      dataset: orders
      columns: [{name: amount, type: string}]
  - name: raw_exact
    schema:
      dataset: orders_raw
      exact: true
      columns: [{name: id, type: bigint}, {name: amount, type: double}]
  - name: later
    skip: waiting for the customers feed
    schema: {dataset: customers, columns: [{name: id}]}
"""


def _config(tmp_path: Path, tests: str = TESTS) -> Path:
    return write_config(tmp_path / "cfg", {"shop.yml": SHOP}, files={"tests/shop.yml": tests})


def _test_projects(dss: Any) -> list[str]:
    return sorted(p["projectKey"] for p in dss.client().list_projects() if p["projectKey"].startswith("SHOP_T"))


def _runs(root: Path) -> list[str]:
    base = root / ".dataiku-iac" / "test-runs"
    return sorted(p.name for p in base.iterdir()) if base.is_dir() else []


def test_a_run_reports_each_test_fails_on_a_failure_and_leaves_nothing_behind(dss: Any, tmp_path: Path) -> None:
    root = _config(tmp_path)
    result = run_cli(dss, root, "test", "-e", "dev", "--junit-xml", "junit.xml", "--coverage-report", "coverage.json", expect=1)
    out = result.stdout
    assert out.startswith("collected 4 tests\n"), str(result)
    for line in ("tests/shop.yml::orders_has_id PASSED", "tests/shop.yml::amount_is_text FAILED (offline)",
                 "tests/shop.yml::raw_exact PASSED", "tests/shop.yml::later SKIPPED"):
        assert line in out, str(result)
    assert "orders (as configured): column 'amount' is double, expected string" in out
    assert "coverage: datasets 3/3 (100%), recipes 0/1 (0%), columns 0/4 (0%)" in out
    assert result.last_line() == f"==================== 1 failed, 2 passed, 1 skipped in {out.rsplit(' in ', 1)[1].split('s ')[0]}s ====================", str(result)
    assert result.stderr.count("Using DSS at") == 1, str(result)

    body = (root / "junit.xml").read_text(encoding="utf-8")
    xmlschema.XMLSchema(str(XSD)).validate(body)
    assert 'tests="4" failures="1" errors="0"' in body and 'skipped="1"' in body
    assert json.loads((root / "coverage.json").read_text())["datasets"] == {"covered": 3, "total": 3, "percent": 100.0}

    assert _test_projects(dss) == [] and _runs(root) == []
    assert not (root / ".dataiku-iac" / "state").exists(), "the user's own state is never touched"


def test_all_passing_exits_0_and_json_says_everything(dss: Any, tmp_path: Path) -> None:
    root = _config(tmp_path)
    result = run_cli(dss, root, "test", "-e", "dev", "-k", "not amount_is_text", "--json", "--parallel", "2")
    body = result.json()
    assert body["ok"] is True and body["counts"] == {"passed": 2, "failed": 0, "error": 0, "skipped": 1}
    assert [t["id"] for t in body["tests"]] == ["tests/shop.yml::orders_has_id", "tests/shop.yml::raw_exact", "tests/shop.yml::later"]
    assert body["environment"] == "dev" and len(body["run_id"]) == 8 and body["kept"] is None
    assert set(body["phases"]) == {"cleanup", "apply", "tests", "destroy"}
    assert _test_projects(dss) == []


def test_a_skipped_test_runs_with_run_skipped_and_is_checked_online(dss: Any, tmp_path: Path) -> None:
    """The configuration declares no schema for customers: only DSS can answer."""
    root = _config(tmp_path)
    result = run_cli(dss, root, "test", "-e", "dev", "-k", "later", "--run-skipped", expect=1)
    assert "tests/shop.yml::later FAILED (" in result.stdout and "(offline)" not in result.stdout
    assert "customers: column 'id' is missing" in result.stdout


def test_bad_test_files_are_refused_before_any_request(dss: Any, tmp_path: Path) -> None:
    root = _config(tmp_path, "tests:\n  - name: x\n    schema: {dataset: ordrs, columns: [{name: id}]}\n  - name: y\n    quality: {dataset: orders, rules: [{unique: idd}]}\n")
    before = request_count(dss)
    result = run_cli(dss, root, "test", "-e", "dev", "--junit-xml", "junit.xml", expect=1)
    assert result.stderr.splitlines() == [
        "tests/shop.yml:3:23: error: tests[0].schema.dataset: no dataset 'ordrs' in project SHOP (did you mean 'orders'?)",
        "tests/shop.yml:5:49: error: tests[1].quality.rules[0].unique: dataset orders declares no column 'idd' in its schema (did you mean 'id'?)",
        "Error: the configuration has 2 problems.",
    ], str(result)
    assert request_count(dss) == before, "a bad test file must stop the run before DSS is contacted"
    junit = (root / "junit.xml").read_text(encoding="utf-8")
    xmlschema.XMLSchema(str(XSD)).validate(junit)
    import xml.etree.ElementTree as ET

    text = ET.fromstring(junit).find(".//error").text or ""  # a CI page showing only JUnit tells what is wrong
    assert "tests/shop.yml:3:23: error: tests[0].schema.dataset: no dataset 'ordrs'" in text, text
    assert "tests/shop.yml:5:49: error: tests[1].quality.rules[0].unique" in text, text


def test_no_dss_credentials_is_refused_before_anything_is_prepared(dss: Any, tmp_path: Path) -> None:
    root = _config(tmp_path)
    env = {k: v for k, v in cli_env(dss).items() if k not in ("DKU_DSS_URL", "DKU_API_KEY")}
    result = run_cli(dss, root, "test", "-e", "dev", env=env, expect=1)
    assert "error: dss.url: no DSS URL: set DKU_DSS_URL" in result.stderr, str(result)
    assert _runs(root) == []


def test_keep_leaves_the_environment_until_the_next_run(dss: Any, tmp_path: Path) -> None:
    root = _config(tmp_path)
    kept = run_cli(dss, root, "test", "-e", "dev", "-k", "raw_exact", "--keep")
    assert "The test environment is kept in" in kept.stdout
    (run_id,) = _runs(root)
    assert _test_projects(dss) == [f"SHOP_T{run_id.upper()}"]
    project = dss.client().get_project(f"SHOP_T{run_id.upper()}")
    assert project.get_dataset("orders_raw").get_schema()["columns"]
    assert project.get_scenario("NIGHTLY").get_settings().get_raw()["active"] is False, "no trigger fires in a test project"
    again = run_cli(dss, root, "test", "-e", "dev", "-k", "raw_exact")
    assert f"removing leftover test environment {run_id}" in again.stdout
    assert _test_projects(dss) == [] and _runs(root) == []


def _hang_in_the_tests(dss: Any) -> None:
    """The first schema read of the tests hangs: the environment is applied and marked by then."""
    dss.admin.add_fault(method="GET", path=r"/projects/SHOP_T[0-9A-F]{8}/datasets/orders_raw/schema$", nth=1,
                        times=0, mode="hang", hang_seconds=60, status=504)


def _hung(dss: Any) -> bool:
    return any(f["fired"] for f in dss.admin.faults())


def test_kill_9_then_the_next_run_removes_the_leftover_and_nothing_else(dss: Any, tmp_path: Path) -> None:
    root = _config(tmp_path)
    client = dss.client()
    client.create_project("SHOP_TDEADBEEF", "not ours: no marks", "admin")  # a look-alike key
    other = client.create_project("SHOP_T0BADF00D", "another configuration's", "admin")
    metadata = other.get_metadata()
    metadata["custom"] = {"kv": {"dataiku-iac.test-run": "0badf00d", "dataiku-iac.test-owner": "someone-else"}}
    other.set_metadata(metadata)
    _hang_in_the_tests(dss)
    proc = spawn_cli(dss, root, "test", "-e", "dev", "-k", "raw_exact")
    try:
        wait_for(lambda: _hung(dss), what="the run to reach its tests")
        proc.kill()  # kill -9: no finally, no destroy
        proc.wait(timeout=30)
    finally:
        dss.admin.clear_faults()
    (run_id,) = _runs(root)
    leftover = f"SHOP_T{run_id.upper()}"
    assert leftover in _test_projects(dss)
    before = request_count(dss)

    again = run_cli(dss, root, "test", "-e", "dev", "-k", "raw_exact")
    assert f"removing leftover test environment {run_id}" in again.stdout, str(again)
    assert _runs(root) == []
    assert _test_projects(dss) == ["SHOP_T0BADF00D", "SHOP_TDEADBEEF"], "only the dead run's own projects go"
    touched = {path.split("/")[2] for _method, path in writes_since(dss, before) if path.startswith("/projects/SHOP_T")}
    assert leftover in touched and not touched & {"SHOP_TDEADBEEF", "SHOP_T0BADF00D"}, touched


def test_a_reader_that_goes_away_does_not_stop_the_destroy(dss: Any, tmp_path: Path) -> None:
    """Issue 13: `dataiku-iac test -e dev | head -3` — the pipe closes after three lines; the run
    stops printing, still destroys its environment and exits 141 (128 + SIGPIPE), no traceback."""
    import subprocess

    from tests.support.cli import CLI

    root = _config(tmp_path)
    proc = subprocess.Popen([CLI, "--no-color", "-C", str(root), "test", "-e", "dev", "-k", "raw_exact"],
                            cwd=str(root),
                            env=cli_env(dss), stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    assert proc.stdout is not None and proc.stderr is not None
    for _ in range(3):
        proc.stdout.readline()
    proc.stdout.close()  # `head -3` exits
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141, stderr
    assert "Internal error" not in stderr and "BrokenPipeError" not in stderr, stderr
    assert _test_projects(dss) == [] and _runs(root) == [], "the environment is destroyed all the same"


def test_a_pattern_that_selects_nothing_exits_5_not_0(dss: Any, tmp_path: Path) -> None:
    """Issue 13: a CI gate whose -k matches no test must not pass green: exit 5 (as pytest), and
    the JSON says so; nothing is applied."""
    root = _config(tmp_path)
    result = run_cli(dss, root, "test", "-e", "dev", "-k", "no_such_test", expect=5)
    assert "no tests ran" in result.stdout, str(result)
    answer = json.loads(run_cli(dss, root, "test", "-e", "dev", "-k", "no_such_test", "--json", expect=5).stdout)
    assert answer["no_tests_ran"] is True and answer["tests"] == []
    assert _test_projects(dss) == [] and _runs(root) == []


def test_a_leftover_run_that_died_before_creating_anything_is_removed(dss: Any, tmp_path: Path) -> None:
    """Issue 13: a run killed right after taking its state lock leaves a state folder with only
    `lock.alive`; its destroy plan deletes nothing, so no --force-delete may be asked for it."""
    from dataclasses import replace

    from dataiku_iac.testing import isolation

    root = _config(tmp_path)
    run = replace(isolation.prepare_run(root, "dev", {}, keep=False), pid=0)  # pid 0: a dead run
    isolation.write_run(run)
    state_dir = run.config / ".dataiku-iac" / "state" / run.test_environment
    state_dir.mkdir(parents=True)
    (state_dir / "lock.alive").write_text("", encoding="utf-8")
    again = run_cli(dss, root, "test", "-e", "dev", "-k", "raw_exact")
    assert f"removing leftover test environment {run.run_id}" in again.stdout, str(again)
    assert "could not be destroyed" not in again.stderr + again.stdout, str(again)
    assert _runs(root) == [] and _test_projects(dss) == []


def test_a_run_whose_run_directory_was_lost_is_found_by_its_marks(dss: Any, tmp_path: Path) -> None:
    """A CI runner lost with its checkout: the project's marks prove it is this configuration's
    and its run dead (same host, pid gone)."""
    root = _config(tmp_path)
    _hang_in_the_tests(dss)
    proc = spawn_cli(dss, root, "test", "-e", "dev", "-k", "raw_exact")
    try:
        wait_for(lambda: _hung(dss), what="the run to reach its tests")
        proc.kill()
        proc.wait(timeout=30)
    finally:
        dss.admin.clear_faults()
    (run_id,) = _runs(root)
    shutil.rmtree(root / ".dataiku-iac" / "test-runs" / run_id)
    again = run_cli(dss, root, "test", "-e", "dev", "-k", "raw_exact")
    assert f"deleting project SHOP_T{run_id.upper()}, left by a dead test run of this configuration" in again.stderr, str(again)
    assert _test_projects(dss) == []


def test_ctrl_c_destroys_the_environment(dss: Any, tmp_path: Path) -> None:
    """Started as a CI script's `cmd &` starts it: with SIGINT ignored, inherited."""
    root = _config(tmp_path)
    _hang_in_the_tests(dss)
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        proc = spawn_cli(dss, root, "test", "-e", "dev", "-k", "raw_exact", "--junit-xml", "junit.xml")
    finally:
        signal.signal(signal.SIGINT, previous)
    try:
        wait_for(lambda: _hung(dss), what="the run to reach its tests")
        proc.send_signal(signal.SIGINT)
    finally:
        dss.admin.clear_faults()  # the hung read answers; the run then destroys its environment
    assert proc.wait(timeout=60) == 130
    assert _test_projects(dss) == [] and _runs(root) == []
    junit = (root / "junit.xml").read_text(encoding="utf-8")  # docs/testing.md: written even when interrupted
    xmlschema.XMLSchema(str(XSD)).validate(junit)
    assert "interrupted (Ctrl-C or SIGTERM)" in junit, junit
