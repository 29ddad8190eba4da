"""The two limits every benchmarked step is compared with.

Against DSS the cost is round trips, so a step cannot do better than:

(a) the fewest requests that can observe and change the objects:
    - observation: `GET /projects/`, then per existing project its four documents
      (metadata, permissions, variables, settings: DSS has no bulk read of them), one list
      per registered object type (datasets and folders are listed as full documents), and one
      GET per object of a type whose handler sets `per_object_read` (recipes and scenarios:
      their lists carry neither the recipe payload nor the scenario's triggers and steps; DSS
      offers no bulk read of them);
    - one write per changed object, two where DSS needs create-then-save: what the create
      endpoint cannot carry (see CREATE_KEYS) needs one more write;
    - a save after a create is a read-modify-write (DSS takes whole documents only), so it
      also needs the document, by the same rule as observation: one list per project for
      datasets and folders (their lists return full documents), one GET per recipe (no bulk
      read carries recipe documents), one GET for a project's metadata or settings document
      (a new project's variables are known whole: written without reading). Updates need no
      read: the observation just read every document;
    - a delete is one request per object.

(b) the critical-path time at the allowed parallelism `p`: with W requests of latency L
    whose longest dependency chain is C requests long, no schedule beats
    ``L * max(C, ceil(W / p))``.

The limits are computed from the desired model (what the configuration declares), not from
the engine's plan, so an engine regression cannot move its own yardstick.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Optional

from dataiku_iac.resources.registry import child_specs

# A project's documents read one by one: metadata, permissions, variables, settings.
PROJECT_DOCUMENTS = 4

# What each create endpoint can carry (dataikuapi 15.2.0 signatures); anything else declared
# needs a save after the create.
CREATE_KEYS = {
    "managed": {"kind", "connection", "format"},  # POST /datasets/managed: connection + format option
    "filesystem": {"kind", "connection", "path", "format", "format_params"},  # POST /datasets/
    "sql_table": {"kind", "connection", "table", "schema_name", "catalog"},
    "sql_query": {"kind", "connection", "query"},
    "uploaded": {"kind", "connection"},
    "managed_folder": {"connection"},  # POST /managedfolders/: name + connection
    "recipe": {"kind", "inputs", "outputs", "code"},  # raw creation: prototype + rawPayload
}
# Declared values that equal what DSS creates by default never need a save.
NEUTRAL = {"description": "", "tags": [], "code_env": "inherit", "params": {}}


@dataclass
class Limit:
    """Minimum requests (reads + writes) and the longest chain of dependent requests."""

    reads: int = 0
    writes: int = 0
    chain: int = 0  # longest dependency chain, in requests
    detail: dict[str, int] = field(default_factory=dict)

    @property
    def requests(self) -> int:
        return self.reads + self.writes

    def time(self, latency_s: float, parallelism: int) -> float:
        if self.requests == 0:
            return 0.0
        return latency_s * max(self.chain, math.ceil(self.requests / max(1, parallelism)))

    def to_json(self, latency_s: float, parallelism: int) -> dict:
        return {
            "requests": self.requests,
            "reads": self.reads,
            "writes": self.writes,
            "chain": self.chain,
            "time_s": round(self.time(latency_s, parallelism), 4),
            "detail": dict(self.detail),
        }


def _by_project(resources: Iterable[Any]) -> dict[str, list[Any]]:
    projects: dict[str, list[Any]] = {}
    for r in resources:
        projects.setdefault(r.project_key, []).append(r)
    return projects


def observation(resources: Iterable[Any], existing_projects: Optional[set[str]] = None) -> Limit:
    """Reading every project the resources live in (all of them exist unless told otherwise)."""
    projects = _by_project(resources)
    existing = set(projects) if existing_projects is None else existing_projects & set(projects)
    limit = Limit(reads=1, chain=1, detail={"list_projects": 1})
    # One list per registered type inside a project; a GET per object of the types whose list
    # lacks what their translation needs (the same rule as engine/observe.py).
    lists = len(child_specs())
    read_one_by_one = {spec.type for spec in child_specs() if spec.handler.per_object_read}
    per_object = 0
    for key in existing:
        items = projects[key]
        per_object += sum(1 for r in items if r.type in read_one_by_one)
        limit.detail["project_documents"] = limit.detail.get("project_documents", 0) + PROJECT_DOCUMENTS
        limit.detail["lists"] = limit.detail.get("lists", 0) + lists
    limit.detail["object_reads"] = per_object
    limit.reads += (PROJECT_DOCUMENTS + lists) * len(existing) + per_object
    if existing:
        limit.chain = 3 if per_object else 2
    if set(projects) - existing:
        # A plan creating a project asks who the key's user is (one request, after planning):
        # a key that is no administrator's gets a note that DSS may refuse the create.
        limit.detail["identity"] = 1
        limit.reads += 1
        limit.chain += 1
    return limit


def create_writes(resource: Any) -> int:
    """Writes needed to create `resource` with every declared attribute."""
    return len(create_requests(resource)[0])


def create_requests(resource: Any) -> tuple[list[str], list[str]]:
    """(writes, reads) needed to create `resource`; reads name what is read, "list" being the
    per-project list of its type (shared by every create of that type in the project)."""
    attrs = resource.attributes
    if resource.type == "scenario":
        return ["POST"], []  # the create body is the whole definition
    if resource.type == "project":
        # POST /projects/ carries name, owner, description, tags and permissions; not custom
        # metadata, so the state's marker (resources/project.py) is one metadata save, which
        # also carries a short description.
        writes, reads = ["POST", "PUT metadata"], ["GET metadata"]
        if any((attrs.get("variables") or {}).get(s) for s in ("standard", "local")):
            writes.append("PUT variables")
        envs = attrs.get("code_env") or {}
        if any(v not in (None, "inherit") for v in envs.values()) or attrs.get("container", "inherit") != "inherit":
            writes.append("PUT settings")
            reads.append("GET settings")
        return writes, reads
    carried = CREATE_KEYS.get("recipe" if resource.type == "recipe" else resource.type if resource.type == "managed_folder"
                              else attrs.get("kind") if resource.type == "dataset" else "")
    if carried is None:
        # A type whose create this table does not describe (a newly registered one): one request,
        # the least any create costs, so the limit stays a lower bound without editing this file.
        return ["POST"], []
    if not [k for k, v in attrs.items() if k not in carried and NEUTRAL.get(k, object()) != v]:
        return ["POST"], []
    return ["POST", "PUT"], ["GET" if resource.type == "recipe" else "list"]


def _chain(resources: dict[str, Any], weight: dict[str, int], reverse: bool) -> int:
    """Longest weighted path through the dependency graph (reversed for deletes)."""
    edges: dict[str, list[str]] = {a: [] for a in resources}
    for address, r in resources.items():
        for dep in r.depends_on:
            if dep in resources:
                if reverse:
                    edges[dep].append(address)  # a dependent is deleted before what it uses
                else:
                    edges[address].append(dep)
    memo: dict[str, int] = {}

    def longest(address: str) -> int:
        # Iterative DFS: 10,000 resources would overflow the recursion limit on deep Flows.
        stack = [(address, False)]
        while stack:
            node, expanded = stack.pop()
            if node in memo:
                continue
            if expanded:
                memo[node] = weight[node] + max((memo[d] for d in edges[node]), default=0)
                continue
            stack.append((node, True))
            stack.extend((d, False) for d in edges[node] if d not in memo)
        return memo[address]

    return max((longest(a) for a in resources), default=0)


def first_apply(desired: Any) -> Limit:
    """Everything is created: `GET /projects/` (nothing exists yet), then the creates."""
    resources = dict(desired.resources)
    costs = {a: create_requests(r) for a, r in resources.items()}
    # A create-then-save is POST, read, PUT in sequence; the list read is shared per project.
    weight = {a: len(w) + len(r) for a, (w, r) in costs.items()}
    lists = {(resources[a].project_key, resources[a].type) for a, (_w, r) in costs.items() if "list" in r}
    reads = sum(1 for _w, r in costs.values() for x in r if x != "list") + len(lists)
    limit = Limit(reads=1 + reads, writes=sum(len(w) for w, _r in costs.values()), detail={"list_projects": 1})
    limit.chain = 1 + _chain(resources, weight, reverse=False)
    if any(r.type == "project" and not r.attributes.get("owner") for r in resources.values()):
        # The owner of a new project defaults to the caller: one GET /auth/info for the run.
        limit.reads += 1
        limit.detail["auth_info"] = 1
    limit.detail["creates"] = len(costs)
    limit.detail["saves_after_create"] = sum(len(w) - 1 for w, _r in costs.values())
    limit.detail["reads_for_saves"] = reads
    return limit


def changed_addresses(before: Any, after: Any) -> set[str]:
    """Addresses whose declared attributes differ between two desired models."""
    changed = {a for a in after.resources if a in before.resources and after.resources[a].attributes != before.resources[a].attributes}
    return changed | (set(after.resources) ^ set(before.resources))


def update_apply(desired: Any, changed: set[str]) -> Limit:
    """Observe everything, then one write per changed object."""
    observe = observation(desired.resources.values())
    resources = {a: r for a, r in desired.resources.items() if a in changed}
    weight = dict.fromkeys(resources, 1)
    limit = Limit(reads=observe.reads, writes=len(resources), detail=dict(observe.detail))
    limit.detail["updates"] = len(resources)
    limit.chain = observe.chain + _chain(resources, weight, reverse=False)
    return limit


def destroy(desired: Any) -> Limit:
    """Observe everything, then one delete per object, dependents first."""
    observe = observation(desired.resources.values())
    resources = dict(desired.resources)
    weight = dict.fromkeys(resources, 1)
    limit = Limit(reads=observe.reads, writes=len(resources), detail=dict(observe.detail))
    limit.detail["deletes"] = len(resources)
    limit.chain = observe.chain + _chain(resources, weight, reverse=True)
    return limit
