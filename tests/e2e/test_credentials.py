"""Issue 10, Security 2 and Lifecycle 3-4: where the API key goes, and what a configuration
cannot make the CLI do with the runner's credentials.

The attack: a pull request edits environments/dev.yml, and a CI job runs a read-only
`validate` or `plan` with the runner's DKU_API_KEY (and, as CI runners do, GITHUB_TOKEN) in its
environment. A URL in the file must not redirect the key, `api_key_env` must not name another
variable, `secret_env` must not read one into DSS. Each attack points the CLI at a listener of
our own that must receive no request at all (so no key).
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.e2e.helpers import DEMO_YAML, cli_env, request_count, run_cli, write_config

API_KEY = "the-runner-s-dss-key-6c1f"  # never shown anywhere
GITHUB_TOKEN = "ghp_runner_token_9a8b7c"


class Listener:
    """A host an attacker controls: records every request it receives (headers included)."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        seen = self.requests

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                seen.append({"method": "GET", "path": self.path, "headers": dict(self.headers)})
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b"[]")

            do_POST = do_PUT = do_DELETE = do_GET

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Listener:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    with Listener() as running:
        yield running


def runner_env(dss: Any, key: str = API_KEY, **extra: str) -> dict[str, str]:
    """A CI runner: DKU_DSS_URL and DKU_API_KEY set by the pipeline, and a GITHUB_TOKEN."""
    return cli_env(dss, DKU_API_KEY=key, GITHUB_TOKEN=GITHUB_TOKEN, **extra)


def assert_no_secret_in(result: Any) -> None:
    assert API_KEY not in result.output and GITHUB_TOKEN not in result.output, str(result)


@pytest.mark.parametrize("command", ["validate", "plan"])
def test_a_url_in_the_environment_file_cannot_redirect_the_runner_key(dss: Any, tmp_path: Path, listener: Listener, command: str):
    root = write_config(tmp_path / "cfg", {"demo.yml": DEMO_YAML}, env=f"dss:\n  url: {listener.url}/\n")
    before = request_count(dss)
    result = run_cli(dss, root, command, "-e", "dev", expect=1, env=runner_env(dss))
    assert listener.requests == []
    assert request_count(dss) == before
    first = result.stderr.splitlines()[0]
    assert first.startswith("environments/dev.yml:2:8: error: dss.url: ")
    assert f"differs from DKU_DSS_URL ('{dss.url}')" in first and "may not send the API key to another DSS" in first
    assert "Using DSS at" not in result.stderr
    assert_no_secret_in(result)


def test_offline_validation_also_refuses_a_url_that_differs_from_the_runner_s(dss: Any, tmp_path: Path, listener: Listener):
    broken = DEMO_YAML.replace("format: parquet", "format: parquet\n    colour: blue")
    root = write_config(tmp_path / "cfg", {"demo.yml": broken}, env=f"dss:\n  url: {listener.url}/\n")
    result = run_cli(dss, root, "validate", "-e", "dev", "--offline", expect=1, env=runner_env(dss))
    assert "environments/dev.yml:2:8: error: dss.url: " in result.stderr, str(result)
    assert f"differs from DKU_DSS_URL ('{dss.url}')" in result.stderr
    assert "projects/demo.yml:9" in result.stderr, "with the other problems, in one run"
    alone = write_config(tmp_path / "alone", {"demo.yml": DEMO_YAML}, env=f"dss:\n  url: {listener.url}/\n")
    result = run_cli(dss, alone, "validate", "-e", "dev", "--offline", expect=1, env=runner_env(dss))
    assert "environments/dev.yml:2:8: error: dss.url: " in result.stderr, str(result)
    assert listener.requests == []


