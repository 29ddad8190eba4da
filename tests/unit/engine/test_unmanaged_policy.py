"""A project's `unmanaged:` policy (issue 12, item 6), without DSS: how the configuration
says it, which policy an object gets, and what drift and plans make of it."""

from __future__ import annotations

from pathlib import Path

from dataiku_iac.builder import build_desired
from dataiku_iac.config import load_config
from dataiku_iac.engine.drift import detect_drift
from dataiku_iac.model import UnmanagedPolicy
from dataiku_iac.planner.planner import plan
from dataiku_iac.resources.base import Observed

from tests.unit.planner.golden_support import load_case

CASE = Path(__file__).resolve().parents[2] / "golden" / "demo_in_sync"
KEY = "DEMO_PROJECT"


def test_the_strictest_matching_pattern_wins_and_the_default_covers_the_rest() -> None:
    policy = UnmanagedPolicy("report", (("ignore", "dataset", "*"), ("fail", "dataset", "prod_*"), ("ignore", "recipe", "tmp_*")))
    assert policy.of("dataset", "prod_sales") == "fail"
    assert policy.of("dataset", "scratch") == "ignore"
    assert policy.of("recipe", "tmp_x") == "ignore" and policy.of("recipe", "TMP_x") == "report", "case-sensitive, as DSS names"
    assert policy.of("scenario", "prod_x") == "report"


def test_the_builder_reads_the_shorthand_and_the_mapping_keyed_by_sections(tmp_path: Path) -> None:
    from dataiku_iac.cli import scaffold

    (tmp_path / "projects").mkdir()
    (tmp_path / "environments").mkdir()
    (tmp_path / "iac.yml").write_text(scaffold.IAC_YML)
    (tmp_path / "environments" / "dev.yml").write_text("project_key: {suffix: _DEV}\n")
    (tmp_path / "projects" / "a.yml").write_text("project: {key: A, name: a}\nunmanaged: ignore\n")
    (tmp_path / "projects" / "b.yml").write_text(
        "project: {key: B, name: b}\nunmanaged: {policy: fail, ignore: {datasets: [tmp_*], managed_folders: ['*']}}\n")
    (tmp_path / "projects" / "c.yml").write_text("project: {key: C, name: c}\n")
    desired = build_desired(load_config(tmp_path, "dev"))
    assert desired.unmanaged["A_DEV"] == UnmanagedPolicy("ignore")
    assert desired.unmanaged["B_DEV"] == UnmanagedPolicy("fail", (("ignore", "dataset", "tmp_*"), ("ignore", "managed_folder", "*")))
    assert desired.unmanaged_policy("C_DEV") == UnmanagedPolicy()


def _with_strangers():
    desired, state, observed = load_case(CASE)
    datasets = observed.projects[KEY].objects["dataset"]
    for name in ("tmp_1", "orders_copy"):
        datasets.append(Observed("dataset", KEY, name, name, {"kind": "managed"}))
    return desired, state, observed


def test_drift_reports_ignores_or_forbids_each_unmanaged_object_by_its_policy() -> None:
    _desired, state, observed = _with_strangers()
    report = detect_drift(state, observed)
    assert [(i.name, i.policy) for i in report.items] == [("orders_copy", "report"), ("tmp_1", "report")]
    report = detect_drift(state, observed, unmanaged={KEY: UnmanagedPolicy("fail", (("ignore", "dataset", "tmp_*"),))})
    assert [(i.name, i.policy) for i in report.forbidden] == [("orders_copy", "fail")]
    assert report.ignored == [f"dataset.{KEY}.tmp_1"] and report.to_json()["ignored_unmanaged"] == report.ignored
    assert not detect_drift(state, observed, unmanaged={KEY: UnmanagedPolicy("ignore")}).has_drift


def test_a_plan_names_forbidden_objects_and_leaves_them_alone() -> None:
    desired, state, observed = _with_strangers()
    assert not any("unmanaged: fail" in w for w in plan(desired, state, observed).warnings)
    desired.unmanaged[KEY] = UnmanagedPolicy("fail", (("ignore", "dataset", "tmp_*"),))
    result = plan(desired, state, observed)
    assert not result.has_changes
    assert [w for w in result.warnings if "`unmanaged: fail` policy forbids (dataset orders_copy)" in w]


def test_the_import_suggestion_is_a_valid_policy_that_ignores_what_import_left_out(tmp_path: Path) -> None:
    import yaml
    from dataiku_iac.cli import scaffold
    from dataiku_iac.engine.importer import ImportResult, unmanaged_suggestion

    result = ImportResult(project_key="LEGACY", config_key="LEGACY", unmanaged=[
        {"address": "recipe.LEGACY.join_orders", "type": "recipe", "name": "join_orders", "reason": "visual"},
        {"address": "scenario.LEGACY.SCRIPTED", "type": "scenario", "name": "SCRIPTED", "reason": "script"},
    ])
    text = unmanaged_suggestion(result)
    snippet = yaml.safe_load("\n".join(line[2:] for line in text.splitlines()[1:]))
    (tmp_path / "projects").mkdir()
    (tmp_path / "environments").mkdir()
    (tmp_path / "iac.yml").write_text(scaffold.IAC_YML)
    (tmp_path / "environments" / "dev.yml").write_text("")
    (tmp_path / "projects" / "legacy.yml").write_text(yaml.safe_dump({"project": {"key": "LEGACY", "name": "l"}, **snippet}))
    policy = build_desired(load_config(tmp_path, "dev")).unmanaged_policy("LEGACY")
    assert policy.of("recipe", "join_orders") == policy.of("scenario", "SCRIPTED") == "ignore"
    assert policy.of("recipe", "other") == "report"
