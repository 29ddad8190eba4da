"""Recipes compiled to DuckDB SQL from their stored DSS documents (recipe + payload).

Each compiler takes the recipe, its payload and its inputs (a temporary view per input, with the
input's schema) and returns, per output dataset, the SELECT whose rows the output gets. What each
kind computes, and where it only approximates DSS, is in docs/emulator.md ("Jobs").

A construct the emulator cannot compute raises ``Unsupported``: the job fails with that message in
its log rather than writing rows DSS would not write.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional

from .rows import ident, literal


class Unsupported(Exception):
    """A recipe setting the emulator does not compute."""


@dataclass
class Input:
    name: str  # the dataset name as the recipe refers to it
    view: str  # the temporary view holding its rows
    columns: List[Dict[str, Any]]  # its schema columns

    @property
    def names(self) -> List[str]:
        return [c["name"] for c in self.columns]


Compiled = Dict[str, str]  # output dataset ref -> SELECT


def _payload_json(payload: str) -> Dict[str, Any]:
    if not payload.strip():
        return {}
    try:
        data = json.loads(payload)
    except ValueError as exc:
        raise Unsupported(f"The recipe's payload is not JSON: {exc}") from None
    return data if isinstance(data, dict) else {}


def _role_refs(recipe: Dict[str, Any], key: str, role: str = "main") -> List[str]:
    return [
        i.get("ref") for i in ((recipe.get(key) or {}).get(role) or {}).get("items") or [] if i.get("ref")
    ]


def output_refs(recipe: Dict[str, Any]) -> List[str]:
    return [
        i.get("ref")
        for r in (recipe.get("outputs") or {}).values()
        for i in r.get("items") or []
        if i.get("ref")
    ]


# ---------------------------------------------------------------- formulas and filters


GREL_FUNCTIONS = {
    "isBlank": "({} IS NULL OR CAST({} AS VARCHAR) = '')",
    "isNonBlank": "({} IS NOT NULL AND CAST({} AS VARCHAR) <> '')",
}


def formula(expr: str) -> str:
    """A DSS formula (GREL-like) as SQL, for the common forms: column names, numbers, "strings",
    ==, !=, <, >, &&, ||, !, + - * /, if(c, a, b), isBlank(x), isNonBlank(x), val("col")."""
    text = str(expr)
    out: List[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch in "\"'":
            end = i + 1
            buf = []
            while end < len(text) and text[end] != ch:
                if text[end] == "\\" and end + 1 < len(text):
                    end += 1
                buf.append(text[end])
                end += 1
            out.append(literal("".join(buf)))
            i = end + 1
            continue
        two = text[i : i + 2]
        if two in ("&&", "||", "==", "!="):
            out.append({"&&": " AND ", "||": " OR ", "==": " = ", "!=": " <> "}[two])
            i += 2
            continue
        if ch == "!":
            out.append(" NOT ")
            i += 1
            continue
        match = re.match(r"[A-Za-z_][A-Za-z0-9_]*", text[i:])
        if match:
            word = match.group(0)
            rest = text[i + len(word) :].lstrip()
            if rest.startswith("("):
                if word == "val":
                    inner = re.match(r"\(\s*[\"']([^\"']*)[\"']\s*\)", rest)
                    if inner:
                        out.append(ident(inner.group(1)))
                        i = text.index(")", i) + 1
                        continue
                if word in GREL_FUNCTIONS or word in (
                    "if",
                    "abs",
                    "round",
                    "floor",
                    "ceil",
                    "length",
                    "toLowercase",
                    "toUppercase",
                    "trim",
                    "coalesce",
                ):
                    out.append({"toLowercase": "lower", "toUppercase": "upper"}.get(word, word))
                else:
                    raise Unsupported(
                        f"The emulator does not evaluate the formula function {word}() in: {expr}"
                    )
            elif word in ("true", "false", "null"):
                out.append(word.upper())
            elif word in ("and", "or", "not"):
                out.append(f" {word.upper()} ")
            else:
                out.append(ident(word))
            i += len(word)
            continue
        out.append(ch)
        i += 1
    sql = "".join(out)
    for name, template in GREL_FUNCTIONS.items():
        sql = re.sub(name + r"\s*\(([^()]*)\)", _expander(template), sql)
    return sql


def _expander(template: str) -> Callable[[re.Match[str]], str]:
    return lambda m: template.format(m.group(1), m.group(1))


CONDITION_OPERATORS: Dict[str, Callable[[str, Dict[str, Any]], str]] = {
    "== [string]": lambda c, d: f"CAST({c} AS VARCHAR) = {literal(d.get('string', ''))}",
    "!= [string]": lambda c, d: f"CAST({c} AS VARCHAR) IS DISTINCT FROM {literal(d.get('string', ''))}",
    "== [number]": lambda c, d: f"{c} = {float(d.get('num', 0))}",
    "!= [number]": lambda c, d: f"{c} IS DISTINCT FROM {float(d.get('num', 0))}",
    ">  [number]": lambda c, d: f"{c} > {float(d.get('num', 0))}",
    "<  [number]": lambda c, d: f"{c} < {float(d.get('num', 0))}",
    ">= [number]": lambda c, d: f"{c} >= {float(d.get('num', 0))}",
    "<= [number]": lambda c, d: f"{c} <= {float(d.get('num', 0))}",
    "contains": lambda c, d: f"contains(CAST({c} AS VARCHAR), {literal(d.get('string', ''))})",
    "regex": lambda c, d: f"regexp_matches(CAST({c} AS VARCHAR), {literal(d.get('string', ''))})",
    "is empty": lambda c, d: f"({c} IS NULL OR CAST({c} AS VARCHAR) = '')",
    "is not empty": lambda c, d: f"({c} IS NOT NULL AND CAST({c} AS VARCHAR) <> '')",
    "true": lambda c, d: f"{c} = TRUE",
    "false": lambda c, d: f"{c} = FALSE",
}


def filter_sql(flt: Any) -> Optional[str]:
    """A DSS filter (preFilter, postFilter, split filters) as a WHERE condition; None if disabled."""
    if not isinstance(flt, dict) or not flt.get("enabled"):
        return None
    ui: Dict[str, Any] = flt["uiData"] if isinstance(flt.get("uiData"), dict) else {}
    mode = ui.get("mode")
    if mode in ("&&", "||"):
        parts = []
        for cond in ui.get("conditions") or []:
            op = (
                re.sub(r"\s+", " ", str(cond.get("operator", "")))
                .replace("> [", ">  [")
                .replace("< [", "<  [")
            )
            make = CONDITION_OPERATORS.get(op)
            if make is None:
                raise Unsupported(
                    f"The emulator does not evaluate the filter operator '{cond.get('operator')}'"
                )
            parts.append(make(ident(cond.get("input", "")), cond))
        if not parts:
            return None
        return "(" + (" AND " if mode == "&&" else " OR ").join(parts) + ")"
    expression = flt.get("expression") or ""
    if not expression.strip():
        return None
    return "(" + (expression if mode == "SQL" else formula(expression)) + ")"


def _where(flt: Any) -> str:
    cond = filter_sql(flt)
    return f" WHERE {cond}" if cond else ""


def _distinct(flt: Any) -> str:
    return "DISTINCT " if isinstance(flt, dict) and flt.get("distinct") else ""


def with_computed(source: str, computed: Any) -> str:
    """``source`` with the recipe's computed columns added (GREL formulas or SQL expressions)."""
    columns = [c for c in computed or [] if isinstance(c, dict) and c.get("name")]
    if not columns:
        return source
    from .rows import duck_type

    exprs = []
    for col in columns:
        expr = col.get("expr") or "NULL"
        sql = expr if col.get("mode") == "SQL" else formula(expr)
        exprs.append(f"TRY_CAST(({sql}) AS {duck_type(col.get('type'))}) AS {ident(col['name'])}")
    # Every column but those the computed ones replace, then the computed ones (DuckDB's COLUMNS
    # lambda takes the names whether or not the source has them).
    names = ", ".join(literal(c["name"]) for c in columns)
    return f"(SELECT COLUMNS(lambda c: c NOT IN ({names})), {', '.join(exprs)} FROM {source} AS c0)"


