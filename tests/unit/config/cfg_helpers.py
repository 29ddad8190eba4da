"""Helpers for the config loader tests: write a small config tree, load it, read diagnostics."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Dict, List, Optional, Union

import pytest
from dataiku_iac.config import LoadedConfig, load_config
from dataiku_iac.errors import ConfigError, Diagnostic

DEMO = """\
project:
  key: DEMO_PROJECT
  name: Demo Project

datasets:
  - name: TEST_DATA
    type: managed
    format: parquet
"""


def write_tree(root: Path, files: Dict[str, Union[str, bytes]]) -> Path:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(textwrap.dedent(content), encoding="utf-8")
    return root


class Tree:
    """A config directory under tmp_path, with an environments/dev.yml by default."""

    def __init__(self, root: Path):
        self.root = root

    def write(self, files: Dict[str, Union[str, bytes]], env: Optional[str] = "") -> Tree:
        if env is not None and "environments/dev.yml" not in files:
            files = {"environments/dev.yml": env, **files}
        write_tree(self.root, files)
        return self

    def load(self, environment: Optional[str] = "dev") -> LoadedConfig:
        return load_config(self.root, environment)

    def errors(self, environment: Optional[str] = "dev") -> List[Diagnostic]:
        with pytest.raises(ConfigError) as info:
            load_config(self.root, environment)
        return info.value.diagnostics


def messages(diags: List[Diagnostic]) -> List[str]:
    return [d.render() for d in diags]
