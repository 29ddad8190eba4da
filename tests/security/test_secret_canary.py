"""Issue 14 §4: secrets never in logs. A unique canary in every secret-bearing place; every CLI
command, in every output format it has, and the failure paths; nothing the tool prints or writes
(stdout, stderr, the state and its history and journal, plan files, reports, imported YAML, the
config parse cache, HOME) nor what it writes in DSS (project metadata, the state's managed folder)
may hold any form of any canary (tests/security/canary.py: raw, JSON-escaped, URL-encoded, base64).

Secret-bearing places (docs/security.md): secret project variables (standard and local), a
webhook reporter's URL and a raw reporter's configuration value (all `{secret_env: IAC_SECRET_…}`,
values from the runner's environment), the DSS API key (`DKU_API_KEY`), a password in
`DKU_DSS_URL`'s userinfo, the password and secret property of a connection in DSS (read by the
engine's connection checks), values DSS holds where the configuration has a secret (drift), and
the secret-looking variables and reporter URLs of a project `import` adopts.

One emulator and one sweep per module (`sweep` below, run once, in order); each phase of the
sweep is then judged by its own test, and `test_every_command_and_output_format_is_swept`
fails when a command or an output option appears that the sweep does not run.
"""

from __future__ import annotations

import json
import re
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import click
import pytest
from dataiku_iac.cli.main import cli

from tests import support
from tests.security import canary as cn
from tests.support import pr_server

pytestmark = [pytest.mark.xdist_group("secret_canary")]

C = {
    "std": cn.make("secret project variable (standard)"),
    "local": cn.make("secret project variable (local)"),
    "webhook": cn.make("webhook reporter url", shape="url"),
    "slack": cn.make("raw reporter configuration value", shape="url"),
    "api_key": cn.make("DSS API key", shape="key"),
    "url_password": cn.make("password in DKU_DSS_URL", shape="key"),
    "conn_password": cn.make("connection password in DSS"),
    "conn_prop": cn.make("connection secret property in DSS"),
    "rotated": cn.make("rotated secret variable"),
    "rotated2": cn.make("secret variable rotated during a crash"),
    "stale": cn.make("secret variable changed after a saved plan"),
    "dss_side": cn.make("secret variable overwritten in DSS (drift)"),
    "dss_webhook": cn.make("webhook url overwritten in DSS (drift)", shape="url"),
    "foreign_var": cn.make("secret-looking variable of an imported project"),
    "foreign_webhook": cn.make("webhook url of an imported project", shape="url"),
    "foreign_raw": cn.make("raw reporter token of an imported project"),
    "inline": cn.make("a secret written inline by mistake"),
    "pr_token": cn.make("the CI's token for pull request comments", shape="key"),
    "govern_key": cn.make("the Govern API key (GOVERN_API_KEY)", shape="key"),
    "aws_secret": cn.make("the S3 state's AWS secret key", shape="key"),
    "aws_token": cn.make("the S3 state's AWS session token", shape="key"),
    "wrong_prefix": cn.make("a runner variable a configuration may not read"),
    "module_url": cn.make("a password in a module's Git URL", shape="key"),
    "module_default": cn.make("a sensitive module input's default"),
    "module_input": cn.make("a sensitive module input written into a description"),
}
CANARIES = list(C.values())

KEY = "CANARY"
MF_KEY = "CANARY_MF"
S3_KEY = "CANARY_S3"
GOV_KEY = "CANARY_GOV"
FOREIGN = "FOREIGN"
CONNECTION = "pg_canary"
STATE_PROJECT, STATE_FOLDER = "IAC_STATE", "iac_state"
SECRET_ENV = {
    "IAC_SECRET_CANARY_STD": C["std"].value,
    "IAC_SECRET_CANARY_LOCAL": C["local"].value,
    "IAC_SECRET_CANARY_WEBHOOK": C["webhook"].value,
    "IAC_SECRET_CANARY_SLACK": C["slack"].value,
}


def project_yaml(key: str) -> str:
    return f"""\
project:
  key: {key}
  name: Canary project
  variables:
    standard:
      region: eu
      std_token: {{secret_env: IAC_SECRET_CANARY_STD}}
    local:
      db_password: {{secret_env: IAC_SECRET_CANARY_LOCAL}}
managed_folders:
  - name: reports
datasets:
  - name: customers
    type: sql_table
    connection: {CONNECTION}
    schema_name: public
    table: customers
  - name: raw
    type: managed
    format: csv
    schema:
      columns:
        - {{name: id, type: bigint}}
scenarios:
  - id: NIGHTLY
    name: Nightly
    steps:
      - {{type: build, datasets: [raw]}}
    reporters:
      - type: webhook
        url: {{secret_env: IAC_SECRET_CANARY_WEBHOOK}}
        payload: '{{"text": "${{scenarioName}}"}}'
      - type: slack-scenario
        configuration:
          webhookUrl: {{secret_env: IAC_SECRET_CANARY_SLACK}}
          useProjectSlackIntegration: false
"""


TESTS_YAML = """\
tests:
  - name: raw_has_id
    schema:
      dataset: raw
      columns: [{name: id, type: bigint}]
  - name: raw_id_is_text
    schema:
      dataset: raw
      columns: [{name: id, type: string}]
"""

MF_IAC = f"""\
version: 1
state:
  backend: managed_folder
  project_key: {STATE_PROJECT}
  folder: {STATE_FOLDER}
"""

# -- the sweep ---------------------------------------------------------------------------------


@dataclass
class Phase:
    name: str
    runs: list[support.CliResult] = field(default_factory=list)
    texts: list[tuple[str, str]] = field(default_factory=list)  # (place, text) read outside the CLI's streams
    error: Optional[str] = None
    seconds: float = 0.0
    checks: list[str] = field(default_factory=list)  # sanity facts established (the canary did flow)


