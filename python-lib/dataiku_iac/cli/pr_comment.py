"""One sticky plan comment on a pull/merge request, through the provider's REST API
(`dataiku-iac comment`).

The comment is found again by the hidden marker of the Markdown plan (output/markdown.py: one per
environment), looked for through every page of the request's comments; it is updated in place,
or created when there is none. Each provider takes what it needs from its CI's own variables
(flags override them) and its token from the CI's usual variable; the token goes in a header
only, and never into a message: errors are scrubbed of it.

Requests never follow redirects: a token in a custom header (GitLab's PRIVATE-TOKEN) would be
sent to wherever the redirect points. Pagination links are followed only on the API's own origin.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Mapping, Optional
from urllib.parse import quote, urlsplit

import requests

from dataiku_iac.errors import IacError, printable
from dataiku_iac.output.markdown import find_marker

TIMEOUT_SECONDS = 30
GITHUB_API_VERSION = "2022-11-28"
AZURE_API_VERSION = "7.1"
PER_PAGE = 100


class CommentError(IacError):
    """The comment could not be posted; the message never holds the token."""


@dataclass(frozen=True)
class Target:
    """The pull/merge request the comment goes on, and the API that reaches it."""

    api_url: str
    project: str  # GitLab's project, Azure DevOps' team project; "" for GitHub
    repository: str  # GitHub's OWNER/NAME, Azure DevOps' repository id; "" for GitLab
    pull_request: str

    def describe(self, provider: Provider) -> str:
        return f"{provider.request_name} {self.pull_request}"


@dataclass(frozen=True)
class Existing:
    """A comment already on the request."""

    id: str
    body: str
    thread: str = ""  # Azure DevOps: the thread holding the comment


@dataclass(frozen=True)
class Posted:
    action: str  # "created", "updated" or "unchanged"
    id: str
    url: str = ""
    others: tuple[str, ...] = ()  # other comments carrying the same marker, left as they are


@dataclass(frozen=True)
class Overrides:
    """The command's flags; empty strings are not given."""

    api_url: str = ""
    project: str = ""
    repository: str = ""
    pull_request: str = ""
    token_env: str = ""


