"""Cycles in small directed graphs, for the checks of a configuration (dependencies between
resources, a Flow's datasets, scenarios starting each other) and their messages; the walk down a
graph that impact analysis makes (planner/impact.py)."""

from __future__ import annotations

from collections import deque
from typing import Any, Callable, Hashable, Iterable, Optional, TypeVar

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
