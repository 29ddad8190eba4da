"""A module's interface: reading and checking `module.yml` (docs/modules.md, "Module format").

    module: ingest
    version: 1.2.0
    inputs:
      table:    {type: string, pattern: "^[A-Z0-9_]+$", description: Source table}
      schedule: {type: string, default: "0 3 * * *"}
      password: {type: object, sensitive: true, default: null}
    validations:
      - condition: inputs.min_rows <= inputs.max_rows
        error_message: min_rows cannot exceed max_rows
    outputs:
      clean_dataset: ${module.prefix}clean
    resources: [resources.yml]

Inputs use the JSON-Schema subset the configuration already validates with (type, enum,
pattern, minimum…, minLength…, items), plus `default`, `description` and `sensitive` (a
sensitive input's value is never shown in a message). An input without `default` is required.
`validations` check several inputs together (Terraform 1.9 style): `condition` is a small
expression language (`inputs.NAME`, literals, `== != < <= > >= in not in`, `and or not`,
`len(...)`, `null true false`), never Python's `eval`.
"""

from __future__ import annotations

import ast
import copy
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

from dataiku_iac import __version__
from dataiku_iac.config.fastschema import compile_schema
from dataiku_iac.config.files import read_text
from dataiku_iac.config.paths import MarkMap, YamlPath, nearest_mark, render_path
from dataiku_iac.config.schema import check, explain
from dataiku_iac.config.suggest import did_you_mean
from dataiku_iac.config.yamlsafe import parse_yaml
from dataiku_iac.errors import Diagnostic
from dataiku_iac.modules.versions import Constraint, Version, VersionError

MODULE_FILE = "module.yml"
# Keys of an input's definition that are not JSON Schema (what `_value_schema` leaves out).
_NOT_SCHEMA = ("description", "default", "sensitive", "type")
_JSON_TYPES = {"string": "string", "integer": "integer", "number": "number", "boolean": "boolean",
               "array": "array", "object": "object"}


@dataclass
class InputSpec:
    name: str
    definition: Dict[str, Any]  # as written in module.yml

    @cached_property
    def accepts(self) -> Callable[[Any], bool]:
        """Whether a value is valid, fast (config/fastschema.py), made once per module read."""
        fast = compile_schema(self.value_schema())
        return fast if fast is not None else (lambda value: False)

    @cached_property
    def validator(self) -> Any:
        """What explains a wrong value (jsonschema: imported only when a value is wrong)."""
        from jsonschema import Draft202012Validator

        return Draft202012Validator(self.value_schema())

    @property
    def required(self) -> bool:
        return "default" not in self.definition

    @property
    def default(self) -> Any:
        return copy.deepcopy(self.definition.get("default"))

    @property
    def sensitive(self) -> bool:
        return bool(self.definition.get("sensitive"))

    def value_schema(self) -> Dict[str, Any]:
        """The JSON Schema a value of this input must match (null is always accepted when it is
        the default: `default: null` makes an input optional)."""
        schema = {k: v for k, v in self.definition.items() if k not in _NOT_SCHEMA}
        kind = self.definition.get("type")
        if kind in _JSON_TYPES:
            schema["type"] = _JSON_TYPES[kind] if not self._null_default() else [_JSON_TYPES[kind], "null"]
        return schema

    def _null_default(self) -> bool:
        return "default" in self.definition and self.definition["default"] is None


@dataclass(frozen=True)
class Validation:
    condition: str
    error_message: str
    line: int


@dataclass
class ModuleDefinition:
    """One module as read from its directory: the parsed module.yml and where its nodes are."""

    directory: Path
    file: str  # module.yml as diagnostics name it (relative to the config root when inside it)
    data: Dict[str, Any]
    marks: MarkMap
    inputs: Dict[str, InputSpec] = field(default_factory=dict)
    validations: List[Validation] = field(default_factory=list)

    @property
    def name(self) -> str:
        return str(self.data.get("module") or self.directory.name)

    @property
    def resource_files(self) -> List[str]:
        return [f for f in self.data.get("resources") or [] if isinstance(f, str)]

    @property
    def outputs(self) -> Dict[str, Any]:
        """Output name -> its value as written (before substitution)."""
        written = self.data.get("outputs") or {}
        return {k: (v["value"] if isinstance(v, dict) else v) for k, v in written.items()}

    def line_of(self, path: YamlPath) -> int:
        mark, _ = nearest_mark(self.marks, tuple(path))
        return mark.entry_position()[0] if mark is not None else 0

    def diagnostic(self, path: YamlPath, message: str, hint: Optional[str] = None) -> Diagnostic:
        mark, _ = nearest_mark(self.marks, tuple(path))
        line, column = mark.entry_position() if mark is not None else (0, 0)
        return Diagnostic(self.file, line, column, render_path(tuple(path)), message, hint)