def _filtered(source: str, payload: Dict[str, Any], computed_key: str = "computedColumns") -> str:
    """The recipe's input after its computed columns and pre-filter."""
    inner = with_computed(source, payload.get(computed_key))
    pre = payload.get("preFilter")
    return f"(SELECT {_distinct(pre)}* FROM {inner} AS p{_where(pre)})"


def _post(select: str, payload: Dict[str, Any]) -> str:
    post = payload.get("postFilter")
    if filter_sql(post) is None and not _distinct(post):
        return select
    return f"SELECT {_distinct(post)}* FROM ({select}) AS post{_where(post)}"


# ---------------------------------------------------------------- recipe kinds


def compile_sync(recipe: Dict[str, Any], payload: str, inputs: List[Input]) -> Compiled:
    return {ref: f"SELECT * FROM {inputs[0].view}" for ref in output_refs(recipe)}


def compile_sql_query(recipe: Dict[str, Any], payload: str, inputs: List[Input]) -> Compiled:
    raise AssertionError("SQL query recipes run through builds.run_sql_query")  # pragma: no cover


GROUPING_AGGREGATES = [  # (flag, output suffix, SQL template) in the order DSS lists the columns
    ("count", "count", "count({c})"),
    ("countDistinct", "distinct", "count(DISTINCT {c})"),
    ("min", "min", "min({c})"),
    ("max", "max", "max({c})"),
    ("avg", "avg", "avg({c})"),
    ("median", "median", "median({c})"),
    ("sum", "sum", "sum({c})"),
    ("sum2", "sum2", "sum({c} * {c})"),
    ("stddev", "stddev", "stddev_samp({c})"),
    ("concat", "concat", "string_agg({distinct}CAST({c} AS VARCHAR), {sep})"),
    ("first", "first", "{first}"),
    ("last", "last", "{last}"),
]


