"""One `dataiku-iac test` run: check the configuration and the test files (every problem at
once, before any DSS request), remove what dead runs left, apply the configuration into an
ephemeral environment, run the tests, destroy the environment (also after a failure or an
interrupt; `keep` leaves it for debugging, until the next run removes it).

The CLI calls this and prints; this never prints: `on_event(kind, payload)` tells progress.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Optional

from ..address import project_address_of
from ..config import load_config
from ..engine.pipeline import state_with_journal
from ..engine.session import Session
from ..errors import ConfigError, Diagnostic, IacError
from ..planner.plan import PlanOptions
from . import isolation
from .loader import load_tests, project_views
from .model import PYTHON, Outcome, TestCase, TestSuite
from .pyload import RUN, load_python_tests
from .pyrun import run_python
from .report import Coverage, coverage, offline_schema_outcomes
from .runner import Target, run_tests

EventSink = Callable[[str, Any], None]


@dataclass
class TestOptions:
    __test__ = False  # not a pytest class

    pattern: Optional[str] = None
    parallel: int = 1
    keep: bool = False
    run_skipped: bool = False  # run the tests marked `skip` too
    parallelism: int = 4  # concurrent DSS calls of the apply and the destroy
    # tests/test_*.py: RUN (imported and run: user code, as pytest runs it), SKIP (listed as
    # skipped from their source, never imported) or REFUSE (an error before anything is applied);
    # where user code must not run (inside DSS), SKIP or REFUSE
    python_tests: str = RUN


@dataclass
class RunResult:
    outcomes: list[Outcome]
    coverage: Coverage
    seconds: float
    files: tuple[str, ...]
    run_id: str = ""
    kept: Optional[str] = None  # the run directory left for debugging (--keep, or a failed destroy)
    error: Optional[str] = None  # the run stopped outside the tests (the apply failed)
    project_keys: dict[str, str] = field(default_factory=dict)
    phases: dict[str, float] = field(default_factory=dict)  # seconds per phase


class TestRun:
    __test__ = False  # not a pytest class

    def __init__(self, root: Path, environment: str, options: TestOptions, *, environ: Optional[dict] = None,
                 on_event: EventSink = lambda kind, payload: None, session_kwargs: Optional[dict] = None):
        self.root = Path(root)
        self.environment = environment
        self.options = options
        self.environ = environ
        self.on_event = on_event
        self.session_kwargs = session_kwargs or {}
        self.suite: Optional[TestSuite] = None
        self.result: Optional[RunResult] = None

    def _finished(self, result: RunResult, outcomes: list[Outcome]) -> None:
        result.outcomes.extend(outcomes)  # so far: replaced by the whole list when the tests end
        self.on_event("outcomes", outcomes)

    def _session(self, root: Path, environment: str) -> Session:
        return Session(root, environment, environ=self.environ, parallelism=self.options.parallelism, **self.session_kwargs)

    # -- offline ----------------------------------------------------------------------------
    def check(self) -> TestSuite:
        """The configuration and the test files, checked together: ConfigError with every
        problem of both (file:line), before any DSS request."""
        errors: list[Diagnostic] = []
        warnings: list[Diagnostic] = []
        session = self._session(self.root, self.environment)
        try:
            cfg = session.config
            warnings = list(cfg.warnings)
        except ConfigError as exc:
            errors.extend(exc.diagnostics)
            warnings = list(exc.warnings)
            cfg = load_config(self.root, self.environment, strict=False)
        try:
            suite = load_tests(self.root, cfg)
        except ConfigError as exc:
            errors.extend(exc.diagnostics)
            suite = TestSuite((), ())
        python = load_python_tests(self.root, project_views(cfg), self.options.python_tests)
        errors.extend(python.errors)
        files = tuple(sorted({*suite.files, *python.files}))
        order = {f: i for i, f in enumerate(files)}
        suite = TestSuite(tuple(sorted((*suite.tests, *python.tests), key=lambda t: order[t.file])), files)
        if not errors:
            try:
                session.connection()  # the DSS URL and API key can be read (no request yet)
            except ConfigError as exc:
                errors.extend(exc.diagnostics)
        if errors:
            raise ConfigError(sorted(errors, key=lambda d: (d.file, d.line, d.column, d.path, d.message)), warnings)
        self.config = cfg
        self.views = project_views(cfg)
        self.suite = suite
        if warnings:
            self.on_event("warnings", warnings)
        return suite

    # -- the run ----------------------------------------------------------------------------
    def run(self) -> RunResult:
        started = time.monotonic()
        suite = self.suite or self.check()
        selected = suite.selected(self.options.pattern)
        tests = [replace(t, skip=None) if self.options.run_skipped and not _unimported(t) else t for t in selected.tests]
        selected = TestSuite(tuple(tests), selected.files)
        offline = offline_schema_outcomes(selected, self.views)
        cov = coverage(tests, self.views)
        result = RunResult([], cov, 0.0, suite.files)
        self.result = result  # filled as the run goes: what an interrupted run's report says
        owner = isolation.owner_digest(self.environment, sorted(self.views))
        phase = time.monotonic()
        self.remove_leftovers(owner)
        result.phases["cleanup"] = time.monotonic() - phase
        if not tests:
            result.seconds = time.monotonic() - started
            return result
        run = isolation.prepare_run(self.root, self.environment, self._dataset_items(), keep=self.options.keep,
                                    scenarios=self._scenario_ids())
        result.run_id = run.run_id
        self.on_event("environment", run)
        session = self._session(run.config, run.test_environment)
        try:
            phase = time.monotonic()
            self._apply(session, run, owner, result)
            result.phases["apply"] = time.monotonic() - phase
            phase = time.monotonic()
            connection = session.connection()
            target = Target(connection.client, result.project_keys, self.views, root=self.root, run_id=run.run_id,
                            python=run_python if self.options.python_tests == RUN else None)
            result.outcomes = run_tests(
                tests, target, parallel=self.options.parallel, offline=offline,
                on_start=lambda t: self.on_event("start", t), on_outcomes=lambda o: self._finished(result, o),
            )
            result.phases["tests"] = time.monotonic() - phase
            result.coverage = coverage(tests, self.views, result.outcomes)  # with what Python tests touched
        except IacError as exc:
            result.error = str(exc)
        finally:
            phase = time.monotonic()
            if self.options.keep:
                result.kept = str(run.path)
            else:
                result.kept = self._destroy(run, "the test environment")
            result.phases["destroy"] = time.monotonic() - phase
            result.seconds = time.monotonic() - started
        return result

    def _dataset_items(self) -> dict[str, list[dict[str, Any]]]:
        found: dict[str, list[dict[str, Any]]] = {}
        for doc in self.config.projects:
            if doc.key is None:
                continue
            items = doc.data.get("datasets")
            found.setdefault(doc.key, []).extend(
                i for i in (items if isinstance(items, list) else []) if isinstance(i, dict) and isinstance(i.get("name"), str))
        return found

    def _scenario_ids(self) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for doc in self.config.projects:
            items = doc.data.get("scenarios")
            if doc.key is not None and isinstance(items, list):
                found.setdefault(doc.key, []).extend(str(i["id"]) for i in items if isinstance(i, dict) and isinstance(i.get("id"), str))
        return found

    def _apply(self, session: Session, run: isolation.RunDir, owner: str, result: RunResult) -> None:
        self.on_event("apply", run)
        result.project_keys = {r.config_project: r.project_key for r in session.desired.resources.values()
                               if r.type == "project"}
        _planned, applied = session.apply(PlanOptions(), on_event=lambda *a: self.on_event("action", a))
        client = session.connection().client()
        for key in result.project_keys.values():  # marked even after a partial apply: found again if killed
            try:
                isolation.mark_project(client, key, run, owner)
            except Exception:
                continue  # not created: nothing to mark
        if applied is None or not applied.ok:
            failed = ", ".join(f"{a}: {m}" for a, m in (applied.failed.items() if applied else []))
            raise IacError(f"applying the configuration to the test environment failed{': ' + failed if failed else ''}")

    def _destroy(self, run: isolation.RunDir, what: str) -> Optional[str]:
        """Destroy what the run's state owns, then remove its directory. The directory is kept
        (and its path returned) when the destroy fails: the next run tries again."""
        self.on_event("destroy", run)
        keys: list[str] = []
        try:
            session = self._session(run.config, run.test_environment)
            projects, keys = _owned_projects(session)
            if projects:  # a run that died before creating anything owns nothing: no destroy to plan
                # Only the run's own projects, each one its state (or journal) holds something in:
                # a --force-delete naming a project the plan deletes nothing in is refused.
                options = PlanOptions(destroy=True, drop_data=True, allow_destroy=True, force_delete=tuple(projects))
                _planned, applied = session.apply(options)
                if applied is not None and not applied.ok:
                    raise IacError(", ".join(f"{a}: {m}" for a, m in applied.failed.items()) or "the destroy stopped")
        except (IacError, OSError) as exc:
            named = f"project {', '.join(keys)}; " if keys else ""
            self.on_event("note", f"{what} ({run.run_id}; {named}configuration {run.test_environment}) could not be "
                                  f"destroyed: {exc}; the next run tries again")
            return str(run.path)
        isolation.remove_run_dir(run)
        return None

    def remove_leftovers(self, owner: str) -> None:
        """What dead runs of this configuration left: their states' objects (destroyed through
        their own states), then marked projects whose run directory is gone."""
        live = set()
        for run in isolation.list_runs(self.root):
            if run.environment != self.environment:
                continue
            if run.alive():
                live.add(run.run_id)
                continue
            self.on_event("leftover", run)
            if self._destroy(run, "a leftover test environment") is not None:
                live.add(run.run_id)  # its state still owns it: never delete behind it
        try:
            client = self._session(self.root, self.environment).connection().client()
            orphans = isolation.orphan_projects(client, owner, live, lambda note: self.on_event("note", note))
        except IacError as exc:
            self.on_event("note", f"leftover projects not checked: {exc}")
            return
        for key in orphans:
            self.on_event("note", f"deleting project {key}, left by a dead test run of this configuration")
            client.get_project(key).delete(clear_managed_datasets=True)


def _owned_projects(session: Session) -> tuple[list[str], list[str]]:
    """The config addresses (`project.KEY`) of the projects the run's state owns something in,
    an interrupted apply's journal included, and their DSS keys in the test environment."""
    state, pending, _journaled = state_with_journal(session.state_reader())
    addresses = {project_address_of(a) for a in state.resources}
    addresses |= {project_address_of(str(i["address"])) for i in pending if isinstance(i.get("address"), str)}
    keys = sorted({r.project_key for r in state.resources.values() if r.project_key})
    return sorted(addresses), keys


def _unimported(test: TestCase) -> bool:
    """A Python test listed from its source only (python_tests=SKIP): it stays skipped."""
    return test.kind == PYTHON and test.function is None
