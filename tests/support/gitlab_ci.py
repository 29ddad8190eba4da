"""Runs a GitLab CI pipeline on this machine, as a shell-executor runner would, for the test of
the CI template (tests/e2e/test_ci_gitlab_template.py; docs/ci.md). Not a general runner: it
plays what the template uses and refuses the rest (an unknown `when:`, an `include:`, an
`extends:`, an expression it cannot read), so that a template change it cannot play fails.

- `workflow:rules` decide whether there is a pipeline; a job's `rules:` whether it is in it (the
  first rule whose `if:` is true; `when: manual` jobs run only when the test starts them).
- Rule expressions: `$VAR`, "strings", `==`, `!=`, `&&`, `||`, parentheses; an unset variable
  is null (equal to nothing but null).
- Jobs run stage by stage, in file order. A job's variables are the pipeline's, the project's
  (the test's CI/CD variables), the predefined ones the test gives, the dotenv reports of the
  jobs it `needs`, then its own `variables:` (their `$VAR` expanded, as GitLab does).
- `before_script` then `script`, as one `bash -eo pipefail` script (the image is not used: the
  test's tools are on PATH). A failing job fails the pipeline; the jobs after it do not run.
- Artifacts: `paths:` and the `reports:` files are kept per job; a job gets those of the jobs it
  `needs` (of every earlier job without `needs:`) in its fresh copy of the repository.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import yaml

_TOKEN = re.compile(r'\s*(?:(?P<str>"[^"]*"|\'[^\']*\')|(?P<var>\$\{?\w+\}?)|(?P<op>==|!=|&&|\|\||\(|\)))')
KNOWN_JOB_KEYS = {"stage", "rules", "variables", "script", "before_script", "artifacts", "needs",
                  "environment", "resource_group", "image"}


class PipelineError(Exception):
    pass


def evaluate(text: str, variables: dict[str, str]) -> bool:
    tokens, pos = [], 0
    while pos < len(text.rstrip()):
        match = _TOKEN.match(text, pos)
        if not match:
            raise PipelineError(f"cannot read the rule {text!r} at {text[pos:]!r}")
        tokens.append((match.lastgroup, match.group(match.lastgroup or "op")))
        pos = match.end()
    index = 0

    def value() -> Any:
        nonlocal index
        kind, token = tokens[index]
        index += 1
        if kind == "str":
            return token[1:-1]
        if kind == "var":
            return variables.get(token.strip("${}"))
        if token == "(":
            result = disjunction()
            index += 1  # ")"
            return result
        raise PipelineError(f"unexpected {token!r} in {text!r}")

    def comparison() -> Any:
        nonlocal index
        left = value()
        if index < len(tokens) and tokens[index][1] in ("==", "!="):
            op = tokens[index][1]
            index += 1
            right = value()
            return (left == right) if op == "==" else (left != right)
        return left is not None and left != ""

    def conjunction() -> Any:
        nonlocal index
        result = comparison()
        while index < len(tokens) and tokens[index][1] == "&&":
            index += 1
            right = comparison()
            result = result and right
        return result

    def disjunction() -> Any:
        nonlocal index
        result = conjunction()
        while index < len(tokens) and tokens[index][1] == "||":
            index += 1
            right = conjunction()
            result = result or right
        return result

    return bool(disjunction())


def expand(text: Any, variables: dict[str, str]) -> str:
    return re.sub(r"\$\{?(\w+)\}?", lambda m: variables.get(m.group(1), ""), str(text))


def _first_rule(rules: list[dict[str, Any]], variables: dict[str, str]) -> Optional[dict[str, Any]]:
    for rule in rules:
        if "if" not in rule or evaluate(rule["if"], variables):
            return rule
    return None


@dataclass
class JobResult:
    name: str
    status: str  # success, failed, manual (not started), skipped (after a failure)
    output: str = ""
    dotenv: dict[str, str] = field(default_factory=dict)
    artifacts: Optional[Path] = None


@dataclass
class Pipeline:
    """One pipeline of `ci_file` for `variables` (project CI/CD variables + predefined ones)."""

    ci_file: Path
    repository: Path
    work: Path
    variables: dict[str, str]
    base_env: dict[str, str]
    play: set[str] = field(default_factory=set)  # manual jobs the test starts
    jobs: dict[str, JobResult] = field(default_factory=dict)

    def run(self) -> dict[str, JobResult]:
        config = yaml.safe_load(self.ci_file.read_text(encoding="utf-8"))
        if "include" in config:
            raise PipelineError("include: is not played by the harness")
        workflow_rules = (config.get("workflow") or {}).get("rules")
        if workflow_rules is not None and _first_rule(workflow_rules, self.variables) is None:
            return self.jobs  # no pipeline for this event
        reserved = {"workflow", "stages", "variables", "default", "include"}
        jobs = {name: job for name, job in config.items() if name not in reserved and not name.startswith(".")}
        default = config.get("default") or {}
        failed = False
        for stage in config.get("stages", ["build", "test", "deploy"]):
            for name, job in jobs.items():
                if job.get("stage", "test") != stage:
                    continue
                unknown = set(job) - KNOWN_JOB_KEYS
                if unknown:
                    raise PipelineError(f"job {name}: keys the harness does not play: {sorted(unknown)}")
                rule = _first_rule(job.get("rules") or [{}], self.variables)
                if rule is None:
                    continue
                when = rule.get("when", "on_success")
                if when not in ("on_success", "manual"):
                    raise PipelineError(f"job {name}: when: {when} is not played")
                if failed:
                    self.jobs[name] = JobResult(name, "skipped")
                elif when == "manual" and name not in self.play:
                    self.jobs[name] = JobResult(name, "manual")
                else:
                    self.jobs[name] = self._run_job(name, job, config.get("variables") or {}, default)
                    failed = self.jobs[name].status != "success"
        return self.jobs

    def _run_job(self, name: str, job: dict[str, Any], pipeline_variables: dict[str, Any], default: dict[str, Any]) -> JobResult:
        workspace = self.work / "jobs" / name.replace(":", "-")
        shutil.copytree(self.repository, workspace)
        needs = job.get("needs")
        sources = [n for n in needs] if needs is not None else [j for j in self.jobs]
        variables = {**{k: str(v) for k, v in pipeline_variables.items()}, **self.variables}
        for source in sources:
            done = self.jobs.get(source)
            if done is None or done.status != "success":
                raise PipelineError(f"job {name} needs {source}, which did not succeed")
            if done.artifacts:
                shutil.copytree(done.artifacts, workspace, dirs_exist_ok=True)
            variables.update(done.dotenv)
        variables.update({k: expand(v, variables) for k, v in (job.get("variables") or {}).items()})
        lines = [*(job.get("before_script", default.get("before_script")) or []), *job["script"]]
        done = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", "\n".join(lines)],
                              cwd=workspace, env={**self.base_env, **variables, "CI": "true", "GITLAB_CI": "true"},
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300)
        result = JobResult(name, "success" if done.returncode == 0 else "failed", done.stdout)
        if done.returncode == 0:
            result.artifacts = self._keep_artifacts(name, job.get("artifacts") or {}, workspace, result)
        return result

    def _keep_artifacts(self, name: str, artifacts: dict[str, Any], workspace: Path, result: JobResult) -> Path:
        kept = self.work / "artifacts" / name.replace(":", "-")
        kept.mkdir(parents=True)
        reports = artifacts.get("reports") or {}
        for path in [*(artifacts.get("paths") or []), *reports.values()]:
            source = workspace / path
            if not source.is_file():
                raise PipelineError(f"job {name}: artifact {path} was not written")
            shutil.copy2(source, kept / path)
        if "dotenv" in reports:
            text = (workspace / reports["dotenv"]).read_text(encoding="utf-8")
            result.dotenv = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
        return kept
