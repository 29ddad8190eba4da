"""The GitHub Actions template (ci/github/dataiku-iac.yml) works: its jobs' `run:` steps, in
order, against the DSS emulator (tests/support/github_actions.py plays the runner; docs/ci.md).

- A pull request plans with the read-only key (a DSS user of the `readers` group: it could not
  write if it tried), puts the plan in the run summary and in one comment on a local stand-in of
  GitHub's API, updated, not duplicated, by the next push; DSS is not changed.
- A fork's pull request gets `validate --offline` only, with no key.
- The merge plans with the read-only key, uploads the plan, and the apply job applies exactly it
  with the write key; the next merge with nothing to change skips the apply.
- An apply job given another plan than the one planned stops before applying.
- A template calling the CLI wrongly (a renamed flag) fails its job.
"""

from __future__ import annotations

import json
import sys
from importlib.metadata import version
from pathlib import Path
from typing import Any, Iterator, Optional

import pytest
from dataiku_iac.planner.plan import digest_of

from tests.support import REPO, pr_server, request_count, write_config, writes_since
from tests.support.emulator import ensure_state_folder
from tests.support.github_actions import JobResult, WorkflowRun

TEMPLATE = REPO / "ci" / "github" / "dataiku-iac.yml"
TOKEN = "ghs_ci-template-test-token"
READONLY_KEY = "ci-template-readonly-key"
OWNER_REPO = "/".join(pr_server.GITHUB_REPO)

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


@pytest.fixture
def github() -> Iterator[pr_server.PrServer]:
    state, http = pr_server.start(TOKEN)
    try:
        yield state
    finally:
        http.shutdown()
        http.server_close()


@pytest.fixture
def repository(dss: Any, tmp_path: Path) -> Path:
    """The configuration repository, its state in DSS (every job reads the same), and a read-only key."""
    dss.admin.seed(api_keys=[{"key": READONLY_KEY, "login": "iac_reader", "groups": ["readers"]}])
    ensure_state_folder(dss, "IAC_OPS", "iac_state")
    state_project = dss.client().get_project("IAC_OPS")
    permissions = state_project.get_permissions()
    permissions["permissions"].append({"group": "readers", "readProjectContent": True})
    state_project.set_permissions(permissions)
    return write_config(tmp_path / "repo", {"sales.yml": PROJECT}, iac=IAC, files={"environments/prod.yml": PROD})


