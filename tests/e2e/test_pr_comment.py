"""`dataiku-iac comment PLANFILE --provider github|gitlab|azure`: one sticky plan comment on the
pull/merge request, through each provider's REST API, against a local stand-in of the three APIs
(tests/support/pr_server.py) that accepts only their real request shapes.

For each provider: the first run reads every page of the existing comments (the stand-in serves
two per page; other environments' comments, quoted markers and system notes among them) and
creates the comment; a run with a new plan updates that same comment; a run with the same plan
writes nothing; an other environment gets its own comment. The token never shows in any output,
success or failure; a missing CI variable is named; redirects and foreign pagination links are
not followed. No DSS: the plans are made in-process from the planner's golden cases."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.support import pr_server
from tests.support.cli import CliResult, run_cli
from tests.unit.planner.golden_support import load_case
from tests.unit.planner.test_golden import _options

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
TOKEN = "tok-5d41402abc4b2a76b9719d911017c592-canary"


def _plan_json(case: str, environment: str = "dev") -> dict:
    from dataiku_iac.planner.planner import plan

    desired, state, observed = load_case(GOLDEN / case)
    result = plan(desired, state, observed, _options(GOLDEN / case), created_at="2026-01-01T00:00:00+00:00")
    return dataclasses.replace(result, environment=environment).to_json()


@pytest.fixture(scope="module")
def plans(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("plans")
    files = {}
    for name, case, environment in (("first", "demo_add_dataset", "dev"), ("second", "dataset_connection_replaced", "dev"),
                                     ("prod", "demo_add_dataset", "prod")):
        files[name] = root / f"{name}.json"
        files[name].write_text(json.dumps(_plan_json(case, environment), indent=2))
    return files


@pytest.fixture
def server() -> Iterator[pr_server.PrServer]:
    state, http = pr_server.start(TOKEN)
    yield state
    http.shutdown()
    http.server_close()


def _base_env() -> dict[str, str]:
    """This process's environment without any CI variable the command reads."""
    ci = ("GITHUB_", "CI_", "SYSTEM_", "BUILD_", "GITLAB_", "DKU_", "DATAIKU_IAC")
    return {k: v for k, v in os.environ.items() if not k.startswith(ci)} | {"NO_COLOR": "1"}


def _github_env(server: pr_server.PrServer, tmp_path: Path, number: int = 7) -> dict[str, str]:
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"action": "synchronize", "number": number, "pull_request": {"number": number}}))
    return _base_env() | {
        "GITHUB_TOKEN": TOKEN, "GITHUB_API_URL": server.url, "GITHUB_REPOSITORY": "/".join(pr_server.GITHUB_REPO),
        "GITHUB_EVENT_PATH": str(event), "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_SERVER_URL": "https://github.com", "GITHUB_RUN_ID": "99",
    }


def _gitlab_env(server: pr_server.PrServer, tmp_path: Path, number: int = 7) -> dict[str, str]:
    return _base_env() | {
        "GITLAB_TOKEN": TOKEN, "CI_API_V4_URL": f"{server.url}/api/v4", "CI_PROJECT_ID": pr_server.GITLAB_PROJECT,
        "CI_MERGE_REQUEST_IID": str(number), "CI_JOB_TOKEN": "job-token-cannot-post-notes",
        "CI_JOB_URL": "https://gitlab.example/group/dss-config/-/jobs/12",
    }


def _azure_env(server: pr_server.PrServer, tmp_path: Path, number: int = 7) -> dict[str, str]:
    return _base_env() | {
        "SYSTEM_ACCESSTOKEN": TOKEN, "SYSTEM_COLLECTIONURI": f"{server.url}/{pr_server.AZURE_ORG}/",
        "SYSTEM_TEAMPROJECTID": pr_server.AZURE_PROJECT, "SYSTEM_TEAMPROJECT": "Data Platform",
        "BUILD_REPOSITORY_ID": pr_server.AZURE_REPO, "SYSTEM_PULLREQUEST_PULLREQUESTID": str(number), "BUILD_BUILDID": "311",
    }


ENVS = {"github": _github_env, "gitlab": _gitlab_env, "azure": _azure_env}
WRITE = {"github": "PATCH", "gitlab": "PUT", "azure": "PATCH"}


