"""The emulator as route handlers see it: ``ctx.app`` is an ``App``.

Routes (and the scenario runner, and the macro code they share) use these operations and nothing
else of the ``Emulator``: the store, the in-memory runtime (futures, jobs, macro runs, project
folders), scenario runs, how to run plugin code, and the behaviour switches. mypy checks both
sides: handlers against this protocol, ``Emulator`` against it where it hands itself over
(``Ctx``, ``ScenarioEngine``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Optional, Protocol

from .auth import Caller
from .runtime import Runtime
from .store import ProjectData, Store


@dataclass
class PluginCode:
    """How plugin code (macros, scenario steps) is run: a subprocess importing the stand-in."""

    dataiku_stand_in: Optional[str]  # the directory holding the `dataiku` stand-in; None: cannot run code
    public_url: Optional[str]  # the emulator's URL (the code's DKU_DSS_URL), set once the server listens
    timeout: float  # seconds before the subprocess is killed


class ScenarioRuns(Protocol):
    def is_running(self, proj: ProjectData, sid: str) -> bool: ...

    def fire(self, proj: ProjectData, sid: str, params: Dict[str, Any], caller: Caller) -> Dict[str, Any]:
        """Start a run (called under the store lock); DSS's trigger-fire document."""
        ...

    def fire_for(self, trigger_run_id: str) -> Optional[Dict[str, Any]]: ...

    def abort(self, proj: ProjectData, sid: str) -> None: ...


class App(Protocol):
    @property
    def store(self) -> Store:
        """The DSS configuration (projects, instance); handlers of locked routes already hold its lock."""
        ...

    @property
    def runtime(self) -> Runtime:
        """What DSS keeps in memory only: futures, jobs, macro runs, project folders."""
        ...

    @property
    def scenarios(self) -> ScenarioRuns: ...

    @property
    def plugin_code(self) -> PluginCode: ...

    def behaviour(self, name: str) -> str:
        """The value of a behaviour switch (docs/emulator.md, "Behaviour switches")."""
        ...

    @property
    def govern_node(self) -> Dict[str, Any]:
        """The Govern integration settings (`/admin/get-govern-node-ref`): enabled, nodeUrl, apiKey."""
        ...
