"""API services, their packages and the API Deployer, exactly as dataikuapi 15.2 calls them
(dss/apiservice.py, dss/apideployer.py, DSSProject's list/create/get_api_service)."""

from __future__ import annotations

import pytest
from emu_helpers import ILLEGAL_ARGUMENT, NOT_FOUND, UNAUTHORIZED, dataset_with_rows, raises_dss

CODE = "def api_py_function(x):\n    return x\n"


@pytest.fixture
def project(dss_client):
    return dss_client.create_project("APIS", "APIs", "admin")


def _function_service(project, service_id="scoring"):
    service = project.create_api_service(service_id)
    settings = service.get_settings()
    settings.get_raw()["endpoints"].append({"id": "echo", "type": "PY_FUNCTION", "code": CODE})
    settings.save()
    return service


def test_service_create_list_settings(project):
    service = project.create_api_service("scoring")
    raises_dss(ILLEGAL_ARGUMENT, lambda: project.create_api_service("scoring"), "already exists")
    raises_dss(ILLEGAL_ARGUMENT, lambda: project.create_api_service("has space"))
    settings = service.get_settings()
    assert settings.auth_method == "PUBLIC" and settings.endpoints == [] and settings.get_raw()["name"] == "scoring"
    settings.add_prediction_endpoint("predict", "AbCd1234")
    settings.get_raw()["endpoints"].append({"id": "echo", "type": "PY_FUNCTION", "code": CODE})
    settings.save()
    saved = service.get_settings().endpoints
    assert saved[0]["modelRef"] == "AbCd1234" and saved[0]["useJava"] is True  # DSS's endpoint defaults
    assert saved[1]["userFunctionName"] == "api_py_function" and saved[1]["envSelection"] == {"envMode": "INHERIT"}
    [item] = project.list_api_services()
    assert (item.id, item.name, item.auth_method, item["projectKey"]) == ("scoring", "scoring", "PUBLIC", "APIS")
    assert item.endpoints == [{"id": "predict", "type": "STD_PREDICTION"}, {"id": "echo", "type": "PY_FUNCTION"}]
    bad = service.get_settings()
    bad.get_raw()["endpoints"].append({"id": "x", "type": "TELEPATHY"})
    raises_dss(ILLEGAL_ARGUMENT, bad.save, "TELEPATHY")
    raises_dss(NOT_FOUND, lambda: project.get_api_service("nope").get_settings())


def test_packages_snapshot_and_refusals(project):
    empty = project.create_api_service("empty")
    raises_dss(ILLEGAL_ARGUMENT, lambda: empty.create_package("v1"), "no endpoint")
    service = _function_service(project)
    service.create_package("v1", release_notes="first")
    raises_dss(ILLEGAL_ARGUMENT, lambda: service.create_package("v1"), "already exists")
    assert [p["id"] for p in service.list_packages()] == ["v1"]
    summary = service.get_package_summary("v1")
    assert summary["releaseNotes"] == "first" and summary["endpoints"] == [{"id": "echo", "type": "PY_FUNCTION"}]
    assert service.download_package_stream("v1").read(2) == b"PK"  # a zip
    # A prediction endpoint on a saved model the project lacks cannot be packaged
    settings = service.get_settings()
    settings.add_prediction_endpoint("predict", "missing1")
    settings.save()
    raises_dss(ILLEGAL_ARGUMENT, lambda: service.create_package("v2"), "missing1")
    service.delete_package("v1")
    assert service.list_packages() == []


