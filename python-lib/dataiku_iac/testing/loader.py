"""`load_tests`: read and check `tests/*.yml` against the configuration, every problem at once.

A test file is refused as a configuration file is: syntax and schema errors (the schema is
`config/schemas/test.schema.json`), then what only the configuration can tell (a project or a
dataset that does not exist, a column a declared schema lacks, a fixture file that cannot be
read, a regular expression that does not compile), each at file:line with its YAML path. The
caller (the `test` command) gets them all before anything is applied to DSS.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from ..config.documents import LoadedConfig, Located
from ..config.files import list_yaml_files, read_text
from ..config.paths import MarkMap, YamlPath
from ..config.schema import check
from ..config.suggest import did_you_mean
from ..config.yamlsafe import parse_yaml
from ..errors import ConfigError, Diagnostic
from .fixtures import FixtureProblem, read_rows
from .model import (
    PIPELINE,
    QUALITY,
    RULE_KINDS,
    SCHEMA,
    Build,
    Expectation,
    QualityCheck,
    RowSource,
    Rule,
    SchemaCheck,
    SchemaColumn,
    TestCase,
    TestSuite,
)

TESTS_DIR = "tests"
DEFAULT_TOLERANCE = 1e-9
DEFAULT_BUILD_TIMEOUT = 600.0
_ASSERTIONS = ("schema", "quality", "expect", "expect_failure")


@dataclass
class ProjectView:
    """What the tests may name in one project of the configuration."""

    key: str
    datasets: dict[str, Optional[list[str]]] = field(default_factory=dict)  # name -> declared columns
    recipes: dict[str, tuple[list[str], list[str]]] = field(default_factory=dict)  # name -> (inputs, outputs)
    column_types: dict[str, dict[str, str]] = field(default_factory=dict)  # dataset -> column -> declared type

    def producer(self, dataset: str) -> Optional[str]:
        return next((name for name, (_i, outs) in self.recipes.items() if dataset in outs), None)


def project_views(cfg: LoadedConfig) -> dict[str, ProjectView]:
    """The configuration's projects by key as written, with their datasets and recipes."""
    views: dict[str, ProjectView] = {}
    for doc in cfg.projects:
        if doc.key is None:
            continue
        view = views.setdefault(doc.key, ProjectView(doc.key))
        for item in _items(doc.data, "datasets"):
            schema = item.get("schema")
            columns = schema.get("columns") if isinstance(schema, dict) else None
            columns = [c for c in columns if isinstance(c, dict)] if isinstance(columns, list) else None
            view.datasets[item["name"]] = [str(c.get("name")) for c in columns] if columns is not None else None
            view.column_types[item["name"]] = {str(c.get("name")): str(c.get("type")) for c in columns or []}
        for item in _items(doc.data, "recipes"):
            view.recipes[item["name"]] = (_names(item.get("inputs")), _names(item.get("outputs")))
    return views


_INTEGER_TYPES = ("tinyint", "smallint", "int", "bigint")


def _fits(value: Any, kind: str) -> bool:
    """Whether DSS can read `value` (a fixture cell: YAML/JSON scalar or CSV text) as a column of
    type `kind`. Only numbers and booleans are checked; other types take any text."""
    if value is None or value == "":
        return True  # NULL
    text = str(value).strip()
    if kind in _INTEGER_TYPES:
        return not isinstance(value, bool) and re.fullmatch(r"[+-]?\d+", text) is not None
    if kind in ("float", "double"):
        if isinstance(value, bool):
            return False
        try:
            float(text)
        except ValueError:
            return False
        return True
    if kind == "boolean":
        return isinstance(value, bool) or text.lower() in ("true", "false")
    return True


def _items(data: dict[str, Any], section: str) -> list[dict[str, Any]]:
    items = data.get(section)
    return [i for i in items if isinstance(i, dict) and isinstance(i.get("name"), str)] if isinstance(items, list) else []