def display_dir(directory: Path, root: Path) -> str:
    """How diagnostics name a module directory: relative to the config root when inside it."""
    try:
        rel = directory.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return directory.as_posix()
    return "" if rel == "." else rel


def read_yaml_file(directory: Path, rel: str, shown: str) -> Tuple[Any, MarkMap, List[Diagnostic]]:
    """A module file parsed (data, marks naming it `shown`, problems); data None when unusable."""
    text, problems = read_text(directory, rel, shown)
    if text is None:
        return None, {}, problems
    parsed = parse_yaml(text, shown)
    return (parsed.data if parsed.usable else None), parsed.marks, problems + list(parsed.diagnostics)


def read_definition(directory: Path, root: Path, base: Optional[str] = None) -> Tuple[Optional[ModuleDefinition], List[Diagnostic]]:
    """The module in `directory` and every problem of its module.yml (None when it is unusable);
    its files named under `base` (default: the directory relative to the config root)."""
    base = display_dir(directory, root) if base is None else base
    shown = f"{base}/{MODULE_FILE}" if base else MODULE_FILE
    data, marks, problems = read_yaml_file(directory, MODULE_FILE, shown)
    if data is None and not problems:
        problems.append(Diagnostic(shown, 0, 0, "", "module.yml is empty", "declare at least `resources: [FILE]`"))
    if data is None:
        return None, problems
    if not isinstance(data, dict):
        return None, [*problems, Diagnostic(shown, 1, 1, "", "module.yml must be a YAML mapping at the top level")]
    definition = ModuleDefinition(directory, shown, data, marks)
    for issue in check(data, "module"):
        problems.append(definition.diagnostic(issue.path, issue.message, issue.hint))
    if problems:
        return None, problems
    problems += _requirement_problems(definition)
    definition.inputs = {name: InputSpec(name, spec) for name, spec in (data.get("inputs") or {}).items()}
    for spec in definition.inputs.values():
        problems += _check_input_definition(definition, spec)
    for i, entry in enumerate(data.get("validations") or []):
        line = definition.line_of(("validations", i, "condition"))
        problem = condition_problem(entry["condition"], set(definition.inputs))
        if problem is not None:
            problems.append(definition.diagnostic(("validations", i, "condition"), f"invalid condition: {problem}",
                                                  "e.g. inputs.min_rows <= inputs.max_rows"))
        definition.validations.append(Validation(entry["condition"], entry["error_message"], line))
    return (None if problems else definition), problems


def _requirement_problems(definition: ModuleDefinition) -> List[Diagnostic]:
    """`requires.dataiku_iac`: a version constraint this dataiku-iac must meet (`requires.dss` is
    informative: the DSS version is not known offline)."""
    wanted = (definition.data.get("requires") or {}).get("dataiku_iac")
    if not isinstance(wanted, str):
        return []
    path = ("requires", "dataiku_iac")
    try:
        constraint = Constraint.parse(wanted)
        allowed = constraint.allows(Version.parse(__version__))
    except VersionError as exc:
        return [definition.diagnostic(path, f"invalid version constraint: {exc}", 'e.g. ">= 0.4, < 1.0"')]
    if allowed:
        return []
    return [definition.diagnostic(path, f"module {definition.name} requires dataiku-iac {wanted}; this is {__version__}",
                                  "upgrade dataiku-iac, or use a version of the module made for this one")]


def _check_input_definition(definition: ModuleDefinition, spec: InputSpec) -> List[Diagnostic]:
    """An input's own definition: its pattern compiles, its default is a value of it."""
    problems = []
    pattern = spec.definition.get("pattern")
    if isinstance(pattern, str):
        try:
            re.compile(pattern)
        except re.error as exc:
            problems.append(definition.diagnostic(("inputs", spec.name, "pattern"), f"invalid regular expression: {exc}"))
            return problems
    if not spec.required and spec.default is not None:
        for message in value_problems(spec, spec.default):
            problems.append(definition.diagnostic(("inputs", spec.name, "default"), f"the default of input '{spec.name}' {message}"))
    return problems


