"""tests/test_*.py: which files and functions are collected, every problem of every file at once
with file:line (syntax, PROJECT, signatures, imports), the modes that keep user code from running,
and the asserts that explain themselves. No DSS, no subprocess."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from dataiku_iac.errors import ConfigError
from dataiku_iac.testing import api, explain
from dataiku_iac.testing.flow import touched
from dataiku_iac.testing.loader import ProjectView, parse_rule
from dataiku_iac.testing.model import ERROR, FAILED, PASSED, PYTHON, SKIPPED, TestCase
from dataiku_iac.testing.pyload import NOT_RUN_HERE, REFUSE, SKIP, list_python_test_files, load_python_tests
from dataiku_iac.testing.pyrun import run_python
from dataiku_iac.testing.runner import Target, run_one
from dataiku_iac.testing.session import TestOptions, TestRun

VIEWS = {"SHOP": ProjectView("SHOP", {"orders": ["id", "amount"], "customers": None})}
TWO = {**VIEWS, "CRM": ProjectView("CRM", {"contacts": None})}


def _write(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "cfg"
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(textwrap.dedent(text), encoding="utf-8")
    return root


def _errors(root: Path, views: dict[str, ProjectView] = VIEWS, mode: str = "run") -> list[str]:
    return [d.render() for d in load_python_tests(root, views, mode).errors]


def test_only_test_star_py_files_directly_in_tests_are_collected(tmp_path: Path) -> None:
    root = _write(tmp_path, {
        "tests/test_b.py": "def test_one(t):\n    pass\n",
        "tests/test_a.py": "def test_two(t):\n    pass\n",
        "tests/helpers.py": "def test_not_collected(t):\n    pass\n",
        "tests/conftest.py": "",
        "tests/sub/test_deeper.py": "def test_x(t):\n    pass\n",
        "tests/orders.yml": "tests: []\n",
    })
    assert list_python_test_files(root) == ["tests/test_a.py", "tests/test_b.py"]


def test_module_level_test_functions_are_collected_with_their_line_and_project(tmp_path: Path) -> None:
    root = _write(tmp_path, {"tests/test_orders.py": '''\
        import helpers                     # a sibling module of tests/ is importable
        from helpers import test_imported  # not defined here: not collected
        from dataiku_iac.testing.api import skip

        def test_first(t):
            """Reads the orders."""

        def testing_is_collected_too(t, limit=3):
            pass

        @skip("waiting for data")
        def test_skipped(t):
            pass

        def helper(t):
            pass

        class TestNotCollected:
            def test_method(self, t):
                pass
        ''', "tests/helpers.py": "def test_imported(t):\n    pass\n"})
    found = load_python_tests(root, VIEWS)
    assert found.errors == []
    assert [(t.id, t.line, t.project, t.kind, t.skip) for t in found.tests] == [
        ("tests/test_orders.py::test_first", 5, "SHOP", PYTHON, None),
        ("tests/test_orders.py::testing_is_collected_too", 8, "SHOP", PYTHON, None),
        ("tests/test_orders.py::test_skipped", 12, "SHOP", PYTHON, "waiting for data"),
    ]
    assert found.tests[0].description == "Reads the orders." and callable(found.tests[0].function)


def test_every_problem_of_every_file_at_once_with_file_and_line(tmp_path: Path) -> None:
    root = _write(tmp_path, {
        "tests/test_syntax.py": "def test_a(t):\n    x = (\n",
        "tests/test_signatures.py": '''\
            async def test_async(t):
                pass

            def test_none():
                pass

            def test_two(t, other):
                pass

            def test_generator(t):
                yield 1

            def test_keyword(t, *, k):
                pass

            def test_twice(t):
                pass

            def test_twice(t):
                pass

            def test_fine(t, *args, k=1, **kw):
                def inner():
                    yield 1
            ''',
        "tests/test_import.py": "import os\n\nimport no_such_module_here\n",
        "tests/test_helper.py": "import broken_helper\n",
        "tests/broken_helper.py": "\nvalue = 1 / 0\n",
        "tests/test_exit.py": "raise SystemExit(3)\n",
    })
    assert _errors(root) == [
        "tests/test_exit.py:1: error: importing the file failed: SystemExit: 3",
        f"tests/test_helper.py:1: error: importing the file failed: ZeroDivisionError: division by zero "
        f"(raised in {root.resolve() / 'tests' / 'broken_helper.py'}:2)",
        "tests/test_import.py:3: error: importing the file failed: ModuleNotFoundError: No module named 'no_such_module_here'",
        "tests/test_signatures.py:1:1: error: test function test_async is 'async def': a test function is a plain def",
        "tests/test_signatures.py:4:1: error: test function test_none: it takes no argument; it must take one, the test context "
        "(write it as: def test_none(t):  (t: the test context, dataiku_iac.testing.api.TestContext))",
        "tests/test_signatures.py:7:1: error: test function test_two: it takes 2 required arguments (t, other); it must take one, "
        "the test context (write it as: def test_two(t):  (t: the test context, dataiku_iac.testing.api.TestContext))",
        "tests/test_signatures.py:10:1: error: test function test_generator: it is a generator (it has 'yield'): a test function "
        "runs to its end and returns nothing (write it as: def test_generator(t):  (t: the test context, "
        "dataiku_iac.testing.api.TestContext))",
        "tests/test_signatures.py:13:1: error: test function test_keyword: keyword-only argument(s) without a default: k "
        "(write it as: def test_keyword(t):  (t: the test context, dataiku_iac.testing.api.TestContext))",
        "tests/test_signatures.py:19:1: error: test function test_twice is defined twice (first at line 16): the second hides the first",
        "tests/test_syntax.py:2:9: error: syntax error: '(' was never closed",
    ]


def test_the_project_is_named_when_there_are_several_and_must_exist(tmp_path: Path) -> None:
    root = _write(tmp_path, {
        "tests/test_none.py": "def test_a(t):\n    pass\n",
        "tests/test_typo.py": 'PROJECT = "CRMM"\n',
        "tests/test_computed.py": 'PROJECT = "C" + "RM"\n',
        "tests/test_good.py": 'PROJECT: str = "CRM"\n\ndef test_b(t):\n    pass\n',
    })
    found = load_python_tests(root, TWO)
    assert [d.render() for d in found.errors] == [
        "tests/test_computed.py:1:1: error: PROJECT: PROJECT must be a string literal: a project key as written in projects/",
        'tests/test_none.py:1:1: error: PROJECT is required: the configuration has several projects (add e.g. PROJECT = "CRM" (one of: CRM, SHOP))',
        "tests/test_typo.py:1:11: error: PROJECT: no project 'CRMM' in the configuration (projects/*.yml) (did you mean 'CRM'?)",
    ]
    assert [(t.id, t.project) for t in found.tests] == [("tests/test_good.py::test_b", "CRM")]


def test_where_user_code_must_not_run_files_are_skipped_unread_or_refused(tmp_path: Path) -> None:
    root = _write(tmp_path, {"tests/test_side_effect.py": f'''\
        open({str(tmp_path / "ran")!r}, "w").close()

        def test_a(t):
            pass
        '''})
    skipped = load_python_tests(root, VIEWS, SKIP)
    assert skipped.errors == [] and [(t.name, t.function) for t in skipped.tests] == [("test_a", None)]
    assert skipped.tests[0].skip is not None and "not run here" in skipped.tests[0].skip
    assert _errors(root, mode=REFUSE) == [
        "tests/test_side_effect.py: error: Python test files are not run here (they are code): run them with "
        "`dataiku-iac test` on a machine you trust"]
    assert not (tmp_path / "ran").exists(), "neither mode may import the file"
    assert load_python_tests(root, VIEWS).errors == [] and (tmp_path / "ran").exists()


# -- asserts that explain themselves ------------------------------------------------------------
def _failure(tmp_path: Path, body: str) -> str:
    root = _write(tmp_path, {"tests/test_x.py": "def test_x(t):\n" + textwrap.indent(textwrap.dedent(body), "    ")})
    found = load_python_tests(root, VIEWS)
    assert found.errors == []
    with pytest.raises(AssertionError) as caught:
        found.tests[0].function(None)
    return str(caught.value)


def test_a_failing_comparison_says_both_values(tmp_path: Path) -> None:
    assert _failure(tmp_path, "rows = [1, 2, 3]\nassert len(rows) == 2\n") == "assert len(rows) == 2  (3 == 2 is false)"
    assert _failure(tmp_path, "assert 'a' in 'xyz', 'no a'\n") == "no a\nassert 'a' in 'xyz'  ('a' in 'xyz' is false)"
    assert _failure(tmp_path, "flag = []\nassert flag\n") == "assert flag\n  where flag = []"


def test_two_lists_of_rows_print_the_rows_diff_of_yaml_tests(tmp_path: Path) -> None:
    text = _failure(tmp_path, """\
        actual = [{"id": 1, "amount": 10.0}, {"id": 2, "amount": 21.0}]
        assert actual == [{"id": 1, "amount": 10}, {"id": 2, "amount": 20}]
        """)
    assert text.endswith(
        "rows (right side expected): 1 expected row(s) missing, 1 unexpected row(s) (expected 2 rows, got 2)\n"
        "  missing (expected, not found):\n"
        "    - {id: 2, amount: 20}\n"
        "  unexpected (found, not expected):\n"
        "    + {id: 2, amount: 21.0}"), text
    reordered = _failure(tmp_path, 'assert [{"a": 1}, {"a": 2}] == [{"a": 2}, {"a": 1}]\n')
    assert "the same rows in another order" in reordered and "row 1: columns a differ" in reordered


def test_operands_are_evaluated_once_and_a_passing_assert_is_silent(tmp_path: Path) -> None:
    root = _write(tmp_path, {"tests/test_x.py": """\
        calls = []

        def f(x):
            calls.append(x)
            return x

        def test_x(t):
            assert f(1) == f(1)
            assert f(2) < 3 < f(4)
            assert f(5) and f(6)
            assert f(7) not in (f(8),)
            return calls
        """})
    assert load_python_tests(root, VIEWS).tests[0].function(None) == [1, 1, 2, 4, 5, 6, 7, 8]


def test_explanations_of_sets_dicts_and_sequences() -> None:
    assert "only on the left:  [3]" in explain.comparison("a == b", {1, 3}, "==", {1, 2})
    assert "['k']: 1 != 2" in explain.comparison("a == b", {"k": 1, "j": 0}, "==", {"k": 2, "j": 0})
    assert "first difference at index 1: 2 != 5" in explain.comparison("a == b", [1, 2], "==", [1, 5])


# -- the public helpers that need no DSS -------------------------------------------------------
def test_assert_rows_equal_is_the_yaml_comparison() -> None:
    api.assert_rows_equal([{"id": "2", "x": 1.0000000001}, {"id": 1, "x": None}], [{"id": 1, "x": ""}, {"id": 2, "x": 1}])
    with pytest.raises(api.RowsMismatch) as caught:
        api.assert_rows_equal([{"id": 1}], [{"id": 1}, {"id": 2}], label="orders")
    assert str(caught.value) == ("orders: 1 expected row(s) missing (expected 2 rows, got 1)\n"
                                 "  missing (expected, not found):\n    - {id: 2}")
    assert isinstance(caught.value, AssertionError)
    with pytest.raises(api.RowsMismatch):
        api.assert_rows_equal([{"x": 1.01}], [{"x": 1}], tolerance=0.001)
    api.assert_rows_equal([{"x": 1.01}], [{"x": 1}], tolerance=0.1)


def test_rules_from_python_are_checked_as_in_a_test_file() -> None:
    view = VIEWS["SHOP"]
    assert parse_rule({"not_null": "id"}, "orders", view).name == "not_null(id)"
    assert parse_rule({"in_range": {"column": "amount", "min": 0}, "name": "positive"}, "orders", view).name == "positive"
    with pytest.raises(ValueError, match=r"dataset orders declares no column 'idd'.*did you mean 'id'"):
        parse_rule({"unique": "idd"}, "orders", view)
    with pytest.raises(ValueError, match="invalid rule"):
        parse_rule({"nott_null": "id"}, "orders", view)
    with pytest.raises(ValueError, match="not a valid regular expression"):
        parse_rule({"regex": {"column": "id", "pattern": "("}}, "orders", view)


def test_the_runner_refuses_or_skips_python_files_where_user_code_must_not_run(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    root = _write(tmp_path, {
        "projects/shop.yml": "project:\n  key: SHOP\n  name: Shop\ndatasets:\n  - name: orders\n    type: managed\n",
        "environments/dev.yml": "{}\n",
        "tests/test_side_effect.py": f"open({str(marker)!r}, 'w').close()\n\ndef test_a(t):\n    pass\n",
    })
    environ = {"DKU_DSS_URL": "http://127.0.0.1:9", "DKU_API_KEY": "unused"}  # checked offline: no request
    with pytest.raises(ConfigError) as caught:
        TestRun(root, "dev", TestOptions(python_tests=REFUSE), environ=environ).check()
    assert [d.render() for d in caught.value.diagnostics] == [f"tests/test_side_effect.py: error: {NOT_RUN_HERE}"]
    suite = TestRun(root, "dev", TestOptions(python_tests=SKIP), environ=environ).check()
    assert [(t.id, t.skip) for t in suite.tests] == [("tests/test_side_effect.py::test_a", NOT_RUN_HERE)]
    assert not marker.exists()
    # a runner given no Python runner errors a Python test instead of calling it
    test = TestCase("test_a", "tests/test_x.py", 3, "SHOP", PYTHON, function=lambda t: marker.touch())
    [outcome] = run_one(test, Target(lambda: None, {"SHOP": "SHOP_T1"}, VIEWS))
    assert (outcome.status, outcome.message) == (ERROR, "Python tests are not run here (this runner was given no Python runner)")
    assert not marker.exists()


def test_how_a_python_test_ends_becomes_its_outcome(tmp_path: Path) -> None:
    """No DSS needed: these tests never call it."""
    root = _write(tmp_path, {"tests/test_endings.py": """\
        import sys

        def test_passes(t):
            assert t.project_key == "SHOP_T1"

        def test_fails(t):
            values = [1, 2]
            assert values == [1, 3], "values differ"

        def test_errors(t):
            {}["missing"]

        def test_exits(t):
            sys.exit(3)

        def test_skips(t):
            t.skip("no data yet")
        """})
    target = Target(lambda: None, {"SHOP": "SHOP_T1"}, VIEWS, python=run_python)
    outcomes = {t.name: run_one(t, target)[0] for t in load_python_tests(root, VIEWS).tests}
    assert {name: o.status for name, o in outcomes.items()} == {
        "test_passes": PASSED, "test_fails": FAILED, "test_errors": ERROR, "test_exits": ERROR, "test_skips": SKIPPED}
    failed = outcomes["test_fails"]
    assert (failed.message, failed.where) == ("values differ", "tests/test_endings.py:8")
    assert failed.details == ("values differ\nassert values == [1, 3]  ([1, 2] == [1, 3] is false)\n"
                              "  first difference at index 1: 2 != 3\ntests/test_endings.py:8: AssertionError")
    errored = outcomes["test_errors"]
    assert (errored.message, errored.where) == ("KeyError: 'missing'", "tests/test_endings.py:11")
    assert 'test_endings.py", line 11, in test_errors' in errored.details and "KeyError" in errored.details
    assert outcomes["test_exits"].message == "the test called sys.exit(3)"
    assert outcomes["test_skips"].message == "no data yet"


FLOW = ProjectView("SHOP", {"raw": None, "mid": None, "out": None, "side": None, "other": None},
                   recipes={"r1": (["raw"], ["mid"]), "r2": (["mid", "side"], ["out"])})


def test_uses_narrows_what_a_python_test_holds_and_touches(tmp_path: Path) -> None:
    root = _write(tmp_path, {"tests/test_uses.py": """\
        from dataiku_iac.testing.api import uses

        @uses("out")
        def test_narrow(t):
            t.rows("other")

        def test_wide(t):
            pass

        @uses("mid", "nope")
        def test_unknown(t):
            pass
        """})
    views = {"SHOP": FLOW}
    found = load_python_tests(root, views)
    assert [d.render() for d in found.errors] == [
        "tests/test_uses.py:11:1: error: test function test_unknown: @uses names no dataset 'nope' in project SHOP"]
    narrow, wide = found.tests
    # out, and what a recursive build of it reads and writes: the other tests may run beside it
    assert touched(FLOW, narrow) == {"raw", "mid", "out", "side"}
    assert touched(FLOW, wide) == {"raw", "mid", "out", "side", "other"}
    [outcome] = run_one(narrow, Target(lambda: None, {"SHOP": "SHOP_T1"}, views, python=run_python))
    assert (outcome.status, outcome.message) == (ERROR, "ValueError: dataset other is outside this test's @uses('out'): "
                                                        "add it there (other tests may be using it at the same time)")
    with pytest.raises(TypeError, match="name the datasets"):
        api.uses()
