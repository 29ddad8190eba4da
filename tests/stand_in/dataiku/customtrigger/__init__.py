"""``dataiku.customtrigger``: a plugin trigger's config (env DKU_PLUGIN_TRIGGER_CONFIG, DKU_PLUGIN_CONFIG)."""

from __future__ import annotations

import json
import os
from typing import Any, Dict


def get_trigger_config() -> Dict[str, Any]:
    return json.loads(os.environ.get("DKU_PLUGIN_TRIGGER_CONFIG") or "{}")


def get_plugin_config() -> Dict[str, Any]:
    return json.loads(os.environ.get("DKU_PLUGIN_CONFIG") or "{}")
