"""A small, safe evaluator for column expressions in fake-data specs.

Specs come from files users share, so an expression must never run arbitrary Python. We parse it with
``ast`` and walk only a whitelist of node types (arithmetic, comparisons, boolean logic, ``x if c else y``,
``in [..]`` and calls to a fixed table of numpy functions). Every name must be a column already generated.
Evaluation is vectorised: names are numpy arrays of the table's length.
"""
from __future__ import annotations

import ast
import operator
from typing import Callable, Mapping

import numpy as np

from lookalike.errors import LookalikeError

_BINARY = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: lambda a, b: np.power(np.asarray(a, dtype=float), b),
    ast.BitAnd: np.logical_and,
    ast.BitOr: np.logical_or,
}
_COMPARE = {
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
}


def _as_datetime(x):
    return np.asarray(x, dtype="datetime64[ns]")


def _year(x):
    return _as_datetime(x).astype("datetime64[Y]").astype(np.int64) + 1970


def _month(x):
    return _as_datetime(x).astype("datetime64[M]").astype(np.int64) % 12 + 1


def _days(x):
    """Whole days between a date column and 1970-01-01 (for date arithmetic)."""
    return _as_datetime(x).astype("datetime64[D]").astype(np.int64)


def _add_days(x, n):
    return _as_datetime(x) + (np.asarray(np.round(n), dtype=np.int64) * np.timedelta64(1, "D"))


FUNCTIONS: dict[str, Callable] = {
    "abs": np.abs,
    "sqrt": np.sqrt,
    "exp": np.exp,
    "log": np.log,
    "log10": np.log10,
    "log1p": np.log1p,
    "floor": np.floor,
    "ceil": np.ceil,
    "round": np.round,
    "clip": np.clip,
    "where": np.where,
    "minimum": np.minimum,
    "maximum": np.maximum,
    "sin": np.sin,
    "cos": np.cos,
    "year": _year,
    "month": _month,
    "days": _days,
    "add_days": _add_days,
    "concat": lambda *parts: _concat(parts),
    "str": lambda x: np.asarray(x).astype(str).astype(object),
    "int": lambda x: np.asarray(np.floor(x), dtype=np.int64),
}
MAX_EXPRESSION_LENGTH = 2000
# Functions that draw fresh randomness (one value per row) from the table's seeded generator.
RANDOM_FUNCTIONS = ("normal", "uniform", "lognormal", "poisson", "choice")


def _concat(parts):
    out = None
    for p in parts:
        s = np.asarray(p).astype(str).astype(object)
        out = s if out is None else out + s
    return out


def referenced_names(expression: str, where: str = "expression") -> set[str]:
    """Column names an expression reads (used to order column generation)."""
    tree = _parse(expression, where)
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id not in FUNCTIONS
            and n.id not in RANDOM_FUNCTIONS and n.id not in ("True", "False")}


def _parse(expression: str, where: str) -> ast.Expression:
    if not isinstance(expression, str) or not expression.strip():
        raise LookalikeError(f"{where}: expression must be a non-empty string")
    if len(expression) > MAX_EXPRESSION_LENGTH:
        raise LookalikeError(f"{where}: expression is longer than {MAX_EXPRESSION_LENGTH} characters")
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError as exc:
        raise LookalikeError(f"{where}: invalid expression {expression!r} ({exc.msg})") from None
    except (RecursionError, MemoryError, ValueError):
        raise LookalikeError(f"{where}: expression is nested too deeply or malformed") from None
    for node in ast.walk(tree):
        if isinstance(node, (ast.Attribute, ast.Subscript, ast.Lambda, ast.comprehension, ast.Starred,
                             ast.NamedExpr, ast.Dict, ast.Set, ast.JoinedStr, ast.Await)):
            raise LookalikeError(f"{where}: {type(node).__name__.lower()} is not allowed in expressions "
                                 f"({expression!r})")
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or (node.func.id not in FUNCTIONS
                                                       and node.func.id not in RANDOM_FUNCTIONS):
                name = getattr(node.func, "id", ast.unparse(node.func))
                raise LookalikeError(f"{where}: function {name!r} is not allowed; use one of "
                                     f"{', '.join(sorted([*FUNCTIONS, *RANDOM_FUNCTIONS]))}")
            if node.keywords:
                raise LookalikeError(f"{where}: keyword arguments are not allowed ({expression!r})")
    return tree


