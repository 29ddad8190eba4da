"""Where `{secret_env: NAME}` values come from: a secret source given to the engine.

The engine never decides on its own where a secret lives. The CLI gives it the process
environment of the person running it (`EnvironmentSecrets`); the DSS plugin gives it the
calling user's DSS user secrets (`dataiku_iac.dss.secrets`), never the DSS-side process
environment, which belongs to DSS, a webapp backend or a code env and may hold their keys.

A source answers two questions: the value of a name (None when it has none) and how to tell
the user that a name is missing (where it was looked for and how to set it). Sources never
put a value in a message or a repr.
"""

from __future__ import annotations

import os
from typing import Mapping, Optional, Protocol, Union, runtime_checkable


@runtime_checkable
class SecretSource(Protocol):
    def get(self, name: str) -> Optional[str]:
        """The secret's value, or None when this source has no secret of that name."""

    def missing(self, name: str) -> str:
        """What to say when `name` is missing: "<where it was looked for>, which is not set…"."""


class EnvironmentSecrets:
    """Secrets from environment variables (the CLI's process environment, or a test's mapping)."""

    def __init__(self, environ: Mapping[str, str]):
        self._environ = environ

    def get(self, name: str) -> Optional[str]:
        return self._environ.get(name)

    def missing(self, name: str) -> str:
        return f"environment variable {name!r}, which is not set"

    def __repr__(self) -> str:
        return "EnvironmentSecrets(<values hidden>)"


class KnownValuesFirst:
    """Values already known to the caller (an import reads live secret variables), then `base`;
    a missing name is described by `base`, where the user would have to set it."""

    def __init__(self, values: Mapping[str, str], base: SecretSource):
        self._values = dict(values)
        self._base = base

    def get(self, name: str) -> Optional[str]:
        value = self._values.get(name)
        return value if value is not None else self._base.get(name)

    def missing(self, name: str) -> str:
        return self._base.missing(name)

    def __repr__(self) -> str:
        return f"KnownValuesFirst(<{len(self._values)} value(s) hidden>, {self._base!r})"


SecretsLike = Union[SecretSource, Mapping[str, str], None]


def secret_source(value: SecretsLike) -> SecretSource:
    """A SecretSource from a source, or from a mapping read as environment variables; None is
    the process environment (the CLI's default; the DSS plugin always passes its own source)."""
    if value is None:
        return EnvironmentSecrets(os.environ)
    if isinstance(value, SecretSource) and not isinstance(value, Mapping):
        return value
    return EnvironmentSecrets(value)