def value_problems(spec: InputSpec, value: Any) -> List[str]:
    """What is wrong with `value` for input `spec`, each as "… is …" text; never the value of a
    sensitive input."""
    try:
        if spec.accepts(value):
            return []
    except Exception:
        pass
    problems = []
    for error in spec.validator.iter_errors(value):
        if spec.sensitive:
            problems.append(f"does not match its definition ({error.validator}); the value is sensitive and not shown")
            continue
        for issue in explain(error, spec.value_schema()):
            where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in issue.path)
            problems.append(f"{where + ': ' if where else ''}{issue.message}")
    return problems


def unknown_input_hint(name: str, definition: ModuleDefinition) -> str:
    known = sorted(definition.inputs)
    return did_you_mean(name, known) or (f"module {definition.name} takes: {', '.join(known)}" if known
                                         else f"module {definition.name} takes no input")


# -- validations: a small, safe expression language ----------------------------------------------
_NAMES = {"null": None, "true": True, "false": False, "None": None, "True": True, "False": False}
_COMPARE = {
    ast.Eq: lambda a, b: a == b, ast.NotEq: lambda a, b: a != b,
    ast.Lt: lambda a, b: a < b, ast.LtE: lambda a, b: a <= b,
    ast.Gt: lambda a, b: a > b, ast.GtE: lambda a, b: a >= b,
    ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b,
    ast.Is: lambda a, b: a is b, ast.IsNot: lambda a, b: a is not b,
}


class ConditionError(ValueError):
    """A condition that is not of the language, or that cannot be evaluated on these inputs."""


def condition_problem(condition: str, inputs: set[str]) -> Optional[str]:
    """Why `condition` is not a valid expression over `inputs`, or None."""
    try:
        tree = ast.parse(condition, mode="eval")
    except SyntaxError as exc:
        return f"{exc.msg} at column {exc.offset}"
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            if not (isinstance(node.value, ast.Name) and node.value.id == "inputs"):
                return "only inputs.NAME may be read"
            if node.attr not in inputs:
                hint = did_you_mean(node.attr, sorted(inputs))
                return f"unknown input '{node.attr}'" + (f" ({hint})" if hint else "")
        elif isinstance(node, ast.Name) and node.id not in _NAMES and node.id not in ("inputs", "len"):
            return f"unknown name '{node.id}' (write inputs.{node.id} for an input)"
        elif isinstance(node, ast.Call) and not (isinstance(node.func, ast.Name) and node.func.id == "len" and len(node.args) == 1):
            return "the only function a condition may call is len(VALUE)"
        elif not isinstance(node, _ALLOWED):
            return f"'{type(node).__name__}' is not allowed in a condition"
    return None


def evaluate(condition: str, inputs: Dict[str, Any]) -> bool:
    """The truth of a condition checked by `condition_problem`; ConditionError when a comparison
    does not apply to the values (a string compared with a number…)."""
    try:
        return bool(_eval(ast.parse(condition, mode="eval").body, inputs))
    except TypeError as exc:
        raise ConditionError(str(exc)) from None


def _eval(node: ast.AST, inputs: Dict[str, Any]) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return _NAMES[node.id]
    if isinstance(node, ast.Attribute):
        return inputs.get(node.attr)
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_eval(e, inputs) for e in node.elts]
    if isinstance(node, ast.BoolOp):
        values = (_eval(v, inputs) for v in node.values)
        return all(values) if isinstance(node.op, ast.And) else any(values)
    if isinstance(node, ast.UnaryOp):
        value = _eval(node.operand, inputs)
        return (not value) if isinstance(node.op, ast.Not) else -value
    if isinstance(node, ast.Compare):
        left = _eval(node.left, inputs)
        for op, comparator in zip(node.ops, node.comparators):
            right = _eval(comparator, inputs)
            if not _COMPARE[type(op)](left, right):
                return False
            left = right
        return True
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "len" and len(node.args) == 1:
        return len(_eval(node.args[0], inputs))
    raise ConditionError(f"'{type(node).__name__}' is not allowed in a condition")


_ALLOWED = (ast.Expression, ast.Constant, ast.Name, ast.Attribute, ast.List, ast.Tuple, ast.BoolOp, ast.And, ast.Or,
            ast.UnaryOp, ast.Not, ast.USub, ast.Compare, ast.Call, ast.Load, *_COMPARE)
