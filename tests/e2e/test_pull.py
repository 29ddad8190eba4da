"""`dataiku-iac pull`: the changes made in DSS behind the tool's back written into the YAML.

Acceptance (issue 15, item 3): ten attributes of five types changed in DSS through dataikuapi,
then `pull`: `plan` says `No changes.`, `drift` is clean, and the diff of the project file shows
only those values, every comment kept. A value that comes from a `${variable}` or from an
environment override is reported (file:line, DSS's value) and left as written.
"""

from __future__ import annotations

import difflib
import json
import shutil
from pathlib import Path
from typing import Any, Callable

from dataiku_iac.state import open_state

from tests.e2e.helpers import EXAMPLES, assert_no_changes, cli_env, run_cli, state_dir, write_config

PROJECT = """\
# The orders project: a comment at the top of the file.
project:
  key: PULLED
  name: Pulled back
  description: watched by pull   # the project's description
  tags: [iac, orders]
  variables:
    standard:
      min_amount: 10     # in euros
      region: emea

flow_zones:
  # the ingestion zone
  - name: ingestion
    color: "#31439c"

managed_folders:
  - name: reports
    description: weekly reports
  - name: archive
    description: 'old reports'   # single-quoted on purpose

datasets:
  - name: orders        # where orders land
    type: managed
    format: csv
    description: raw orders
    zone: ingestion
    schema:
      columns:
        - {name: id, type: bigint}
        - {name: amount, type: double}   # euros
  - name: orders_clean
    type: managed
    format: parquet
    description: ${CLEAN_DESCRIPTION}

recipes:
  - name: clean
    type: python
    inputs: [orders]
    outputs: [orders_clean]
    code_file: recipes/clean.py   # the code lives in its own file

scenarios:
  - id: NIGHTLY
    name: Nightly
    active: true
    triggers:
      - {type: temporal, frequency: Daily, hour: 2, minute: 30}
    steps:
      - {type: build, datasets: [orders_clean]}
"""
ENV = """\
dss:
  api_key_env: DKU_API_KEY
variables:
  CLEAN_DESCRIPTION: clean orders
overrides:
  managed_folder.PULLED.reports:
    description: weekly reports (dev)
"""
KEY = "PULLED"


def _applied(dss: Any, tmp_path: Path) -> Path:
    root = write_config(tmp_path / "cfg", {"pulled.yml": PROJECT}, env=ENV, files={"recipes/clean.py": 'print("clean")\n'})
    run_cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    return root


def _edit(settings: Any, change: Callable[[dict], None]) -> None:
    change(settings.get_raw())
    settings.save()


def _diff(before: str, after: str) -> list[str]:
    """The lines removed and added, sorted (difflib groups neighbouring changes its own way)."""
    return sorted(line for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
                  if line[:1] in "+-" and not line.startswith(("+++", "---")))


