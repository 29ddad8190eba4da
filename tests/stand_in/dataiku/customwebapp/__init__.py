"""``dataiku.customwebapp``: a plugin webapp's config (env DKU_CUSTOM_WEBAPP_CONFIG, DKU_PLUGIN_CONFIG)."""

from __future__ import annotations

import json
import os
from typing import Any, Dict


def get_webapp_config() -> Dict[str, Any]:
    return json.loads(os.environ.get("DKU_CUSTOM_WEBAPP_CONFIG") or "{}")


def get_plugin_config() -> Dict[str, Any]:
    return json.loads(os.environ.get("DKU_PLUGIN_CONFIG") or "{}")


def get_webapp_resource() -> str:
    return os.environ.get("DKU_CUSTOM_RESOURCE_FOLDER", "")


__all__ = ["get_plugin_config", "get_webapp_config", "get_webapp_resource"]
