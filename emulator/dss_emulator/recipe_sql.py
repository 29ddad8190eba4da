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
from typing import Any, Callable, Dict, List, Optional, Tuple

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


# ---------------------------------------------------------------- stack, sort, split, window


def compile_vstack(recipe: Dict[str, Any], payload_text: str, inputs: List[Input]) -> Compiled:
    payload = _payload_json(payload_text)
    vis = [v for v in payload.get("virtualInputs") or [] if isinstance(v, dict)] or [
        {"index": i} for i in range(len(inputs))
    ]
    sources = [(vi, inputs[int(vi.get("index", i))]) for i, vi in enumerate(vis)]
    mode = payload.get("mode") or "UNION"
    if mode == "UNION":
        columns: List[str] = []
        for _vi, src in sources:
            columns += [n for n in src.names if n not in columns]
    elif mode == "INTERSECT":
        columns = [n for n in sources[0][1].names if all(n in src.names for _v, src in sources)]
    elif mode == "FROM_DATASET":
        wanted = payload.get("copySchemaFromDatasetWithName")
        match = [src for _v, src in sources if src.name == wanted]
        if not match:
            raise Unsupported(
                f"The stack recipe copies the columns of {wanted}, which is not one of its inputs"
            )
        columns = match[0].names
    else:
        raise Unsupported(f"The emulator does not compute stack recipes in mode {mode}")
    origin = payload.get("originColumnName") or "original_dataset"
    parts = []
    for vi, src in sources:
        exprs = [f"{ident(c)} AS {ident(c)}" if c in src.names else f"NULL AS {ident(c)}" for c in columns]
        if payload.get("addOriginColumn"):
            exprs.append(f"{literal(vi.get('originLabel') or src.name)} AS {ident(origin)}")
        parts.append(f"SELECT {', '.join(exprs)} FROM {_filtered(src.view, vi)} AS s")
    select = " UNION ALL BY NAME ".join(parts)
    return {ref: _post(f"SELECT * FROM ({select}) AS st", payload) for ref in output_refs(recipe)}


def _order_by(orders: Any) -> str:
    terms = [
        "{} {}".format(ident(o["column"]), "DESC" if o.get("desc") else "ASC")
        for o in orders or []
        if isinstance(o, dict) and o.get("column")
    ]
    return ", ".join(terms)


SORT_RANKS = [
    ("rowNumber", "row_number()", "rowNumber"),
    ("rank", "rank()", "rank"),
    ("denseRank", "dense_rank()", "denseRank"),
]


def compile_sort(recipe: Dict[str, Any], payload_text: str, inputs: List[Input]) -> Compiled:
    payload = _payload_json(payload_text)
    order = _order_by(payload.get("orders"))
    window = f" OVER (ORDER BY {order})" if order else " OVER ()"
    extra = [f"{fn}{window} AS {ident(name)}" for flag, fn, name in SORT_RANKS if payload.get(flag)]
    select = "SELECT *{} FROM {} AS s".format(
        "".join(", " + e for e in extra), _filtered(inputs[0].view, payload)
    )
    select = _post(select, payload)
    if order:
        select = f"SELECT * FROM ({select}) AS sorted ORDER BY {order}"
    return {ref: select for ref in output_refs(recipe)}


def _split_case(payload: Dict[str, Any]) -> str:
    """The output index of each row (-1: dropped), as DSS's split dispatches it."""
    mode = payload.get("mode") or "RANDOM"
    default = int(
        payload.get("defaultOutputIndex", -1) if payload.get("defaultOutputIndex") is not None else -1
    )
    whens = []
    if mode == "FILTERS":
        for split in payload.get("filterSplits") or []:
            cond = filter_sql(split.get("filter"))
            if cond:
                whens.append(f"WHEN {cond} THEN {int(split.get('outputIndex', -1))}")
    elif mode == "VALUES":
        column = ident(payload.get("column") or "")
        for split in payload.get("valueSplits") or []:
            value = literal(str(split.get("value", "")))
            if split.get("caseSensitive", True):
                whens.append(
                    f"WHEN CAST({column} AS VARCHAR) = {value} THEN {int(split.get('outputIndex', -1))}"
                )
            else:
                whens.append(
                    f"WHEN lower(CAST({column} AS VARCHAR)) = lower({value}) THEN {int(split.get('outputIndex', -1))}"
                )
    elif mode == "RANDOM":
        seed = int(payload.get("seed") or 0)
        draw = f"(hash(row_number() OVER (), {seed}) % 1000000) / 10000.0"
        bound = 0.0
        for split in payload.get("randomSplits") or []:
            bound += float(split.get("share", 0))
            whens.append(f"WHEN {draw} < {bound} THEN {int(split.get('outputIndex', -1))}")
    else:
        raise Unsupported(f"The emulator does not compute split recipes in mode {mode}")
    return "CASE {} ELSE {} END".format(" ".join(whens), default) if whens else str(default)


