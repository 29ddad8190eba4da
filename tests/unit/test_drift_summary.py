"""The one-line drift summary a failed drift step or macro shows (and DSS's mail reporter sends):
each changed object is named with the fields that changed, so the change is named in the alert."""

from __future__ import annotations

from dataiku_iac.dss.components import drift_summary
from dataiku_iac.engine.drift import DriftedField, DriftItem, DriftReport


def _changed(address: str, *fields: str) -> DriftItem:
    project, name = address.split(".")[1:]
    drifted = tuple(DriftedField(name=f, recorded="a", live="b") for f in fields)
    return DriftItem(address=address, type=address.split(".")[0], project_key=project, name=name, kind="changed", fields=drifted)


def test_a_changed_object_is_named_with_its_changed_fields_and_the_others_by_address() -> None:
    report = DriftReport(environment="prod", items=[
        _changed("recipe.SHOP.join_orders", "joins"),
        _changed("dataset.SHOP.orders", "description", "format_params"),
        DriftItem(address="dataset.SHOP.gone", type="dataset", project_key="SHOP", name="gone", kind="deleted"),
        DriftItem(address="dataset.SHOP.stray", type="dataset", project_key="SHOP", name="stray", kind="unmanaged"),
    ])
    assert drift_summary(report) == (
        "drift in environment prod: 2 changed, 1 deleted, 1 unmanaged (recipe.SHOP.join_orders [joins], "
        "dataset.SHOP.orders [description, format_params], dataset.SHOP.gone, dataset.SHOP.stray)"
    )


def test_a_secret_field_is_named_without_its_value() -> None:
    secret = DriftedField(name="reporters", recorded="sha256:1", live="https://hooks.example.com/T/B/token", sensitive=True)
    item = DriftItem(address="scenario.SHOP.NIGHTLY", type="scenario", project_key="SHOP", name="NIGHTLY", kind="changed",
                     fields=(secret,))
    summary = drift_summary(DriftReport(environment="dev", items=[item]))
    assert "scenario.SHOP.NIGHTLY [reporters]" in summary and "hooks.example.com" not in summary