def _names(value: Any) -> list[str]:
    """A recipe's inputs or outputs: names, or mappings with a `name`/`ref` (visual recipes)."""
    found = []
    for entry in value if isinstance(value, list) else []:
        if isinstance(entry, str):
            found.append(entry)
        elif isinstance(entry, dict):
            name = entry.get("name") or entry.get("ref") or entry.get("dataset")
            if isinstance(name, str):
                found.append(name)
    return found


@dataclass
class _File(Located):
    file: str
    data: Any
    marks: MarkMap
    flagged: set[int] = field(default_factory=set)  # tests the schema refused


class _Load:
    def __init__(self, root: Path, views: dict[str, ProjectView]):
        self.root = root
        self.views = views
        self.errors: list[Diagnostic] = []
        self.rows_cache: dict[str, RowSource] = {}

    def error(self, doc: Located, path: YamlPath, message: str, hint: Optional[str] = None, where: str = "value") -> None:
        self.errors.append(doc.diagnostic(path, message, hint, where=where))

    # -- files --------------------------------------------------------------------------
    def read(self, rel: str) -> Optional[_File]:
        text, problems = read_text(self.root, rel)
        self.errors.extend(problems)
        if text is None:
            return None
        parsed = parse_yaml(text, rel)
        self.errors.extend(parsed.diagnostics)
        if not parsed.usable:
            return None
        doc = _File(rel, parsed.data, parsed.marks)
        if not isinstance(parsed.data, dict):
            self.error(doc, (), "a test file must be a YAML mapping with a 'tests' list", "e.g. `tests: [{name: ..., schema: ...}]`")
            return None
        for issue in check(parsed.data, "test"):
            self.errors.append(doc.diagnostic(issue.path, issue.message, issue.hint, where=issue.where))
            subject = issue.subject
            if len(subject) >= 2 and subject[0] == "tests" and isinstance(subject[1], int):
                doc.flagged.add(subject[1])  # that test only: the others are still checked
            else:
                return None
        return doc

    # -- one file -----------------------------------------------------------------------
    def tests_of(self, doc: _File) -> list[TestCase]:
        view = self.project_of(doc)
        if view is None:
            return []
        found: list[TestCase] = []
        seen: dict[str, int] = {}
        for index, item in enumerate(doc.data["tests"]):
            path: YamlPath = ("tests", index)
            if index in doc.flagged:
                continue
            name = item["name"]
            if name in seen:
                self.error(doc, (*path, "name"), f"the test name '{name}' is used twice in this file (first as tests[{seen[name]}])")
                continue
            seen[name] = index
            case = self.test_of(doc, path, item, view)
            if case is not None:
                found.append(case)
        return found

    def project_of(self, doc: _File) -> Optional[ProjectView]:
        key = doc.data.get("project")
        if key is None:
            if len(self.views) == 1:
                return next(iter(self.views.values()))
            known = ", ".join(sorted(self.views)) or "none"
            self.error(doc, ("tests",), "'project' is required: the configuration has several projects",
                       f"name one of: {known}", where="key")
            return None
        if key not in self.views:
            self.error(doc, ("project",), f"no project '{key}' in the configuration (projects/*.yml)",
                       did_you_mean(key, self.views))
            return None
        return self.views[key]

    def test_of(self, doc: _File, path: YamlPath, item: dict[str, Any], view: ProjectView) -> Optional[TestCase]:
        before = len(self.errors)
        present = [k for k in _ASSERTIONS if k in item]
        if not present:
            self.error(doc, path, f"the test '{item['name']}' asserts nothing",
                       "give it one of: schema, quality, expect, expect_failure", where="entry")
            return None
        if len(present) > 1:
            self.error(doc, (*path, present[1]), f"a test has one of schema, quality, expect or expect_failure; "
                       f"this one has {' and '.join(present)}", "split it into several tests", where="key")
            return None
        kind = {"schema": SCHEMA, "quality": QUALITY}.get(present[0], PIPELINE)
        if kind == SCHEMA:
            for key in ("given", "build"):
                if key in item:
                    self.error(doc, (*path, key), f"a schema test checks the applied dataset: '{key}' is not used",
                               "remove it, or make this a quality or pipeline test", where="key")
        if kind == PIPELINE and "build" not in item:
            self.error(doc, path, "a pipeline test (expect, expect_failure) needs 'build': the datasets to build",
                       where="entry")
        if "given" in item and "build" not in item and kind != SCHEMA:
            self.error(doc, (*path, "given"), "'given' rows are only written before a build: add 'build'", where="key")
        build = self.build_of(doc, path, item.get("build"), view)
        given = self.given_of(doc, path, item.get("given") or {}, view, build, typed="expect_failure" not in item)
        case = TestCase(
            name=item["name"], file=doc.file, line=doc.locate(path)[0], project=view.key, kind=kind,
            description=item.get("description", ""), given=given, build=build, skip=item.get("skip"),
            schema=self.schema_of(doc, (*path, "schema"), item["schema"], view) if kind == SCHEMA else None,
            quality=self.quality_of(doc, (*path, "quality"), item["quality"], view) if kind == QUALITY else None,
            expect=self.expect_of(doc, (*path, "expect"), item.get("expect") or {}, view),
            expect_failure="expect_failure" in item,
            failure_message=self.failure_message(doc, path, item.get("expect_failure")),
        )
        return case if len(self.errors) == before else None

    # -- parts --------------------------------------------------------------------------
    def dataset(self, doc: _File, path: YamlPath, name: str, view: ProjectView, where: str = "value") -> bool:
        if name in view.datasets:
            return True
        self.error(doc, path, f"no dataset '{name}' in project {view.key}", did_you_mean(name, view.datasets), where)
        return False

    def column(self, doc: _File, path: YamlPath, dataset: str, column: str, view: ProjectView) -> None:
        declared = view.datasets.get(dataset)
        if declared is not None and column not in declared:
            self.error(doc, path, f"dataset {dataset} declares no column '{column}' in its schema",
                       did_you_mean(column, declared) or f"its columns: {', '.join(declared)}")

    def build_of(self, doc: _File, path: YamlPath, value: Any, view: ProjectView) -> Optional[Build]:
        if value is None:
            return None
        spec: dict[str, Any] = {"datasets": value} if isinstance(value, list) else value
        where: YamlPath = (*path, "build") if isinstance(value, list) else (*path, "build", "datasets")
        for index, name in enumerate(spec["datasets"]):
            if self.dataset(doc, (*where, index), name, view) and view.producer(name) is None:
                self.error(doc, (*where, index), f"dataset {name} is not the output of a recipe: there is nothing to build")
        return Build(tuple(spec["datasets"]), bool(spec.get("recursive", True)),
                     float(spec.get("timeout", DEFAULT_BUILD_TIMEOUT)))

    def given_of(self, doc: _File, path: YamlPath, given: dict[str, Any], view: ProjectView,
                 build: Optional[Build], *, typed: bool = True) -> dict[str, RowSource]:
        sources = {}
        for name, value in given.items():
            where: YamlPath = (*path, "given", name)
            if not self.dataset(doc, where, name, view, "key"):
                continue
            if build is not None and name in build.datasets:
                self.error(doc, where, f"dataset {name} is both given and built: the build would overwrite its rows",
                           where="key")
                continue
            source = self.rows_of(doc, where, value)
            if source is not None:
                self.check_row_columns(doc, where, name, source, view)
                if typed:  # a test expecting the build to fail may give bad values on purpose
                    self.check_row_types(doc, where, name, source, view, value)
                sources[name] = source
        return sources

    def rows_of(self, doc: _File, path: YamlPath, value: Any) -> Optional[RowSource]:
        if isinstance(value, list):
            return RowSource(tuple(value))
        if isinstance(value, dict) and "rows" in value:
            return RowSource(tuple(value["rows"]))
        rel = value if isinstance(value, str) else value["file"]
        where = path if isinstance(value, str) else (*path, "file")
        if rel not in self.rows_cache:
            try:
                self.rows_cache[rel] = RowSource(tuple(read_rows(self.root, rel)), rel)
            except FixtureProblem as exc:
                self.error(doc, where, f"fixture file: {exc}")
                return None
        return self.rows_cache[rel]

    def check_row_columns(self, doc: _File, path: YamlPath, dataset: str, source: RowSource, view: ProjectView) -> None:
        declared = view.datasets.get(dataset)
        if declared is None:
            return
        names = {str(k) for row in source.rows for k in row}
        unknown = sorted(names - set(declared))
        if unknown:
            self.error(doc, path, f"rows for dataset {dataset} name columns its schema lacks: {', '.join(unknown)}",
                       f"its columns: {', '.join(declared)}")

    def check_row_types(self, doc: _File, path: YamlPath, dataset: str, source: RowSource, view: ProjectView,
                        value: Any) -> None:
        """A value the dataset's declared column type cannot hold (`temp: warm` for a double) is
        refused here, with its place, not by DSS at run time."""
        types = view.column_types.get(dataset, {})
        for index, row in enumerate(source.rows):
            if not isinstance(row, dict):
                continue
            for column, cell in row.items():
                kind = types.get(str(column), "")
                if _fits(cell, kind):
                    continue
                problem = f"{cell!r} is no {kind}: column {column} of dataset {dataset} is declared {kind}"
                if source.file is not None:  # the file's row: CSV line index+2 (after the header), else entry
                    place = f"line {index + 2}" if source.file.endswith(".csv") else f"row {index + 1}"
                    self.error(doc, path, f"fixture file {source.file}, {place}: {problem}", "fix the value or the column type")
                else:
                    where = (*path, index, column) if isinstance(value, list) else (*path, "rows", index, column)
                    self.error(doc, where, problem, "fix the value or the column type")

    def schema_of(self, doc: _File, path: YamlPath, spec: dict[str, Any], view: ProjectView) -> SchemaCheck:
        self.dataset(doc, (*path, "dataset"), spec["dataset"], view)
        columns = tuple(SchemaColumn(c["name"], c.get("type"), c.get("nullable")) for c in spec["columns"])
        return SchemaCheck(spec["dataset"], columns, bool(spec.get("exact", False)))

    def quality_of(self, doc: _File, path: YamlPath, spec: dict[str, Any], view: ProjectView) -> QualityCheck:
        dataset = spec["dataset"]
        known = self.dataset(doc, (*path, "dataset"), dataset, view)
        rules = []
        names: dict[str, int] = {}
        for index, raw in enumerate(spec["rules"]):
            where: YamlPath = (*path, "rules", index)
            rule = self.rule_of(doc, where, raw, dataset if known else None, view)
            if rule is None:
                continue
            if rule.name in names:
                self.error(doc, where, f"two rules of this test are named '{rule.name}' (rules[{names[rule.name]}] too)",
                           "give one of them a 'name'", where="entry")
                continue
            names[rule.name] = index
            rules.append(rule)
        return QualityCheck(dataset, tuple(rules))

    def rule_of(self, doc: _File, path: YamlPath, raw: dict[str, Any], dataset: Optional[str],
                view: ProjectView) -> Optional[Rule]:
        kinds = [k for k in raw if k in RULE_KINDS]
        if len(kinds) != 1:
            message = "a rule has exactly one kind" + (f"; this one has {' and '.join(kinds)}" if kinds else "")
            self.error(doc, path, message, f"one of: {', '.join(RULE_KINDS)}", where="entry")
            return None
        kind = kinds[0]
        value = raw[kind]
        params: dict[str, Any] = {"column": value} if kind in ("not_null", "unique") else ({"query": value} if kind == "sql" else dict(value))
        column = params.get("column")
        if dataset is not None and isinstance(column, str):
            self.column(doc, (*path, kind) + (() if kind in ("not_null", "unique") else ("column",)), dataset, column, view)
        if kind == "in_range" and "min" in params and "max" in params and params["min"] > params["max"]:
            self.error(doc, (*path, kind, "max"), f"max ({params['max']}) is below min ({params['min']})")
        if kind == "row_count" and "min" in params and "max" in params and params["min"] > params["max"]:
            self.error(doc, (*path, kind, "max"), f"max ({params['max']}) is below min ({params['min']})")
        if kind == "regex":
            self.regex(doc, (*path, kind, "pattern"), params["pattern"])
        if kind == "references":
            params.setdefault("to_column", params["column"])
            if self.dataset(doc, (*path, kind, "dataset"), params["dataset"], view):
                self.column(doc, (*path, kind, "to_column" if "to_column" in value else "column"),
                            params["dataset"], params["to_column"], view)
        return Rule(kind, params, raw.get("name") or _rule_name(kind, params))

    def regex(self, doc: _File, path: YamlPath, pattern: str) -> None:
        try:
            re.compile(pattern)
        except re.error as exc:
            self.error(doc, path, f"not a valid regular expression: {exc}")

    def expect_of(self, doc: _File, path: YamlPath, spec: dict[str, Any], view: ProjectView) -> tuple[Expectation, ...]:
        found = []
        for dataset, raw in spec.items():
            where: YamlPath = (*path, dataset)
            if not self.dataset(doc, where, dataset, view, "key"):
                continue
            if not any(k in raw for k in ("row_count", "rows", "values")):
                self.error(doc, where, "an expectation needs row_count, rows or values", where="key")
                continue
            rows = self.rows_of(doc, (*where, "rows"), raw["rows"]) if "rows" in raw else None
            columns = tuple(raw["columns"]) if "columns" in raw else None
            for index, column in enumerate(columns or ()):
                self.column(doc, (*where, "columns", index), dataset, column, view)
            for column in raw.get("values", {}):
                self.column(doc, (*where, "values", column), dataset, column, view)
            if rows is not None and columns is None:
                self.check_row_columns(doc, (*where, "rows"), dataset, rows, view)
            found.append(Expectation(
                dataset, raw.get("row_count"), rows, bool(raw.get("ordered", False)),
                float(raw.get("tolerance", DEFAULT_TOLERANCE)), columns,
                {k: tuple(v) for k, v in raw.get("values", {}).items()},
            ))
        return tuple(found)

    def failure_message(self, doc: _File, path: YamlPath, value: Any) -> Optional[str]:
        if isinstance(value, dict) and "message" in value:
            self.regex(doc, (*path, "expect_failure", "message"), value["message"])
            return str(value["message"])
        return None


