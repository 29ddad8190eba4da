"""Data-quality rules (dataikuapi dss/data_quality.py), computed on the stored rows.

Rules are kept in the dataset's document (`dataQuality.rules`, a guess of where DSS keeps them);
results in memory. Rule types computed: ColumnNotEmptyRule, ColumnUniqueValuesRule,
ValuesInSetRule, ValuesInRangeRule, RecordCountInRangeRule; another type's result is EMPTY with a
message saying the emulator does not compute it (docs/emulator.md, "Data quality").
"""

from __future__ import annotations

import time
from typing import Any, Dict, List, Optional, Tuple

from .. import dataset_rows, defaults, errors
from ..auth import READ, WRITE
from ..context import Ctx
from ..jsoncopy import clone
from ..router import route
from ..rows import ident, literal
from ..store import ProjectData

WORST = {"OK": 0, "WARNING": 1, "ERROR": 2, "EMPTY": 0}


def _dataset(ctx: Ctx, need: str) -> Tuple[ProjectData, Dict[str, Any]]:
    proj = ctx.project(need)
    doc = proj.datasets.get(ctx.params["name"])
    if doc is None:
        raise errors.not_found("dataset does not exist: {}.{}".format(proj.key, ctx.params["name"]))
    return proj, doc


def _rules(doc: Dict[str, Any]) -> List[Dict[str, Any]]:
    return doc.setdefault("dataQuality", {}).setdefault("rules", [])


@route("GET", "/projects/<pk>/datasets/<name>/data-quality/rules")
def list_rules(ctx: Ctx) -> Dict[str, Any]:
    _proj, doc = _dataset(ctx, READ)
    return {"checks": clone(_rules(doc))}


@route("POST", "/projects/<pk>/datasets/<name>/data-quality/rules")
def create_rule(ctx: Ctx) -> Dict[str, Any]:
    proj, doc = _dataset(ctx, WRITE)
    rule = ctx.body_dict()
    if not rule.get("type"):
        raise errors.bad_request("A data-quality rule needs a type")
    rule = {**rule, "id": defaults.random_id(8)}
    rule.setdefault("enabled", True)
    _rules(doc).append(rule)
    ctx.store.save_dataset(proj, doc["name"])
    return clone(rule)


def _rule(doc: Dict[str, Any], rule_id: str) -> Dict[str, Any]:
    for rule in _rules(doc):
        if rule.get("id") == rule_id:
            return rule
    raise errors.not_found(f"Data quality rule {rule_id} does not exist")


@route("PUT", "/projects/<pk>/datasets/<name>/data-quality/rules/<rule_id>")
def save_rule(ctx: Ctx) -> Dict[str, Any]:
    proj, doc = _dataset(ctx, WRITE)
    rule = _rule(doc, ctx.params["rule_id"])
    rule.clear()
    rule.update({**ctx.body_dict(), "id": ctx.params["rule_id"]})
    ctx.store.save_dataset(proj, doc["name"])
    return {}


@route("DELETE", "/projects/<pk>/datasets/<name>/data-quality/rules/<rule_id>")
def delete_rule(ctx: Ctx) -> Dict[str, Any]:
    proj, doc = _dataset(ctx, WRITE)
    rule = _rule(doc, ctx.params["rule_id"])
    _rules(doc).remove(rule)
    ctx.store.save_dataset(proj, doc["name"])
    return {}


def _bounds(rule: Dict[str, Any], value: float) -> Tuple[str, str]:
    low = rule.get("minimum") if rule.get("minimumEnabled") else None
    high = rule.get("maximum") if rule.get("maximumEnabled") else None
    if (low is not None and value < float(low)) or (high is not None and value > float(high)):
        return (
            "ERROR",
            f"{value:g} is outside [{low if low is not None else '-inf'}, {high if high is not None else '+inf'}]",
        )
    soft_low = rule.get("softMinimum") if rule.get("softMinimumEnabled") else None
    soft_high = rule.get("softMaximum") if rule.get("softMaximumEnabled") else None
    if (soft_low is not None and value < float(soft_low)) or (
        soft_high is not None and value > float(soft_high)
    ):
        return "WARNING", f"{value:g} is outside the soft range"
    return "OK", f"{value:g}"


