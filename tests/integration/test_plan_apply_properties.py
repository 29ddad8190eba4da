"""Acceptance point 6: plan/apply invariants on random configurations, against the emulator.

Hypothesis draws a small project (variables, tags; datasets of every kind the config has;
managed folders; recipes chaining them; scenarios with triggers and steps), then an edited
version of it (objects removed at random, attributes changed, objects added). Through the
engine's Session (the CLI is not the point here):

1. after `apply`, `plan` has no changes, and a second `apply` sends DSS no write;
2. objects the tool does not own (in the managed project and in another project) survive
   every apply untouched (same versionTag), and every DELETE DSS receives names an object
   the state owned;
3. after the edited config is applied, (1) holds again and DSS holds exactly the config;
4. drift right after an apply reports nothing but the unmanaged objects.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any, Optional

import yaml
from dataiku_iac.engine.session import Session
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.e2e.helpers import list_names, request_count, version_tags, write_config, writes_since

KEY = "PROPS"
DATASET_NAMES = [f"ds_{i}" for i in range(6)]
FOLDER_NAMES = ["f_a", "f_b"]
SCENARIO_IDS = ["S_A", "S_B", "S_C"]
WORDS = st.sampled_from(["alpha", "beta", "gamma", "delta", "nightly", "raw", "gold"])


# -- strategies ----------------------------------------------------------------------------
@st.composite
def dataset(draw: Any, name: str) -> dict:
    kind = draw(st.sampled_from(["managed", "managed", "filesystem", "sql_table", "sql_query", "uploaded"]))
    item: dict[str, Any] = {"name": name, "type": kind}
    if kind == "managed":
        fmt = draw(st.sampled_from([None, "csv", "parquet"]))
        if fmt:
            item["format"] = fmt
        if draw(st.booleans()):
            item["schema"] = {"columns": [{"name": "id", "type": "bigint"}, {"name": draw(WORDS), "type": draw(st.sampled_from(["string", "double"]))}]}
    elif kind == "filesystem":
        item.update(connection="filesystem_managed", path=f"/landing/{name}", format="csv")
    elif kind == "sql_table":
        item.update(connection="postgres_dw", table=f"{name}_{draw(WORDS)}", schema_name="public")
    elif kind == "sql_query":
        item.update(connection="postgres_dw", query=f"SELECT * FROM {draw(WORDS)} WHERE id > {draw(st.integers(0, 9))}")
    if draw(st.booleans()):
        item["description"] = f"{draw(WORDS)} data"
    if draw(st.booleans()):
        item["tags"] = sorted(set(draw(st.lists(WORDS, max_size=2))))
    return item


@st.composite
def project_spec(draw: Any) -> dict:
    names = draw(st.lists(st.sampled_from(DATASET_NAMES), min_size=1, max_size=5, unique=True))
    names.sort()
    datasets = [draw(dataset(n)) for n in names]
    folders = [{"name": n, **({"description": draw(WORDS)} if draw(st.booleans()) else {})} for n in draw(st.lists(st.sampled_from(FOLDER_NAMES), max_size=2, unique=True))]
    recipes = []
    written: set[str] = set()
    for index, target in enumerate(names[1:], start=1):  # a recipe writes a later dataset from earlier ones
        if target in written or not draw(st.booleans()):
            continue
        sources = draw(st.lists(st.sampled_from(names[:index]), min_size=1, max_size=2, unique=True))
        kind = draw(st.sampled_from(["python", "sync"])) if len(sources) == 1 else "python"
        recipe: dict[str, Any] = {"name": f"make_{target}", "type": kind, "inputs": sources, "outputs": [target]}
        if kind == "python":
            recipe["code"] = f"# builds {target}\nprint({draw(st.integers(0, 99))})\n"
        written.add(target)
        recipes.append(recipe)
    for folder in folders:
        if draw(st.booleans()):
            recipes.append({"name": f"report_{folder['name']}", "type": "python", "inputs": [names[-1]], "outputs": [folder["name"]], "code": "# report\n"})
    scenarios = []
    for sid in draw(st.lists(st.sampled_from(SCENARIO_IDS), max_size=3, unique=True)):
        scenarios.append(draw(scenario(sid, names, [s["id"] for s in scenarios])))
    project: dict[str, Any] = {"key": KEY, "name": f"Props {draw(WORDS)}"}
    if draw(st.booleans()):
        project["tags"] = sorted(set(draw(st.lists(WORDS, min_size=1, max_size=3))))
    variables = draw(st.dictionaries(st.sampled_from(["a", "b", "c", "d"]), st.one_of(st.integers(-5, 5), WORDS), max_size=3))
    if variables:
        project["variables"] = {"standard": variables}
    if draw(st.booleans()):
        project["description"] = f"{draw(WORDS)} project"
    doc: dict[str, Any] = {"project": project, "datasets": datasets}
    if folders:
        doc["managed_folders"] = folders
    if recipes:
        doc["recipes"] = recipes
    if scenarios:
        doc["scenarios"] = scenarios
    return doc


@st.composite
def scenario(draw: Any, sid: str, datasets: list[str], earlier: list[str]) -> dict:
    triggers = []
    for kind in draw(st.lists(st.sampled_from(["periodic", "temporal", "dataset_change"]), max_size=2)):
        if kind == "periodic":
            triggers.append({"type": "periodic", "every_minutes": draw(st.integers(5, 120))})
        elif kind == "temporal":
            triggers.append({"type": "temporal", "frequency": "Daily", "hour": draw(st.integers(0, 23)), "minute": draw(st.integers(0, 59))})
        else:
            triggers.append({"type": "dataset_change", "datasets": draw(st.lists(st.sampled_from(datasets), min_size=1, max_size=2, unique=True))})
    steps: list[dict] = [{"type": "build", "datasets": draw(st.lists(st.sampled_from(datasets), min_size=1, max_size=2, unique=True))}]
    if draw(st.booleans()):
        steps.append({"type": "set_variables", "variables": {"last": draw(WORDS)}})
    if earlier and draw(st.booleans()):
        steps.append({"type": "run_scenario", "scenario": draw(st.sampled_from(earlier)), "run_condition": draw(st.sampled_from(["on_success", "always"]))})
    return {"id": sid, "name": f"Scenario {sid}", "active": draw(st.booleans()), "triggers": triggers, "steps": steps}


@st.composite
def edited(draw: Any, spec: dict) -> dict:
    """Drop a random subset of objects (and what refers to them), redraw some, add some."""
    doc = json.loads(json.dumps(spec))
    keep = {d["name"] for d in doc["datasets"] if draw(st.integers(0, 3)) > 0}
    keep = keep or {doc["datasets"][0]["name"]}
    fresh = draw(project_spec())
    by_name = {d["name"]: d for d in doc["datasets"] if d["name"] in keep}
    for item in fresh["datasets"]:  # new datasets, or new definitions of kept ones (kind changes replace)
        if item["name"] not in by_name or draw(st.booleans()):
            by_name[item["name"]] = item
    doc["datasets"] = [by_name[n] for n in sorted(by_name)]
    names = set(by_name)
    folders = {f["name"] for f in doc.get("managed_folders") or [] if draw(st.booleans())}
    doc["managed_folders"] = [f for f in doc.get("managed_folders") or [] if f["name"] in folders]
    refs = names | folders
    doc["recipes"] = [r for r in doc.get("recipes") or [] if set(r["inputs"]) | set(r["outputs"]) <= refs and draw(st.integers(0, 3)) > 0]
    ordered = sorted(names)
    rank = {n: i for i, n in enumerate(ordered)}
    doc["recipes"] = [r for r in doc["recipes"] if all(rank.get(i, -1) < rank.get(r["outputs"][0], len(ordered)) for i in r["inputs"])]
    for recipe in fresh.get("recipes") or []:  # new recipes, or new inputs/code for kept ones
        fits = set(recipe["inputs"]) | set(recipe["outputs"]) <= refs
        ordered_ok = all(rank.get(i, -1) < rank.get(recipe["outputs"][0], len(ordered)) for i in recipe["inputs"])
        writers = {r["outputs"][0]: r["name"] for r in doc["recipes"]}
        if fits and ordered_ok and writers.get(recipe["outputs"][0], recipe["name"]) == recipe["name"] and draw(st.booleans()):
            doc["recipes"] = [r for r in doc["recipes"] if r["name"] != recipe["name"]] + [recipe]
    scenarios = []
    for item in doc.get("scenarios") or []:
        if not draw(st.booleans()):
            continue
        kept_ids = [s["id"] for s in scenarios]
        item["steps"] = [s for s in item["steps"] if (s["type"] != "build" or set(s["datasets"]) <= names) and (s["type"] != "run_scenario" or s["scenario"] in kept_ids)]
        item["triggers"] = [t for t in item["triggers"] if t["type"] != "dataset_change" or set(t["datasets"]) <= names]
        if draw(st.booleans()):
            item["active"] = not item["active"]
        scenarios.append(item)
    for item in fresh.get("scenarios") or []:  # redefined or new scenarios (triggers and steps change)
        known = [s["id"] for s in scenarios if s["id"] != item["id"]]
        steps_ok = all((s["type"] != "build" or set(s["datasets"]) <= names) and (s["type"] != "run_scenario" or s["scenario"] in known) for s in item["steps"])
        triggers_ok = all(t["type"] != "dataset_change" or set(t["datasets"]) <= names for t in item["triggers"])
        if steps_ok and triggers_ok and draw(st.booleans()):
            scenarios = [s for s in scenarios if s["id"] != item["id"]] + [item]
    for position, item in enumerate(scenarios):  # calls go to earlier scenarios only: no loops
        earlier = {s["id"] for s in scenarios[:position]}
        item["steps"] = [s for s in item["steps"] if s["type"] != "run_scenario" or s["scenario"] in earlier]
    doc["scenarios"] = scenarios
    doc["project"] = {**doc["project"], **{k: v for k, v in fresh["project"].items() if k != "key" and draw(st.booleans())}}
    if "variables" in doc["project"] and draw(st.booleans()):
        del doc["project"]["variables"]  # variables the config stops declaring stay as they are
    return {k: v for k, v in doc.items() if v}


# -- the property ------------------------------------------------------------------------------
def _session(dss: Any, root: Path) -> Session:
    return Session(root, "dev", environ={"DKU_DSS_URL": dss.url, "DKU_API_KEY": dss.api_key}, parallelism=3)


def _write(root: Path, doc: dict) -> None:
    (root / "projects" / "props.yml").write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")


def _apply_converges(dss: Any, root: Path, doc: dict) -> None:
    _write(root, doc)
    _, applied = _session(dss, root).apply()
    assert applied is None or applied.ok, (applied.failed, applied.skipped)
    plan = _session(dss, root).plan().plan
    assert not plan.has_changes, [(c.address, c.reason) for c in plan.actionable()]
    before = request_count(dss)
    _, again = _session(dss, root).apply()
    assert again is None and writes_since(dss, before) == [], writes_since(dss, before)
    _assert_matches(dss, doc)
    drift = _session(dss, root).drift()
    assert [(i.address, i.kind) for i in drift.items if i.kind != "unmanaged"] == [], "false drift right after an apply"


def _assert_matches(dss: Any, doc: dict, strangers: Optional[dict] = None) -> None:
    live = list_names(dss.client(), KEY)
    extra = strangers or {}
    assert live["dataset"] == sorted([d["name"] for d in doc.get("datasets") or []] + extra.get("dataset", []))
    assert live["managed_folder"] == sorted([f["name"] for f in doc.get("managed_folders") or []] + extra.get("managed_folder", []))
    assert live["recipe"] == sorted([r["name"] for r in doc.get("recipes") or []] + extra.get("recipe", []))
    assert live["scenario"] == sorted([s["id"] for s in doc.get("scenarios") or []] + extra.get("scenario", []))


STRANGERS = {"dataset": ["zz_stranger"], "managed_folder": ["zz_folder"], "scenario": ["ZZ_HAND"]}


def _add_strangers(dss: Any) -> None:
    client = dss.client()
    project = client.get_project(KEY)
    project.create_dataset("zz_stranger", "Filesystem", params={"connection": "filesystem_managed", "path": "/hand"}, formatType="csv")
    project.create_managed_folder("zz_folder")
    project.create_scenario("Hand made", "step_based", definition={"id": "ZZ_HAND", "params": {"steps": []}})
    client.create_project("NEIGHBOUR", "Not managed", "admin")
    client.get_project("NEIGHBOUR").create_dataset("theirs", "Filesystem", params={"connection": "filesystem_managed", "path": "/n"}, formatType="csv")


def _stranger_tags(dss: Any) -> dict:
    tags = version_tags(dss.client(), [KEY, "NEIGHBOUR"])
    project = dss.client().get_project(KEY)
    folder_ids = {f["id"] for f in project.list_managed_folders() if f["name"] in STRANGERS["managed_folder"]}
    return {k: v for k, v in tags.items() if k[0] == "NEIGHBOUR" or k[2] in STRANGERS["dataset"] + STRANGERS["scenario"] or k[2] in folder_ids}


DELETE_PATH = re.compile(r"^/projects/(?P<key>[^/]+)(?:/(?P<kind>datasets|managedfolders|recipes|scenarios)/(?P<id>[^/]+))?$")
KINDS = {"datasets": "dataset", "managedfolders": "managed_folder", "recipes": "recipe", "scenarios": "scenario", None: "project"}


def _owned(root: Path) -> set[tuple[str, str]]:
    state = json.loads((root / ".dataiku-iac" / "state" / "dev" / "state.json").read_text())
    return {(r["type"], r["dss_id"]) for r in state["resources"].values()}


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_apply_converges_and_edits_touch_only_owned_objects(dss: Any, data: st.DataObject) -> None:
    dss.reset_all()
    first = data.draw(project_spec(), label="first config")
    second = data.draw(edited(first), label="edited config")
    work = Path(tempfile.mkdtemp(prefix="props-"))
    try:
        root = write_config(work / "cfg", {})
        _apply_converges(dss, root, first)

        _add_strangers(dss)
        strangers_before = _stranger_tags(dss)
        owned_before = _owned(root)
        before = request_count(dss)
        _write(root, second)
        _, applied = _session(dss, root).apply()
        assert applied is None or applied.ok, (applied.failed, applied.skipped)
        for entry in dss.admin.requests(since=before):
            if entry["method"] != "DELETE":
                continue
            match = DELETE_PATH.match(entry["path"])
            assert match and match["key"] == KEY, f"a DELETE outside the managed project: {entry['path']}"
            assert (KINDS[match["kind"]], match["id"] or KEY) in owned_before, f"deleted an object the state did not own: {entry['path']}"
        plan = _session(dss, root).plan().plan
        assert not plan.has_changes, [(c.address, c.reason) for c in plan.actionable()]
        before = request_count(dss)
        _, again = _session(dss, root).apply()
        assert again is None and writes_since(dss, before) == []
        _assert_matches(dss, second, STRANGERS)
        assert _stranger_tags(dss) == strangers_before, "an unmanaged object was modified"
        drift = _session(dss, root).drift()
        assert sorted((i.type, i.name, i.kind) for i in drift.items) == [
            ("dataset", "zz_stranger", "unmanaged"),
            ("managed_folder", "zz_folder", "unmanaged"),
            ("scenario", "ZZ_HAND", "unmanaged"),
        ]
    finally:
        shutil.rmtree(work, ignore_errors=True)