def test_pull_writes_ten_values_of_five_types_and_keeps_every_comment(dss: Any, tmp_path: Path) -> None:
    root = _applied(dss, tmp_path)
    project = dss.client().get_project(KEY)
    project.set_variables({**project.get_variables(), "standard": {"min_amount": 25, "region": "emea"}})
    metadata = project.get_metadata()
    metadata["tags"] = ["iac", "orders", "audited"]
    metadata["description"] = "pulled back from DSS"
    project.set_metadata(metadata)
    archive = next(f for f in project.list_managed_folders() if f["name"] == "archive")
    _edit(project.get_managed_folder(archive["id"]).get_settings(), lambda raw: raw.update(description="reports, kept a year"))
    dataset = project.get_dataset("orders")
    _edit(dataset.get_settings(), lambda raw: raw.update(description="orders as they land"))
    _edit(dataset.get_settings(), lambda raw: raw["schema"]["columns"][1].update(type="float"))
    recipe = project.get_recipe("clean").get_settings()
    recipe.set_payload('print("hot fix")\n')
    recipe.save()
    _edit(project.get_scenario("NIGHTLY").get_settings(), lambda raw: raw.update(active=False))
    _edit(project.get_scenario("NIGHTLY").get_settings(), lambda raw: raw["triggers"][0]["params"].update(hour=4))
    zone = next(z for z in project.get_flow().list_zones() if z.name == "ingestion")
    zone_settings = zone.get_settings()
    zone_settings.color = "#ff8800"
    zone_settings.save()
    before = (root / "projects" / "pulled.yml").read_text()

    dry = run_cli(dss, root, "pull", "-e", "dev", "--dry-run", expect=2)
    assert "+++ b/projects/pulled.yml" in dry.stdout and "Nothing was written" in dry.stdout
    assert (root / "projects" / "pulled.yml").read_text() == before

    result = run_cli(dss, root, "pull", "-e", "dev", "--json", expect=0).json()
    after = (root / "projects" / "pulled.yml").read_text()
    assert _diff(before, after) == sorted([
        "-  description: watched by pull   # the project's description",
        "+  description: pulled back from DSS   # the project's description",  # and its distance
        "-  tags: [iac, orders]",
        "+  tags: [iac, orders, audited]",
        "-      min_amount: 10     # in euros",
        "+      min_amount: 25     # in euros",
        '-    color: "#31439c"',
        '+    color: "#ff8800"',
        "-    description: 'old reports'   # single-quoted on purpose",
        "+    description: 'reports, kept a year'   # single-quoted on purpose",
        "-    description: raw orders",
        "+    description: orders as they land",
        "-        - {name: amount, type: double}   # euros",
        "+        - {name: amount, type: float}    # euros",  # the comment keeps its column
        "-    active: true",
        "+    active: false",
        "-      - {type: temporal, frequency: Daily, hour: 2, minute: 30}",
        "+      - {type: temporal, frequency: Daily, hour: 4, minute: 30}",
    ]), after
    assert (root / "recipes" / "clean.py").read_text() == 'print("hot fix")\n'
    assert result["reported"] == [], result
    assert len(result["patched"]) == 10  # ten values of six types (the recipe's in its code file)
    assert {p["address"].split(".")[0] for p in result["patched"]} == {
        "project", "flow_zone", "managed_folder", "dataset", "recipe", "scenario"}
    assert_no_changes(dss, root)
    assert run_cli(dss, root, "drift", "-e", "dev", "--json").json()["drift"] is False
    again = run_cli(dss, root, "pull", "-e", "dev")
    assert again.stdout.startswith("Nothing to pull.")
    assert (root / "projects" / "pulled.yml").read_text() == after


def test_values_from_variables_and_overrides_are_reported_not_overwritten(dss: Any, tmp_path: Path) -> None:
    root = _applied(dss, tmp_path)
    project = dss.client().get_project(KEY)
    _edit(project.get_dataset("orders_clean").get_settings(), lambda raw: raw.update(description="cleaned by hand"))
    reports = next(f for f in project.list_managed_folders() if f["name"] == "reports")
    folder = project.get_managed_folder(reports["id"])
    _edit(folder.get_settings(), lambda raw: raw.update(description="edited in the UI"))
    _edit(project.get_dataset("orders").get_settings(), lambda raw: raw.update(description="orders as they land"))
    files = {rel: (root / rel).read_text() for rel in ("projects/pulled.yml", "environments/dev.yml")}

    result = run_cli(dss, root, "pull", "-e", "dev", "--json", expect=2).json()
    reported = {r["address"]: r for r in result["reported"]}
    assert set(reported) == {"dataset.PULLED.orders_clean", "managed_folder.PULLED.reports"}, result
    variable = reported["dataset.PULLED.orders_clean"]
    assert variable["kind"] == "variable" and "${CLEAN_DESCRIPTION}" in variable["reason"]
    assert variable["where"] == "projects/pulled.yml:36" and variable["dss_value"] == "cleaned by hand"
    override = reported["managed_folder.PULLED.reports"]
    assert override["kind"] == "override" and override["where"] == "environments/dev.yml:7"
    assert override["dss_value"] == "edited in the UI"
    assert [p["path"] for p in result["patched"]] == ["datasets[0].description"]
    assert (root / "environments" / "dev.yml").read_text() == files["environments/dev.yml"]
    after = (root / "projects" / "pulled.yml").read_text()
    assert _diff(files["projects/pulled.yml"], after) == ["+    description: orders as they land", "-    description: raw orders"]
    assert "description: ${CLEAN_DESCRIPTION}" in after

    text = run_cli(dss, root, "pull", "-e", "dev", expect=2).stdout
    assert "! dataset.PULLED.orders_clean: datasets[1].description comes from ${CLEAN_DESCRIPTION}: not overwritten" in text
    assert "at projects/pulled.yml:36" in text and 'DSS has: "cleaned by hand"' in text
    # What was left is still drift; what was pulled is not.
    drift = run_cli(dss, root, "drift", "-e", "dev", "--json", expect=2).json()
    assert {r["address"] for r in drift["resources"]} == {"dataset.PULLED.orders_clean", "managed_folder.PULLED.reports"}


