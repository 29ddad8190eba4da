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
from pathlib import Path
from typing import Any, Iterator, Optional

import pytest
from dataiku_iac.planner.plan import digest_of

from tests.support import REPO, pr_server, request_count, writes_since
from tests.support.ci_templates import ANOTHER_DATASET, PROJECT, READONLY_KEY, make_repository, runner_env
from tests.support.github_actions import JobResult, WorkflowRun

TEMPLATE = REPO / "ci" / "github" / "dataiku-iac.yml"
TOKEN = "ghs_ci-template-test-token"
OWNER_REPO = "/".join(pr_server.GITHUB_REPO)

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
    return make_repository(dss, tmp_path / "repo")


@pytest.fixture
def runner(tmp_path: Path) -> dict[str, str]:
    return runner_env(tmp_path / "runner-bin")


def run_workflow(dss: Any, github: pr_server.PrServer, repository: Path, runner: dict[str, str], work: Path,
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
        base_env=runner, vars={"DKU_DSS_URL": dss.url},
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


def test_pull_request_then_merge(dss: Any, github: pr_server.PrServer, repository: Path, runner: dict[str, str], tmp_path: Path) -> None:
    client = dss.client()
    before = request_count(dss)
    pr = run_workflow(dss, github, repository, runner, tmp_path / "pr1", "pull_request")
    assert results(pr) == {"pr-plan": "success", "fork-validate": "skipped", "plan": "skipped", "apply": "skipped"}, pr.jobs["pr-plan"].log()
    job = pr.jobs["pr-plan"]
    assert "Using DSS at" in job.log() and "key from DKU_API_KEY_PROD" in job.log()
    assert "Plan: 2 to add" in job.summary
    (comment,) = plan_comments(github)
    assert "Plan: 2 to add" in comment and READONLY_KEY not in job.log() + comment
    assert "CI_SALES" not in client.list_project_keys()

    # The next push to the pull request: the same comment, updated.
    (repository / "projects" / "sales.yml").write_text(PROJECT + ANOTHER_DATASET, encoding="utf-8")
    pr = run_workflow(dss, github, repository, runner, tmp_path / "pr2", "pull_request")
    assert_succeeded(pr.jobs["pr-plan"])
    (comment,) = plan_comments(github)
    assert "Plan: 3 to add" in comment
    assert "CI_SALES" not in client.list_project_keys()
    assert writes_since(dss, before) == []  # pull requests write nothing to DSS

    # A fork's pull request: offline checks, no key.
    fork = run_workflow(dss, github, repository, runner, tmp_path / "fork", "pull_request", fork=True)
    assert results(fork) == {"pr-plan": "skipped", "fork-validate": "success", "plan": "skipped", "apply": "skipped"}, fork.jobs["fork-validate"].log()

    # The merge: plan with the read-only key, apply exactly that plan (approved) with the write key.
    merge = run_workflow(dss, github, repository, runner, tmp_path / "merge1", "push")
    assert results(merge)["plan"] == "success", merge.jobs["plan"].log()
    assert merge.jobs["plan"].outputs["changes"] == "true"
    assert "Plan: 3 to add" in merge.jobs["plan"].summary
    assert_succeeded(merge.jobs["apply"])
    assert "Apply complete! Resources: 3 added" in merge.jobs["apply"].log()
    assert {d["name"] for d in client.get_project("CI_SALES").list_datasets()} == {"orders", "customers"}

    # A merge with nothing to change: no apply.
    again = run_workflow(dss, github, repository, runner, tmp_path / "merge2", "push")
    assert results(again)["plan"] == "success" and again.jobs["plan"].outputs["changes"] == "false", again.jobs["plan"].log()
    assert results(again)["apply"] == "skipped"


def test_the_apply_job_refuses_a_plan_that_is_not_the_one_planned(dss: Any, github: pr_server.PrServer, repository: Path,
                                                                   runner: dict[str, str], tmp_path: Path) -> None:
    def swap_the_artifact(job_id: str, run: WorkflowRun) -> None:
        if job_id == "apply":  # another plan, valid in itself (its own digest matches), in place of the planned one
            planned = run.artifacts / "dataiku-iac-plan" / "prod.plan"
            plan = json.loads(planned.read_text(encoding="utf-8"))
            plan["note"] = "not the plan that was reviewed"
            plan["digest"] = digest_of(plan)
            planned.write_text(json.dumps(plan), encoding="utf-8")

    merge = run_workflow(dss, github, repository, runner, tmp_path / "merge", "push", before_job=swap_the_artifact)
    assert results(merge) == {"pr-plan": "skipped", "fork-validate": "skipped", "plan": "success", "apply": "failure"}
    failed = merge.jobs["apply"].steps[-1]
    assert failed.name == "Check the plan is the one planned" and "FAILED" in failed.output, merge.jobs["apply"].log()
    assert "CI_SALES" not in dss.client().list_project_keys()


def test_a_template_calling_the_cli_wrongly_fails(dss: Any, github: pr_server.PrServer, repository: Path,
                                                  runner: dict[str, str], tmp_path: Path) -> None:
    broken = tmp_path / "dataiku-iac.yml"
    text = TEMPLATE.read_text(encoding="utf-8")
    assert text.count('--out "$PLAN_FILE"') == 2
    broken.write_text(text.replace('--out "$PLAN_FILE"', '--output "$PLAN_FILE"'), encoding="utf-8")
    merge = run_workflow(dss, github, repository, runner, tmp_path / "merge", "push", template=broken)
    assert results(merge)["plan"] == "failure" and results(merge)["apply"] == "skipped"
    assert "No such option '--output'" in merge.jobs["plan"].steps[-1].output
