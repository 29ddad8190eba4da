"""Acceptance point 3: import round trip on projects built from real DSS documents.

A project is built in the emulator through dataikuapi from /work/shared/dss-samples (see
tests/e2e/samples.py); `dataiku-iac import project KEY -e dev` writes YAML, code files and state;
`plan -e dev` must then say `No changes.`. What the config cannot express is reported as not
imported and stays unmanaged. The YAML must read like something a person wrote: no DSS
bookkeeping, no server-computed paths, no DSS default step or trigger settings.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e import samples
from tests.e2e.helpers import (
    cli_env,
    prepare_example,
    request_count,
    run_cli,
    state_dir,
    unmark_project,
    version_tags,
    write_config,
    writes_since,
)
from tests.support import example_secrets

SUFFIX_ENV = """\
dss:
  api_key_env: DKU_API_KEY
project_key:
  suffix: _DEV
connections:
  warehouse_pg: postgreSQL
code_envs:
  py_base: Python-base36
"""
# Keys DSS fills in or owns: none may appear in an imported file.
BOOKKEEPING_KEYS = {
    "versionTag",
    "creationTag",
    "lastModifiedBy",
    "lastModifiedOn",
    "versionNumber",
    "projectKey",
}
STEP_DEFAULT_KEYS = {
    "maxRetriesOnFail",
    "delayBetweenRetries",
    "resetScenarioStatus",
    "alwaysShowComment",
    "runConditionType",
    "runConditionStatuses",
    "runConditionExpression",
    "proceedOnFailure",
    "partitionsSpec",
    "graceDelaySettings",
    "triggerWhenAllFire",
    "lastUpdate",
    "refreshHiveMetastore",
    "autoUpdateSchemaBeforeEachRecipeRun",
    "stopAtFlowZoneBoundary",
    "adminConfig",
}
DATASET_DEFAULT_KEYS = {
    "metrics",
    "checks",
    "probes",
    "flowOptions",
    "readWriteOptions",
    "dkuProperties",
    "customFields",
    "managed",
}
DATASET_DEFAULT_PARAMS = {"notReadyIfEmpty", "filesSelectionRules", "mode", "writeInsertBatchSize", "bucket"}


@pytest.fixture
def sample_project(dss: Any) -> str:
    samples.seed_instance(dss)
    return "SAMPLES"


@pytest.mark.parametrize("suffixed", [False, True], ids=["plain-env", "suffixed-env"])
def test_import_round_trip_of_sample_documents(
    dss: Any, tmp_path: Path, sample_project: str, suffixed: bool
) -> None:
    config_key = sample_project
    dss_key = f"{config_key}_DEV" if suffixed else config_key
    client = dss.client()
    samples.build_sample_project(client, dss_key)
    root = write_config(tmp_path / "cfg", {}, env=SUFFIX_ENV if suffixed else "")
    env = cli_env(dss, **samples.secret_env(config_key))

    before = request_count(dss)
    tags_before = version_tags(client, [dss_key])
    imported = run_cli(dss, root, "import", "project", dss_key, "-e", "dev", env=env)
    # Import changes one thing in DSS: the project's metadata gets the state's marker (issue 10).
    assert writes_since(dss, before) == [("PUT", f"/projects/{dss_key}/metadata")], "import changes nothing else"
    tags_after = version_tags(client, [dss_key])
    changed = {k for k in tags_before if tags_after.get(k) != tags_before[k]}
    assert changed <= {(dss_key, t, dss_key) for t in ("project", "project-settings", "project-metadata")}, changed
    metadata = json.loads(tags_after[(dss_key, "project-metadata", dss_key)])
    assert set(metadata["custom"]["kv"]) == {"dataiku-iac.lineage"}
    assert "Check: plan after import -> No changes." in imported.stdout, str(imported)
    skipped = set(re.findall(r"not imported \(not expressible in the config yet\): (.+)", imported.stdout))
    assert skipped == samples.EXPECTED_SKIPPED, str(imported)

    plan = run_cli(dss, root, "plan", "-e", "dev", "--detailed-exitcode", env=env)
    assert plan.last_line().startswith("No changes."), str(plan)

    project_file = root / "projects" / f"{config_key.lower()}.yml"
    document = yaml.safe_load(project_file.read_text(encoding="utf-8"))
    assert document["project"]["key"] == config_key
    _assert_clean_yaml(document)
    _assert_expressible_objects_imported(document, client, dss_key)

    state = run_cli(dss, root, "state", "list", "-e", "dev", env=env).stdout
    for line in samples.EXPECTED_SKIPPED:
        type_, name = line.split()
        assert f"{type_}.{config_key}.{name}" not in state, f"{line} was skipped but adopted"
    drift = run_cli(dss, root, "drift", "-e", "dev", "--json", expect=2, env=env).json()
    assert {r["kind"] for r in drift["resources"]} == {"unmanaged"}
    assert {f"{r['type']} {r['name']}" for r in drift["resources"]} == samples.EXPECTED_SKIPPED

    if suffixed:  # remapped names are written in the config's vocabulary
        assert "warehouse_pg" in project_file.read_text(encoding="utf-8")
        assert "py_base" in project_file.read_text(encoding="utf-8")

    # Apply after import changes nothing in DSS.
    before = request_count(dss)
    applied = run_cli(dss, root, "apply", "-e", "dev", "--auto-approve", env=env)
    assert applied.last_line().startswith("No changes."), str(applied)
    assert writes_since(dss, before) == []


def _assert_clean_yaml(document: dict) -> None:
    for key in BOOKKEEPING_KEYS:
        found = samples.find_value(document, lambda k, key=key: k == key)
        assert found is None, f"bookkeeping key in the imported YAML: {found}"
    # A managed dataset's path is written only when it is not the one DSS computes from its name
    # (the samples copy one document under many names: their paths name another dataset).
    for item in document.get("datasets") or []:
        if item["type"] == "managed" and "path" in item:
            path = item.pop("path")
            assert not path.endswith(f"${{projectKey}}/{item['name']}"), f"{item['name']} has its computed path"
    text = yaml.safe_dump(document)
    for computed in ("${odbId}", "${projectKey}/", "/${projectKey}"):
        assert computed not in text, f"a server-computed path ({computed}) was written into the YAML"
    for item in document.get("scenarios") or []:
        for step in item.get("steps") or []:
            assert not (set(step) & STEP_DEFAULT_KEYS), f"DSS step defaults in {item['id']}: {step}"
            assert not re.match(r"^Step #\d+$", step.get("name", "")), f"default step name in {item['id']}"
            assert (
                step.get("run_condition", "x") != "on_success" and step.get("enabled", False) is not True
            ), step
        for trigger in item.get("triggers") or []:
            assert not (set(trigger) & STEP_DEFAULT_KEYS), f"DSS trigger defaults in {item['id']}: {trigger}"
            assert "starting_from" not in trigger and trigger.get("timezone") != "SERVER", trigger
            assert trigger.get("repeat_every") != 1 and trigger.get("active", False) is not True, trigger
    for item in document.get("datasets") or []:
        assert not (set(item) & DATASET_DEFAULT_KEYS), (
            f"DSS dataset defaults in {item['name']}: {sorted(item)}"
        )
        # params: only what a person chose (a custom create statement), never DSS's creation defaults
        assert not (set(item.get("params") or {}) & DATASET_DEFAULT_PARAMS), item
    for item in document.get("managed_folders") or []:
        assert "path" not in item or "${" not in item["path"], item


def _assert_expressible_objects_imported(document: dict, client: Any, dss_key: str) -> None:
    project = client.get_project(dss_key)
    live = {
        "dataset": {d["name"] for d in project.list_datasets()},
        "managed_folder": {f["name"] for f in project.list_managed_folders()},
        "recipe": {r["name"] for r in project.list_recipes()},
        "scenario": {s["id"] for s in project.list_scenarios()},
    }
    written = {
        "dataset": {d["name"] for d in document.get("datasets") or []},
        "managed_folder": {f["name"] for f in document.get("managed_folders") or []},
        "recipe": {r["name"] for r in document.get("recipes") or []},
        "scenario": {s["id"] for s in document.get("scenarios") or []},
    }
    for type_, names in live.items():
        skipped = {line.split()[1] for line in samples.EXPECTED_SKIPPED if line.split()[0] == type_}
        assert written[type_] == names - skipped, type_
    kinds = {d["type"] for d in document["datasets"]}
    assert kinds == {"managed", "sql_table", "sql_query", "filesystem", "uploaded"}
    assert {r["type"] for r in document["recipes"]} == {"python", "sql_query", "sync", "prepare", "split"}
    steps = {s["type"] for item in document["scenarios"] for s in item.get("steps") or []}
    # typed, and DSS's send_report written raw (its type and params as DSS takes them); the sample's
    # define_variables step is in REMOVE_QUOTES, left out (tests/integration/test_scenario_steps.py has one)
    assert steps == {"build", "run_scenario", "run_macro", "set_variables", "run_checks", "send_report"}
    triggers = {t["type"] for item in document["scenarios"] for t in item.get("triggers") or []}
    assert triggers == {"temporal", "periodic", "dataset_change", "custom_python", "sql_query"}  # the last two raw
    assert any("script_file" in item for item in document["scenarios"])  # the script scenario TEST


def test_import_refuses_a_missing_project_and_writes_nothing(dss: Any, tmp_path: Path) -> None:
    root = write_config(tmp_path / "cfg", {})
    result = run_cli(dss, root, "import", "project", "NOPE", "-e", "dev", expect=1)
    assert "does not exist" in result.stderr
    assert list((root / "projects").iterdir()) == []
    assert not (state_dir(root) / "state.json").exists()


def _example_dirs() -> list[Path]:
    from tests.e2e.test_convergence import example_dirs

    return example_dirs()


@pytest.mark.parametrize("example", _example_dirs(), ids=lambda p: p.name)
def test_projects_the_tool_made_import_back_to_an_empty_plan(dss: Any, tmp_path: Path, example: Path) -> None:
    """Apply an example, then import its projects into a fresh config (same environment file):
    the importer and the model builder agree on every attribute the tool itself wrote."""
    import shutil

    source = tmp_path / "source"
    shutil.copytree(example, source)
    env = cli_env(dss, **example_secrets(source))  # the secrets its reporters reference
    prepare_example(dss, source, env)
    run_cli(dss, source, "apply", "-e", "dev", "--auto-approve", env=env)
    state = yaml.safe_load((state_dir(source) / "state.json").read_text())
    keys = sorted({r["project_key"] for r in state["resources"].values()})
    fresh = tmp_path / "fresh"
    (fresh / "environments").mkdir(parents=True)
    shutil.copy(source / "environments" / "dev.yml", fresh / "environments" / "dev.yml")
    if (source / "iac.yml").exists():
        shutil.copy(source / "iac.yml", fresh / "iac.yml")
    client = dss.client()
    refused = run_cli(dss, fresh, "import", "project", keys[0], "-e", "dev", expect=1)
    assert "marked as managed by another dataiku-iac state" in refused.stderr, str(refused)
    for key in keys:  # the source state is given up: remove its markers, as the refusal says
        unmark_project(client, key)
    tags_before = version_tags(client, keys)
    for key in keys:
        imported = run_cli(dss, fresh, "import", "project", key, "-e", "dev")
        assert "Check: plan after import -> No changes." in imported.stdout, str(imported)
        assert "not imported" not in imported.stdout, str(imported)
    env.update(example_secrets(fresh))  # import wrote them as references of its own naming
    plan = run_cli(dss, fresh, "plan", "-e", "dev", "--detailed-exitcode", env=env)
    assert plan.last_line().startswith("No changes."), str(plan)
    # Nothing changed in DSS but the markers of the new state.
    for key in keys:
        unmark_project(client, key)
    assert _without_bookkeeping(version_tags(client, keys)) == _without_bookkeeping(tags_before)


def _without_bookkeeping(tags: dict) -> dict:
    """versionTags without the project's own, which every metadata save bumps."""
    return {k: v for k, v in tags.items() if k[1] not in ("project", "project-settings")}


