"""Git and registry modules through plan and apply, on local bare repositories: the lock pins
the commit (a new tag changes nothing until `modules update`), a plan reads the module cache
without the repository, and a module missing from both is an error at its call."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from tests.e2e.helpers import cli_env, run_cli, write_config
from tests.support.gitrepo import BareRepo

KEY = "GITMOD"
MODULE_YML = """module: ingest
version: {version}
inputs:
  format: {{type: string, default: csv}}
outputs:
  raw: ${{module.prefix}}raw
resources: [resources.yml]
"""


def _resources(names: list[str]) -> str:
    return "datasets:\n" + "".join(f"  - {{name: {n}, type: managed, format: \"${{inputs.format}}\"}}\n" for n in names)


def test_git_and_registry_modules_are_planned_from_the_lock_and_the_cache(dss: Any, tmp_path: Path) -> None:
    repo = BareRepo(tmp_path / "modules-repo")
    repo.commit({"index.yml": "registry: 1\nmodules:\n  ingest: {path: ingest, description: Raw datasets}\n",
                 "ingest/module.yml": MODULE_YML.format(version="1.0.0"), "ingest/resources.yml": _resources(["raw"])})
    repo.tag("v1.0.0")
    repo.tag("ingest/v1.0.0")
    project = (f"project:\n  key: {KEY}\n  name: Git modules\nmodules:\n"
               f"  - name: direct\n    source: git+{repo.url}//ingest?ref=v1.0.0\n"
               "  - name: lib\n    source: acme/ingest\n    version: \"~> 1.0\"\n    inputs: {format: parquet}\n")
    root = write_config(tmp_path / "cfg", {"git.yml": project},
                        iac=f"version: 1\nmodule_registries:\n  acme: git+{repo.url}\n")
    env = {**cli_env(dss), "DATAIKU_IAC_MODULE_CACHE": str(tmp_path / "module-cache")}
    assert os.environ.get("DATAIKU_IAC_MODULE_CACHE") != env["DATAIKU_IAC_MODULE_CACHE"]

    not_locked = run_cli(dss, root, "plan", "-e", "dev", env=env, expect=1)
    assert "projects/git.yml:6:13: error: modules[0].source:" in not_locked.stderr and "modules get" in not_locked.stderr
    run_cli(dss, root, "modules", "get", env=env)
    applied = run_cli(dss, root, "apply", "-e", "dev", "--auto-approve", env=env)
    assert "module.lib.dataset.GITMOD.lib_raw" in applied.stdout, str(applied)
    datasets = {d["name"]: d["formatType"] for d in dss.client().get_project(KEY).list_datasets()}
    assert datasets == {"direct_raw": "csv", "lib_raw": "parquet"}

    repo.commit({"ingest/module.yml": MODULE_YML.format(version="1.1.0"), "ingest/resources.yml": _resources(["raw", "more"])})
    repo.tag("ingest/v1.1.0")
    pinned = run_cli(dss, root, "plan", "-e", "dev", "--detailed-exitcode", env=env)
    assert pinned.last_line().startswith("No changes."), str(pinned)
    run_cli(dss, root, "modules", "update", "lib", env=env)
    newer = run_cli(dss, root, "plan", "-e", "dev", "--detailed-exitcode", env=env, expect=2)
    assert "module.lib.dataset.GITMOD.lib_more" in newer.stdout and "1 to add" in newer.stdout, str(newer)

    shutil.rmtree(repo.path)  # the plan needs only the lock and the cache
    cached = run_cli(dss, root, "plan", "-e", "dev", "--detailed-exitcode", env=env, expect=2)
    assert "1 to add" in cached.stdout
    shutil.rmtree(tmp_path / "module-cache")
    gone = run_cli(dss, root, "plan", "-e", "dev", env=env, expect=1)
    assert "projects/git.yml:6:13: error: modules[0].source: module 'git+file://" in gone.stderr
    assert "projects/git.yml:8:13: error: modules[1].source: module 'acme/ingest'" in gone.stderr
