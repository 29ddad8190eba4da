"""Runs a GitHub Actions workflow on this machine, the way a runner would, for the test of the
CI template (tests/e2e/test_ci_github_template.py; docs/ci.md). Not a general runner: it knows
what the template uses, and refuses the rest (an unknown action, shell or expression function),
so that a template change it cannot play fails the test instead of being skipped.

- Jobs run in `needs` order; a job runs when every job it needs succeeded and its `if:` is true.
- `${{ }}` expressions: contexts (`github`, `vars`, `secrets`, `env`, `needs`, `steps`),
  'strings', true/false/null, `==` `!=` (strings compared case-insensitively, as GitHub does),
  `!` `&&` `||`, parentheses, `success()`, `always()`. `vars` and `secrets` must hold what the
  workflow asks for (a renamed secret fails, instead of being empty as on GitHub).
- `run:` steps: `bash --noprofile --norc -eo pipefail` (GitHub's `shell: bash`), with the
  workflow's, job's and step's `env:`, `GITHUB_OUTPUT`, `GITHUB_ENV`, `GITHUB_STEP_SUMMARY`,
  `GITHUB_EVENT_PATH` and the other variables a runner sets; a failing step fails its job.
- Actions, played by the harness: actions/checkout (a fresh copy of the repository per job),
  actions/setup-python (nothing: the test's Python is on PATH), actions/upload-artifact and
  actions/download-artifact (a directory per artifact, shared by the jobs of one run).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import yaml

# -- expressions ------------------------------------------------------------------------------------

_TOKEN = re.compile(r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<op>==|!=|&&|\|\||!|\(|\))|(?P<word>[A-Za-z_][\w.\-]*))")


class ExpressionError(Exception):
    pass


def _tokens(text: str) -> list[str]:
    found, pos = [], 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise ExpressionError(f"cannot read the expression {text!r} at {text[pos:]!r}")
        found.append(match.group(match.lastgroup or "word"))
        pos = match.end()
    return found


def _lookup(path: str, contexts: dict[str, Any]) -> Any:
    head, *rest = path.split(".")
    if head not in contexts:
        raise ExpressionError(f"unknown context {head!r} in {path!r}")
    value = contexts[head]
    for i, part in enumerate(rest):
        if head in ("vars", "secrets") and i == 0 and part not in value:
            raise ExpressionError(f"the workflow reads {path}, which the test does not provide")
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return a.lower() == b.lower()
    return bool(a == b)


def evaluate(text: str, contexts: dict[str, Any], job_status: str = "success") -> Any:
    tokens = _tokens(text)
    pos = 0

    def peek() -> Optional[str]:
        return tokens[pos] if pos < len(tokens) else None

    def take() -> str:
        nonlocal pos
        pos += 1
        return tokens[pos - 1]

    def primary() -> Any:
        token = take()
        if token == "(":
            value = disjunction()
            if take() != ")":
                raise ExpressionError(f"unbalanced parentheses in {text!r}")
            return value
        if token == "!":
            return not primary()
        if token.startswith("'"):
            return token[1:-1].replace("''", "'")
        if token in ("true", "false"):
            return token == "true"
        if token == "null":
            return None
        if peek() == "(":
            take()
            if take() != ")":
                raise ExpressionError(f"functions with arguments are not played: {text!r}")
            if token == "success":
                return job_status == "success"
            if token == "always":
                return True
            raise ExpressionError(f"function {token}() is not played by the harness")
        return _lookup(token, contexts)

    def comparison() -> Any:
        left = primary()
        while peek() in ("==", "!="):
            op = take()
            right = primary()
            left = _equal(left, right) if op == "==" else not _equal(left, right)
        return left

    def conjunction() -> Any:
        left = comparison()
        while peek() == "&&":
            take()
            right = comparison()
            left = left and right
        return left

    def disjunction() -> Any:
        left = conjunction()
        while peek() == "||":
            take()
            right = conjunction()
            left = left or right
        return left

    value = disjunction()
    if pos != len(tokens):
        raise ExpressionError(f"cannot read the expression {text!r}")
    return value


def interpolate(value: Any, contexts: dict[str, Any]) -> str:
    """A workflow value with its `${{ … }}` replaced, as GitHub does (null → '')."""
    def one(match: re.Match[str]) -> str:
        result = evaluate(match.group(1), contexts)
        return "" if result is None else (str(result).lower() if isinstance(result, bool) else str(result))

    return re.sub(r"\$\{\{(.*?)\}\}", one, str(value))


def condition(value: Any, contexts: dict[str, Any]) -> bool:
    text = str(value).strip()
    if text.startswith("${{") and text.endswith("}}"):
        text = text[3:-2]
    return bool(evaluate(text, contexts))


# The github context's keys a runner also sets as GITHUB_<KEY> variables.
RUNNER_VARIABLES = ("repository", "ref", "sha", "server_url", "api_url", "run_id")

# -- running ----------------------------------------------------------------------------------------

@dataclass
class StepResult:
    name: str
    returncode: int
    output: str


@dataclass
class JobResult:
    name: str
    result: str  # success, failure, skipped
    steps: list[StepResult] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)
    summary: str = ""
    workspace: Optional[Path] = None

    def log(self) -> str:
        return "\n".join(f"--- {s.name} (exit {s.returncode})\n{s.output}" for s in self.steps)


class StepFailed(AssertionError):
    pass


@dataclass
class WorkflowRun:
    """One run of `workflow_file` for an event. `base_env`: the runner's own environment (PATH with
    the test's tools first); `contexts`: `vars`, `secrets` and the `github` context's extra keys."""

    workflow_file: Path
    repository: Path
    work: Path
    event_name: str
    event: dict[str, Any]
    base_env: dict[str, str]
    vars: dict[str, str]
    secrets: dict[str, str]
    github: dict[str, Any]
    before_job: Optional[Callable[[str, WorkflowRun], None]] = None  # a test's hook: (job id, this run)
    jobs: dict[str, JobResult] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.workflow = yaml.safe_load(self.workflow_file.read_text(encoding="utf-8"))
        self.artifacts = self.work / "artifacts"
        self.artifacts.mkdir(parents=True, exist_ok=True)
        self.event_path = self.work / "event.json"
        self.event_path.write_text(json.dumps(self.event), encoding="utf-8")
        shell = ((self.workflow.get("defaults") or {}).get("run") or {}).get("shell", "bash")
        if shell != "bash":
            raise ExpressionError(f"shell {shell!r} is not played by the harness")

    def _github_context(self) -> dict[str, Any]:
        return {"event_name": self.event_name, "event": self.event, **self.github}

    def run(self) -> dict[str, JobResult]:
        """Every job, in `needs` order; the results by job id (also in `self.jobs`)."""
        pending = dict(self.workflow["jobs"])
        while pending:
            ready = [job_id for job_id, job in pending.items()
                     if all(need in self.jobs for need in _list(job.get("needs")))]
            if not ready:
                raise ExpressionError(f"jobs waiting on unknown or circular needs: {sorted(pending)}")
            for job_id in ready:
                if self.before_job:
                    self.before_job(job_id, self)
                self.jobs[job_id] = self._run_job(job_id, pending.pop(job_id))
        return self.jobs

    def _contexts(self, env: dict[str, str], needs: dict[str, Any], steps: dict[str, Any]) -> dict[str, Any]:
        return {"github": self._github_context(), "vars": self.vars, "secrets": self.secrets,
                "env": env, "needs": needs, "steps": steps}

    def _run_job(self, job_id: str, job: dict[str, Any]) -> JobResult:
        needs = {need: {"result": self.jobs[need].result, "outputs": self.jobs[need].outputs}
                 for need in _list(job.get("needs"))}
        workflow_env = {k: interpolate(v, self._contexts({}, {}, {})) for k, v in (self.workflow.get("env") or {}).items()}
        contexts = self._contexts(workflow_env, needs, {})
        if any(n["result"] != "success" for n in needs.values()) or not condition(job.get("if", "success()"), contexts):
            return JobResult(job_id, "skipped")
        job_env = {**workflow_env, **{k: interpolate(v, contexts) for k, v in (job.get("env") or {}).items()}}
        workspace = self.work / "jobs" / job_id
        workspace.mkdir(parents=True)
        result = JobResult(job_id, "success", workspace=workspace)
        steps: dict[str, Any] = {}
        added_env: dict[str, str] = {}
        for index, step in enumerate(job.get("steps") or []):
            step_contexts = self._contexts({**job_env, **added_env}, needs, steps)
            if not condition(step.get("if", "success()"), step_contexts):
                continue
            name = step.get("name") or step.get("uses") or f"step {index + 1}"
            if "uses" in step:
                output = self._play_action(step, step_contexts, workspace)
                result.steps.append(StepResult(name, 0, output))
                continue
            env = {**job_env, **added_env, **{k: interpolate(v, step_contexts) for k, v in (step.get("env") or {}).items()}}
            files = {kind: self.work / "files" / job_id / f"{index}.{kind}" for kind in ("output", "env", "summary")}
            for path in files.values():
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text("", encoding="utf-8")
            done = subprocess.run(
                ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
                cwd=workspace, env={**self.base_env, **self._runner_env(workspace, files), **env},
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300,
            )
            result.steps.append(StepResult(name, done.returncode, done.stdout))
            result.summary += files["summary"].read_text(encoding="utf-8")
            if done.returncode != 0:
                result.result = "failure"
                return result
            added_env.update(_key_values(files["env"].read_text(encoding="utf-8")))
            if "id" in step:
                steps[step["id"]] = {"outputs": _key_values(files["output"].read_text(encoding="utf-8")), "outcome": "success"}
        final = self._contexts(job_env, needs, steps)
        result.outputs = {k: interpolate(v, final) for k, v in (job.get("outputs") or {}).items()}
        return result

    def _runner_env(self, workspace: Path, files: dict[str, Path]) -> dict[str, str]:
        return {
            "CI": "true", "GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": str(workspace),
            "GITHUB_EVENT_NAME": self.event_name, "GITHUB_EVENT_PATH": str(self.event_path),
            "GITHUB_OUTPUT": str(files["output"]), "GITHUB_ENV": str(files["env"]),
            "GITHUB_STEP_SUMMARY": str(files["summary"]), "RUNNER_TEMP": str(self.work / "tmp"),
            # What a runner sets from the github context; never the token (only `${{ github.token }}` gives it).
            **{f"GITHUB_{k.upper()}": str(self.github[k]) for k in RUNNER_VARIABLES if k in self.github},
        }

    def _play_action(self, step: dict[str, Any], contexts: dict[str, Any], workspace: Path) -> str:
        action = str(step["uses"]).split("@", 1)[0]
        inputs = {k: interpolate(v, contexts) for k, v in (step.get("with") or {}).items()}
        if action == "actions/checkout":
            shutil.copytree(self.repository, workspace, dirs_exist_ok=True)
            return f"checked out {self.repository}"
        if action == "actions/setup-python":
            return f"Python {inputs.get('python-version')}: the test's own"
        if action == "actions/upload-artifact":
            source = workspace / inputs["path"]
            if not source.is_file():
                if inputs.get("if-no-files-found") == "error":
                    raise StepFailed(f"upload-artifact: no file at {inputs['path']}")
                return "no file to upload"
            target = self.artifacts / inputs["name"]
            target.mkdir(parents=True, exist_ok=False)  # one artifact of a name per run, as GitHub's v4+
            shutil.copy2(source, target / source.name)
            return f"uploaded {inputs['path']} as {inputs['name']}"
        if action == "actions/download-artifact":
            source = self.artifacts / inputs["name"]
            if not source.is_dir():
                raise StepFailed(f"download-artifact: no artifact {inputs['name']!r} in this run")
            shutil.copytree(source, workspace / inputs.get("path", "."), dirs_exist_ok=True)
            return f"downloaded {inputs['name']}"
        raise ExpressionError(f"action {action} is not played by the harness")


def _list(value: Any) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _key_values(text: str) -> dict[str, str]:
    """GITHUB_OUTPUT / GITHUB_ENV: `name=value` lines and `name<<DELIMITER` blocks."""
    values: dict[str, str] = {}
    lines = iter(text.splitlines())
    for line in lines:
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            block = []
            for inner in lines:
                if inner == delimiter:
                    break
                block.append(inner)
            values[name] = "\n".join(block)
        elif "=" in line:
            name, value = line.split("=", 1)
            values[name] = value
    return values
