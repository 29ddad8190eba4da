"""``${NAME}`` substitution.

The rule (docs/config-reference.md, "Variables"):

- ``${NAME}`` in a string *value* is replaced by the environment's ``variables[NAME]``.
  When the whole string is ``${NAME}``, the variable's own type is kept (``3`` stays an
  integer, ``true`` a boolean), so substituted values validate like written ones.
- A ``${NAME}`` whose NAME is not an environment variable is left untouched: it belongs
  to DSS, which expands ``${projectKey}``, ``${odbId}``, project variables and the like.
- ``$${NAME}`` is an escape: it always yields the literal ``${NAME}``, even when NAME is
  an environment variable (and never warns).
- Keys are never substituted, and variable values are not themselves expanded.
- An untouched ``${NAME}`` that is neither a DSS built-in, nor a variable of the
  project (``project.variables``, scenario ``set_variables`` steps) gets a warning, with
  a "did you mean" when it is close to an environment variable.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple

from .paths import YamlPath
from .suggest import closest

NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_REFERENCE = re.compile(r"\$(\$?)\{(" + NAME + r")\}")
_WHOLE = re.compile(r"^\$\{(" + NAME + r")\}$")
_PLAIN_REFERENCE = re.compile(r"\$\{(" + NAME + r")\}")

# Variables DSS expands itself: in managed dataset/folder paths and table names, and in
# scenario reporter messages. Referencing them never warns.
DSS_BUILTINS = frozenset({
    "projectKey", "odbId", "datasetName", "folderName", "dssDataDir", "connection",
    "scenarioName", "scenarioId", "scenarioRunURL", "outcome", "triggerName", "triggerType",
    "dssURL", "jobId", "jobURL",
})


# A module call's `source:` is resolved (and locked) as written: never built from variables
# (docs/modules.md, "Source forms"). Said by the loader and by `modules get`.
MODULE_SOURCE_WITH_VARIABLE = "a module's 'source' must be written out: it is resolved, and locked, before any variable"
MODULE_SOURCE_WITH_VARIABLE_HINT = ("write the source in full; for a source per environment, call the module once per "
                                    "source, or give what differs as an input")


@dataclass(frozen=True)
class Untouched:
    """A ``${NAME}`` left for DSS, where it was found."""

    path: YamlPath
    name: str


def render_scalar(value: Any) -> str:
    """How a variable reads inside a longer string: YAML/JSON spelling for non-strings."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    return json.dumps(value)


def substitute_string(text: str, variables: Mapping[str, Any]) -> Tuple[Any, List[str]]:
    """(new value, names left untouched) for one string value."""
    whole = _WHOLE.match(text)
    if whole and whole.group(1) in variables:
        return variables[whole.group(1)], []
    untouched: List[str] = []

    def replace(match: re.Match[str]) -> str:
        escaped, name = match.group(1), match.group(2)
        if escaped:
            return "${" + name + "}"
        if name in variables:
            return render_scalar(variables[name])
        untouched.append(name)
        return match.group(0)

    return _REFERENCE.sub(replace, text), untouched


def substitute(value: Any, variables: Mapping[str, Any], path: YamlPath = ()) -> Tuple[Any, List[Untouched]]:
    """A copy of `value` with every string value substituted. Keys are never touched."""
    found: List[Untouched] = []
    result = _walk(value, variables, path, found)
    return result, found


def _walk(value: Any, variables: Mapping[str, Any], path: YamlPath, found: List[Untouched]) -> Any:
    if isinstance(value, str):
        new, names = substitute_string(value, variables)
        found.extend(Untouched(path, n) for n in names)
        return new
    if isinstance(value, dict):
        return {k: _walk(v, variables, (*path, k), found) for k, v in value.items()}
    if isinstance(value, list):
        return [_walk(v, variables, (*path, i), found) for i, v in enumerate(value)]
    return value


def escape(text: str) -> str:
    """The string that `substitute_string` turns back into `text` (used in tests and docs)."""
    return _PLAIN_REFERENCE.sub(lambda m: "$" + m.group(0), text)


def project_variable_names(data: Any) -> set[str]:
    """Names DSS will know for this project: project variables and set_variables steps."""
    names: set[str] = set()
    if not isinstance(data, dict):
        return names
    project = data.get("project")
    variables = project.get("variables") if isinstance(project, dict) else None
    if isinstance(variables, dict):
        for section in ("standard", "local"):
            if isinstance(variables.get(section), dict):
                names.update(variables[section])
    for scenario in _dicts(data.get("scenarios")):
        for step in _dicts(scenario.get("steps")):
            if step.get("type") == "set_variables" and isinstance(step.get("variables"), dict):
                names.update(step["variables"])
    return names


def _dicts(value: Any) -> Iterable[dict[str, Any]]:

    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def unknown_reference_message(name: str, env_names: Iterable[str], known: Iterable[str]) -> Tuple[str, Optional[str]]:
    """(message, hint) for a warning about an untouched ``${NAME}``."""
    message = f"'${{{name}}}' is not an environment variable; it is left as is for DSS to expand"
    match = closest(name, list(env_names)) or closest(name, [*known, *DSS_BUILTINS])
    if match:
        return message, f"did you mean '${{{match}}}'?"
    return message, (f"declare '{name}' in project.variables, or write '$${{{name}}}' "
                     "if DSS defines it elsewhere (this also silences the warning)")


def scalar_variables(variables: Any) -> Dict[str, Any]:
    """The usable variables of an environment file (bad entries are reported by the schema)."""
    if not isinstance(variables, dict):
        return {}
    pattern = re.compile(f"^{NAME}$")
    return {k: v for k, v in variables.items()
            if pattern.match(k) and (v is None or isinstance(v, (str, int, float, bool)))}
