"""``dataiku.customstep``: a plugin scenario step's config (env DKU_PLUGIN_STEP_CONFIG, DKU_PLUGIN_CONFIG)."""

from __future__ import annotations

import json
import os
from typing import Any, Dict


def get_step_config() -> Dict[str, Any]:
    return json.loads(os.environ.get("DKU_PLUGIN_STEP_CONFIG") or "{}")


def get_plugin_config() -> Dict[str, Any]:
    return json.loads(os.environ.get("DKU_PLUGIN_CONFIG") or "{}")


def get_step_resource() -> str:
    return os.environ.get("DKU_CUSTOM_RESOURCE_FOLDER", "")


__all__ = ["get_plugin_config", "get_step_config", "get_step_resource"]
