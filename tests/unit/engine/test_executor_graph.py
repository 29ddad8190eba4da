"""The executor's dependency graph and its scheduling, without DSS.

`dependency_graph` decides what waits for what; `Executor.apply` runs the actions along it, and
a failed action skips everything that (transitively) waits on it, but nothing else. The DSS
calls are replaced by a recorder (the executor's `_run_one`), so these tests see only the order.
"""

from __future__ import annotations

import random
import threading
from graphlib import TopologicalSorter
from typing import Optional

import pytest
from dataiku_iac.dssclient import DssConnection
from dataiku_iac.engine.executor import ApplyResult, Executor, dependency_graph
from dataiku_iac.model import DesiredState
from dataiku_iac.planner.plan import Action, Plan, ResourceChange
from dataiku_iac.state import LocalBlobStore, ResourceState, StateDocument, StateWriter
from hypothesis import given, settings
from hypothesis import strategies as st

CREATE, UPDATE, REPLACE, DELETE, FORGET, NOOP = (
    Action.CREATE, Action.UPDATE, Action.REPLACE, Action.DELETE, Action.FORGET, Action.NOOP,
)


def change(address: str, action: Action, *deps: str) -> ResourceChange:
    type_, key, *rest = address.split(".")
    return ResourceChange(address=address, type=type_, project_key=key, name=rest[0] if rest else key,
                          action=action, reason="test", depends_on=tuple(deps))


# -- the graph ---------------------------------------------------------------------------------
def test_a_dropped_use_never_closes_a_loop() -> None:
    """Found by the plan/apply property test: S_A stops running S_C and building b, a is replaced
    (managed -> filesystem) and S_A still builds it. S_C's delete waits for a's replace (it used
    a), a's replace must come before S_A's update: S_C's delete cannot also wait for S_A's
    update, or nothing runs. b's delete still waits for S_A's update."""
    actions = [
        change("dataset.P.a", REPLACE),
        change("dataset.P.b", DELETE),
        change("scenario.P.S_A", UPDATE, "dataset.P.a"),
        change("scenario.P.S_C", DELETE, "dataset.P.a"),
    ]
    recorded = {"scenario.P.S_A": ("dataset.P.a", "dataset.P.b", "scenario.P.S_C")}
    waits = dependency_graph(actions, recorded)
    assert list(TopologicalSorter(waits).static_order())  # no cycle
    assert waits["dataset.P.b"] == {"scenario.P.S_A"}
    assert waits["scenario.P.S_C"] == set()


def test_creates_and_updates_wait_for_the_writes_of_what_they_use() -> None:
    actions = [
        change("project.P", CREATE),
        change("dataset.P.a", CREATE, "project.P"),
        change("recipe.P.r", UPDATE, "project.P", "dataset.P.a", "dataset.P.b"),
        change("dataset.P.b", NOOP, "project.P"),
        change("scenario.P.s", REPLACE, "project.P", "recipe.P.r"),
    ]
    assert dependency_graph(actions) == {
        "project.P": set(),
        "dataset.P.a": {"project.P"},
        "recipe.P.r": {"project.P", "dataset.P.a"},  # b is in sync: nothing to wait for
        "dataset.P.b": set(),  # a no-op waits for nothing (the executor does not even run it)
        "scenario.P.s": {"project.P", "recipe.P.r"},
    }


def test_deletes_run_children_first() -> None:
    actions = [
        change("project.P", DELETE),
        change("dataset.P.a", DELETE, "project.P"),
        change("recipe.P.r", DELETE, "project.P", "dataset.P.a"),
        change("dataset.P.gone", FORGET, "project.P"),
    ]
    assert dependency_graph(actions) == {
        "project.P": {"dataset.P.a", "recipe.P.r", "dataset.P.gone"},
        "dataset.P.a": {"recipe.P.r"},
        "recipe.P.r": set(),
        "dataset.P.gone": set(),
    }


def test_a_replaced_parent_waits_for_the_delete_of_its_children() -> None:
    actions = [change("dataset.P.a", REPLACE, "project.P"), change("recipe.P.r", DELETE, "project.P", "dataset.P.a")]
    assert dependency_graph(actions) == {"dataset.P.a": {"recipe.P.r"}, "recipe.P.r": set()}


def test_a_delete_waits_for_the_update_of_what_stops_using_it() -> None:
    """DSS deletes the recipes that use a managed folder with the folder: the recipe that stops
    writing the folder is saved first (the state recorded that it used the folder)."""
    actions = [
        change("managed_folder.P.f", DELETE, "project.P"),
        change("recipe.P.r", UPDATE, "project.P", "dataset.P.b"),
        change("dataset.P.old", FORGET, "project.P"),
        change("dataset.P.b", CREATE, "project.P"),
    ]
    recorded = {"recipe.P.r": ("project.P", "managed_folder.P.f", "dataset.P.old")}
    waits = dependency_graph(actions, recorded)
    assert waits["managed_folder.P.f"] == {"recipe.P.r"}
    assert waits["dataset.P.old"] == {"recipe.P.r"}
    assert waits["recipe.P.r"] == {"dataset.P.b"}
    assert dependency_graph(actions)["managed_folder.P.f"] == set()  # nothing recorded: no edge


