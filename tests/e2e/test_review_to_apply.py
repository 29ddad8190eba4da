"""Issue 14's acceptance, in one test: a plan on a pull request → its comment posted, then updated
(still one comment) → `govern submit` → apply refused → approved by someone else → apply succeeds
→ the Govern artifact shows the outcome; an edited plan is refused at every step (show, comment,
govern submit, govern status, apply), a stale one wherever the state is read (govern submit,
govern status, apply: `show` and `comment` read the plan file only). The pull request's API is the local
stand-in of tests/support/pr_server.py, Govern the emulator's node (real GovernClient), DSS the
emulator (real DSSClient), the CLI as a user runs it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.e2e.helpers import run_cli, write_config
from tests.support import pr_server
from tests.support.cli import cli_env

TOKEN = "tok-acceptance-flow-token"
PROJECT = "project:\n  key: REVIEWED\n  name: Reviewed\ndatasets:\n  - name: orders\n    type: managed\n"
MORE = "  - name: refunds\n    type: managed\n"
PROD = "dss:\n  api_key_env: DKU_API_KEY\npolicies:\n  require_approval: govern\n"


@pytest.fixture
def pull_request() -> Iterator[pr_server.PrServer]:
    state, http = pr_server.start(TOKEN)
    yield state
    http.shutdown()
    http.server_close()


def _env(dss: Any, govern: Any, server: pr_server.PrServer, tmp_path: Path) -> dict:
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"number": 7, "pull_request": {"number": 7}}))
    return cli_env(dss, **{
        "GOVERN_URL": govern.url, "GOVERN_API_KEY": "govern-alice-key", "GITHUB_TOKEN": TOKEN,
        "GITHUB_API_URL": server.url, "GITHUB_REPOSITORY": "/".join(pr_server.GITHUB_REPO),
        "GITHUB_EVENT_PATH": str(event), "GITHUB_EVENT_NAME": "pull_request", "GITHUB_SHA": "feedc0de" * 5,
        "GITHUB_SERVER_URL": "https://github.com", "GITHUB_RUN_ID": "99",
    })


def test_from_the_pull_request_comment_to_the_audited_apply(dss: Any, govern: Any, pull_request: Any, tmp_path: Path) -> None:
    root = write_config(tmp_path / "cfg", {"reviewed.yml": PROJECT}, env=PROD)
    env = _env(dss, govern, pull_request, tmp_path)

    # A first push of the pull request: plan, comment.
    run_cli(dss, root, "plan", "-e", "dev", "--out", "pr.plan", env=env)
    run_cli(dss, root, "comment", "pr.plan", "--provider", "github", env=env)
    # A second push: a new plan updates the same comment.
    (root / "projects" / "reviewed.yml").write_text(PROJECT + MORE, encoding="utf-8")
    run_cli(dss, root, "plan", "-e", "dev", "--out", "pr.plan", env=env)
    digest = json.loads((root / "pr.plan").read_text())["digest"]
    updated = run_cli(dss, root, "comment", "pr.plan", "--provider", "github", env=env)
    assert updated.stdout.startswith("Updated the plan comment")
    [comment] = pull_request.github["7"]
    assert f"digest={digest}" in comment["body"] and "refunds" in comment["body"]

    # The merged change, submitted to Govern; the apply waits for someone else's approval.
    request = run_cli(dss, root, "govern", "submit", "pr.plan", "--json", env=env).json()["change_request"]
    assert "refunds" in govern.client().get_artifact(request["artifact_id"]).get_definition().get_raw()["fields"]["plan_markdown"]
    assert "waiting for review" in run_cli(dss, root, "apply", "-e", "dev", "pr.plan", env=env, expect=3).stderr
    govern.client_for("govern-bob-key").get_artifact(request["artifact_id"]).get_signoff("review").add_approval("APPROVED", "lgtm")
    run_cli(dss, root, "govern", "status", "pr.plan", env=env, expect=0)

    # An edited copy of the approved plan is refused at every step.
    edited = json.loads((root / "pr.plan").read_text())
    edited["resource_changes"] = edited["resource_changes"][:1]
    (root / "edited.plan").write_text(json.dumps(edited), encoding="utf-8")
    for args in (("show", "edited.plan"), ("comment", "edited.plan", "--provider", "github"),
                 ("govern", "submit", "edited.plan"), ("govern", "status", "edited.plan"),
                 ("apply", "-e", "dev", "edited.plan")):
        assert "the saved plan file edited.plan was modified after it was written" in run_cli(
            dss, root, *args, env=env, expect=1).stderr, args

    applied = run_cli(dss, root, "apply", "-e", "dev", "pr.plan", env=env)
    assert "Apply complete! Resources: 3 added" in applied.stdout
    outcome = govern.client().get_artifact(request["artifact_id"]).get_definition().get_raw()["fields"]
    assert (outcome["apply_status"], outcome["applied_by"], outcome["state_serial_after"]) == ("APPLIED", "admin", 1)
    assert outcome["git_commit"] == "feedc0de" * 5 and "3 changed" in outcome["apply_result"]

    # Applied, the plan is stale: refused by apply; govern status reports it applied (with the outcome).
    assert "stale" in run_cli(dss, root, "apply", "-e", "dev", "pr.plan", env=env, expect=1).stderr
    status = run_cli(dss, root, "govern", "status", "pr.plan", env=env, expect=0).stdout
    assert "apply status: APPLIED" in status and "Applied: " in status
    assert "stale" in run_cli(dss, root, "govern", "submit", "pr.plan", env=env, expect=1).stderr
    assert len(pull_request.github["7"]) == 1
    assert TOKEN not in json.dumps(outcome) and "govern-alice-key" not in json.dumps(outcome)