@dataclass
class Sweep:
    dss: Any
    govern: Any
    s3: Any
    base: Path
    phases: dict[str, Phase] = field(default_factory=dict)
    current: Optional[Phase] = None
    seconds: float = 0.0

    @property
    def root(self) -> Path:
        return self.base / "cfg"

    @property
    def mf_root(self) -> Path:
        return self.base / "cfg-mf"

    def env(self, **extra: str) -> dict[str, str]:
        url = self.dss.url.replace("://", f"://svc:{C['url_password'].value}@", 1)
        return support.cli_env(self.dss, **{
            "DKU_DSS_URL": url,
            "DKU_API_KEY": C["api_key"].value,
            "HOME": str(self.base / "home"),
            "XDG_CACHE_HOME": str(self.base / "home" / ".cache"),
            "DATAIKU_IAC_CONFIG_CACHE": str(self.base / "config-cache"),  # a phase may name its own
            **SECRET_ENV,
            **extra,
        })

    def run(self, *args: str, expect: Optional[int] = 0, root: Optional[Path] = None, env: Optional[dict] = None,
            **extra: str) -> support.CliResult:
        assert self.current is not None
        result = support.run_cli(root or self.root, *args, env=env or self.env(**extra), expect=None, forbid=())
        self.current.runs.append(result)
        if expect is not None:
            assert result.returncode == expect, str(result)
        return result

    def text(self, place: str, text: str) -> None:
        assert self.current is not None
        self.current.texts.append((place, text))

    def check(self, fact: str, ok: bool) -> None:
        assert ok, f"sanity check failed: {fact}"
        assert self.current is not None
        self.current.checks.append(fact)

    def phase(self, name: str, body: Callable[[Sweep], None]) -> None:
        self.current = self.phases[name] = Phase(name)
        started = time.monotonic()
        try:
            body(self)
        except Exception:
            self.current.error = traceback.format_exc()
        finally:
            self.dss.admin.clear_faults()
            self.current.seconds = time.monotonic() - started
            self.current = None

    def runs(self) -> list[support.CliResult]:
        return [r for p in self.phases.values() for r in p.runs]


def seed(dss: Any) -> None:
    dss.reset_all()
    dss.admin.seed(
        api_keys=[{"key": C["api_key"].value, "login": "admin", "admin": True, "groups": ["administrators"], "label": "canary"}],
        connections=[{
            "name": CONNECTION, "type": "PostgreSQL",
            "params": {"host": "db.internal", "port": 5432, "db": "dw", "user": "svc", "password": C["conn_password"].value,
                       "properties": [{"name": "sslpassword", "value": C["conn_prop"].value, "secret": True}]},
            "allowManagedDatasets": True, "allowManagedFolders": False,
        }],
    )
    support.emulator.ensure_state_folder(dss, STATE_PROJECT, STATE_FOLDER)


# The phases, in order. Each takes the sweep; what it runs is recorded for the tests below.


def offline(s: Sweep) -> None:
    s.run("init", str(s.base / "fresh"))
    s.run("version")
    s.run("version", "--json")
    s.run("validate", "-e", "dev", "--offline")
    s.run("validate", "-e", "dev")
    s.run("validate", "-e", "dev", "--json")
    s.run("graph", "-e", "dev")
    for fmt in ("dot", "mermaid", "svg"):
        s.run("graph", "-e", "dev", "--format", fmt, "--target", f"scenario.{KEY}.NIGHTLY")


def first_apply(s: Sweep) -> None:
    s.run("plan", "-e", "dev")
    s.run("plan", "-e", "dev", "--json")
    s.run("plan", "-e", "dev", "--out", "first.plan")
    s.run("apply", "-e", "dev", "first.plan")
    client = s.dss.client()
    variables = client.get_project(KEY).get_variables()
    s.check("DSS holds the secret variables", variables["standard"]["std_token"] == C["std"].value
            and variables["local"]["db_password"] == C["local"].value)
    scenario = json.dumps(client.get_project(KEY).get_scenario("NIGHTLY").get_settings().get_raw())
    s.check("DSS holds the reporters' secrets", C["webhook"].core in scenario and C["slack"].core in scenario)
    s.check("the engine may read the connection's secret", C["conn_prop"].core in json.dumps(client.list_connections()))


def steady(s: Sweep) -> None:
    s.run("plan", "-e", "dev", "--detailed-exitcode")
    s.run("plan", "-e", "dev", "--target", f"project.{KEY}", "--json")
    s.run("plan", "-e", "dev", "--exclude", f"dataset.{KEY}.raw", "--json")
    s.run("report", "footprint", "-e", "dev")
    s.run("report", "footprint", "-e", "dev", "--format", "markdown")
    s.run("report", "footprint", "-e", "dev", "--format", "json")
    s.run("plan", "-e", "dev", "--replace", f"scenario.{KEY}.NIGHTLY")
    s.run("plan", "-e", "dev", "--replace", f"scenario.{KEY}.NIGHTLY", "--json")
    s.run("apply", "-e", "dev", "--auto-approve", "--json")
    s.run("drift", "-e", "dev")
    s.run("drift", "-e", "dev", "--json")
    s.run("drift", "-e", "dev", "--revert")
    for args in (("list",), ("list", "--json"), ("history",), ("history", "--json"), ("show",),
                 ("show", f"project.{KEY}"), ("show", f"scenario.{KEY}.NIGHTLY"), ("show", "--serial", "1"), ("pull",)):
        s.run("state", *args, "-e", "dev")


COMPLIANCE_RULES = """\
compliance:
  rules:
    - {id: variables-listed, kind: required_attribute, types: [project], attribute: variables, values: [none], severity: warning}
    - {id: lower-case-names, kind: naming, pattern: "[a-z_]+"}
    - {id: team-tag, kind: required_tags, tags: [team], severity: warning}
    - {id: no-admin, kind: forbidden_permission, permissions: [admin]}
"""


def compliance(s: Sweep) -> None:
    """Rules over the secret-bearing project (its variables, its scenario's reporters), broken in the
    configuration, the state and live DSS: every format of the report, and validate's errors."""
    iac = s.root / "iac.yml"
    kept = iac.read_text(encoding="utf-8")
    iac.write_text(kept + COMPLIANCE_RULES, encoding="utf-8")
    try:
        s.run("report", "compliance", "-e", "dev", expect=2)
        for fmt in ("text", "markdown", "json", "junit"):
            s.run("report", "compliance", "-e", "dev", "--format", fmt, expect=2)
        s.run("validate", "-e", "dev", expect=1)
        s.run("plan", "-e", "dev", expect=1)
    finally:
        iac.write_text(kept, encoding="utf-8")


def _echo_body(request: dict) -> dict:
    """An error envelope that repeats the request's body, as servers that echo what they refused do."""
    return {"errorType": "com.dataiku.dip.exceptions.InvalidParameterException",
            "message": f"Invalid variables document: {json.dumps(request)}"}