def test_multi_line_descriptions_import_as_literal_blocks(dss: Any, tmp_path: Path) -> None:
    """A description written in the DSS UI over several lines comes back as a `|` block that
    reads like the text, and the plan after import is still empty."""
    client = dss.client()
    project = client.create_project("NOTES", "Notes", "admin")
    text = "Sales tables.\n\nOwner: data-eng.\nRefreshed nightly.\n"
    project.set_metadata({**project.get_metadata(), "description": text})
    root = write_config(tmp_path / "cfg", {})
    imported = run_cli(dss, root, "import", "project", "NOTES", "-e", "dev")
    assert "Check: plan after import -> No changes." in imported.stdout, str(imported)
    written = (root / "projects" / "notes.yml").read_text(encoding="utf-8")
    assert "description: |\n    Sales tables.\n\n    Owner: data-eng.\n    Refreshed nightly.\n" in written, (
        written
    )
    assert yaml.safe_load(written)["project"]["description"] == text
    plan = run_cli(dss, root, "plan", "-e", "dev", "--detailed-exitcode")
    assert plan.last_line().startswith("No changes."), str(plan)


def test_a_managed_dataset_in_a_format_the_config_refuses_imports_without_it(dss: Any, tmp_path: Path) -> None:
    """A managed dataset switched in DSS to json (no managed format): the import leaves its format
    unmanaged rather than write a file `validate` refuses."""
    project = dss.client().create_project("JSONFMT", "Json format", "admin")
    project.new_managed_dataset("events").with_store_into("filesystem_managed", format_option_id="PARQUET_HIVE").create()
    settings = project.get_dataset("events").get_settings()
    settings.get_raw()["formatType"] = "json"
    settings.save()
    root = write_config(tmp_path / "cfg", {})
    imported = run_cli(dss, root, "import", "project", "JSONFMT", "-e", "dev")
    assert "Check: plan after import -> No changes." in imported.stdout, str(imported)
    (dataset,) = yaml.safe_load((root / "projects" / "jsonfmt.yml").read_text(encoding="utf-8"))["datasets"]
    assert dataset["type"] == "managed" and "format" not in dataset
    run_cli(dss, root, "validate", "-e", "dev")