@pytest.fixture
def runner_env(tmp_path: Path) -> dict[str, str]:
    """The runner's environment: this machine's, without DSS keys, with a `pip` that checks the
    template installs the version under test (installing nothing: it is already on PATH)."""
    import os

    tools = tmp_path / "runner-bin"
    tools.mkdir()
    pip = tools / "pip"
    expected = f"dataiku-iac=={version('dataiku-iac')}"
    pip.write_text(
        "#!/bin/sh\n# pip, as the template calls it, on a runner where dataiku-iac is already installed\n"
        f'[ "$#" -eq 2 ] && [ "$1" = install ] && [ "$2" = "{expected}" ] || '
        '{ echo "pip stand-in: expected install ' + expected + ', got: $*" >&2; exit 1; }\n'
        f'echo "{expected} already installed"\n',
        encoding="utf-8",
    )
    pip.chmod(0o755)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DKU_", "GITHUB_", "IAC_SECRET_")) and (not k.startswith("DATAIKU_IAC") or k == "DATAIKU_IAC_CONFIG_CACHE")}
    env["PATH"] = os.pathsep.join([str(tools), str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


def run_workflow(dss: Any, github: pr_server.PrServer, repository: Path, runner_env: dict[str, str], work: Path,
                 event_name: str, *, fork: bool = False, template: Path = TEMPLATE,
                 before_job: Optional[Any] = None) -> WorkflowRun:
    if event_name == "pull_request":
        head = "someone/dss-config" if fork else OWNER_REPO
        event: dict[str, Any] = {"number": 7, "pull_request": {"number": 7, "head": {"repo": {"full_name": head}}}}
        ref = "refs/pull/7/merge"
    else:
        event, ref = {"ref": "refs/heads/main"}, "refs/heads/main"
    run = WorkflowRun(
        workflow_file=template, repository=repository, work=work, event_name=event_name, event=event,
        base_env=runner_env, vars={"DKU_DSS_URL": dss.url},
        secrets={"DSS_READONLY_KEY": READONLY_KEY, "DSS_WRITE_KEY": dss.api_key},
        github={"repository": OWNER_REPO, "ref": ref, "token": TOKEN, "api_url": github.url,
                "server_url": "https://github.com", "run_id": "4711", "sha": "0" * 40},
        before_job=before_job,
    )
    run.run()
    return run


def results(run: WorkflowRun) -> dict[str, str]:
    return {job_id: job.result for job_id, job in run.jobs.items()}


def assert_succeeded(job: JobResult) -> None:
    assert job.result == "success", job.log()


def plan_comments(github: pr_server.PrServer) -> list[str]:
    return [c["body"] for c in github.github.get("7", []) if "dataiku-iac plan env=prod" in c["body"]]


def test_pull_request_then_merge(dss: Any, github: pr_server.PrServer, repository: Path, runner_env: dict[str, str], tmp_path: Path) -> None:
    client = dss.client()
    before = request_count(dss)
    pr = run_workflow(dss, github, repository, runner_env, tmp_path / "pr1", "pull_request")
    assert results(pr) == {"pr-plan": "success", "fork-validate": "skipped", "plan": "skipped", "apply": "skipped"}, pr.jobs["pr-plan"].log()
    job = pr.jobs["pr-plan"]
    assert "Using DSS at" in job.log() and "key from DKU_API_KEY_PROD" in job.log()
    assert "Plan: 2 to add" in job.summary
    (comment,) = plan_comments(github)
    assert "Plan: 2 to add" in comment and READONLY_KEY not in job.log() + comment
    assert "CI_SALES" not in client.list_project_keys()

    # The next push to the pull request: the same comment, updated.
    (repository / "projects" / "sales.yml").write_text(PROJECT + "  - name: customers\n    type: managed\n    format: parquet\n", encoding="utf-8")
    pr = run_workflow(dss, github, repository, runner_env, tmp_path / "pr2", "pull_request")
    assert_succeeded(pr.jobs["pr-plan"])
    (comment,) = plan_comments(github)
    assert "Plan: 3 to add" in comment
    assert "CI_SALES" not in client.list_project_keys()
    assert writes_since(dss, before) == []  # pull requests write nothing to DSS

    # A fork's pull request: offline checks, no key.
    fork = run_workflow(dss, github, repository, runner_env, tmp_path / "fork", "pull_request", fork=True)
    assert results(fork) == {"pr-plan": "skipped", "fork-validate": "success", "plan": "skipped", "apply": "skipped"}, fork.jobs["fork-validate"].log()

    # The merge: plan with the read-only key, apply exactly that plan (approved) with the write key.
    merge = run_workflow(dss, github, repository, runner_env, tmp_path / "merge1", "push")
    assert results(merge)["plan"] == "success", merge.jobs["plan"].log()
    assert merge.jobs["plan"].outputs["changes"] == "true"
    assert "Plan: 3 to add" in merge.jobs["plan"].summary
    assert_succeeded(merge.jobs["apply"])
    assert "Apply complete! Resources: 3 added" in merge.jobs["apply"].log()
    assert {d["name"] for d in client.get_project("CI_SALES").list_datasets()} == {"orders", "customers"}

    # A merge with nothing to change: no apply.
    again = run_workflow(dss, github, repository, runner_env, tmp_path / "merge2", "push")
    assert results(again)["plan"] == "success" and again.jobs["plan"].outputs["changes"] == "false", again.jobs["plan"].log()
    assert results(again)["apply"] == "skipped"


def test_the_apply_job_refuses_a_plan_that_is_not_the_one_planned(dss: Any, github: pr_server.PrServer, repository: Path,
                                                                   runner_env: dict[str, str], tmp_path: Path) -> None:
    def swap_the_artifact(job_id: str, run: WorkflowRun) -> None:
        if job_id == "apply":  # another plan, valid in itself (its own digest matches), in place of the planned one
            planned = run.artifacts / "dataiku-iac-plan" / "prod.plan"
            plan = json.loads(planned.read_text(encoding="utf-8"))
            plan["note"] = "not the plan that was reviewed"
            plan["digest"] = digest_of(plan)
            planned.write_text(json.dumps(plan), encoding="utf-8")

    merge = run_workflow(dss, github, repository, runner_env, tmp_path / "merge", "push", before_job=swap_the_artifact)
    assert results(merge) == {"pr-plan": "skipped", "fork-validate": "skipped", "plan": "success", "apply": "failure"}
    failed = merge.jobs["apply"].steps[-1]
    assert failed.name == "Check the plan is the one planned" and "FAILED" in failed.output, merge.jobs["apply"].log()
    assert "CI_SALES" not in dss.client().list_project_keys()


def test_a_template_calling_the_cli_wrongly_fails(dss: Any, github: pr_server.PrServer, repository: Path,
                                                  runner_env: dict[str, str], tmp_path: Path) -> None:
    broken = tmp_path / "dataiku-iac.yml"
    text = TEMPLATE.read_text(encoding="utf-8")
    assert text.count('--out "$PLAN_FILE"') == 2
    broken.write_text(text.replace('--out "$PLAN_FILE"', '--output "$PLAN_FILE"'), encoding="utf-8")
    merge = run_workflow(dss, github, repository, runner_env, tmp_path / "merge", "push", template=broken)
    assert results(merge)["plan"] == "failure" and results(merge)["apply"] == "skipped"
    assert "No such option '--output'" in merge.jobs["plan"].steps[-1].output
