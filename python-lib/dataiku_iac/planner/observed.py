"""What was observed in DSS: the planner's view of the live instance (pure data)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from dataiku_iac.resources.base import Observed


@dataclass
class ProjectObservation:
    """Every object of one project, managed or not."""

    project_key: str
    exists: bool
    project: Optional[Observed] = None
    objects: dict[str, list[Observed]] = field(default_factory=dict)  # type -> objects

    def find(self, type_: str, *, name: Optional[str] = None, dss_id: Optional[str] = None) -> Optional[Observed]:
        if type_ == "project":
            return self.project
        for item in self.objects.get(type_, []):
            if dss_id is not None and item.dss_id == dss_id:
                return item
        if dss_id is not None and type_ in ("managed_folder", "scenario"):
            return None  # server-assigned identity: never guess by name once we know the id
        for item in self.objects.get(type_, []):
            if name is not None and item.name == name:
                return item
        return None

    def all_objects(self) -> list[Observed]:
        return [o for items in self.objects.values() for o in items]


@dataclass
class Observation:
    """The live state of every project the desired config or the state touches."""

    projects: dict[str, ProjectObservation] = field(default_factory=dict)
    request_count: int = 0

    def project(self, project_key: str) -> Optional[ProjectObservation]:
        return self.projects.get(project_key)

    def find(
        self, type_: str, project_key: str, *, name: Optional[str] = None, dss_id: Optional[str] = None
    ) -> Optional[Observed]:
        project = self.projects.get(project_key)
        if project is None or not project.exists:
            return None
        return project.find(type_, name=name, dss_id=dss_id)
