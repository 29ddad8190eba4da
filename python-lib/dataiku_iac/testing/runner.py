"""Running tests against DSS, through dataikuapi's public API only (so the same tests run on a
real DSS and on the emulator).

- fixtures: an UploadedFiles dataset gets the rows as a CSV, then `copy_to` writes them into the
  real input (OVERWRITE), and the fixture dataset is deleted;
- builds: one job (RECURSIVE_FORCED_BUILD or NON_RECURSIVE_FORCED_BUILD) over the targets, or,
  when a test gives rows to a dataset a recipe produces, one non-recursive job per recipe in
  Flow order (a recursive build would overwrite those rows); waited with the test's deadline,
  aborted past it;
- reading rows: `DSSDataset.iter_rows` with the schema DSS reports;
- data-quality rules DSS has (not_null, unique, in_range, in_set, row_count) are created on the
  dataset, computed by DSS and their outcome read back, then deleted; a DSS without the
  data-quality API (before 12.6) gets them evaluated on the rows read, as regex and
  references always are; `sql` rules run on DuckDB over the rows of the datasets they name.

Tests that share no dataset run in parallel (`parallel` workers, one dataikuapi client each);
tests that share one take its lock in name order (no deadlock).
"""

from __future__ import annotations

import contextlib
import importlib
import io
import re
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

from .checks import dss_rule, is_empty, rule_problem, schema_problems
from .compare import compare_rows, compare_values
from .fixtures import columns_of, to_csv
from .flow import recipes_to_run, sources_of, touched
from .loader import ProjectView
from .model import (
    ERROR,
    FAILED,
    PASSED,
    PYTHON,
    QUALITY,
    SCHEMA,
    SKIPPED,
    Expectation,
    Outcome,
    QualityCheck,
    Row,
    RowSource,
    Rule,
    TestCase,
)

JOB_DONE_STATES = ("DONE", "FAILED", "ABORTED")
EMPTY = object()  # Target.holds: a dataset known to hold no rows
LOG_TAIL_LINES = 30


class TestError(Exception):
    """The test could not run (not an assertion that failed): reported as an error."""
    __test__ = False  # not a pytest class


class BuildFailed(Exception):
    def __init__(self, message: str, log: str = ""):
        super().__init__(message)
        self.log = log


@dataclass
class Target:
    """Where the tests run: a client per thread, and the effective key of each project."""

    client: Callable[[], Any]  # a dataikuapi.DSSClient for the calling thread
    keys: dict[str, str]  # project key as written -> effective key
    views: dict[str, ProjectView]
    data_quality_api: Optional[bool] = None  # unknown until first used
    # (project, dataset) -> the rows it is known to hold (a RowSource, or EMPTY): a fixture file
    # several tests give is written once, not re-uploaded by each (only this run writes here)
    holds: dict[tuple[str, str], Any] = field(default_factory=dict)
    root: Optional[Path] = None  # the configuration directory (Python tests' fixture files)
    run_id: str = ""
    fixtures: dict[str, RowSource] = field(default_factory=dict)  # fixture file -> its rows, read once a run
    # runs a Python test (testing.pyrun.run_python, which sits on top of this module); None: a
    # Python test errors (a caller that must not run user code leaves it out)
    python: Optional[Callable[[TestCase, Target], Outcome]] = None

    def project(self, test: TestCase) -> Any:
        return self.client().get_project(self.keys[test.project])

    def dataset(self, test: TestCase, name: str) -> Any:
        return self.project(test).get_dataset(name)


