"""Fixtures for the DSS plugin's tests: the emulator, a state project with its folder, configs."""

from __future__ import annotations

import pytest
from plugin_helpers import STATE_FOLDER, STATE_PROJECT, make_state_project, seed_users


@pytest.fixture
def state_project(dss):
    """A DSS project holding the `iac_state` managed folder, plus the seeded users."""
    client = dss.client()
    seed_users(dss)
    folder_id = make_state_project(client)
    return {"project_key": STATE_PROJECT, "folder": STATE_FOLDER, "folder_id": folder_id}