def compile_split(recipe: Dict[str, Any], payload_text: str, inputs: List[Input]) -> Compiled:
    payload = _payload_json(payload_text)
    source = _filtered(inputs[0].view, payload)
    drop = ""
    if payload.get("computedColumns") and not payload.get("writeComputedColumnsInOutput"):
        names = ", ".join(
            ident(c["name"]) for c in payload["computedColumns"] if isinstance(c, dict) and c.get("name")
        )
        drop = f", {names}" if names else ""
    dispatched = f"(SELECT *, {_split_case(payload)} AS __split FROM {source} AS s)"
    refs = _role_refs(recipe, "outputs")
    return {
        ref: f"SELECT * EXCLUDE (__split{drop}) FROM {dispatched} AS d WHERE __split = {i}"
        for i, ref in enumerate(refs)
    }


WINDOW_AGGREGATES = [
    ("count", "count", "count({c})"),
    ("min", "min", "min({c})"),
    ("max", "max", "max({c})"),
    ("avg", "avg", "avg({c})"),
    ("sum", "sum", "sum({c})"),
    ("stddev", "stddev", "stddev_samp({c})"),
    ("concat", "concat", "string_agg(CAST({c} AS VARCHAR), {sep})"),
    ("first", "first", "first_value({c})"),
    ("last", "last", "last_value({c})"),
]
WINDOW_RANKS = [
    ("rank", "rank()", "rank"),
    ("denseRank", "dense_rank()", "dense_rank"),
    ("rowNumber", "row_number()", "rownumber"),
    ("cumeDist", "cume_dist()", "cume_dist"),
]


def _window_spec(window: Dict[str, Any]) -> Tuple[str, str]:
    """(PARTITION BY ... ORDER BY ..., the frame) of DSS's window definition."""
    parts = []
    if window.get("enablePartitioning") and window.get("partitioningColumns"):
        parts.append("PARTITION BY " + ", ".join(ident(c) for c in window["partitioningColumns"]))
    order = _order_by(window.get("orders")) if window.get("enableOrdering") else ""
    if order:
        parts.append("ORDER BY " + order)
    frame = ""
    if window.get("enableLimits"):
        if window.get("windowLimitMode", "ROWS") != "ROWS":
            raise Unsupported("The emulator computes window frames in ROWS mode only")
        before = (
            f"{int(window.get('precedingRows') or 0)} PRECEDING"
            if window.get("limitPreceding")
            else "UNBOUNDED PRECEDING"
        )
        after = (
            f"{int(window.get('followingRows') or 0)} FOLLOWING"
            if window.get("limitFollowing")
            else "CURRENT ROW"
        )
        frame = f" ROWS BETWEEN {before} AND {after}"
    elif order:
        frame = " ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW"
    else:
        frame = " ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING"
    return " ".join(parts), frame


def _offsets(value: Any) -> List[int]:
    return [int(v) for v in str(value or "1").split(",") if v.strip().lstrip("-").isdigit()]


