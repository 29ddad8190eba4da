"""`load_python_tests`: find and check the Python test files of a configuration, `tests/test_*.py`.

What is collected (like pytest, narrower): the files `tests/test_*.py` directly in the `tests/`
folder (not hidden, not in sub-folders), and in each, the functions defined at module level by a
`def` whose name starts with `test` (`def test_orders(t):`). Other `.py` files of `tests/` are
not collected; a test file may import them (`tests/` is on `sys.path` while the file is imported).
A test function takes one argument, the `testing.api.TestContext`; more parameters must have
defaults.

Every problem of every file is reported at once, as for `tests/*.yml`, each at file:line,
before anything is applied: a syntax error, an unknown or missing `PROJECT`, a test function
with a wrong signature (none or several required parameters, `async def`, a generator) or
defined twice, and an import that fails (the line of the file where it failed). Syntax and
signatures are checked on the source (`ast`), without running it; then the file is imported.

A Python test file is code, run by the user's own `dataiku-iac` process like pytest runs a test
file. `mode` lets a caller that must not run user code (the in-DSS macro) skip the files (their
tests listed as skipped, found by reading the source: nothing is imported) or refuse them.

`assert` statements of a test file are rewritten when it is imported, as pytest does (simpler):
a failing `assert a == b` tells both values (and for lists of rows, the same diff of rows the
YAML tests print); see `testing/explain.py`.
"""

from __future__ import annotations

import ast
import os
import sys
import traceback
import types
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Optional

from ..config.files import read_text
from ..config.suggest import did_you_mean
from ..errors import Diagnostic
from . import explain
from .loader import TESTS_DIR, ProjectView
from .model import PYTHON, TestCase

RUN, SKIP, REFUSE = "run", "skip", "refuse"  # what to do with Python test files (`mode`)
SKIP_ATTRIBUTE = "__dataiku_iac_skip__"  # set by testing.api.skip
USES_ATTRIBUTE = "__dataiku_iac_uses__"  # set by testing.api.uses
PROJECT_VARIABLE = "PROJECT"
MODULE_PREFIX = "dataiku_iac_user_tests"
NOT_RUN_HERE = "Python test files are not run here (they are code): run them with `dataiku-iac test` on a machine you trust"


def list_python_test_files(root: Path) -> list[str]:
    """Relative posix paths of `root/tests/test_*.py`, sorted."""
    base = Path(root) / TESTS_DIR
    if not base.is_dir():
        return []
    with os.scandir(base) as entries:
        names = [e.name for e in entries if e.name.startswith("test_") and e.name.endswith(".py") and not e.is_dir()]
    return sorted(f"{TESTS_DIR}/{n}" for n in names)


@dataclass
class PythonLoad:
    tests: list[TestCase] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    errors: list[Diagnostic] = field(default_factory=list)


@dataclass
class _Source:
    rel: str
    path: Path
    text: str
    tree: ast.Module
    project: Optional[str] = None
    functions: list[ast.FunctionDef] = field(default_factory=list)


def load_python_tests(root: Path, views: dict[str, ProjectView], mode: str = RUN) -> PythonLoad:
    """The test functions of `root/tests/test_*.py`, each a TestCase of kind PYTHON; every
    problem in `errors` (the caller refuses the run when there is any)."""
    root = Path(root)
    found = PythonLoad(files=list_python_test_files(root))
    for rel in found.files:
        if mode == REFUSE:
            found.errors.append(Diagnostic(rel, 0, 0, "", NOT_RUN_HERE))
            continue
        source = _parse(root, rel, found.errors)
        if source is None:
            continue
        before = len(found.errors)
        source.project = _project(source, views, found.errors)
        source.functions = _test_functions(source, found.errors)
        if len(found.errors) != before or source.project is None:
            continue
        if mode == SKIP:
            found.tests.extend(_case(source, f, None, NOT_RUN_HERE) for f in source.functions)
            continue
        module = _import(source, found.errors)
        if module is not None:
            found.tests.extend(_collected(source, module, views, found.errors))
    return found