def test_a_secret_changed_in_dss_is_reported_never_written(dss: Any, tmp_path: Path) -> None:
    secret_project = PROJECT.replace("      region: emea\n", "      region: emea\n    local:\n      api_token: {secret_env: IAC_SECRET_PULLED_TOKEN}\n")
    env = cli_env(dss, IAC_SECRET_PULLED_TOKEN="first-token-value")
    root = write_config(tmp_path / "cfg", {"pulled.yml": secret_project}, env=ENV, files={"recipes/clean.py": 'print("clean")\n'})
    run_cli(dss, root, "apply", "-e", "dev", "--auto-approve", env=env)
    project = dss.client().get_project(KEY)
    variables = project.get_variables()
    variables["local"]["api_token"] = "typed-in-the-ui-3f9a"
    variables["standard"]["region"] = "apac"
    project.set_variables(variables)

    result = run_cli(dss, root, "pull", "-e", "dev", "--json", expect=2, env=env)
    assert "typed-in-the-ui-3f9a" not in result.stdout + result.stderr
    body = result.json()
    assert [(r["kind"], r["path"], r["dss_value"]) for r in body["reported"]] == [
        ("secret", "variables.local.api_token.fingerprint", "(sensitive value)")]
    assert [p["path"] for p in body["patched"]] == ["project.variables.standard.region"]
    text = (root / "projects" / "pulled.yml").read_text()
    assert "typed-in-the-ui-3f9a" not in text and "api_token: {secret_env: IAC_SECRET_PULLED_TOKEN}" in text
    assert "region: apac" in text
    # Only the secret still differs: the plan writes the configuration's secret back.
    plan = run_cli(dss, root, "plan", "-e", "dev", "--json", env=env).json()
    assert [c["address"] for c in plan["resource_changes"] if c["action"] != "no-op"] == ["project.PULLED"]


def test_objects_created_deleted_or_renamed_in_dss_and_conflicts_are_reported(dss: Any, tmp_path: Path) -> None:
    root = _applied(dss, tmp_path)
    project = dss.client().get_project(KEY)
    project.get_scenario("NIGHTLY").delete()
    project.create_managed_folder("hand_made")
    archive = next(f for f in project.list_managed_folders() if f["name"] == "archive")
    _edit(project.get_managed_folder(archive["id"]).get_settings(), lambda raw: raw.update(name="archive_2025"))
    _edit(project.get_dataset("orders").get_settings(), lambda raw: raw.update(description="changed in DSS"))
    zone = next(z for z in project.get_flow().list_zones() if z.name == "ingestion")
    zone_settings = zone.get_settings()
    zone_settings.color = "#ff8800"
    zone_settings.save()
    metadata = project.get_metadata()
    metadata["label"] = "Pulled back, renamed"  # the project's display name: a value, not a rename
    project.set_metadata(metadata)
    path = root / "projects" / "pulled.yml"
    path.write_text(path.read_text().replace("description: raw orders", "description: changed in the file"))
    before = path.read_text()

    # Only the addresses given: the zone is not pulled.
    only = run_cli(dss, root, "pull", "-e", "dev", "dataset.PULLED.orders", "--json", expect=2).json()
    assert [(r["address"], r["kind"]) for r in only["reported"]] == [("dataset.PULLED.orders", "conflict")]
    assert only["reported"][0]["where"] == "projects/pulled.yml:27" and only["patched"] == []
    assert path.read_text() == before

    result = run_cli(dss, root, "pull", "-e", "dev", "--json", expect=2).json()
    kinds = {(r["address"], r["kind"]) for r in result["reported"]}
    assert kinds == {
        ("dataset.PULLED.orders", "conflict"),
        ("managed_folder.PULLED.archive", "renamed"),
        ("scenario.PULLED.NIGHTLY", "deleted"),
        ("managed_folder.PULLED.hand_made", "unmanaged"),
    }, result
    hints = {r["address"]: r["hint"] for r in result["reported"]}
    assert "dataiku-iac state mv -e dev managed_folder.PULLED.archive managed_folder.PULLED.archive_2025" in hints["managed_folder.PULLED.archive"]
    assert "dataiku-iac import -e dev managed_folder.PULLED.hand_made ID" in hints["managed_folder.PULLED.hand_made"]
    assert "dataiku-iac state rm -e dev scenario.PULLED.NIGHTLY" in hints["scenario.PULLED.NIGHTLY"]
    assert sorted(p["address"] for p in result["patched"]) == ["flow_zone.PULLED.ingestion", "project.PULLED"]
    assert _diff(before, path.read_text()) == sorted(['+    color: "#ff8800"', '-    color: "#31439c"',
                                                      "-  name: Pulled back", "+  name: Pulled back, renamed"])

    text = run_cli(dss, root, "pull", "-e", "dev", "--dry-run", expect=2).stdout
    assert "! dataset.PULLED.orders: datasets[0].description differs in the configuration from what was last applied" in text
    assert "Nothing pulled: 4 items left for you." in text