def _random_flow(rng: random.Random, size: int) -> dict[str, tuple[str, ...]]:
    """address -> dependencies, each on earlier addresses only (a DAG, as the builder guarantees)."""
    addresses = [f"dataset.P.d{i:03d}" for i in range(size)]
    return {a: tuple(rng.sample(addresses[:i], k=min(i, rng.randint(0, 3)))) for i, a in enumerate(addresses)}


@settings(max_examples=100)
@given(seed=st.integers(0, 10**6), size=st.integers(1, 30), data=st.data())
def test_the_graph_orders_every_dependency_and_nothing_else(seed: int, size: int, data: st.DataObject) -> None:
    flow = _random_flow(random.Random(seed), size)
    kinds = data.draw(st.lists(st.sampled_from([CREATE, UPDATE, REPLACE, DELETE, FORGET, NOOP]), min_size=size, max_size=size))
    actions = [change(a, kind, *deps) for (a, deps), kind in zip(flow.items(), kinds)]
    action_of = {c.address: c.action for c in actions}
    waits = dependency_graph(actions)
    writes, removals = {CREATE, UPDATE, REPLACE}, {DELETE, FORGET}
    expected: dict[str, set[str]] = {a: set() for a in flow}
    for address, deps in flow.items():
        for dep in deps:
            if action_of[address] in writes and action_of[dep] in writes:
                expected[address].add(dep)
            elif action_of[address] in removals and action_of[dep] in removals | {REPLACE}:
                expected[dep].add(address)
    assert waits == expected
    _assert_acyclic(waits)


def _assert_acyclic(waits: dict[str, set[str]]) -> None:
    done: set[str] = set()
    pending = dict(waits)
    while pending:
        ready = [a for a, deps in pending.items() if deps <= done]
        assert ready, f"cycle among {sorted(pending)}"
        for address in ready:
            done.add(address)
            del pending[address]


# -- scheduling ---------------------------------------------------------------------------------
class RecordingExecutor(Executor):
    """Runs no DSS call: records the order actions start in and fails the addresses asked to."""

    def __init__(self, tmp_path, *, failing: frozenset = frozenset(), parallelism: int = 1,
                 stop_after: Optional[str] = None):
        writer = StateWriter(LocalBlobStore(tmp_path / "state"), environment="dev")
        super().__init__(DssConnection(factory=lambda: None), writer, DesiredState(environment="dev"), {},
                         parallelism=parallelism)
        self.failing = failing
        self.stop_after = stop_after
        self.started: list[str] = []
        self._started_lock = threading.Lock()

    def _run_one(self, change: ResourceChange, doc: StateDocument) -> None:
        with self._started_lock:
            self.started.append(change.address)
        if change.address in self.failing:
            raise RuntimeError(f"{change.address} failed")
        if change.address == self.stop_after:
            self.stop.set()


def run(executor: RecordingExecutor, actions: list[ResourceChange], state: Optional[StateDocument] = None) -> ApplyResult:
    state = state or StateDocument.new("dev")
    plan = Plan(environment="dev", lineage=state.lineage, serial=state.serial, config_digest="", changes=tuple(actions))
    return executor.apply(plan, state)


FLOW = [
    change("project.P", CREATE),
    change("dataset.P.a", CREATE, "project.P"),
    change("dataset.P.b", CREATE, "project.P"),
    change("recipe.P.a_to_c", CREATE, "project.P", "dataset.P.a", "dataset.P.c"),
    change("dataset.P.c", CREATE, "project.P"),
    change("scenario.P.build", CREATE, "project.P", "recipe.P.a_to_c"),
    change("dataset.P.z", NOOP, "project.P"),
]


def test_actions_run_in_dependency_order_lowest_address_first(tmp_path) -> None:
    executor = RecordingExecutor(tmp_path)
    result = run(executor, FLOW)
    assert executor.started == ["project.P", "dataset.P.a", "dataset.P.b", "dataset.P.c", "recipe.P.a_to_c",
                                "scenario.P.build"]
    assert result.ok and sorted(result.done) == sorted(executor.started) and not result.skipped


