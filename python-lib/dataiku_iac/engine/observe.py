"""Observation: read the live DSS objects the plan needs, with the fewest requests.

One `GET /projects/` tells which projects exist. For each existing project: its four
documents, then one list per object type (full documents for datasets and folders; per
object reads for recipe code and scenario steps, which DSS lists without). Projects are
observed in parallel. Secret project variables are replaced by fingerprints as soon as
they are read, so no secret value ever reaches the planner, a plan or a log.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Iterable, Optional

from dataiku_iac.builder import fingerprint
from dataiku_iac.engine.dss import DssConnection, with_retries
from dataiku_iac.model import DesiredState
from dataiku_iac.planner.observed import Observation, ProjectObservation
from dataiku_iac.resources import PROJECT_CHILD_TYPES, handler_for
from dataiku_iac.resources.base import ProjectContext
from dataiku_iac.resources.project import ProjectHandler


def project_keys_of(desired: DesiredState, state: Any) -> list[str]:
    keys = {r.project_key for r in desired.resources.values()}
    keys |= {e.project_key for e in state.resources.values()}
    return sorted(keys)


def observe(
    connection: DssConnection,
    project_keys: Iterable[str],
    *,
    secret_paths: Optional[dict[str, dict[tuple, str]]] = None,
    parallelism: int = 4,
) -> tuple[Observation, dict[str, ProjectContext]]:
    """Observe the given projects. Returns the observation and per-project contexts."""
    keys = sorted(set(project_keys))
    before = connection.requests.count
    summaries = {p["projectKey"]: p for p in with_retries(lambda: connection.client().list_projects())}
    observation = Observation()
    contexts = {key: ProjectContext(key) for key in keys}
    existing = [k for k in keys if k in summaries]
    for key in keys:
        observation.projects[key] = ProjectObservation(project_key=key, exists=key in summaries)
    with ThreadPoolExecutor(max_workers=max(1, parallelism)) as pool:
        results = pool.map(lambda k: _observe_project(connection, k, summaries[k], contexts[k]), existing)
        for key, project in zip(existing, results):
            observation.projects[key] = project
    for key, paths in (secret_paths or {}).items():
        if key in observation.projects:
            _mask_secrets(observation.projects[key], paths)
    observation.request_count = connection.requests.count - before
    return observation, contexts


def _observe_project(connection: DssConnection, key: str, summary: dict, ctx: ProjectContext) -> ProjectObservation:
    project_handler = handler_for("project")
    assert isinstance(project_handler, ProjectHandler)
    project = with_retries(lambda: project_handler.observe_project(connection.client(), key, summary))
    objects = {}
    for type_ in PROJECT_CHILD_TYPES:  # folders first: later types map folder ids to names
        handler = handler_for(type_)
        objects[type_] = with_retries(lambda h=handler: h.observe(connection.client(), key, ctx))
    return ProjectObservation(project_key=key, exists=True, project=project, objects=objects)


def _mask_secrets(project: ProjectObservation, paths: dict[tuple, str]) -> None:
    """Replace secret variable values by {secret_env, fingerprint}: nothing secret survives."""
    if project.project is None:
        return
    variables = project.project.attributes.get("variables") or {}
    for (section, name), env_name in paths.items():
        values = variables.get(section) or {}
        if name in values:
            # Whatever DSS holds there (a string, or anything else) is masked: only its
            # fingerprint is ever compared, so a wrong value is still seen as a change.
            live = values[name]
            text = live if isinstance(live, str) else json.dumps(live, sort_keys=True)
            values[name] = {"secret_env": env_name, "fingerprint": fingerprint(text)}


def secret_paths_of(desired: DesiredState, state: Any) -> dict[str, dict[tuple, str]]:
    """Project key -> {(section, variable): env var name} for every secret variable."""
    paths: dict[str, dict[tuple, str]] = {}
    sources = [(r.project_key, r.attributes) for r in desired.by_type("project")]
    sources += [(e.project_key, e.attributes) for e in state.resources.values() if e.type == "project"]
    for key, attributes in sources:
        for section, values in (attributes.get("variables") or {}).items():
            for name, value in (values or {}).items():
                if isinstance(value, dict) and "secret_env" in value:
                    paths.setdefault(key, {})[(section, name)] = value["secret_env"]
    return paths
