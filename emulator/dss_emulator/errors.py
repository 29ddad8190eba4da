"""DSS's error envelope and the error types the emulator raises.

dataikuapi turns any status >= 400 into ``DataikuException("<errorType>: <detailedMessage>")`` and drops
the status, so the errorType strings are the contract; statuses are our best guess (docs/emulator.md).
"""

from __future__ import annotations

from typing import Any, Dict, Optional

NOT_FOUND = "com.dataiku.dip.server.controllers.NotFoundException"
UNAUTHORIZED = "com.dataiku.dip.exceptions.UnauthorizedException"
NOT_AUTHENTICATED = "com.dataiku.dip.exceptions.NotAuthenticatedException"
ILLEGAL_ARGUMENT = "java.lang.IllegalArgumentException"
ILLEGAL_STATE = "java.lang.IllegalStateException"
CODED_IO = "com.dataiku.dip.exceptions.CodedIOException"
JSON_SYNTAX = "com.google.gson.JsonSyntaxException"
INJECTED = "com.dataiku.dip.emulator.InjectedFault"


class DSSError(Exception):
    """An error answered with DSS's envelope ``{errorType, message, detailedMessage}``."""

    def __init__(self, status: int, error_type: str, message: str, detailed: Optional[str] = None) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.message = message
        self.detailed = detailed if detailed is not None else message

    def envelope(self) -> Dict[str, Any]:
        return {"errorType": self.error_type, "message": self.message, "detailedMessage": self.detailed}


def not_found(message: str) -> DSSError:
    return DSSError(404, NOT_FOUND, message)


def project_unreadable() -> DSSError:
    # Verified on DSS 14.6 by a third party: unknown and inaccessible projects answer the same way, 401.
    return DSSError(401, UNAUTHORIZED, "Failed to read project permissions")


def forbidden(message: str) -> DSSError:
    return DSSError(403, UNAUTHORIZED, message)


def bad_request(message: str) -> DSSError:
    return DSSError(400, ILLEGAL_ARGUMENT, message)


def already_exists(message: str) -> DSSError:
    return DSSError(409, ILLEGAL_ARGUMENT, message)


def unknown_connection(name: Any) -> DSSError:
    return DSSError(400, ILLEGAL_ARGUMENT, f"Connection '{name}' does not exist")


def unknown_code_env(lang: str, name: Any) -> DSSError:
    return DSSError(500, CODED_IO, f"{lang.upper()} env {name} doesn't exist")


def not_authenticated(message: str = "Unknown API Key") -> DSSError:
    return DSSError(401, NOT_AUTHENTICATED, message)


def invalid_json(detail: str) -> DSSError:
    return DSSError(400, JSON_SYNTAX, f"Invalid JSON body: {detail}")
