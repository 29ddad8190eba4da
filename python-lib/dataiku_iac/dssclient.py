"""The DSS client wrapper: client construction, error classification, retries.

dataikuapi has no timeout, no retry, and discards the HTTP status of errors (an error is
a `DataikuException("errorType: message")`). So:
- every client gets a default timeout (a hung DSS must not hang an apply forever);
- a response hook records the status of the last response per thread, which is how an
  error is classified as transient (429, 502, 503, 504, connection errors, timeouts) or
  not (everything else, 500 included: DSS answers 500 for real errors such as a missing
  code env);
- only idempotent calls are retried here. A create that failed ambiguously is not
  retried blindly: the executor first looks for the object (it may exist).

It sits below the engine and the state (it imports only `errors`): the engine, the state's
managed-folder backend and the project-library config source all talk to DSS through it.
"""

from __future__ import annotations

import os
import random
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Optional, TypeVar
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from dataiku_iac.errors import DssError, IacError, redact_secrets, redact_userinfo

T = TypeVar("T")
TRANSIENT_STATUSES = frozenset({408, 429, 502, 503, 504})


def default_timeout() -> float:
    """Seconds a DSS request may take: DATAIKU_IAC_HTTP_TIMEOUT, else 120. Read when a client
    is made, not at import (a process may set its environment after importing this module)."""
    return float(os.environ.get("DATAIKU_IAC_HTTP_TIMEOUT", "120"))


