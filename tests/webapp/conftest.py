"""Fixtures of the console tests: the world in the emulator, the backend as DSS builds it."""

from __future__ import annotations

import json
from typing import Any, Iterator, Optional

import pytest

from tests.webapp.console_setup import CANARY, CANARY_ENV, OPS_PROJECT, RUNAS_KEY, World, build_world
from tests.webapp.harness import CLIENT_HEADERS, load_backend

WEBAPP_CONFIG = {
    "source_kind": "library",
    "library_path": "iac",
    "environment": "dev",
    "environments": ["dev", "prod"],
}


@pytest.fixture
def world(dss: Any) -> World:
    return build_world(dss)


@pytest.fixture
def backend_factory(dss: Any, world: World, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Build backends with given webapp settings (the secret canary is in the backend's env)."""
    import dataiku

    monkeypatch.setenv(CANARY_ENV, CANARY)
    monkeypatch.delenv("DKU_CUSTOM_WEBAPP_CONFIG", raising=False)
    monkeypatch.delenv("DKU_CURRENT_PROJECT_KEY", raising=False)

    def make(config: Optional[dict] = None) -> Any:
        return load_backend(
            dict(config or WEBAPP_CONFIG), dss_url=dss.url, run_as_key=RUNAS_KEY, project_key=OPS_PROJECT
        )

    yield make
    dataiku._remote.clear()


@pytest.fixture
def backend(backend_factory: Any) -> Any:
    return backend_factory()


class Api:
    """Calls the backend as the console page does, in the name of one browser session."""

    def __init__(self, app: Any, user: Optional[str]):
        self.client = app.test_client()
        self.user = user
        if user:
            # The emulator's stand-in for DSS's session cookie (docs/emulator.md).
            self.client.set_cookie("dss_emulator_user", user)
        self.responses: list[str] = []  # every body seen, for leak checks

    def headers(self, extra: Optional[dict] = None) -> dict:
        headers = dict(CLIENT_HEADERS)
        headers.update(extra or {})
        return headers

    def get(self, path: str, **kw: Any) -> Any:
        return self._keep(self.client.get(path, headers=self.headers(kw.pop("headers", None)), **kw))

    def post(self, path: str, body: Any = None, **kw: Any) -> Any:
        return self._keep(
            self.client.post(path, json=body, headers=self.headers(kw.pop("headers", None)), **kw)
        )

    def _keep(self, response: Any) -> Any:
        self.responses.append(response.get_data(as_text=True))
        return response

    def seen(self) -> str:
        return "\n".join(self.responses)


@pytest.fixture
def as_user(backend: Any) -> Any:
    made: list[Api] = []

    def make(user: Optional[str]) -> Api:
        api = Api(backend, user)
        made.append(api)
        return api

    make.all = made  # type: ignore[attr-defined]
    return make


def error_of(response: Any) -> dict:
    body = json.loads(response.get_data(as_text=True))
    assert set(body) == {"error"}, body
    return body["error"]
