"""Plain `assert` in Python test files, made to explain itself (pytest's assertion rewriting,
much simplified).

When a test file is imported, each `assert TEST[, MSG]` becomes: evaluate the operands once into
hidden variables, and if the test is false, raise AssertionError with an explanation: the
statement's source, the values of both sides of a comparison (`assert len(rows) == 3` says
`left: 2, right: 3`), and for two lists of rows (dicts) the same expected-vs-actual diff the YAML
tests print (the right side read as the expected rows). Only the outermost comparison is taken
apart (one evaluation of each operand, in Python's order; `a < b < c` and boolean operators stay
whole), so an assert does exactly what it did before, only its message says more. The message
given after the comma comes first, as Python shows it.
"""

from __future__ import annotations

import ast
import reprlib
from typing import Any, Optional

from .compare import compare_rows

HELPER_NAME = "@dataiku_iac_explain"  # this module, in the test module's globals ('@': no clash with a user name)
_REPR = reprlib.Repr()
_REPR.maxstring = 200
_REPR.maxother = 200
_REPR.maxlist = _REPR.maxdict = _REPR.maxset = 12
_OPS = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=",
        ast.In: "in", ast.NotIn: "not in", ast.Is: "is", ast.IsNot: "is not"}


def rewrite_asserts(tree: ast.Module, source: str) -> ast.Module:
    """`tree` with every assert statement explaining itself (line numbers kept)."""
    return ast.fix_missing_locations(_Rewriter(source).visit(tree))


class _Rewriter(ast.NodeTransformer):
    def __init__(self, source: str):
        self.source = source
        self.count = 0

    def _temp(self) -> str:
        self.count += 1
        return f"@dataiku_iac_{self.count}"

    def visit_Assert(self, node: ast.Assert) -> Any:
        text = ast.get_source_segment(self.source, node.test) or ast.unparse(node.test)
        message: ast.expr = node.msg if node.msg is not None else ast.Constant(None)
        helper = ast.Name(HELPER_NAME, ast.Load())
        test = node.test
        if isinstance(test, ast.Compare) and len(test.ops) == 1 and type(test.ops[0]) in _OPS:
            left, right = self._temp(), self._temp()
            statements: list[ast.stmt] = [
                ast.Assign([ast.Name(left, ast.Store())], test.left),
                ast.Assign([ast.Name(right, ast.Store())], test.comparators[0]),
            ]
            condition: ast.expr = ast.Compare(ast.Name(left, ast.Load()), test.ops, [ast.Name(right, ast.Load())])
            explanation = ast.Call(ast.Attribute(helper, "comparison", ast.Load()), [
                ast.Constant(text), ast.Name(left, ast.Load()), ast.Constant(_OPS[type(test.ops[0])]),
                ast.Name(right, ast.Load()), message], [])
        else:
            value = self._temp()
            statements = [ast.Assign([ast.Name(value, ast.Store())], test)]
            condition = ast.Name(value, ast.Load())
            explanation = ast.Call(ast.Attribute(helper, "value", ast.Load()),
                                   [ast.Constant(text), ast.Name(value, ast.Load()), message], [])
        fail = ast.Raise(ast.Call(ast.Name("AssertionError", ast.Load()), [explanation], []), None)
        statements.append(ast.If(ast.UnaryOp(ast.Not(), condition), [fail], []))
        for statement in statements:
            ast.copy_location(statement, node)
        return statements


def _shown(value: Any) -> str:
    return _REPR.repr(value)


def _head(text: str, message: Any) -> list[str]:
    lines = [str(message)] if message is not None else []
    return lines + [f"assert {text}"]


def comparison(text: str, left: Any, op: str, right: Any, message: Any = None) -> str:
    """Why `left OP right` is false: both values, and how they differ when that can be said."""
    shown_left, shown_right = _shown(left), _shown(right)
    lines = _head(text, message)
    if len(shown_left) + len(shown_right) <= 80:
        lines[-1] += f"  ({shown_left} {op} {shown_right} is false)"
    else:
        lines += [f"  left:  {shown_left}", f"  right: {shown_right}"]
    detail = _difference(left, right) if op == "==" else None
    if detail:
        lines.append(detail)
    return "\n".join(lines)


def value(text: str, found: Any, message: Any = None) -> str:
    lines = _head(text, message)
    if not isinstance(found, bool) or text.strip() not in ("False", "True"):
        lines.append(f"  where {text} = {_shown(found)}")
    return "\n".join(lines)


def _is_rows(value: Any) -> bool:
    return isinstance(value, (list, tuple)) and all(isinstance(r, dict) for r in value)


def _difference(left: Any, right: Any) -> Optional[str]:
    if _is_rows(left) and _is_rows(right) and (left or right):
        diff = compare_rows(list(right), list(left), ordered=False)
        if diff.equal:
            diff = compare_rows(list(right), list(left), ordered=True)
            return "the same rows in another order (== on lists compares the order; assert_rows_equal does not):\n" + \
                diff.render("rows (right side expected)")
        return diff.render("rows (right side expected)")
    if isinstance(left, (set, frozenset)) and isinstance(right, (set, frozenset)):
        return "\n".join(filter(None, [
            f"  only on the left:  {_shown(sorted(left - right, key=repr))}" if left - right else "",
            f"  only on the right: {_shown(sorted(right - left, key=repr))}" if right - left else "",
        ]))
    if isinstance(left, dict) and isinstance(right, dict):
        keys = sorted({*left, *right}, key=repr)
        lines = [f"  [{k!r}]: {_shown(left.get(k, '<missing>'))} != {_shown(right.get(k, '<missing>'))}"
                 for k in keys if k not in left or k not in right or left[k] != right[k]]
        return "differing keys:\n" + "\n".join(lines[:20]) if lines else None
    if isinstance(left, (list, tuple)) and isinstance(right, (list, tuple)):
        if len(left) != len(right):
            return f"  lengths differ: {len(left)} != {len(right)}"
        index = next((i for i, (a, b) in enumerate(zip(left, right)) if a != b), None)
        return f"  first difference at index {index}: {_shown(left[index])} != {_shown(right[index])}" if index is not None else None
    return None