def test_the_credentials_in_a_url_are_never_printed(dss: Any, tmp_path: Path):
    with_userinfo = dss.url.replace("://", "://robot:pa55w0rd-canary@")
    root = write_config(tmp_path / "cfg", {"demo.yml": DEMO_YAML})
    used = run_cli(dss, root, "validate", "-e", "dev", env=runner_env(dss, DKU_DSS_URL=with_userinfo), expect=None)
    assert "Using DSS at " + dss.url.replace("://", "://***@") in used.stderr, str(used)
    other = write_config(tmp_path / "other", {"demo.yml": DEMO_YAML}, env="dss:\n  url: https://admin:hunter2-canary@elsewhere.example\n")
    refused = run_cli(dss, other, "validate", "-e", "dev", "--offline", expect=1, env=runner_env(dss, DKU_DSS_URL=with_userinfo))
    assert "'https://***@elsewhere.example' differs from DKU_DSS_URL" in refused.stderr, str(refused)
    for result in (used, refused):
        assert "pa55w0rd-canary" not in result.output and "hunter2-canary" not in result.output, str(result)


def test_a_state_kept_in_dss_is_not_read_before_the_configuration_is_checked(dss: Any, tmp_path: Path, listener: Listener):
    env = f"dss:\n  url: {listener.url}\nstate: {{backend: managed_folder, project_key: OPS, folder: iac_state}}\n"
    root = write_config(tmp_path / "cfg", {"demo.yml": DEMO_YAML}, env=env)
    before = request_count(dss)
    for args in (("plan",), ("drift",), ("apply", "--auto-approve")):
        result = run_cli(dss, root, *args, "-e", "dev", expect=1, env=runner_env(dss))
        assert "environments/dev.yml:2:8: error: dss.url: " in result.stderr, str(result)
        assert "Using DSS at" not in result.stderr
    assert request_count(dss) == before and listener.requests == []


def test_the_same_url_in_the_file_and_the_runner_is_fine(dss: Any, tmp_path: Path):
    root = write_config(tmp_path / "cfg", {"demo.yml": DEMO_YAML}, env=f"dss:\n  url: {dss.url}/\n")
    run_cli(dss, root, "validate", "-e", "dev", env=runner_env(dss, key=dss.api_key))


@pytest.mark.parametrize("variable", ["GITHUB_TOKEN", "AWS_SECRET_ACCESS_KEY", "DKU_API_KEYS"])
def test_api_key_env_cannot_name_another_variable_of_the_runner(dss: Any, tmp_path: Path, listener: Listener, variable: str):
    root = write_config(tmp_path / "cfg", {"demo.yml": DEMO_YAML},
                        env=f"dss:\n  url: {listener.url}\n  api_key_env: {variable}\n")
    env = runner_env(dss, AWS_SECRET_ACCESS_KEY="aws-secret", DKU_API_KEYS="plural")
    del env["DKU_DSS_URL"]  # a laptop: the file's URL is the only one
    for command in ("validate", "plan"):
        result = run_cli(dss, root, command, "-e", "dev", expect=1, env=env)
        assert "environments/dev.yml:3:16: error: dss.api_key_env: the API key variable must be DKU_API_KEY or " \
               "DKU_API_KEY_<SUFFIX>" in result.stderr, str(result)
        assert_no_secret_in(result)
    assert listener.requests == []


@pytest.mark.parametrize("variable", ["DKU_API_KEY", "GITHUB_TOKEN"])
def test_secret_env_cannot_read_the_runner_key_into_dss(dss: Any, tmp_path: Path, listener: Listener, variable: str):
    project = DEMO_YAML.replace("  name: Demo Project\n", f"  name: Demo Project\n  variables:\n    local:\n      leak: {{secret_env: {variable}}}\n")
    root = write_config(tmp_path / "cfg", {"demo.yml": project})
    before = request_count(dss)
    for command in ("validate", "plan"):
        result = run_cli(dss, root, command, "-e", "dev", expect=1, env=runner_env(dss))
        assert ("projects/demo.yml:6:26: error: project.variables.local.leak.secret_env: a secret variable's name must "
                "start with IAC_SECRET_") in result.stderr, str(result)
        assert f"rename the variable to IAC_SECRET_{variable}" in result.stderr
        assert_no_secret_in(result)
    assert request_count(dss) == before


