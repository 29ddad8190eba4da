"""The DSS client works out requests' environment settings (proxies, CA bundle) once per DSS URL,
not on every request, with the same answer requests gives."""

from __future__ import annotations

import requests
from dataiku_iac.dssclient import DssConnection, DssTarget

URLS = [
    "https://dss.example.com:11200/dip/publicapi/projects/",
    "https://dss.example.com:11200/dip/publicapi/projects/P/datasets/",
    "http://dss.example.com:11200/dip/publicapi/projects/",
    "https://internal.corp/dip/publicapi/projects/",
]


def _settings(session: requests.Session, url: str) -> dict:
    return session.merge_environment_settings(url, {}, False, session.verify, None)


def test_same_answer_as_requests_read_once_per_url(monkeypatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.corp:3128")
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.corp:3129")
    monkeypatch.setenv("NO_PROXY", "internal.corp")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/corp.pem")
    session = DssConnection(DssTarget("https://dss.example.com:11200", "key")).client()._session
    plain = requests.Session()
    for url in URLS:
        assert _settings(session, url) == _settings(plain, url)

    reads = []
    real = requests.utils.get_environ_proxies
    monkeypatch.setattr(requests.sessions, "get_environ_proxies", lambda *a, **k: reads.append(a) or real(*a, **k))
    for _ in range(3):
        for url in URLS:
            assert _settings(session, url) == _settings(plain, url)
    assert len(reads) == 3 * len(URLS)  # all from the plain session: the client's were known


def test_the_answer_is_a_copy(monkeypatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.corp:3128")
    session = DssConnection(DssTarget("https://dss.example.com", "key")).client()._session
    first = _settings(session, URLS[0])
    first["proxies"]["https"] = "changed"
    assert _settings(session, URLS[0])["proxies"]["https"] == "http://proxy.corp:3128"
