"""patch_document / to_logical round trips, without DSS.

What apply writes must be what the next plan reads: declared attributes written into a DSS
document (a real one from dss-samples, or the document a create starts from) and read back
compare equal to the declaration under the type's field policy, whatever DSS had there before
(its own keys, other values, server-side item ids). And reading is stable: writing a
document's own logical view back into it reads the same view again."""

from __future__ import annotations

import copy
import string
from typing import Any, Callable

import pytest
from dataiku_iac.resources import dataset, recipe, scenario, webapp
from dataiku_iac.resources.base import ProjectContext
from dataiku_iac.resources.registry import handler_for
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.resources.test_no_false_drift import DOCUMENTS

FOLDERS = {"models": "AbCd1234", "reports": "Zz9Yy8Xx"}
PATCH: dict[str, Callable[[dict, dict, ProjectContext], None]] = {
    "dataset": lambda doc, attrs, _ctx: dataset.patch_document(doc, attrs),
    "recipe": recipe.patch_document,
    "scenario": scenario.patch_document,
    "webapp": lambda doc, attrs, _ctx: webapp.patch_document(doc, doc.get("name", "w"), attrs),
}
SAMPLES = {type_: [doc for t, _name, doc in DOCUMENTS if t == type_] for type_ in PATCH}
# What each handler's create patches into (dataset and recipe: what DSS answers a create with).
CREATED = {
    "dataset": lambda attrs: {"name": "d", "projectKey": "P", **CREATED_DATASET[attrs["kind"]](attrs["connection"])},
    "recipe": lambda attrs: {"recipe": {"name": "r", "type": attrs["kind"]}, "payload": ""},
    "scenario": lambda _attrs: {"id": "S", "params": {"steps": []}, "triggers": [], "reporters": []},
    "webapp": lambda attrs: {"id": "W", "name": "w", "type": webapp.TYPES[attrs["type"]], "params": {}},
}


CREATED_DATASET: dict[str, Callable[[Any], dict]] = {
    "managed": lambda c: {"type": "Filesystem", "managed": True, "params": {"connection": c, "path": "P/d"}},
    "filesystem": lambda c: {"type": "Filesystem", "managed": False, "params": {"connection": c, "path": "/x"}},
    "uploaded": lambda c: {"type": "UploadedFiles", "params": {"uploadConnection": c}},
    "sql_table": lambda c: {"type": "PostgreSQL", "params": {"connection": c, "mode": "table", "table": "t"}},
    "sql_query": lambda c: {"type": "PostgreSQL", "params": {"connection": c, "mode": "query", "query": "q"}},
}


def ctx() -> ProjectContext:
    return ProjectContext("P", folder_ids=dict(FOLDERS))


NAME = st.text(alphabet=string.ascii_letters + string.digits + "_", min_size=1, max_size=8)
TEXT = st.text(alphabet=string.ascii_letters + " _-.\né'", max_size=12)
SCALAR = st.none() | st.booleans() | st.integers(-3, 3) | st.floats(-2, 2, allow_nan=False) | TEXT
JSON = st.recursive(SCALAR, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(NAME, inner, max_size=3), max_leaves=8)
TAGS = st.lists(NAME, max_size=3, unique=True)


def passthrough(reserved: tuple[str, ...] = ()) -> st.SearchStrategy[dict]:
    return st.dictionaries(NAME.filter(lambda key: key not in reserved), JSON, max_size=3)


def some_of(required: dict[str, Any], optional: dict[str, st.SearchStrategy]) -> st.SearchStrategy[dict]:
    """The required attributes and any subset of the optional ones (as a configuration declares)."""
    return st.fixed_dictionaries(required, optional=optional)


# -- datasets ----------------------------------------------------------------------
def column(names: st.SearchStrategy[str]) -> st.SearchStrategy[dict]:
    return st.fixed_dictionaries({"name": names, "type": st.sampled_from(["string", "bigint", "double", "date"])},
                                 optional={"comment": TEXT.filter(bool), "meaning": NAME})
