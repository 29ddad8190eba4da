"""Who is calling, and what they may do on a project.

Credentials: Basic (API key as user name), ``X-DKU-APITicket`` (treated like a key) or Bearer.
Admin keys may act as another user with ``X-DKU-ProxyUser``. Non-admin callers get project rights from
the project's owner and permission rows (by user or by one of their groups).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from . import errors
from .store import Store

READ, WRITE, ADMIN, RUN = "read", "write", "admin", "run"
# Reading the project's dashboards and the insights they show: `readProjectContent` or
# `readDashboards` alone (a dashboard-only reader, who sees nothing else of the project).
DASHBOARDS = "dashboards"


@dataclass
class Caller:
    login: str
    groups: List[str] = field(default_factory=list)
    admin: bool = False
    api_key: str = ""
    key_id: str = ""

    @property
    def identity(self) -> str:
        """What DSS writes in versionTag.lastModifiedBy.login."""
        return self.login


def _credential(headers: Any) -> Optional[str]:
    auth = headers.get("Authorization", "")
    if auth.startswith("Basic "):
        try:
            decoded = base64.b64decode(auth[6:].strip()).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return ""
        return decoded.split(":", 1)[0]
    if auth.startswith("Bearer "):
        return auth[7:].strip()
    ticket = headers.get("X-DKU-APITicket")
    return ticket if ticket is not None else None


def caller_for_key(store: Store, key: str) -> Caller:
    doc = store.api_keys.get(key) or store.tickets.get(key)
    if doc is None:
        raise errors.not_authenticated("Unknown API Key")
    login = doc.get("login") or "api:{}".format(doc["id"])
    groups = list(doc.get("groups") or [])
    user = store.users.get(login)
    if user:
        groups = sorted(set(groups) | set(user.get("groups") or []))
    admin = bool(doc.get("admin")) or any(store.groups.get(g, {}).get("admin") for g in groups)
    return Caller(login=login, groups=groups, admin=admin, api_key=key, key_id=doc["id"])


def authenticate(store: Store, headers: Any) -> Caller:
    key = _credential(headers)
    if not key:
        raise errors.not_authenticated("No API key or ticket provided: you are not authenticated")
    caller = caller_for_key(store, key)
    proxy = headers.get("X-DKU-ProxyUser")
    if proxy:
        if not caller.admin:
            raise errors.forbidden("Impersonation (X-DKU-ProxyUser) requires an admin API key")
        user = store.users.get(proxy)
        if user is None:
            raise errors.not_found(f"User '{proxy}' does not exist")
        groups = list(user.get("groups") or [])
        admin = any(store.groups.get(g, {}).get("admin") for g in groups)
        caller = Caller(login=proxy, groups=groups, admin=admin, api_key=caller.api_key, key_id=caller.key_id)
    return caller


def project_rights(params: Dict[str, Any], caller: Caller) -> Dict[str, bool]:
    """Effective flags of ``caller`` on a project (admins and the owner have every right)."""
    if caller.admin or params.get("owner") == caller.login:
        return {"read": True, "write": True, "admin": True, "run": True, DASHBOARDS: True}
    rights = {"read": False, "write": False, "admin": False, "run": False, DASHBOARDS: False}
    for row in params.get("permissions") or []:
        applies = row.get("user") == caller.login or (row.get("group") in caller.groups)
        if not applies:
            continue
        if row.get("admin"):
            return {"read": True, "write": True, "admin": True, "run": True, DASHBOARDS: True}
        if row.get("writeProjectContent"):
            rights.update(read=True, write=True, run=True, dashboards=True)
        if row.get("readProjectContent"):
            rights.update(read=True, dashboards=True)
        if row.get("readDashboards"):
            rights[DASHBOARDS] = True
        if row.get("runScenarios"):
            rights.update(run=True)
    return rights


def check_project(params: Dict[str, Any], caller: Caller, need: str, project_key: str) -> None:
    rights = project_rights(params, caller)
    if need == DASHBOARDS:
        if not rights[DASHBOARDS]:
            raise errors.project_unreadable()
        return
    if not rights[READ]:
        # DSS answers the same for an invisible project as for a missing one.
        raise errors.project_unreadable()
    if need != READ and not rights[need]:
        raise errors.forbidden(f"You do not have the '{need}' permission on project {project_key}")


def may_create_projects(store: Store, caller: Caller) -> bool:
    return caller.admin or any(store.groups.get(g, {}).get("mayCreateProjects") for g in caller.groups)


def require_admin(caller: Caller) -> None:
    if not caller.admin:
        raise errors.forbidden("Action forbidden: you are not an administrator of this DSS instance")
