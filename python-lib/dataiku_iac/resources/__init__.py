"""Resource handlers, one per DSS object type, each with a declarative field policy."""

from __future__ import annotations

from dataiku_iac.resources.base import Observed, ProjectContext, ResourceHandler
from dataiku_iac.resources.dataset import DatasetHandler
from dataiku_iac.resources.managed_folder import ManagedFolderHandler
from dataiku_iac.resources.project import ProjectHandler
from dataiku_iac.resources.recipe import RecipeHandler
from dataiku_iac.resources.scenario import ScenarioHandler

HANDLERS: dict[str, ResourceHandler] = {
    h.type: h
    for h in (ProjectHandler(), ManagedFolderHandler(), DatasetHandler(), RecipeHandler(), ScenarioHandler())
}
# Types observed inside a project, in the order their observation needs: folders first,
# so recipes and scenarios can translate folder ids to names.
PROJECT_CHILD_TYPES = ("managed_folder", "dataset", "recipe", "scenario")


def handler_for(type_: str) -> ResourceHandler:
    return HANDLERS[type_]


__all__ = ["HANDLERS", "PROJECT_CHILD_TYPES", "Observed", "ProjectContext", "ResourceHandler", "handler_for"]
