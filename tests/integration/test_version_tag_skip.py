"""Recipes whose listed versionTag proves them unchanged are not read again (and only those).

After an apply, the state records the versionTag of each recipe it wrote, marked in sync
(Executor._learn_version_tags), when the recipe list shows the version its own writes
produced. A later observation skips the per-recipe GET while the listed versionTag is that
one (observe.recorded_stand_ins). Anything that bumps the versionTag, the configuration
changing the recipe, or the flag being off brings the read back. The emulator's recipe list
carries versionTags; its scenario list does not, so scenarios are always read.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from dataiku_iac.engine.observe import IN_SYNC, recorded_stand_ins
from dataiku_iac.engine.session import Session
from dataiku_iac.planner.plan import PlanOptions
from dataiku_iac.state import ResourceState, StateDocument

PROJECT = """\
project:
  key: VT
  name: Version tags
datasets:
  - {name: a, type: managed, format: csv}
  - {name: b, type: managed, format: csv}
  - {name: c, type: managed, format: csv}
recipes:
  - name: make_b
    type: python
    inputs: [a]
    outputs: [b]
    code: "print('b')\\n"
    description: first
  - name: make_c
    type: sync
    inputs: [b]
    outputs: [c]
scenarios:
  - id: NIGHTLY
    name: Nightly
    steps:
      - {type: build, datasets: [c]}