def compile_window(recipe: Dict[str, Any], payload_text: str, inputs: List[Input]) -> Compiled:
    payload = _payload_json(payload_text)
    windows = [w for w in payload.get("windows") or [] if isinstance(w, dict)] or [{}]
    if len(windows) > 1:
        raise Unsupported("The emulator computes window recipes with one window")
    spec, frame = _window_spec(windows[0])
    renames = payload.get("outputColumnNameOverrides") or {}
    values = [v for v in payload.get("values") or [] if isinstance(v, dict) and v.get("column")]
    if payload.get("retrievedColumnsSelectionMode", "ALL") == "ALL":
        exprs = ["*"]
    else:
        exprs = [ident(v["column"]) for v in values if v.get("value")]
    over = f" OVER ({spec}{frame})"
    plain = f" OVER ({spec})"
    for value in values:
        col = ident(value["column"])
        for flag, suffix, template in WINDOW_AGGREGATES:
            if value.get(flag):
                sql = template.format(c=col, sep=literal(value.get("concatSeparator") or ","))
                name = "{}_{}".format(value["column"], suffix)
                exprs.append(f"{sql}{over} AS {ident(renames.get(name, name))}")
        for flag, fn, diff in (
            ("lag", "lag", False),
            ("lead", "lead", False),
            ("lagDiff", "lag", True),
            ("leadDiff", "lead", True),
        ):
            if not value.get(flag):
                continue
            for n in _offsets(value.get("lagValues" if fn == "lag" else "leadValues")):
                shifted = f"{fn}({col}, {n}){plain}"
                sql = (f"{col} - {shifted}" if fn == "lag" else f"{shifted} - {col}") if diff else shifted
                name = "{}_{}{}".format(value["column"], flag.lower(), n)
                exprs.append(f"{sql} AS {ident(renames.get(name, name))}")
        if value.get("countDistinct"):
            raise Unsupported("The emulator does not compute distinct counts over a window")
    for flag, fn, name in WINDOW_RANKS:
        if payload.get(flag):
            exprs.append(f"{fn}{plain} AS {ident(renames.get(name, name))}")
    if payload.get("ntile"):
        exprs.append(
            f"ntile({int(payload.get('ntileValues') or 10)}){plain} AS {ident(renames.get('ntile', 'ntile'))}"
        )
    select = "SELECT {} FROM {} AS w".format(", ".join(exprs), _filtered(inputs[0].view, payload))
    return {ref: _post(select, payload) for ref in output_refs(recipe)}


COMPILERS.update(vstack=compile_vstack, sort=compile_sort, split=compile_split, window=compile_window)


# ---------------------------------------------------------------- prepare (shaker)


JAVA_DATE_PARTS = [
    ("yyyy", "%Y"),
    ("yy", "%y"),
    ("MM", "%m"),
    ("dd", "%d"),
    ("HH", "%H"),
    ("mm", "%M"),
    ("ss", "%S"),
    ("SSS", "%g"),
    ("XXX", "%z"),
    ("Z", "%z"),
    ("'T'", "T"),
]


def java_date_format(pattern: str) -> str:
    out = pattern
    for java, c in JAVA_DATE_PARTS:
        out = out.replace(java, c)
    return out


