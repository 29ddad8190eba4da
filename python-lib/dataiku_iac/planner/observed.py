"""What was observed in DSS: the planner's view of the live instance (pure data)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from dataiku_iac.resources.base import Observed
from dataiku_iac.resources.registry import find_spec


@dataclass
class ProjectObservation:
    """Every object of one project, managed or not."""

    project_key: str
    exists: bool
    project: Optional[Observed] = None
    objects: dict[str, list[Observed]] = field(default_factory=dict)  # type -> objects
    # The lineage of the state the project's metadata says manages it (None: unmarked).
    marker: Optional[str] = None
    _indexes: dict[str, tuple[tuple[int, int], dict[str, Observed], dict[str, Observed]]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def find(self, type_: str, *, name: Optional[str] = None, dss_id: Optional[str] = None) -> Optional[Observed]:
        if type_ == "project":
            return self.project
        by_name, by_id = self._index(type_)
        if dss_id is not None and dss_id in by_id:
            return by_id[dss_id]
        spec = find_spec(type_)
        if dss_id is not None and spec is not None and spec.identity.found_by_id:
            return None  # never guess by name once we know the id (another object may have the name)
        return by_name.get(name) if name is not None else None

    def _index(self, type_: str) -> tuple[dict[str, Observed], dict[str, Observed]]:
        """Lookups by name and by id, so planning N resources costs O(N), not O(N x objects).
        Rebuilt when the list was replaced or changed size (objects are appended while observing)."""
        items = self.objects.get(type_, [])
        cached = self._indexes.get(type_)
        if cached is None or cached[0] != (id(items), len(items)):
            by_name: dict[str, Observed] = {}
            by_id: dict[str, Observed] = {}
            for item in items:  # the first of duplicates wins, as the linear scan did
                by_name.setdefault(item.name, item)
                by_id.setdefault(item.dss_id, item)
            cached = ((id(items), len(items)), by_name, by_id)
            self._indexes[type_] = cached
        return cached[1], cached[2]

    def all_objects(self) -> list[Observed]:
        return [o for items in self.objects.values() for o in items]


@dataclass
class Observation:
    """The live state of every project the desired config or the state touches."""

    projects: dict[str, ProjectObservation] = field(default_factory=dict)
    request_count: int = 0

    def project(self, project_key: str) -> Optional[ProjectObservation]:
        return self.projects.get(project_key)

    def markers(self) -> dict[str, Optional[str]]:
        """Project key -> marker, for every observed project that exists."""
        return {key: p.marker for key, p in self.projects.items() if p.exists}

    def find(
        self, type_: str, project_key: str, *, name: Optional[str] = None, dss_id: Optional[str] = None
    ) -> Optional[Observed]:
        project = self.projects.get(project_key)
        if project is None or not project.exists:
            return None
        return project.find(type_, name=name, dss_id=dss_id)
