"""The emulator's route tables (router.py on werkzeug's routing): every route reachable, DSS's 404
and 405 answers, trailing slashes, file-path tails, the admin API's table, and routes seeing the
emulator only through the App protocol."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import dss_emulator
import pytest
import requests
from dss_emulator import routes  # noqa: F401  (registers every route)
from dss_emulator.router import API_ROUTES, NoRoute, WrongMethod
from emu_helpers import NOT_FOUND, raises_dss

API = "/dip/publicapi"
SAMPLES = {"pk": "NOPROJECT", "path": "some/dir/file.txt"}
VERBS = ("GET", "POST", "PUT", "DELETE")


def _fill(pattern: str) -> str:
    """A concrete path for a route pattern: each variable named after itself (or a sample)."""
    return re.sub(r"<(?:\w+:)?(\w+)>", lambda m: SAMPLES.get(m.group(1), "x_" + m.group(1)), pattern)


def _handler(method: str, path: str) -> str:
    return API_ROUTES.match(method, path)[0].handler.__name__


def _route_ids() -> list:
    return [f"{r.method} {r.pattern}" for r in API_ROUTES.routes]


# ---------------------------------------------------------------- the table itself (no HTTP)


@pytest.mark.parametrize("route", API_ROUTES.routes, ids=_route_ids())
def test_every_route_is_reached_by_its_own_path(route):
    """No route is shadowed by another: its path, with or without the trailing slash, reaches it."""
    path = _fill(route.pattern)
    for variant in {path, path.rstrip("/"), path.rstrip("/") + "/"}:
        found, params = API_ROUTES.match(route.method, variant)
        assert found is route, (variant, found.pattern)
        assert params.get("pk", "NOPROJECT") == "NOPROJECT"


def test_the_table_holds_each_verb_and_path_once():
    keys = [(r.method, r.pattern.rstrip("/")) for r in API_ROUTES.routes]
    assert len(keys) == len(set(keys))
    assert len(keys) > 100  # every module registered (dataikuapi-surface.md section 11 and more)


def test_static_segments_win_over_variables():
    """``/scenarios/{id}/light`` is not run ``light`` of scenario ``{id}``; a scenario named
    ``trigger`` is still a scenario; ``datasets/managed`` is a dataset named managed for GET."""
    assert _handler("GET", "/projects/P/scenarios/S/light") == "light"
    found, params = API_ROUTES.match("GET", "/projects/P/scenarios/S/RUN_1/")
    assert found.handler.__name__ == "get_run" and params["run_id"] == "RUN_1"
    found, params = API_ROUTES.match("GET", "/projects/P/scenarios/trigger/light")
    assert found.handler.__name__ == "light" and params["sid"] == "trigger"
    assert _handler("POST", "/projects/P/datasets/managed") == "create_managed_dataset"
    found, params = API_ROUTES.match("GET", "/projects/P/datasets/managed")
    assert found.handler.__name__ == "get_dataset" and params["name"] == "managed"


def test_file_path_tails_are_collapsed_and_may_be_empty():
    """'//' and '.' go; '..' stays for the handler to refuse once the caller is known (a 400)."""
    pattern = "/projects/P/managedfolders/F/contents/"
    for tail, expected in [("a/b", "a/b"), ("/a//b/", "a/b"), ("./a", "a"), ("/", ""), ("../x", "../x")]:
        found, params = API_ROUTES.match("GET", pattern + tail)
        assert found.handler.__name__ == "get_file" and params["path"] == expected, tail
    assert _handler("GET", "/projects/P/managedfolders/F/contents") == "list_contents"
    assert _handler("GET", "/projects/P/managedfolders/F/contents/") == "list_contents"
    assert API_ROUTES.match("POST", "/projects/P/libraries/folders/")[1] == {"pk": "P", "path": ""}


@pytest.mark.parametrize(
    "method, path, answer",
    [
        ("GET", "/nothing/here", NoRoute),
        ("GET", "/projects//datasets/", NoRoute),  # '//' is not merged outside file paths
        ("GET", "/projects/P/datasets/D//", NoRoute),  # one trailing slash at most
        ("GET", "//projects/", NoRoute),
        ("PATCH", "/projects/", WrongMethod),
        ("PUT", "/projects", WrongMethod),  # a wrong verb is a 405 with or without the slash
        ("HEAD", "/projects/", WrongMethod),  # werkzeug would run GET for HEAD; DSS's API has no HEAD here
        ("GET", "/projects/P/libraries/folders/x", WrongMethod),
    ],
)
def test_unknown_paths_and_wrong_verbs(method, path, answer):
    with pytest.raises(answer):
        API_ROUTES.match(method, path)


def test_wrong_method_names_the_verbs_the_path_takes():
    with pytest.raises(WrongMethod) as info:
        API_ROUTES.match("PATCH", "/projects/P/datasets/D")
    assert info.value.allowed == ["DELETE", "GET", "PUT"]


# ---------------------------------------------------------------- over HTTP, as dataikuapi calls


def _router_answer(resp: requests.Response) -> bool:
    """Whether the router (not a handler) answered: the 404 or 405 of an unrouted request."""
    if resp.status_code == 405:
        return True
    return resp.status_code == 404 and "does not implement" in resp.json().get("message", "")


def test_every_route_answers_from_its_handler(dss):
    """Each route, called with the admin key on objects that do not exist, is answered by its
    handler (a DSS error about the object, or a success), never by the router's 404/405."""
    session = requests.Session()
    session.auth = (dss.api_key, "")
    for route in API_ROUTES.routes:
        resp = session.request(route.method, dss.url + API + _fill(route.pattern), params={"wait": "True"})
        assert not _router_answer(resp), (route.method, route.pattern, resp.status_code, resp.text)
        if not resp.ok:
            assert set(resp.json()) == {"errorType", "message", "detailedMessage"}, route.pattern