class Shaker:
    """A prepare recipe's steps applied one after the other, each a SELECT over the previous one;
    the column list is followed along (a processor's output columns)."""

    def __init__(self, source: str, columns: List[str]) -> None:
        self.sql = f"SELECT * FROM {source}"
        self.columns = list(columns)
        self.n = 0

    def _wrap(self, select_list: str, where: str = "") -> None:
        self.n += 1
        self.sql = f"SELECT {select_list} FROM ({self.sql}) AS p{self.n}{where}"

    def _replace(self, changes: Dict[str, str], added: Optional[List[Tuple[str, str]]] = None) -> None:
        exprs = [f"{changes[c]} AS {ident(c)}" if c in changes else ident(c) for c in self.columns]
        for name, expr in added or []:
            if name in self.columns:
                exprs[self.columns.index(name)] = f"{expr} AS {ident(name)}"
            else:
                exprs.append(f"{expr} AS {ident(name)}")
                self.columns.append(name)
        self._wrap(", ".join(exprs) or "NULL AS __empty")

    def _targets(self, params: Dict[str, Any]) -> List[str]:
        applies = params.get("appliesTo", "SINGLE_COLUMN")
        if applies in ("SINGLE_COLUMN", "COLUMNS"):
            return [c for c in params.get("columns") or [] if isinstance(c, str)]
        if applies == "ALL":
            return list(self.columns)
        if applies == "PATTERN":
            pattern = re.compile(params.get("appliesToPattern") or ".*")
            return [c for c in self.columns if pattern.fullmatch(c)]
        raise Unsupported(f"The emulator does not apply processors to '{applies}'")

    def apply(self, step: Dict[str, Any]) -> None:
        kind = step.get("type")
        params = step.get("params") if isinstance(step.get("params"), dict) else {}
        handler = getattr(self, f"p_{kind}", None)
        if handler is None:
            raise Unsupported(f"The emulator does not run the prepare processor {kind}")
        handler(params)

    # one method per processor (DSS's processor type after p_)

    def p_ColumnsSelector(self, params: Dict[str, Any]) -> None:
        targets = self._targets(params)
        kept = [c for c in self.columns if (c in targets) == bool(params.get("keep"))]
        if params.get("keep"):
            kept = [c for c in targets if c in self.columns]
        self.columns = kept
        self._wrap(", ".join(ident(c) for c in kept) or "NULL AS __empty")

    def p_ColumnRenamer(self, params: Dict[str, Any]) -> None:
        renames = {
            r.get("from"): r.get("to") for r in params.get("renamings") or [] if r.get("from") and r.get("to")
        }
        exprs = [f"{ident(c)} AS {ident(renames.get(c, c))}" for c in self.columns]
        self.columns = [renames.get(c, c) for c in self.columns]
        self._wrap(", ".join(exprs) or "NULL AS __empty")

    def p_CreateColumnWithGREL(self, params: Dict[str, Any]) -> None:
        self._replace(
            {}, [(params.get("column") or "new_column", formula(params.get("expression") or "null"))]
        )

    def p_FillEmptyWithValue(self, params: Dict[str, Any]) -> None:
        value = literal(str(params.get("value", "")))
        self._replace(
            {
                c: f"CASE WHEN {ident(c)} IS NULL OR CAST({ident(c)} AS VARCHAR) = '' THEN {value} ELSE CAST({ident(c)} AS VARCHAR) END"
                for c in self._targets(params)
            }
        )

    def _matches(self, col: str, params: Dict[str, Any], values: List[str]) -> str:
        text = f"CAST({ident(col)} AS VARCHAR)"
        mode = params.get("matchingMode", "FULL_STRING")
        lower = params.get("normalizationMode", "EXACT") != "EXACT"
        if lower:
            text = f"lower({text})"
        tests = []
        for value in values:
            v = literal(value.lower() if lower else value)
            if mode == "FULL_STRING":
                tests.append(f"{text} = {v}")
            elif mode == "SUBSTRING":
                tests.append(f"contains({text}, {v})")
            elif mode == "PATTERN":
                tests.append(f"regexp_full_match({text}, {v})")
            else:
                raise Unsupported(f"The emulator does not match values in mode {mode}")
        return "(" + (" OR ".join(tests) or "FALSE") + ")"

    def _row_action(self, params: Dict[str, Any], conditions: List[str]) -> None:
        joiner = " OR " if params.get("booleanMode") == "OR" else " AND "
        matched = "(" + (joiner.join(conditions) or "FALSE") + ")"
        action = params.get("action", "REMOVE_ROW")
        if action == "REMOVE_ROW":
            self._wrap("*", f" WHERE NOT coalesce({matched}, FALSE)")
        elif action == "KEEP_ROW":
            self._wrap("*", f" WHERE coalesce({matched}, FALSE)")
        elif action == "CLEAR_CELL":
            self._replace(
                {
                    c: f"CASE WHEN coalesce({cond}, FALSE) THEN NULL ELSE {ident(c)} END"
                    for c, cond in zip(self._targets(params), conditions)
                }
            )
        else:
            raise Unsupported(f"The emulator does not run the row action {action}")

    def p_FilterOnValue(self, params: Dict[str, Any]) -> None:
        values = [str(v) for v in params.get("values") or []]
        self._row_action(params, [self._matches(c, params, values) for c in self._targets(params)])

    def p_FilterOnNumericalRange(self, params: Dict[str, Any]) -> None:
        conditions = []
        for c in self._targets(params):
            num = f"TRY_CAST({ident(c)} AS DOUBLE)"
            parts = [f"{num} IS NOT NULL"]
            if params.get("min") is not None:
                parts.append(f"{num} >= {float(params['min'])}")
            if params.get("max") is not None:
                parts.append(f"{num} <= {float(params['max'])}")
            conditions.append("(" + " AND ".join(parts) + ")")
        self._row_action(params, conditions)

    def p_RemoveRowsOnEmpty(self, params: Dict[str, Any]) -> None:
        empties = [f"({ident(c)} IS NULL OR CAST({ident(c)} AS VARCHAR) = '')" for c in self._targets(params)]
        joiner = " AND " if params.get("booleanMode") == "AND" else " OR "
        matched = "(" + (joiner.join(empties) or "FALSE") + ")"
        self._wrap("*", f" WHERE {'' if params.get('keep') else 'NOT '}{matched}")

    def p_StringTransformer(self, params: Dict[str, Any]) -> None:
        modes = {
            "TO_LOWER": "lower({})",
            "TO_UPPER": "upper({})",
            "TRIM": "trim({})",
            "NORMALIZE_WHITESPACE": "trim(regexp_replace({}, '\\s+', ' ', 'g'))",
        }
        template = modes.get(params.get("mode", ""))
        if template is None:
            raise Unsupported(f"The emulator does not run the string transformation {params.get('mode')}")
        self._replace({c: template.format(f"CAST({ident(c)} AS VARCHAR)") for c in self._targets(params)})

    def p_FindReplace(self, params: Dict[str, Any]) -> None:
        matching = params.get("matching", "SUBSTRING")
        changes = {}
        for c in self._targets(params):
            expr = f"CAST({ident(c)} AS VARCHAR)"
            for m in params.get("mapping") or []:
                src, dst = literal(m.get("from", "")), literal(m.get("to") or "")
                if matching == "PATTERN":
                    expr = f"regexp_replace({expr}, {src}, {dst}, 'g')"
                elif matching == "SUBSTRING":
                    expr = f"replace({expr}, {src}, {dst})"
                elif matching == "FULL_STRING":
                    expr = f"CASE WHEN {expr} = {src} THEN {dst} ELSE {expr} END"
                else:
                    raise Unsupported(f"The emulator does not find and replace in mode {matching}")
            changes[c] = expr
        output = params.get("output") or ""
        if output and len(changes) == 1:
            self._replace({}, [(output, next(iter(changes.values())))])
        else:
            self._replace(changes)

    def p_DateParser(self, params: Dict[str, Any]) -> None:
        formats = [java_date_format(f) for f in params.get("formats") or []]
        out_type = ((params.get("outType") or {}).get("type")) or "date"
        target = "DATE" if out_type == "dateonly" else "TIMESTAMPTZ"
        changes = {}
        for c in self._targets(params):
            tries = (
                ", ".join(f"try_strptime(CAST({ident(c)} AS VARCHAR), {literal(f)})" for f in formats)
                or "NULL"
            )
            changes[c] = f"CAST(coalesce({tries}) AS {target})"
        out_col = params.get("outCol") or ""
        if out_col and len(changes) == 1:
            self._replace({}, [(out_col, next(iter(changes.values())))])
        else:
            self._replace(changes)


