"""API services and their deployments through the API Deployer (resources/api_service.py,
api_deployment.py), run as a user does (the CLI in a subprocess) against the emulator: validate with
file:line errors, plan, apply, no changes, drift, import back to no changes, an A/B split then a
promotion as plan changes, and packages that are never deleted.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from tests.support.cli import cli_env, run_cli, write_config

KEY = "APID"
CODE = "def api_py_function(features):\n    return {'score': 1}\n"
PROJECT = f"""\
project:
  key: {KEY}
  name: API deployment

api_services:
  - name: scoring
    endpoints:
      - name: score
        type: python_function
        code_file: api/score.py
    packages: [v1, v2]

api_deployments:
  - name: scoring_prod
    service: scoring
    infra: ${{API_INFRA}}
    generations:
      - package: v1
        traffic: 90
      - package: v2
        traffic: 10
"""


def _config(tmp_path: Path, text: str = PROJECT) -> Path:
    from dataiku_iac.cli import scaffold

    return write_config(tmp_path / "cfg", {"apid.yml": text}, env=scaffold.DEV_YML.replace("variables: {}", "variables:\n  API_INFRA: prod-infra"),
                        files={"api/score.py": CODE})


def _infra(dss: Any, infra_id: str = "prod-infra") -> None:
    dss.client().get_apideployer().create_infra(infra_id, "Production", "STATIC")


def _no_changes(dss: Any, root: Path) -> None:
    out = run_cli(root, "plan", "-e", "dev", "--detailed-exitcode", env=cli_env(dss)).last_line()
    assert out.startswith("No changes."), out


def _mapping(dss: Any, deployment: str = "scoring_prod") -> dict[str, Any]:
    return dss.client().get_apideployer().get_deployment(deployment).get_settings().get_raw()["generationsMapping"]


def test_validate_reports_traffic_and_unknown_packages_at_their_lines(dss: Any, tmp_path: Path) -> None:
    bad = (PROJECT.replace("        traffic: 10\n", "        traffic: 20\n")
           + "  - name: scoring_test\n    service: scoring\n    infra: test-infra\n    generations:\n      - package: v3\n"
           + "  - name: other\n    service: scorin\n    infra: x\n    generations:\n      - package: v1\n")
    root = _config(tmp_path, bad)
    out = run_cli(root, "validate", "-e", "dev", "--offline", env=cli_env(dss), expect=1).output
    assert re.search(r"projects/apid\.yml:17:5\b.*api_deployments\[0\]\.generations: the traffic of the generations sums to 110, not 100", out), out
    assert re.search(r"projects/apid\.yml:26:9\b.*generations\[0\]\.package: package 'v3' is not one of the packages of its API service \(its service's packages: v1, v2\)", out), out
    assert re.search(r"projects/apid\.yml:28:5\b.*unknown API service 'scorin'.*did you mean 'scoring'", out), out
    split_without_traffic = PROJECT.replace("        traffic: 90\n", "")
    out = run_cli(_config(tmp_path / "b", split_without_traffic), "validate", "-e", "dev", "--offline", env=cli_env(dss), expect=1).output
    assert "an A/B split gives each generation its `traffic`" in out, out
    run_cli(_config(tmp_path / "good"), "validate", "-e", "dev", "--offline", env=cli_env(dss))


def test_ab_split_promotion_and_drift(dss: Any, tmp_path: Path) -> None:
    _infra(dss)
    root = _config(tmp_path)
    plan = run_cli(root, "plan", "-e", "dev", "--detailed-exitcode", env=cli_env(dss), expect=2).stdout
    assert "api_service.APID.scoring" in plan and "api_deployment.APID.scoring_prod" in plan, plan
    run_cli(root, "apply", "-e", "dev", "--auto-approve", env=cli_env(dss))
    client = dss.client()
    service = client.get_project(KEY).get_api_service("scoring")
    assert service.get_settings().endpoints[0]["code"] == CODE
    assert [p["id"] for p in service.list_packages()] == ["v1", "v2"]
    assert [v["id"] for v in client.get_apideployer().get_service("scoring").get_status().get_versions()] == ["v1", "v2"]
    assert _mapping(dss)["entries"] == [{"generation": "v1", "proba": 0.9}, {"generation": "v2", "proba": 0.1}]
    deployment = client.get_apideployer().get_deployment("scoring_prod")
    assert deployment.get_status().get_health() == "HEALTHY"  # updated after its settings were saved
    _no_changes(dss, root)

    # Promotion, first to 0/100, then to v2 alone: plan changes of the generations, then deployed.
    promoted = PROJECT.replace("traffic: 90", "traffic: 0").replace("traffic: 10", "traffic: 100")
    (root / "projects" / "apid.yml").write_text(promoted, encoding="utf-8")
    plan = run_cli(root, "plan", "-e", "dev", "--detailed-exitcode", env=cli_env(dss), expect=2).stdout
    assert "api_deployment.APID.scoring_prod" in plan and "api_service" not in plan.split("Plan:")[0].replace(
        "api_service.APID.scoring", ""), plan
    run_cli(root, "apply", "-e", "dev", "--auto-approve", env=cli_env(dss))
    assert [e["proba"] for e in _mapping(dss)["entries"]] == [0, 1]
    single = PROJECT.replace("      - package: v1\n        traffic: 90\n", "").replace("        traffic: 10\n", "")
    (root / "projects" / "apid.yml").write_text(single, encoding="utf-8")
    run_cli(root, "apply", "-e", "dev", "--auto-approve", env=cli_env(dss))
    assert _mapping(dss) == {"mode": "SINGLE_GENERATION", "generation": "v2"}
    assert deployment.get_status().get_health() == "HEALTHY"
    _no_changes(dss, root)

    # Drift: a published version deleted by hand (the service publishes it again), then the split
    # changed in DSS (the plan puts the single generation back).
    client.get_apideployer().get_service("scoring").delete_version("v1")
    drift = run_cli(root, "drift", "-e", "dev", env=cli_env(dss), expect=2).stdout
    assert "api_service.APID.scoring" in drift, drift
    run_cli(root, "apply", "-e", "dev", "--auto-approve", env=cli_env(dss))
    assert "v1" in [v["id"] for v in client.get_apideployer().get_service("scoring").get_status().get_versions()]
    settings = deployment.get_settings()
    settings.get_raw()["generationsMapping"] = {"mode": "MULTI_GENERATION", "entries": [
        {"generation": "v1", "proba": 0.5}, {"generation": "v2", "proba": 0.5}]}
    settings.save()
    drift = run_cli(root, "drift", "-e", "dev", env=cli_env(dss), expect=2).stdout
    assert "api_deployment.APID.scoring_prod" in drift, drift
    run_cli(root, "apply", "-e", "dev", "--auto-approve", env=cli_env(dss))
    assert _mapping(dss) == {"mode": "SINGLE_GENERATION", "generation": "v2"}
    _no_changes(dss, root)


def test_import_writes_services_and_their_deployments_and_plans_no_changes(dss: Any, tmp_path: Path) -> None:
    """A project made with dataikuapi: a service with a python function, packaged, published and
    deployed with a split; a service the configuration cannot express (a SQL query endpoint); and a
    deployment of another project's service, which is never this project's."""
    client = dss.client()
    _infra(dss)
    for key in (KEY, "OTHER"):
        project = client.create_project(key, key, "admin")
        service = project.create_api_service("scoring")
        settings = service.get_settings()
        settings.get_raw()["endpoints"].append({"id": "score", "type": "PY_FUNCTION", "code": CODE})
        settings.save()
        for package in ("v1", "v2"):
            service.create_package(package)
            service.publish_package(package, published_service_id=None if key == KEY else "other_scoring")
    lookup = client.get_project(KEY).create_api_service("lookup")
    settings = lookup.get_settings()
    settings.get_raw()["endpoints"].append({"id": "q", "type": "SQL_QUERY"})
    settings.save()
    deployer = client.get_apideployer()
    deployment = deployer.create_deployment("scoring_prod", "scoring", "prod-infra", "v1")
    settings = deployment.get_settings()
    settings.get_raw()["generationsMapping"] = {"mode": "MULTI_GENERATION", "strategy": "RANDOM", "entries": [
        {"generation": "v1", "proba": 0.75}, {"generation": "v2", "proba": 0.25}]}
    settings.save()
    deployment.start_update().wait_for_result()
    deployer.create_deployment("other_prod", "other_scoring", "prod-infra", "v2")
    lookup.create_package("l1")
    lookup.publish_package("l1")
    deployer.create_deployment("lookup_prod", "lookup", "prod-infra", "l1")  # its service is not importable

    root = write_config(tmp_path / "cfg", {})
    output = run_cli(root, "import", "project", KEY, "-e", "dev", env=cli_env(dss)).output
    assert "lookup" in output and "SQL_QUERY" in output and "lookup_prod" in output, output  # reported, left unmanaged
    written = yaml.safe_load((root / "projects" / "apid.yml").read_text(encoding="utf-8"))
    assert written["api_services"] == [{"name": "scoring", "packages": ["v1", "v2"], "endpoints": [
        {"name": "score", "type": "python_function", "code_file": "api_services/scoring_score.py"}]}], written
    assert written["api_deployments"] == [{"name": "scoring_prod", "service": "scoring", "infra": "prod-infra",
                                           "generations": [{"package": "v1", "traffic": 75}, {"package": "v2", "traffic": 25}]}]
    assert (root / "api_services" / "scoring_score.py").read_text(encoding="utf-8") == CODE
    run_cli(root, "validate", "-e", "dev", "--offline", env=cli_env(dss))
    _no_changes(dss, root)


def test_packages_are_never_deleted_and_a_service_goes_only_with_its_project(dss: Any, tmp_path: Path) -> None:
    _infra(dss)
    root = _config(tmp_path)
    run_cli(root, "apply", "-e", "dev", "--auto-approve", env=cli_env(dss))
    service = dss.client().get_project(KEY).get_api_service("scoring")

    # v3 added, v1 dropped from the config: v3 is created and published, v1 stays (a deployment serves it).
    changed = PROJECT.replace("packages: [v1, v2]", "packages: [v2, v3]").replace(
        "      - package: v1\n        traffic: 90\n      - package: v2\n        traffic: 10\n",
        "      - package: v2\n        traffic: 50\n      - package: v3\n        traffic: 50\n")
    (root / "projects" / "apid.yml").write_text(changed, encoding="utf-8")
    run_cli(root, "apply", "-e", "dev", "--auto-approve", env=cli_env(dss))
    assert [p["id"] for p in service.list_packages()] == ["v1", "v2", "v3"]
    assert [e["generation"] for e in _mapping(dss)["entries"]] == ["v2", "v3"]
    _no_changes(dss, root)

    # An endpoint changed: the service is updated, its packages are not (a new one is the way to ship it).
    new_code = CODE.replace("1}", "2}")
    (root / "api" / "score.py").write_text(new_code, encoding="utf-8")
    run_cli(root, "apply", "-e", "dev", "--auto-approve", env=cli_env(dss))
    assert service.get_settings().endpoints[0]["code"] == new_code
    assert [p["id"] for p in service.list_packages()] == ["v1", "v2", "v3"]

    # Removing the service alone is refused (DSS's public API cannot delete it); destroy deletes the
    # deployment, then the project (which takes its service).
    alone = changed.split("api_services:")[0]
    (root / "projects" / "apid.yml").write_text(alone, encoding="utf-8")
    out = run_cli(root, "plan", "-e", "dev", env=cli_env(dss), expect=1).output
    assert "api_service.APID.scoring cannot be deleted: DSS's public API has no call that deletes it" in out, out
    (root / "projects" / "apid.yml").write_text(changed, encoding="utf-8")
    run_cli(root, "destroy", "-e", "dev", "--auto-approve", env=cli_env(dss))
    assert dss.client().get_apideployer().list_deployments() == []
    assert KEY not in dss.client().list_project_keys()
    # The published service the tool made, all of its versions this service's, no deployment left: gone too
    assert dss.client().get_apideployer().list_services(as_objects=False) == []


def test_destroy_keeps_a_published_service_with_versions_from_elsewhere(dss: Any, tmp_path: Path) -> None:
    """Another project published its own `scoring` service's package to the same published service:
    destroy deletes this project and its deployment, the published service stays with every version."""
    _infra(dss)
    root = _config(tmp_path)
    run_cli(root, "apply", "-e", "dev", "--auto-approve", env=cli_env(dss))
    other = dss.client().create_project("OTHERAPI", "Other", "admin").create_api_service("scoring")
    settings = other.get_settings()
    settings.get_raw()["endpoints"] = [{"id": "score", "type": "PY_FUNCTION", "code": CODE, "userFunctionName": "api_py_function"}]
    settings.save()
    other.create_package("v9")
    other.publish_package("v9")
    run_cli(root, "destroy", "-e", "dev", "--auto-approve", env=cli_env(dss))
    deployer = dss.client().get_apideployer()
    assert deployer.list_deployments() == [] and KEY not in dss.client().list_project_keys()
    assert [s["serviceBasicInfo"]["id"] for s in deployer.list_services(as_objects=False)] == ["scoring"]
    assert {v["id"] for v in deployer.get_service("scoring").get_status().get_versions()} == {"v1", "v2", "v9"}

MODELS = """\
project:
  key: APSM
  name: Churn API