def _seed(server: pr_server.PrServer, provider: str, number: str = "7") -> None:
    """Five comments already on the request: none is this environment's plan comment."""
    bodies = [
        "LGTM",
        "Plan for prod:\n<!-- dataiku-iac plan env=prod digest=" + "a" * 64 + " -->",
        "> <!-- dataiku-iac plan env=dev digest=" + "b" * 64 + " -->\nquoted in a reply",
        "please look at the dataset",
        "ci: rerun",
    ]
    if provider == "github":
        server.github[number] = [{"id": server.new_id(), "body": b, "user": {"login": "someone"}} for b in bodies]
    elif provider == "gitlab":
        notes = [{"id": server.new_id(), "body": b, "system": False} for b in bodies]
        notes.insert(1, {"id": server.new_id(), "body": "<!-- dataiku-iac plan env=dev digest=" + "c" * 64 + " -->",
                         "system": True})  # a system note never counts, even with a marker
        server.gitlab[number] = notes
    else:
        server.azure[number] = [
            {"id": server.new_id(), "isDeleted": False, "comments": [{"id": 1, "content": b, "isDeleted": False}]} for b in bodies
        ] + [{"id": server.new_id(), "isDeleted": True,
              "comments": [{"id": 1, "content": "<!-- dataiku-iac plan env=dev digest=" + "d" * 64 + " -->", "isDeleted": False}]}]


def _bodies(server: pr_server.PrServer, provider: str, number: str = "7") -> list[str]:
    if provider == "github":
        return [c["body"] for c in server.github.get(number, [])]
    if provider == "gitlab":
        return [n["body"] for n in server.gitlab.get(number, []) if not n["system"]]
    return [t["comments"][0]["content"] for t in server.azure.get(number, []) if not t["isDeleted"]]


def _plan_comments(server: pr_server.PrServer, provider: str, environment: str = "dev") -> list[str]:
    marker = f"<!-- dataiku-iac plan env={environment} digest="
    return [b for b in _bodies(server, provider) if any(line.startswith(marker) for line in b.splitlines())]


def _comment(plan_file: Path, provider: str, env: dict, *extra: str, expect: int = 0) -> CliResult:
    result = run_cli(plan_file.parent, "comment", str(plan_file), "--provider", provider, *extra, env=env, expect=expect)
    assert TOKEN not in result.output
    return result


def _digest(plan_file: Path) -> str:
    return json.loads(plan_file.read_text())["digest"]


@pytest.mark.parametrize("provider", ["github", "gitlab", "azure"])
def test_one_sticky_comment_created_then_updated(provider: str, server: pr_server.PrServer, plans: dict, tmp_path: Path) -> None:
    env = ENVS[provider](server, tmp_path)
    _seed(server, provider)
    others = _bodies(server, provider)

    created = _comment(plans["first"], provider, env)
    assert created.stdout.startswith("Created the plan comment of environment dev on ")
    [body] = _plan_comments(server, provider)
    assert body.startswith("**Plan: 1 to add, 0 to change, 0 to destroy.**")
    assert body.rstrip().endswith(f"digest={_digest(plans['first'])} -->")
    gets = [r for r in server.requests if r.method == "GET"]
    assert len(gets) >= 3, "every page of the existing comments is read"
    [write] = server.writes()
    assert write.method == "POST"
    _check_shape(provider, server, write)

    server.clear_log()
    updated = _comment(plans["second"], provider, env)
    assert updated.stdout.startswith("Updated the plan comment of environment dev on ")
    [body] = _plan_comments(server, provider)
    assert body.rstrip().endswith(f"digest={_digest(plans['second'])} -->")
    assert "must be replaced" in body
    [write] = server.writes()
    assert write.method == WRITE[provider]
    _check_shape(provider, server, write)
    assert _bodies(server, provider)[: len(others)] == others, "the other comments are untouched"
    assert len(_bodies(server, provider)) == len(others) + 1

    server.clear_log()
    again = _comment(plans["second"], provider, env)
    assert "is up to date" in again.stdout
    assert server.writes() == []

    # The seeded prod comment is the prod plan's: updated, and the dev comment left alone.
    prod = _comment(plans["prod"], provider, env)
    assert prod.stdout.startswith("Updated the plan comment of environment prod")
    [prod_body] = _plan_comments(server, provider, "prod")
    assert prod_body.rstrip().endswith(f"digest={_digest(plans['prod'])} -->")
    [body] = _plan_comments(server, provider, "dev")
    assert body.rstrip().endswith(f"digest={_digest(plans['second'])} -->")
    assert len(_bodies(server, provider)) == len(others) + 1