"""
RECIPE_READ = re.compile(r"^/projects/VT/recipes/[^/]+$")
SCENARIO_READ = re.compile(r"^/projects/VT/scenarios/[^/]+$")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "cfg"
    (root / "projects").mkdir(parents=True)
    (root / "environments").mkdir()
    (root / "environments" / "dev.yml").write_text("dss:\n  api_key_env: DKU_API_KEY\n")
    (root / "projects" / "vt.yml").write_text(PROJECT)
    return root


def _session(root: Path, dss, **kwargs) -> Session:
    return Session(root, "dev", environ={"DKU_DSS_URL": dss.url, "DKU_API_KEY": dss.api_key}, **kwargs)


def _reads(dss, pattern: re.Pattern) -> list[str]:
    return [e["path"] for e in dss.admin.requests() if e["method"] == "GET" and pattern.match(e["path"])]


def _applied(root: Path, dss) -> None:
    _, applied = _session(root, dss).apply(PlanOptions())
    assert applied is not None and applied.ok


def test_unchanged_recipes_are_not_read_again(root, dss) -> None:
    _applied(root, dss)
    state = _session(root, dss).state_reader().read()
    tags = {a: e.version_tag for a, e in state.resources.items() if e.type == "recipe"}
    assert all(t and t.get(IN_SYNC) is True for t in tags.values()), tags

    dss.admin.clear_requests()
    result = _session(root, dss).plan()
    assert not result.plan.has_changes
    assert _reads(dss, RECIPE_READ) == []
    assert len(_reads(dss, SCENARIO_READ)) == 1  # no versionTag in the emulator's scenario list

    dss.admin.clear_requests()
    report = _session(root, dss).drift()
    assert not report.has_drift
    assert _reads(dss, RECIPE_READ) == []


def test_an_out_of_band_change_bumps_the_version_and_is_seen(root, dss) -> None:
    _applied(root, dss)
    settings = dss.client().get_project("VT").get_recipe("make_b").get_settings()
    settings.set_payload("print('changed behind our back')\n")
    settings.save()

    dss.admin.clear_requests()
    report = _session(root, dss).drift()
    assert _reads(dss, RECIPE_READ) == ["/projects/VT/recipes/make_b"]  # only the bumped one
    assert [(i.address, i.kind) for i in report.items] == [("recipe.VT.make_b", "changed")]

    plan = _session(root, dss).plan().plan
    assert [(c.address, c.action.value) for c in plan.changes if c.action.value != "no-op"] == [("recipe.VT.make_b", "update")]
    _applied(root, dss)  # puts the code back, and learns the new version
    dss.admin.clear_requests()
    assert not _session(root, dss).plan().plan.has_changes
    assert _reads(dss, RECIPE_READ) == []


def test_a_save_that_changes_nothing_still_bumps_the_version(root, dss) -> None:
    _applied(root, dss)
    dss.client().get_project("VT").get_recipe("make_c").get_settings().save()  # a no-op save
    dss.admin.clear_requests()
    assert not _session(root, dss).plan().plan.has_changes
    assert _reads(dss, RECIPE_READ) == ["/projects/VT/recipes/make_c"]


def test_a_recipe_changed_in_the_config_is_read(root, dss) -> None:
    _applied(root, dss)
    text = (root / "projects" / "vt.yml").read_text().replace("description: first", "description: second")
    (root / "projects" / "vt.yml").write_text(text)
    dss.admin.clear_requests()
    plan = _session(root, dss).plan().plan
    assert _reads(dss, RECIPE_READ) == ["/projects/VT/recipes/make_b"]
    change = next(c for c in plan.changes if c.address == "recipe.VT.make_b")
    assert change.action.value == "update" and change.before["description"] == "first"


def test_the_flag_turns_it_off(root, dss) -> None:
    _applied(root, dss)
    dss.admin.clear_requests()
    assert not _session(root, dss, trust_list_version_tags=False).plan().plan.has_changes
    assert len(_reads(dss, RECIPE_READ)) == 2
    dss.admin.clear_requests()
    env = {"DKU_DSS_URL": dss.url, "DKU_API_KEY": dss.api_key, "DATAIKU_IAC_TRUST_LIST_VERSION_TAGS": "0"}
    assert not Session(root, "dev", environ=env).plan().plan.has_changes
    assert len(_reads(dss, RECIPE_READ)) == 2


# -- the stand-in rule, unit by unit ---------------------------------------------------------
def _state(tag) -> StateDocument:
    state = StateDocument.new("dev")
    state.put(
        ResourceState(
            address="recipe.VT.r", type="recipe", project_key="VT", name="r", dss_id="r",
            attributes={"kind": "sync"}, version_tag=tag, depends_on=["project.VT"], protect=False, origin="created",
        )
    )
    return state


def test_stand_in_rules() -> None:
    tag = {"versionNumber": 3, "lastModifiedOn": 1000}
    item = {"name": "r", "versionTag": dict(tag, lastModifiedBy={"login": "admin"})}
    reuse = recorded_stand_ins(_state({**tag, IN_SYNC: True}), None)
    stand_in = reuse("VT", "recipe", item)
    assert stand_in is not None and stand_in.attributes == {"kind": "sync"}
    assert reuse("VT", "recipe", {"name": "r"}) is None  # the list carries no versionTag
    assert reuse("VT", "recipe", {"name": "r", "versionTag": {"versionNumber": 4, "lastModifiedOn": 1001}}) is None
    assert reuse("VT", "recipe", {"name": "other", "versionTag": tag}) is None
    assert recorded_stand_ins(_state(tag), None)("VT", "recipe", item) is None  # not marked in sync (e.g. imported)
    assert recorded_stand_ins(_state(None), None)("VT", "recipe", item) is None


class _FakeProject:
    def list_recipes(self) -> list:
        return [{"name": "r", "versionTag": {"versionNumber": 5, "lastModifiedOn": 2000}}]


class _FakeClient:
    def get_project(self, key: str) -> _FakeProject:
        return _FakeProject()


class _FakeConnection:
    def client(self) -> _FakeClient:
        return _FakeClient()


@pytest.mark.parametrize(("expected", "recorded"), [(5, True), (4, False), (6, False)])
def test_a_version_is_learned_only_if_our_writes_produced_it(expected, recorded) -> None:
    from dataiku_iac.engine.executor import Executor, _Written
    from dataiku_iac.model import DesiredState

    executor = Executor(_FakeConnection(), writer=None, desired=DesiredState(), contexts={}, learn_version_tags=True)
    executor._written.append(_Written("recipe.VT.r", "VT", "recipe", "r", expected))
    doc = _state(None)
    executor._learn_version_tags(doc)
    tag = doc.get("recipe.VT.r").version_tag
    if recorded:  # someone else's save in between would have given another number
        assert tag == {"versionNumber": 5, "lastModifiedOn": 2000, IN_SYNC: True}
    else:
        assert tag is None
