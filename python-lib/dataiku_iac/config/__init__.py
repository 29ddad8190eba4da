"""The configuration loader: YAML files in a directory -> checked, effective documents.

    from dataiku_iac.config import load_config
    cfg = load_config(root, environment="dev")

See docs/config-reference.md for the file formats and the rules.
"""

from __future__ import annotations

from .documents import EnvironmentConfig, LoadedConfig, ProjectDocument
from .loader import available_environments, load_config
from .paths import render_path

__all__ = [
    "EnvironmentConfig",
    "LoadedConfig",
    "ProjectDocument",
    "available_environments",
    "load_config",
    "render_path",
]
