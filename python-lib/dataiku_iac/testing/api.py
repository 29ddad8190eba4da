"""The API of Python test files, `tests/test_*.py` (documented in docs/testing.md, "Python tests").

A test function takes one argument, a `TestContext` for the run's ephemeral test environment, and
passes when it returns; a false `assert` or an `assert_*` helper fails it (with a readable
expected-vs-actual diff), any other exception errors it::

    from dataiku_iac.testing.api import TestContext

    PROJECT = "SHOP"   # the project, as written in projects/ (optional with one project)

    def test_clean_drops_duplicates(t: TestContext) -> None:
        t.given("orders_raw", "tests/fixtures/orders_raw.csv")
        t.build("orders_clean")
        t.assert_rows("orders_clean", "tests/fixtures/orders_clean_expected.csv")
        assert t.row_count("orders_clean") == 4

The context works through the same runner as the YAML tests (fixtures written the same way,
builds as the same DSS jobs, rows read and rules computed the same way) and records what the
test touches for coverage. Everything here is public and stable; the rest of
`dataiku_iac.testing` is not.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Mapping, NoReturn, Optional, Sequence, TypeVar, Union

from ..config.suggest import did_you_mean
from . import runner
from .compare import RowsDiff, compare_rows, compare_values
from .fixtures import FixtureProblem, read_rows
from .flow import closure, recipes_to_run, sources_of
from .loader import DEFAULT_BUILD_TIMEOUT, DEFAULT_TOLERANCE, ProjectView, parse_rule
from .model import FAILED, PASSED, QUALITY, Build, QualityCheck, Row, RowSource, TestCase
from .pyload import SKIP_ATTRIBUTE, USES_ATTRIBUTE

__all__ = [
    "BuildError",
    "BuildResult",
    "CheckResult",
    "RowsMismatch",
    "Skipped",
    "TestContext",
    "assert_rows_equal",
    "skip",
    "uses",
]

Rows = Union[str, Path, Sequence[Mapping[str, Any]]]  # a fixture file (relative to the configuration) or rows
F = TypeVar("F", bound=Callable[..., Any])


class BuildError(Exception):
    """A build failed (a job ended FAILED or ABORTED, or did not finish in time). Uncaught, it
    makes the test an error, as a failing build does in a YAML test; `t.build_fails` expects it."""

    def __init__(self, message: str, log: str, result: BuildResult):
        super().__init__(message)
        self.message = message
        self.log = log  # the end of the failed job's log
        self.result = result


class RowsMismatch(AssertionError):
    """Rows differ from what was expected; `str()` is the diff (missing `-`, unexpected `+`)."""

    def __init__(self, diff: RowsDiff, label: str):
        super().__init__(diff.render(label))
        self.diff = diff
        self.summary = diff.summary(label)


class Skipped(Exception):
    """Raised by `t.skip(reason)`: the test is reported as skipped."""


@dataclass(frozen=True)
class BuildResult:
    datasets: tuple[str, ...]  # what was asked to be built
    recipes: tuple[str, ...]  # the recipes the build ran, upstream first
    ok: bool
    message: str = ""  # why it failed
    log: str = ""  # the end of the failed job's log
    seconds: float = 0.0


@dataclass(frozen=True)
class CheckResult:
    """A data-quality rule's outcome; true when it passed."""

    rule: str  # its name, as in reports: not_null(order_id)
    passed: bool
    message: str = ""  # why it failed

    def __bool__(self) -> bool:
        return self.passed


def skip(reason: str) -> Callable[[F], F]:
    """Decorator: the test is reported as skipped (`dataiku-iac test --run-skipped` runs it)."""
    def mark(function: F) -> F:
        setattr(function, SKIP_ATTRIBUTE, reason)
        return function
    return mark


def uses(*datasets: str) -> Callable[[F], F]:
    """Decorator: the test touches only `datasets` and what a recursive build of them reads and
    writes. Under --parallel it then runs beside tests that touch none of these (without it, a
    Python test holds every dataset of its project); touching another dataset errors the test."""
    if not datasets or not all(isinstance(d, str) for d in datasets):
        raise TypeError("@uses: name the datasets, e.g. @uses('orders_clean')")

    def mark(function: F) -> F:
        setattr(function, USES_ATTRIBUTE, tuple(datasets))
        return function
    return mark


