"""The translation between DSS's generationsMapping and the configuration's generations
(resources/api_deployment.py), on what the integration test cannot easily produce."""

from __future__ import annotations

from typing import Any, Optional

from dataiku_iac.resources.api_deployment import generations_of, mapping_of, to_config, traffic_of


class _Import:
    def __init__(self) -> None:
        self.reasons: list[str] = []

    def declared(self, type_: str, name: str) -> Optional[dict[str, Any]]:
        return {"name": name, "packages": ["v1", "v2", "v3"]} if name == "scoring" else None

    def not_expressed(self, reason: str) -> None:
        self.reasons.append(reason)


def test_probabilities_read_as_percentages() -> None:
    assert traffic_of(0.9) == 90 and traffic_of(0.1) == 10 and traffic_of(1) == 100 and traffic_of(0) == 0
    assert traffic_of(0.07) == 7  # 0.07 * 100 is 7.000000000000001 in floating point
    assert traffic_of(1 / 3) == 33.333333


def test_mappings_both_ways() -> None:
    single = {"mode": "SINGLE_GENERATION", "generation": "v2"}
    assert generations_of(single) == [{"package": "v2", "traffic": 100}]
    assert mapping_of([{"package": "v2", "traffic": 100}], {"mode": "MULTI_GENERATION", "strategy": "HASH_BASED"}) == single
    split = [{"package": "v1", "traffic": 90}, {"package": "v2", "traffic": 10}]
    mapping = mapping_of(split, {"mode": "MULTI_GENERATION", "strategy": "HASH_BASED", "entries": []})
    assert mapping == {"strategy": "HASH_BASED", "mode": "MULTI_GENERATION",  # DSS's strategy kept
                       "entries": [{"generation": "v1", "proba": 0.9}, {"generation": "v2", "proba": 0.1}]}
    assert generations_of(mapping) == split
    assert mapping_of(split, single)["strategy"] == "RANDOM"


def test_import_leaves_out_what_the_configuration_cannot_write() -> None:
    ctx = _Import()
    thirds = [{"package": p, "traffic": traffic_of(1 / 3)} for p in ("v1", "v2", "v3")]
    assert to_config("d", {"service": "scoring", "infra": "i", "generations": thirds}, ctx) is None  # type: ignore[arg-type]
    assert to_config("d", {"service": "lookup", "infra": "i", "generations": []}, ctx) is None  # type: ignore[arg-type]
    assert to_config("d", {"service": "scoring", "infra": "i", "generations": [{"package": "v9", "traffic": 100}]}, ctx) is None  # type: ignore[arg-type]
    assert len(ctx.reasons) == 3, ctx.reasons
    item = to_config("d", {"service": "scoring", "infra": "i", "generations": [{"package": "v1", "traffic": 100}]}, ctx)  # type: ignore[arg-type]
    assert item == {"name": "d", "service": "scoring", "infra": "i", "generations": [{"package": "v1"}]}