def test_the_host_and_the_key_variable_are_shown_before_any_request(dss: Any, tmp_path: Path):
    root = write_config(tmp_path / "cfg", {"demo.yml": DEMO_YAML}, env="dss:\n  api_key_env: DKU_API_KEY_DEV\n")
    env = runner_env(dss, DKU_API_KEY_DEV=dss.api_key)
    line = f"Using DSS at {dss.url} (key from DKU_API_KEY_DEV)"
    for args in (("validate",), ("plan",), ("apply", "--auto-approve"), ("drift",), ("plan", "--json")):
        result = run_cli(dss, root, *args, "-e", "dev", env=env)
        assert result.stderr.splitlines()[0] == line, str(result)
        assert dss.api_key not in result.output
    offline = run_cli(dss, root, "validate", "-e", "dev", "--offline", env=env)
    assert "Using DSS" not in offline.output


def test_a_mistyped_api_key_variable_is_an_error_not_a_success(dss: Any, tmp_path: Path):
    # "Success! … DSS not contacted" with exit 0 was the answer: only --offline skips DSS now.
    root = write_config(tmp_path / "cfg", {"demo.yml": DEMO_YAML}, env="dss:\n  api_key_env: DKU_API_KEY_PRDO\n")
    env = runner_env(dss, DKU_API_KEY_PROD="the-real-one")
    before = request_count(dss)
    for command in ("validate", "plan"):
        result = run_cli(dss, root, command, "-e", "dev", expect=1, env=env)
        assert result.stderr.splitlines()[0] == (
            "environments/dev.yml:2:16: error: dss.api_key_env: the environment variable DKU_API_KEY_PRDO is not set: "
            "there is no API key for DSS (export DKU_API_KEY_PRDO (never write the key in a file), or run "
            "`validate --offline` to check the configuration without DSS)"), str(result)
        assert "Success" not in result.output
    assert request_count(dss) == before
    offline = run_cli(dss, root, "validate", "-e", "dev", "--offline", env=env)
    assert "Success! The configuration is valid (2 resources; DSS not contacted (--offline))." in offline.stdout


def test_no_dss_url_at_all_is_an_error_unless_offline(dss: Any, tmp_path: Path):
    root = write_config(tmp_path / "cfg", {"demo.yml": DEMO_YAML})
    env = runner_env(dss)
    del env["DKU_DSS_URL"]
    result = run_cli(dss, root, "validate", "-e", "dev", expect=1, env=env)
    assert "dss.url: no DSS URL: set DKU_DSS_URL" in result.stderr
    run_cli(dss, root, "validate", "-e", "dev", "--offline", env=env)


def test_credential_problems_come_with_the_configuration_problems(dss: Any, tmp_path: Path, listener: Listener):
    root = write_config(tmp_path / "cfg", {"demo.yml": DEMO_YAML.replace("type: managed", "type: managd")},
                        env=f"dss:\n  url: {listener.url}\n  api_key_env: DKU_API_KEY_PRDO\n")
    result = run_cli(dss, root, "validate", "-e", "dev", expect=1, env=runner_env(dss))
    assert "environments/dev.yml:2:8: error: dss.url: " in result.stderr
    assert "environments/dev.yml:3:16: error: dss.api_key_env: the environment variable DKU_API_KEY_PRDO is not set" in result.stderr
    assert "projects/demo.yml:7:11: error: datasets[0].type: " in result.stderr
    assert result.stderr.splitlines()[-1] == "Error: the configuration has 3 problems."
    assert listener.requests == []


def test_a_failing_dss_check_keeps_the_warnings(dss: Any, tmp_path: Path):
    project = DEMO_YAML.replace("  name: Demo Project\n", "  name: Demo Project\n  description: 'for ${TEAMM}'\n")
    project += "    connection: nowhere\n"
    root = write_config(tmp_path / "cfg", {"demo.yml": project}, env="variables: {TEAM: data}\n")
    result = run_cli(dss, root, "validate", "-e", "dev", expect=1, env=runner_env(dss, key=dss.api_key))
    lines = result.stderr.splitlines()
    warning = next(i for i, x in enumerate(lines) if "warning: project.description: '${TEAMM}' is not an environment variable" in x)
    error = next(i for i, x in enumerate(lines) if "connection 'nowhere' does not exist" in x)
    assert warning < error and "did you mean '${TEAM}'?" in lines[warning]
    as_json = run_cli(dss, root, "validate", "-e", "dev", "--json", expect=1, env=runner_env(dss, key=dss.api_key)).json()["error"]
    assert [w["path"] for w in as_json["warnings"]] == ["project.description"]
    assert "does not exist" in as_json["diagnostics"][0]["message"]
    planned = run_cli(dss, root, "plan", "-e", "dev", expect=1, env=runner_env(dss, key=dss.api_key))
    assert "'${TEAMM}' is not an environment variable" in planned.stderr


