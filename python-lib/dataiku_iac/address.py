"""Resource addresses: the one grammar every layer parses and formats them with.

    project.KEY            the project itself (a type whose spec has no name part)
    TYPE.KEY.NAME          an object inside project KEY: dataset.DEMO.TEST_DATA, scenario.DEMO.BUILD
    module.INSTANCE.TYPE.KEY.NAME
                           an object a module call declares (docs/modules.md): INSTANCE is the call's
                           name (`orders`), or `NAME[KEY]` for one instance of a `for_each` call;
                           NAME is the object's DSS name (with the call's name prefix)

TYPE is a registered resource type (resources/registry.py), whose spec says whether its addresses
have a name part. KEY is the project key *as written in the configuration*: the same address
names the same resource in every environment, even where the environment adds a key prefix or
suffix. NAME is the object's name or configured id; it may itself contain dots (DSS allows them
in some names), so it is everything after the second dot (after the module prefix, if any).
Two addresses naming the same DSS object differ at most by their module prefix: the DSS object
is `flat_address(address)`, what a `moved:` entry or `state mv` carries from one to the other.

`Address.parse` is for addresses a person typed (--target, state mv, overrides): the type must
be registered and have the right shape. `syntax_problem` is for addresses read from a state
file or a journal: only their form is checked, so a state holding a type this version does not
know is still readable (and reported where it matters, not as corruption).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Optional

from dataiku_iac.resources.registry import find_spec, project_spec, specs

TYPE_RE = re.compile(r"^[a-z][a-z0-9_]*$")  # a resource type
KEY_RE = re.compile(r"^[A-Za-z0-9_]+$")  # a project key (as written, or effective)
# As written in a configuration (override keys): a config key and a name of the config's shape.
_CONFIG_KEY = "[A-Z][A-Z0-9_]*"
_CONFIG_NAME = "[A-Za-z0-9_]+"
MODULE_PREFIX = "module."
# An instance of a module call: its name, with the key of a for_each call in brackets. The
# patterns the module expansion checks call names, keys and ${module.INSTANCE.OUTPUT} with.
CALL_NAME = "[A-Za-z0-9_]+"
INSTANCE_KEY = "[A-Za-z0-9_-]+"
INSTANCE = rf"{CALL_NAME}(?:\[{INSTANCE_KEY}\])?"
_MODULE_RE = re.compile(rf"^module\.({INSTANCE})\.(?=.)")


class AddressError(ValueError):
    """An address that does not parse (the message says what is expected)."""


@dataclass(frozen=True)
class Address:
    """A parsed address. For a project, `name` is its key (as in the state: a project's name is
    its key)."""

    type: str
    project: str
    name: str
    module: str = ""  # the module instance declaring it ("" at the top level of a project file)

    @classmethod
    def parse(cls, text: str) -> Address:
        module, flat = split_module(text) if isinstance(text, str) else ("", text)
        parts = flat.split(".", 2) if syntax_problem(text) is None else []
        spec = find_spec(parts[0]) if parts else None
        if spec is None or spec.named != (len(parts) == 3) or (module and not spec.named):
            raise AddressError(f"invalid address {text!r}: {expected()}")
        return cls(parts[0], parts[1], parts[2] if len(parts) == 3 else parts[1], module)

    @classmethod
    def find(cls, text: str) -> Optional[Address]:
        """The address `text` stands for, or None when it does not parse."""
        try:
            return cls.parse(text)
        except AddressError:
            return None

    def __str__(self) -> str:
        return address_of(self.type, self.project, self.name, self.module)

    @property
    def project_address(self) -> str:
        return project_address_of(str(self))


def address_of(type_: str, project: str, name: Optional[str] = None, module: str = "") -> str:
    """The address of an object of `type_` named `name` in the project of config key `project`
    (`name` is ignored for a type without a name part, and may be left out), declared by the
    module instance `module` ("" for none)."""
    spec = find_spec(type_)
    if (spec is not None and not spec.named) or name is None:
        return f"{type_}.{project}"
    prefix = f"{MODULE_PREFIX}{module}." if module else ""
    return f"{prefix}{type_}.{project}.{name}"


def split_module(address: str) -> tuple[str, str]:
    """(module instance, the address without its module prefix); ("", address) outside modules."""
    if not address.startswith(MODULE_PREFIX):
        return "", address
    match = _MODULE_RE.match(address)
    if match is None:
        return "", address
    return match.group(1), address[match.end():]


def flat_address(address: str) -> str:
    """The address without its module prefix: the DSS object it names (`type.KEY.NAME`)."""
    return split_module(address)[1]


def module_of(address: str) -> str:
    """The module instance declaring the object at `address` ("" for none)."""
    return split_module(address)[0]


_INSTANCE_ADDRESS = re.compile(rf"^module\.({INSTANCE})$")


def module_instance(text: str) -> Optional[str]:
    """The instance `module.NAME` or `module.NAME[KEY]` stands for (every object of a call, as
    `--target` and `--exclude` take it), or None for any other text."""
    match = _INSTANCE_ADDRESS.match(text)
    return match.group(1) if match else None


def in_instance(address: str, instance: str) -> bool:
    """Whether `address` is an object of `instance` (of any key of it, for a for_each call's name)."""
    module = module_of(address)
    return bool(module) and (module == instance or ("[" not in instance and module.startswith(f"{instance}[")))


def type_of(address: str) -> str:
    return flat_address(address).split(".", 1)[0]


def project_of(address: str) -> str:
    """The config key of the project an address is in."""
    return flat_address(address).split(".", 2)[1]


def project_address_of(address: str) -> str:
    """`project.KEY` for any address in the project of config key KEY."""
    return address_of(project_spec().type, project_of(address))


_CONTROL = re.compile(r"[\x00-\x1f]")  # checked once per address of a state: a regex, not a loop per character


def syntax_problem(address: Any) -> Optional[str]:
    """Why `address` is not of the form `type.KEY[.NAME]`, or None (any type: see the module doc)."""
    if not isinstance(address, str) or not address:
        return f"address must be a non-empty string, got {address!r}"
    if address != address.strip() or _CONTROL.search(address):
        return f"address {address!r} has surrounding whitespace or control characters"
    module, flat = split_module(address)
    if address.startswith(MODULE_PREFIX) and not module:
        return f"address {address!r} must look like module.NAME.type.PROJECT_KEY.NAME"
    parts = flat.split(".", 2)
    if len(parts) < 2:
        return f"address {address!r} must look like type.PROJECT_KEY[.NAME]"
    if not TYPE_RE.match(parts[0]):
        return f"address {address!r}: resource type {parts[0]!r} must be lowercase letters, digits, _"
    if not KEY_RE.match(parts[1]):
        return f"address {address!r}: project key {parts[1]!r} must be letters, digits, _"
    if len(parts) == 3 and not parts[2]:
        return f"address {address!r} has an empty name"
    if module and len(parts) != 3:
        return f"address {address!r}: a module declares objects inside a project (module.NAME.type.PROJECT_KEY.NAME)"
    return None


def expected() -> str:
    """What an address looks like, for messages: "expected project.KEY or <type>.KEY.NAME with
    type one of managed_folder, dataset, recipe, scenario" (the registered types, in order)."""
    unnamed = " or ".join(f"{s.type}.KEY" for s in specs() if not s.named)
    named = ", ".join(s.type for s in specs() if s.named)
    return f"expected {unnamed} or [module.NAME.]<type>.KEY.NAME with type one of {named}"


def override_shapes() -> str:
    """The addresses an override may be keyed by, for messages: "project.KEY, dataset.KEY.NAME,
    managed_folder.KEY.NAME, recipe.KEY.NAME or scenario.KEY.ID"."""
    unnamed = [f"{s.type}.KEY" for s in specs() if not s.named]
    shapes = unnamed + sorted(f"{s.type}.KEY.{s.id_key.upper()}" for s in specs() if s.named)
    return shapes[0] if len(shapes) == 1 else ", ".join(shapes[:-1]) + " or " + shapes[-1]


def config_pattern() -> str:
    """A regular expression matching the addresses a configuration may write (override keys,
    `moved:` entries)."""
    unnamed = "|".join(re.escape(s.type) for s in specs() if not s.named)
    named = "|".join(re.escape(s.type) for s in specs() if s.named)
    module = r"(module\.[A-Za-z0-9_]+(\[[A-Za-z0-9_-]+\])?\.)?"
    return rf"^(({unnamed})\.{_CONFIG_KEY}|{module}({named})\.{_CONFIG_KEY}\.{_CONFIG_NAME})$"
