"""`dataiku-iac test`: run the configuration's tests (tests/*.yml, tests/test_*.py) in an ephemeral environment.

Exit 0 when every test passes (skipped ones included), 1 when any fails or errors, or when the
configuration or a test file is wrong (then nothing is applied). docs/testing.md.
"""

from __future__ import annotations

import json
import sys
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any, Optional

import click

from dataiku_iac.cli.main import EXIT_ERROR, Context, _say_target, cli, env_option, handle_errors, json_option
from dataiku_iac.errors import ConfigError, Diagnostic, printable
from dataiku_iac.testing.interrupt import interrupts_as_keyboard
from dataiku_iac.testing.isolation import key_suffix
from dataiku_iac.testing.model import ERROR, FAILED, PASSED, SKIPPED, Outcome
from dataiku_iac.testing.report import junit_xml, run_json, run_junit_xml, summary_line
from dataiku_iac.testing.session import RunResult, TestOptions, TestRun

_MARKS = {PASSED: ("PASSED", "green"), FAILED: ("FAILED", "red"), ERROR: ("ERROR", "red"), SKIPPED: ("SKIPPED", "yellow")}


@cli.command("test")
@env_option
@click.option("-k", "pattern", metavar="PATTERN", help="Only the tests whose id (tests/FILE.yml::NAME, tests/test_FILE.py::FUNCTION) contains PATTERN ('not PATTERN': the others).")
@click.option("--junit-xml", "junit", type=click.Path(dir_okay=False, path_type=Path), help="Write a JUnit XML report to FILE.")
@click.option("--coverage-report", "coverage_file", type=click.Path(dir_okay=False, path_type=Path), help="Write the coverage report (JSON) to FILE.")
@click.option("--parallel", type=click.IntRange(1, 32), default=1, show_default=True, help="Tests run at once (tests sharing a dataset wait for each other).")
@click.option("--run-skipped", is_flag=True, help="Also run the tests marked skip.")
@click.option("--keep", is_flag=True, help="Keep the test environment for debugging (the next run removes it).")
@json_option
@click.pass_obj
@handle_errors()
def test_command(obj: Context, environment: str, pattern: Optional[str], junit: Optional[Path], coverage_file: Optional[Path],
                 parallel: int, run_skipped: bool, keep: bool, as_json: bool) -> None:
    """Run the tests of tests/*.yml and tests/test_*.py in an ephemeral copy of the environment, then destroy it."""
    obj.json_output = as_json
    printer = _Printer(obj, enabled=not as_json)
    said: list[bool] = []

    def say_target_once(target: Any) -> None:  # several sessions (leftovers, the run): one line
        if not said and not as_json:
            said.append(True)
            _say_target(target)

    run = TestRun(obj.root, environment, TestOptions(pattern, parallel, keep, run_skipped), on_event=printer,
                  session_kwargs={"on_target": say_target_once})
    try:
        suite = run.check()  # every problem of the configuration and the test files, before DSS
    except Exception as exc:
        if junit is not None:
            _write(junit, junit_xml([], [], 0.0, error=_refusal(exc)))
        raise
    printer.collected(len(suite.selected(pattern).tests), len(suite.tests))
    with interrupts_as_keyboard():
        try:
            result = run.run()
        except KeyboardInterrupt:  # Ctrl-C or SIGTERM: the environment is destroyed; the report still written
            if junit is not None and run.result is not None:
                interrupted = replace(run.result, error=run.result.error or "interrupted (Ctrl-C or SIGTERM) before the run ended")
                _write(junit, run_junit_xml(interrupted, environment))
            raise
    if junit is not None:
        _write(junit, run_junit_xml(result, environment))
    if coverage_file is not None:
        _write(coverage_file, (json.dumps(result.coverage.to_json(), indent=2) + "\n").encode("utf-8"))
    failed = result.error is not None or any(o.status in (FAILED, ERROR) for o in result.outcomes)
    if as_json:
        click.echo(json.dumps(run_json(result, environment), indent=2, default=str))
    else:
        printer.summary(result)
    if failed:
        sys.exit(EXIT_ERROR)
    if _no_test_ran(result):
        sys.exit(EXIT_NO_TESTS)


