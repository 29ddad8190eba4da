"""benchmarks/limits.py derives its observation yardstick from the registry: a new type adds
one list per project (and one GET per object when its handler reads objects one by one),
without editing the benchmark."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

from dataiku_iac.resources.registry import child_specs, registered

from tests.support import throwaway_type

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import limits


def some_objects() -> list[SimpleNamespace]:
    return [SimpleNamespace(project_key="P", type=t, attributes={}) for t in ("dataset", "recipe", "scenario")]


def test_observation_lists_every_registered_type_once_per_project() -> None:
    before = limits.observation(some_objects())
    assert before.detail["lists"] == len(child_specs())
    assert before.detail["object_reads"] == 2  # the recipe and the scenario
    with registered(throwaway_type.SPEC):
        after = limits.observation(some_objects())
    assert after.detail["lists"] == before.detail["lists"] + 1
    assert after.reads == before.reads + 1


def test_a_type_read_one_by_one_costs_one_read_per_object() -> None:
    handler = throwaway_type.NotebookHandler()
    handler.per_object_read = True
    objects = some_objects() + [SimpleNamespace(project_key="P", type=throwaway_type.TYPE, attributes={})]
    with registered(replace(throwaway_type.SPEC, handler=handler)):
        limit = limits.observation(objects)
    assert limit.detail["object_reads"] == 3


def test_a_type_the_create_table_does_not_describe_costs_one_create_request() -> None:
    """A type registered after the benchmark was written (an ML task, a dashboard) counts one POST
    per create: the first apply's limit stays a lower bound instead of failing on the type."""
    objects = {"a": SimpleNamespace(project_key="P", type=throwaway_type.TYPE, attributes={"language": "sql"},
                                    depends_on=())}
    with registered(throwaway_type.SPEC):
        limit = limits.first_apply(SimpleNamespace(resources=objects))
    assert (limit.writes, limit.detail["saves_after_create"], limit.detail["reads_for_saves"]) == (1, 0, 0)
