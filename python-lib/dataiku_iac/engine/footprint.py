"""`dataiku-iac report footprint`: what DSS says each project of the configuration occupies and
runs, with simple recommendations. Read-only, and only what DSS exposes already:

- the data-directories footprint of each project (dataikuapi `get_data_directories_footprint()
  .compute_project_footprint`, a DSS administrator's call): bytes, files, folders on the DSS host;
- each dataset's last computed metrics (`get_last_metric_values`: `basic:SIZE`,
  `records:COUNT_RECORDS`), never computed here (computing them would run jobs);
- the project's jobs as DSS lists them (`list_jobs`: DSS keeps a bounded history): the last build
  of each dataset and its duration;
- the Flow as the engine observes it (recipes' inputs and outputs, scenarios' `active`).

Recommendations: a dataset nothing in the project reads (the `reads` links of every type's spec), a recipe whose outputs no listed job built, a disabled
scenario. No cost in money: DSS gives no price model (docs/footprint.md). `summarise` is pure;
`collect` makes the DSS calls.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Optional

from dataiku_iac.address import address_of
from dataiku_iac.dssclient import DssConnection, classify
from dataiku_iac.engine.observe import observe
from dataiku_iac.planner.observed import ProjectObservation
from dataiku_iac.resources.base import Observed
from dataiku_iac.resources.registry import find_spec, spec_for
from dataiku_iac.resources.spec import READS, WRITES, FlowLink

SIZE_METRIC = "basic:SIZE"
RECORDS_METRIC = "records:COUNT_RECORDS"


@dataclass(frozen=True)
class Recommendation:
    kind: str  # dataset_unread | recipe_never_run | scenario_disabled
    address: str
    message: str

    def to_json(self) -> dict[str, str]:
        return {"kind": self.kind, "address": self.address, "message": self.message}


@dataclass(frozen=True)
class LastJob:
    job_id: str
    state: str
    ended_at: str  # ISO 8601, UTC ("" while running)
    duration_seconds: Optional[float]

    def to_json(self) -> dict[str, Any]:
        return {"job_id": self.job_id, "state": self.state, "ended_at": self.ended_at, "duration_seconds": self.duration_seconds}


@dataclass(frozen=True)
class DatasetFootprint:
    address: str
    name: str
    size_bytes: Optional[int]  # the last computed basic:SIZE; None: never computed
    records: Optional[int]  # the last computed records:COUNT_RECORDS
    read_by: tuple[str, ...]  # what reads it: recipes by name, other objects as "label name"
    last_build: Optional[LastJob]

    def to_json(self) -> dict[str, Any]:
        return {"address": self.address, "name": self.name, "size_bytes": self.size_bytes, "records": self.records,
                "read_by": list(self.read_by), "last_build": self.last_build.to_json() if self.last_build else None}


@dataclass(frozen=True)
class RecipeFootprint:
    address: str
    name: str
    type: str
    last_run: Optional[LastJob]  # the last listed job that built one of its outputs

    def to_json(self) -> dict[str, Any]:
        return {"address": self.address, "name": self.name, "type": self.type,
                "last_run": self.last_run.to_json() if self.last_run else None}


@dataclass(frozen=True)
class ScenarioFootprint:
    address: str
    id: str
    active: bool

    def to_json(self) -> dict[str, Any]:
        return {"address": self.address, "id": self.id, "active": self.active}


@dataclass
class ProjectFootprint:
    project_key: str  # in DSS
    config_key: str  # as the configuration writes it (addresses)
    exists: bool = True
    storage: Optional[dict[str, Any]] = None  # {size_bytes, files, folders, errors, categories: {name: bytes}}
    storage_note: str = ""  # why storage is None
    datasets: list[DatasetFootprint] = field(default_factory=list)
    recipes: list[RecipeFootprint] = field(default_factory=list)
    scenarios: list[ScenarioFootprint] = field(default_factory=list)
    recommendations: list[Recommendation] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "project_key": self.project_key, "config_key": self.config_key, "exists": self.exists,
            "storage": self.storage, "storage_note": self.storage_note,
            "datasets": [d.to_json() for d in self.datasets], "recipes": [r.to_json() for r in self.recipes],
            "scenarios": [s.to_json() for s in self.scenarios],
            "recommendations": [r.to_json() for r in self.recommendations],
        }


@dataclass
class FootprintReport:
    environment: str
    projects: list[ProjectFootprint] = field(default_factory=list)

    def recommendations(self) -> list[Recommendation]:
        return [r for p in self.projects for r in p.recommendations]

    def to_json(self) -> dict[str, Any]:
        return {
            "format_version": 1,
            "environment": self.environment,
            "cost": None,  # DSS gives no price model: no cost is computed (docs/footprint.md)
            "projects": [p.to_json() for p in self.projects],
            "recommendations": [r.to_json() for r in self.recommendations()],
        }


# -- pure part ----------------------------------------------------------------------------------------
def summarise(
    config_key: str, project: ProjectObservation, jobs: list[dict], metrics: dict[str, dict[str, Any]],
    storage: Optional[dict[str, Any]], storage_note: str = "",
) -> ProjectFootprint:
    """One project's footprint from what DSS answered: its observation (datasets, recipes,
    scenarios), its listed jobs, the last metric values of each dataset (name -> metric id ->
    value) and its data-directories footprint (None: not available, `storage_note` says why)."""
    result = ProjectFootprint(project.project_key, config_key, storage=storage, storage_note=storage_note)
    recipes = sorted(project.objects.get("recipe", []), key=lambda r: r.name)
    last_builds = _last_builds(jobs)
    readers = _readers(project)
    for dataset in sorted(project.objects.get("dataset", []), key=lambda d: d.name):
        values = metrics.get(dataset.name, {})
        result.datasets.append(DatasetFootprint(
            address_of("dataset", config_key, dataset.name), dataset.name, _int(values.get(SIZE_METRIC)),
            _int(values.get(RECORDS_METRIC)), tuple(sorted(set(readers.get(dataset.name, [])))), last_builds.get(dataset.name),
        ))
    for recipe in recipes:
        runs = [last_builds[o] for o in _output_ids(project, recipe) if o in last_builds]
        last = max(runs, key=lambda j: j.ended_at or "~") if runs else None
        result.recipes.append(RecipeFootprint(address_of("recipe", config_key, recipe.name), recipe.name,
                                              str(recipe.attributes.get("kind") or ""), last))
    for scenario in sorted(project.objects.get("scenario", []), key=lambda s: s.dss_id):
        result.scenarios.append(ScenarioFootprint(address_of("scenario", config_key, scenario.dss_id), scenario.dss_id,
                                                  scenario.attributes.get("active") is not False))
    result.recommendations = _recommendations(result)
    return result


def _recommendations(project: ProjectFootprint) -> list[Recommendation]:
    found = []
    for dataset in project.datasets:
        if not dataset.read_by:
            size = f" ({human_size(dataset.size_bytes)} at its last metrics)" if dataset.size_bytes else ""
            found.append(Recommendation("dataset_unread", dataset.address,
                f"nothing in the project reads dataset {dataset.name}{size}: if nothing outside the Flow uses it (an "
                f"export, another project), consider removing it or clearing its data"))
    for recipe in project.recipes:
        if recipe.last_run is None:
            found.append(Recommendation("recipe_never_run", recipe.address,
                f"no job DSS lists built the outputs of recipe {recipe.name}: it may be dead code (DSS keeps a "
                f"bounded job history: check before removing it)"))
    for scenario in project.scenarios:
        if not scenario.active:
            found.append(Recommendation("scenario_disabled", scenario.address,
                f"scenario {scenario.id} is disabled: its triggers never fire; remove it or enable it"))
    return found


def _links(obj: Observed) -> list[FlowLink]:
    """The object's links to the Flow as its type's spec declares them (`flow_links`), those to
    this project's objects only (a `KEY.name` of another project is not this project's)."""
    spec = find_spec(obj.type)
    if spec is None or spec.flow_links is None:
        return []
    return [link for link in spec.flow_links(obj.attributes) if link.project is None]


def _readers(project: ProjectObservation) -> dict[str, list[str]]:
    """Dataset name -> what reads it: every object whose type's `flow_links` say it `reads` it (a
    recipe's input, and so an ML task's training set or a chart's dataset when their types say so;
    not a scenario that builds or checks it: that uses nothing of its rows). Recipes by name, as
    the report always listed them; other objects as 'label name'."""
    readers: dict[str, list[str]] = {}
    for obj in project.all_objects():
        for link in _links(obj):
            if link.relation == READS and "dataset" in link.types:
                spec = spec_for(obj.type)
                readers.setdefault(link.name, []).append(obj.name if obj.type == "recipe" else f"{spec.label} {obj.name}")
    return readers


def _output_ids(project: ProjectObservation, recipe: Observed) -> list[str]:
    """What DSS's jobs call the recipe's outputs: a dataset by its name, any other object (a
    managed folder, a model evaluation store, a saved model) by its DSS id."""
    ids = []
    for link in _links(recipe):
        if link.relation == WRITES:
            found = next((o for t in link.types for o in project.objects.get(t, []) if o.name == link.name), None)
            ids.append(found.dss_id if found is not None else link.name)
    return ids


def _last_builds(jobs: list[dict]) -> dict[str, LastJob]:
    """Dataset name (or managed folder id) -> the last listed job that built it (latest start first)."""
    found: dict[str, tuple[int, LastJob]] = {}
    for job in jobs:
        definition = job.get("def") or {}
        start = _int(job.get("startTime")) or _int(definition.get("initiationTimestamp")) or 0
        end = _int(job.get("endTime")) or 0
        duration = (end - start) / 1000.0 if end and start and end >= start else None
        last = LastJob(str(definition.get("id") or job.get("jobId") or ""), str(job.get("state") or ""),
                       _iso(end) if end else "", duration)
        for output in definition.get("outputs") or []:
            if not isinstance(output, dict):
                continue
            # a dataset by name (`targetDataset`), a managed folder by its id
            name = str(output.get("targetDataset") or output.get("id") or "")
            if name and (name not in found or found[name][0] < start):
                found[name] = (start, last)
    return {name: last for name, (_start, last) in found.items()}


def _iso(millis: int) -> str:
    return datetime.datetime.fromtimestamp(millis / 1000, datetime.timezone.utc).replace(microsecond=0).isoformat()


def _int(value: Any) -> Optional[int]:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return None


def human_size(size: Optional[int]) -> str:
    if size is None:
        return "unknown"
    step = 1000.0  # as DSS's own Footprint helper prints sizes
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1500 or unit == "GB":
            return f"{int(value)} B" if unit == "B" else f"{value:.2f} {unit}"
        value /= step
    return f"{value:.2f} GB"


def storage_of(item: dict[str, Any]) -> dict[str, Any]:
    """A project's data-directories footprint item ({projectKey, size, nbFiles, nbFolders,
    nbErrors, and one mapping per category}) as the report shows it."""
    categories = {k: _int(v.get("size")) for k, v in sorted(item.items()) if isinstance(v, dict) and "size" in v}
    return {"size_bytes": _int(item.get("size")), "files": _int(item.get("nbFiles")), "folders": _int(item.get("nbFolders")),
            "errors": _int(item.get("nbErrors")), "categories": categories}


# -- DSS calls ----------------------------------------------------------------------------------------
def collect(
    connection: DssConnection, environment: str, projects: Iterable[tuple[str, str]], *, parallelism: int = 4,
    on_note: Callable[[str], None] = lambda note: None,
) -> FootprintReport:
    """The report for `projects` ((DSS key, config key) pairs); projects absent from DSS are
    listed as such. One observation of them, then per project its jobs, per dataset its last
    metrics, and the data-directories footprint (refused to non-administrators: noted)."""
    pairs = sorted(projects)
    observation, _contexts = observe(connection, [key for key, _config in pairs], parallelism=parallelism)
    report = FootprintReport(environment)
    client = connection.client()
    for key, config_key in pairs:
        project = observation.project(key)
        if project is None or not project.exists:
            report.projects.append(ProjectFootprint(key, config_key, exists=False))
            continue
        dss_project = client.get_project(key)
        jobs = [dict(job) for job in dss_project.list_jobs()]
        metrics = {d.name: _last_metrics(dss_project.get_dataset(d.name)) for d in project.objects.get("dataset", [])}
        storage, note = _storage(client, key)
        report.projects.append(summarise(config_key, project, jobs, metrics, storage, note))
    return report


def _last_metrics(dataset: Any) -> dict[str, Any]:
    raw = dataset.get_last_metric_values().get_raw()
    values: dict[str, Any] = {}
    for entry in raw.get("metrics") or []:
        metric_id = (entry.get("metric") or {}).get("id")
        last = entry.get("lastValues") or []
        if metric_id and last:
            values[metric_id] = last[0].get("value")
    return values


def _storage(client: Any, key: str) -> tuple[Optional[dict[str, Any]], str]:
    try:
        item = client.get_data_directories_footprint().compute_project_footprint(key)
    except Exception as exc:  # an administrator's call, and a long one on a big instance: the rest stands without it
        error = classify(exc)
        return None, f"the data-directories footprint is not available to this API key ({error})"
    return storage_of(dict(item)), ""
