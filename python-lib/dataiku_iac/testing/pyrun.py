"""Running one Python test function: call it with a `TestContext`, turn how it ended into an
Outcome as a YAML test's (passed; failed for an AssertionError, with the diff and the file:line
of the failing assert; error for anything else, with the test file's part of the traceback;
skipped), and record for coverage what it touched."""

from __future__ import annotations

import traceback
from pathlib import Path
from typing import Optional

from .api import BuildError, RowsMismatch, Skipped, TestContext
from .model import ERROR, FAILED, PASSED, SKIPPED, Outcome, TestCase
from .pyload import NOT_RUN_HERE
from .runner import Target, TestError

_PACKAGE = Path(__file__).resolve().parents[1]  # dataiku_iac/: its frames are left out of tracebacks
MAX_TRACEBACK_FRAMES = 8


def run_python(test: TestCase, target: Target) -> Outcome:
    if test.function is None:  # listed without being imported (Python tests not run here)
        return Outcome(test, test.name, SKIPPED, NOT_RUN_HERE)
    context = TestContext(test, target)
    outcome = _call(test, context)
    outcome.recipes = tuple(context.recipes_run)
    outcome.datasets = tuple(sorted(context.datasets_checked))
    outcome.columns = tuple(sorted(context.columns_checked))
    return outcome


def _call(test: TestCase, context: TestContext) -> Outcome:
    assert test.function is not None
    try:
        test.function(context)
    except Skipped as exc:
        return Outcome(test, test.name, SKIPPED, str(exc))
    except RowsMismatch as exc:
        where = _where(test, exc)
        return Outcome(test, test.name, FAILED, exc.summary, details=_with_place(str(exc), where, exc), where=where)
    except AssertionError as exc:
        where = _where(test, exc)
        text = str(exc) or "assert failed"
        return Outcome(test, test.name, FAILED, text.splitlines()[0], details=_with_place(text, where, exc), where=where)
    except BuildError as exc:
        where = _where(test, exc)
        return Outcome(test, test.name, ERROR, exc.message, details=_with_place(exc.log, where, exc), where=where)
    except TestError as exc:
        where = _where(test, exc)
        return Outcome(test, test.name, ERROR, str(exc), details=_with_place("", where, exc), where=where)
    except SystemExit as exc:  # sys.exit() in a test must not end the run (its environment would stay)
        where = _where(test, exc)
        return Outcome(test, test.name, ERROR, f"the test called sys.exit({exc.code!r})", details=_traceback(exc), where=where)
    except Exception as exc:
        where = _where(test, exc)
        message = f"{type(exc).__name__}: {' '.join(str(exc).split())}"
        return Outcome(test, test.name, ERROR, message, details=_traceback(exc), where=where)
    return Outcome(test, test.name, PASSED)


def _where(test: TestCase, exc: BaseException) -> str:
    """file:line of the last frame of the test file the exception went through (the failing
    assert, or the call of the context that failed)."""
    line = _line_in(Path(test.file), exc)
    return f"{test.file}:{line}" if line else test.file


def _line_in(rel: Path, exc: BaseException) -> Optional[int]:
    found = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if Path(frame.filename).as_posix().endswith("/" + rel.as_posix()):
            found = frame.lineno
    return found


def _with_place(text: str, where: str, exc: BaseException) -> str:
    """pytest's last line of a failure: `tests/test_orders.py:12: AssertionError`."""
    return "\n".join(p for p in (text, f"{where}: {type(exc).__name__}") if p)


def _traceback(exc: BaseException) -> str:
    """The traceback without dataiku-iac's own frames (the user's code, the libraries it called)."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if not Path(f.filename).resolve().is_relative_to(_PACKAGE)]
    lines = traceback.format_list(frames[-MAX_TRACEBACK_FRAMES:])
    return "".join(lines + traceback.format_exception_only(type(exc), exc)).rstrip()
