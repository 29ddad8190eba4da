"""A create is not followed by a read of what it created when DSS's answer is the document.

dataikuapi returns handles and drops the answer of a create request; the handlers keep it
(resources/base.py `create_answer`). Where it is the created object's document, the
read-modify-write finishing a dataset or folder create, and the check of what DSS kept of a
scenario's definition, start from it: POST then PUT, no GET. Where DSS answers with less (the
emulator's switch `create_answer: identity`: only the key dataikuapi reads), the object is read
as before. Either way the apply converges to the same state, and the next plan reads no recipe
or scenario it wrote.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from dataiku_iac.engine.observe import IN_SYNC
from dataiku_iac.engine.session import Session
from dataiku_iac.planner.plan import PlanOptions

PROJECT = """\
project:
  key: CR
  name: Create requests
managed_folders:
  - {name: reports, description: Weekly reports, tags: [out]}
datasets:
  - name: raw
    type: filesystem
    path: /landing/raw
    format: csv
    format_params: {separator: ","}
    description: Landing files
    tags: [source]
    schema: {columns: [{name: id, type: bigint}, {name: label, type: string}]}
  - name: clean
    type: managed
    format: parquet
    description: Cleaned
    schema: {columns: [{name: id, type: bigint}]}
recipes:
  - name: make_clean
    type: python
    inputs: [raw]
    outputs: [clean]
    code: "print('clean')\\n"
    description: cleans
scenarios:
  - id: NIGHTLY
    name: Nightly
    triggers:
      - {type: temporal, frequency: Daily, hour: 2, minute: 0, starting_from: "2024-01-01"}
    steps:
      - {type: build, datasets: [clean], folders: [reports]}
"""
OBJECT_READ = re.compile(r"^/projects/CR/(datasets|managedfolders|recipes|scenarios)/[^/]+$")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "cfg"
    (root / "projects").mkdir(parents=True)
    (root / "environments").mkdir()
    (root / "iac.yml").write_text(
        "version: 1\ndefaults:\n  dataset:\n    connection: filesystem_managed\n"
        "  managed_folder:\n    connection: filesystem_folders\n"
    )
    (root / "environments" / "dev.yml").write_text("dss:\n  api_key_env: DKU_API_KEY\n")
    (root / "projects" / "cr.yml").write_text(PROJECT)
    return root


def _session(root: Path, dss) -> Session:
    return Session(root, "dev", environ={"DKU_DSS_URL": dss.url, "DKU_API_KEY": dss.api_key})


def _object_reads(dss) -> list[str]:
    return sorted(e["path"] for e in dss.admin.requests() if e["method"] == "GET" and OBJECT_READ.match(e["path"]))


def _apply(root: Path, dss):
    dss.admin.clear_requests()
    _, applied = _session(root, dss).apply(PlanOptions())
    assert applied is not None and applied.ok and len(applied.done) == 6
    return applied.state


@pytest.mark.parametrize(
    ("answer", "reads"),
    [
        # The recipe is read before its save: DSS answers a recipe create with its name only.
        ("document", ["/projects/CR/recipes/make_clean"]),
        ("identity", ["/projects/CR/datasets/clean", "/projects/CR/datasets/raw", "/projects/CR/managedfolders/{folder}",
                      "/projects/CR/recipes/make_clean", "/projects/CR/scenarios/NIGHTLY"]),
    ],
)
def test_a_create_reads_only_what_its_answer_does_not_tell(root, dss, answer, reads) -> None:
    dss.admin.set_behaviour(create_answer=answer)
    state = _apply(root, dss)
    folder = state.get("managed_folder.CR.reports").dss_id
    assert _object_reads(dss) == sorted(r.format(folder=folder) for r in reads)
    writes = [(e["method"], e["path"]) for e in dss.admin.requests() if e["method"] in ("POST", "PUT")]
    # One create per object, one save where the create cannot carry everything (the scenario's can).
    assert sorted(writes) == sorted([
        ("POST", "/projects/"), ("PUT", "/projects/CR/metadata"),
        ("POST", "/projects/CR/datasets/"), ("PUT", "/projects/CR/datasets/raw"),
        ("POST", "/projects/CR/datasets/managed"), ("PUT", "/projects/CR/datasets/clean"),
        ("POST", "/projects/CR/managedfolders/"), ("PUT", f"/projects/CR/managedfolders/{folder}"),
        ("POST", "/projects/CR/recipes/"), ("PUT", "/projects/CR/recipes/make_clean"),
        ("POST", "/projects/CR/scenarios/"),
    ])
    # The scenario's version is known without a read: the next plan does not read it either.
    assert state.get("scenario.CR.NIGHTLY").version_tag.get(IN_SYNC) is True

    dss.admin.clear_requests()
    assert not _session(root, dss).plan().plan.has_changes
    assert _object_reads(dss) == []
    assert not _session(root, dss).drift().has_drift


def test_both_answers_give_the_same_state(root, dss, tmp_path) -> None:
    by_answer = {}
    for answer in ("document", "identity"):
        dss.admin.reset(full=True)
        dss.admin.set_behaviour(create_answer=answer)
        state = _apply(root, dss)
        by_answer[answer] = {
            a: (e.attributes, sorted((e.version_tag or {}).keys())) for a, e in state.resources.items() if e.type != "managed_folder"
        }
        (root / ".dataiku-iac").rename(tmp_path / f"state-{answer}")
    assert by_answer["document"] == by_answer["identity"]