def _rule_name(kind: str, params: dict[str, Any]) -> str:
    """A rule's default name in reports: `not_null(id)`, `in_range(amount)`, `row_count`."""
    if kind in ("row_count", "sql"):
        return kind
    if kind == "references":
        return f"references({params['column']}->{params['dataset']}.{params['to_column']})"
    return f"{kind}({params['column']})"


def parse_rule(raw: Any, dataset: str, view: ProjectView) -> Rule:
    """One quality rule written as in a test file (`{"not_null": "id"}`), checked as the loader
    checks a file's rules (schema, columns the dataset declares, regular expressions): the
    Python tests' `t.check`. ValueError naming every problem."""
    data = {"tests": [{"name": "rule", "quality": {"dataset": dataset, "rules": [raw]}}]}
    where: YamlPath = ("tests", 0, "quality", "rules", 0)
    run = _Load(Path("."), {view.key: view})
    doc = _File("<rule>", data, {})
    problems = [f"{issue.message}" + (f" ({issue.hint})" if issue.hint else "") for issue in check(data, "test")]
    rule = None
    if not problems:
        rule = run.rule_of(doc, where, raw, dataset if dataset in view.datasets else None, view)
        problems = [d.message + (f" ({d.hint})" if d.hint else "") for d in run.errors]
    if problems or rule is None:
        raise ValueError(f"invalid rule {raw!r}: {'; '.join(problems)}")
    return rule


def load_tests(root: Path, cfg: LoadedConfig) -> TestSuite:
    """Every test of `root/tests/*.yml`, checked against `cfg`; ConfigError with every problem."""
    files = list_yaml_files(Path(root), TESTS_DIR)
    run = _Load(Path(root), project_views(cfg))
    tests: list[TestCase] = []
    for rel in files:
        doc = run.read(rel)
        if doc is not None:
            tests.extend(run.tests_of(doc))
    if run.errors:
        raise ConfigError(sorted(run.errors, key=lambda d: (d.file, d.line, d.column, d.path, d.message)))
    return TestSuite(tuple(tests), tuple(files))