def test_publish_deploy_split_and_promote(dss_client, project):
    deployer = dss_client.get_apideployer()
    assert [s["id"] for s in deployer.list_stages()] == ["Development", "Test", "Production"]
    infra = deployer.create_infra("prod-infra", "Production", "STATIC")
    raises_dss(ILLEGAL_ARGUMENT, lambda: deployer.create_infra("x", "Nowhere", "STATIC"), "stage")
    assert infra.get_settings().get_type() == "STATIC"
    service = _function_service(project)
    service.create_package("v1")
    service.create_package("v2")
    service.publish_package("v1")
    raises_dss(ILLEGAL_ARGUMENT, lambda: service.publish_package("v1"), "already exists")
    service.publish_package("v2")
    published = deployer.get_service("scoring").get_status()
    assert [v["id"] for v in published.get_versions()] == ["v1", "v2"]
    assert published.get_versions()[0]["designNodeInfo"] == {"projectKey": "APIS", "serviceId": "scoring"}

    raises_dss(ILLEGAL_ARGUMENT, lambda: deployer.create_deployment("d", "scoring", "prod-infra", "v9"), "v9")
    raises_dss(NOT_FOUND, lambda: deployer.create_deployment("d", "scoring", "no-infra", "v1"))
    deployment = deployer.create_deployment("scoring-prod", "scoring", "prod-infra", "v1")
    assert [d.id for d in deployer.list_deployments()] == ["scoring-prod"]
    light = deployment.get_status().get_light()
    assert light["deploymentBasicInfo"]["generationsMapping"] == {"mode": "SINGLE_GENERATION", "generation": "v1"}
    assert light["neverEverDeployed"] is True and [p["id"] for p in light["packages"]] == ["v1", "v2"]
    assert deployment.get_status().get_health() == "OUT_OF_SYNC"  # created, not yet updated
    deployment.start_update().wait_for_result()
    assert deployment.get_status().get_health() == "HEALTHY"

    settings = deployment.get_settings()
    settings.get_raw()["generationsMapping"] = {"mode": "MULTI_GENERATION", "entries": [
        {"generation": "v1", "proba": 0.9}, {"generation": "v2", "proba": 0.2}]}
    raises_dss(ILLEGAL_ARGUMENT, settings.save, "sum to 1")
    settings.get_raw()["generationsMapping"]["entries"][1] = {"generation": "v3", "proba": 0.1}
    raises_dss(ILLEGAL_ARGUMENT, settings.save, "v3")
    settings.get_raw()["generationsMapping"]["entries"][1] = {"generation": "v2", "proba": 0.1}
    settings.save()
    mapping = deployment.get_settings().get_raw()["generationsMapping"]
    assert mapping["strategy"] == "RANDOM" and [e["proba"] for e in mapping["entries"]] == [0.9, 0.1]
    assert deployment.get_status().get_health() == "OUT_OF_SYNC"
    deployment.start_update().wait_for_result()
    assert deployment.get_update().get_raw()["generationsMapping"] == mapping

    # Versions and infras in use cannot go; an enabled deployment is disabled first (dataikuapi)
    raises_dss(ILLEGAL_ARGUMENT, lambda: deployer.get_service("scoring").delete_version("v2"), "scoring-prod")
    raises_dss(ILLEGAL_ARGUMENT, infra.delete, "scoring-prod")
    settings = deployment.get_settings()
    settings.set_single_version("v2")  # promotion
    settings.save()
    deployer.get_service("scoring").delete_version("v1")
    deployment.delete(disable_first=True)
    assert deployer.list_deployments() == []
    infra.delete()
    deployer.get_service("scoring").delete()
    assert deployer.list_services() == []


def test_deployer_objects_are_instance_level(dss, dss_client, project):
    """A project reset keeps them (DSS: the deployer is not in a project); a full reset drops them."""
    dss_client.get_apideployer().create_infra("dev-infra", "Development", "STATIC")
    dss.admin.reset()
    assert [i.id for i in dss_client.get_apideployer().list_infras()] == ["dev-infra"]
    dss.admin.reset(full=True)
    assert dss_client.get_apideployer().list_infras() == []


def test_infras_are_for_administrators(dss, dss_client):
    dss_client.get_apideployer().create_infra("dev-infra", "Development", "STATIC")
    dss.admin.seed(api_keys=[{"key": "bob-key", "login": "bob", "admin": False, "groups": []}])
    bob = dss.client_for("bob-key").get_apideployer()
    raises_dss(UNAUTHORIZED, lambda: bob.create_infra("x", "Test", "STATIC"), "administrator")
    raises_dss(UNAUTHORIZED, lambda: bob.get_infra("dev-infra").get_settings())


def test_a_package_freezes_the_active_version_of_each_endpoints_saved_model(project):
    """The package of a prediction endpoint records the saved model version active when it is made;
    activating another version later changes the next package only."""
    rows = b"age,plan,churned\n" + b"".join(f"{20 + i},{['a', 'b'][i % 2]},{['y', 'n'][i % 3 % 2]}\n".encode()
                                          for i in range(20))
    dataset_with_rows(project, "churn", rows)
    task = project.create_prediction_ml_task("churn", "churned")
    saved = project.get_saved_model(task.deploy_to_flow(task.train()[0], "Churn", "churn")["savedModelId"])
    service = project.create_api_service("churn_api")
    settings = service.get_settings()
    settings.add_prediction_endpoint("predict", saved.id)
    settings.save()
    service.create_package("v1")
    project.new_job("NON_RECURSIVE_FORCED_BUILD").with_output(saved.id, object_type="SAVED_MODEL").start_and_wait()
    retrained = saved.get_active_version()["id"]
    service.create_package("v2")
    frozen = [service.get_package_summary(p)["endpoints"][0] for p in ("v1", "v2")]
    assert [(e["modelRef"], e["modelVersion"]) for e in frozen] == [(saved.id, "initial"), (saved.id, retrained)]