DIMENSION = st.one_of(
    st.fixed_dictionaries({"name": NAME, "type": st.just("value")}),
    st.fixed_dictionaries({"name": NAME, "type": st.just("time"), "period": st.sampled_from(["YEAR", "MONTH", "DAY", "HOUR"])}),
)
PARTITIONING = st.fixed_dictionaries({"dimensions": st.lists(DIMENSION, min_size=1, max_size=2)},
                                     optional={"file_path_pattern": NAME, "ignore_non_matching_files": st.booleans(),
                                               "missing_partitions_as_empty": st.booleans()})
KIND_FIELDS = {
    "managed": {"format": st.sampled_from(["csv", "parquet", "avro", "orc"]), "path": NAME},
    "filesystem": {"format": st.sampled_from(["csv", "parquet", "json"]), "path": NAME},
    "uploaded": {"format": st.sampled_from(["csv", "excel"])},
    "sql_table": {"table": NAME, "schema_name": NAME, "catalog": NAME},
    "sql_query": {"query": TEXT.filter(bool)},
}


def declared_dataset(kind: str, connection: Any, live_columns: tuple[str, ...] = ()) -> st.SearchStrategy[dict]:
    """(Column names are often those DSS already has, with other types, comments and meanings.)"""
    names = st.sampled_from(live_columns) | NAME if live_columns else NAME
    common = {
        "format_params": passthrough(),
        "partitioning": PARTITIONING,
        "schema": st.fixed_dictionaries({"columns": st.lists(column(names), max_size=3, unique_by=lambda c: c["name"])}),
        "description": TEXT,
        "short_description": TEXT,
        "tags": TAGS,
        # The keys the dedicated attributes write (path, table…) are theirs, not params'.
        "params": passthrough(("connection", "path", "table", "schema", "catalog", "query", "mode")),
    }
    return some_of({"kind": st.just(kind), "connection": st.just(connection)}, {**common, **KIND_FIELDS.get(kind, {})})


# -- recipes -----------------------------------------------------------------------
REFS = st.lists(st.sampled_from(["a", "b", "c", *FOLDERS]), min_size=1, max_size=3, unique=True)
ROLES = st.dictionaries(st.sampled_from(["main", "extra", "scripts"]), REFS, min_size=1, max_size=2)


def declared_recipe(kind: str) -> st.SearchStrategy[dict]:
    optional: dict[str, st.SearchStrategy] = {"params": passthrough(("envSelection", "containerSelection")), "description": TEXT, "tags": TAGS}
    if kind in recipe.CODE_TYPES:
        optional["code"] = TEXT
    if kind in recipe.ENV_TYPES:
        optional["code_env"] = st.sampled_from(["inherit", "builtin", "py39", "r_env"])
        optional["container"] = st.sampled_from(["inherit", "none", "spark-k8s"])
    return some_of({"kind": st.just(kind), "inputs": ROLES, "outputs": ROLES}, optional)


