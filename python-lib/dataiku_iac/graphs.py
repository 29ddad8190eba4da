"""Cycles in small directed graphs, for the checks of a configuration (dependencies between
resources, a Flow's datasets, scenarios starting each other) and their messages; the walk down a
graph that impact analysis makes (planner/impact.py); and the dependency graph of a
configuration, as `dataiku-iac graph` and the console show it."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any, Callable, Hashable, Iterable, Optional, Sequence, TypeVar

Node = TypeVar("Node", bound=Hashable)
Label = TypeVar("Label")


def find_cycle(edges: dict[Any, set[Any]]) -> Optional[list[Any]]:
    """One cycle of the directed graph `edges` (node -> successors), as a node list, or None.

    Iterative depth-first search with an explicit stack: a chain of any length (10,000
    datasets in a row) must not exhaust Python's recursion limit. Nodes and successors are
    visited in sorted order, so the cycle reported is always the same one.
    """
    done: set[Any] = set()
    for root in sorted(edges):
        if root in done:
            continue
        on_path: dict[Any, int] = {root: 0}  # node -> its position in `path`
        path = [root]
        stack = [iter(sorted(edges.get(root, ())))]
        while stack:
            nxt = next(stack[-1], _END)
            if nxt is _END:
                stack.pop()
                node = path.pop()
                del on_path[node]
                done.add(node)
            elif nxt in on_path:
                return path[on_path[nxt]:]
            elif nxt not in done:
                on_path[nxt] = len(path)
                path.append(nxt)
                stack.append(iter(sorted(edges.get(nxt, ()))))
    return None


_END = object()


def loop_text(cycle: list[str], *, keep: int = 4) -> str:
    """`a -> b -> c -> a`; a long loop (a Flow of a thousand datasets) keeps its first and last
    `keep` names around `… (N more) …`, so the message stays one readable line."""
    names = [*cycle, cycle[0]]
    if len(cycle) <= 2 * keep + 1:
        return " -> ".join(names)
    hidden = len(names) - 2 * keep
    return " -> ".join([*names[:keep], f"… ({hidden} more) …", *names[-keep:]])


def breadth_first(
    starts: Iterable[Node], successors: Callable[[Node], Iterable[tuple[Node, Label]]]
) -> list[tuple[Node, Label, Node, int]]:
    """Every node reachable from `starts`, nearest first and each once, as (node, the label of the
    edge that reached it first, the node it was reached from, its distance from the starts). The
    starts themselves are not listed. Iterative: a Flow of any depth is walked without recursion."""
    starts = list(starts)
    seen = set(starts)
    queue: deque[tuple[Node, int]] = deque((start, 0) for start in starts)
    found: list[tuple[Node, Label, Node, int]] = []
    while queue:
        node, depth = queue.popleft()
        for nxt, label in successors(node):
            if nxt in seen:
                continue
            seen.add(nxt)
            found.append((nxt, label, node, depth + 1))
            queue.append((nxt, depth + 1))
    return found


# -- the dependency graph of a configuration (`dataiku-iac graph`, the console's picture) -----------


@dataclass(frozen=True)
class GraphNode:
    """One resource of the configuration: its address, type, project (as the configuration
    writes its key) and name."""

    address: str
    type: str
    project: str
    name: str


@dataclass(frozen=True)
class DependencyGraph:
    """The resources and their dependencies, as the planner orders changes and the executor runs
    them (`Resource.depends_on`): an edge (A, B) says A depends on B, so B is created first and
    deleted last. Nodes in registry (dependency) order of their type, then by address; edges
    sorted: the same configuration always gives the same graph, byte for byte once rendered."""

    nodes: tuple[GraphNode, ...]
    edges: tuple[tuple[str, str], ...]

    def projects(self) -> list[str]:
        """The projects, in the order of their first node."""
        return list(dict.fromkeys(n.project for n in self.nodes))


def dependency_graph(resources: Iterable[Any], *, type_order: Sequence[str] = (), targets: Iterable[str] = ()) -> DependencyGraph:
    """The graph of `resources` (model.Resource: address, type, config_project, name, depends_on);
    with `targets`, only the targets and what they depend on (as `plan --target` selects).
    `type_order`: the registry's order of types (unknown types last)."""
    by_address = {r.address: r for r in resources}
    selected = set(by_address)
    if targets:
        selected = set()
        todo = [t for t in targets if t in by_address]
        while todo:
            address = todo.pop()
            if address not in selected:
                selected.add(address)
                todo.extend(d for d in by_address[address].depends_on if d in by_address)
    rank = {t: i for i, t in enumerate(type_order)}
    ordered = sorted(selected, key=lambda a: (rank.get(by_address[a].type, len(rank)), a))
    nodes = tuple(
        GraphNode(a, by_address[a].type, by_address[a].config_project, by_address[a].name) for a in ordered
    )
    edges = tuple(sorted(
        (a, dep) for a in selected for dep in set(by_address[a].depends_on) if dep in selected
    ))
    return DependencyGraph(nodes, edges)
