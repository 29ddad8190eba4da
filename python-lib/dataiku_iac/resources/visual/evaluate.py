"""The evaluation recipe (DSS `evaluation`): evaluates a saved model's active version on a dataset
and records the result (performance and data drift metrics) in a model evaluation store, whose
checks then run. The item names the model (`model: churn_model`, input role `model`); `outputs`
lists the evaluation store (role `evaluationStore`, DSS names it by id) and, optionally, a dataset
receiving the scored rows (role `main`).

Payload (the DSS 12 sample, visual/ml_payloads.py): typed here `compute_performance` (DSS's
`dontComputePerformance`, inverted) and `labels` (`{key: value}`, DSS's `[{key, value}]`: labels
of each evaluation); the rest through `payload:`.
"""

from __future__ import annotations

from typing import Any

from dataiku_iac.resources.spec import BuildContext
from dataiku_iac.resources.visual import ml_payloads
from dataiku_iac.resources.visual.common import Attrs, Io, VisualKind, set_if_changed

DEFAULTS: Attrs = {"compute_performance": True, "labels": {}}
SCHEMA = {
    "model": {"$ref": "#/$defs/name"},
    "compute_performance": {"type": "boolean"},
    "labels": {"type": "object", "additionalProperties": {"type": "string"}},
}
FROM_THE_MODEL = ("predictionType", "outputs", "metrics", "dataDriftColumnHandling")


def build(item: Attrs, ctx: BuildContext, io: Io) -> Attrs:
    return {"compute_performance": bool(item.get("compute_performance", True)),
            "labels": {str(k): str(v) for k, v in (item.get("labels") or {}).items()}}


def _labels(value: Any) -> dict[str, str]:
    return {str(x.get("key")): str(x.get("value")) for x in value or [] if isinstance(x, dict) and x.get("key")}


def read(payload: Attrs, io: Io) -> Attrs:
    return {"compute_performance": not payload.get("dontComputePerformance", False),
            "labels": _labels(payload.get("labels"))}


def write(attrs: Attrs, payload: Attrs, io: Io) -> None:
    if "compute_performance" in attrs:
        set_if_changed(payload, "dontComputePerformance", not attrs["compute_performance"])
    if "labels" in attrs and _labels(payload.get("labels")) != attrs["labels"]:
        payload["labels"] = [{"key": k, "value": v} for k, v in attrs["labels"].items()]


KIND = VisualKind(
    type="evaluation",
    config_type="evaluate",
    defaults=DEFAULTS,
    owned={"dontComputePerformance": "compute_performance", "labels": "labels"},
    schema=SCHEMA,
    required=("model",),
    build=build,
    read=read,
    write=write,
    plain_creator=True,  # dataikuapi's EvaluationRecipeCreator is a plain DSSRecipeCreator
    payload_defaults=ml_payloads.EVALUATION,
    ui_state=FROM_THE_MODEL,
    ref_keys={"model": "model"},
    typed_outputs={"model_evaluation_store": "evaluationStore"},
    id_roles={"model": "saved_model", "evaluationStore": "model_evaluation_store"},
    input_roles=("main", "model"),
)
