"""Plain data (a YAML project file's mappings) into DSL objects: `from_data(DatasetManaged, {...})`.

The class of each mapping is found from the annotations of the generated classes: the one whose
fixed `type` is the mapping's (a dataset of type sql_table is a DatasetSqlTable), else the first
whose keys fit, else a plain mapping where the schema takes one. `dataiku-iac convert` uses it to
write a YAML file as Python; a Python file may use it to paste a YAML snippet's data.
"""

from __future__ import annotations

import dataclasses
import typing
from collections import abc
from functools import cache
from typing import Any, Dict, Literal, Optional, Tuple, Type, TypeVar, Union

from ..config.suggest import did_you_mean
from . import models
from .base import Model, Var

M = TypeVar("M", bound=Model)


class ConvertError(ValueError):
    """A mapping no DSL class can hold (a key the schema does not know, a value of the wrong shape)."""

    def __init__(self, path: Tuple[Any, ...], message: str):
        super().__init__(message)
        self.path = path


# -- data -> models ---------------------------------------------------------------------------
@cache
def _hints(cls: type) -> Dict[str, Any]:
    return typing.get_type_hints(cls, vars(models))


def _fields(cls: type) -> Dict[str, dataclasses.Field[Any]]:
    return {str(f.metadata.get("key", f.name)): f for f in dataclasses.fields(cls)}


def project_from_data(data: Any) -> models.ProjectFile:
    """The DSL objects that compile back to `data` (a project file's mapping, as written)."""
    built = build(models.ProjectFile, data, ())
    assert isinstance(built, models.ProjectFile)
    return built


def build(annotation: Any, value: Any, path: Tuple[Any, ...]) -> Any:
    """`value` as the Python value of a field annotated `annotation`."""
    origin = typing.get_origin(annotation)
    if annotation is Any:
        return value
    if isinstance(annotation, type) and issubclass(annotation, Model):
        return _model(annotation, value, path)
    if origin is Union:
        return _union(typing.get_args(annotation), value, path)
    if origin in (list, abc.Sequence):
        if not isinstance(value, list):
            raise ConvertError(path, "expected a list")
        (item,) = typing.get_args(annotation)
        return [build(item, v, (*path, i)) for i, v in enumerate(value)]
    if origin in (dict, abc.Mapping):
        if not isinstance(value, dict):
            raise ConvertError(path, "expected a mapping")
        _, item = typing.get_args(annotation)
        return {k: build(item, v, (*path, k)) for k, v in value.items()}
    if annotation is Var and isinstance(value, str):
        return Var(value)
    return value


def _model(cls: type, value: Any, path: Tuple[Any, ...]) -> Model:
    if not isinstance(value, dict):
        raise ConvertError(path, f"expected a mapping for {cls.__name__}")
    fields, hints = _fields(cls), _hints(cls)
    kwargs = {}
    for key, item in value.items():
        found = fields.get(key)
        if found is None:
            hint = did_you_mean(key, fields)
            raise ConvertError((*path, key), f"unknown key '{key}' for {cls.__name__}" + (f" ({hint})" if hint else ""))
        kwargs[found.name] = build(hints[found.name], item, (*path, key))
    try:
        made = cls(**kwargs)
    except TypeError as exc:
        raise ConvertError(path, f"{cls.__name__}: {exc}") from None
    assert isinstance(made, Model)
    return made


def _union(options: Tuple[Any, ...], value: Any, path: Tuple[Any, ...]) -> Any:
    if isinstance(value, dict):
        return _mapping_option(options, value, path)
    if isinstance(value, list):
        listed = [o for o in options if typing.get_origin(o) in (list, abc.Sequence)]
        if not listed:
            raise ConvertError(path, "a list is not allowed here")
        return build(listed[0], value, path)
    if isinstance(value, str) and not _takes_plain_string(options, value) and Var in options:
        return Var(value)
    return value


def _takes_plain_string(options: Tuple[Any, ...], value: str) -> bool:
    for option in options:
        if option is str:
            return True
        if typing.get_origin(option) is Literal and value in typing.get_args(option):
            return True
    return False


def _mapping_option(options: Tuple[Any, ...], value: Dict[str, Any], path: Tuple[Any, ...]) -> Any:
    """The class of a mapping among a Union's: the one whose `type` is the mapping's, else the
    first whose keys fit, else a plain mapping."""
    classes = [o for o in options if isinstance(o, type) and issubclass(o, Model)]
    typed = [c for c in classes if fixed_type(c) is not None]
    for cls in typed:
        if fixed_type(cls) == value.get("type"):
            return _model(cls, value, path)
    for cls in classes:
        if cls not in typed and set(value) <= set(_fields(cls)):
            return _model(cls, value, path)
    plain = [o for o in options if typing.get_origin(o) in (dict, abc.Mapping) or o is Any]
    if plain:
        return build(plain[0], value, path)
    kinds = ", ".join(str(fixed_type(c)) for c in typed)
    raise ConvertError(path, f"no class takes this mapping (type {value.get('type')!r}; the types are {kinds})")


def fixed_type(cls: type) -> Optional[str]:
    found = _fields(cls).get("type")
    if found is None or not isinstance(found.default, str):
        return None
    return found.default


def from_data(cls: Type[M], data: Any) -> M:
    """The `cls` object (and the DSL objects inside it) that compiles back to `data`.
    Raises ConvertError naming the path of a key no class has."""
    made = _model(cls, data, ())
    assert isinstance(made, cls)
    return made
