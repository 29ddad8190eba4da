"""An emulator of a Dataiku Govern node: the public API endpoints dataikuapi's GovernClient
calls for artifacts, blueprints, sign-offs and search (docs/emulator.md, "Govern")."""

from .server import GovernEmulator, GovernServer
from .store import DEFAULT_GOVERN_ADMIN_KEY

__all__ = ["DEFAULT_GOVERN_ADMIN_KEY", "GovernEmulator", "GovernServer"]
