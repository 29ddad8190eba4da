"""Project files written in Python (`projects/NAME.py`, docs/python-dsl.md).

A Python project file is run, and the `config` it assigns (a `dsl.ProjectFile`, or a plain
mapping) is compiled to the plain data a YAML file holds. From there the loader treats it like
any project file: variables, overrides, the schema, the model builder and the planner never know
where the data came from. Each node keeps the location of the constructor call that made it, so
a bad value is reported at that call's file and line; an exception raised while the file runs is
reported at the file's own line in the traceback.

Running a file runs its code, with the rights of whoever runs the tool: the CLI does (the person
or CI job chose the repository), the DSS plugin refuses unless an administrator allows it
(`python_config_files`, dss/service.py; docs/security.md, "Python project files").
"""

from __future__ import annotations

import contextlib
import os
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Dict, List, Optional

from ..dsl.base import Location, Model, compile_located
from ..errors import Diagnostic
from .files import read_text
from .paths import Mark, MarkMap, YamlPath, render_path

PYTHON_SUFFIX = ".py"
CONFIG_NAME = "config"  # the module-level name a Python project file assigns
_SCALARS = (str, int, float, bool, type(None))


@dataclass
class PythonProject:
    """A Python project file, run: its data (None if unusable) and where each node was made."""

    file: str
    data: Optional[Dict[str, Any]] = None
    marks: MarkMap = field(default_factory=dict)
    diagnostics: List[Diagnostic] = field(default_factory=list)


def is_python_file(rel: str) -> bool:
    return rel.endswith(PYTHON_SUFFIX)


def list_python_files(root: Path, folder: str) -> List[str]:
    """Relative posix paths of the project files `folder/*.py`, sorted. Names starting with `_` or
    `.` are helper modules (imported by the project files) or editor files, not projects."""
    base = Path(root) / folder
    if not base.is_dir():
        return []
    with os.scandir(base) as entries:
        return sorted(f"{folder}/{e.name}" for e in entries
                      if e.name.endswith(PYTHON_SUFFIX) and not e.name.startswith((".", "_")) and not e.is_dir())


def python_config_files(root: Path) -> List[str]:
    """The Python project files of the configuration at `root` (what running it would execute)."""
    return list_python_files(root, "projects")


def load_python_project(root: Path, rel: str) -> PythonProject:
    """Run `root/rel` and compile the `config` it assigns."""
    result = PythonProject(rel)
    text, problems = read_text(root, rel)
    result.diagnostics.extend(problems)
    if text is None:
        return result
    namespace = _run(root, rel, text, result)
    if namespace is None:
        return result
    if CONFIG_NAME not in namespace:
        result.diagnostics.append(Diagnostic(
            rel, 0, 0, "", f"the Python project file assigns no '{CONFIG_NAME}'",
            "end it with `config = ProjectFile(project=Project(key=..., name=...), ...)` (docs/python-dsl.md)"))
        return result
    _compile(root, rel, namespace[CONFIG_NAME], result)
    return result


def _run(root: Path, rel: str, text: str, result: PythonProject) -> Optional[Dict[str, Any]]:
    """The module namespace after running the file, or None (the error is in `result`). The
    configuration directory is importable for the run (helper modules: `projects/_common.py` is
    `import projects._common`); the modules imported from it are forgotten afterwards, so that
    the next load reads them again."""
    path = str((root / rel).resolve())
    namespace: Dict[str, Any] = {"__name__": f"dataiku_iac_config_{Path(rel).stem}", "__file__": path}
    before = set(sys.modules)
    sys.path.insert(0, str(root.resolve()))
    try:
        code = compile(text, path, "exec", dont_inherit=True)
        # what the file prints goes to stderr: stdout carries the tool's own output (--json, convert)
        with contextlib.redirect_stdout(sys.stderr):
            exec(code, namespace)
    except SyntaxError as exc:
        line, column = exc.lineno or 0, exc.offset or 0
        result.diagnostics.append(Diagnostic(rel, line, column, "", f"invalid Python: {exc.msg}"))
        return None
    except (KeyboardInterrupt, GeneratorExit):
        raise
    except BaseException as exc:  # a config's SystemExit is an error of that file, not the tool's exit
        result.diagnostics.append(_raised(root, rel, path, exc))
        return None
    finally:
        sys.path.remove(str(root.resolve()))
        _forget_modules_under(root, before)
    return namespace


def _forget_modules_under(root: Path, before: set[str]) -> None:
    base = str(root.resolve())
    for name in set(sys.modules) - before:
        module = sys.modules[name]
        # a namespace package (`projects`, no __init__.py) has no __file__, only a __path__
        places = [getattr(module, "__file__", None) or "", *(getattr(module, "__path__", None) or [])]
        if any(str(place).startswith(base + os.sep) for place in places):
            del sys.modules[name]


def _raised(root: Path, rel: str, path: str, exc: BaseException) -> Diagnostic:
    """The exception at the deepest frame of the traceback in the project file itself (else in a
    file of the configuration, else the file without a line)."""
    frames = traceback.extract_tb(exc.__traceback__ if isinstance(exc.__traceback__, TracebackType) else None)
    base = str(root.resolve()) + os.sep
    mine = [f for f in frames if f.filename == path]
    ours = [f for f in frames if f.filename.startswith(base)]
    chosen = mine or ours
    file = _relative(root, chosen[-1].filename) if chosen else rel
    line = (chosen[-1].lineno or 0) if chosen else 0
    message = f"the Python project file raised {type(exc).__name__}: {exc}" if str(exc) else \
        f"the Python project file raised {type(exc).__name__}"
    hint = f"while running {rel}" if file != rel else None
    return Diagnostic(file, line, 0, "", message, hint)


def _compile(root: Path, rel: str, config: Any, result: PythonProject) -> None:
    if not isinstance(config, (Model, dict)):
        result.diagnostics.append(Diagnostic(
            rel, 0, 0, "", f"'{CONFIG_NAME}' must be a ProjectFile (or a mapping), but it is a {type(config).__name__}"))
        return
    data, locations = compile_located(config, Location(str((root / rel).resolve()), 0))
    bad = list(_bad_values(data, ()))
    for path, value in bad:
        where = locations.get(path)
        file, line = (_relative(root, where.file), where.line) if where else (rel, 0)
        result.diagnostics.append(Diagnostic(
            file, line, 0, render_path(path),
            f"a {type(value).__name__} is not a configuration value",
            "use strings, numbers, booleans, None, lists and mappings with string keys (or the dsl classes)"))
    if bad:
        return
    result.data = data
    result.marks = {path: Mark(_relative(root, where.file), path, where.line, 0) for path, where in locations.items()}


def _bad_values(value: Any, path: YamlPath) -> Any:
    """(path, value) of every node that is no YAML value (a set, an object, a non-string key)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                yield path, key
            else:
                yield from _bad_values(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _bad_values(item, (*path, i))
    elif not isinstance(value, _SCALARS):
        yield path, value


def _relative(root: Path, filename: str) -> str:
    """A file under the configuration directory as the loader names files (posix, relative)."""
    try:
        return Path(filename).resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return filename
