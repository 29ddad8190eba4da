"""The world the console tests run in: users, a config in a project library, a state folder.

Shared by the API tests (Flask test client) and the browser tests (headless Chromium). Every
call goes to the DSS emulator through the real dataikuapi client.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ADMIN = "iac_admin"  # a DSS administrator (through the admin group)
ALICE = "alice"  # an ordinary user: reads the demo project, administers nothing
MALLORY = "mallory"  # an ordinary user with no right on any project
RUNAS_KEY = "webapp-runas-key"  # the webapp backend's run-as identity (an admin, as is usual)
OPS_PROJECT = "IACOPS"  # holds the config (library folder "iac") and the state folder
STATE_FOLDER = "iac_state"
DEMO_KEY = "DEMO_PROJECT"
CANARY_ENV = "IAC_SECRET_CONSOLE_CANARY"
CANARY = "canary-5ecret-9f3b2d71c0"  # the value of a secret project variable: never in a response
# Inside DSS, `{secret_env: NAME}` reads the DSS user secret NAME of the person planning: every
# user of the world has this one, stored as DSS stores user settings (dataikuapi `add_secret`).
USER_SECRETS = [{"name": CANARY_ENV, "value": CANARY, "secret": True}]

IAC_YML = f"""\
version: 1
state:
  backend: managed_folder
  project_key: {OPS_PROJECT}
  folder: {STATE_FOLDER}
"""

DEMO_YML = f"""\
project:
  key: {DEMO_KEY}
  name: Demo Project
  variables:
    standard: {{region: eu}}
    local:
      api_token: {{secret_env: {CANARY_ENV}}}
  permissions:
    - {{group: analysts, role: reader}}

datasets:
  - name: TEST_DATA
    type: managed
    format: parquet
  - name: ORDERS
    type: managed
    format: csv
"""

FILES = {
    "iac.yml": IAC_YML,
    "environments/dev.yml": "variables: {}\n",
    "projects/demo.yml": DEMO_YML,
}


@dataclass(frozen=True)
class World:
    url: str
    source: dict
    environment: str = "dev"

    def target(self, **extra: Any) -> dict:
        return {"source": dict(self.source), "environment": self.environment, **extra}


def seed_users(dss: Any) -> None:
    dss.admin.seed(
        groups=[{"name": "administrators", "admin": True}, {"name": "analysts"}],
        users=[
            {"login": ADMIN, "displayName": "Ada Admin", "groups": ["administrators"], "secrets": USER_SECRETS},
            {"login": ALICE, "displayName": "Alice Analyst", "groups": ["analysts"], "secrets": USER_SECRETS},
            {"login": MALLORY, "displayName": "Mallory", "groups": [], "secrets": USER_SECRETS},
        ],
        api_keys=[{"key": RUNAS_KEY, "login": "webapp_runas", "admin": True}],
    )


def write_library(client: Any, project_key: str, folder: str, files: dict) -> None:
    from dataiku_iac.dss.service import write_library_files

    write_library_files(client, project_key, folder, files)


def build_world(dss: Any, files: dict = FILES) -> World:
    """Users, the ops project with the config in its library and an empty state folder."""
    seed_users(dss)
    client = dss.client()
    ops = client.create_project(OPS_PROJECT, "IaC operations", ADMIN)
    ops.create_managed_folder(STATE_FOLDER)
    perms = ops.get_permissions()
    perms["permissions"] = [{"group": "analysts", "readProjectContent": True, "readDashboards": True}]
    ops.set_permissions(perms)
    write_library(client, OPS_PROJECT, "iac", files)
    return World(dss.url, {"kind": "library", "project_key": OPS_PROJECT, "path": "iac"})
