"""Inside DSS, `{secret_env: NAME}` reads the calling user's DSS user secret NAME.

Never the process environment: inside DSS that environment belongs to DSS, to a webapp
backend's run-as user or to a code env, and may hold their API keys (a project admin once
wrote a console backend's admin key into her own project with `{secret_env: DKU_API_KEY}`).
DSS user secrets are personal: each user sets their own (*Profile > My account > Other
credentials*), DSS keeps them encrypted, and only code running as that user can read them.

- In a macro, a scenario step or a recipe, the client acts as the user running it:
  `get_auth_info(with_secrets=True)` (`for_client_user`).
- In the console's backend, the client is the webapp's run-as user; the browsing user's
  secrets come from `get_auth_info_from_browser_headers(headers, with_secrets=True)`
  (`for_browser_user`).

The secrets are read once, on first use (a configuration without `secret_env` never asks),
and only if DSS says they belong to the expected user: a mix-up of identities fails closed.
"""

from __future__ import annotations

import threading
from typing import Any, Callable, Mapping, Optional

from dataiku_iac.errors import IacError, remember_secret

#: where a DSS user sets a user secret (DSS's own words, doc security/user-secrets)
WHERE_TO_SET = "in DSS, your profile > My account > Other credentials"
ClientFactory = Callable[[], Any]


class UserSecretsError(IacError):
    """The calling user's DSS user secrets could not be read (or belong to someone else)."""


class DssUserSecrets:
    """The DSS user secrets of one user, as a `SecretSource` for the engine Session."""

    def __init__(self, read_auth_info: Callable[[], Mapping[str, Any]], login: Optional[str]):
        self._read = read_auth_info
        self.login = login  # None: whoever the client is (checked against nothing)
        self._values: Optional[dict[str, str]] = None
        self._lock = threading.Lock()

    def get(self, name: str) -> Optional[str]:
        value = self._load().get(name)
        remember_secret(value)  # never in a message (errors.remember_secret)
        return value

    def missing(self, name: str) -> str:
        who = f" of DSS user {self.login}" if self.login else ""
        return (
            f"the DSS user secret {name!r}{who}, which is not set (inside DSS, secret_env reads the "
            f"user secrets of the person running the plan, never the server's environment): add a "
            f"secret named {name} {WHERE_TO_SET}"
        )

    def values(self) -> list[str]:
        """The values read so far (for scrubbing answers); none if nothing asked for a secret."""
        with self._lock:
            return list((self._values or {}).values())

    def __repr__(self) -> str:
        return f"DssUserSecrets(login={self.login!r}, <values hidden>)"

    def _load(self) -> dict[str, str]:
        with self._lock:
            if self._values is None:
                self._values = self._fetch()
            return self._values

    def _fetch(self) -> dict[str, str]:
        try:
            info = self._read()
        except Exception as exc:  # the client's message may quote the request, never a secret
            raise UserSecretsError(
                f"cannot read the DSS user secrets of {self.login or 'the calling user'} "
                f"({type(exc).__name__}); an administrator may have hidden them from plugins"
            ) from None
        owner = info.get("associatedDSSUser") or info.get("authIdentifier")
        if self.login is not None and owner != self.login:
            raise UserSecretsError(
                f"DSS returned the user secrets of {owner!r}, not of the caller {self.login!r}: refusing to use them"
            )
        found: dict[str, str] = {}
        for item in info.get("secrets") or []:
            name = item.get("key") or item.get("name")  # auth info says "key", user settings "name"
            value = item.get("value")
            if isinstance(name, str) and isinstance(value, str):
                found[name] = value
        return found


def for_client_user(client_factory: ClientFactory, login: Optional[str] = None) -> DssUserSecrets:
    """The secrets of the user the client acts as (a macro, a step, the recipe: the caller)."""
    return DssUserSecrets(lambda: client_factory().get_auth_info(with_secrets=True), login)


def for_browser_user(client_factory: ClientFactory, headers: Mapping[str, str], login: str) -> DssUserSecrets:
    """The secrets of the user browsing a webapp (never the backend's run-as user)."""
    copied = dict(headers)
    return DssUserSecrets(
        lambda: client_factory().get_auth_info_from_browser_headers(copied, with_secrets=True), login
    )