class Api:
    """HTTP calls to one provider with its auth headers: JSON in and out, no redirects, errors
    that name the call and the answer but never the token."""

    def __init__(self, provider: Provider, base_url: str, token: str):
        self.provider = provider
        self.base_url = base_url.rstrip("/")
        self.origin = _origin(self.base_url)
        self.token = token
        self.session = requests.Session()
        self.session.headers.update(provider.headers(token))
        self.session.headers["User-Agent"] = "dataiku-iac"

    def call(self, method: str, url: str, *, params: Optional[dict] = None, body: Optional[dict] = None) -> requests.Response:
        if _origin(url) != self.origin:  # a pagination link elsewhere: the token must not follow it
            raise CommentError(f"{self.provider.label} API: refusing to follow a link to {self._scrub(url)}, outside {self.origin}")
        try:
            response = self.session.request(method, url, params=params, json=body, timeout=TIMEOUT_SECONDS, allow_redirects=False)
        except requests.RequestException as exc:
            raise CommentError(f"{self.provider.label} API: {method} {self._scrub(_path(url))}: {self._scrub(str(exc))}") from None
        # Azure DevOps answers a token it does not accept with 203 and a sign-in page
        if not 200 <= response.status_code < 300 or response.status_code == 203:
            raise CommentError(self._failure(method, url, response))
        return response

    def json(self, response: requests.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            raise CommentError(f"{self.provider.label} API: {response.request.method} {self._scrub(_path(response.url))}: "
                               f"the answer is not JSON (HTTP {response.status_code})") from None

    def _failure(self, method: str, url: str, response: requests.Response) -> str:
        message = _api_message(response)
        text = f"{self.provider.label} API: {method} {_path(url)}: HTTP {response.status_code} {response.reason or ''}".rstrip()
        if message:
            text += f": {message}"
        if 300 <= response.status_code < 400:
            text += " (redirects are not followed: give the API's own URL)"
        elif response.status_code in (203, 401, 403, 404):
            text += f" ({self.provider.permission_hint})"
        return self._scrub(text)

    def _scrub(self, text: str) -> str:
        text = printable(str(text))
        return text.replace(self.token, "***") if self.token else text


class Provider:
    """What differs between GitHub, GitLab and Azure DevOps."""

    name = ""
    label = ""
    request_name = "pull request"
    token_variable = ""
    permission_hint = ""

    def headers(self, token: str) -> dict[str, str]:
        raise NotImplementedError

    def target(self, env: Mapping[str, str], given: Overrides) -> Target:
        raise NotImplementedError

    def comments(self, api: Api, target: Target) -> Iterator[Existing]:
        raise NotImplementedError

    def create(self, api: Api, target: Target, body: str) -> Posted:
        raise NotImplementedError

    def update(self, api: Api, target: Target, existing: Existing, body: str) -> Posted:
        raise NotImplementedError

    def run_link(self, env: Mapping[str, str]) -> str:
        """The CI run's page (its artifacts hold the full plan), or ""."""
        return ""


class GitHub(Provider):
    """Issue comments of the pull request (a pull request is an issue for comments)."""

    name, label, token_variable = "github", "GitHub", "GITHUB_TOKEN"
    permission_hint = "the token needs `pull-requests: write` (the workflow's or job's `permissions:`)"

    def headers(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": GITHUB_API_VERSION}

    def target(self, env: Mapping[str, str], given: Overrides) -> Target:
        _refuse(given.project, "--project", self)
        # GitHub Actions' variables, else a Jenkins multibranch build of a pull request (CHANGE_ID,
        # CHANGE_URL = https://github.com/OWNER/NAME/pull/N), else the flags.
        repository = (given.repository or env.get("GITHUB_REPOSITORY", "").strip() or _github_change_repository(env)
                      or _required(env, "GITHUB_REPOSITORY", "--repository", self))
        if repository.count("/") != 1 or not all(repository.split("/")):
            raise CommentError(f"GitHub repository {repository!r} is not OWNER/NAME")
        jenkins = not env.get("GITHUB_EVENT_PATH") and env.get("CHANGE_ID", "").strip()
        number = given.pull_request or jenkins or _github_pull_request(env)
        return Target(given.api_url or env.get("GITHUB_API_URL") or "https://api.github.com", "", repository, _number(number, self))

    def _issue(self, api: Api, target: Target) -> str:
        owner, name = target.repository.split("/")
        return f"{api.base_url}/repos/{quote(owner, safe='')}/{quote(name, safe='')}/issues"

    def comments(self, api: Api, target: Target) -> Iterator[Existing]:
        url: Optional[str] = f"{self._issue(api, target)}/{target.pull_request}/comments"
        params: Optional[dict] = {"per_page": PER_PAGE}
        while url:
            response = api.call("GET", url, params=params)
            for item in api.json(response):
                yield Existing(str(item["id"]), item.get("body") or "")
            url, params = response.links.get("next", {}).get("url"), None  # the link carries the query

    def create(self, api: Api, target: Target, body: str) -> Posted:
        answer = api.json(api.call("POST", f"{self._issue(api, target)}/{target.pull_request}/comments", body={"body": body}))
        return Posted("created", str(answer.get("id", "")), answer.get("html_url", ""))

    def update(self, api: Api, target: Target, existing: Existing, body: str) -> Posted:
        answer = api.json(api.call("PATCH", f"{self._issue(api, target)}/comments/{existing.id}", body={"body": body}))
        return Posted("updated", existing.id, answer.get("html_url", ""))

    def run_link(self, env: Mapping[str, str]) -> str:
        parts = [env.get(name, "") for name in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")]
        return f"{parts[0].rstrip('/')}/{parts[1]}/actions/runs/{parts[2]}" if all(parts) else env.get("BUILD_URL", "")


class GitLab(Provider):
    """Notes of the merge request, by its IID (the number in its URL)."""

    name, label, request_name, token_variable = "gitlab", "GitLab", "merge request", "GITLAB_TOKEN"
    permission_hint = ("the token must be a project (or personal) access token with the `api` scope and at least the "
                       "Reporter role; CI_JOB_TOKEN cannot write notes")

    def headers(self, token: str) -> dict[str, str]:
        return {"PRIVATE-TOKEN": token}

    def target(self, env: Mapping[str, str], given: Overrides) -> Target:
        _refuse(given.repository, "--repository", self)
        api_url = given.api_url or _required(env, "CI_API_V4_URL", "--api-url", self)
        project = given.project or _required(env, "CI_PROJECT_ID", "--project", self)
        number = given.pull_request or _required(env, "CI_MERGE_REQUEST_IID", "--pull-request", self,
                                                 " (set in merge request pipelines only)")
        return Target(api_url, project, "", _number(number, self))

    def _notes(self, api: Api, target: Target) -> str:
        return f"{api.base_url}/projects/{quote(target.project, safe='')}/merge_requests/{target.pull_request}/notes"

    def comments(self, api: Api, target: Target) -> Iterator[Existing]:
        url = self._notes(api, target)
        params: Optional[dict] = {"per_page": PER_PAGE, "sort": "asc", "order_by": "created_at"}
        while True:
            response = api.call("GET", url, params=params)
            for item in api.json(response):
                if not item.get("system"):  # GitLab's own notes ("added 1 commit")
                    yield Existing(str(item["id"]), item.get("body") or "")
            # Offset pagination says the next page in X-Next-Page; past 10,000 notes GitLab leaves
            # that header out and keeps the Link header only.
            next_page = response.headers.get("X-Next-Page", "")
            following = response.links.get("next", {}).get("url")
            if next_page:
                url = self._notes(api, target)
                params = {"per_page": PER_PAGE, "sort": "asc", "order_by": "created_at", "page": next_page}
            elif following:
                url, params = following, None
            else:
                return

    def create(self, api: Api, target: Target, body: str) -> Posted:
        answer = api.json(api.call("POST", self._notes(api, target), body={"body": body}))
        return Posted("created", str(answer.get("id", "")))

    def update(self, api: Api, target: Target, existing: Existing, body: str) -> Posted:
        api.call("PUT", f"{self._notes(api, target)}/{existing.id}", body={"body": body})
        return Posted("updated", existing.id)

    def run_link(self, env: Mapping[str, str]) -> str:
        return env.get("CI_JOB_URL", "")


class AzureDevOps(Provider):
    """Pull request threads: the plan is the first comment of a thread of its own."""

    name, label, token_variable = "azure", "Azure DevOps", "SYSTEM_ACCESSTOKEN"
    permission_hint = ("map SYSTEM_ACCESSTOKEN into the step's env (`env: SYSTEM_ACCESSTOKEN: $(System.AccessToken)`) and "
                       "allow the build service 'Contribute to pull requests' on the repository")

    def headers(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}", "Accept": "application/json"}

    def target(self, env: Mapping[str, str], given: Overrides) -> Target:
        api_url = given.api_url or _required(env, "SYSTEM_COLLECTIONURI", "--api-url", self)
        project = given.project or _required(env, "SYSTEM_TEAMPROJECTID", "--project", self)
        repository = given.repository or _required(env, "BUILD_REPOSITORY_ID", "--repository", self)
        number = given.pull_request or _required(env, "SYSTEM_PULLREQUEST_PULLREQUESTID", "--pull-request", self,
                                                 " (set in pull request validation builds only)")
        return Target(api_url, project, repository, _number(number, self))

    def _threads(self, api: Api, target: Target) -> str:
        return (f"{api.base_url}/{quote(target.project, safe='')}/_apis/git/repositories/{quote(target.repository, safe='')}"
                f"/pullRequests/{target.pull_request}/threads")

    def comments(self, api: Api, target: Target) -> Iterator[Existing]:
        params = {"api-version": AZURE_API_VERSION}
        while True:
            response = api.call("GET", self._threads(api, target), params=params)
            for thread in api.json(response).get("value", []):
                first = next((c for c in thread.get("comments") or [] if not c.get("isDeleted")), None)
                if first is not None and not thread.get("isDeleted"):
                    yield Existing(str(first.get("id")), first.get("content") or "", thread=str(thread.get("id")))
            token = response.headers.get("x-ms-continuationtoken", "")
            if not token:
                return
            params = {"api-version": AZURE_API_VERSION, "continuationToken": token}

    def create(self, api: Api, target: Target, body: str) -> Posted:
        # status 1 = active, commentType 1 = text (the API's enums)
        thread = {"comments": [{"parentCommentId": 0, "content": body, "commentType": 1}], "status": 1}
        answer = api.json(api.call("POST", self._threads(api, target), params={"api-version": AZURE_API_VERSION}, body=thread))
        return Posted("created", str(answer.get("id", "")))

    def update(self, api: Api, target: Target, existing: Existing, body: str) -> Posted:
        url = f"{self._threads(api, target)}/{existing.thread}/comments/{existing.id}"
        api.call("PATCH", url, params={"api-version": AZURE_API_VERSION}, body={"content": body})
        return Posted("updated", existing.thread)

    def run_link(self, env: Mapping[str, str]) -> str:
        parts = [env.get(name, "") for name in ("SYSTEM_COLLECTIONURI", "SYSTEM_TEAMPROJECT", "BUILD_BUILDID")]
        return f"{parts[0].rstrip('/')}/{quote(parts[1])}/_build/results?buildId={parts[2]}" if all(parts) else ""


PROVIDERS: dict[str, Provider] = {p.name: p for p in (GitHub(), GitLab(), AzureDevOps())}


def post(provider: Provider, env: Mapping[str, str], given: Overrides, render: Callable[[str], str], environment: str) -> tuple[Posted, Target]:
    """Create or update the one plan comment of `environment`; `render(run_link)` gives its body."""
    variable = given.token_env or provider.token_variable
    token = env.get(variable, "")
    if not token:
        raise CommentError(f"{variable} is not set: the {provider.label} token that posts the comment"
                           f"; {provider.permission_hint}" if variable == provider.token_variable else
                           f"{variable} (--token-env) is not set: no {provider.label} token to post the comment")
    target = provider.target(env, given)
    api = Api(provider, target.api_url, token)
    body = render(provider.run_link(env))
    if token in body:  # never: the plan holds no credential; a token in it would be published
        raise CommentError(f"the comment would contain the value of {variable}; refusing to post it")
    # Every page is read: the first marked comment is kept up to date, and any other one (two
    # runs that created at once) is reported rather than deleted: it may not be ours to delete.
    marked = [c for c in provider.comments(api, target) if find_marker(c.body, environment) is not None]
    if not marked:
        return provider.create(api, target, body), target
    found, others = marked[0], tuple(c.thread or c.id for c in marked[1:])
    if found.body.strip() == body.strip():
        return dataclasses.replace(Posted("unchanged", found.thread or found.id), others=others), target
    return dataclasses.replace(provider.update(api, target, found, body), others=others), target


# -- helpers ---------------------------------------------------------------------------------------


def _required(env: Mapping[str, str], variable: str, flag: str, provider: Provider, note: str = "") -> str:
    value = env.get(variable, "").strip()
    if not value:
        raise CommentError(f"{variable} is not set{note}: {provider.label} CI sets it; elsewhere give {flag}")
    return value


def _refuse(value: str, flag: str, provider: Provider) -> None:
    if value:
        raise CommentError(f"{flag} is not used with --provider {provider.name}")


def _number(value: str, provider: Provider) -> str:
    text = str(value).strip()
    if not text.isdigit():
        raise CommentError(f"the {provider.request_name} number must be a positive integer, not {text!r}")
    return text


def _github_change_repository(env: Mapping[str, str]) -> str:
    """OWNER/NAME from a Jenkins pull request build's CHANGE_URL, or ""."""
    match = re.match(r"^https?://[^/]+/([^/]+/[^/]+)/pull/\d+/?$", env.get("CHANGE_URL", "").strip())
    return match.group(1) if match else ""


def _github_pull_request(env: Mapping[str, str]) -> str:
    """The pull request's number from the event that started the workflow (GITHUB_EVENT_PATH)."""
    path = env.get("GITHUB_EVENT_PATH", "")
    if not path:
        raise CommentError("GITHUB_EVENT_PATH is not set: GitHub Actions sets it (Jenkins: CHANGE_ID); elsewhere give --pull-request")
    try:
        with open(path, encoding="utf-8") as handle:
            event = json.load(handle)
    except (OSError, ValueError) as exc:
        raise CommentError(f"cannot read the GitHub event file GITHUB_EVENT_PATH={path}: {exc}") from None
    issue = event.get("issue") if isinstance(event.get("issue"), dict) else {}
    number = ((event.get("pull_request") or {}).get("number")
              or (issue.get("number") if issue.get("pull_request") else None))
    if not number:
        name = env.get("GITHUB_EVENT_NAME")
        kind = f"the {name} event" if name else "this event"
        raise CommentError(f"{kind} is not about a pull request (GITHUB_EVENT_PATH has no pull_request.number): "
                           "run on pull_request, or give --pull-request")
    return str(number)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _api_message(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return printable(response.text[:200]).strip()
    if isinstance(body, dict):
        for key in ("message", "error", "error_description"):
            if body.get(key):
                return printable(json.dumps(body[key]) if not isinstance(body[key], str) else body[key])[:300]
    return ""