def assert_rows_equal(actual: Sequence[Mapping[str, Any]], expected: Sequence[Mapping[str, Any]], *,
                      columns: Optional[Sequence[str]] = None, ordered: bool = False,
                      tolerance: float = DEFAULT_TOLERANCE, label: str = "rows") -> None:
    """Raise RowsMismatch unless the rows are equal as a YAML test's `expect: rows` compares them:
    on `columns` (default: the expected rows' columns), in any order unless `ordered`, numbers
    within `tolerance` whatever their spelling, NULL and "" both empty."""
    diff = compare_rows([dict(r) for r in expected], [dict(r) for r in actual], columns=columns,
                        ordered=ordered, tolerance=tolerance)
    if not diff.equal:
        raise RowsMismatch(diff, label)


class TestContext:
    """The running test's view of its ephemeral environment. Dataset names are those of the
    configuration (DSS dataset names are not suffixed; the project key is)."""

    __test__ = False  # not a pytest class

    def __init__(self, test: TestCase, target: runner.Target):
        self._test = test
        self._target = target
        self._given: dict[str, RowSource] = {}
        self.datasets_checked: set[str] = set()  # coverage: datasets read or checked
        self.columns_checked: set[tuple[str, str]] = set()  # coverage: columns under a rule
        self.recipes_run: list[str] = []  # coverage: recipes a build ran
        self._built: set[str] = set()  # what this test's builds made: a later build reads it, never empties it
        # @uses(...): the datasets the test may touch (its locks under --parallel); None: any
        self._allowed = closure(self._view, test.uses) if test.uses is not None else None

    # -- where ------------------------------------------------------------------------------
    @property
    def project(self) -> str:
        """The project key as written in projects/ (the file's PROJECT)."""
        return self._test.project

    @property
    def project_key(self) -> str:
        """The test project's real key in DSS (`SHOP_T3F9A0C1D`)."""
        return self._target.keys[self._test.project]

    @property
    def run_id(self) -> str:
        return self._target.run_id

    @property
    def test_id(self) -> str:
        """`tests/test_orders.py::test_dedup`."""
        return self._test.id

    @property
    def client(self) -> Any:
        """A dataikuapi.DSSClient on the DSS the tests run against (for what this API lacks)."""
        return self._target.client()

    @property
    def dss_project(self) -> Any:
        """The test project, a dataikuapi.DSSProject."""
        return self._target.project(self._test)

    def dataset_names(self) -> list[str]:
        """The project's datasets, as the configuration names them."""
        return sorted(self._view.datasets)

    # -- data in, builds --------------------------------------------------------------------
    def given(self, dataset: str, rows: Rows) -> int:
        """Write rows into `dataset` (replacing what it held): a fixture file (.csv, .json,
        .jsonl, .parquet; relative to the configuration directory) or a list of dicts. A later
        `build` then stops there (a recursive build does not rebuild a dataset given rows).
        Returns the number of rows written."""
        self._known(dataset)
        source = self._source(rows)
        runner.write_given(self._target, self._test, dataset, source)
        self._given[dataset] = source
        return len(source.rows)

    def build(self, *datasets: str, recursive: bool = True, timeout: float = DEFAULT_BUILD_TIMEOUT) -> BuildResult:
        """Build `datasets` as a YAML test's `build` does (one DSS job; recursive: upstream
        recipes too, stopping at the datasets given rows); the inputs the build reads that were
        neither given nor made by an earlier build of this test are emptied first. BuildError
        when the build fails."""
        result = self._build(datasets, recursive, timeout)
        if not result.ok:
            raise BuildError(f"the build failed: {result.message}", result.log, result)
        return result

    def build_fails(self, *datasets: str, match: Optional[str] = None, recursive: bool = True,
                    timeout: float = DEFAULT_BUILD_TIMEOUT) -> BuildResult:
        """Build `datasets` and fail the test (AssertionError) unless the build fails, with a
        message or log matching the regular expression `match` when given."""
        pattern = re.compile(match) if match is not None else None
        result = self._build(datasets, recursive, timeout)
        if result.ok:
            raise AssertionError(f"the build of {', '.join(datasets)} succeeded, but the test expects it to fail")
        if pattern is not None and not pattern.search(f"{result.message}\n{result.log}"):
            raise AssertionError(f"the build failed, but its message does not match /{match}/: {result.message}")
        return result

    def _build(self, datasets: Sequence[str], recursive: bool, timeout: float) -> BuildResult:
        if not datasets:
            raise ValueError("build: name at least one dataset")
        for name in datasets:
            self._known(name)
            if self._view.producer(name) is None:
                raise ValueError(f"dataset {name} is not the output of a recipe: there is nothing to build")
        test = replace(self._test, given=dict(self._given), build=Build(tuple(datasets), recursive, float(timeout)))
        recipes = tuple(recipes_to_run(self._view, tuple(datasets), recursive, set(self._given)))
        for name in sorted({o for r in recipes for o in self._view.recipes[r][1]} | sources_of(self._view, list(recipes))):
            self._known(name)  # what the build rewrites or empties, within @uses
        self.recipes_run.extend(r for r in recipes if r not in self.recipes_run)
        started = time.monotonic()
        outputs = {o for r in recipes for o in self._view.recipes[r][1]}
        self._built -= outputs  # rebuilt: known again only if this build succeeds
        try:
            runner.prepare_and_build(test, self._target, frozenset(self._built))
        except runner.BuildFailed as exc:
            return BuildResult(tuple(datasets), recipes, False, str(exc), exc.log, time.monotonic() - started)
        self._built |= outputs
        return BuildResult(tuple(datasets), recipes, True, seconds=time.monotonic() - started)

    # -- data out ---------------------------------------------------------------------------
    def rows(self, dataset: str, columns: Optional[Sequence[str]] = None) -> list[Row]:
        """The dataset's rows as dicts (values as DSS lets a client read them); `columns`: only
        those (DSS sends less)."""
        self._known(dataset)
        self.datasets_checked.add(dataset)
        return runner.read_rows(self._target, self._test, dataset, set(columns) if columns is not None else None)

    def dataframe(self, dataset: str, columns: Optional[Sequence[str]] = None) -> Any:
        """The rows as a pandas DataFrame (pandas is optional: pip install pandas)."""
        try:
            import pandas  # type: ignore[import-untyped,unused-ignore]
        except ImportError:
            raise ImportError("t.dataframe needs pandas (pip install pandas); t.rows gives the rows as dicts") from None
        rows = self.rows(dataset, columns)
        names = list(columns) if columns is not None else [c["name"] for c in self.schema(dataset)]
        return pandas.DataFrame(rows, columns=[c for c in names if not rows or c in rows[0]])

    def row_count(self, dataset: str) -> int:
        self._known(dataset)
        self.datasets_checked.add(dataset)
        columns = [c["name"] for c in self.schema(dataset)][:1]
        return len(runner.read_rows(self._target, self._test, dataset, set(columns) if columns else None))

    def schema(self, dataset: str) -> list[dict[str, Any]]:
        """The dataset's columns as DSS reports them ({name, type, ...})."""
        self._known(dataset)
        self.datasets_checked.add(dataset)
        schema = self._target.dataset(self._test, dataset).get_schema() or {}
        return [dict(c) for c in schema.get("columns") or []]

    # -- data quality -----------------------------------------------------------------------
    def check(self, dataset: str, rule: Mapping[str, Any]) -> CheckResult:
        """One data-quality rule, written as in a YAML test (`{"not_null": "order_id"}`,
        `{"in_range": {"column": "amount", "min": 0}}`, `{"sql": "SELECT ..."}`, optional
        `name`), computed as a YAML quality test computes it (by DSS where DSS has the rule)."""
        return self._checks(dataset, [rule])[0]

    def assert_quality(self, dataset: str, *rules: Mapping[str, Any]) -> None:
        """Every rule must pass; AssertionError listing those that fail."""
        failed = [r for r in self._checks(dataset, list(rules)) if not r.passed]
        if failed:
            raise AssertionError("\n".join([f"{len(failed)} of {len(rules)} data-quality rule(s) failed on {dataset}:"]
                                           + [f"  {r.rule}: {r.message}" for r in failed]))

    def _checks(self, dataset: str, raw: list[Mapping[str, Any]]) -> list[CheckResult]:
        self._known(dataset)
        if not raw:
            raise ValueError("name at least one rule")
        rules = tuple(parse_rule(dict(r), dataset, self._view) for r in raw)
        for rule in rules:  # the other datasets a rule reads
            if rule.kind == "references":
                self._known(str(rule.params["dataset"]))
            if rule.kind == "sql":
                for name in self._view.datasets:
                    if re.search(rf"\b{re.escape(name)}\b", str(rule.params["query"])):
                        self._known(name)
        self.datasets_checked.add(dataset)
        self.columns_checked |= {(dataset, r.column) for r in rules if r.column and r.kind != "sql"}
        check = QualityCheck(dataset, rules)
        outcomes = runner.check_rules(replace(self._test, kind=QUALITY, quality=check), self._target, check)
        errors = [o for o in outcomes if o.status not in (FAILED, PASSED)]
        if errors:
            raise runner.TestError(errors[0].message)
        return [CheckResult(rule.name, o.status != FAILED, o.message) for rule, o in zip(rules, outcomes)]

    # -- assertions -------------------------------------------------------------------------
    def assert_rows(self, dataset: str, expected: Rows, *, columns: Optional[Sequence[str]] = None,
                    ordered: bool = False, tolerance: float = DEFAULT_TOLERANCE) -> None:
        """The dataset holds exactly the `expected` rows (a fixture file or a list of dicts),
        compared as a YAML test's `expect: rows`; RowsMismatch with the diff otherwise."""
        source = self._source(expected)
        actual = self.rows(dataset, columns if columns is not None else None)
        assert_rows_equal(actual, source.rows, columns=columns, ordered=ordered, tolerance=tolerance, label=dataset)

    def assert_values(self, dataset: str, column: str, values: Sequence[Any], *, ordered: bool = False,
                      tolerance: float = DEFAULT_TOLERANCE) -> None:
        """The column holds exactly `values` (a YAML test's `expect: values`)."""
        actual = [r.get(column) for r in self.rows(dataset, [column])]
        diff = compare_values(list(values), actual, ordered=ordered, tolerance=tolerance)
        if not diff.equal:
            raise RowsMismatch(diff, f"{dataset}.{column}")

    def assert_row_count(self, dataset: str, count: int) -> None:
        found = self.row_count(dataset)
        if found != count:
            raise AssertionError(f"{dataset}: {found} row(s), expected {count}")

    def skip(self, reason: str) -> NoReturn:
        """Stop here; the test is reported as skipped."""
        raise Skipped(reason)

    # -- helpers ----------------------------------------------------------------------------
    @property
    def _view(self) -> ProjectView:
        return self._target.views[self._test.project]

    def _known(self, dataset: str) -> None:
        if dataset not in self._view.datasets:
            hint = did_you_mean(dataset, self._view.datasets)
            raise ValueError(f"no dataset '{dataset}' in project {self.project}" + (f" ({hint})" if hint else ""))
        if self._allowed is not None and dataset not in self._allowed:
            raise ValueError(f"dataset {dataset} is outside this test's @uses({', '.join(map(repr, self._test.uses or ()))}): "
                             f"add it there (other tests may be using it at the same time)")

    def _source(self, rows: Rows) -> RowSource:
        if isinstance(rows, (str, Path)):
            rel = Path(rows).as_posix()
            cached = self._target.fixtures.get(rel)
            if cached is None:
                if self._target.root is None:
                    raise ValueError("fixture files need the configuration directory")
                try:
                    cached = RowSource(tuple(read_rows(self._target.root, rel)), rel)
                except FixtureProblem as exc:
                    raise ValueError(f"fixture file: {exc}") from None
                self._target.fixtures[rel] = cached
            return cached
        if isinstance(rows, Mapping) or not all(isinstance(r, Mapping) for r in rows):
            raise TypeError("rows: a fixture file path, or a list of dicts (one per row)")
        return RowSource(tuple(dict(r) for r in rows))
