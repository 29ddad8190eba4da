"""Git sources inside DSS (issue 10, security 3 and 7).

- A credential preset is bound to the hosts its definition lists: any other URL is refused
  before a connection is made, and redirects never carry it elsewhere. A local HTTP listener
  stands for "a server the user chose" and must receive no credential.
- The Git cache is private: per OS user and per DSS user, 0700; a cache directory owned by
  someone else, reached through a symbolic link or open to others is refused.
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import os
import stat
import threading
from pathlib import Path

import pytest
from dataiku_iac.dss import components, service
from dataiku_iac.sources import SourceError, materialize
from dataiku_iac.sources.git import check_bound, ensure_private_dir
from plugin_helpers import ALICE_KEY, git_repo, run_macro, upload_library

OPS = "OPS"
PRESET_TOKEN = "preset-T0KEN-must-stay-home-93bd"
FILES = {"iac.yml": "version: 1\n", "projects/a.yml": "project:\n  key: A\n  name: A\n"}


class Listener:
    """An HTTP server that records every connection and Authorization header it gets, asks
    for Basic credentials (as a Git host does) or redirects elsewhere."""

    def __init__(self, redirect_to: str = ""):
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.authorizations.append(self.headers.get("Authorization"))
                if owner.redirect_to:
                    self.send_response(302)
                    self.send_header("Location", owner.redirect_to + self.path)
                else:
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", 'Basic realm="git"')
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        class Server(http.server.ThreadingHTTPServer):
            def verify_request(self, request, client_address) -> bool:  # type: ignore[no-untyped-def]
                owner.connections += 1
                return True

        self.redirect_to = redirect_to
        self.connections = 0
        self.authorizations: list = []
        self.server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Listener:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def credentials_seen(self) -> list:
        return [base64.b64decode(a.split(" ", 1)[1]).decode() for a in self.authorizations if a]


def plan_params(url: str, hosts) -> dict:
    preset = {"username": "bot", "token": PRESET_TOKEN}
    if hosts is not None:
        preset["hosts"] = hosts
    return {"source_kind": "git", "git_url": url, "git_ref": "main", "environment": "dev", "git_credentials": preset}


@pytest.fixture
def alice_runs_plan(dss, state_project):
    """Alice may run the plan macro in OPS: READ_CONF is all it takes."""
    client = dss.client()
    upload_library(client, OPS, "iac", FILES)
    perms = client.get_project(OPS).get_permissions()
    perms["permissions"] = [{"group": "data_team", "readProjectContent": True}]
    client.get_project(OPS).set_permissions(perms)
    alice = dss.client_for(ALICE_KEY)
    return lambda params: run_macro(alice, OPS, "plan", params)


def test_a_preset_is_never_sent_to_a_url_outside_its_hosts(alice_runs_plan):
    with Listener() as listener:
        with pytest.raises(Exception) as info:
            alice_runs_plan(plan_params(listener.url + "/org/repo.git", ["git.example.com"]))
        assert f"refusing to send the Git credential preset to {listener.url}: it is bound to git.example.com" in str(info.value)
        assert listener.connections == 0 and listener.authorizations == []
        with pytest.raises(Exception, match="does not say which Git hosts it is for"):
            alice_runs_plan(plan_params(listener.url + "/org/repo.git", None))
        assert listener.connections == 0
    assert PRESET_TOKEN not in str(info.value)


def test_a_bound_preset_reaches_its_own_host_only_and_never_follows_a_redirect(alice_runs_plan):
    # The control: bound to the listener, the preset does reach it (so the test above can fail).
    with Listener() as own:
        with pytest.raises(Exception) as info:
            alice_runs_plan(plan_params(own.url + "/org/repo.git", [own.url]))
        assert own.credentials_seen() and set(own.credentials_seen()) == {f"bot:{PRESET_TOKEN}"}
        assert PRESET_TOKEN not in str(info.value)
    # The allowed host redirects to another: git must not follow it with the credential.
    with Listener() as elsewhere, Listener(redirect_to=elsewhere.url) as allowed:
        with pytest.raises(Exception, match="git fetch failed"):
            alice_runs_plan(plan_params(allowed.url + "/org/repo.git", [allowed.url]))
        assert allowed.connections >= 1
        assert elsewhere.connections == 0 and elsewhere.credentials_seen() == []


@pytest.mark.parametrize(
    ("url", "hosts", "allowed"),
    [
        ("https://git.example.com/org/repo.git", ["git.example.com"], True),
        ("https://GIT.example.com:443/org/repo.git", ["https://git.example.com"], True),
        ("https://git.example.com:8443/org/repo.git", ["git.example.com"], False),
        ("https://git.example.com:8443/org/repo.git", ["git.example.com:8443"], True),
        ("http://git.example.com/org/repo.git", ["git.example.com"], False),  # a bare host means HTTPS
        ("http://git.example.com:8080/org/repo.git", ["http://git.example.com:8080"], True),
        ("https://git.example.com.evil.org/org/repo.git", ["git.example.com"], False),
        ("https://evil.org/git.example.com/repo.git", ["git.example.com"], False),
        ("ssh://git@git.example.com/org/repo.git", ["git.example.com"], False),
        ("git@git.example.com:org/repo.git", ["git.example.com"], False),
        ("/srv/repos/config.git", ["git.example.com"], False),
    ],
)
def test_host_binding_rules(url, hosts, allowed):
    if allowed:
        check_bound(url, hosts)
    else:
        with pytest.raises(SourceError, match="refusing to send the Git credential preset"):
            check_bound(url, hosts)


def test_the_binding_is_checked_by_the_source_too(tmp_path):
    """Whoever builds a source spec (not only the components): bound credentials stay bound."""
    url = git_repo(tmp_path / "repo", FILES)
    spec = {"kind": "git", "url": url, "credentials": {"token": PRESET_TOKEN, "hosts": ["git.example.com"]}}
    with pytest.raises(SourceError, match="non-HTTP"):
        materialize(spec, work_dir=tmp_path / "w", cache_dir=tmp_path / "c")
    config = {"source_kind": "git", "git_url": url, "environment": "dev",
              "git_credentials": {"token": PRESET_TOKEN, "hosts": "git.example.com"}}
    with pytest.raises(SourceError, match=r"bound to git\.example\.com"):
        components.source_spec(config, lambda: None, OPS)


# -- the Git cache ---------------------------------------------------------------------------


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def _user_dir(cache: Path, login: str) -> Path:
    return cache / ("user-" + hashlib.sha256(login.encode()).hexdigest()[:20])


def test_the_git_cache_is_private_per_os_user_and_per_dss_user(tmp_path, monkeypatch):
    url = git_repo(tmp_path / "repo", FILES)
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    for login in ("alice", "bob"):
        materialize({"kind": "git", "url": url}, work_dir=tmp_path / login, user=login)
    root = tmp_path / "tmp" / f"dataiku-iac-git-{os.getuid()}"
    assert _mode(root) == 0o700
    alice, bob = _user_dir(root, "alice"), _user_dir(root, "bob")
    assert alice != bob and _mode(alice) == _mode(bob) == 0o700
    assert any(p.suffix == ".git" for p in alice.iterdir()) and any(p.suffix == ".git" for p in bob.iterdir())


def test_service_calls_use_the_callers_own_cache(dss, state_project, tmp_path):
    url = git_repo(tmp_path / "repo", FILES)
    alice = lambda: dss.client_for(ALICE_KEY)  # noqa: E731
    with service.open_session(alice, {"kind": "git", "url": url}, "dev", cache_dir=tmp_path / "cache",
                              caller=service.current_caller(alice)):
        pass
    assert _mode(_user_dir(tmp_path / "cache", "alice")) == 0o700
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [_user_dir(tmp_path / "cache", "alice").name]


def test_a_cache_directory_open_to_others_or_owned_by_someone_else_is_refused(tmp_path):
    url = git_repo(tmp_path / "repo", FILES)
    loose = tmp_path / "loose"
    loose.mkdir()
    loose.chmod(0o755)
    with pytest.raises(SourceError, match=r"other users may use it \(mode 755, expected 700\)"):
        materialize({"kind": "git", "url": url}, work_dir=tmp_path / "w1", cache_dir=loose, user="alice")
    assert list(loose.iterdir()) == []

    foreign = tmp_path / "foreign"
    foreign.mkdir(mode=0o700)
    if os.getuid() == 0:
        os.chown(foreign, 65534, 65534)  # as root: give it to nobody
    else:
        foreign = Path("/")  # a directory that exists and belongs to root
    with pytest.raises(SourceError, match="belongs to another user"):
        ensure_private_dir(foreign)

    linked = tmp_path / "linked"
    linked.symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    (tmp_path / "elsewhere").mkdir(mode=0o700)
    with pytest.raises(SourceError, match="not a plain directory"):
        materialize({"kind": "git", "url": url}, work_dir=tmp_path / "w2", cache_dir=linked, user="alice")
