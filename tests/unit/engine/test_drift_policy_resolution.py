"""Drift policies (engine/policies.drift_policy, DriftReport.failing): per environment, per
resource by address glob with the strictest match winning, and what fails the check."""

from __future__ import annotations

from types import SimpleNamespace

from dataiku_iac.engine.drift import DriftItem, DriftReport, with_policies
from dataiku_iac.engine.policies import drift_policy, policies_of


def _policies(**written: object):
    return policies_of(SimpleNamespace(settings={"policies": written}, environment=None), "prod")


def test_the_environment_policy_and_warn_as_alert() -> None:
    assert drift_policy(_policies(), "dataset.P.x") == "fail"
    assert drift_policy(_policies(drift="warn"), "dataset.P.x") == "alert"
    assert drift_policy(_policies(drift="revert"), "dataset.P.x") == "revert"


def test_per_resource_globs_the_strictest_wins() -> None:
    policies = _policies(drift="alert", drift_resources={"dataset.P.*": "revert", "dataset.P.keep": "fail",
                                                         "*.P.keep": "alert"})
    assert drift_policy(policies, "dataset.P.orders") == "revert"
    assert drift_policy(policies, "dataset.P.keep") == "fail"
    assert drift_policy(policies, "recipe.P.keep") == "alert"
    assert drift_policy(policies, "project.P") == "alert"


def _report(*items: DriftItem) -> DriftReport:
    return DriftReport("prod", items=list(items))


def test_what_fails_the_check() -> None:
    changed = DriftItem("dataset.P.a", "dataset", "P", "a", "changed")
    unmanaged = DriftItem("dataset.P.b", "dataset", "P", "b", "unmanaged", policy="report")
    forbidden = DriftItem("dataset.P.c", "dataset", "P", "c", "unmanaged", policy="fail")
    alert = with_policies(_report(changed, unmanaged), _policies(drift="alert"))
    assert alert.failing == [] and [i.on_drift for i in alert.items] == ["alert", "alert"]
    assert [i.address for i in with_policies(_report(changed, forbidden), _policies(drift="alert")).failing] == ["dataset.P.c"]
    revert = with_policies(_report(changed, unmanaged), _policies(drift="revert"))
    assert [i.address for i in revert.to_revert] == ["dataset.P.a"]  # an unmanaged object is no apply's to undo
    assert [i.address for i in revert.failing] == ["dataset.P.a", "dataset.P.b"]
    revert.reverted = ["dataset.P.a"]
    assert [i.address for i in revert.failing] == ["dataset.P.b"] and revert.to_revert == []
    assert [i.address for i in revert.remaining] == ["dataset.P.b"]