def test_values_a_module_brings_are_reported_not_patched(dss: Any, tmp_path: Path) -> None:
    root = tmp_path / "modules"
    shutil.copytree(EXAMPLES / "modules", root, ignore=shutil.ignore_patterns(".dataiku-iac"))
    run_cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    project = dss.client().get_project("SHOP_DEV")
    _edit(project.get_scenario("orders_ingest").get_settings(), lambda raw: raw.update(active=False))
    metadata = project.get_metadata()
    metadata["description"] = "Shop orders"
    project.set_metadata(metadata)
    before = {p: p.read_bytes() for p in root.rglob("*.yml")}

    result = run_cli(dss, root, "pull", "-e", "dev", "--json", expect=2).json()
    assert [(r["address"], r["kind"], r["where"]) for r in result["reported"]] == [
        ("module.orders.scenario.SHOP.orders_ingest", "module", "projects/shop.yml:8")], result
    assert [p["path"] for p in result["patched"]] == ["project.description"]
    changed = [p for p, text in before.items() if p.read_bytes() != text]
    assert changed == [root / "projects" / "shop.yml"]
    assert "  description: Shop orders\n" in changed[0].read_text()


PYTHON_PROJECT = """\
from dataiku_iac.dsl import DatasetManaged, Project, ProjectFile

config = ProjectFile(
    project=Project(key="PY_PULL", name="From Python", description="written in Python"),
    datasets=[DatasetManaged(name="part_0", format="parquet")],
)
"""


def test_values_of_a_python_project_file_are_reported_not_patched(dss: Any, tmp_path: Path) -> None:
    root = write_config(tmp_path / "cfg", {"py_pull.py": PYTHON_PROJECT})
    run_cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    project = dss.client().get_project("PY_PULL")
    metadata = project.get_metadata()
    metadata["description"] = "edited in the UI"
    project.set_metadata(metadata)

    result = run_cli(dss, root, "pull", "-e", "dev", "--json", expect=2).json()
    assert [(r["address"], r["kind"]) for r in result["reported"]] == [("project.PY_PULL", "not_located")], result
    [reported] = result["reported"]
    assert "projects/py_pull.py, which is not a YAML file" in reported["reason"]
    assert reported["path"] == "project.description" and reported["where"] == "projects/py_pull.py:4", reported
    assert reported["dss_value"] == "edited in the UI"
    assert result["patched"] == [] and result["files"] == []
    assert (root / "projects" / "py_pull.py").read_text() == PYTHON_PROJECT


def test_pull_writes_nothing_while_another_run_holds_the_lock(dss: Any, tmp_path: Path) -> None:
    root = _applied(dss, tmp_path)
    project = dss.client().get_project(KEY)
    _edit(project.get_dataset("orders").get_settings(), lambda raw: raw.update(description="changed in DSS"))
    before = (root / "projects" / "pulled.yml").read_text()
    state = (state_dir(root) / "state.json").read_text()
    writer = open_state({"backend": "local"}, environment="dev", config_root=root)
    held = writer.lock("apply (another pipeline)")
    try:
        result = run_cli(dss, root, "pull", "-e", "dev", "--lock-timeout", "500ms", expect=1)
    finally:
        writer.unlock(held.id)
    assert f"lock ID {held.id}" in result.stderr and "still held after waiting 0.5 s" in result.stderr, str(result)
    assert (root / "projects" / "pulled.yml").read_text() == before
    assert (state_dir(root) / "state.json").read_text() == state


