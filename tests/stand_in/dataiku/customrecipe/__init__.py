"""``dataiku.customrecipe``: a custom recipe's roles and config, from the environment.

DKU_CUSTOM_RECIPE_CONFIG / DKU_CUSTOM_RECIPE_PLUGIN_CONFIG hold JSON; DKU_CUSTOM_RECIPE_INPUTS /
DKU_CUSTOM_RECIPE_OUTPUTS hold ``{role: [fullName, ...]}`` (a stand-in convention: DSS passes them through
its own runtime); DKU_CUSTOM_RESOURCE_FOLDER is the plugin resource folder.
"""

from __future__ import annotations

import json
import os
from typing import Any, Dict, List


def _env_json(name: str, default: Any) -> Any:
    raw = os.environ.get(name)
    return json.loads(raw) if raw else default


def _names(env: str, role: Any, full: bool) -> List[str]:
    roles: Dict[str, List[str]] = _env_json(env, {})
    names = roles.get(role, []) if role is not None else [n for v in roles.values() for n in v]
    return list(names) if full else [n.split(".", 1)[-1] for n in names]


def get_input_names_for_role(role: str, full: bool = True) -> List[str]:
    return _names("DKU_CUSTOM_RECIPE_INPUTS", role, full)


def get_output_names_for_role(role: str, full: bool = True) -> List[str]:
    return _names("DKU_CUSTOM_RECIPE_OUTPUTS", role, full)


def get_input_names(full: bool = True) -> List[str]:
    return _names("DKU_CUSTOM_RECIPE_INPUTS", None, full)


def get_output_names(full: bool = True) -> List[str]:
    return _names("DKU_CUSTOM_RECIPE_OUTPUTS", None, full)


def get_recipe_config() -> Dict[str, Any]:
    return _env_json("DKU_CUSTOM_RECIPE_CONFIG", {})


def get_plugin_config() -> Dict[str, Any]:
    return _env_json("DKU_CUSTOM_RECIPE_PLUGIN_CONFIG", {})


def get_recipe_resource() -> str:
    return os.environ.get("DKU_CUSTOM_RESOURCE_FOLDER", "")