class ExpressionEvaluator:
    """Evaluate whitelisted expressions over a mapping of column name -> numpy array."""

    def __init__(self, columns: Mapping[str, np.ndarray], n_rows: int, rng: np.random.Generator):
        self.columns = columns
        self.n_rows = n_rows
        self.rng = rng

    def evaluate(self, expression: str, where: str = "expression") -> np.ndarray:
        tree = _parse(expression, where)
        value = self._eval(tree.body, where, expression)
        value = np.asarray(value)
        if value.ndim == 0:
            value = np.full(self.n_rows, value.item())
        return value

    def _eval(self, node, where, text):
        if isinstance(node, ast.Constant):
            # numpy scalars, so that e.g. 'x' * 10**9 or 9**9**9 cannot exhaust memory or time
            if isinstance(node.value, bool):
                return np.bool_(node.value)
            if isinstance(node.value, int):
                return np.int64(node.value) if abs(node.value) < 2**62 else np.float64(node.value)
            if isinstance(node.value, float):
                return np.float64(node.value)
            if isinstance(node.value, str):
                return np.str_(node.value)
            raise LookalikeError(f"{where}: constant {node.value!r} is not allowed")
        if isinstance(node, ast.Name):
            if node.id in ("True", "False"):
                return node.id == "True"
            if node.id not in self.columns:
                raise LookalikeError(f"{where}: unknown column {node.id!r} in {text!r}; "
                                     f"known columns: {', '.join(self.columns) or '(none yet)'}")
            return self.columns[node.id]
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            left, right = self._eval(node.left, where, text), self._eval(node.right, where, text)
            if isinstance(left, str) or isinstance(right, str):
                if not isinstance(node.op, ast.Add):
                    raise LookalikeError(f"{where}: only + (concatenation) works on text in {text!r}")
            return _BINARY[type(node.op)](left, right)
        if isinstance(node, ast.UnaryOp):
            operand = self._eval(node.operand, where, text)
            if isinstance(node.op, ast.USub):
                return -np.asarray(operand)
            if isinstance(node.op, ast.UAdd):
                return operand
            if isinstance(node.op, (ast.Not, ast.Invert)):
                return np.logical_not(operand)
        if isinstance(node, ast.BoolOp):
            values = [np.asarray(self._eval(v, where, text), dtype=bool) for v in node.values]
            combine = np.logical_and if isinstance(node.op, ast.And) else np.logical_or
            out = values[0]
            for v in values[1:]:
                out = combine(out, v)
            return out
        if isinstance(node, ast.Compare):
            left = self._eval(node.left, where, text)
            result = None
            for op, comparator in zip(node.ops, node.comparators):
                if isinstance(op, (ast.In, ast.NotIn)):
                    if not isinstance(comparator, (ast.List, ast.Tuple)):
                        raise LookalikeError(f"{where}: 'in' needs a literal list, e.g. x in ['a', 'b']")
                    options = [self._eval(e, where, text) for e in comparator.elts]
                    part = np.isin(np.asarray(left), options)
                    if isinstance(op, ast.NotIn):
                        part = ~part
                    right = None
                elif type(op) in _COMPARE:
                    right = self._eval(comparator, where, text)
                    part = _COMPARE[type(op)](np.asarray(left), right)
                else:
                    raise LookalikeError(f"{where}: comparison {type(op).__name__} is not allowed")
                result = part if result is None else np.logical_and(result, part)
                left = right
            return result
        if isinstance(node, ast.IfExp):
            cond = np.asarray(self._eval(node.test, where, text), dtype=bool)
            return np.where(cond, self._eval(node.body, where, text), self._eval(node.orelse, where, text))
        if isinstance(node, (ast.List, ast.Tuple)):
            return [self._eval(e, where, text) for e in node.elts]
        if isinstance(node, ast.Call):
            args = [self._eval(a, where, text) for a in node.args]
            name = node.func.id
            try:
                if name in RANDOM_FUNCTIONS:
                    return self._random(name, args)
                return FUNCTIONS[name](*args)
            except LookalikeError:
                raise
            except Exception as exc:
                raise LookalikeError(f"{where}: {name}(...) failed in {text!r}: {exc}") from None
        raise LookalikeError(f"{where}: {type(node).__name__} is not allowed in expressions ({text!r})")

    def _random(self, name, args):
        n = self.n_rows
        if name == "normal":
            return self.rng.normal(*(args or [0.0, 1.0]), size=n)
        if name == "uniform":
            return self.rng.uniform(*(args or [0.0, 1.0]), size=n)
        if name == "lognormal":
            return self.rng.lognormal(*(args or [0.0, 1.0]), size=n)
        if name == "poisson":
            return self.rng.poisson(*args, size=n)
        if name == "choice":
            if len(args) != 1 or not isinstance(args[0], list):
                raise LookalikeError("choice(...) takes one literal list, e.g. choice(['a', 'b'])")
            return np.asarray(args[0], dtype=object)[self.rng.integers(0, len(args[0]), size=n)]
        raise AssertionError(name)