# -- reading the source, without running it ---------------------------------------------------
def _parse(root: Path, rel: str, errors: list[Diagnostic]) -> Optional[_Source]:
    text, problems = read_text(root, rel)
    errors.extend(problems)
    if text is None:
        return None
    try:
        tree = ast.parse(text, rel)
    except SyntaxError as exc:
        errors.append(Diagnostic(rel, exc.lineno or 0, exc.offset or 0, "", f"syntax error: {exc.msg}"))
        return None
    return _Source(rel, (root / rel).resolve(), text, tree)


def _project(source: _Source, views: dict[str, ProjectView], errors: list[Diagnostic]) -> Optional[str]:
    """`PROJECT = "KEY"` at module level: the project whose datasets the tests name (optional
    when the configuration has one project)."""
    for node in source.tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        if not any(isinstance(t, ast.Name) and t.id == PROJECT_VARIABLE for t in targets):
            continue
        value = getattr(node, "value", None)
        if not (isinstance(value, ast.Constant) and isinstance(value.value, str)):
            errors.append(Diagnostic(source.rel, node.lineno, node.col_offset + 1, PROJECT_VARIABLE,
                                     "PROJECT must be a string literal: a project key as written in projects/"))
            return None
        if value.value not in views:
            errors.append(Diagnostic(source.rel, node.lineno, value.col_offset + 1, PROJECT_VARIABLE,
                                     f"no project '{value.value}' in the configuration (projects/*.yml)",
                                     did_you_mean(value.value, views)))
            return None
        return value.value
    if len(views) == 1:
        return next(iter(views))
    known = ", ".join(sorted(views)) or "none"
    errors.append(Diagnostic(source.rel, 1, 1, "", "PROJECT is required: the configuration has several projects",
                             f'add e.g. PROJECT = "{sorted(views)[0] if views else "KEY"}" (one of: {known})'))
    return None


def _test_functions(source: _Source, errors: list[Diagnostic]) -> list[ast.FunctionDef]:
    """The module-level `def test*` of the file; a wrong signature or a name defined twice is an error."""
    found: dict[str, ast.FunctionDef] = {}
    for node in source.tree.body:
        if isinstance(node, ast.AsyncFunctionDef) and node.name.startswith("test"):
            errors.append(_at(source, node, f"test function {node.name} is 'async def': a test function is a plain def"))
            continue
        if not isinstance(node, ast.FunctionDef) or not node.name.startswith("test"):
            continue
        if node.name in found:
            errors.append(_at(source, node, f"test function {node.name} is defined twice (first at line {found[node.name].lineno}): "
                                            "the second hides the first"))
            continue
        problem = _signature_problem(node)
        if problem is not None:
            errors.append(_at(source, node, f"test function {node.name}: {problem}",
                              f"write it as: def {node.name}(t):  (t: the test context, dataiku_iac.testing.api.TestContext)"))
        found[node.name] = node
    return [f for f in found.values() if not any(e.file == source.rel and e.line == f.lineno for e in errors)]


def _signature_problem(node: ast.FunctionDef) -> Optional[str]:
    args = node.args
    positional = [*args.posonlyargs, *args.args]
    required = len(positional) - len(args.defaults)
    kw_required = [a.arg for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is None]
    if not positional and args.vararg is None:
        return "it takes no argument; it must take one, the test context"
    if required > 1:
        names = ", ".join(a.arg for a in positional[:required])
        return f"it takes {required} required arguments ({names}); it must take one, the test context"
    if kw_required:
        return f"keyword-only argument(s) without a default: {', '.join(kw_required)}"
    if _yields(node):
        return "it is a generator (it has 'yield'): a test function runs to its end and returns nothing"
    return None