# -- scenarios ---------------------------------------------------------------------
DAYS = st.lists(st.sampled_from(["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]),
                min_size=1, max_size=7, unique=True)
ON = {"active": st.booleans()}
TRIGGER = st.one_of(
    some_of({"type": st.just("periodic"), "every_minutes": st.integers(1, 120), **ON}, {"name": NAME}),
    # (a frequency or a cron, which the builder turns into one; Minutely becomes a periodic trigger)
    some_of({"type": st.just("temporal"), "frequency": st.sampled_from(["Hourly", "Daily", "Weekly", "Monthly"]), **ON},
            {"name": NAME, "hour": st.integers(0, 23),
             "minute": st.integers(0, 59), "days": DAYS, "timezone": st.sampled_from(["SERVER", "UTC", "Europe/Paris"]),
             "repeat_every": st.integers(1, 5), "starting_from": st.just("2026-01-01")}),
    some_of({"type": st.just("dataset_change"), "datasets": st.lists(NAME, max_size=2), "folders": st.lists(st.sampled_from(sorted(FOLDERS)), max_size=2), **ON},
            {"name": NAME, "grace_delay_seconds": st.integers(0, 600)}),
)
STEP_COMMON = {"enabled": st.booleans(), "run_condition": st.sampled_from(["on_success", "always", "on_failure"])}
STEP = st.one_of(
    some_of({"type": st.just("build"), "datasets": st.lists(NAME, max_size=2), "folders": st.lists(st.sampled_from(sorted(FOLDERS)), max_size=2), **STEP_COMMON},
            {"name": NAME, "job_type": st.sampled_from(["RECURSIVE_BUILD", "NON_RECURSIVE_FORCED_BUILD"])}),
    some_of({"type": st.just("run_scenario"), "scenario": NAME, **STEP_COMMON}, {"name": NAME, "project": st.sampled_from(["P", "OTHER"])}),
    some_of({"type": st.just("run_macro"), "macro": NAME, "params": passthrough(), **STEP_COMMON}, {"name": NAME}),
    some_of({"type": st.just("set_variables"), "variables": passthrough(), **STEP_COMMON}, {"name": NAME}),
    some_of({"type": st.just("define_variables"), **STEP_COMMON},
            {"name": NAME, "variables": passthrough(), "formulas": st.dictionaries(NAME, TEXT, max_size=3)}),
    some_of({"type": st.just("python"), "code": TEXT, **STEP_COMMON},
            {"name": NAME, "code_env": st.sampled_from(["inherit", "builtin", "py39"])}),
    some_of({"type": st.just("sql"), "connection": NAME, "sql": TEXT, **STEP_COMMON}, {"name": NAME}),
    some_of({"type": st.sampled_from(["run_checks", "compute_metrics"]), "datasets": st.lists(NAME, max_size=2),
             "folders": st.lists(st.sampled_from(sorted(FOLDERS)), max_size=2), **STEP_COMMON}, {"name": NAME}),
    some_of({"type": st.sampled_from(["clear_items", "send_report", "pystep_plugin_step"]), "params": passthrough(),
             **STEP_COMMON}, {"name": NAME}),
)
REPORTER_COMMON = {"active": st.booleans(), "phase": st.sampled_from(["end", "start"]),
                   "condition": st.one_of(st.none(), TEXT)}
REPORTER = st.one_of(
    some_of({"type": st.just("mail"), "channel": NAME, **REPORTER_COMMON},
            {"name": NAME, "to": TEXT, "from": TEXT, "subject": TEXT, "message": TEXT, "html": st.booleans()}),
    some_of({"type": st.just("webhook"), "channel": NAME, **REPORTER_COMMON},
            {"name": NAME, "method": st.sampled_from(["POST", "PUT"]), "payload": TEXT}),
    some_of({"type": st.sampled_from(["slack-scenario", "dataset-scenario"]), "configuration": passthrough(),
             **REPORTER_COMMON}, {"name": NAME}),
)
DECLARED_SCENARIO = some_of(
    {"name": TEXT.filter(bool), "active": st.booleans(), "triggers": st.lists(TRIGGER, max_size=3),
     "steps": st.lists(STEP, max_size=3), "reporters": st.lists(REPORTER, max_size=2)},
    {"run_as": NAME, "description": TEXT, "tags": TAGS},
)


def differing(type_: str, declared: dict, doc: dict) -> list[str]:
    """Patch `declared` into `doc`, read it back: the declared fields that do not compare equal."""
    handler, context = handler_for(type_), ctx()
    PATCH[type_](doc, copy.deepcopy(declared), context)
    observed = handler.to_logical(doc, context)
    return [f for f in declared if not handler.policy.equal(f, declared[f], observed.get(f))]


@st.composite
def dataset_case(draw) -> tuple[dict, dict]:
    base = draw(st.sampled_from([None, *SAMPLES["dataset"]]))
    if base is None:
        attrs = draw(declared_dataset(draw(st.sampled_from(sorted(KIND_FIELDS))), draw(NAME)))
        return attrs, CREATED["dataset"](attrs)
    live = handler_for("dataset").to_logical(base, ctx())  # kind and connection change by replacement only
    columns = tuple(c["name"] for c in live["schema"]["columns"])
    return draw(declared_dataset(live["kind"], live["connection"], columns)), copy.deepcopy(base)


@st.composite
def recipe_case(draw) -> tuple[dict, dict]:
    base = draw(st.sampled_from([None, *SAMPLES["recipe"]]))
    if base is None:
        attrs = draw(declared_recipe(draw(st.sampled_from(["python", "r", "shell", "sql_query", "sql_script", "sync"]))))
        return attrs, CREATED["recipe"](attrs)
    return draw(declared_recipe(base["recipe"]["type"])), copy.deepcopy(base)


@st.composite
def scenario_case(draw) -> tuple[dict, dict]:
    base = draw(st.sampled_from([None, *SAMPLES["scenario"]]))
    attrs = draw(DECLARED_SCENARIO)
    return attrs, (CREATED["scenario"](attrs) if base is None else copy.deepcopy(base))


@st.composite
def declared_webapp(draw) -> dict:
    """A webapp as a configuration declares it: its type, some of its code, some backend settings."""
    kind = draw(st.sampled_from(sorted(webapp.TYPE_CODE)))
    code = {webapp.CODE_PIECES[key][0]: TEXT for key in webapp.TYPE_CODE[kind]}
    backend = {"auto_start": st.booleans(), "code_env": st.sampled_from(["inherit", "builtin"]) | NAME}
    if kind == "standard":
        backend["enabled"] = st.booleans()
    return draw(some_of({"type": st.just(kind)}, {**code, "backend": st.fixed_dictionaries({}, optional=backend),
                                         "description": TEXT, "tags": TAGS}))


@st.composite
def webapp_case(draw) -> tuple[dict, dict]:
    base = draw(st.sampled_from([None, *SAMPLES["webapp"]]))
    attrs = draw(declared_webapp())
    return attrs, (CREATED["webapp"](attrs) if base is None else copy.deepcopy(base))


CASES = {"dataset": dataset_case(), "recipe": recipe_case(), "scenario": scenario_case(), "webapp": webapp_case()}


# Five real documents per patched type, unless fewer exist: then the type says here how many it
# has (its cases draw the rest of their starting documents from what a create starts from).
MIN_SAMPLES = 5
FEWER_SAMPLES: dict[str, int] = {}


def test_the_samples_of_every_patched_type_are_there() -> None:
    short = {t: len(d) for t, d in SAMPLES.items() if len(d) < FEWER_SAMPLES.get(t, MIN_SAMPLES)}
    assert not short, short


@pytest.mark.parametrize("type_", sorted(CASES))
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_what_apply_writes_is_what_the_next_plan_reads(type_: str, data: st.DataObject) -> None:
    declared, doc = data.draw(CASES[type_])
    assert differing(type_, declared, doc) == []


@pytest.mark.parametrize(("type_", "name", "doc"), [d for d in DOCUMENTS if d[0] in PATCH], ids=[f"{t}/{n}" for t, n, _ in DOCUMENTS if t in PATCH])
def test_writing_a_documents_own_view_back_reads_the_same_view(type_: str, name: str, doc: dict) -> None:
    handler, context = handler_for(type_), ctx()
    view = handler.to_logical(doc, context)
    patched = copy.deepcopy(doc)
    PATCH[type_](patched, copy.deepcopy(view), context)
    assert handler.to_logical(patched, context) == view
    assert differing(type_, view, copy.deepcopy(doc)) == []