def dss_errors(s: Sweep) -> None:
    """A rotation whose PUT fails with an error echoing the request body, then one answered 504
    after DSS took it; then the value applied."""
    rotated = {"IAC_SECRET_CANARY_LOCAL": C["rotated"].value}
    s.run("plan", "-e", "dev", **rotated)
    echo = _echo_body({"standard": {"std_token": C["std"].value}, "local": {"db_password": C["rotated"].value}})
    s.dss.admin.add_fault(method="PUT", path=rf"/projects/{KEY}/variables/$", status=400, mode="error", times=0, body=echo)
    s.run("apply", "-e", "dev", "--auto-approve", expect=1, **rotated)
    s.run("apply", "-e", "dev", "--auto-approve", "--json", expect=1, **rotated)
    s.run("apply", "-e", "dev", "--auto-approve", expect=None, DATAIKU_IAC_DEBUG="1", **rotated)  # tracebacks
    s.dss.admin.clear_faults()
    scenario_echo = {"errorType": "java.lang.IllegalArgumentException",
                     "message": f"bad reporter url {C['webhook'].value} in {json.dumps({'url': C['slack'].value})}"}
    s.dss.admin.add_fault(method="*", path=rf"/projects/{KEY}/scenarios/NIGHTLY", status=500, mode="error", times=0,
                          body=scenario_echo)
    s.run("plan", "-e", "dev", expect=None, **rotated)
    s.run("drift", "-e", "dev", "--json", expect=None, **rotated)
    s.run("plan", "-e", "dev", expect=None, DATAIKU_IAC_DEBUG="1", **rotated)  # debug mode: tracebacks
    s.dss.admin.clear_faults()
    s.dss.admin.add_fault(method="PUT", path=rf"/projects/{KEY}/variables/$", status=504, mode="after", times=1)
    s.run("apply", "-e", "dev", "--auto-approve", expect=None, **rotated)
    s.dss.admin.clear_faults()
    s.run("apply", "-e", "dev", "--auto-approve", **rotated)
    s.check("the rotated value reached DSS",
            s.dss.client().get_project(KEY).get_variables()["local"]["db_password"] == C["rotated"].value)
    s.run("plan", "-e", "dev", "--detailed-exitcode", **rotated)


def _overwrite_secrets(s: Sweep, project: Any) -> None:
    variables = project.get_variables()
    variables["local"]["db_password"] = C["dss_side"].value
    project.set_variables(variables)
    settings = project.get_scenario("NIGHTLY").get_settings()
    raw = settings.get_raw()
    for reporter in raw.get("reporters") or []:
        config = (reporter.get("messaging") or {}).get("configuration") or {}
        if "url" in config:
            config["url"] = C["dss_webhook"].value
    settings.save()
    s.check("the overwritten values are in DSS", C["dss_webhook"].core in json.dumps(project.get_scenario("NIGHTLY").get_settings().get_raw()))


def drift_of_a_secret(s: Sweep) -> None:
    """Someone writes other values in DSS where the configuration has secrets."""
    rotated = {"IAC_SECRET_CANARY_LOCAL": C["rotated"].value}
    project = s.dss.client().get_project(KEY)
    _overwrite_secrets(s, project)
    s.run("drift", "-e", "dev", expect=None, **rotated)
    s.run("drift", "-e", "dev", "--json", expect=None, **rotated)
    # Under a revert policy the configured values go back to DSS (the revert's output scanned too)
    env_file = s.root / "environments" / "dev.yml"
    kept = env_file.read_text(encoding="utf-8")
    env_file.write_text(kept + "policies:\n  drift: revert\n", encoding="utf-8")
    try:
        s.run("drift", "-e", "dev", "--revert", "--json", **rotated)
        s.check("the revert put the configured secret back", project.get_variables()["local"]["db_password"] == C["rotated"].value)
        _overwrite_secrets(s, project)
        s.run("drift", "-e", "dev", "--revert", **rotated)
    finally:
        env_file.write_text(kept, encoding="utf-8")
    _overwrite_secrets(s, project)
    # `pull` writes DSS's values into the YAML, never a secret: with a plain value changed beside
    # the secrets, it patches the file and the state and reports the secrets (tree scan below).
    variables = project.get_variables()
    variables["standard"]["region"] = "apac"
    project.set_variables(variables)
    s.run("pull", "-e", "dev", "--dry-run", expect=2, **rotated)
    s.run("pull", "-e", "dev", "--dry-run", "--json", expect=2, **rotated)
    pulled = s.run("pull", "-e", "dev", "--json", expect=2, **rotated)
    s.check("pull wrote the plain value and reported the secrets",
            "region: apac" in (s.root / "projects" / "canary.yml").read_text()
            and {r["kind"] for r in pulled.json()["reported"]} == {"secret"})
    s.run("pull", "-e", "dev", expect=2, **rotated)
    s.run("plan", "-e", "dev", **rotated)
    s.run("plan", "-e", "dev", "--json", **rotated)
    # Accepting DSS's values into the state: the secrets DSS holds are recorded as fingerprints only
    s.run("plan", "-e", "dev", "--refresh-only", **rotated)
    s.run("plan", "-e", "dev", "--refresh-only", "--json", **rotated)
    s.run("apply", "-e", "dev", "--refresh-only", "--auto-approve", "--json", **rotated)
    s.run("apply", "-e", "dev", "--auto-approve", **rotated)


def crash_and_resume(s: Sweep) -> None:
    """An apply killed while DSS holds the PUT carrying the new value, then resumed."""
    rotated = {"IAC_SECRET_CANARY_LOCAL": C["rotated2"].value}
    s.dss.admin.add_fault(method="PUT", path=rf"/projects/{KEY}/variables/$", mode="hang", times=0, status=503, hang_seconds=60)
    log = s.base / "killed-apply.log"
    proc = support.spawn_cli(s.root, "apply", "-e", "dev", "--auto-approve", env=s.env(**rotated), log=log)
    try:
        support.wait_for(lambda: proc.poll() is not None or any(r["fired"] for r in s.dss.admin.faults()),
                         timeout=60, what="the PUT carrying the secret")
        s.check("the apply was in flight when killed", proc.poll() is None)
    finally:
        proc.kill()
        proc.wait()
    s.dss.admin.clear_faults()
    s.text("killed apply (stdout+stderr)", log.read_text(errors="replace"))
    journal = support.state_dir(s.root) / "journal.jsonl"
    s.check("the killed apply left its journal", journal.is_file())
    s.text("journal of the killed apply", journal.read_text(errors="replace"))
    resumed = s.run("apply", "-e", "dev", "--resume", "--auto-approve", expect=None, **rotated)
    match = re.search(r"state unlock (\S+)", resumed.stderr)
    if resumed.returncode != 0 and match:
        s.run("state", "unlock", match.group(1), "-e", "dev")
        s.run("apply", "-e", "dev", "--resume", "--auto-approve", **rotated)
    s.run("apply", "-e", "dev", "--auto-approve", **rotated)
    s.check("the value of the resumed apply reached DSS",
            s.dss.client().get_project(KEY).get_variables()["local"]["db_password"] == C["rotated2"].value)


