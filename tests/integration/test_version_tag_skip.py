"""Recipes and scenarios whose listed version proves them unchanged are not read again (and only those).

After an apply, the state records the versionTag of each recipe and scenario it wrote, marked in
sync (Executor._learn_version_tags), when it is provably the version its own writes produced. A
later observation skips the per-object GET while the list shows that version
(observe.recorded_stand_ins): for recipes the listed versionTag; for scenarios, whose list items
carry no versionTag (as on DSS), the listed `lastModifiedOn` plus the name, active flag, run-as
user and tags the item shows. Anything that saves the object, the configuration changing it, or
the flag being off brings the read back.
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


def test_unchanged_recipes_and_scenarios_are_not_read_again(root, dss) -> None:
    _applied(root, dss)
    state = _session(root, dss).state_reader().read()
    tags = {a: e.version_tag for a, e in state.resources.items() if e.type in ("recipe", "scenario")}
    assert len(tags) == 3 and all(t and t.get(IN_SYNC) is True for t in tags.values()), tags

    dss.admin.clear_requests()
    result = _session(root, dss).plan()
    assert not result.plan.has_changes
    assert _reads(dss, RECIPE_READ) == []
    assert _reads(dss, SCENARIO_READ) == []  # the listed lastModifiedOn is the one recorded

    dss.admin.clear_requests()
    report = _session(root, dss).drift()
    assert not report.has_drift
    assert _reads(dss, RECIPE_READ) == [] and _reads(dss, SCENARIO_READ) == []


@pytest.mark.parametrize(
    ("edit", "drifts"),
    [
        (lambda raw: raw["triggers"].append({"type": "temporal", "params": {"frequency": "Daily", "hour": 3}}), True),
        (lambda raw: raw.update(active=True), True),
        (lambda raw: None, False),  # a save that changes nothing still moves lastModifiedOn
    ],
    ids=["trigger", "active", "no-op save"],
)
def test_a_scenario_saved_behind_our_back_is_read_again(root, dss, edit, drifts) -> None:
    _applied(root, dss)
    settings = dss.client().get_project("VT").get_scenario("NIGHTLY").get_settings()
    edit(settings.get_raw())
    settings.save()
    dss.admin.clear_requests()
    report = _session(root, dss).drift()
    assert _reads(dss, SCENARIO_READ) == ["/projects/VT/scenarios/NIGHTLY"]  # and no recipe
    assert _reads(dss, RECIPE_READ) == []
    found = [(i.address, i.kind) for i in report.items]
    assert found == ([("scenario.VT.NIGHTLY", "changed")] if drifts else [])
    unskipped = _session(root, dss, trust_list_version_tags=False).drift()
    assert [(i.address, i.kind) for i in unskipped.items] == found


def test_a_scenario_updated_by_the_apply_is_learned_with_one_read(root, dss) -> None:
    _applied(root, dss)
    text = (root / "projects" / "vt.yml").read_text().replace("name: Nightly", "name: Nightly v2")
    (root / "projects" / "vt.yml").write_text(text)
    dss.admin.clear_requests()
    _applied(root, dss)
    puts = [e["path"] for e in dss.admin.requests() if e["method"] == "PUT"]
    assert puts == ["/projects/VT/scenarios/NIGHTLY"]
    # One read to plan (the config changed it), one to save (read-modify-write), one to learn the
    # version the save produced: no scenario list, which carries no version number.
    assert _reads(dss, SCENARIO_READ) == ["/projects/VT/scenarios/NIGHTLY"] * 3
    assert [e["path"] for e in dss.admin.requests()].count("/projects/VT/scenarios/") == 1  # the plan's list
    state = _session(root, dss).state_reader().read()
    assert state.get("scenario.VT.NIGHTLY").version_tag[IN_SYNC] is True
    dss.admin.clear_requests()
    assert not _session(root, dss).plan().plan.has_changes
    assert _reads(dss, SCENARIO_READ) == []


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
    assert len(_reads(dss, RECIPE_READ)) == 2 and len(_reads(dss, SCENARIO_READ)) == 1
    dss.admin.clear_requests()
    env = {"DKU_DSS_URL": dss.url, "DKU_API_KEY": dss.api_key, "DATAIKU_IAC_TRUST_LIST_VERSION_TAGS": "0"}
    assert not Session(root, "dev", environ=env).plan().plan.has_changes
    assert len(_reads(dss, RECIPE_READ)) == 2 and len(_reads(dss, SCENARIO_READ)) == 1


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
    executor._written.append(_Written("recipe.VT.r", "VT", "recipe", "r", expected, None))
    doc = _state(None)
    executor._learn_version_tags(doc)
    tag = doc.get("recipe.VT.r").version_tag
    if recorded:  # someone else's save in between would have given another number
        assert tag == {"versionNumber": 5, "lastModifiedOn": 2000, IN_SYNC: True}
    else:
        assert tag is None


def _scenario_state(tag, **attributes) -> StateDocument:
    state = StateDocument.new("dev")
    attrs = {"name": "Nightly", "active": False, "tags": ["b", "a"], **attributes}
    state.put(
        ResourceState(
            address="scenario.VT.N", type="scenario", project_key="VT", name="N", dss_id="N_id",
            attributes=attrs, version_tag=tag, depends_on=["project.VT"], protect=False, origin="created",
        )
    )
    return state


def test_scenario_stand_in_rules() -> None:
    """DSS lists scenarios without versionTag: the listed lastModifiedOn must be the recorded one, and
    what the item shows (name, active, run-as user, tags) must agree with the recorded attributes."""
    tag = {"versionNumber": 2, "lastModifiedOn": 5000}
    item = {"id": "N_id", "name": "Nightly", "active": False, "tags": ["a", "b"], "lastModifiedOn": 5000, "createdOn": 10}
    reuse = recorded_stand_ins(_scenario_state({**tag, IN_SYNC: True}), None)
    stand_in = reuse("VT", "scenario", item)
    assert stand_in is not None and stand_in.dss_id == "N_id" and stand_in.version_tag == tag
    assert reuse("VT", "scenario", {**item, "lastModifiedOn": 5001}) is None  # saved since
    assert reuse("VT", "scenario", {k: v for k, v in item.items() if k != "lastModifiedOn"}) is None
    assert reuse("VT", "scenario", {**item, "lastModifiedOn": 0}) is None
    assert reuse("VT", "scenario", {**item, "active": True}) is None  # shown changed, whatever the time
    assert reuse("VT", "scenario", {**item, "name": "Renamed"}) is None
    assert reuse("VT", "scenario", {**item, "tags": ["a"]}) is None
    assert reuse("VT", "scenario", {**item, "runAsUser": "someone"}) is not None  # run_as not managed
    declared_run_as = recorded_stand_ins(_scenario_state({**tag, IN_SYNC: True}, run_as=None), None)
    assert declared_run_as("VT", "scenario", {**item, "runAsUser": "someone"}) is None
    assert declared_run_as("VT", "scenario", item) is not None  # runAsUser left out: not set
    assert recorded_stand_ins(_scenario_state(tag), None)("VT", "scenario", item) is None  # not in sync


class _FakeScenario:
    def __init__(self, number: int):
        self.number = number

    def get_settings(self):
        return self

    def get_raw(self) -> dict:
        return {"id": "N_id", "versionTag": {"versionNumber": self.number, "lastModifiedOn": 7000}}


class _FakeScenarioProject:
    def __init__(self, number: int):
        self.number = number

    def get_scenario(self, sid: str) -> _FakeScenario:
        assert sid == "N_id"
        return _FakeScenario(self.number)

    def list_scenarios(self) -> list:
        raise AssertionError("scenario list items carry no version number: never listed to learn")


@pytest.mark.parametrize(("live", "recorded"), [(3, True), (4, False)])
def test_a_saved_scenario_version_is_learned_from_its_document(live, recorded) -> None:
    from dataiku_iac.engine.executor import Executor, _Written
    from dataiku_iac.model import DesiredState

    class Connection:
        def client(self):
            class Client:
                def get_project(self, key):
                    return _FakeScenarioProject(live)

            return Client()

    executor = Executor(Connection(), writer=None, desired=DesiredState(), contexts={}, learn_version_tags=True)
    executor._written.append(_Written("scenario.VT.N", "VT", "scenario", "N_id", 3, None))
    doc = _scenario_state(None)
    executor._learn_version_tags(doc)
    tag = doc.get("scenario.VT.N").version_tag
    assert tag == ({"versionNumber": 3, "lastModifiedOn": 7000, IN_SYNC: True} if recorded else None)


def test_an_object_not_saved_after_its_read_is_learned_without_a_request() -> None:
    from dataiku_iac.engine.executor import Executor, _Written
    from dataiku_iac.model import DesiredState

    class NoConnection:
        def client(self):
            raise AssertionError("no request: the version read is the current one")

    executor = Executor(NoConnection(), writer=None, desired=DesiredState(), contexts={}, learn_version_tags=True)
    read = {"versionNumber": 0, "lastModifiedOn": 6000}
    executor._written.append(_Written("scenario.VT.N", "VT", "scenario", "N_id", 0, read))
    doc = _scenario_state(None)
    executor._learn_version_tags(doc)
    assert doc.get("scenario.VT.N").version_tag == {**read, IN_SYNC: True}