def _first_last(value: Dict[str, Any], col: str, which: str) -> str:
    order = value.get("orderColumn")
    not_null = f" FILTER (WHERE {col} IS NOT NULL)" if value.get("firstLastNotNull") else ""
    if order:
        fn = "arg_min" if which == "first" else "arg_max"
        return f"{fn}({col}, {ident(order)}){not_null}"
    return f"{which}({col}){not_null}"


def compile_grouping(recipe: Dict[str, Any], payload_text: str, inputs: List[Input]) -> Compiled:
    payload = _payload_json(payload_text)
    keys = [k["column"] for k in payload.get("keys") or [] if isinstance(k, dict) and k.get("column")]
    renames = payload.get("outputColumnNameOverrides") or {}
    exprs = [ident(k) for k in keys]
    for value in payload.get("values") or []:
        col = ident(value["column"])
        for flag, suffix, template in GROUPING_AGGREGATES:
            if not value.get(flag):
                continue
            if flag == "concat":
                sep = literal(value.get("concatSeparator", ","))
                sql = template.format(
                    c=col, sep=sep, distinct="DISTINCT " if value.get("concatDistinct") else ""
                )
            elif flag in ("first", "last"):
                sql = _first_last(value, col, flag)
            else:
                sql = template.format(c=col)
            name = "{}_{}".format(value["column"], suffix)
            exprs.append(f"{sql} AS {ident(renames.get(name, name))}")
    if payload.get("globalCount"):
        exprs.append(f"count(*) AS {ident(renames.get('count', 'count'))}")
    if not exprs:
        raise Unsupported("The grouping recipe has neither keys nor aggregations")
    group = " GROUP BY " + ", ".join(ident(k) for k in keys) if keys else ""
    select = "SELECT {} FROM {} AS g{}".format(", ".join(exprs), _filtered(inputs[0].view, payload), group)
    return {ref: _post(select, payload) for ref in output_refs(recipe)}


JOIN_TYPES = {
    "INNER": "INNER JOIN",
    "LEFT": "LEFT JOIN",
    "RIGHT": "RIGHT JOIN",
    "FULL": "FULL OUTER JOIN",
    "CROSS": "CROSS JOIN",
    "LEFT_ANTI": "ANTI JOIN",
    "ADVANCED": "INNER JOIN",
}
JOIN_OPERATORS = {"EQ": "=", "NE": "<>", "LT": "<", "LTE": "<=", "GT": ">", "GTE": ">="}