def stale_plan(s: Sweep) -> None:
    """A saved plan refused because a secret changed since (the message names it, no value)."""
    rotated = {"IAC_SECRET_CANARY_LOCAL": C["rotated2"].value}
    s.run("plan", "-e", "dev", "--out", "stale.plan", **{"IAC_SECRET_CANARY_STD": C["stale"].value, **rotated})
    refused = s.run("apply", "-e", "dev", "stale.plan", "--json", expect=1, **rotated)
    s.check("the stale plan is refused for its secret", "std_token" in refused.output)
    s.run("apply", "-e", "dev", "stale.plan", expect=1, **rotated)


def _pr_env(provider: str, server: pr_server.PrServer, event: Path) -> dict[str, str]:
    """The CI variables `comment` reads on each provider (tests/e2e/test_pr_comment.py has the same)."""
    token = C["pr_token"].value
    if provider == "github":
        event.write_text(json.dumps({"number": 7, "pull_request": {"number": 7}}))
        return {"GITHUB_TOKEN": token, "GITHUB_API_URL": server.url, "GITHUB_REPOSITORY": "/".join(pr_server.GITHUB_REPO),
                "GITHUB_EVENT_PATH": str(event), "GITHUB_EVENT_NAME": "pull_request", "GITHUB_RUN_ID": "99",
                "GITHUB_SERVER_URL": "https://github.com"}
    if provider == "gitlab":
        return {"GITLAB_TOKEN": token, "CI_API_V4_URL": f"{server.url}/api/v4", "CI_PROJECT_ID": pr_server.GITLAB_PROJECT,
                "CI_MERGE_REQUEST_IID": "7"}
    return {"SYSTEM_ACCESSTOKEN": token, "SYSTEM_COLLECTIONURI": f"{server.url}/{pr_server.AZURE_ORG}/",
            "SYSTEM_TEAMPROJECTID": pr_server.AZURE_PROJECT, "BUILD_REPOSITORY_ID": pr_server.AZURE_REPO,
            "SYSTEM_PULLREQUEST_PULLREQUESTID": "7"}


def review(s: Sweep) -> None:
    """The saved plan whose secret changed (stale_plan), shown in every format and posted as the
    pull request comment on each provider (a local stand-in of their APIs); then a refused token
    quoted back by the provider."""
    plan = "stale.plan"
    s.check("the reviewed plan changes a secret", "std_token" in s.run("show", plan).stdout)
    for fmt in ("text", "json", "markdown", "gitlab"):
        s.run("show", plan, "--format", fmt)
    server, http = pr_server.start(C["pr_token"].value)
    try:
        for provider in ("github", "gitlab", "azure"):
            s.run("comment", plan, "--provider", provider, **_pr_env(provider, server, s.base / "event.json"))
        bodies = [json.dumps(r.body) for r in server.requests if r.method != "GET"]
        s.check("a comment was posted on each provider", len(bodies) == 3)
        for index, body in enumerate(bodies):
            s.text(f"comment body #{index + 1}", body)
        server.token = "another-token"
        server.echo_credentials = True  # the refusal quotes the credentials it got
        for provider in ("github", "gitlab", "azure"):
            s.run("comment", plan, "--provider", provider, expect=1, **_pr_env(provider, server, s.base / "event.json"))
    finally:
        http.shutdown()
        http.server_close()


GOVERNED_ENV = "dss:\n  api_key_env: DKU_API_KEY\npolicies:\n  require_approval: govern\n"


def governance(s: Sweep) -> None:
    """`policies.require_approval: govern`: a plan whose project holds the secrets, submitted with
    a canary Govern key, refused while pending, approved by another user, applied, the outcome
    written back; then Govern unreachable. The change request's fields are read back."""
    govern = s.govern
    govern.reset_all()
    govern.admin.seed(api_keys=[{"key": C["govern_key"].value, "login": "alice"}])
    root = s.base / "cfg-gov"
    support.write_config(root, {"canary.yml": project_yaml(GOV_KEY)}, env=GOVERNED_ENV)
    env = {"GOVERN_URL": govern.url, "GOVERN_API_KEY": C["govern_key"].value, "GITHUB_SHA": "0123abcd" * 5}
    s.run("plan", "-e", "dev", "--out", "gov.plan", root=root, **env)
    s.run("govern", "status", "gov.plan", root=root, expect=3, **env)
    s.run("govern", "status", "gov.plan", "--json", root=root, expect=3, **env)
    s.run("govern", "submit", "gov.plan", root=root, **env)
    request = s.run("govern", "submit", "gov.plan", "--json", root=root, **env).json()["change_request"]
    s.run("apply", "-e", "dev", "gov.plan", root=root, expect=3, **env)
    govern.client_for("govern-bob-key").get_artifact(request["artifact_id"]).get_signoff("review").add_approval("APPROVED", "ok")
    s.run("govern", "status", "gov.plan", root=root, **env)
    s.run("apply", "-e", "dev", "gov.plan", "--json", root=root, **env)
    s.run("govern", "status", "gov.plan", "--json", root=root, expect=None, **env)
    s.run("apply", "-e", "dev", "gov.plan", root=root, expect=1, **{**env, "GOVERN_URL": "http://127.0.0.1:9"})
    artifact = govern.client_for(govern.api_key).get_artifact(request["artifact_id"]).get_definition().get_raw()
    s.check("the outcome was written back", artifact["fields"].get("apply_status") == "APPLIED")
    s.text("the Govern change request", json.dumps(artifact))
    s.text("the Govern audit log", json.dumps(govern.audit()))
    s.run("destroy", "-e", "dev", "--auto-approve", root=root, expect=None, **env)


