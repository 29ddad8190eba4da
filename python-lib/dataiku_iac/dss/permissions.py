"""Who may do what from inside DSS: the caller's identity and the plugin's authorisation rules.

The service layer (dss/service.py) checks every operation here before it runs. Rules are
checked against the person asking (`Caller`: from `current_caller` in a macro or a step, from
`caller_from_browser_headers` in a webapp backend), never against the plugin's or the webapp's
run-as identity (confused-deputy safe), and fail closed: whatever DSS does not confirm is a no.

- read actions (plan, drift, state list/history, validate) pass here: DSS checks read access
  through the caller's own client; `check_read_access` is for clients that are not the caller's;
- test passes here too: a test run only creates and deletes its own projects, with the
  caller's client, so DSS checks that the caller may create projects;
- apply, destroy, import: DSS administrators, or administrators of every project touched;
- state unlock, rollback, restore: DSS administrators only;
- changing a state (its lock, journal and serials): `check_state_write`.
docs/plugin.md and docs/security.md describe the model.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Optional

from dataiku_iac.errors import IacError
from dataiku_iac.state.backends.managed_folder import ManagedFolderBlobStore

if TYPE_CHECKING:
    from dataiku_iac.engine.session import Session

ClientFactory = Callable[[], Any]

#: actions that change DSS or the state, and so need `check_permission` to pass
MUTATING_ACTIONS = ("apply", "destroy", "import")
#: actions reserved to DSS administrators (state repair; reliability-anchors §5.4)
ADMIN_ACTIONS = ("state_unlock", "state_rollback", "state_restore")
READ_ACTIONS = ("plan", "drift", "state_list", "state_history", "validate", "graph")
#: running the tests: the run creates its own projects (suffixed keys) in an ephemeral environment
#: with the caller's client, so DSS itself decides whether the caller may create projects; it
#: never changes the environment's projects or state (docs/testing.md, "Inside DSS")
TEST_ACTIONS = ("test",)


class PermissionDenied(IacError):
    """The caller may not perform this action on these projects."""


# -- identity ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Caller:
    """Who is asking. `admin` is None when DSS did not say (then group definitions decide)."""

    login: str
    groups: tuple = ()
    admin: Optional[bool] = None

    @classmethod
    def from_auth_info(cls, info: Mapping[str, Any]) -> Caller:
        login = info.get("associatedDSSUser") or info.get("authIdentifier")
        if not login:
            raise PermissionDenied("DSS did not identify the caller (no authIdentifier in the auth info)")
        admin = info.get("admin")
        return cls(str(login), tuple(sorted(info.get("groups") or ())), admin if isinstance(admin, bool) else None)


def current_caller(client_factory: ClientFactory) -> Caller:
    """The user the client acts as: in an impersonated macro or a step, the person running it."""
    return Caller.from_auth_info(client_factory().get_auth_info())


def caller_from_browser_headers(client_factory: ClientFactory, headers: Mapping[str, str]) -> Caller:
    """The browsing user of a webapp request (never the backend's run-as user)."""
    return Caller.from_auth_info(client_factory().get_auth_info_from_browser_headers(dict(headers)))


def is_admin(client_factory: ClientFactory, caller: Caller) -> bool:
    """Whether the caller is a DSS administrator. Fails closed: unknown means no."""
    if caller.admin is not None:
        return caller.admin
    client = client_factory()
    for group in caller.groups:
        with contextlib.suppress(Exception):  # a non-admin client cannot read groups: not admin
            if client.get_group(group).get_definition().get("admin"):
                return True
    return False


def is_project_admin(client_factory: ClientFactory, caller: Caller, project_key: str) -> bool:
    """Whether the caller owns the project or holds its ADMIN permission (user or group row).

    Reading a project's permissions needs admin rights on it, so a client that cannot read
    them (or a project that does not exist yet) answers no.
    """
    return _has_project_flag(client_factory, caller, project_key, ("admin",))


#: DSS project permission flags that let a user read the project's content
READ_FLAGS = ("admin", "readProjectContent", "writeProjectContent")


def can_read_project(client_factory: ClientFactory, caller: Caller, project_key: str) -> bool:
    """Whether the caller owns the project or holds a permission row (user or group) granting
    read, write or admin on its content. Fails closed: unreadable permissions answer no."""
    return _has_project_flag(client_factory, caller, project_key, READ_FLAGS)


#: DSS project permission flags that let a user change the project's content (and so a state
#: kept in one of its managed folders: its lock dataset, journal and serials)
WRITE_FLAGS = ("admin", "writeProjectContent")


def _has_project_flag(client_factory: ClientFactory, caller: Caller, project_key: str, flags: tuple) -> bool:
    try:
        perms = client_factory().get_project(project_key).get_permissions()
    except Exception:
        return False
    if perms.get("owner") == caller.login:
        return True
    for row in perms.get("permissions") or []:
        applies = row.get("user") == caller.login or (row.get("group") and row.get("group") in caller.groups)
        if applies and any(row.get(flag) for flag in flags):
            return True
    return False


def check_state_write(client_factory: ClientFactory, caller: Caller, session: Session) -> None:
    """Raise PermissionDenied unless `caller` may change the state of `session`'s environment
    (take its lock, write its journal and serials). Checked before the lock is taken.

    Needed where the client is not the caller (the console's backend runs as its run-as user,
    for whom DSS would accept the writes): a user who may only read the state project must
    never lock or write its state. A state kept in a managed folder needs write access on its
    project; any other backend is written with the DSS server's own credentials, so only DSS
    administrators may change it from inside DSS.
    """
    if is_admin(client_factory, caller):
        return
    env = session.environment
    store = session.state_writer().store
    if not isinstance(store, ManagedFolderBlobStore):
        raise PermissionDenied(
            f"{caller.login} may not change the state of environment {env!r}: it is kept in a "
            f"{session.state_spec().get('backend')!r} backend, which DSS writes with the server's own credentials, so "
            f"only DSS administrators may; keep the state in a managed folder to let project members apply"
        )
    project_key = store.project_key
    if not _has_project_flag(client_factory, caller, project_key, WRITE_FLAGS):
        raise PermissionDenied(
            f"{caller.login} may not change the state of environment {env!r}: it is kept in project "
            f"{project_key}, where {caller.login} may at most read (applying takes the state's lock and "
            f"writes it); ask an administrator of {project_key} for write access"
        )


def check_read_access(client_factory: ClientFactory, caller: Caller, project_keys: Iterable[str]) -> None:
    """Raise PermissionDenied unless `caller` may read every existing project in `project_keys`.

    For code whose client does not act as the caller (a webapp backend runs as its run-as
    user), so DSS cannot check read access for us. A project that does not exist yet (or
    that the client cannot see) holds nothing the client could reveal, so it passes.
    """
    keys = sorted(set(project_keys))
    if not keys or is_admin(client_factory, caller):
        return
    visible = set(client_factory().list_project_keys())
    unreadable = [k for k in keys if k in visible and not can_read_project(client_factory, caller, k)]
    if unreadable:
        raise PermissionDenied(f"{caller.login} may not read project(s) {', '.join(unreadable)}")


def check_permission(client_factory: ClientFactory, caller: Caller, action: str, project_keys: Iterable[str]) -> None:
    """Raise PermissionDenied unless `caller` may perform `action` on every project in
    `project_keys` (effective DSS keys).

    - read actions (plan, drift, state_list, state_history, validate, graph) and test: allowed here;
      DSS itself checks read access (and, for a test run, the right to create projects)
      through the caller's client;
    - apply, destroy, import: DSS administrators, or users who are project admins (owner or
      ADMIN permission) of EVERY project touched; a project that does not exist yet can only
      be created by an administrator;
    - state_unlock, state_rollback, state_restore: DSS administrators only.
    """
    keys = sorted(set(project_keys))
    if action in READ_ACTIONS + TEST_ACTIONS:
        return
    if action not in MUTATING_ACTIONS + ADMIN_ACTIONS:
        raise PermissionDenied(f"unknown action {action!r}")
    if is_admin(client_factory, caller):
        return
    if action in ADMIN_ACTIONS:
        raise PermissionDenied(f"{caller.login} may not {action.replace('_', ' ')}: only DSS administrators may")
    missing = [k for k in keys if not is_project_admin(client_factory, caller, k)]
    if missing:
        raise PermissionDenied(
            f"{caller.login} may not {action}: it touches project(s) {', '.join(missing)} of which "
            f"{caller.login} is not a project administrator (and {caller.login} is not a DSS administrator)"
        )