class _TimeoutAdapter(HTTPAdapter):
    def __init__(self, timeout: float):
        super().__init__()
        self._timeout = timeout

    def send(self, request: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self._timeout
        slots = getattr(_in_flight, "slots", None)
        if slots is None:
            return super().send(request, **kwargs)
        with slots:
            response = super().send(request, **kwargs)
            if not kwargs.get("stream"):
                # The body is read while the slot is held (requests would read it just after):
                # a slot is a request in flight, and decoding its answer is not. Its status is
                # known first, as when the response hook runs before the body is read.
                _last_status.value = response.status_code
                response.content  # noqa: B018
            return response


_in_flight = threading.local()


def hold_slots(slots: Optional[threading.Semaphore]) -> None:
    """From now on, each request this thread makes holds one of `slots` while it is in flight,
    from sending it to the end of its answer (None: no limit). Threads sharing `slots` have at
    most that many requests in flight together, however many they are: the observation's pool
    and the thread checking the remapped connections beside it (engine/observe.py)."""
    _in_flight.slots = slots


@contextmanager
def holding_slots(slots: Optional[threading.Semaphore]) -> Iterator[None]:
    """`hold_slots` for the requests this thread makes inside the block."""
    before = getattr(_in_flight, "slots", None)
    hold_slots(slots)
    try:
        yield
    finally:
        hold_slots(before)


_last_status = threading.local()


def _record_status(response: Any, *args: Any, **kwargs: Any) -> None:
    _last_status.value = response.status_code
    counter = getattr(_last_status, "counter", None)
    if counter is not None:
        counter.increment()


class RequestCounter:
    """Counts HTTP requests made by clients of one `DssConnection` (all threads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.count = 0

    def increment(self) -> None:
        with self._lock:
            self.count += 1


@dataclass(frozen=True)
class DssTarget:
    """Where DSS is and how to authenticate. `repr` never shows the key."""

    url: str
    api_key: str
    verify_tls: bool = True
    timeout: float = field(default_factory=default_timeout)
    key_source: str = ""  # where the key came from: the variable's name (never its value)

    def __repr__(self) -> str:
        return f"DssTarget(url={redact_userinfo(self.url)!r}, api_key=<redacted>)"

    def describe(self) -> str:
        """'Using DSS at https://… (key from DKU_API_KEY_PROD)': shown before the first request."""
        source = f" (key from {self.key_source})" if self.key_source else ""
        return f"Using DSS at {redact_userinfo(self.url)}{source}"


class DssConnection:
    """Hands out one dataikuapi client per thread (the client is not thread-safe).

    Built from a URL and API key (the CLI), or from a factory of ready clients (inside
    DSS: ``dataiku.api_client``, which authenticates as the running user).
    """

    def __init__(self, target: Optional[DssTarget] = None, *, factory: Optional[Callable[[], Any]] = None):
        if target is None and factory is None:
            raise ValueError("a DssConnection needs a target or a client factory")
        self.target = target
        self._factory = factory
        self.requests = RequestCounter()
        self._local = threading.local()

    def client(self) -> Any:
        client = getattr(self._local, "client", None)
        if client is None:
            client = self._new_client()
            self._local.client = client
        _last_status.counter = self.requests
        return client

    def _new_client(self) -> Any:
        if self._factory is not None:
            client = self._factory()
            timeout = default_timeout()
        else:
            from dataikuapi import DSSClient

            assert self.target is not None
            client = DSSClient(self.target.url.rstrip("/"), api_key=self.target.api_key)
            client._session.verify = self.target.verify_tls
            timeout = self.target.timeout
        session = client._session
        adapter = _TimeoutAdapter(timeout)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        session.hooks.setdefault("response", []).append(_record_status)
        session.merge_environment_settings = _EnvironmentSettings(session)
        return client


def last_status() -> Optional[int]:
    """The HTTP status of this thread's last answer from DSS (None before any): what a handler
    checks when the client raised, to tell a 404 from another failure (dataikuapi drops it)."""
    status = getattr(_last_status, "value", None)
    return status if isinstance(status, int) else None


class _EnvironmentSettings:
    """`Session.merge_environment_settings`, worked out once per DSS URL and arguments.

    requests reads the proxy variables (every one of os.environ, through urllib's getproxies,
    twice) and the CA-bundle variables on every request: at a first apply of 1,000 resources
    about 0.2 ms of the client's 1.1-1.6 ms of CPU per request. A connection serves one command,
    whose environment does not change, and every request goes to the same DSS: the answer for
    the same URL scheme and host, the same arguments and the same session settings is the same.
    Redirects are untouched (requests resolves their proxies itself).
    """

    def __init__(self, session: Any) -> None:
        self._session = session
        self._merge = session.merge_environment_settings
        self._known: dict[Any, dict[str, Any]] = {}

    def __call__(self, url: str, proxies: Any, stream: Any, verify: Any, cert: Any) -> dict[str, Any]:
        session = self._session
        if proxies or not session.trust_env:
            return self._merge(url, proxies, stream, verify, cert)
        scheme, netloc = urlsplit(url)[:2]
        key = (scheme, netloc, stream, verify, cert, session.stream, session.verify, session.cert,
               tuple(sorted(session.proxies.items())))
        try:
            known = self._known.get(key)
        except TypeError:  # an unhashable argument (a dict of certificates...): not cached
            return self._merge(url, proxies, stream, verify, cert)
        if known is None:
            known = self._known[key] = self._merge(url, {} if proxies is None else proxies, stream, verify, cert)
        return {**known, "proxies": dict(known["proxies"])}


def classify(exc: BaseException) -> DssError:
    """Turn whatever the client raised into a DssError with a `transient` flag."""
    if isinstance(exc, DssError):
        return exc
    status = getattr(_last_status, "value", None)
    if isinstance(exc, (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)):
        return DssError(f"DSS unreachable: {type(exc).__name__}: {_short(exc)}", transient=True)
    message = _short(exc)
    error_type = message.split(":", 1)[0] if ":" in message else ""
    transient = status in TRANSIENT_STATUSES
    if isinstance(exc, ValueError) and "Expecting value" in message:
        transient = transient or (status is not None and status >= 500)
    if (isinstance(exc, ValueError) and "Expecting value" in message) or message.startswith("Unknown error: <"):
        # Not a JSON answer (dataikuapi says "Unknown error: <html>…" for an error page): a proxy,
        # a login page or another server, not DSS's API.
        return DssError(
            f"the server did not answer as DSS does (HTTP {status if status is not None else '?'}, not JSON): check "
            "that DKU_DSS_URL (or dss.url) is the base URL of DSS, e.g. https://dss.example.com:11200",
            transient=transient,
        )
    return DssError(f"DSS error: {message}", error_type=error_type, transient=transient)


def may_still_run(exc: BaseException) -> bool:
    """True if the failed request may still be carried out by DSS after the client saw the error:
    the client stopped waiting (read timeout, connection dropped after sending) or a gateway
    answered in DSS's place (502, 504). A failed connect never reached DSS."""
    if isinstance(exc, requests.ConnectTimeout):
        return False
    if isinstance(exc, (requests.Timeout, requests.ConnectionError, requests.exceptions.ChunkedEncodingError)):
        return True
    return getattr(_last_status, "value", None) in (502, 504)


def refused(exc: BaseException) -> bool:
    """True if DSS answered the failed request with a client error (4xx but 408 and 429): it refused
    the request, which changed nothing. Anything else (no answer, a timeout, a server or gateway
    error) may hide a change DSS made. Call it before any other request of the thread."""
    if isinstance(exc, (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)):
        return False
    status = getattr(_last_status, "value", None)
    return isinstance(status, int) and 400 <= status < 500 and status not in TRANSIENT_STATUSES


def _short(exc: BaseException) -> str:
    text = redact_userinfo(redact_secrets(str(exc).strip().replace("\n", " ")))
    return text if len(text) <= 500 else text[:500] + "…"


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    base_delay: float = 0.2
    max_delay: float = 5.0

    def delays(self) -> list[float]:
        return [min(self.max_delay, self.base_delay * (2**i)) * (0.5 + random.random() / 2) for i in range(self.attempts - 1)]


def with_retries(
    fn: Callable[[], T],
    *,
    policy: RetryPolicy = RetryPolicy(),
    on_retry: Optional[Callable[[DssError, int], None]] = None,
    should_stop: Optional[Callable[[], bool]] = None,
) -> T:
    """Run an idempotent DSS call, retrying transient failures with jittered backoff."""
    delays = policy.delays()
    for attempt in range(policy.attempts):
        try:
            return fn()
        except IacError:
            raise
        except Exception as exc:  # dataikuapi raises plain exceptions; classify them
            error = classify(exc)
            if not error.transient or attempt == policy.attempts - 1 or (should_stop and should_stop()):
                raise error from None
            if on_retry:
                on_retry(error, attempt + 1)
            time.sleep(delays[attempt])
    raise AssertionError("unreachable")
