"""A local stand-in for the comment APIs of GitHub, GitLab and Azure DevOps, for `dataiku-iac
comment`'s tests (a test fixture: not the DSS emulator, not a product).

It answers only requests of the real shapes and refuses the rest the way the services do:
- GitHub REST: `Authorization: Bearer`, `Accept: application/vnd.github+json`,
  `X-GitHub-Api-Version: 2022-11-28`; issue comments of a pull request listed by pages with a
  `Link: <…>; rel="next"` header pointing at GitHub's `/repositories/{id}/…` form of the URL (as
  GitHub's own links do), created with POST, updated with PATCH `/issues/comments/{id}`;
- GitLab REST v4: `PRIVATE-TOKEN`; merge request notes by pages with `X-Next-Page`, `X-Page`,
  `X-Per-Page`, `X-Total` and `Link`, system notes among them; POST, PUT `/notes/{id}`;
- Azure DevOps: `Authorization: Bearer`, `api-version=7.1` in the query; pull request threads
  (`{"value": […], "count": n}`), continued with `x-ms-continuationtoken` / `continuationToken`;
  a thread created with its first comment, that comment updated with PATCH.

Pages hold at most `page_size` items whatever the client asks, so a few comments are enough to
need pagination. Every request is recorded (method, path, query, headers, JSON body).
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Optional
from urllib.parse import parse_qs, urlencode, urlsplit

GITHUB_REPO = ("octo-org", "dss-config")
GITHUB_REPO_ID = "4242"
GITLAB_PROJECT = "77"
AZURE_ORG, AZURE_PROJECT, AZURE_REPO = "contoso", "0d6c0d3e-6b4f-4d1c-9c43-1b1e2c6d8f00", "b1e7a5e2-2f0e-4b5c-8a64-3c0a9f0a1d11"


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any


@dataclass
class PrServer:
    token: str
    page_size: int = 2
    port: int = 0
    requests: list[Recorded] = field(default_factory=list)
    # provider -> pull request number -> comments (GitHub, GitLab) or threads (Azure)
    github: dict[str, list[dict]] = field(default_factory=dict)
    gitlab: dict[str, list[dict]] = field(default_factory=dict)
    azure: dict[str, list[dict]] = field(default_factory=dict)
    next_link_origin: Optional[str] = None  # set: GitHub's next links point there instead
    gitlab_link_only: bool = False  # set: no X-Next-Page, as GitLab past 10,000 notes (Link only)
    echo_credentials: bool = False  # set: a refusal quotes the credentials it got (a proxy's error page might)
    _next_id: int = 1000

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def writes(self) -> list[Recorded]:
        return [r for r in self.requests if r.method != "GET"]

    def clear_log(self) -> None:
        self.requests.clear()


def start(token: str, page_size: int = 2) -> tuple[PrServer, ThreadingHTTPServer]:
    state = PrServer(token=token, page_size=page_size)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # quiet
            pass

        def _handle(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else None
            query = parse_qs(parts.query)
            state.requests.append(Recorded(self.command, parts.path, query, dict(self.headers.items()), body))
            status, payload, headers = _route(state, self.command, parts.path, query, dict(self.headers.items()), body)
            data = json.dumps(payload).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _handle

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return state, server


Answer = tuple[int, Any, dict[str, str]]


def _route(state: PrServer, method: str, path: str, query: dict, headers: dict, body: Any) -> Answer:
    lowered = {k.lower(): v for k, v in headers.items()}
    if path.startswith(("/repos/", "/repositories/")):
        return _github(state, method, path, query, lowered, body)
    if path.startswith("/api/v4/"):
        return _gitlab(state, method, path, query, lowered, body)
    if "/_apis/" in path:
        return _azure(state, method, path, query, lowered, body)
    return 404, {"message": "Not Found"}, {}


# -- GitHub ---------------------------------------------------------------------------------------

_GH_LIST = re.compile(r"^/(?:repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)|repositories/(?P<rid>\d+))/issues/(?P<number>\d+)/comments$")
_GH_EDIT = re.compile(r"^/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)/issues/comments/(?P<id>\d+)$")


def _github(state: PrServer, method: str, path: str, query: dict, headers: dict, body: Any) -> Answer:
    if headers.get("authorization") != f"Bearer {state.token}":
        message = f"Bad credentials: {headers.get('authorization')}" if state.echo_credentials else "Bad credentials"
        return 401, {"message": message, "documentation_url": "https://docs.github.com/rest"}, {}
    if headers.get("accept") != "application/vnd.github+json" or headers.get("x-github-api-version") != "2022-11-28":
        return 400, {"message": "expected the GitHub REST media type and API version headers"}, {}
    listed = _GH_LIST.match(path)
    if listed and (listed["rid"] == GITHUB_REPO_ID or (listed["owner"], listed["repo"]) == GITHUB_REPO):
        comments = state.github.setdefault(listed["number"], [])
        if method == "GET":
            return _github_page(state, listed["number"], comments, query)
        if method == "POST":
            if set(body or {}) != {"body"}:
                return 422, {"message": "Validation Failed"}, {}
            comment = {"id": state.new_id(), "body": body["body"], "user": {"login": "github-actions[bot]"},
                       "html_url": f"https://github.com/{'/'.join(GITHUB_REPO)}/pull/{listed['number']}#issuecomment-{state._next_id}"}
            comments.append(comment)
            return 201, comment, {}
    edited = _GH_EDIT.match(path)
    if edited and (edited["owner"], edited["repo"]) == GITHUB_REPO and method == "PATCH":
        for comments in state.github.values():
            for comment in comments:
                if str(comment["id"]) == edited["id"]:
                    comment["body"] = body["body"]
                    return 200, comment, {}
    return 404, {"message": "Not Found"}, {}


def _github_page(state: PrServer, number: str, comments: list[dict], query: dict) -> Answer:
    per_page = min(int(query.get("per_page", ["30"])[0]), state.page_size)
    page = int(query.get("page", ["1"])[0])
    items = comments[(page - 1) * per_page: page * per_page]
    headers = {}
    if page * per_page < len(comments):
        origin = state.next_link_origin or state.url
        link = f"{origin}/repositories/{GITHUB_REPO_ID}/issues/{number}/comments?{urlencode({'per_page': per_page, 'page': page + 1})}"
        headers["Link"] = f'<{link}>; rel="next", <{link}>; rel="last"'
    return 200, items, headers


# -- GitLab ---------------------------------------------------------------------------------------

_GL_NOTES = re.compile(r"^/api/v4/projects/(?P<project>[^/]+)/merge_requests/(?P<iid>\d+)/notes(?:/(?P<id>\d+))?$")


def _gitlab(state: PrServer, method: str, path: str, query: dict, headers: dict, body: Any) -> Answer:
    if headers.get("private-token") != state.token:
        return 401, {"message": f"401 Unauthorized {headers.get('private-token')}" if state.echo_credentials else "401 Unauthorized"}, {}
    match = _GL_NOTES.match(path)
    if not match or match["project"] != GITLAB_PROJECT:
        return 404, {"message": "404 Project Not Found"}, {}
    notes = state.gitlab.setdefault(match["iid"], [])
    if method == "GET" and match["id"] is None:
        per_page = min(int(query.get("per_page", ["20"])[0]), state.page_size)
        page = int(query.get("page", ["1"])[0])
        items = notes[(page - 1) * per_page: page * per_page]
        pages = max(1, -(-len(notes) // per_page))
        headers_out = {"X-Page": str(page), "X-Per-Page": str(per_page), "X-Total": str(len(notes)),
                       "X-Total-Pages": str(pages), "X-Next-Page": str(page + 1) if page < pages else ""}
        if state.gitlab_link_only:
            for name in ("X-Next-Page", "X-Total", "X-Total-Pages"):
                del headers_out[name]
        if page < pages:
            params = {k: v[0] for k, v in query.items()} | {"page": page + 1}
            headers_out["Link"] = f'<{state.url}{path}?{urlencode(params)}>; rel="next"'
        return 200, items, headers_out
    if method == "POST" and match["id"] is None:
        note = {"id": state.new_id(), "body": body["body"], "system": False, "author": {"username": "project_77_bot"}}
        notes.append(note)
        return 201, note, {}
    if method == "PUT" and match["id"] is not None:
        for note in notes:
            if str(note["id"]) == match["id"]:
                note["body"] = body["body"]
                return 200, note, {}
    return 404, {"message": "404 Not found"}, {}


# -- Azure DevOps ---------------------------------------------------------------------------------

_AZ_THREADS = re.compile(
    r"^/(?P<org>[^/]+)/(?P<project>[^/]+)/_apis/git/repositories/(?P<repo>[^/]+)/pullRequests/(?P<pr>\d+)/threads"
    r"(?:/(?P<thread>\d+)/comments/(?P<comment>\d+))?$"
)


def _azure(state: PrServer, method: str, path: str, query: dict, headers: dict, body: Any) -> Answer:
    if headers.get("authorization") != f"Bearer {state.token}":
        return 203, {"message": f"sign-in page for {headers.get('authorization')}" if state.echo_credentials else "sign-in page"}, {}  # Azure DevOps answers 203 + an HTML sign-in page
    if query.get("api-version") != ["7.1"]:
        return 400, {"message": "The requested REST API version of 0 is not supported", "typeKey": "VssVersionOutOfRangeException"}, {}
    match = _AZ_THREADS.match(path)
    if not match or (match["org"], match["project"], match["repo"]) != (AZURE_ORG, AZURE_PROJECT, AZURE_REPO):
        return 404, {"message": "TF401019: The Git repository does not exist"}, {}
    threads = state.azure.setdefault(match["pr"], [])
    if method == "GET" and match["thread"] is None:
        start = int(query.get("continuationToken", ["0"])[0])
        items = threads[start: start + state.page_size]
        headers_out = {"x-ms-continuationtoken": str(start + state.page_size)} if start + state.page_size < len(threads) else {}
        return 200, {"value": items, "count": len(items)}, headers_out
    if method == "POST" and match["thread"] is None:
        comments = (body or {}).get("comments") or []
        if len(comments) != 1 or comments[0].get("parentCommentId") != 0 or "content" not in comments[0]:
            return 400, {"message": "a new thread takes one root comment"}, {}
        thread = {"id": state.new_id(), "status": body.get("status"), "isDeleted": False,
                  "comments": [{"id": 1, "parentCommentId": 0, "content": comments[0]["content"],
                                "commentType": comments[0].get("commentType"), "isDeleted": False}]}
        threads.append(thread)
        return 200, thread, {}
    if method == "PATCH" and match["thread"] is not None:
        for thread in threads:
            if str(thread["id"]) == match["thread"]:
                for comment in thread["comments"]:
                    if str(comment["id"]) == match["comment"]:
                        comment["content"] = body["content"]
                        return 200, comment, {}
    return 404, {"message": "not found"}, {}