def state_commands(s: Sweep) -> None:
    rotated = {"IAC_SECRET_CANARY_LOCAL": C["rotated2"].value}
    pulled = s.run("state", "pull", "-e", "dev")
    (s.root / "pulled.json").write_text(pulled.stdout)
    s.run("state", "protect", f"dataset.{KEY}.raw", "-e", "dev")
    s.run("state", "protect", "--off", f"dataset.{KEY}.raw", "-e", "dev")
    s.run("state", "mv", f"managed_folder.{KEY}.reports", f"managed_folder.{KEY}.reports_moved", "-e", "dev")
    s.run("state", "mv", f"managed_folder.{KEY}.reports_moved", f"managed_folder.{KEY}.reports", "-e", "dev")
    s.run("state", "rm", f"dataset.{KEY}.raw", "-e", "dev")
    s.run("state", "push", "pulled.json", "-e", "dev", "--force")  # the pulled state: raw owned again
    history = s.run("state", "history", "-e", "dev", "--json").json()
    serials = sorted(entry["serial"] for entry in history if isinstance(entry, dict) and "serial" in entry)
    first = str(serials[0]) if serials else "1"
    s.run("state", "rollback", first, "-e", "dev", "--dry-run", expect=None, **rotated)
    s.run("state", "rollback", first, "-e", "dev", "--out", "rollback.plan", expect=None, **rotated)
    s.run("state", "rollback", first, "-e", "dev", "--plan", "rollback.plan", "--auto-approve", expect=None, **rotated)
    s.run("state", "rollback", first, "-e", "dev", "--auto-approve", expect=None, **rotated)
    s.run("state", "restore", str(serials[-1] if serials else 2), "-e", "dev", expect=None)
    s.run("state", "unlock", "0123456789abcdef", "-e", "dev", expect=None)
    s.run("apply", "-e", "dev", "--auto-approve", **rotated)


def import_foreign(s: Sweep) -> None:
    """A project the tool never made, holding secret-looking variables and reporter secrets."""
    client = s.dss.client()
    project = client.create_project(FOREIGN, "Foreign", "admin")
    project.set_variables({"standard": {"api_token": C["foreign_var"].value, "plain": "x"}, "local": {"db_password": C["foreign_var"].value}})
    scenario = project.create_scenario("Alerts", "step_based")
    settings = scenario.get_settings()
    settings.get_raw()["reporters"] = [
        {"id": "r1", "name": "hook", "active": True, "phase": "END",
         "messaging": {"type": "webhook-scenario", "configuration": {"url": C["foreign_webhook"].value, "method": "POST"}}},
        {"id": "r2", "name": "chat", "active": True, "phase": "END",
         "messaging": {"type": "slack-scenario", "configuration": {"authToken": C["foreign_raw"].value, "channel": "#ops"}}},
    ]
    settings.save()
    s.check("DSS holds the foreign secrets", C["foreign_raw"].core in json.dumps(scenario.get_settings().get_raw()))
    out = s.base / "imported"
    support.write_config(out, {})
    s.run("import", "project", FOREIGN, "-e", "dev", "--output", str(out), root=out)
    s.check("import wrote the project", any((out / "projects").iterdir()))
    project.create_dataset("late", "Filesystem", params={"connection": "filesystem_managed", "path": "/late"})
    # The secrets import asked for, set as its message says: the object import and a plan read them.
    told = {"IAC_SECRET_FOREIGN_API_TOKEN": C["foreign_var"].value, "IAC_SECRET_FOREIGN_DB_PASSWORD": C["foreign_var"].value,
            "IAC_SECRET_FOREIGN_ALERTS_REPORTER1_URL": C["foreign_webhook"].value,
            "IAC_SECRET_FOREIGN_ALERTS_REPORTER2_AUTHTOKEN": C["foreign_raw"].value}
    s.run("import", f"dataset.{FOREIGN}.late", "-e", "dev", "--json", root=out, **told)
    s.run("plan", "-e", "dev", "--detailed-exitcode", root=out, **told)
    project.create_dataset("late2", "Filesystem", params={"connection": "filesystem_managed", "path": "/late2"})
    s.run("import", f"dataset.{FOREIGN}.late2", "-e", "dev", root=out, **told)


def the_test_command(s: Sweep) -> None:
    s.run("test", "-e", "dev", expect=1)
    s.run("test", "-e", "dev", "--json", "--junit-xml", "report.xml", "--coverage-report", "coverage.json", expect=1)
    s.check("the reports were written", (s.root / "report.xml").is_file() and (s.root / "coverage.json").is_file())
    # The test environment's apply refused by DSS with an error echoing the secrets it was sent.
    echo = _echo_body({"standard": {"std_token": C["std"].value}, "local": {"db_password": C["local"].value}})
    s.dss.admin.add_fault(method="PUT", path=rf"/projects/{KEY}_T[^/]+/variables/$", status=400, mode="error", times=0, body=echo)
    s.run("test", "-e", "dev", "--junit-xml", "failed-report.xml", expect=1)
    s.run("test", "-e", "dev", "--json", expect=1)
    s.check("DSS refused the test environment's variables", sum(rule["fired"] for rule in s.dss.admin.faults()) >= 2)
    s.dss.admin.clear_faults()
    s.check("the report of the failed run was written", (s.root / "failed-report.xml").is_file())


def managed_folder_state(s: Sweep) -> None:
    """The same configuration with its state in a DSS managed folder; then every file the tool
    wrote in DSS and the projects' metadata are read back."""
    root = s.mf_root
    support.write_config(root, {"canary.yml": project_yaml(MF_KEY)}, iac=MF_IAC)
    s.run("apply", "-e", "dev", "--auto-approve", root=root)
    s.run("drift", "-e", "dev", "--json", root=root)
    s.run("state", "list", "-e", "dev", root=root)
    client = s.dss.client()
    for key in client.list_project_keys():
        project = client.get_project(key)
        s.text(f"DSS project {key} metadata", json.dumps(project.get_metadata()))
        for folder in project.list_managed_folders():
            handle = project.get_managed_folder(folder["id"])
            for item in handle.list_contents().get("items", []):
                with handle.get_file(item["path"]) as answer:
                    s.text(f"DSS {key} folder {folder['name']}{item['path']}", answer.content.decode("utf-8", "replace"))
    s.check("the state's folder was read", any(place.startswith(f"DSS {STATE_PROJECT}") for place, _ in s.current.texts))  # type: ignore[union-attr]


