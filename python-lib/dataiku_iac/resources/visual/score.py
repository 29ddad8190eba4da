"""The scoring recipe (DSS `prediction_scoring`): a dataset's rows with the predictions of a saved
model's active version. The item names the model (`model: churn_model`, input role `model`, which
DSS fills with the saved model's id); `inputs` the dataset scored, `outputs` the scored dataset.

Payload (the DSS 12 sample, visual/ml_payloads.py): typed here only `probabilities`
(`outputProbabilities`: a `proba_<class>` column per class); the rest through `payload:`.
"""

from __future__ import annotations

from dataiku_iac.resources.spec import BuildContext
from dataiku_iac.resources.visual import ml_payloads
from dataiku_iac.resources.visual.common import Attrs, Io, VisualKind, set_if_changed

DEFAULTS: Attrs = {"probabilities": True}
SCHEMA = {"model": {"$ref": "#/$defs/name"}, "probabilities": {"type": "boolean"}}
# What DSS sets from the saved model: never imported.
FROM_THE_MODEL = ("predictionType",)


def build(item: Attrs, ctx: BuildContext, io: Io) -> Attrs:
    return {"probabilities": bool(item.get("probabilities", True))}


def read(payload: Attrs, io: Io) -> Attrs:
    return {"probabilities": bool(payload.get("outputProbabilities", True))}


def write(attrs: Attrs, payload: Attrs, io: Io) -> None:
    if "probabilities" in attrs:
        set_if_changed(payload, "outputProbabilities", attrs["probabilities"])


KIND = VisualKind(
    type="prediction_scoring",
    config_type="score",
    defaults=DEFAULTS,
    owned={"outputProbabilities": "probabilities"},
    schema=SCHEMA,
    required=("model",),
    build=build,
    read=read,
    write=write,
    payload_defaults=ml_payloads.SCORING,
    ui_state=FROM_THE_MODEL,
    ref_keys={"model": "model"},
    id_roles={"model": "saved_model"},
    input_roles=("model", "main"),
)
