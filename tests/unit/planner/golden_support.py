"""Shared helpers for planner golden tests: load a case directory into planner inputs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dataiku_iac.builder import build_desired
from dataiku_iac.config import load_config
from dataiku_iac.planner.observed import Observation, ProjectObservation
from dataiku_iac.resources.base import Observed
from dataiku_iac.state import StateDocument


def load_observation(path: Path) -> Observation:
    """observed.json: {"projects": {KEY: {"exists", "project": attrs, "objects": {type: [...]},
    "marker": lineage}}}; `marker` is the project's dataiku-iac marker (absent: unmarked)."""
    observation = Observation()
    if not path.exists():
        return observation
    data = json.loads(path.read_text())
    for key, body in data.get("projects", {}).items():
        project = None
        if body.get("project") is not None:
            project = Observed("project", key, key, key, body["project"])
        objects = {
            type_: [Observed(type_, key, o["name"], o.get("dss_id", o["name"]), o["attributes"]) for o in items]
            for type_, items in body.get("objects", {}).items()
        }
        observation.projects[key] = ProjectObservation(key, body.get("exists", True), project, objects, marker=body.get("marker"))
    return observation


def load_state(path: Path, environment: str = "dev") -> StateDocument:
    if not path.exists():
        doc = StateDocument.new(environment)
        doc.lineage = "00000000-0000-4000-8000-000000000000"
        return doc
    return StateDocument.from_json(json.loads(path.read_text()), str(path))


def load_case(case: Path, environ: dict[str, str] | None = None) -> tuple[Any, StateDocument, Observation]:
    cfg = load_config(case / "config", "dev")
    desired = build_desired(cfg, environ or {})
    return desired, load_state(case / "state.json"), load_observation(case / "observed.json")