datasets:
  - name: customers
    type: managed
    schema:
      columns:
        - {name: age, type: bigint}
        - {name: plan, type: string}
        - {name: churned, type: boolean}

ml_tasks:
  - name: churn
    dataset: customers
    prediction_type: binary_classification
    target: churned
    algorithms:
      random_forest: {n_estimators: 50}

saved_models:
  - name: churn_model
    ml_task: churn
    algorithm: random_forest

api_services:
  - name: churn_api
    endpoints:
      - name: predict
        type: prediction
        saved_model: churn_model
    packages: [v1]

api_deployments:
  - name: churn_api_prod
    service: churn_api
    infra: prod-infra
    generations:
      - package: v1
"""


def test_a_prediction_endpoint_on_a_saved_model_of_the_configuration(dss: Any, tmp_path: Path) -> None:
    """The endpoint names a configured saved model: created after it, with DSS's id as modelRef; a
    retrained model ships as a new package, A/B tested against the old one, then promoted."""
    _infra(dss)
    typo = MODELS.replace("        saved_model: churn_model\n", "        saved_model: churn_mdl\n")
    out = run_cli(write_config(tmp_path / "bad", {"apsm.yml": typo}), "validate", "-e", "dev", "--offline",
                  env=cli_env(dss), expect=1).output
    assert re.search(r"projects/apsm\.yml:32:\d+\b.*unknown saved model 'churn_mdl'.*did you mean 'churn_model'", out), out

    root = write_config(tmp_path / "cfg", {"apsm.yml": MODELS})
    run_cli(root, "apply", "-e", "dev", "--auto-approve", env=cli_env(dss))
    project = dss.client().get_project("APSM")
    model = project.get_saved_model(project.list_saved_models()[0]["id"])
    service = project.get_api_service("churn_api")
    assert service.get_settings().endpoints[0]["modelRef"] == model.id
    assert service.get_package_summary("v1")["endpoints"][0]["modelVersion"] == "initial"
    _no_changes(dss, root)

    run_cli(root, "apply", "-e", "dev", "--auto-approve", "--train", env=cli_env(dss))
    retrained = model.get_active_version()["id"]
    ab = MODELS.replace("packages: [v1]", "packages: [v1, v2]").replace(
        "      - package: v1\n", "      - package: v1\n        traffic: 80\n      - package: v2\n        traffic: 20\n")
    (root / "projects" / "apsm.yml").write_text(ab, encoding="utf-8")
    run_cli(root, "apply", "-e", "dev", "--auto-approve", env=cli_env(dss))
    assert service.get_package_summary("v2")["endpoints"][0]["modelVersion"] == retrained != "initial"
    assert [e["proba"] for e in _mapping(dss, "churn_api_prod")["entries"]] == [0.8, 0.2]
    _no_changes(dss, root)
    (root / "projects" / "apsm.yml").write_text(ab.replace("        traffic: 80\n      - package: v2\n        traffic: 20\n", "")
                                                .replace("      - package: v1\n", "      - package: v2\n"), encoding="utf-8")
    run_cli(root, "apply", "-e", "dev", "--auto-approve", env=cli_env(dss))
    assert _mapping(dss, "churn_api_prod") == {"mode": "SINGLE_GENERATION", "generation": "v2"}
    _no_changes(dss, root)


def test_a_new_package_freezes_the_active_version_set_in_the_same_apply(dss: Any, tmp_path: Path) -> None:
    """One apply pins the saved model to another version and creates package v2: the service is
    written after the saved model (it references it), so v2 freezes the NEW active version."""
    _infra(dss)
    pinned = MODELS.replace("    algorithm: random_forest\n", "    algorithm: random_forest\n    active_version: initial\n")
    root = write_config(tmp_path / "cfg", {"apsm.yml": MODELS})
    run_cli(root, "apply", "-e", "dev", "--auto-approve", env=cli_env(dss))
    (root / "projects" / "apsm.yml").write_text(pinned, encoding="utf-8")
    run_cli(root, "apply", "-e", "dev", "--auto-approve", "--train", env=cli_env(dss))  # a version, not activated
    project = dss.client().get_project("APSM")
    model = project.get_saved_model(project.list_saved_models()[0]["id"])
    trained = [v["id"] for v in model.list_versions() if v["id"] != "initial"]
    assert len(trained) == 1 and model.get_active_version()["id"] == "initial", model.list_versions()
    both = pinned.replace("active_version: initial", f"active_version: {trained[0]}").replace("packages: [v1]", "packages: [v1, v2]")
    (root / "projects" / "apsm.yml").write_text(both, encoding="utf-8")
    run_cli(root, "apply", "-e", "dev", "--auto-approve", env=cli_env(dss))
    service = project.get_api_service("churn_api")
    assert service.get_package_summary("v1")["endpoints"][0]["modelVersion"] == "initial"
    assert service.get_package_summary("v2")["endpoints"][0]["modelVersion"] == trained[0]
    _no_changes(dss, root)


def test_an_infrastructure_missing_on_the_target_is_refused_before_any_write(dss: Any, tmp_path: Path) -> None:
    """`validate -e ENV` and `plan` ask the target's API Deployer for its infrastructures: a
    deployment naming one it lacks is an error at its `infra:` line, and nothing is created."""
    _infra(dss)
    root = write_config(tmp_path / "cfg", {"apid.yml": PROJECT.replace("${API_INFRA}", "prod-infr")}, files={"api/score.py": CODE})
    for command in ("validate", "plan"):
        out = run_cli(root, command, "-e", "dev", env=cli_env(dss), expect=1).output
        assert re.search(r"projects/apid\.yml:16:\d+: error: .*infrastructure 'prod-infr' does not exist on the API "
                         r"Deployer of the DSS of environment 'dev'.*did you mean 'prod-infra'", out), out
    assert KEY not in dss.client().list_project_keys()


def test_static_errors_say_that_the_checks_against_dss_are_still_to_come(dss: Any, tmp_path: Path) -> None:
    """A traffic sum of 95, a typo'd service and an infrastructure the deployer lacks: validate
    and plan report the two static errors, send DSS no request (a bad configuration never reaches
    it, docs/acceptance-tests.md) and say that the infrastructure is checked once they are fixed."""
    _infra(dss)
    bad = (PROJECT.replace("${API_INFRA}", "prod-infr").replace("        traffic: 10\n", "        traffic: 5\n")
           + "  - name: other\n    service: scorin\n    infra: prod-infra\n    generations:\n      - package: v1\n")
    root = write_config(tmp_path / "cfg", {"apid.yml": bad}, files={"api/score.py": CODE})
    pending = "Note: the checks against DSS (connections, code envs, API infrastructures) run once these problems are fixed"
    before = dss.admin.stats()["requests"]
    for command in ("validate", "plan"):
        out = run_cli(root, command, "-e", "dev", env=cli_env(dss), expect=1).output
        assert "the traffic of the generations sums to 95, not 100" in out, out
        assert re.search(r"unknown API service 'scorin'.*did you mean 'scoring'", out), out
        assert pending in out and out.rstrip().endswith("Error: the configuration has 2 problems."), out
    assert dss.admin.stats()["requests"] == before
    out = run_cli(root, "validate", "-e", "dev", "--offline", env=cli_env(dss), expect=1).output
    assert "sums to 95" in out and pending not in out, out  # offline: no check against DSS to come
    fixed = bad.replace("        traffic: 5\n", "        traffic: 10\n").replace("service: scorin\n", "service: scoring\n")
    root = write_config(tmp_path / "fixed", {"apid.yml": fixed}, files={"api/score.py": CODE})
    out = run_cli(root, "validate", "-e", "dev", env=cli_env(dss), expect=1).output
    assert "infrastructure 'prod-infr' does not exist" in out and pending not in out, out

def test_import_writes_a_prediction_endpoint_only_with_its_saved_model(dss: Any, tmp_path: Path) -> None:
    """A service scoring a saved model import writes (named by its configuration name), and one
    scoring a saved model whose name the configuration cannot write (reported, left unmanaged)."""
    from tests.emulator.emu_helpers import dataset_with_rows

    project = dss.client().create_project("APIM", "Imported models", "admin")
    rows = b"age,plan,churned\n" + b"".join(f"{20 + i},{['a', 'b'][i % 2]},{['y', 'n'][i % 3 % 2]}\n".encode() for i in range(20))
    dataset_with_rows(project, "customers", rows)
    task = project.create_prediction_ml_task("customers", "churned")
    analysis = project.get_analysis(task.analysis_id)
    definition = analysis.get_definition()
    definition.get_raw()["name"] = "churn"  # a name the configuration can write
    analysis.set_definition(definition)
    trained = task.train()[0]
    for model_name, service_id in (("churn_model", "churn_api"), ("Churn model (old)", "old_api")):
        model_id = task.deploy_to_flow(trained, model_name, "customers")["savedModelId"]
        service = project.create_api_service(service_id)
        settings = service.get_settings()
        settings.add_prediction_endpoint("predict", model_id)
        settings.save()
    root = write_config(tmp_path / "cfg", {})
    output = run_cli(root, "import", "project", "APIM", "-e", "dev", env=cli_env(dss)).output
    assert "old_api" in output and "Churn model (old)" in output, output
    written = yaml.safe_load((root / "projects" / "apim.yml").read_text(encoding="utf-8"))
    assert written["api_services"] == [
        {"name": "churn_api", "endpoints": [{"name": "predict", "type": "prediction", "saved_model": "churn_model"}]}]
    run_cli(root, "validate", "-e", "dev", "--offline", env=cli_env(dss))
    _no_changes(dss, root)