EXIT_NO_TESTS = 5  # as pytest: no test was selected (-k matched nothing, or there are none), so none ran


def _no_test_ran(result: RunResult) -> bool:
    """A gate that ran nothing must not pass green: no outcome at all (a skipped test has one)."""
    return result.error is None and not result.outcomes


def _refusal(exc: Exception) -> str:
    """The JUnit <error> text of a refused configuration or test file: every problem with its
    file:line, for a CI page that shows only the JUnit report."""
    head = "the configuration or a test file is invalid"
    if isinstance(exc, ConfigError) and exc.diagnostics:
        return head + ":\n" + "\n".join(d.render() for d in exc.diagnostics)
    return f"{head}: {exc}"


def _write(path: Path, body: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(body)
    tmp.replace(path)


class _Printer:
    """Progress, one line per test outcome, then pytest's closing lines."""

    def __init__(self, obj: Context, enabled: bool):
        self.obj = obj
        self.enabled = enabled
        self.lock = threading.Lock()

    def echo(self, text: str, color: Optional[str] = None, err: bool = False) -> None:
        if self.enabled:
            click.echo(self.obj.style(printable(text, keep_newlines=True), color) if color else printable(text, keep_newlines=True), err=err)

    def collected(self, selected: int, total: int) -> None:
        more = f" ({total - selected} deselected by -k)" if selected != total else ""
        self.echo(f"collected {selected} test{'s' if selected != 1 else ''}{more}")

    def __call__(self, kind: str, payload: Any) -> None:
        with self.lock:
            if kind == "warnings":
                for warning in payload:
                    if isinstance(warning, Diagnostic):
                        self.echo(warning.render(), err=True)
            elif kind == "environment":
                self.echo(f"test environment {payload.run_id}: project keys suffixed {key_suffix(payload.run_id)}, "
                          f"state in {payload.path}")
            elif kind == "apply":
                self.echo("applying the configuration to the test environment...")
            elif kind == "destroy":
                self.echo(f"destroying the test environment {payload.run_id}...")
            elif kind == "leftover":
                self.echo(f"removing leftover test environment {payload.run_id} (process {payload.pid} is gone)")
            elif kind == "note":
                self.echo(f"note: {payload}", "yellow", err=True)
            elif kind == "outcomes":
                for outcome in payload:
                    self.outcome(outcome)

    def outcome(self, outcome: Outcome) -> None:
        label, color = _MARKS[outcome.status]
        where = " (offline)" if outcome.offline else ""
        line = f"{outcome.id} {self.obj.style(label, color)}{where} ({outcome.seconds:.2f}s)"
        if self.enabled:
            click.echo(line)

    def summary(self, result: RunResult) -> None:
        bad = [o for o in result.outcomes if o.status in (FAILED, ERROR)]
        if bad:
            self.echo("\n=================================== FAILURES ===================================")
            for outcome in bad:
                self.echo(f"___ {outcome.id} ___", "red")
                if outcome.message not in outcome.details:
                    self.echo(outcome.message)
                if outcome.details:
                    self.echo(outcome.details)
        if result.error:
            self.echo(f"\nError: {result.error}", "red")
        if result.kept:
            self.echo(f"\nThe test environment is kept in {result.kept} (the next run removes it).")
        self.echo("\n" + result.coverage.line())
        if bad:
            self.echo("short test summary info")
            for outcome in bad:
                self.echo(f"{outcome.status.upper()} {outcome.id} - {outcome.message.splitlines()[0] if outcome.message else ''}")
        color = "red" if bad or result.error else "green"
        self.echo(f"{'=' * 20} {summary_line(result.outcomes, result.seconds)} {'=' * 20}", color)