def _steps(steps: Any) -> List[Dict[str, Any]]:
    flat: List[Dict[str, Any]] = []
    for step in steps or []:
        if not isinstance(step, dict) or step.get("disabled"):
            continue
        if step.get("metaType") == "GROUP":
            flat.extend(_steps(step.get("steps")))
        else:
            flat.append(step)
    return flat


def compile_shaker(recipe: Dict[str, Any], payload_text: str, inputs: List[Input]) -> Compiled:
    payload = _payload_json(payload_text)
    shaker = Shaker(inputs[0].view, inputs[0].names)
    for step in _steps(payload.get("steps")):
        shaker.apply(step)
    return {ref: shaker.sql for ref in output_refs(recipe)}


COMPILERS.update(shaker=compile_shaker, prepare=compile_shaker)


# ---------------------------------------------------------------- distinct, sampling, pivot


def compile_distinct(recipe: Dict[str, Any], payload_text: str, inputs: List[Input]) -> Compiled:
    payload = _payload_json(payload_text)
    renames = payload.get("outputColumnNameOverrides") or {}
    keys = [k["column"] for k in payload.get("keys") or [] if isinstance(k, dict) and k.get("column")]
    if payload.get("selectAllColumns", True) or not keys:
        keys = inputs[0].names
    exprs = [f"{ident(k)} AS {ident(renames.get(k, k))}" for k in keys]
    if payload.get("globalCount"):
        exprs.append(f"count(*) AS {ident(renames.get('count', 'count'))}")
    group = ", ".join(ident(k) for k in keys)
    select = f"SELECT {', '.join(exprs)} FROM {_filtered(inputs[0].view, payload)} AS d GROUP BY {group}"
    return {ref: _post(select, payload) for ref in output_refs(recipe)}


