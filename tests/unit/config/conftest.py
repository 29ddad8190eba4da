"""Fixtures for the config loader tests (helpers live in cfg_helpers, a unique module name)."""

from __future__ import annotations

from pathlib import Path

import pytest
from cfg_helpers import Tree


@pytest.fixture
def tree(tmp_path: Path) -> Tree:
    return Tree(tmp_path)