def s3_state(s: Sweep) -> None:
    """The state in S3 (a local S3 stand-in), the AWS credentials canaries: apply, state reads,
    drift; then a bucket that does not exist. The objects written in the bucket are read back."""
    from tests.s3_server import BUCKET, REGION

    server = s.s3
    root = s.base / "cfg-s3"
    iac = (f"version: 1\nstate:\n  backend: s3\n  bucket: {BUCKET}\n  key_prefix: canary\n  endpoint_url: {server.url}\n"
           f"  region: {REGION}\n")
    support.write_config(root, {"canary.yml": project_yaml(S3_KEY)}, iac=iac)
    aws = {"AWS_ACCESS_KEY_ID": "AKIACANARY", "AWS_SECRET_ACCESS_KEY": C["aws_secret"].value,
           "AWS_SESSION_TOKEN": C["aws_token"].value, "AWS_DEFAULT_REGION": REGION}
    s.run("apply", "-e", "dev", "--auto-approve", root=root, **aws)
    s.run("state", "list", "-e", "dev", "--json", root=root, **aws)
    s.run("drift", "-e", "dev", root=root, **aws)
    (root / "iac.yml").write_text(iac.replace(BUCKET, "no-such-bucket-canary"))
    s.run("plan", "-e", "dev", root=root, expect=None, **aws)
    s.run("state", "pull", "-e", "dev", root=root, expect=None, **aws)
    (root / "iac.yml").write_text(iac)
    s.run("destroy", "-e", "dev", "--auto-approve", root=root, **aws)
    client = server.client()
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=BUCKET, Prefix="canary/").get("Contents", [])]
    s.check("the state was written in the bucket", any(k.endswith("state.json") for k in keys))
    for key in keys:
        s.text(f"s3://{BUCKET}/{key}", client.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode("utf-8", "replace"))


BAD_CONFIGS = {
    "inline api key": ({"environments/dev.yml": f"dss:\n  api_key: {C['inline'].value}\n"}, {}),
    "inline webhook url": ({"projects/p.yml": "project: {key: BAD, name: Bad}\nscenarios:\n  - id: S\n    name: S\n"
                            f"    reporters:\n      - {{type: webhook, url: '{C['inline'].value}'}}\n"}, {}),
    "secret reference with a value": ({"projects/p.yml": "project:\n  key: BAD\n  name: Bad\n  variables:\n    local:\n"
                                       f"      token: {{secret_env: IAC_SECRET_X, value: '{C['inline'].value}'}}\n"}, {}),
    "secret_env of another variable": ({"projects/p.yml": "project:\n  key: BAD\n  name: Bad\n  variables:\n    local:\n"
                                        "      token: {secret_env: DB_PASSWORD}\n"}, {"DB_PASSWORD": C["wrong_prefix"].value}),
    # validate checks the reference, not the value (docs/config-reference.md): plan is refused
    "secret not set": ({"projects/p.yml": "project:\n  key: BAD\n  name: Bad\n  variables:\n    local:\n"
                        "      token: {secret_env: IAC_SECRET_NOT_SET}\n"}, {}),
}


def module_commands(s: Sweep) -> None:
    """`modules get|update|search|show` (no DSS): a registry and a Git module on a local bare
    repository, the standard library; a call whose Git URL holds a password (refused without
    repeating it); a registry module whose sensitive input has a default (never shown). The module
    cache is under HOME (scanned)."""
    from tests.support.gitrepo import BareRepo

    registry = BareRepo(s.base / "module-registry")
    registry.commit({
        "index.yml": "registry: 1\nmodules:\n  ingest:\n    path: ingest\n    description: Ingest\n"
                     "  token:\n    path: token\n    description: Holds a sensitive input\n",
        "ingest/module.yml": "module: ingest\nversion: 1.0.0\nresources: [r.yml]\n",
        "ingest/r.yml": "datasets: []\n",
        "token/module.yml": "module: token\ninputs:\n  token: {type: string, sensitive: true, default: "
                            f"'{C['module_default'].value}'}}\nresources: [r.yml]\n",
        "token/r.yml": "datasets: []\n",
    })
    registry.tag("ingest/v1.0.0")
    root = s.base / "cfg-mod"
    calls = (f"  - {{name: lib, source: acme/ingest, version: '~> 1.0'}}\n"
             f"  - {{name: git, source: 'git+{registry.url}//ingest?ref=ingest/v1.0.0'}}\n"
             "  - {name: std, source: std/build_and_check, inputs: {datasets: [x]}}\n")
    support.write_config(root, {"mod.yml": f"project:\n  key: MOD\n  name: Modules\nmodules:\n{calls}"},
                         iac=f"version: 1\nmodule_registries:\n  acme: git+{registry.url}\n")
    cache = {"DATAIKU_IAC_MODULE_CACHE": str(s.base / "home" / ".cache" / "dataiku-iac" / "modules")}
    s.run("modules", "get", root=root, **cache)
    s.check("the lock file was written", (root / "iac.lock.yml").is_file())
    s.run("modules", "get", "--json", "--offline", root=root, **cache)
    s.run("modules", "update", root=root, **cache)
    s.run("modules", "update", "lib", "--json", root=root, **cache)
    s.run("modules", "search", root=root, **cache)
    s.run("modules", "search", "sensitive", "--json", root=root, **cache)
    shown = s.run("modules", "show", "acme/token", root=root, **cache)
    s.check("show lists the sensitive input", "token (string, (sensitive))" in shown.stdout)
    s.run("modules", "show", "acme/token", "--json", root=root, **cache)
    s.run("modules", "show", "std/ingest_sql", "--offline", root=root, **cache)
    bad = s.base / "bad-module-url"
    url = f"git+https://svc:{C['module_url'].value}@git.example/m.git"
    support.write_config(bad, {"bad.yml": f"project:\n  key: BAD\n  name: Bad\nmodules:\n  - {{name: m, source: '{url}'}}\n"})
    refused = s.run("modules", "get", root=bad, expect=1, **cache)
    s.check("a credential in a module URL is refused", "must not contain credentials" in refused.stderr)
    s.run("modules", "get", "--json", root=bad, expect=1, **cache)


