"""API services (resources/api_service.py) on what the integration test cannot easily produce:
a published version DSS does not say the origin of, an endpoint whose saved model has no id yet."""

from __future__ import annotations

import pytest
from dataiku_iac.resources.api_service import _endpoints_to_dss, _only_versions_of
from dataiku_iac.resources.base import ProjectContext

ORIGIN = {"projectKey": "P", "serviceId": "scoring"}


def test_a_version_of_this_service_is_ours() -> None:
    assert _only_versions_of([{"id": "v1", "designNodeInfo": ORIGIN}], "P", "scoring")


def test_a_version_without_design_node_info_is_not_ours() -> None:
    # Uploaded, or published by another node: deleting the published service would delete it too.
    assert not _only_versions_of([{"id": "v1"}], "P", "scoring")
    assert not _only_versions_of([{"id": "v1", "designNodeInfo": {}}], "P", "scoring")


def test_a_version_of_another_project_is_not_ours() -> None:
    other = {"projectKey": "Q", "serviceId": "scoring"}
    assert not _only_versions_of([{"id": "v1", "designNodeInfo": other}], "P", "scoring")


def test_an_endpoint_whose_saved_model_id_is_unknown_is_an_error_not_a_name_as_model_ref() -> None:
    wanted = [{"name": "predict", "type": "prediction", "saved_model": "churn"}]
    with pytest.raises(ValueError, match=r"api_service\.P\.scoring: saved model 'churn' .* not known to exist"):
        _endpoints_to_dss(wanted, [], ProjectContext("P"), "api_service.P.scoring")
    ctx = ProjectContext("P")
    ctx.remember("saved_model", "churn", "AbC123")
    assert _endpoints_to_dss(wanted, [], ctx, "api_service.P.scoring")[0]["modelRef"] == "AbC123"