class DatasetLocks:
    """One lock per dataset; a test takes all of its own in sorted order."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[tuple[str, str], threading.Lock] = {}

    def hold(self, project: str, names: set[str]) -> list[threading.Lock]:
        with self._guard:
            locks = [self._locks.setdefault((project, n), threading.Lock()) for n in sorted(names)]
        for lock in locks:
            lock.acquire()
        return locks

    @staticmethod
    def release(locks: list[threading.Lock]) -> None:
        for lock in reversed(locks):
            lock.release()


def run_tests(tests: list[TestCase], target: Target, *, parallel: int = 1,
              on_start: Callable[[TestCase], None] = lambda t: None,
              on_outcomes: Callable[[list[Outcome]], None] = lambda o: None,
              offline: Optional[dict[str, Outcome]] = None,
              stop: Optional[threading.Event] = None) -> list[Outcome]:
    """Every test's outcomes, in the order of `tests` (whatever order they finished in).
    `offline`: outcomes already decided without DSS (a schema test the configuration fails)."""
    locks = DatasetLocks()
    offline = offline or {}
    results: dict[str, list[Outcome]] = {}

    def one(test: TestCase) -> None:
        if stop is not None and stop.is_set():
            outcomes = [Outcome(test, test.name, SKIPPED, "interrupted")]
        elif test.id in offline:
            outcomes = [offline[test.id]]
        else:
            on_start(test)
            held = locks.hold(test.project, touched(target.views.get(test.project), test))
            try:
                outcomes = run_one(test, target)
            finally:
                locks.release(held)
        results[test.id] = outcomes
        on_outcomes(outcomes)

    if parallel <= 1:
        for test in tests:
            one(test)
    else:
        with ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="test") as pool:
            for future in [pool.submit(one, t) for t in tests]:
                future.result()
    return [o for t in tests for o in results.get(t.id, [])]


_CLOCK = threading.local()


class _phase:
    """`with _phase("build"):` adds the block's seconds to the running test's phases."""

    def __init__(self, name: str):
        self.name = name

    def __enter__(self) -> None:
        self.started = time.monotonic()

    def __exit__(self, *exc: Any) -> None:
        phases = getattr(_CLOCK, "phases", None)
        if phases is not None:
            phases[self.name] = phases.get(self.name, 0.0) + time.monotonic() - self.started


def run_one(test: TestCase, target: Target) -> list[Outcome]:
    phases: dict[str, float] = {}
    _CLOCK.phases = phases
    started = time.monotonic()
    try:
        outcomes = _run_one(test, target)
    finally:
        _CLOCK.phases = None
    phases["checks"] = max(0.0, time.monotonic() - started - sum(phases.values()))  # the rest: rules, comparisons
    if outcomes:  # the test's phases, once (a quality test has an outcome per rule)
        outcomes[0].phases = {k: round(v, 3) for k, v in phases.items()}
    return outcomes


def _run_one(test: TestCase, target: Target) -> list[Outcome]:
    started = time.monotonic()
    if test.skip:
        return [Outcome(test, test.name, SKIPPED, test.skip)]
    try:
        if test.kind == PYTHON:
            if target.python is None:
                raise TestError("Python tests are not run here (this runner was given no Python runner)")
            outcomes = [target.python(test, target)]
        elif test.kind == SCHEMA:
            outcomes = [_schema(test, target)]
        elif test.kind == QUALITY:
            outcomes = _quality(test, target)
        else:
            outcomes = [_pipeline(test, target)]
    except TestError as exc:
        outcomes = [Outcome(test, test.name, ERROR, str(exc))]
    except BuildFailed as exc:  # a quality test's build: no rule can be judged
        outcomes = [Outcome(test, test.name, ERROR, f"the build failed: {exc}", details=exc.log)]
    except Exception as exc:  # DSS refused a call: the test could not run
        outcomes = [Outcome(test, test.name, ERROR, f"{type(exc).__name__}: {_one_line(str(exc))}")]
    elapsed = time.monotonic() - started
    for outcome in outcomes:
        outcome.seconds = outcome.seconds or elapsed / len(outcomes)
    return outcomes


def _one_line(text: str, limit: int = 500) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


# -- schema tests ------------------------------------------------------------------------------
def _schema(test: TestCase, target: Target) -> Outcome:
    assert test.schema is not None
    check = test.schema
    columns = target.dataset(test, check.dataset).get_schema().get("columns") or []
    problems = schema_problems(check, columns)
    not_nullable = [c.name for c in check.columns if c.nullable is False and c.name in {x.get("name") for x in columns}]
    if not_nullable:
        rows = read_rows(target, test, check.dataset, set(not_nullable))
        for name in not_nullable:
            empty = sum(1 for row in rows if is_empty(row.get(name)))
            if empty:
                problems.append(f"column '{name}' is not nullable, but {empty} row(s) have it empty")
    if problems:
        return Outcome(test, test.name, FAILED, f"{check.dataset}: {'; '.join(problems)}",
                       details="\n".join(f"- {p}" for p in problems))
    return Outcome(test, test.name, PASSED)


# -- quality tests -----------------------------------------------------------------------------
def _quality(test: TestCase, target: Target) -> list[Outcome]:
    assert test.quality is not None
    if test.build is not None:
        prepare_and_build(test, target)  # a failing build is an error of every rule
    return check_rules(test, target, test.quality)


def check_rules(test: TestCase, target: Target, check: QualityCheck) -> list[Outcome]:
    """One outcome per rule of `check` on the dataset as it is now, in DSS when DSS has the rule."""
    results: dict[str, Optional[str]] = {}
    in_dss = [r for r in check.rules if dss_rule(r) is not None]
    if in_dss and target.data_quality_api is not False:
        results.update(_dss_rules(test, target, check, in_dss))
    rows: Optional[list[Row]] = None
    outcomes = []
    for rule in check.rules:
        label = f"{test.name}[{rule.name}]"
        started = time.monotonic()
        try:
            if rule.name in results:
                problem = results[rule.name]
            elif rule.kind == "sql":
                problem = _sql_rule(test, target, rule)
            else:
                needed = {r.column for r in check.rules if r.column and r.kind != "sql"}
                rows = rows if rows is not None else read_rows(target, test, check.dataset, needed)
                problem = rule_problem(rule, rows, lambda d, c: [r.get(c) for r in read_rows(target, test, d, {c})])
        except TestError as exc:
            outcomes.append(Outcome(test, label, ERROR, str(exc), seconds=time.monotonic() - started))
            continue
        status = FAILED if problem else PASSED
        outcomes.append(Outcome(test, label, status, f"{check.dataset}: {problem}" if problem else "",
                                seconds=time.monotonic() - started))
    return outcomes


def _dss_rules(test: TestCase, target: Target, check: QualityCheck, rules: list[Rule]) -> dict[str, Optional[str]]:
    """Create the rules on the dataset, compute them in DSS, read their outcome, delete them.
    {} when this DSS has no data-quality API (the rules are then evaluated on rows)."""
    dataset = target.dataset(test, check.dataset)
    created: list[tuple[Rule, Any]] = []
    try:
        try:
            ruleset = dataset.get_data_quality_rules()
            created.append((rules[0], ruleset.create_rule(dss_rule(rules[0]))))
        except Exception as exc:
            if not _not_found(exc):
                raise
            target.data_quality_api = False  # before DSS 12.6: evaluated on the rows instead
            return {}
        target.data_quality_api = True
        for rule in rules[1:]:
            created.append((rule, ruleset.create_rule(dss_rule(rule))))
        ruleset.compute_rules().wait_for_result()
        by_id = {r.id: r for r in ruleset.get_last_rules_results()}
    finally:
        for _rule, made in created:
            with contextlib.suppress(Exception):  # the test project is destroyed with the run anyway
                made.delete()
    results: dict[str, Optional[str]] = {}
    for rule, made in created:
        result = by_id.get(made.id)
        if result is None:
            raise TestError(f"DSS computed no result for the rule {rule.name}")
        if result.outcome == "EMPTY":
            raise TestError(f"DSS could not compute the rule {rule.name}: {result.message}")
        results[rule.name] = None if result.outcome in ("OK", "WARNING") else (result.message or result.outcome)
    return results


def _not_found(exc: Exception) -> bool:
    text = str(exc)
    return "404" in text or "NotFoundException" in text


def _sql_rule(test: TestCase, target: Target, rule: Rule) -> Optional[str]:
    """A SELECT over the project's datasets (named as in the configuration), on DuckDB over the
    rows read: every row it returns is a failure."""
    try:
        duckdb = importlib.import_module("duckdb")  # optional, untyped
    except ImportError:
        raise TestError("an sql rule runs on DuckDB, which is not installed (pip install duckdb)") from None
    query = rule.params["query"]
    view = target.views[test.project]
    named = [d for d in view.datasets if re.search(rf"\b{re.escape(d)}\b", query)]
    connection = duckdb.connect()
    try:
        for name in named:
            rows = read_rows(target, test, name)
            schema = target.dataset(test, name).get_schema().get("columns") or [{"name": c} for c in columns_of(rows)]
            _load_table(connection, name, schema, rows)
        try:
            result = connection.execute(query)
        except Exception as exc:
            raise TestError(f"the sql rule failed on DuckDB: {_one_line(str(exc))}") from None
        failing = result.fetchall()
        names = [d[0] for d in result.description or []]
    finally:
        connection.close()
    if not failing:
        return None
    sample = "; ".join(str(dict(zip(names, r))) for r in failing[:5])
    return f"the query returned {len(failing)} failing row(s): {sample}"


_DUCKDB_TYPES = {"tinyint": "TINYINT", "smallint": "SMALLINT", "int": "INTEGER", "bigint": "BIGINT",
                 "float": "FLOAT", "double": "DOUBLE", "boolean": "BOOLEAN", "date": "TIMESTAMPTZ",
                 "dateonly": "DATE", "datetimenotz": "TIMESTAMP"}


def _load_table(connection: Any, name: str, columns: list[dict[str, Any]], rows: list[Row]) -> None:
    """The rows as table `name`, typed as DSS types the columns (anything else is text)."""
    names = [str(c["name"]) for c in columns] or ["_empty"]
    typed = ", ".join(f'"{c["name"]}" {_DUCKDB_TYPES.get(str(c.get("type")), "VARCHAR")}' for c in columns) or '"_empty" VARCHAR'
    connection.execute(f'CREATE TABLE "{name}" ({typed})')
    if rows and columns:
        placeholders = ", ".join("?" for _ in names)
        connection.executemany(f'INSERT INTO "{name}" VALUES ({placeholders})', [[row.get(c) for c in names] for row in rows])


# -- pipeline tests ----------------------------------------------------------------------------
def _pipeline(test: TestCase, target: Target) -> Outcome:
    try:
        recipes = prepare_and_build(test, target)
    except BuildFailed as exc:
        if not test.expect_failure:
            return Outcome(test, test.name, ERROR, f"the build failed: {exc}", details=exc.log)
        text = f"{exc}\n{exc.log}"
        if test.failure_message and not re.search(test.failure_message, text):
            return Outcome(test, test.name, FAILED,
                           f"the build failed, but its message does not match /{test.failure_message}/: {exc}",
                           details=exc.log)
        return Outcome(test, test.name, PASSED, f"the build failed as expected: {exc}")
    if test.expect_failure:
        return Outcome(test, test.name, FAILED, "the build succeeded, but the test expects it to fail",
                       recipes=tuple(recipes))
    problems, details = [], []
    for expectation in test.expect:
        rows = read_rows(target, test, expectation.dataset, _compared_columns(expectation))
        if expectation.row_count is not None and len(rows) != expectation.row_count:
            problems.append(f"{expectation.dataset}: {len(rows)} row(s), expected {expectation.row_count}")
        if expectation.rows is not None:
            diff = compare_rows(list(expectation.rows.rows), rows, columns=expectation.columns,
                                ordered=expectation.ordered, tolerance=expectation.tolerance)
            if not diff.equal:
                problems.append(diff.summary(expectation.dataset))
                details.append(diff.render(expectation.dataset))
        for column, values in expectation.values.items():
            diff = compare_values(list(values), [r.get(column) for r in rows], ordered=expectation.ordered,
                                  tolerance=expectation.tolerance)
            if not diff.equal:
                problems.append(diff.summary(f"{expectation.dataset}.{column}"))
                details.append(diff.render(f"{expectation.dataset}.{column}"))
    if problems:
        return Outcome(test, test.name, FAILED, "; ".join(problems), details="\n".join(details), recipes=tuple(recipes))
    return Outcome(test, test.name, PASSED, recipes=tuple(recipes))


def _compared_columns(expectation: Expectation) -> Optional[set[str]]:
    """The columns an expectation looks at (None: all of them, to compare whole rows)."""
    if expectation.rows is not None and expectation.columns is None:
        return None
    return set(expectation.columns or ()) | set(expectation.values)


def prepare_and_build(test: TestCase, target: Target, keep: frozenset[str] = frozenset()) -> list[str]:
    """Write the given rows, empty the other datasets the build reads (but `keep`: what an
    earlier build of the same Python test made), build; the recipes run."""
    assert test.build is not None
    view = target.views[test.project]
    recipes = recipes_to_run(view, test.build.datasets, test.build.recursive, set(test.given))
    holds = target.holds
    with _phase("fixtures"):
        for name, source in test.given.items():
            write_given(target, test, name, source)
        for name in sorted(sources_of(view, recipes) - set(test.given) - keep):
            if holds.get((test.project, name)) is not EMPTY:
                target.dataset(test, name).clear()
                holds[(test.project, name)] = EMPTY
    for recipe in recipes:  # whatever the build does to them, their rows are not known any more
        for output in view.recipes[recipe][1]:
            holds.pop((test.project, output), None)
    with _phase("build"):
        build(test, target, recipes)
    return recipes


def write_given(target: Target, test: TestCase, name: str, source: RowSource) -> None:
    """The rows of `source` into dataset `name`, unless it holds them already (written by an
    earlier test from the same fixture file or rows, and not rebuilt since)."""
    holds = target.holds
    held = holds.get((test.project, name))
    same_file = isinstance(held, RowSource) and source.file is not None and held.file == source.file
    if held is not source and not same_file:
        holds.pop((test.project, name), None)
        write_rows(target, test, name, list(source.rows))
        holds[(test.project, name)] = source


def build(test: TestCase, target: Target, recipes: list[str]) -> None:
    assert test.build is not None
    view = target.views[test.project]
    project = target.project(test)
    deadline = time.monotonic() + test.build.timeout
    intermediate_given = any(view.producer(name) is not None for name in test.given)
    if test.build.recursive and not intermediate_given:
        _run_job(project, "RECURSIVE_FORCED_BUILD", list(test.build.datasets), deadline)
        return
    for recipe in recipes:  # upstream first; each job builds one recipe's outputs
        _run_job(project, "NON_RECURSIVE_FORCED_BUILD", view.recipes[recipe][1], deadline)


def _run_job(project: Any, job_type: str, outputs: list[str], deadline: float) -> None:
    builder = project.new_job(job_type)
    for name in outputs:
        builder.with_output(name, object_type="DATASET")
    job = builder.start()
    delay = 0.05
    while True:
        status = job.get_status()
        state = ((status or {}).get("baseStatus") or {}).get("state")
        if state in JOB_DONE_STATES:
            break
        if time.monotonic() > deadline:
            try:
                job.abort()
            finally:
                raise BuildFailed(f"the build of {', '.join(outputs)} did not finish in time (job {job.id} aborted)")
        time.sleep(delay)
        delay = min(delay * 1.5, 2.0)
    if state != "DONE":
        log = _job_log(job)
        raise BuildFailed(f"job {job.id} ({', '.join(outputs)}) ended {state}{_first_error(log)}", log)


def _job_log(job: Any) -> str:
    try:
        text = job.get_log()
    except Exception:
        return ""
    lines = str(text).splitlines()
    return "\n".join(lines[-LOG_TAIL_LINES:])


def _first_error(log: str) -> str:
    for line in log.splitlines():
        if re.search(r"error|exception|failed", line, re.IGNORECASE):
            return f": {_one_line(line, 300)}"
    return ""


# -- rows ------------------------------------------------------------------------------------
def _columns(target: Target, test: TestCase, name: str) -> list[str]:
    schema = target.dataset(test, name).get_schema() or {}
    return [str(c.get("name")) for c in schema.get("columns") or []]


def read_rows(target: Target, test: TestCase, name: str, only: Optional[set[str]] = None) -> list[Row]:
    """The dataset's rows, as dicts; `only`: just these columns (DSS sends less, the client
    parses less: on 10^5 rows, reading is most of a test's time)."""
    dataset = target.dataset(test, name)
    with _phase("read"):
        columns = _columns(target, test, name)
        if only is not None:
            missing = sorted(only - set(columns))
            if missing:
                raise TestError(f"dataset {name} has no column {', '.join(missing)} in DSS (its columns: {', '.join(columns)})")
            columns = [c for c in columns if c in only] or columns[:1]
        try:
            return [dict(zip(columns, values)) for values in dataset.iter_rows(columns=columns if only is not None else None)]
        except Exception as exc:
            raise TestError(f"cannot read the rows of dataset {name}: {_one_line(str(exc))}") from None