def module_sensitive_input(s: Sweep) -> None:
    """A local module's sensitive input (its default) written into a dataset's description: every
    plan output, the saved plan and its `show` formats, the apply of that saved plan (which must
    write the value, not "(sensitive value)"), drift and pull of a value edited in DSS. Its own
    configuration and config cache, not scanned: the module file holds the value by design, and
    the state records it as DSS holds it (docs/modules.md, "Sensitive inputs")."""
    root = s.base / "cfg-sensitive"
    module = ("module: token\ninputs:\n  secret: {type: string, sensitive: true, default: "
              f"'{C['module_input'].value}'}}\nresources: [r.yml]\n")
    resources = "datasets:\n  - {name: store, type: managed, description: 'key=${inputs.secret}'}\n"
    support.write_config(root, {"sens.yml": "project: {key: SENS, name: Sensitive}\nmodules:\n"
                                            "  - {name: tok, source: ../modules/token}\n"},
                         files={"modules/token/module.yml": module, "modules/token/r.yml": resources})
    cache = {"DATAIKU_IAC_CONFIG_CACHE": str(s.base / "config-cache-sensitive")}
    shown = s.run("modules", "show", "./modules/token", root=root, **cache)
    s.check("show lists the local module's sensitive input", "secret (string, (sensitive))" in shown.stdout)
    s.run("modules", "show", "./modules/token", "--json", root=root, **cache)
    s.run("plan", "-e", "dev", root=root, **cache)
    s.run("plan", "-e", "dev", "--json", "--out", "sens.plan", root=root, **cache)
    s.text("the saved plan", (root / "sens.plan").read_text(encoding="utf-8"))
    for fmt in ("text", "json", "markdown", "gitlab"):
        s.run("show", "sens.plan", "--format", fmt, root=root, **cache)
    s.run("apply", "-e", "dev", "sens.plan", root=root, **cache)
    dataset = s.dss.client().get_project("SENS").get_dataset("tok_store")
    s.check("the saved plan's apply wrote the value", dataset.get_settings().get_raw()["description"] == f"key={C['module_input'].value}")
    settings = dataset.get_settings()
    settings.get_raw()["description"] = f"edited key={C['module_input'].value}"
    settings.save()
    s.run("plan", "-e", "dev", "--json", root=root, **cache)
    drift = s.run("drift", "-e", "dev", expect=None, root=root, **cache)
    s.check("drift reports the edit", "tok_store" in drift.stdout)
    s.run("drift", "-e", "dev", "--json", expect=None, root=root, **cache)
    s.run("pull", "-e", "dev", "--dry-run", "--json", expect=None, root=root, **cache)
    s.run("destroy", "-e", "dev", "--auto-approve", root=root, **cache)


def validation_errors(s: Sweep) -> None:
    """Configurations with a mistake on a secret field (each its own directory, not scanned: a
    secret written inline is in the YAML by the author's mistake; the tool must not repeat it)."""
    for index, (name, (files, extra)) in enumerate(BAD_CONFIGS.items()):
        root = s.base / "bad" / str(index)
        support.write_config(root, {}, files=files)
        for args in (("validate", "-e", "dev", "--offline"), ("validate", "-e", "dev", "--json"), ("plan", "-e", "dev")):
            result = s.run(*args, root=root, expect=None, **extra)
            s.check(f"{name}: {' '.join(args)} refused", result.returncode == 1 or (name == "secret not set" and args[0] == "validate"))


def convert_commands(s: Sweep) -> None:
    """`convert` both ways on the sweep's project (secret references everywhere a secret goes):
    the Python file and the YAML made back from it hold the references, never a value; the
    Python configuration then loads and validates with the secrets set (cfg-py is scanned)."""
    py_root = s.base / "cfg-py"
    support.write_config(py_root, {}, iac=(s.root / "iac.yml").read_text(encoding="utf-8"),
                         env=(s.root / "environments" / "dev.yml").read_text(encoding="utf-8"))
    shown = s.run("convert", "projects/canary.yml")
    s.check("the Python conversion keeps the secret references", "secret_env" in shown.stdout)
    s.run("convert", "projects/canary.yml", "--output", str(py_root / "projects" / "canary.py"))
    s.run("convert", "projects/canary.py", "--output", "back.yml", root=py_root)
    s.check("the YAML made back holds the references", "secret_env" in (py_root / "back.yml").read_text(encoding="utf-8"))
    s.run("validate", "-e", "dev", "--offline", "--json", root=py_root)


def destroy(s: Sweep) -> None:
    s.run("plan", "-e", "dev", "--destroy")
    s.run("plan", "-e", "dev", "--destroy", "--json")
    # The impact analysis' reasons and its --fail-on message (deletes: breaking; with --drop-data: destructive).
    s.run("plan", "-e", "dev", "--destroy", "--fail-on", "destructive")
    s.run("plan", "-e", "dev", "--destroy", "--drop-data", "--json", "--fail-on", "breaking", expect=6)
    s.run("destroy", "-e", "dev", "--auto-approve", "--json", "--target", f"scenario.{KEY}.NIGHTLY")
    s.run("destroy", "-e", "dev", "--auto-approve")
    s.run("destroy", "-e", "dev", "--auto-approve", root=s.mf_root)


PHASES: dict[str, Callable[[Sweep], None]] = {
    "offline": offline,
    "first_apply": first_apply,
    "steady": steady,
    "compliance": compliance,
    "dss_errors": dss_errors,
    "drift_of_a_secret": drift_of_a_secret,
    "crash_and_resume": crash_and_resume,
    "stale_plan": stale_plan,
    "review": review,
    "governance": governance,
    "state_commands": state_commands,
    "import_foreign": import_foreign,
    "test_command": the_test_command,
    "managed_folder_state": managed_folder_state,
    "s3_state": s3_state,
    "module_commands": module_commands,
    "module_sensitive_input": module_sensitive_input,
    "validation_errors": validation_errors,
    "convert_commands": convert_commands,
    "destroy": destroy,
}