def _check_shape(provider: str, server: pr_server.PrServer, write: pr_server.Recorded) -> None:
    """What each API requires of a write, beyond what the stand-in refuses by itself."""
    headers = {k.lower(): v for k, v in write.headers.items()}
    if provider == "github":
        assert headers["authorization"] == f"Bearer {TOKEN}"
        assert headers["x-github-api-version"] == "2022-11-28"
        assert write.path.startswith("/repos/octo-org/dss-config/issues/")
        assert set(write.body) == {"body"}
    elif provider == "gitlab":
        assert headers["private-token"] == TOKEN and "authorization" not in headers and "job-token" not in headers
        assert write.path.startswith(f"/api/v4/projects/{pr_server.GITLAB_PROJECT}/merge_requests/7/notes")
        assert set(write.body) == {"body"}
    else:
        assert headers["authorization"] == f"Bearer {TOKEN}"
        assert write.query["api-version"] == ["7.1"]
        assert write.path.startswith(f"/{pr_server.AZURE_ORG}/{pr_server.AZURE_PROJECT}/_apis/git/repositories/{pr_server.AZURE_REPO}"
                                     "/pullRequests/7/threads")
        if write.method == "POST":
            assert write.body["comments"][0]["parentCommentId"] == 0 and write.body["comments"][0]["commentType"] == 1
        else:
            assert set(write.body) == {"content"}


@pytest.mark.parametrize(("provider", "variable"), [
    ("github", "GITHUB_TOKEN"), ("github", "GITHUB_REPOSITORY"), ("github", "GITHUB_EVENT_PATH"),
    ("gitlab", "GITLAB_TOKEN"), ("gitlab", "CI_API_V4_URL"), ("gitlab", "CI_PROJECT_ID"), ("gitlab", "CI_MERGE_REQUEST_IID"),
    ("azure", "SYSTEM_ACCESSTOKEN"), ("azure", "SYSTEM_COLLECTIONURI"), ("azure", "SYSTEM_TEAMPROJECTID"),
    ("azure", "BUILD_REPOSITORY_ID"), ("azure", "SYSTEM_PULLREQUEST_PULLREQUESTID"),
])
def test_a_missing_ci_variable_is_named(provider: str, variable: str, server: pr_server.PrServer, plans: dict, tmp_path: Path) -> None:
    env = ENVS[provider](server, tmp_path)
    del env[variable]
    failed = _comment(plans["first"], provider, env, expect=1)
    assert f"{variable} is not set" in failed.stderr
    assert "))" not in failed.stderr  # the permission hint's own parentheses are not wrapped in more
    assert server.requests == [] and failed.stdout == ""


@pytest.mark.parametrize("provider", ["github", "gitlab", "azure"])
def test_flags_override_the_ci_environment(provider: str, server: pr_server.PrServer, plans: dict, tmp_path: Path) -> None:
    token = {"github": "GITHUB_TOKEN", "gitlab": "GITLAB_TOKEN", "azure": "SYSTEM_ACCESSTOKEN"}[provider]
    env = _base_env() | {"MY_REVIEW_TOKEN": TOKEN}
    flags = {
        "github": ["--api-url", server.url, "--repository", "octo-org/dss-config"],
        "gitlab": ["--api-url", f"{server.url}/api/v4", "--project", pr_server.GITLAB_PROJECT],
        "azure": ["--api-url", f"{server.url}/{pr_server.AZURE_ORG}", "--project", pr_server.AZURE_PROJECT,
                  "--repository", pr_server.AZURE_REPO],
    }[provider]
    done = _comment(plans["first"], provider, env, *flags, "--pull-request", "12", "--token-env", "MY_REVIEW_TOKEN")
    assert done.stdout.startswith("Created")
    assert len([b for b in _bodies(server, provider, "12") if "digest=" in b]) == 1
    missing = _comment(plans["first"], provider, _base_env() | {"MY_REVIEW_TOKEN": TOKEN}, *flags, "--pull-request", "12", expect=1)
    assert f"{token} is not set" in missing.stderr


@pytest.mark.parametrize("provider", ["github", "gitlab", "azure"])
def test_a_refused_token_fails_without_showing_it(provider: str, server: pr_server.PrServer, plans: dict, tmp_path: Path) -> None:
    server.token = "another-token-the-server-expects"
    server.echo_credentials = True  # even an answer quoting the token does not show it
    failed = _comment(plans["first"], provider, ENVS[provider](server, tmp_path), expect=1)  # _comment: TOKEN not in output
    assert failed.stderr.startswith("Error: ")
    assert {"github": "HTTP 401", "gitlab": "HTTP 401", "azure": "HTTP 203"}[provider] in failed.stderr
    assert "***" in failed.stderr  # the API's message is shown, the token in it replaced
    assert server.writes() == []


