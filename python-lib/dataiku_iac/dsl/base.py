"""What every generated DSL class shares: unset fields, `${...}` references, source locations,
and the translation to the plain data a YAML project file holds.

The classes themselves (`dsl/models.py`) are generated from the project file's JSON schema by
`scripts/gen_dsl.py`; nothing here knows a resource type. A model is plain data: building one
checks nothing (the loader checks the compiled data against the same schema as a YAML file, and
reports a problem at the constructor call that made the value, file and line).
"""

from __future__ import annotations

import dataclasses
import os
import sys
from dataclasses import dataclass, field
from types import FrameType
from typing import Any, Dict, Iterator, Optional, Tuple

_HERE = os.path.dirname(os.path.abspath(__file__))


class _Unset:
    """The default of every optional field: the key is left out of the compiled data (as a key
    not written in YAML), which is not the same as writing it with a value."""

    _instance: Optional[_Unset] = None

    def __new__(cls) -> _Unset:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNSET"

    def __bool__(self) -> bool:
        return False

    def __copy__(self) -> _Unset:
        return self

    def __deepcopy__(self, memo: Dict[int, Any]) -> _Unset:
        return self


# Typed Any so that it is a valid default for a field of any type (`tags: List[str] = UNSET`).
UNSET: Any = _Unset()


class Var(str):
    """A `${NAME}` reference where the field's own type is not a string (an integer, a boolean,
    one of a fixed set of words): the environment's variable gives the value when the
    configuration is loaded, as in YAML. String fields take `"${NAME}"` as they are."""


def var(name: str) -> Var:
    """`var("retries")` is `${retries}`: the environment variable `retries` (docs/python-dsl.md)."""
    return Var("${" + name + "}")


@dataclass(frozen=True)
class Location:
    """Where a model was made: the constructor call's file and line."""

    file: str
    line: int


def _caller_location() -> Optional[Location]:
    """The first frame outside this package and the dataclass-made `__init__`."""
    frame: Optional[FrameType] = sys._getframe(1)
    while frame is not None:
        filename = frame.f_code.co_filename
        if not filename.startswith("<") and os.path.dirname(os.path.abspath(filename)) != _HERE:
            return Location(filename, frame.f_lineno)
        frame = frame.f_back
    return None


@dataclass
class Model:
    """The base of every generated class. `where` is set when the object is made."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "_where", _caller_location())

    @property
    def where(self) -> Optional[Location]:
        found: Optional[Location] = getattr(self, "_where", None)
        return found

    @classmethod
    def key_of(cls, field_name: str) -> str:
        """The project file's key for a field (a Python keyword gets a trailing `_`: `import_`)."""
        for f in dataclasses.fields(cls):
            if f.name == field_name:
                return str(f.metadata.get("key", f.name))
        raise KeyError(field_name)

    def items(self) -> Iterator[Tuple[str, Any]]:
        """(key, value) of the fields that are set, in the schema's order (the generated classes'
        `_order`; the dataclass puts the required fields first)."""
        by_name = {f.name: f for f in dataclasses.fields(self)}
        for name in getattr(self, "_order", None) or by_name:
            value = getattr(self, name)
            if value is not UNSET:
                yield str(by_name[name].metadata.get("key", name)), value


def keyed(name: str) -> Any:
    """A field whose key in the project file is `name` (a Python keyword: `import`)."""
    return field(default=UNSET, metadata={"key": name})


Path = Tuple[Any, ...]


def to_data(value: Any) -> Any:
    """The plain data (dicts, lists, scalars) a model stands for: what a YAML file holds."""
    data, _ = compile_located(value)
    return data


def compile_located(value: Any, default: Optional[Location] = None) -> Tuple[Any, Dict[Path, Location]]:
    """The plain data of `value` and, for each node, the location of the model that holds it
    (a node made outside any model gets the nearest enclosing model's, or `default`)."""
    locations: Dict[Path, Location] = {}
    data = _compile(value, (), default, locations)
    return data, locations


def _compile(value: Any, path: Path, where: Optional[Location], out: Dict[Path, Location]) -> Any:
    if isinstance(value, Model):
        where = value.where or where
        if where is not None:
            out[path] = where
        return {key: _compile(item, (*path, key), where, out) for key, item in value.items()}
    if where is not None:
        out[path] = where
    if isinstance(value, Var):
        return str(value)
    if isinstance(value, dict):
        return {key: _compile(item, (*path, key), where, out) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_compile(item, (*path, i), where, out) for i, item in enumerate(value)]
    return value