def test_an_object_the_configuration_no_longer_declares_is_reported(dss: Any, tmp_path: Path) -> None:
    root = _applied(dss, tmp_path)
    project = dss.client().get_project(KEY)
    archive = next(f for f in project.list_managed_folders() if f["name"] == "archive")
    _edit(project.get_managed_folder(archive["id"]).get_settings(), lambda raw: raw.update(description="changed in DSS"))
    path = root / "projects" / "pulled.yml"
    path.write_text(path.read_text().replace("  - name: archive\n    description: 'old reports'   # single-quoted on purpose\n", ""))
    before = path.read_text()
    result = run_cli(dss, root, "pull", "-e", "dev", "--json", expect=2).json()
    assert [(r["address"], r["kind"]) for r in result["reported"]] == [("managed_folder.PULLED.archive", "not_declared")]
    assert path.read_text() == before


CRON_PROJECT = """\
project:
  key: CRONNED
  name: Cronned
  owner: admin
  description: watched by pull
  permissions:
    - group: data_team
      role: contributor
scenarios:
  - id: NIGHTLY
    name: Nightly
    active: true
    triggers:
      - type: temporal
        cron: "30 2 * * *"   # half past two
    steps:
      - {type: build, datasets: [orders]}
datasets:
  - name: orders
    type: managed
    format: csv
    description: raw orders
"""
NO_ADMINS = """\
compliance:
  rules:
    - id: no-group-admins
      kind: forbidden_permission
      groups: ["*"]
      permissions: [admin]
"""


def test_a_cron_trigger_is_pulled_as_cron_and_a_rule_breaking_value_is_reported_not_written(dss: Any, tmp_path: Path) -> None:
    from dataiku_iac.cli import scaffold

    root = write_config(tmp_path / "cfg", {"cronned.yml": CRON_PROJECT}, iac=scaffold.IAC_YML + NO_ADMINS)
    run_cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    project = dss.client().get_project("CRONNED")
    _edit(project.get_scenario("NIGHTLY").get_settings(), lambda raw: raw["triggers"][0]["params"].update(hour=4))
    permissions = project.get_permissions()
    for entry in permissions["permissions"]:
        if entry.get("group") == "data_team":
            entry["admin"] = True
    project.set_permissions(permissions)
    _edit(project.get_dataset("orders").get_settings(), lambda raw: raw.update(description="orders as they land"))
    path = root / "projects" / "cronned.yml"
    before = path.read_text()

    dry = run_cli(dss, root, "pull", "-e", "dev", "--dry-run", expect=2)
    assert "please report this" not in dry.stdout + dry.stderr
    result = run_cli(dss, root, "pull", "-e", "dev", "--json", expect=2).json()
    assert _diff(before, path.read_text()) == sorted([
        '-        cron: "30 2 * * *"   # half past two',
        '+        cron: "30 4 * * *"   # half past two',
        "+    description: orders as they land",
        "-    description: raw orders",
    ]), json.dumps(result, indent=1)
    [reported] = result["reported"]
    assert reported["address"] == "project.CRONNED" and reported["kind"] == "compliance", reported
    assert "no-group-admins" in reported["reason"] and "please report this" not in reported["reason"]
    assert reported["where"] == "projects/cronned.yml:8" and reported["path"] == "project.permissions[0].role"
    assert reported["dss_value"] == "admin"
    assert "role: contributor" in path.read_text()


def test_a_value_holding_a_module_reference_is_reported_not_overwritten(dss: Any, tmp_path: Path) -> None:
    root = tmp_path / "local-module"
    shutil.copytree(EXAMPLES / "local-module", root, ignore=shutil.ignore_patterns(".dataiku-iac"))
    run_cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    project = dss.client().get_project("LANDING_DEV")
    _edit(project.get_dataset("orders_report").get_settings(), lambda raw: raw.update(description="Built by hand"))
    before = (root / "projects" / "landing.yml").read_text()

    result = run_cli(dss, root, "pull", "-e", "dev", "--json", expect=2).json()
    [reported] = result["reported"]
    assert reported["address"] == "dataset.LANDING.orders_report" and reported["kind"] == "reference", result
    assert "${module.orders.clean}" in reported["reason"] and reported["where"] == "projects/landing.yml:19"
    assert reported["dss_value"] == "Built by hand"
    assert (root / "projects" / "landing.yml").read_text() == before