def test_unknown_path_answers_dss_not_found_envelope(dss, dss_client):
    resp = requests.get(dss.url + API + "/nothing/here")  # routing comes before authentication
    assert resp.status_code == 404
    assert resp.json() == {
        "errorType": NOT_FOUND,
        "message": "The emulator does not implement GET /nothing/here",
        "detailedMessage": "The emulator does not implement GET /nothing/here",
    }
    raises_dss(NOT_FOUND, lambda: dss_client._perform_json("GET", "/nothing/here"), "does not implement")
    outside = requests.get(dss.url + "/somewhere/else")
    assert outside.status_code == 404 and outside.json()["errorType"] == NOT_FOUND


def test_wrong_method_answers_405_in_dss_envelope(dss, dss_client):
    for method in ("PATCH", "HEAD", "OPTIONS"):
        resp = requests.request(method, dss.url + API + "/projects/", auth=(dss.api_key, ""))
        assert resp.status_code == 405, method
        if method != "HEAD":  # a HEAD answer has no body
            assert resp.json()["errorType"] == NOT_FOUND
            assert resp.json()["message"] == f"Method {method} not allowed on /projects/"
    raises_dss(NOT_FOUND, lambda: dss_client._perform_json("PUT", "/projects/"), "not allowed")


def test_paths_are_taken_with_or_without_one_trailing_slash(dss, dss_client):
    project = dss_client.create_project("SLASH", "Slashes", "admin")
    project.create_dataset("D", "Filesystem", params={"connection": "filesystem_managed", "path": "p"})
    auth = (dss.api_key, "")
    for written, other in [
        ("/projects/", "/projects"),
        ("/projects/SLASH/datasets/D", "/projects/SLASH/datasets/D/"),
    ]:
        a = requests.get(dss.url + API + written, auth=auth)
        b = requests.get(dss.url + API + other, auth=auth)
        assert a.status_code == b.status_code == 200 and a.json() == b.json()
    assert requests.get(dss.url + API + "/projects//", auth=auth).status_code == 404


def test_file_paths_are_percent_decoded_and_slashes_collapsed(dss, dss_client):
    folder = dss_client.create_project("FILES", "Files", "admin").create_managed_folder("f")
    folder.put_file("/dir/a file.txt", b"spaced")  # dataikuapi quotes the path: dir/a%20file.txt
    auth = (dss.api_key, "")
    base = f"{dss.url}{API}/projects/FILES/managedfolders/{folder.id}/contents"
    for tail in ("/dir/a%20file.txt", "//dir//a%20file.txt", "/dir/a file.txt/"):
        resp = requests.get(base + tail, auth=auth)
        assert resp.status_code == 200 and resp.content == b"spaced", tail
    assert [i["path"] for i in folder.list_contents()["items"]] == ["/dir/a file.txt"]
    refused = requests.get(base + "/%2E%2E/x", auth=auth)  # requests would resolve a literal ".."
    assert refused.status_code == 400 and "Illegal path" in refused.json()["message"]
    assert requests.get(base + "/%2E%2E/x").status_code == 401  # the caller is checked first


# ---------------------------------------------------------------- the admin API's table


def test_admin_api_routes(dss):
    admin = dss.url + "/__emulator__"
    assert requests.get(admin + "/latency/").json() == {"latency_ms": 0}  # trailing slashes ignored
    for method, path in [("GET", "/nothing"), ("PUT", "/latency"), ("HEAD", "/info"), ("GET", "//info")]:
        resp = requests.request(method, admin + path)
        assert resp.status_code == 404, (method, path)
        if method != "HEAD":
            assert resp.json()["errorType"] == NOT_FOUND
            assert resp.json()["message"].startswith(f"No emulator admin endpoint {method} ")
    assert dss.admin.set_behaviour(scenario_create_id="from_name")["scenario_create_id"] == "from_name"
    assert dss.admin.behaviour()["scenario_create_id"] == "from_name"


# ---------------------------------------------------------------- routes see the App protocol only


def test_routes_use_the_emulator_only_through_the_app_protocol():
    """Route modules and the scenario runner never import the Emulator (server.py): mypy then
    checks every ``ctx.app`` use against app.App (see docs/emulator.md, "Adding a route")."""
    package = Path(dss_emulator.__file__).resolve().parent
    for source in [*sorted((package / "routes").glob("*.py")), package / "runs.py", package / "context.py"]:
        tree = ast.parse(source.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                assert not (node.module or "").endswith("server"), f"{source.name} imports {node.module}"
            if isinstance(node, ast.Name):
                assert node.id != "Emulator", f"{source.name} names Emulator at line {node.lineno}"
