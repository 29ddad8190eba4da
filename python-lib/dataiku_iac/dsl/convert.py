"""`dataiku-iac convert`: a YAML project file into Python, a Python project file into YAML.

YAML -> Python reads the file's data as written (no variable substituted, no override applied),
finds the DSL class of each mapping from the schema's shapes (the `type` of a dataset, a recipe,
a step...), and writes one constructor call per object. Python -> YAML runs the file (as the
loader does) and writes the data its `config` compiles to: loops and functions are expanded, so
the YAML is the file's result, not its source. Either way the loader reads the same data, so the
two files plan the same (tests/unit/dsl/test_convert.py checks it on every example and sample).
Comments of a YAML file are not carried over.
"""

from __future__ import annotations

import json
import keyword
import re
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import yaml

from ..config.files import read_text
from ..config.paths import render_path
from ..config.pyconfig import load_python_project
from ..config.yamlsafe import parse_yaml
from ..errors import ConfigError, Diagnostic
from .base import Model, Var
from .parse import ConvertError, fixed_type, project_from_data

LINE_WIDTH = 100
INDENT = "    "
_WHOLE_REFERENCE = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")


# -- models -> Python source ------------------------------------------------------------------
def render(value: Any, indent: str = "") -> str:
    """Python source for `value` (DSL objects, lists, mappings, scalars), continuing at `indent`."""
    short = _render_flat(value)
    if short is not None and len(indent) + len(short) <= LINE_WIDTH:
        return short
    inner = indent + INDENT
    if isinstance(value, Model):
        args = [f"{inner}{_argument(value, key)}={render(item, inner)}," for key, item in _arguments(value)]
        return f"{type(value).__name__}(\n" + "\n".join(args) + f"\n{indent})"
    if isinstance(value, list):
        return "[\n" + "\n".join(f"{inner}{render(item, inner)}," for item in value) + f"\n{indent}]"
    if isinstance(value, dict):
        entries = [f"{inner}{_string(k)}: {render(v, inner)}," for k, v in value.items()]
        return "{\n" + "\n".join(entries) + f"\n{indent}}}"
    return _scalar(value)


def _render_flat(value: Any) -> Optional[str]:
    """`value` on one line, or None when it holds a multi-line string."""
    if isinstance(value, Model):
        parts = [(_argument(value, k), _render_flat(v)) for k, v in _arguments(value)]
        if any(p is None for _, p in parts):
            return None
        return f"{type(value).__name__}({', '.join(f'{k}={p}' for k, p in parts)})"
    if isinstance(value, list):
        items = [_render_flat(v) for v in value]
        return None if any(i is None for i in items) else f"[{', '.join(str(i) for i in items)}]"
    if isinstance(value, dict):
        entries = [(k, _render_flat(v)) for k, v in value.items()]
        if any(v is None for _, v in entries):
            return None
        return "{" + ", ".join(f"{_string(k)}: {v}" for k, v in entries) + "}"
    text = _scalar(value)
    return None if "\n" in text else text


def _arguments(model: Model) -> List[Tuple[str, Any]]:
    """The set fields to write: all but a `type` the class fixes (DatasetManaged is type managed)."""
    fixed = fixed_type(type(model))
    return [(k, v) for k, v in model.items() if not (k == "type" and v == fixed)]


def _argument(model: Model, key: str) -> str:
    return key + "_" if keyword.iskeyword(key) else key


def _scalar(value: Any) -> str:
    if isinstance(value, Var):
        whole = _WHOLE_REFERENCE.match(value)
        return f"var({_string(whole.group(1))})" if whole else f"Var({_string(str(value))})"
    if isinstance(value, str):
        return _string(value)
    return repr(value)


def _string(text: str) -> str:
    """A string literal; a multi-line text (code, a query) as a triple-quoted block when it can be
    written so exactly."""
    if "\n" in text and not re.search(r'"""|\\|"$|[\x00-\x08\x0b-\x1f\x7f]', text):
        return '"""\\\n' + text + '"""'
    return json.dumps(text, ensure_ascii=False)


def to_python(data: Dict[str, Any], source: str) -> str:
    """A Python project file whose `config` compiles to `data`."""
    project = project_from_data(data)
    names = sorted(_class_names(project))
    uses_var = _uses(project, lambda v: isinstance(v, Var) and bool(_WHOLE_REFERENCE.match(v)))
    uses_var_class = _uses(project, lambda v: isinstance(v, Var) and not _WHOLE_REFERENCE.match(v))
    imports = names + (["var"] if uses_var else []) + (["Var"] if uses_var_class else [])
    header = (f'"""Converted from {source} by `dataiku-iac convert` (docs/python-dsl.md)."""\n\n'
              f"from dataiku_iac.dsl import {', '.join(sorted(imports, key=str.lower))}\n\n")
    return header + f"config = {render(project)}\n"


def _class_names(value: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(value, Model):
        found.add(type(value).__name__)
        for _, item in value.items():
            found |= _class_names(item)
    elif isinstance(value, list):
        for item in value:
            found |= _class_names(item)
    elif isinstance(value, dict):
        for item in value.values():
            found |= _class_names(item)
    return found


def _uses(value: Any, test: Any) -> bool:
    if isinstance(value, Model):
        return any(_uses(item, test) for _, item in value.items())
    if isinstance(value, list):
        return any(_uses(item, test) for item in value)
    if isinstance(value, dict):
        return any(_uses(item, test) for item in value.values())
    return bool(test(value))


# -- data -> YAML -----------------------------------------------------------------------------
class _Dumper(yaml.SafeDumper):
    """Block style, list items indented under their key (as the examples are written);
    multi-line strings as `|` blocks (code and queries stay readable)."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _represent_str(dumper: yaml.SafeDumper, text: str) -> yaml.Node:
    style = "|" if "\n" in text and not text.endswith((" ", "\t")) and "\r" not in text else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_Dumper.add_representer(str, _represent_str)


def to_yaml(data: Dict[str, Any], source: str) -> str:
    body = yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, default_flow_style=False,
                     width=4096, indent=2)
    return f"# Generated from {source} by `dataiku-iac convert`: the data its `config` compiles to.\n{body}"


# -- files ------------------------------------------------------------------------------------
def convert_file(root: Path, rel: str) -> Tuple[str, str]:
    """(the converted text, the suffix of its file) for the project file `root/rel`."""
    if rel.endswith(".py"):
        loaded = load_python_project(root, rel)
        if loaded.data is None:
            raise ConfigError(loaded.diagnostics)
        return to_yaml(loaded.data, rel), ".yml"
    return to_python(read_yaml_project(root, rel), rel), ".py"


def read_yaml_project(root: Path, rel: str) -> Dict[str, Any]:
    text, problems = read_text(root, rel)
    if text is None:
        raise ConfigError(problems)
    parsed = parse_yaml(text, rel)
    problems.extend(d for d in parsed.diagnostics if d.severity == "error")
    if problems or not parsed.usable or not isinstance(parsed.data, dict):
        if not problems:
            problems.append(Diagnostic(rel, 0, 0, "", "a project file must be a YAML mapping at the top level"))
        raise ConfigError(problems)
    data: Dict[str, Any] = parsed.data
    try:
        project_from_data(data)
    except ConvertError as exc:
        line = parsed.marks[exc.path].line if exc.path in parsed.marks else 0
        raise ConfigError([Diagnostic(rel, line, 0, render_path(exc.path), str(exc))]) from None
    return data