def evaluate(ctx: Ctx, pk: str, doc: Dict[str, Any], rule: Dict[str, Any]) -> Tuple[str, str]:
    """(outcome, message) of one rule on the dataset's rows."""
    source = dataset_rows.read_sql(ctx.store, pk, doc)
    rows = ctx.store.rows

    def one(sql: str) -> Any:
        return rows.query(f"SELECT {sql} FROM ({source}) AS q")[0][0]

    kind = rule.get("type")
    columns = [c for c in rule.get("columns") or [] if isinstance(c, str)]
    if kind == "RecordCountInRangeRule":
        return _bounds(rule, float(one("count(*)")))
    problems = []
    for col in columns:
        c = ident(col)
        if kind == "ColumnNotEmptyRule":
            bad = one(f"count(*) FILTER (WHERE {c} IS NULL OR CAST({c} AS VARCHAR) = '')")
            if bad:
                problems.append(f"{bad} empty value(s) in {col}")
        elif kind == "ColumnUniqueValuesRule":
            bad = one(f"count({c}) - count(DISTINCT {c})")
            if bad:
                problems.append(f"{bad} duplicate value(s) in {col}")
        elif kind == "ValuesInSetRule":
            allowed = ", ".join(literal(str(v)) for v in rule.get("valueSet") or []) or "NULL"
            bad = one(f"count(*) FILTER (WHERE {c} IS NOT NULL AND CAST({c} AS VARCHAR) NOT IN ({allowed}))")
            if bad:
                problems.append(f"{bad} value(s) of {col} not in the set")
        elif kind == "ValuesInRangeRule":
            low = float(rule["minimum"]) if rule.get("minimumEnabled") else None
            high = float(rule["maximum"]) if rule.get("maximumEnabled") else None
            num = f"TRY_CAST({c} AS DOUBLE)"
            tests = ([f"{num} < {low}"] if low is not None else []) + (
                [f"{num} > {high}"] if high is not None else []
            )
            bad = one(f"count(*) FILTER (WHERE {' OR '.join(tests)})") if tests else 0
            if bad:
                problems.append(f"{bad} value(s) of {col} out of range")
        else:
            return "EMPTY", f"The emulator does not compute rules of type {kind}"
    return ("ERROR", "; ".join(problems)) if problems else ("OK", "")


@route("POST", "/projects/<pk>/datasets/<name>/data-quality/actions/compute-rules")
def compute_rules(ctx: Ctx) -> Dict[str, Any]:
    proj, doc = _dataset(ctx, WRITE)
    wanted: Optional[str] = ctx.query("ruleId")
    now = int(time.time() * 1000)
    results = []
    for rule in _rules(doc):
        if (wanted and rule.get("id") != wanted) or (not wanted and not rule.get("enabled", True)):
            continue
        outcome, message = evaluate(ctx, proj.key, doc, rule)
        results.append(
            {
                "id": rule["id"],
                "name": rule.get("displayName") or rule.get("type"),
                "outcome": outcome,
                "message": message,
                "computeDate": now,
                "runOrigin": "MANUAL",
                "partition": "NP",
            }
        )
    ctx.app.runtime.set_rule_results(proj.key, doc["name"], results)
    return ctx.app.runtime.start_future({"results": results}, "Computing data quality rules")


@route("GET", "/projects/<pk>/datasets/<name>/data-quality/last-rules-result")
def last_rules_result(ctx: Ctx) -> List[Dict[str, Any]]:
    proj, doc = _dataset(ctx, READ)
    results = ctx.app.runtime.rule_results(proj.key, doc["name"])
    live = {r.get("id") for r in _rules(doc)}
    wanted = ctx.query("ruleId")
    return [r for r in results if r["id"] in live and (not wanted or r["id"] == wanted)]


@route("GET", "/projects/<pk>/datasets/<name>/data-quality/status")
def status(ctx: Ctx) -> Dict[str, Any]:
    results = last_rules_result(ctx)
    if not results:
        return {"outcome": "EMPTY"}
    worst = max(results, key=lambda r: WORST.get(r["outcome"], 0))
    return {"outcome": worst["outcome"], "computeDate": worst["computeDate"]}