def test_json_error_answers_are_still_json(dss: Any, tmp_path: Path):
    root = write_config(tmp_path / "cfg", {"demo.yml": DEMO_YAML}, env="dss:\n  api_key_env: DKU_API_KEY_PRDO\n")
    body = run_cli(dss, root, "validate", "-e", "dev", "--json", expect=1, env=runner_env(dss)).json()
    assert json.dumps(body) and body["error"]["diagnostics"][0]["path"] == "dss.api_key_env"


@pytest.mark.parametrize("where", ["environment", "iac"])
def test_a_state_endpoint_in_a_file_cannot_redirect_the_runner_s3(
    dss: Any, tmp_path: Path, listener: Listener, s3_server: Any, where: str
) -> None:
    """As for dss.url: where the runner names the S3 endpoint (boto3's AWS_ENDPOINT_URL_S3), a
    file's `state.endpoint_url` elsewhere is refused at its line, before any S3 request."""
    from tests.s3_server import BUCKET, CREDENTIALS

    state = f"state:\n  backend: s3\n  bucket: {BUCKET}\n  endpoint_url: {listener.url}\n"
    env_file, iac = (state, None) if where == "environment" else ("", "version: 1\n" + state)
    root = write_config(tmp_path / "cfg", {"demo.yml": DEMO_YAML}, env=env_file, iac=iac)
    runner = runner_env(dss, AWS_ENDPOINT_URL_S3=s3_server.url, **CREDENTIALS)
    for args in (("plan",), ("state", "list")):
        result = run_cli(dss, root, *args, "-e", "dev", expect=1, env=runner)
        file = "environments/dev.yml" if where == "environment" else "iac.yml"
        line = 4 if where == "environment" else 5
        assert f"{file}:{line}:" in result.stderr and "error: state.endpoint_url: " in result.stderr, str(result)
        assert f"differs from AWS_ENDPOINT_URL_S3 ('{s3_server.url}')" in result.stderr
    assert listener.requests == []


def test_the_runner_s3_endpoint_alone_is_used(dss: Any, tmp_path: Path, s3_server: Any) -> None:
    from tests.s3_server import BUCKET, CREDENTIALS

    env_file = f"state:\n  backend: s3\n  bucket: {BUCKET}\n  key_prefix: runner-endpoint\n"
    root = write_config(tmp_path / "cfg", {"demo.yml": DEMO_YAML}, env=env_file)
    runner = runner_env(dss, API_KEY=dss.api_key, AWS_ENDPOINT_URL_S3=s3_server.url, **CREDENTIALS)
    runner["DKU_API_KEY"] = dss.api_key
    run_cli(dss, root, "apply", "-e", "dev", "--auto-approve", env=runner)
    assert "No changes." in run_cli(dss, root, "plan", "-e", "dev", env=runner).stdout


def test_a_url_that_is_not_dss_is_named_with_the_http_status(dss: Any, tmp_path: Path) -> None:
    class NotDss(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(404)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(b"<html>Not Found</html>")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), NotDss)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        root = write_config(tmp_path / "cfg", {"demo.yml": DEMO_YAML})
        result = run_cli(dss, root, "validate", "-e", "dev", expect=1, env=runner_env(dss, DKU_DSS_URL=url))
        assert "did not answer as DSS does (HTTP 404, not JSON)" in result.stderr, str(result)
        assert "Expecting value" not in result.stderr
    finally:
        server.shutdown()
        server.server_close()
