"""Properties of `builder.find_cycle` (the Flow, scenario-call and dependency cycle checks) against
graphlib's topological sort: it finds a cycle exactly when there is one, what it returns is a real
cycle, and the answer does not depend on the order the graph was built in."""

from __future__ import annotations

import graphlib
import random

from dataiku_iac.builder import find_cycle
from hypothesis import given, settings
from hypothesis import strategies as st

GRAPHS = st.dictionaries(st.integers(0, 12), st.sets(st.integers(0, 12), max_size=4), max_size=12)


def has_cycle(edges: dict[int, set[int]]) -> bool:
    try:
        graphlib.TopologicalSorter(edges).prepare()
    except graphlib.CycleError:
        return True
    return False


@settings(max_examples=400)
@given(edges=GRAPHS, seed=st.integers(0, 1000))
def test_a_cycle_is_found_exactly_when_there_is_one_and_it_is_real(edges: dict[int, set[int]], seed: int) -> None:
    cycle = find_cycle(edges)
    assert (cycle is not None) == has_cycle(edges)
    if cycle is not None:
        assert len(set(cycle)) == len(cycle)
        assert all(b in edges.get(a, set()) for a, b in zip(cycle, cycle[1:] + cycle[:1])), cycle
    shuffled = list(edges.items())
    random.Random(seed).shuffle(shuffled)
    assert find_cycle(dict(shuffled)) == cycle