def test_in_parallel_the_longest_chain_starts_first(tmp_path) -> None:
    """At parallelism > 1 a ready action heading a longer chain of dependents starts before one with
    a lower address: the chain started last would end the run with the other workers idle."""
    chain = [change("scenario.P.z1", CREATE), change("scenario.P.z2", CREATE, "scenario.P.z1"),
             change("scenario.P.z3", CREATE, "scenario.P.z2")]
    short = [change(f"dataset.P.a{i}", CREATE) for i in range(4)]
    executor = RecordingExecutor(tmp_path, parallelism=2)
    result = run(executor, short + chain)
    assert executor.started[0] == "scenario.P.z1"
    assert result.ok and sorted(result.done) == sorted(c.address for c in short + chain)
    serial = RecordingExecutor(tmp_path / "serial")
    run(serial, short + chain)
    assert serial.started[:4] == [f"dataset.P.a{i}" for i in range(4)]  # parallelism 1: address order


def test_a_failure_skips_its_transitive_dependents_and_nothing_else(tmp_path) -> None:
    executor = RecordingExecutor(tmp_path, failing=frozenset({"dataset.P.a"}))
    result = run(executor, FLOW)
    assert result.failed == {"dataset.P.a": "dataset.P.a failed"}
    assert sorted(result.skipped) == ["recipe.P.a_to_c", "scenario.P.build"]
    assert sorted(result.done) == ["dataset.P.b", "dataset.P.c", "project.P"]
    assert not set(result.skipped) & set(executor.started) and not result.ok


def test_a_failed_project_skips_everything_in_it(tmp_path) -> None:
    executor = RecordingExecutor(tmp_path, failing=frozenset({"project.P"}), parallelism=4)
    result = run(executor, FLOW)
    assert executor.started == ["project.P"] and result.done == []
    assert sorted(result.skipped) == sorted(c.address for c in FLOW[1:6])


def test_a_stop_request_starts_nothing_new(tmp_path) -> None:
    executor = RecordingExecutor(tmp_path, stop_after="dataset.P.a")
    result = run(executor, FLOW)
    assert executor.started == ["project.P", "dataset.P.a"]
    assert result.stopped and sorted(result.skipped) == sorted(c.address for c in FLOW[2:6])


def test_a_folder_is_deleted_after_the_recipe_that_stops_writing_it_is_saved(tmp_path) -> None:
    state = StateDocument.new("dev")
    for address, deps in [("project.P", []), ("dataset.P.b", ["project.P"]), ("managed_folder.P.f", ["project.P"]),
                          ("recipe.P.r", ["project.P", "dataset.P.b", "managed_folder.P.f"])]:
        type_, key, *rest = address.split(".")
        name = rest[0] if rest else key
        state.put(ResourceState(address, type_, key, name, name, {}, None, deps))
    actions = [change("managed_folder.P.f", DELETE, "project.P"), change("recipe.P.r", UPDATE, "project.P", "dataset.P.b")]
    executor = RecordingExecutor(tmp_path)
    run(executor, actions, state)
    assert executor.started == ["recipe.P.r", "managed_folder.P.f"]


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 10**6), size=st.integers(1, 25), parallelism=st.integers(1, 4), data=st.data())
def test_nothing_starts_before_what_it_waits_on_is_done_and_failures_only_skip_dependents(
    tmp_path_factory: pytest.TempPathFactory, seed: int, size: int, parallelism: int, data: st.DataObject
) -> None:
    flow = _random_flow(random.Random(seed), size)
    actions = [change(a, CREATE, *deps) for a, deps in flow.items()]
    failing = frozenset(data.draw(st.sets(st.sampled_from(sorted(flow)), max_size=3)))
    executor = RecordingExecutor(tmp_path_factory.mktemp("graph"), failing=failing, parallelism=parallelism)
    result = run(executor, actions)
    position = {a: i for i, a in enumerate(executor.started)}
    for address in executor.started:
        assert all(dep in result.done and position[dep] < position[address] for dep in flow[address])
    blocked = _downstream(flow, failing)
    assert set(result.failed) == failing - blocked
    assert set(result.skipped) == blocked
    assert set(result.done) == set(flow) - failing - blocked
    assert len(result.done) + len(result.failed) + len(result.skipped) == size


def _downstream(flow: dict[str, tuple[str, ...]], failing: frozenset) -> set[str]:
    """Everything that transitively depends on an address that fails and is itself run."""
    blocked: set[str] = set()
    for address in flow:  # flow is in dependency order
        if any(dep in blocked or dep in failing for dep in flow[address]):
            blocked.add(address)
    return blocked


def test_skip_dependents_skips_transitively_only_what_is_unsettled() -> None:
    dependents = {"a": ["b", "c"], "b": ["d"], "c": ["d"], "d": ["e"], "e": [], "x": []}
    result = ApplyResult(state=StateDocument.new("dev"))
    unsettled = {"b", "d", "e", "x"}  # c already ran
    Executor._skip_dependents("a", dependents, unsettled, result)
    assert sorted(result.skipped) == ["b", "d", "e"] and result.skipped.count("d") == 1
    assert unsettled == {"x"}
