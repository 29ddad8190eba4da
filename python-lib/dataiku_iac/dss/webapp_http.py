"""HTTP plumbing of the console backend: who is calling, request guards, and safe error bodies.

Kept apart from the routes so the security rules are in one short file:
- the caller is whoever DSS says the browser session belongs to (never a name the page sends);
- state-changing calls must come from the console's own script (a custom header + JSON body,
  which a cross-site form or image cannot produce);
- every failure becomes `{"error": {"kind", "message"}}` with a message written for users;
  unexpected exceptions are logged with their traceback and answered with a reference only.
"""

from __future__ import annotations

import logging
import secrets as _secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Optional, Union

from dataiku_iac.dss.user_secrets import DssUserSecrets, for_browser_user
from dataiku_iac.errors import (
    ConfigError,
    DssError,
    IacError,
    LockError,
    PlanError,
    StalePlanError,
    StateConflictError,
    StateError,
    UnsafeOperationError,
)
from dataiku_iac.planner.plan import REDACTED

if TYPE_CHECKING:
    from werkzeug.datastructures import Headers

    # A request's headers (werkzeug's are case-insensitive) or a plain mapping (tests).
    HeaderSource = Union[Mapping[str, str], Headers]

log = logging.getLogger("dataiku_iac.webapp")

CLIENT_HEADER = "X-Requested-With"
CLIENT_HEADER_VALUE = "dataiku-iac-console"


class ApiError(Exception):
    """An answer for the user: HTTP status, a short kind and a message safe to show."""

    status = 400
    kind = "BadRequest"

    def __init__(
        self,
        message: str,
        *,
        status: Optional[int] = None,
        kind: Optional[str] = None,
        extra: Optional[dict] = None,
    ):
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        if kind is not None:
            self.kind = kind
        self.extra = extra or {}


class NotAuthenticated(ApiError):
    status, kind = 401, "NotAuthenticated"


class Forbidden(ApiError):
    status, kind = 403, "Forbidden"


class NotFound(ApiError):
    status, kind = 404, "NotFound"


class Conflict(ApiError):
    status, kind = 409, "Conflict"


@dataclass(frozen=True)
class Caller:
    """The DSS user behind the browser, as DSS itself reports it. `admin` is None when DSS did
    not say; the service layer then decides from the user's groups (failing closed).
    `secrets`: that user's DSS user secrets (read on first use), what `{secret_env: NAME}`
    resolves from for them: never the backend's process environment."""

    login: str
    groups: tuple[str, ...]
    admin: Optional[bool] = None
    display_name: str = ""
    secrets: Optional[DssUserSecrets] = field(default=None, compare=False, repr=False)

    def to_json(self) -> dict:
        return {
            "login": self.login,
            "display_name": self.display_name or self.login,
            "groups": list(self.groups),
            "admin": self.admin,
        }


def identify(client_factory: Callable[[], Any], headers: HeaderSource) -> Caller:
    """Ask DSS who the browser session belongs to (`POST /auth/info-from-browser-headers`)."""
    try:
        info = client_factory().get_auth_info_from_browser_headers(dict(headers))
    except Exception as exc:
        log.info("browser identity refused by DSS: %s", type(exc).__name__)
        raise NotAuthenticated(
            "DSS did not recognise your session. Reload the page or log in to DSS again."
        ) from None
    login = info.get("associatedDSSUser") or info.get("authIdentifier")
    if not isinstance(login, str) or not login:
        raise NotAuthenticated(
            "DSS did not return a user for your session. Reload the page or log in to DSS again."
        )
    groups = tuple(g for g in info.get("groups") or [] if isinstance(g, str))
    admin = info.get("admin")
    return Caller(
        login,
        groups,
        admin if isinstance(admin, bool) else None,
        str(info.get("displayName") or login),
        for_browser_user(client_factory, dict(headers), login),
    )


def check_client_request(method: str, headers: HeaderSource) -> None:

    """Refuse calls not made by the console's script: cheap, effective CSRF protection.

    A cross-site page can make the browser send cookies with a form post or an image, but it
    cannot add a custom header or a JSON content type without a CORS preflight, which this
    backend never grants.
    """
    if headers.get(CLIENT_HEADER) != CLIENT_HEADER_VALUE:
        raise Forbidden("This endpoint only answers the IaC console page.")
    if method in ("POST", "PUT", "DELETE") and not (headers.get("Content-Type") or "").startswith(
        "application/json"
    ):
        raise ApiError(
            "Send a JSON body (Content-Type: application/json).", status=415, kind="UnsupportedMediaType"
        )


# -- mapping exceptions to answers -------------------------------------------------------------

_IAC_STATUS: tuple[tuple[type, int], ...] = (
    (ConfigError, 400),
    (StalePlanError, 409),
    (UnsafeOperationError, 409),
    (PlanError, 409),
    (LockError, 409),
    (StateConflictError, 409),
    (StateError, 500),
    (DssError, 502),
    (IacError, 400),
)


def error_body(kind: str, message: str, **extra: Any) -> dict:
    return {"error": {"kind": kind, "message": message, **extra}}


def answer_for(exc: BaseException, *, scrub: Callable[[Any], Any] = lambda v: v) -> tuple[dict, int]:
    """The JSON body and status for any exception. Only our own errors carry their message out."""
    if isinstance(exc, ApiError):
        return scrub(error_body(exc.kind, exc.message, **exc.extra)), exc.status
    if isinstance(exc, IacError):
        # IacError messages are written to be shown (errors.py: no secret ever goes into one).
        status = next(code for cls, code in _IAC_STATUS if isinstance(exc, cls))
        extra: dict = {}
        if isinstance(exc, ConfigError):
            extra["diagnostics"] = [d.to_json() for d in exc.diagnostics][:50]
        if isinstance(exc, LockError) and exc.holder:
            extra["holder"] = {k: exc.holder.get(k) for k in ("id", "who", "operation", "created", "expires")}
        return scrub(error_body(type(exc).__name__, str(exc), **extra)), status
    reference = _secrets.token_hex(4)
    log.error("unexpected error in the IaC console backend (reference %s)", reference, exc_info=exc)
    message = f"The console backend hit an unexpected error (reference {reference}); the details are in the webapp backend log."
    return error_body("InternalError", message), 500


def make_scrubber(secret_values: Iterable[str]) -> Callable[[Any], Any]:
    """Defence in depth: replace any known secret value found anywhere in a response.

    The engine already redacts secrets before they reach a plan, a drift report or an error;
    this catches a regression before it reaches a browser. Very short values are skipped: they
    would mangle unrelated text and cannot be secrets worth the name.
    """
    values = sorted({v for v in secret_values if isinstance(v, str) and len(v) >= 6}, key=len, reverse=True)
    if not values:
        return lambda payload: payload

    def scrub(payload: Any) -> Any:
        if isinstance(payload, str):
            for value in values:
                if value in payload:
                    payload = payload.replace(value, REDACTED)
            return payload
        if isinstance(payload, dict):
            return {scrub(k): scrub(v) for k, v in payload.items()}
        if isinstance(payload, (list, tuple)):
            return [scrub(v) for v in payload]
        return payload

    return scrub