@pytest.fixture(scope="module")
def sweep(dss_emulator: Any, govern_emulator: Any, s3_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Sweep:
    base = tmp_path_factory.mktemp("canary")
    seed(dss_emulator)
    support.write_config(base / "cfg", {"canary.yml": project_yaml(KEY)}, files={"tests/canary.yml": TESTS_YAML})
    (base / "home").mkdir()
    result = Sweep(dss_emulator, govern_emulator, s3_server, base)
    started = time.monotonic()
    for name, body in PHASES.items():
        result.phase(name, body)
    result.seconds = time.monotonic() - started
    return result


def _scanner() -> cn.Scanner:
    return cn.Scanner(CANARIES)


# -- the tests -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(PHASES))
def test_no_canary_in_what_each_phase_printed(sweep: Sweep, name: str) -> None:
    phase = sweep.phases[name]
    assert phase.error is None, f"phase {name} did not run through:\n{phase.error}"
    scanner = _scanner()
    leaks = [str(f) for r in phase.runs for f in scanner.scan(f"$ dataiku-iac {' '.join(r.args)}", r.output)]
    leaks += [str(f) for f in scanner.scan_all(phase.texts)]
    assert not leaks, "secret canaries found:\n" + "\n".join(leaks)
    assert phase.runs or phase.texts


def test_no_canary_in_any_file_the_tool_wrote(sweep: Sweep) -> None:
    scanner = _scanner()
    leaks = []
    for label in ("cfg", "cfg-mf", "cfg-gov", "cfg-s3", "cfg-mod", "cfg-py", "imported", "home", "config-cache", "fresh"):
        tree = sweep.base / label
        if tree.exists():
            leaks += [str(f) for f in scanner.scan_tree(tree, label=label)]
    assert not leaks, "secret canaries found:\n" + "\n".join(leaks)
    files = {Path(p).name for p in scanner.scanned}
    for expected in ("state.json", "first.plan", "report.xml", "coverage.json", "pulled.json"):
        assert expected in files, f"{expected} was not written, so not scanned: {sorted(files)}"
    assert any(p.startswith("config-cache/") for p in scanner.scanned), "the config cache was not scanned"
    assert any(p.startswith("imported/projects/") for p in scanner.scanned)


# -- the sweep covers every command and output format ----------------------------------------

# Options that choose what the tool writes or where: each must be swept. (`plan --fail-on` adds a
# message naming the changes it fails on.)
OUTPUT_OPTIONS = ("--json", "--out", "--junit-xml", "--coverage-report", "--output", "--plan", "--format", "--fail-on")


def command_tree() -> dict[tuple[str, ...], click.Command]:
    found: dict[tuple[str, ...], click.Command] = {}
    context = click.Context(cli)

    def walk(command: click.Command, path: tuple[str, ...]) -> None:
        if isinstance(command, click.Group):  # through click's API: the CLI loads its modules lazily
            for name in command.list_commands(context):
                sub = command.get_command(context, name)
                assert sub is not None, name
                walk(sub, (*path, name))
        else:
            found[path] = command

    walk(cli, ())
    return found


def _command_of(args: list[str], tree: dict[tuple[str, ...], click.Command]) -> tuple[str, ...]:
    for size in (3, 2, 1):
        if tuple(args[:size]) in tree:
            return tuple(args[:size])
    raise AssertionError(f"not a command: {args}")


def required_variants(command: click.Command) -> list[tuple[str, ...]]:
    """The output variants a command must be swept in: plain, and each output option (each
    choice of a choice option)."""
    variants: list[tuple[str, ...]] = [()]
    for param in command.params:
        if not isinstance(param, click.Option):
            continue
        flag = next((o for o in param.opts if o in OUTPUT_OPTIONS), None)
        if flag is None:
            continue
        if isinstance(param.type, click.Choice):
            variants += [(flag, str(choice)) for choice in param.type.choices]
        else:
            variants.append((flag,))
    return variants


def _variant_swept(variant: tuple[str, ...], runs: list[list[str]]) -> bool:
    if not variant:
        return any(not any(a in OUTPUT_OPTIONS for a in args) for args in runs)
    if len(variant) == 1:
        return any(variant[0] in args for args in runs)
    return any(any(args[i:i + 2] == list(variant) for i in range(len(args))) for args in runs)


def not_swept(tree: dict[tuple[str, ...], click.Command], swept: list[list[str]]) -> list[str]:
    """The commands, and output variants of commands, that no run of `swept` exercised."""
    by_command: dict[tuple[str, ...], list[list[str]]] = {}
    for args in swept:
        by_command.setdefault(_command_of(args, tree), []).append(args)
    missing = []
    for path, command in sorted(tree.items()):
        runs = by_command.get(path, [])
        if not runs:
            missing.append(f"{' '.join(path)}: never run")
            continue
        missing += [f"{' '.join(path)} {' '.join(v)}: never run so" for v in required_variants(command)
                    if not _variant_swept(v, runs)]
    return missing


def test_every_command_and_output_format_is_swept(sweep: Sweep) -> None:
    missing = not_swept(command_tree(), [list(r.args) for r in sweep.runs()])
    assert not missing, ("the secret canary sweep (tests/security/test_secret_canary.py) does not run:\n"
                         + "\n".join(missing) + "\nadd a phase, or a run to a phase, that does")


# -- the scanner can fail ------------------------------------------------------------------------


@pytest.mark.parametrize("form", ["raw", "core", "json-escaped", "html-escaped", "url-encoded", "form-encoded", "base64", "basic-auth"])
def test_the_scanner_finds_every_form_of_a_canary(form: str) -> None:
    import base64
    import html
    import urllib.parse

    value = C["std"].value
    text = {
        "raw": f"x {value} y",
        "core": f"truncated {C['std'].core}…",
        "json-escaped": json.dumps({"v": value}),
        "html-escaped": f"<td>{html.escape(value)}</td>",
        "url-encoded": "https://h/p?v=" + urllib.parse.quote(value, safe=""),
        "form-encoded": "a=1&v=" + urllib.parse.quote_plus(value),
        "base64": base64.b64encode(value.encode()).decode(),
        "basic-auth": "Authorization: Basic " + base64.b64encode(f"{C['api_key'].value}:".encode()).decode(),
    }[form]
    assert _scanner().scan("sample", text), f"{form} not found in {text!r}"
    assert not _scanner().scan("clean", "nothing secret here: scrypt-v1:" + "0" * 32)


def test_the_coverage_check_names_what_was_not_swept() -> None:
    @click.group()
    def tool() -> None: ...

    @tool.command("report")
    @click.option("--format", type=click.Choice(["text", "markdown"]))
    @click.option("--json", is_flag=True)
    def report(format: str, json: bool) -> None: ...

    @tool.command("other")
    def other() -> None: ...

    tree = {("report",): report, ("other",): other}
    assert not_swept(tree, [["report"], ["report", "--format", "text"], ["report", "--json"]]) == [
        "other: never run", "report --format markdown: never run so"]
    assert not_swept(tree, [["report"], ["report", "--format", "text"], ["report", "--format", "markdown"],
                            ["report", "--json"], ["other"]]) == []
