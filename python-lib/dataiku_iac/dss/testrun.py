"""The configuration's tests, run inside DSS: what the `run-tests` macro and scenario step call.

The same run as `dataiku-iac test` (`testing/session.py`): the configuration (from a project
library folder, a Git repository or a directory, like every other component) is applied into
an ephemeral environment of **the same DSS** (project keys suffixed `_T<run id>`, its own state
inside a temporary copy), the tests run, the environment is destroyed. Every DSS call is made
with the caller's client (the macro's user, the scenario's run-as user); `{secret_env: NAME}`
reads the caller's DSS user secrets, never the DSS process environment (docs/security.md).

Python test files (`tests/**/*.py`) are code: they run here only when a DSS administrator allows
it in the plugin's settings (`allow_python_tests`); otherwise they are removed from the run's
copy before anything is loaded, and each is reported as skipped with the reason.

The report (JUnit XML, JSON, coverage, HTML) goes into a managed folder of the project the
component runs in: `tests/<env>/runs/<UTC time>-<run id>/` for each run, and the same files in
`tests/<env>/latest/` (docs/testing.md, "Inside DSS").
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

from dataiku_iac.dss import html as render
from dataiku_iac.dss import python_configs
from dataiku_iac.dss.permissions import Caller, ClientFactory, check_permission
from dataiku_iac.dss.user_secrets import for_client_user
from dataiku_iac.errors import IacError
from dataiku_iac.output.text import Style
from dataiku_iac.secrets import SecretSource
from dataiku_iac.sources import describe_source, materialize
from dataiku_iac.testing.model import PYTHON, SKIPPED, Outcome, TestCase, TestSuite
from dataiku_iac.testing.pyload import RUN, SKIP
from dataiku_iac.testing.report import failing, render_run, run_json, run_junit_xml, summary_line
from dataiku_iac.testing.session import RunResult, TestOptions, TestRun

#: the plugin-level setting (plugin.json `params`, edited by DSS administrators only) that lets
#: the in-DSS runner execute Python test files
PYTHON_TESTS_SETTING = "allow_python_tests"
WITHHELD_REASON = (
    "Python test files do not run inside DSS unless a DSS administrator allows them "
    "(Administration > Plugins > dataiku-iac > Settings > Run Python test files; docs/security.md)"
)
REPORT_ROOT = "tests"  # in the report folder: tests/<env>/runs/<stamp>-<run id>/ and tests/<env>/latest/
REPORT_FILES = ("junit.xml", "coverage.json", "report.html", "report.json")  # report.json last: it says the run is complete
MAX_NAMED = 10  # failing tests named in a step's error; the report has them all

EventSink = Callable[[str, Any], None]


@dataclass
class TestReport:
    """A finished in-DSS run: the engine's result, and what was not run."""

    __test__ = False  # not a pytest class

    result: RunResult
    environment: str
    source: dict
    started: float  # epoch seconds
    withheld: list[str] = field(default_factory=list)  # Python test files not run
    written: str = ""  # where the report went ("" before `write_report`)

    @property
    def ok(self) -> bool:
        return self.result.error is None and not failing(self.result.outcomes)

    @property
    def stamp(self) -> str:
        return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(self.started))

    def junit_xml(self) -> bytes:
        return run_junit_xml(self.result, self.environment)

    def to_json(self) -> dict:
        body = run_json(self.result, self.environment)
        body.update(source=self.source, python_tests={"run": not self.withheld, "withheld": self.withheld},
                    test_projects=self.result.project_keys)
        return body

    def text(self, style: Style = Style()) -> str:
        return render_run(self.result, style)

    def summary(self) -> str:
        """One line naming the failing tests (a failed step's message, which DSS's run page and
        mail reporters show)."""
        outcome = "passed" if self.ok else "failed"
        line = f"tests {outcome} in environment {self.environment}: {summary_line(self.result.outcomes, self.result.seconds)}"
        bad = failing(self.result.outcomes)
        if bad:
            named = ", ".join(f"{o.id} ({o.status})" for o in bad[:MAX_NAMED])
            line += f": {named}" + (f" and {len(bad) - MAX_NAMED} more" if len(bad) > MAX_NAMED else "")
        if self.result.error:
            line += f"; the run stopped: {self.result.error}"
        return line