def _yields(node: ast.FunctionDef) -> bool:
    """Whether the function's own body yields (not a nested function's or lambda's)."""
    todo: list[ast.AST] = list(node.body)
    while todo:
        item = todo.pop()
        if isinstance(item, (ast.Yield, ast.YieldFrom)):
            return True
        if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue
        todo.extend(ast.iter_child_nodes(item))
    return False


def _at(source: _Source, node: ast.stmt, message: str, hint: Optional[str] = None) -> Diagnostic:
    return Diagnostic(source.rel, node.lineno, node.col_offset + 1, "", message, hint)


# -- importing ---------------------------------------------------------------------------------
def module_name(rel: str) -> str:
    return f"{MODULE_PREFIX}.{Path(rel).stem}"


def _import(source: _Source, errors: list[Diagnostic]) -> Optional[types.ModuleType]:
    """The file run as a module (asserts rewritten); an exception is reported at the line of this
    file it went through last (the import of a helper, or the failing statement)."""
    tree = explain.rewrite_asserts(source.tree, source.text)
    name = module_name(source.rel)
    module = types.ModuleType(name)
    module.__file__ = str(source.path)
    module.__dict__[explain.HELPER_NAME] = explain
    folder = str(source.path.parent)
    sys.modules.setdefault(MODULE_PREFIX, types.ModuleType(MODULE_PREFIX))
    sys.modules[name] = module  # dataclasses, pickling and the like look their module up here
    sys.path.insert(0, folder)
    try:
        exec(compile(tree, str(source.path), "exec"), module.__dict__)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # SystemExit too: a test file must not end the run
        sys.modules.pop(name, None)
        errors.append(_import_error(source, exc))
        return None
    finally:
        if folder in sys.path:
            sys.path.remove(folder)
    return module


def _import_error(source: _Source, exc: BaseException) -> Diagnostic:
    frames = traceback.extract_tb(exc.__traceback__)
    mine = [f for f in frames if Path(f.filename) == source.path]
    line = mine[-1].lineno if mine else 0
    last = frames[-1] if frames else None
    elsewhere = ""
    if last is not None and Path(last.filename) != source.path:
        elsewhere = f" (raised in {last.filename}:{last.lineno})"
    if isinstance(exc, SyntaxError) and exc.filename and Path(exc.filename) != source.path:
        elsewhere = f" (in {exc.filename}:{exc.lineno})"
    text = " ".join(str(exc).split())
    return Diagnostic(source.rel, line or 0, 0, "", f"importing the file failed: {type(exc).__name__}: {text}{elsewhere}")


def _collected(source: _Source, module: types.ModuleType, views: dict[str, ProjectView],
               errors: list[Diagnostic]) -> list[TestCase]:
    cases = []
    for node in source.functions:
        function = module.__dict__.get(node.name)
        if not callable(function):
            errors.append(_at(source, node, f"{node.name} is no longer a function once the file is imported"))
            continue
        skip = getattr(function, SKIP_ATTRIBUTE, None)
        uses = getattr(function, USES_ATTRIBUTE, None)
        view = views.get(source.project or "")
        unknown = [d for d in uses or () if view is not None and d not in view.datasets]
        if unknown:
            errors.append(_at(source, node, f"test function {node.name}: @uses names no dataset {', '.join(map(repr, unknown))} "
                                            f"in project {source.project}", did_you_mean(unknown[0], view.datasets if view else {})))
            continue
        cases.append(replace(_case(source, node, function, skip), uses=tuple(uses) if uses is not None else None))
    return cases


def _case(source: _Source, node: ast.FunctionDef, function: Any, skip: Optional[str]) -> TestCase:
    doc = ast.get_docstring(node) or ""
    assert source.project is not None
    return TestCase(name=node.name, file=source.rel, line=node.lineno, project=source.project, kind=PYTHON,
                    description=doc.strip().splitlines()[0] if doc.strip() else "", skip=skip, function=function)