def sampling_select(recipe: Dict[str, Any], payload_text: str, source: str) -> str:
    """DSS's sampling recipe: the filter (its payload), then the params' `selection`."""
    flt = _payload_json(payload_text)
    selection = (recipe.get("params") or {}).get("selection") or {}
    base = f"SELECT * FROM {source} AS s{_where(flt)}"
    method = selection.get("samplingMethod") or "FULL"
    limit = int(selection.get("maxRecords") or -1)
    seed = int(selection.get("seed") or 0)
    draw = f"hash(row_number() OVER (), {seed})"
    if method == "FULL":
        return base
    if method == "HEAD_SEQUENTIAL":
        return base + (f" LIMIT {limit}" if limit >= 0 else "")
    if method in ("RANDOM_FIXED_NB", "RANDOM_FIXED_NB_EXACT"):
        return f"SELECT * FROM ({base}) AS b ORDER BY {draw} LIMIT {max(limit, 0)}"
    if method == "RANDOM_FIXED_RATIO":
        ratio = float(selection.get("targetRatio") or 0)
        return f"SELECT * EXCLUDE (__draw) FROM (SELECT *, ({draw} % 1000000) / 1000000.0 AS __draw FROM ({base}) AS b) AS r WHERE __draw < {ratio}"
    raise Unsupported(f"The emulator does not sample with the method {method}")


def compile_sampling(recipe: Dict[str, Any], payload_text: str, inputs: List[Input]) -> Compiled:
    return {ref: sampling_select(recipe, payload_text, inputs[0].view) for ref in output_refs(recipe)}


def _aggregates(entry: Dict[str, Any], col: str) -> List[Tuple[str, str]]:
    """(suffix, SQL aggregate) of a grouping-style column entry's flags."""
    out = []
    for flag, suffix, template in GROUPING_AGGREGATES:
        if not entry.get(flag):
            continue
        if flag == "concat":
            sql = template.format(c=col, sep=literal(entry.get("concatSeparator", ",")), distinct="")
        elif flag in ("first", "last"):
            sql = _first_last(entry, col, flag)
        else:
            sql = template.format(c=col)
        out.append((suffix, sql))
    return out


def compile_pivot(
    recipe: Dict[str, Any],
    payload_text: str,
    inputs: List[Input],
    query: Callable[[str], List[Tuple[Any, ...]]],
) -> Compiled:
    """One pivot: a column per (modality, aggregation) named `<modality>_<col>_<agg>` (the count:
    `<modality>_count`), rows grouped by the identifiers; `otherColumns` aggregated per row."""
    payload = _payload_json(payload_text)
    pivots = [p for p in payload.get("pivots") or [] if isinstance(p, dict)]
    if len(pivots) != 1:
        raise Unsupported("The emulator computes pivot recipes with exactly one pivot")
    pivot = pivots[0]
    keys = list(pivot.get("keyColumns") or [])
    if not keys:
        raise Unsupported("The pivot recipe has no key column")
    source = _filtered(inputs[0].view, payload)
    values = [v for v in pivot.get("valueColumns") or [] if isinstance(v, dict) and v.get("column")]
    others = [v for v in payload.get("otherColumns") or [] if isinstance(v, dict) and v.get("column")]
    used = set(keys) | {v["column"] for v in values} | {v["column"] for v in others}
    if payload.get("identifierColumnsSelection") == "ALL_BUT_USED":
        ids = [n for n in inputs[0].names if n not in used]
    else:
        ids = list(payload.get("explicitIdentifiers") or [])
    modality = " || '_' || ".join(f"coalesce(CAST({ident(k)} AS VARCHAR), '')" for k in keys)
    counted = f"SELECT {modality} AS m, count(*) AS n FROM {source} AS k GROUP BY m ORDER BY n DESC, m"
    found = [(str(m), int(n)) for m, n in query(counted)]
    limit = pivot.get("valueLimit", "TOP_N")
    if limit == "TOP_N":
        found = found[: int(pivot.get("topnLimit") or 20)]
    elif limit == "AT_LEAST_N_OCC":
        found = [(m, n) for m, n in found if n >= int(pivot.get("minOccLimit") or 1)]
    elif limit == "EXPLICIT":
        found = [("_".join(str(v) for v in combo), 0) for combo in pivot.get("explicitValues") or []]
    elif limit != "NO_LIMIT":
        raise Unsupported(f"The emulator does not limit pivot values by {limit}")
    exprs = [ident(i) for i in ids]
    for mod, _n in sorted(found):
        cond = f"{modality} = {literal(mod)}"
        for value in values:
            for suffix, sql in _aggregates(value, ident(value["column"])):
                filtered = (
                    sql.replace("FILTER (WHERE ", f"FILTER (WHERE {cond} AND ", 1)
                    if "FILTER (WHERE " in sql
                    else f"{sql} FILTER (WHERE {cond})"
                )
                exprs.append(f"{filtered} AS {ident(mod + '_' + value['column'] + '_' + suffix)}")
        if pivot.get("globalCount"):
            exprs.append(f"count(*) FILTER (WHERE {cond}) AS {ident(mod + '_count')}")
    for other in others:
        for suffix, sql in _aggregates(other, ident(other["column"])):
            exprs.append(f"{sql} AS {ident(other['column'] + '_' + suffix)}")
    group = " GROUP BY " + ", ".join(ident(i) for i in ids) if ids else ""
    select = "SELECT {} FROM {} AS pv{}".format(", ".join(exprs) or "count(*) AS count", source, group)
    return {ref: select for ref in output_refs(recipe)}