def run_tests(
    client_factory: ClientFactory,
    caller: Caller,
    source_spec: dict,
    environment: str,
    *,
    pattern: Optional[str] = None,
    keep: bool = False,
    python_tests: bool = False,
    parallel: int = 1,
    environ: Optional[dict] = None,
    cache_dir: Optional[Path] = None,
    secrets: Optional[SecretSource] = None,
    on_event: EventSink = lambda kind, payload: None,
) -> tuple[TestReport, str]:
    """Run the configuration's tests in an ephemeral environment of this DSS, then destroy it
    (also when interrupted: the caller turns DSS's abort into KeyboardInterrupt with
    `testing.interrupt.interrupts_as_keyboard`, and the destroy runs before it propagates).
    A bad configuration or test file raises ConfigError before any DSS change. Returns the
    report and its HTML page."""
    check_permission(client_factory, caller, "test", ())
    if secrets is None:
        secrets = for_client_user(client_factory, caller.login)
    started = time.time()
    work = Path(tempfile.mkdtemp(prefix="dataiku-iac-test-"))
    try:
        root, provenance = materialize(source_spec, client_factory=client_factory, work_dir=work, cache_dir=cache_dir,
                                       user=caller.login)
        python_configs.check(root)  # Python project files: only when an administrator allows them
        withheld = [] if python_tests else withhold_python_tests(root)
        # Not allowed: the files are gone, and the runner is told not to import any either.
        options = TestOptions(pattern=pattern, parallel=parallel, keep=keep, python_tests=RUN if python_tests else SKIP)
        run = TestRun(root, environment, options, environ=environ,
                      on_event=on_event,
                      session_kwargs={"client_factory": client_factory, "secrets": secrets, "source": provenance,
                                      "throwaway_state": True})
        run.check()  # every problem of the configuration and the test files, before DSS
        result = run.run()
        if keep:
            result.kept = None  # the run's directory goes with `work`: the projects stay, the next run removes them
        result.outcomes.extend(withheld_outcomes(withheld, pattern))
        source = dict(provenance)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report = TestReport(result, environment, source, started, withheld)
    return report, report_html(report, describe_source(source), keep=keep)


# -- Python test files ----------------------------------------------------------------------------
def withhold_python_tests(root: Path) -> list[str]:
    """Remove every `*.py` under `root/tests` (test files and any helper they import) from the
    run's copy, so that nothing can load them; returns their paths, relative to `root`."""
    base = root / "tests"
    if not base.is_dir():
        return []
    found = sorted(p for p in base.rglob("*.py") if p.is_file() or p.is_symlink())
    for path in found:
        path.unlink()
    return [p.relative_to(root).as_posix() for p in found]


def is_test_file(rel: str) -> bool:
    """`tests/test_*.py`, directly in tests/: the files the runner collects tests from (the
    other `.py` files of tests/ are helpers a test file may import)."""
    folder, _, name = rel.rpartition("/")
    return folder == "tests" and name.startswith("test_") and name.endswith(".py")


def withheld_outcomes(files: list[str], pattern: Optional[str]) -> list[Outcome]:
    """One skipped outcome per withheld test file (those `-k` selects), so that reports show
    them (nothing of the file was read: its test functions are not named)."""
    tests = [f for f in files if is_test_file(f)]
    cases = tuple(TestCase(name="all tests of the file", file=f, line=1, project="", kind=PYTHON,
                           skip=WITHHELD_REASON) for f in tests)
    selected = TestSuite(cases, tuple(tests)).selected(pattern).tests
    return [Outcome(case, case.name, SKIPPED, WITHHELD_REASON) for case in selected]


# -- the report ---------------------------------------------------------------------------------------
def report_html(report: TestReport, source: str, *, keep: bool = False) -> str:
    result = report.result
    kept = ", ".join(sorted(result.project_keys.values())) if keep and result.project_keys else ""
    rows = [
        ("Environment", report.environment),
        ("Configuration", source),
        ("Run", f"{result.run_id} ({report.stamp})" if result.run_id else report.stamp),
        ("Kept for debugging", f"{kept} (the next run removes them)" if kept else ""),
        ("Report", report.written),
    ]
    verdict = render.alert("ok" if report.ok else "error", report.summary())
    body = render.meta_table(rows) + verdict + render.pre(report.text(render.HtmlStyle()))
    return render.page("dataiku-iac test", body)


def write_report(client_factory: ClientFactory, project_key: str, folder: str, report: TestReport) -> str:
    """Write the run's files into `folder` (a managed folder of `project_key`, by id or name):
    `tests/<env>/runs/<stamp>-<run id>/` then `tests/<env>/latest/`. Written with the caller's
    client: DSS checks they may write that project. Returns where (for messages)."""
    handle = _folder(client_factory(), project_key, folder)
    base = f"{REPORT_ROOT}/{report.environment}"
    run_dir = f"{base}/runs/{report.stamp}-{report.result.run_id or 'none'}"
    report.written = f"managed folder {folder} of {project_key}: /{base}/latest/ (this run: /{run_dir}/)"
    files = _report_files(report)
    for directory in (run_dir, f"{base}/latest"):
        for name in REPORT_FILES:
            handle.put_file(f"/{directory}/{name}", files[name])
    return report.written


def _report_files(report: TestReport) -> dict[str, bytes]:
    body = report.to_json()
    return {
        "junit.xml": report.junit_xml(),
        "coverage.json": (json.dumps(body["coverage"], indent=2) + "\n").encode("utf-8"),
        "report.html": report_html(report, describe_source(report.source)).encode("utf-8"),
        "report.json": (json.dumps(body, indent=2, default=str) + "\n").encode("utf-8"),
    }


def _folder(client: Any, project_key: str, folder: str) -> Any:
    project = client.get_project(project_key)
    folders = project.list_managed_folders()
    ids = [f["id"] for f in folders if f.get("id") == folder] or [f["id"] for f in folders if f.get("name") == folder]
    if len(ids) != 1:
        raise IacError(f"report_folder: project {project_key} has no managed folder {folder!r} (by id or name)"
                       if not ids else f"report_folder: several managed folders of {project_key} are named {folder!r}: use its id")
    return project.get_managed_folder(ids[0])