def write_rows(target: Target, test: TestCase, name: str, rows: list[Row]) -> None:
    """The rows into dataset `name` (OVERWRITE) through a temporary UploadedFiles dataset."""
    project = target.project(test)
    dataset = project.get_dataset(name)
    schema = dataset.get_schema() or {}
    declared = [c for c in schema.get("columns") or [] if c.get("name")]
    columns = [str(c["name"]) for c in declared] or columns_of(rows)
    fixture_name = f"fx_{uuid.uuid4().hex[:10]}_{name}"[:120]
    fixture = project.create_upload_dataset(fixture_name)
    try:
        fixture.uploaded_add_file(io.BytesIO(to_csv(rows, columns)), f"{name}.csv")
        settings = fixture.get_settings()
        settings.set_csv_format(separator=",", style="excel", header_row=True)
        settings.get_raw()["schema"] = {
            "columns": declared or [{"name": c, "type": "string"} for c in columns], "userModified": True,
        }
        settings.save()
        future = fixture.copy_to(dataset, sync_schema=not declared, write_mode="OVERWRITE")
        future.wait_for_result()
    except Exception as exc:
        raise TestError(f"cannot write the rows of dataset {name}: {_one_line(str(exc))}") from None
    finally:
        with contextlib.suppress(Exception):  # a leftover in a test project goes with it
            fixture.delete(drop_data=True)
