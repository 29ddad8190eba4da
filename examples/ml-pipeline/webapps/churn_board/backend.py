# The webapp's backend: one route that scores a customer with the project's saved model.
import json

import dataiku
from flask import request

MODEL = "churn_model"


@app.route("/score", methods=["POST"])  # noqa: F821 - DSS defines `app` for a webapp backend
def score():
    customer = json.loads(request.data)
    model = next(m for m in dataiku.Project().list_saved_models() if m["name"] == MODEL)
    predictor = dataiku.Model(model["id"]).get_predictor()
    probability = predictor.predict_proba([customer])[0][1]
    return json.dumps({"probability": round(float(probability), 3)})