COMPILERS.update(distinct=compile_distinct, sampling=compile_sampling)


# ---------------------------------------------------------------- top-n

TOPN_EXTRAS = [
    ("rowNumber", "__rn", "rowNumber"),
    ("rank", "__rank", "rank"),
    ("denseRank", "__drank", "denseRank"),
    ("duplicateCount", "__dups", "duplicateCount"),
]


def compile_topn(recipe: Dict[str, Any], payload_text: str, inputs: List[Input]) -> Compiled:
    """The first `firstRows` and last `lastRows` rows of each group of `keys`, by `orders`."""
    payload = _payload_json(payload_text)
    renames = payload.get("outputColumnNameOverrides") or {}
    keys = [k for k in payload.get("keys") or [] if isinstance(k, str)]
    order = _order_by(payload.get("orders")) or "1"
    part = "PARTITION BY " + ", ".join(ident(k) for k in keys) + " " if keys else ""
    by_value = ", ".join(
        ident(o["column"]) for o in payload.get("orders") or [] if isinstance(o, dict) and o.get("column")
    )
    dup_part = (
        "PARTITION BY " + ", ".join([ident(k) for k in keys] + ([by_value] if by_value else []))
        if keys or by_value
        else ""
    )
    numbered = (
        f"SELECT *, row_number() OVER ({part}ORDER BY {order}) AS __rn, count(*) OVER ({part.strip()}) AS __n, "
        f"rank() OVER ({part}ORDER BY {order}) AS __rank, dense_rank() OVER ({part}ORDER BY {order}) AS __drank, "
        f"count(*) OVER ({dup_part}) AS __dups FROM {_filtered(inputs[0].view, payload)} AS t"
    )
    first, last = int(payload.get("firstRows") or 0), int(payload.get("lastRows") or 0)
    if payload.get("retrievedColumnsSelectionMode") == "EXPLICIT" and payload.get("retrievedColumns"):
        columns = [c for c in payload["retrievedColumns"] if isinstance(c, str)]
    else:
        columns = inputs[0].names + [
            c["name"]
            for c in payload.get("computedColumns") or []
            if isinstance(c, dict) and c.get("name") and c["name"] not in inputs[0].names
        ]
    exprs = [f"{ident(c)} AS {ident(renames.get(c, c))}" for c in columns]
    exprs += [
        f"{src} AS {ident(renames.get(name, name))}" for flag, src, name in TOPN_EXTRAS if payload.get(flag)
    ]
    ordering = ", ".join([ident(k) for k in keys] + ["__rn"])
    select = (
        f"SELECT {', '.join(exprs)} FROM ({numbered}) AS n "
        f"WHERE __rn <= {first} OR __rn > __n - {last} ORDER BY {ordering}"
    )
    return {ref: select for ref in _role_refs(recipe, "outputs")[:1]}


COMPILERS.update(topn=compile_topn)
