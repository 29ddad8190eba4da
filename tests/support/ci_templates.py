"""What the tests that run the CI templates share (tests/e2e/test_ci_*_template.py): the
configuration repository they plan and apply, its state in DSS and a read-only key, and the
runner's environment with a `pip` stand-in."""

from __future__ import annotations

import os
import sys
from importlib.metadata import version
from pathlib import Path
from typing import Any

from tests.support.cli import write_config
from tests.support.emulator import ensure_state_folder

READONLY_KEY = "ci-template-readonly-key"
IAC = """\
version: 1
state:
  backend: managed_folder
  project_key: IAC_OPS
  folder: iac_state
"""
PROD = """\
dss:
  api_key_env: DKU_API_KEY_PROD
"""
PROJECT = """\
project:
  key: CI_SALES
  name: Sales
  permissions:
    - {group: readers, role: reader}

datasets:
  - name: orders
    type: managed
    format: parquet
"""
ANOTHER_DATASET = "  - name: customers\n    type: managed\n    format: parquet\n"


def make_repository(dss: Any, root: Path) -> Path:
    """The configuration repository, its state in DSS (every job reads the same), and a read-only
    key (a user of the `readers` group, reader of the state's project and, by the config, of CI_SALES)."""
    dss.admin.seed(api_keys=[{"key": READONLY_KEY, "login": "iac_reader", "groups": ["readers"]}])
    ensure_state_folder(dss, "IAC_OPS", "iac_state")
    state_project = dss.client().get_project("IAC_OPS")
    permissions = state_project.get_permissions()
    permissions["permissions"].append({"group": "readers", "readProjectContent": True})
    state_project.set_permissions(permissions)
    return write_config(root, {"sales.yml": PROJECT}, iac=IAC, files={"environments/prod.yml": PROD})


def runner_env(tools: Path) -> dict[str, str]:
    """The runner's environment: this machine's, without DSS keys nor CI variables, with a `pip`
    that checks the template installs the version under test (installing nothing: it is on PATH)."""
    tools.mkdir(parents=True)
    pip = tools / "pip"
    expected = f"dataiku-iac=={version('dataiku-iac')}"
    pip.write_text(
        "#!/bin/sh\n# pip, as the templates call it, on a runner where dataiku-iac is already installed\n"
        f'[ "$#" -eq 2 ] && [ "$1" = install ] && [ "$2" = "{expected}" ] || '
        '{ echo "pip stand-in: expected install ' + expected + ', got: $*" >&2; exit 1; }\n'
        f'echo "{expected} already installed"\n',
        encoding="utf-8",
    )
    pip.chmod(0o755)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DKU_", "GITHUB_", "CI_", "GITLAB_", "IAC_SECRET_"))
           and (not k.startswith("DATAIKU_IAC") or k == "DATAIKU_IAC_CONFIG_CACHE")}
    env["PATH"] = os.pathsep.join([str(tools), str(Path(sys.executable).parent), env.get("PATH", "")])
    return env
