"""Three DSS emulators (dev, staging, prod), each with its own API key and its own connection
and code-env names, for the promotion tests. Started once per module; reset and re-seeded
before each test. Staging and prod lose DSS's default names, so any name that escaped the
environment's remapping fails loudly instead of silently landing on a default connection."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest
from dss_emulator.pytest_plugin import EmulatorHandle, start_subprocess, stop_subprocess

from tests.promotion.helpers import EXAMPLES, cli_env
from tests.support import example_secrets

DEFAULT_CONNECTIONS = ("filesystem_managed", "filesystem_folders", "postgres_dw")
KEY_VARS = {"dev": "DKU_API_KEY", "staging": "DKU_API_KEY_STAGING", "prod": "DKU_API_KEY_PROD"}


def names_for(env: str) -> dict:
    """Connection and code-env names of each emulator (dev keeps DSS's defaults)."""
    if env == "dev":
        return {"managed": "filesystem_managed", "folders": "filesystem_folders", "sql": "postgres_dw", "python": "py39_default"}
    return {"managed": f"fs_{env}", "folders": f"fs_{env}_folders", "sql": f"postgres_{env}", "python": f"py39_{env}"}


@dataclass
class Node:
    env: str
    handle: EmulatorHandle

    @property
    def names(self) -> dict:
        return names_for(self.env)

    def client(self) -> Any:
        return self.handle.client()

    def cli_env(self, **extra: str) -> dict:
        """Only this node's URL and key: a command of another environment cannot reach it."""
        env = cli_env(self.handle, **{**example_secrets(EXAMPLES / "sales-pipeline"), **extra})
        env[KEY_VARS[self.env]] = self.handle.api_key
        return env

    def prepare(self) -> None:
        self.handle.reset_all()
        if self.env != "dev":
            client = self.client()
            for name in DEFAULT_CONNECTIONS:
                client.get_connection(name).delete()
            client.get_code_env("PYTHON", "py39_default").delete()
            n = self.names
            self.handle.admin.seed(
                connections=[
                    {"name": n["managed"], "type": "Filesystem", "allowManagedDatasets": True, "allowManagedFolders": False},
                    {"name": n["folders"], "type": "Filesystem", "allowManagedDatasets": False, "allowManagedFolders": True},
                    {"name": n["sql"], "type": "PostgreSQL", "params": {"host": "db", "db": self.env}},
                ],
                code_envs=[{"envLang": "PYTHON", "envName": n["python"]}, {"envLang": "R", "envName": f"r_{self.env}"}],
            )
        self.handle.admin.clear_requests()


@pytest.fixture(scope="module")
def nodes() -> Iterator[dict]:
    tmp = Path(tempfile.mkdtemp(prefix="promotion-"))
    started: dict = {}
    try:
        for env in ("dev", "staging", "prod"):
            started[env] = Node(env, start_subprocess(tmp / env, api_key=f"{env}-admin-key"))
        yield started
    finally:
        for node in started.values():
            stop_subprocess(node.handle)
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture
def dss3(nodes: dict) -> dict:
    for node in nodes.values():
        node.prepare()
    return nodes


@pytest.fixture
def sales(tmp_path: Path) -> Path:
    """A copy of examples/sales-pipeline (state kept under the copy)."""
    root = tmp_path / "sales-pipeline"
    shutil.copytree(EXAMPLES / "sales-pipeline", root, ignore=shutil.ignore_patterns(".dataiku-iac"))
    return root
