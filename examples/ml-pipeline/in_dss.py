"""What people do in DSS itself, around the configuration: an administrator prepares a DSS node,
a user presses "Build" or "Run", or looks at a saved model's versions. Uses the public API client
(dataikuapi) with $DKU_DSS_URL and $DKU_API_KEY.

    python in_dss.py setup INFRA [STAGE] [CONNECTION]   # an API Deployer infrastructure (and a connection)
    python in_dss.py build PROJECT_KEY DATASET          # build a dataset ("Build" in the Flow)
    python in_dss.py evaluate PROJECT_KEY STORE_NAME    # build an evaluation store: one evaluation
    python in_dss.py run PROJECT_KEY SCENARIO_ID        # run a scenario and wait for it
    python in_dss.py versions PROJECT_KEY MODEL_NAME    # a saved model's versions, oldest first
    python in_dss.py newest PROJECT_KEY MODEL_NAME      # the id of its newest version
    python in_dss.py unmark PROJECT_KEY                 # release a project from its dataiku-iac state
"""

from __future__ import annotations

import os
import sys
from typing import Any

import dataikuapi


def _client() -> Any:
    return dataikuapi.DSSClient(os.environ["DKU_DSS_URL"], os.environ["DKU_API_KEY"])


def setup(infra: str, stage: str = "Development", connection: str = "") -> int:
    """An administrator's one-time preparation: the API Deployer infrastructure deployments name
    (`infra:`), and the connection the environment maps `filesystem_managed` to, if any."""
    client = _client()
    deployer = client.get_apideployer()
    if infra not in [i.id for i in deployer.list_infras()]:
        deployer.create_infra(infra, stage, "STATIC")
    if connection and connection not in client.list_connections():
        client.create_connection(connection, "Filesystem", {"root": f"/data/{connection}"})
    print(f"infrastructure {infra} ({stage})" + (f", connection {connection}" if connection else ""))
    return 0


def build(project_key: str, dataset: str) -> int:
    handle = _client().get_project(project_key).get_dataset(dataset)
    handle.build(no_fail=True)
    rows = sum(1 for _ in handle.iter_rows())
    print(f"{dataset}: {rows} rows")
    return 0 if rows else 1


def evaluate(project_key: str, store_name: str) -> int:
    """Build the evaluation store (its evaluation recipe runs: one model evaluation, its checks),
    then print the evaluation's metrics."""
    project = _client().get_project(project_key)
    store = next(s for s in project.list_model_evaluation_stores() if s.get_settings().get_raw()["name"] == store_name)
    job = project.new_job("NON_RECURSIVE_FORCED_BUILD").with_output(store.id, object_type="MODEL_EVALUATION_STORE")
    state = job.start_and_wait(no_fail=True).get_status()["baseStatus"]["state"]
    metrics = store.get_latest_model_evaluation().get_full_info().metrics
    shown = ", ".join(f"{k} {float(metrics[k]):.3f}" for k in ("accuracy", "data_drift") if metrics.get(k) is not None)
    print(f"{store_name}: evaluation {state}: {shown}")
    return 0 if state == "DONE" else 1


def run(project_key: str, scenario_id: str) -> int:
    done = _client().get_project(project_key).get_scenario(scenario_id).run_and_wait(no_fail=True)
    outcome = done.get_info()["result"]["outcome"]
    print(f"{scenario_id}: {outcome}")
    return 0 if outcome == "SUCCESS" else 1


def _versions(project_key: str, model_name: str) -> list[dict]:
    project = _client().get_project(project_key)
    model = next(m for m in project.list_saved_models() if m["name"] == model_name)
    return sorted(project.get_saved_model(model["id"]).list_versions(), key=lambda v: v.get("trainDate") or 0)


def versions(project_key: str, model_name: str) -> int:
    for version in _versions(project_key, model_name):
        print(f"{version['id']}{'  (active)' if version.get('active') else ''}")
    return 0


def newest(project_key: str, model_name: str) -> int:
    print(_versions(project_key, model_name)[-1]["id"])
    return 0


def unmark(project_key: str) -> int:
    """What a user does in the project's Metadata tab to give up the state that manages it: delete
    the `dataiku-iac.lineage` key (docs/state-format.md, "Ownership"). Another state's `import
    project` refuses a project that key names."""
    project = _client().get_project(project_key)
    metadata = project.get_metadata()
    kv = metadata.setdefault("custom", {}).setdefault("kv", {})
    removed = kv.pop("dataiku-iac.lineage", None)
    project.set_metadata(metadata)
    print(f"{project_key}: " + ("released from state lineage " + removed if removed else "not marked by any state"))
    return 0


COMMANDS = {"setup": setup, "build": build, "evaluate": evaluate, "run": run, "versions": versions, "newest": newest,
            "unmark": unmark}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit(__doc__)
    sys.exit(COMMANDS[sys.argv[1]](*sys.argv[2:]))
