"""The records of a test run: what the test files declare, and what running them found.

Inert data only (no I/O): the loaders build the declarations from `tests/*.yml`
(`testing/loader.py`) and `tests/test_*.py` (`testing/pyload.py`), the runner (`testing/runner.py`) turns each into `Outcome`s, and the reports
(`testing/report.py`) render those.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional

Row = dict[str, Any]

SCHEMA, QUALITY, PIPELINE, PYTHON = "schema", "quality", "pipeline", "python"
RULE_KINDS = ("not_null", "unique", "in_range", "in_set", "row_count", "regex", "references", "sql")

PASSED, FAILED, ERROR, SKIPPED = "passed", "failed", "error", "skipped"


@dataclass(frozen=True)
class RowSource:
    """Rows for a dataset: written in the test file, or read from a fixture file."""

    rows: tuple[Row, ...]
    file: Optional[str] = None  # the fixture file, relative to the configuration root

    def describe(self) -> str:
        return self.file or f"{len(self.rows)} row(s) in the test file"


@dataclass(frozen=True)
class SchemaColumn:
    name: str
    type: Optional[str] = None
    nullable: Optional[bool] = None


@dataclass(frozen=True)
class SchemaCheck:
    dataset: str
    columns: tuple[SchemaColumn, ...]
    exact: bool = False


@dataclass(frozen=True)
class Rule:
    """One data-quality rule: `kind` in RULE_KINDS, its parameters as written."""

    kind: str
    params: dict[str, Any]
    name: str

    @property
    def column(self) -> Optional[str]:
        if self.kind in ("not_null", "unique"):
            return str(self.params["column"])
        value = self.params.get("column")
        return str(value) if value is not None else None


@dataclass(frozen=True)
class QualityCheck:
    dataset: str
    rules: tuple[Rule, ...]


@dataclass(frozen=True)
class Expectation:
    """What a dataset must hold after the build."""

    dataset: str
    row_count: Optional[int] = None
    rows: Optional[RowSource] = None
    ordered: bool = False
    tolerance: float = 1e-9
    columns: Optional[tuple[str, ...]] = None
    values: dict[str, tuple[Any, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Build:
    datasets: tuple[str, ...]
    recursive: bool = True
    timeout: float = 600.0


@dataclass(frozen=True)
class TestCase:
    """One test of a file. `kind` is SCHEMA, QUALITY or PIPELINE (tests/*.yml), or PYTHON (a test
    function of tests/test_*.py: `function` is called with a `testing.api.TestContext`)."""
    __test__ = False  # not a pytest class

    name: str
    file: str  # tests/<name>.yml
    line: int
    project: str  # the project key as written in projects/ (addresses use it)
    kind: str
    description: str = ""
    schema: Optional[SchemaCheck] = None
    quality: Optional[QualityCheck] = None
    given: dict[str, RowSource] = field(default_factory=dict)
    build: Optional[Build] = None
    expect: tuple[Expectation, ...] = ()
    expect_failure: bool = False
    failure_message: Optional[str] = None  # a regular expression the build's failure must match
    skip: Optional[str] = None
    function: Optional[Callable[..., Any]] = field(default=None, compare=False)
    uses: Optional[tuple[str, ...]] = None  # a Python test's @uses(...): None, any dataset of its project

    @property
    def id(self) -> str:
        """`tests/orders.yml::dedup`: unique in a run (the loader refuses a name twice in a file)."""
        return f"{self.file}::{self.name}"

    def datasets(self) -> set[str]:
        """Every dataset the test reads or writes (by name, in its project)."""
        names = set(self.given) | {e.dataset for e in self.expect}
        if self.build is not None:
            names |= set(self.build.datasets)
        if self.schema is not None:
            names.add(self.schema.dataset)
        if self.quality is not None:
            names.add(self.quality.dataset)
            names |= {str(r.params["dataset"]) for r in self.quality.rules if r.kind == "references"}
        return names


@dataclass(frozen=True)
class TestSuite:
    """Every test of the configuration, in file order, and the files they came from."""
    __test__ = False  # not a pytest class

    tests: tuple[TestCase, ...]
    files: tuple[str, ...]

    def selected(self, pattern: Optional[str]) -> TestSuite:
        """The tests whose id contains `pattern` (pytest's -k, as a plain substring; `not X`
        leaves those out)."""
        if not pattern:
            return self
        text = pattern.strip()
        negate = text.startswith("not ")
        needle = text[4:].strip() if negate else text
        kept = tuple(t for t in self.tests if (needle in t.id) != negate)
        return TestSuite(kept, self.files)


@dataclass
class Outcome:
    """What running one test (or one rule of a quality test) found."""

    test: TestCase
    name: str  # the test's name, with `[rule]` for each rule of a quality test
    status: str  # PASSED, FAILED, ERROR, SKIPPED
    message: str = ""  # one line
    details: str = ""  # free text: a diff of rows, a job log excerpt
    seconds: float = 0.0
    offline: bool = False  # decided from the configuration alone (a schema test before any apply)
    recipes: tuple[str, ...] = ()  # recipes a build ran (coverage)
    phases: dict[str, float] = field(default_factory=dict)  # seconds: fixtures, build, checks
    # found while running (Python tests, whose datasets are not declared): coverage
    datasets: tuple[str, ...] = ()  # datasets the test read or checked
    columns: tuple[tuple[str, str], ...] = ()  # (dataset, column) under a quality rule
    where: str = ""  # file:line where a Python test failed (the failing assert)

    @property
    def id(self) -> str:
        return f"{self.test.file}::{self.name}"
