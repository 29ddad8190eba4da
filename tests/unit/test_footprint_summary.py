"""`report footprint`'s pure part (issue 15 §6): what a project's observation, jobs, metrics and
data-directories footprint summarise to, and the recommendations, without DSS."""

from __future__ import annotations

import dataclasses

from dataiku_iac.engine.footprint import FootprintReport, human_size, storage_of, summarise
from dataiku_iac.output.footprint import render_markdown
from dataiku_iac.planner.observed import ProjectObservation
from dataiku_iac.resources.base import Observed
from dataiku_iac.resources.registry import registered
from dataiku_iac.resources.spec import READS, FlowLink

from tests.support.throwaway_type import SPEC as NOTEBOOK

KEY = "P_DEV"


def _observed(type_: str, name: str, **attributes: object) -> Observed:
    return Observed(type_, KEY, name, name, dict(attributes))


def _project() -> ProjectObservation:
    objects = {
        "dataset": [_observed("dataset", n) for n in ("raw", "clean", "lonely")],
        "recipe": [
            _observed("recipe", "clean_it", kind="python", inputs={"main": ["raw"]}, outputs={"main": ["clean"]}),
            _observed("recipe", "share", kind="sync", inputs={"main": ["clean", "OTHER.shared"]}, outputs={"main": ["copy"]}),
            _observed("recipe", "idle", kind="sync", inputs={"main": ["clean"]}, outputs={"main": ["nowhere"]}),
        ],
        "scenario": [_observed("scenario", "NIGHTLY", active=False), _observed("scenario", "HOURLY", active=True)],
        "managed_folder": [Observed("managed_folder", KEY, "copy", "f1234", {})],
    }
    return ProjectObservation(KEY, True, _observed("project", KEY), objects)


JOBS = [
    {"def": {"id": "old", "outputs": [{"type": "DATASET", "targetDataset": "clean"}]}, "state": "FAILED",
     "startTime": 1_000, "endTime": 5_000},
    {"def": {"id": "new", "outputs": [{"type": "DATASET", "targetDataset": "clean"}]}, "state": "DONE",
     "startTime": 10_000, "endTime": 12_500},
    {"def": {"id": "folder", "outputs": [{"type": "MANAGED_FOLDER", "id": "f1234"}]}, "state": "DONE",
     "startTime": 20_000, "endTime": 21_000},
]


def test_summary_and_recommendations() -> None:
    found = summarise("P", _project(), JOBS, {"clean": {"basic:SIZE": 2048, "records:COUNT_RECORDS": "12"}}, None, "refused")
    datasets = {d.name: d for d in found.datasets}
    assert datasets["raw"].read_by == ("clean_it",) and datasets["clean"].read_by == ("idle", "share")
    assert datasets["clean"].size_bytes == 2048 and datasets["clean"].records == 12
    assert datasets["clean"].last_build is not None and datasets["clean"].last_build.job_id == "new"
    assert datasets["clean"].last_build.duration_seconds == 2.5
    assert datasets["raw"].size_bytes is None and datasets["raw"].last_build is None
    recipes = {r.name: r for r in found.recipes}
    assert recipes["clean_it"].last_run is not None and recipes["clean_it"].last_run.job_id == "new"
    assert recipes["share"].last_run is not None and recipes["share"].last_run.job_id == "folder"  # its folder, by id
    assert recipes["idle"].last_run is None
    assert (recipes["clean_it"].type, recipes["share"].type) == ("python", "sync")  # the recipe's `kind` attribute
    assert [(r.kind, r.address) for r in found.recommendations] == [
        ("dataset_unread", "dataset.P.lonely"),
        ("recipe_never_run", "recipe.P.idle"),
        ("scenario_disabled", "scenario.P.NIGHTLY"),
    ]
    assert found.storage is None and found.storage_note == "refused"


def test_storage_of_a_footprint_item() -> None:
    item = {"projectKey": KEY, "size": 3_500_000, "nbFiles": 7, "nbFolders": 2, "nbErrors": 0,
            "datasets": {"size": 3_000_000, "nbFiles": 5}, "managedFolders": {"size": 500_000, "nbFiles": 2}}
    assert storage_of(item) == {"size_bytes": 3_500_000, "files": 7, "folders": 2, "errors": 0,
                                "categories": {"datasets": 3_000_000, "managedFolders": 500_000}}
    assert [human_size(n) for n in (0, 1499, 2000, 3_500_000, 2_000_000_000)] == ["0 B", "1499 B", "2.00 KB", "3.50 MB", "2.00 GB"]


def test_markdown_escapes_and_says_there_is_no_price() -> None:
    project = _project()
    project.objects["dataset"].append(_observed("dataset", "a|b"))
    report = FootprintReport("dev", [summarise("P", project, JOBS, {}, None, "refused")])
    text = render_markdown(report)
    assert "| a\\|b | not computed |" in text
    assert "Data directories: unknown (refused)." in text
    assert "Cost in money is not computed" in text
    assert report.to_json()["cost"] is None


def test_what_any_type_reads_or_a_recipe_writes_counts_through_the_specs_flow_links() -> None:
    """The footprint knows no type by name beyond datasets, recipes and scenarios it reports: an
    object of another type whose spec `reads` a dataset (a chart insight, an ML task's training
    set) keeps it from being 'unread'; a recipe's output that is not a dataset is found in the jobs
    by its DSS id, whatever type the recipe's `flow_links` say it may be."""
    reader = dataclasses.replace(NOTEBOOK, flow_links=lambda attrs: [FlowLink(READS, str(attrs["shows"]))])
    project = _project()
    project.objects[NOTEBOOK.type] = [_observed(NOTEBOOK.type, "chart", shows="lonely")]
    project.objects["recipe"].append(_observed("recipe", "evaluate", kind="python", inputs={"main": ["clean"]},
                                               outputs={"main": ["store"]}))
    project.objects["managed_folder"].append(Observed("managed_folder", KEY, "store", "mes42", {}))
    jobs = [*JOBS, {"def": {"id": "eval", "outputs": [{"type": "MANAGED_FOLDER", "id": "mes42"}]},
                    "state": "DONE", "startTime": 30_000, "endTime": 31_000}]
    with registered(reader):
        found = summarise("P", project, jobs, {}, None, "refused")
    datasets = {d.name: d for d in found.datasets}
    assert datasets["lonely"].read_by == (f"{NOTEBOOK.label} chart",)
    recipes = {r.name: r for r in found.recipes}
    assert recipes["evaluate"].last_run is not None and recipes["evaluate"].last_run.job_id == "eval"
    assert "dataset.P.lonely" not in [r.address for r in found.recommendations]
