"""A saved plan is applied without observing DSS again (it was observed when planned).

Only the requests the changes need are made: the read-modify-write of each update, the
creates (folder ids come from the state), no list, no project document, no per-object read
of anything unchanged. An interrupted apply's journal still brings the observation back.
"""

from __future__ import annotations

import json
from pathlib import Path

from dataiku_iac.engine.session import Session
from dataiku_iac.planner.plan import PlanOptions

PROJECT = """\
project:
  key: SP
  name: Saved plans
managed_folders:
  - {name: reports, description: Reports}
datasets:
  - {name: a, type: managed, format: csv}
  - {name: b, type: managed, format: csv, description: B}
recipes:
  - name: make_b
    type: python
    inputs: [a]
    outputs: [b]
    code: "print('b')\\n"
"""
MORE = """\
  - name: report
    type: python
    inputs: [b]
    outputs: [reports]
    code: "print('report')\\n"
"""


def _session(root: Path, dss) -> Session:
    return Session(root, "dev", environ={"DKU_DSS_URL": dss.url, "DKU_API_KEY": dss.api_key})


def test_a_saved_plan_is_applied_without_observing_again(tmp_path: Path, dss) -> None:
    root = tmp_path / "cfg"
    (root / "projects").mkdir(parents=True)
    (root / "environments").mkdir()
    (root / "environments" / "dev.yml").write_text("dss:\n  api_key_env: DKU_API_KEY\n")
    (root / "projects" / "sp.yml").write_text(PROJECT)
    _, applied = _session(root, dss).apply(PlanOptions())
    assert applied is not None and applied.ok

    # A new recipe writing into the existing folder (its id must come from the state) and an
    # updated dataset description.
    (root / "projects" / "sp.yml").write_text(PROJECT.replace("description: B", "description: B2") + MORE)
    saved = json.loads(json.dumps(_session(root, dss).plan().plan.to_json()))
    assert saved["digest"]

    dss.admin.clear_requests()
    _, applied = _session(root, dss).apply(saved_plan=saved)
    assert applied is not None and applied.ok, applied and applied.failed
    requests = [(e["method"], e["path"]) for e in dss.admin.requests()]
    reads = [path for method, path in requests if method == "GET" and not path.startswith(("/admin/", "/connections/"))]
    assert reads == ["/projects/SP/datasets/b", "/projects/SP/recipes/report"], requests
    # (the dataset's read-modify-write and the new recipe's save; its versionTag is the one that
    # read showed, as nothing saved it since: recorded without a list)

    recipe = dss.client().get_project("SP").get_recipe("report").get_settings().data["recipe"]
    folder_id = next(f["id"] for f in dss.client().get_project("SP").list_managed_folders() if f["name"] == "reports")
    assert recipe["outputs"]["main"]["items"][0]["ref"] == folder_id
    assert not _session(root, dss).plan().plan.has_changes