def _join_condition(join: Dict[str, Any]) -> str:
    parts = []
    for cond in join.get("on") or []:
        op = JOIN_OPERATORS.get(cond.get("type", "EQ"))
        if op is None:
            raise Unsupported(f"The emulator does not compute join conditions of type {cond.get('type')}")
        left, right = cond.get("column1") or {}, cond.get("column2") or {}
        parts.append(
            "t{}.{} {} t{}.{}".format(
                left.get("table", join.get("table1", 0)),
                ident(left.get("name", "")),
                op,
                right.get("table", join.get("table2", 1)),
                ident(right.get("name", "")),
            )
        )
    if join.get("customSQLCondition"):
        parts.append("(" + join["customSQLCondition"] + ")")
    if not parts:
        return "TRUE"
    return (" OR " if join.get("conditionsMode") == "OR" else " AND ").join(parts)


def _join_columns(
    payload: Dict[str, Any], vis: List[Dict[str, Any]], sources: List[Input], join_types: Dict[int, str]
) -> List[str]:
    """The selected columns: MANUAL inputs take `selectedColumns` (with their `alias`); the others
    every column, a name already taken by an earlier input left out (AUTO_NON_CONFLICTING) or
    kept with the input's `prefix` (ALL, or any input with a prefix)."""
    taken: List[str] = []
    exprs = []
    selected = [c for c in payload.get("selectedColumns") or [] if isinstance(c, dict)]
    for i, vi in enumerate(vis):
        if join_types.get(i) == "LEFT_ANTI":
            continue  # an anti join keeps the left rows only
        mode = vi.get("outputColumnsSelectionMode", "AUTO_NON_CONFLICTING")
        prefix = vi.get("prefix") or ""
        if mode == "MANUAL":
            chosen = [(c["name"], c.get("alias") or c["name"]) for c in selected if c.get("table") == i]
        else:
            chosen = [(n, (prefix + "_" + n) if prefix else n) for n in sources[i].names]
        for name, alias in chosen:
            if alias in taken:
                if mode == "AUTO_NON_CONFLICTING" and not prefix:
                    continue
                alias = f"{sources[i].name}_{name}" if alias == name else alias
            taken.append(alias)
            exprs.append(f"t{i}.{ident(name)} AS {ident(alias)}")
    return exprs


def compile_join(recipe: Dict[str, Any], payload_text: str, inputs: List[Input]) -> Compiled:
    payload = _payload_json(payload_text)
    vis = [v for v in payload.get("virtualInputs") or [] if isinstance(v, dict)]
    if not vis:
        vis = [{"index": i} for i in range(len(inputs))]
    sources = [inputs[int(v.get("index", i))] for i, v in enumerate(vis)]
    tables = [f"{_filtered(src.view, vi)} AS t{i}" for i, (vi, src) in enumerate(zip(vis, sources))]
    joins = [j for j in payload.get("joins") or [] if isinstance(j, dict)]
    sql_from = tables[0]
    right_types: Dict[int, str] = {}
    for join in joins:
        jtype = join.get("type", "INNER")
        if jtype not in JOIN_TYPES:
            raise Unsupported(f"The emulator does not compute {jtype} joins")
        right = int(join.get("table2", 1))
        right_types[right] = jtype
        on = "" if jtype == "CROSS" else " ON " + _join_condition(join)
        sql_from += f" {JOIN_TYPES[jtype]} {tables[right]}{on}"
    exprs = _join_columns(payload, vis, sources, right_types)
    select = "SELECT {} FROM {}".format(", ".join(exprs) or "*", sql_from)
    select = f"SELECT * FROM {with_computed('(' + select + ')', payload.get('computedColumns'))} AS j"
    return {ref: _post(select, payload) for ref in output_refs(recipe)}


COMPILERS: Dict[str, Callable[[Dict[str, Any], str, List[Input]], Compiled]] = {
    "sync": compile_sync,
    "grouping": compile_grouping,
    "join": compile_join,
}
