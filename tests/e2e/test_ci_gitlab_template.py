"""The GitLab CI template (ci/gitlab/.gitlab-ci.yml) works: its jobs' scripts, stage by stage,
against the DSS emulator (tests/support/gitlab_ci.py plays a shell-executor runner; docs/ci.md).

- A merge request pipeline plans with the read-only key, writes the `terraform` report GitLab's
  widget reads and one note on a local stand-in of GitLab's API, updated by the next push;
  nothing is written to DSS.
- The default branch's pipeline plans; `apply` waits as a manual job, and once started applies
  exactly that plan (its sha256 handed over by the plan job's dotenv report) with the write key.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.support import REPO, pr_server, request_count, writes_since
from tests.support.ci_templates import ANOTHER_DATASET, PROJECT, READONLY_KEY, make_repository, runner_env
from tests.support.gitlab_ci import Pipeline

TEMPLATE = REPO / "ci" / "gitlab" / ".gitlab-ci.yml"
TOKEN = "glpat-ci-template-test-token"


@pytest.fixture
def gitlab() -> Iterator[pr_server.PrServer]:
    state, http = pr_server.start(TOKEN)
    try:
        yield state
    finally:
        http.shutdown()
        http.server_close()


def pipeline(dss: Any, gitlab: pr_server.PrServer, repository: Path, work: Path, source: str, **kwargs: Any) -> Pipeline:
    variables = {  # the project's CI/CD variables, then what GitLab sets
        "DKU_DSS_URL": dss.url, "DSS_READONLY_KEY": READONLY_KEY, "DSS_WRITE_KEY": dss.api_key, "GITLAB_TOKEN": TOKEN,
        "CI_PIPELINE_SOURCE": source, "CI_DEFAULT_BRANCH": "main", "CI_PROJECT_ID": pr_server.GITLAB_PROJECT,
        "CI_API_V4_URL": f"{gitlab.url}/api/v4", "CI_JOB_URL": "https://gitlab.example.com/dss/-/jobs/1",
    }
    if source == "merge_request_event":
        variables.update(CI_MERGE_REQUEST_IID="7", CI_MERGE_REQUEST_SOURCE_PROJECT_ID=pr_server.GITLAB_PROJECT)
    else:
        variables.update(CI_COMMIT_BRANCH="main")
    run = Pipeline(TEMPLATE, repository, work, variables, runner_env(work / "runner-bin"), **kwargs)
    run.run()
    return run


def statuses(run: Pipeline) -> dict[str, str]:
    return {name: job.status for name, job in run.jobs.items()}


def notes(gitlab: pr_server.PrServer) -> list[str]:
    return [n["body"] for n in gitlab.gitlab.get("7", []) if "dataiku-iac plan env=prod" in n["body"]]


def test_merge_request_then_manual_apply(dss: Any, gitlab: pr_server.PrServer, tmp_path: Path) -> None:
    repository = make_repository(dss, tmp_path / "repo")
    before = request_count(dss)
    mr = pipeline(dss, gitlab, repository, tmp_path / "mr1", "merge_request_event")
    assert statuses(mr) == {"plan:merge-request": "success"}, mr.jobs["plan:merge-request"].output
    artifacts = mr.jobs["plan:merge-request"].artifacts
    assert artifacts is not None
    assert json.loads((artifacts / "gitlab-report.json").read_text(encoding="utf-8")) == {"create": 2, "update": 0, "delete": 0}
    (note,) = notes(gitlab)
    assert "Plan: 2 to add" in note and READONLY_KEY not in note + mr.jobs["plan:merge-request"].output

    (repository / "projects" / "sales.yml").write_text(PROJECT + ANOTHER_DATASET, encoding="utf-8")
    mr = pipeline(dss, gitlab, repository, tmp_path / "mr2", "merge_request_event")
    assert statuses(mr) == {"plan:merge-request": "success"}, mr.jobs["plan:merge-request"].output
    (note,) = notes(gitlab)
    assert "Plan: 3 to add" in note
    assert writes_since(dss, before) == []

    main = pipeline(dss, gitlab, repository, tmp_path / "main1", "push")
    assert statuses(main) == {"plan": "success", "apply": "manual"}, main.jobs["plan"].output
    assert "CI_SALES" not in dss.client().list_project_keys()

    main = pipeline(dss, gitlab, repository, tmp_path / "main2", "push", play={"apply"})
    assert statuses(main) == {"plan": "success", "apply": "success"}, main.jobs["apply"].output
    assert ": OK" in main.jobs["apply"].output  # sha256sum --check of the planned file
    assert "Apply complete! Resources: 3 added" in main.jobs["apply"].output
    assert {d["name"] for d in dss.client().get_project("CI_SALES").list_datasets()} == {"orders", "customers"}