def test_a_column_inserted_in_dss_between_others_keeps_every_comment(dss: Any, tmp_path: Path) -> None:
    project_text = PROJECT.replace(
        "        - {name: id, type: bigint}\n        - {name: amount, type: double}   # euros\n",
        "        - {name: id, type: bigint}\n        # the time column\n        - {name: ts, type: date}\n"
        "        - {name: amount, type: double}   # euros\n")
    root = write_config(tmp_path / "cfg", {"pulled.yml": project_text}, env=ENV, files={"recipes/clean.py": 'print("clean")\n'})
    run_cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    dataset = dss.client().get_project(KEY).get_dataset("orders")
    _edit(dataset.get_settings(), lambda raw: raw["schema"]["columns"].insert(1, {"name": "region", "type": "string"}))
    path = root / "projects" / "pulled.yml"
    before = path.read_text()

    result = run_cli(dss, root, "pull", "-e", "dev", "--json", expect=0).json()
    assert [p["path"] for p in result["patched"]] == ["datasets[0].schema.columns[1]"], result
    assert _diff(before, path.read_text()) == ["+        - {name: region, type: string}"]
    assert "        - {name: region, type: string}\n        # the time column\n        - {name: ts, type: date}\n" in path.read_text()
    assert_no_changes(dss, root)


def test_inline_code_changed_in_dss_is_patched_in_its_block(dss: Any, tmp_path: Path) -> None:
    project_text = PROJECT.replace(
        "    code_file: recipes/clean.py   # the code lives in its own file\n",
        "    code: |\n      import dataiku\n      # clean the orders\n")
    root = write_config(tmp_path / "cfg", {"pulled.yml": project_text}, env=ENV)
    run_cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    recipe = dss.client().get_project(KEY).get_recipe("clean").get_settings()
    recipe.set_payload("import dataiku\n# clean the orders, twice\nprint('x')\n")
    recipe.save()
    path = root / "projects" / "pulled.yml"
    before = path.read_text()

    result = run_cli(dss, root, "pull", "-e", "dev", "--json", expect=0).json()
    assert [p["path"] for p in result["patched"]] == ["recipes[0].code"], result
    assert _diff(before, path.read_text()) == sorted([
        "-      # clean the orders", "+      # clean the orders, twice", "+      print('x')"])
    assert not (root / "recipes").exists()
    assert_no_changes(dss, root)


def test_a_value_from_a_default_of_iac_yml_is_reported_not_written_as_a_new_key(dss: Any, tmp_path: Path) -> None:
    project_text = PROJECT.replace("  - name: orders_clean\n    type: managed\n    format: parquet\n",
                                   "  - name: orders_clean\n    type: managed\n")
    root = write_config(tmp_path / "cfg", {"pulled.yml": project_text}, env=ENV, files={"recipes/clean.py": 'print("clean")\n'})
    run_cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    _edit(dss.client().get_project(KEY).get_dataset("orders_clean").get_settings(), lambda raw: raw.update(formatType="parquet"))
    path = root / "projects" / "pulled.yml"
    before = path.read_text()

    result = run_cli(dss, root, "pull", "-e", "dev", "--json", expect=2).json()
    assert [(r["address"], r["kind"], r["path"]) for r in result["reported"]] == [
        ("dataset.PULLED.orders_clean", "not_located", "datasets[1].format")], result
    assert "default" in result["reported"][0]["reason"] and result["reported"][0]["dss_value"] == "parquet"
    assert path.read_text() == before


def test_the_sales_example_s_cron_trigger_moved_in_dss_is_pulled_as_cron(dss: Any, tmp_path: Path) -> None:
    from tests.support.cli import example_secrets

    root = tmp_path / "sales"
    shutil.copytree(EXAMPLES / "sales-pipeline", root, ignore=shutil.ignore_patterns(".dataiku-iac"))
    env = cli_env(dss, **example_secrets(root))
    run_cli(dss, root, "apply", "-e", "dev", "--auto-approve", env=env)
    key = next(p["projectKey"] for p in dss.client().list_projects() if p["projectKey"].startswith("SALES"))
    scenario = dss.client().get_project(key).get_scenario("NIGHTLY_BUILD")
    _edit(scenario.get_settings(), lambda raw: raw["triggers"][0]["params"].update(hour=4))

    dry = run_cli(dss, root, "pull", "-e", "dev", "--dry-run", "--json", expect=2, env=env)
    body = dry.json()
    assert body["reported"] == [] and [p["path"] for p in body["patched"]] == ["scenarios[0].triggers[0].cron"], body
    assert "please report this" not in dry.stderr