def test_gitlab_pages_by_the_link_header_when_x_next_page_is_left_out(server: pr_server.PrServer, plans: dict, tmp_path: Path) -> None:
    server.gitlab_link_only = True
    _seed(server, "gitlab")
    env = _gitlab_env(server, tmp_path)
    _comment(plans["first"], "gitlab", env)
    updated = _comment(plans["second"], "gitlab", env)  # its comment is on the last page
    assert updated.stdout.startswith("Updated")
    assert len(_plan_comments(server, "gitlab")) == 1


def test_a_second_marked_comment_is_reported_not_touched(server: pr_server.PrServer, plans: dict, tmp_path: Path) -> None:
    """Two runs that both created a comment: the first is updated, the other one named."""
    env = _github_env(server, tmp_path)
    _comment(plans["first"], "github", env)
    duplicate = {"id": server.new_id(), "body": server.github["7"][0]["body"], "user": {"login": "github-actions[bot]"}}
    server.github["7"].append(duplicate)
    updated = _comment(plans["second"], "github", env)
    assert updated.stdout.startswith("Updated")
    assert f"Note: 1 other comment(s) on pull request 7 carry the marker of environment dev (id {duplicate['id']})" in updated.stderr
    assert server.github["7"][0]["body"].rstrip().endswith(f"digest={_digest(plans['second'])} -->")
    assert duplicate["body"].rstrip().endswith(f"digest={_digest(plans['first'])} -->")
    assert [w.method for w in server.writes()] == ["POST", "PATCH"]


def test_a_jenkins_build_of_a_github_pull_request(server: pr_server.PrServer, plans: dict) -> None:
    """Jenkins multibranch: the pull request from CHANGE_ID and the repository from CHANGE_URL."""
    env = _base_env() | {"GITHUB_TOKEN": TOKEN, "CHANGE_ID": "7", "CHANGE_URL": "https://github.com/octo-org/dss-config/pull/7",
                         "BUILD_URL": "https://jenkins.example/job/dss-config/job/PR-7/3/"}
    created = _comment(plans["first"], "github", env, "--api-url", server.url)
    assert created.stdout.startswith("Created the plan comment of environment dev on pull request 7")
    assert len(_plan_comments(server, "github")) == 1


def test_a_pagination_link_to_another_origin_is_not_followed(server: pr_server.PrServer, plans: dict, tmp_path: Path) -> None:
    _seed(server, "github")
    server.next_link_origin = "http://127.0.0.1:9"  # nothing listens there: the token must not go there
    failed = _comment(plans["first"], "github", _github_env(server, tmp_path), expect=1)
    assert "refusing to follow a link to http://127.0.0.1:9/repositories/" in failed.stderr
    assert server.writes() == []


def test_a_workflow_that_is_not_about_a_pull_request_is_told_so(server: pr_server.PrServer, plans: dict, tmp_path: Path) -> None:
    env = _github_env(server, tmp_path) | {"GITHUB_EVENT_NAME": "push"}
    Path(env["GITHUB_EVENT_PATH"]).write_text(json.dumps({"ref": "refs/heads/main"}))
    failed = _comment(plans["first"], "github", env, expect=1)
    assert "the push event is not about a pull request" in failed.stderr
    assert server.requests == []
    del env["GITHUB_EVENT_NAME"]
    unnamed = _comment(plans["first"], "github", env, expect=1)
    assert "this event is not about a pull request" in unnamed.stderr and "the this" not in unnamed.stderr


def test_an_edited_plan_is_not_posted(server: pr_server.PrServer, plans: dict, tmp_path: Path) -> None:
    edited = tmp_path / "edited.json"
    body: dict[str, Any] = json.loads(plans["first"].read_text())
    body["resource_changes"] = []
    edited.write_text(json.dumps(body))
    failed = _comment(edited, "github", _github_env(server, tmp_path), expect=1)
    assert "was modified after it was written" in failed.stderr
    assert server.requests == []


def test_a_flag_another_provider_uses_is_refused(server: pr_server.PrServer, plans: dict, tmp_path: Path) -> None:
    failed = _comment(plans["first"], "github", _github_env(server, tmp_path), "--project", "77", expect=1)
    assert "--project is not used with --provider github" in failed.stderr
