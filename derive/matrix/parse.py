"""Safe parsing of matrix expressions (``X.T @ (X @ w - y)``) and of ``--shape`` options.

Like ``derive.parse`` for scalars, nothing is evaluated: ``ast.parse`` gives a syntax tree, an
allow-list walker builds a ``tree.Node`` for each node, and the same bounds apply (length,
bracket depth, node count, nesting, size of numbers). Shapes are checked as the tree is built,
so a mismatch names the operator and both shapes.
"""

from __future__ import annotations

import ast
import math
import re

import sympy as sp

from ..errors import DeriveError
from ..parse import MAX_NESTING, MAX_NODES, _check_text, _name_problem, _number
from . import tree as t

# callable name → (number of positional arguments, keyword arguments allowed)
CALLS = {
    "transpose": (1, ()), "sum": (1, ("axis",)), "trace": (1, ()), "det": (1, ()),
    "inv": (1, ()), "log": (1, ()), "exp": (1, ()), "sigmoid": (1, ()), "tanh": (1, ()),
    "relu": (1, ()), "norm": (1, ()), "softmax": (1, ("axis",)), "logsumexp": (1, ("axis",)),
    "diag": (1, ()), "step": (1, ()),
}
# operations on whole matrices: an operand that is a name needs a --shape
_NEEDS_SHAPE = {"@", "trace", "det", "inv", "softmax", "logsumexp", "diag", ".T", "transpose"}
# the calls that only a matrix expression makes (log, exp, … are scalar functions too)
_MATRIX_CALLS = set(CALLS) - {"log", "exp", "sigmoid", "tanh", "relu", "step"}
MAX_SIZE = 10**6
_SIZE = re.compile(r"[1-9][0-9]*\Z")


def parse_shapes(options) -> dict:
    """``["X=m,n", "w=n"]`` → {"X": (m, n), "w": (n, 1)}: sizes are positive integers or names."""
    shapes: dict = {}
    for option in options or ():
        name, eq, dims = str(option).partition("=")
        name = name.strip()
        if not eq or not dims.strip():
            raise DeriveError(f"--shape {option}: write NAME=DIMS, e.g. --shape X=m,n")
        problem = _name_problem(name)
        if problem or name in CALLS:
            raise DeriveError(f"--shape {option}: {problem or f'{name} is a function'}")
        if name in shapes:
            raise DeriveError(f"--shape: {name} is given twice")
        sizes = [_size(s.strip(), option) for s in dims.split(",")]
        if len(sizes) > 2:
            raise DeriveError(f"--shape {option}: at most two dimensions (a matrix)")
        shapes[name] = tuple(sizes) if len(sizes) == 2 else (sizes[0], sp.Integer(1))
    return shapes


def matrix_syntax(text: str) -> str | None:
    """What in ``text`` only a matrix expression has (``@``, ``.T``, ``trace(…)``, …), or None:
    typed without ``--shape``, such an expression is named so, instead of meeting the scalar
    parser's words for an unknown function or operator. Only parsed, never run."""
    try:
        root = ast.parse(str(text).strip(), mode="eval")
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return None
    for node in ast.walk(root):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult):
            return "@ (the matrix product)"
        if isinstance(node, ast.Attribute) and node.attr == "T":
            return ".T (the transpose)"
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _MATRIX_CALLS):
            return f"{node.func.id}(…)"
    return None


def _size(text: str, option: str):
    if text.isdigit() and not text.strip("0"):
        raise DeriveError(f"--shape {option}: a size must be a positive number or a name, not {text}")
    if _SIZE.match(text):
        if int(text[:8]) > MAX_SIZE or len(text) > 7:
            raise DeriveError(f"--shape {option}: size {text[:12]} too large (at most {MAX_SIZE})")
        return sp.Integer(int(text))
    problem = _name_problem(text) if text else "empty size"
    if problem:
        raise DeriveError(f"--shape {option}: {problem}")
    return sp.Symbol(text, integer=True, positive=True)


def parse_matrix_expression(text: str, shapes: dict) -> t.Node:
    """The expression ``text`` as a shape-checked tree; names in ``shapes`` are matrices or
    vectors, any other name a scalar."""
    _check_text(text, "expression")
    try:
        root = ast.parse(text.strip(), mode="eval")
    except SyntaxError as err:
        raise DeriveError(f"syntax error at column {err.offset or len(text)}: "
                          f"{(err.msg or 'invalid syntax').splitlines()[0]}") from None
    except (ValueError, MemoryError, RecursionError) as err:
        raise DeriveError(f"cannot parse the expression: {str(err).splitlines()[0][:80]}") from None
    count = sum(isinstance(n, ast.expr) for n in ast.walk(root))
    if count > MAX_NODES:
        raise DeriveError(f"expression too large: more than {MAX_NODES} nodes")
    try:
        return _Builder(shapes).build(root.body, 0)
    except RecursionError:
        raise DeriveError("expression too deeply nested") from None


class _Builder:
    def __init__(self, shapes: dict):
        self.shapes = shapes

    def needs_shape(self, what: str, node: t.Node) -> None:
        """Refuse a whole-matrix operation on a name given no shape (a scalar by default)."""
        if node.op == "var" and node.data not in self.shapes:
            raise DeriveError(f"{what}: {node.data} has no shape; give one, e.g. --shape {node.data}=m,n")

    def build(self, node: ast.AST, depth: int) -> t.Node:
        if depth > MAX_NESTING:
            raise DeriveError(f"expression too deeply nested: more than {MAX_NESTING} levels")
        sub = lambda n: self.build(n, depth + 1)  # noqa: E731
        where = f"column {getattr(node, 'col_offset', 0) + 1}"
        if isinstance(node, ast.Constant):
            v = node.value
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise DeriveError(f"{v!r} not allowed ({where})")
            if isinstance(v, float) and not math.isfinite(v):
                raise DeriveError(f"number too large ({where})")
            return t.const(_number(repr(v)))
        if isinstance(node, ast.Name):
            name = node.id
            if name in CALLS:
                raise DeriveError(f"{name} is a function: call it, e.g. {name}(X)")
            problem = _name_problem(name)
            if problem:
                raise DeriveError(problem)
            return t.var(name, self.shapes.get(name, t.SCALAR))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            a = sub(node.operand)
            return t.neg(a) if isinstance(node.op, ast.USub) else a
        if isinstance(node, ast.BinOp):
            return self.binop(node, sub(node.left), sub(node.right), where)
        if isinstance(node, ast.Attribute):
            if node.attr != "T":
                raise DeriveError(f"attribute .{node.attr} not allowed ({where}); only .T")
            a = sub(node.value)
            self.needs_shape(".T", a)
            return t.transpose(a)
        if isinstance(node, ast.Call):
            return self.call(node, sub, where)
        raise DeriveError(f"{type(node).__name__} not allowed ({where})")

    def binop(self, node: ast.BinOp, a: t.Node, b: t.Node, where: str) -> t.Node:
        op = node.op
        if isinstance(op, ast.MatMult):
            self.needs_shape("@", a)
            self.needs_shape("@", b)
            return t.matmul(a, b)
        if isinstance(op, ast.Add):
            t.broadcast("+", a, b)
            return t.add(a, b)
        if isinstance(op, ast.Sub):
            t.broadcast("-", a, b)
            return t.sub(a, b)
        if isinstance(op, ast.Mult):
            return t.mul(a, b)
        if isinstance(op, ast.Div):
            return t.div(a, b)
        if isinstance(op, (ast.Pow, ast.BitXor)):
            if not t.is_const(b):
                raise DeriveError(f"**: the exponent must be a number ({where})")
            if abs(b.data) > 100:
                raise DeriveError(f"**: exponent {b.data} too large (at most 100)")
            return t.power(a, b.data)
        raise DeriveError(f"operator {type(op).__name__} not supported ({where})")

    def call(self, node: ast.Call, sub, where: str) -> t.Node:
        if not isinstance(node.func, ast.Name) or node.func.id not in CALLS:
            name = getattr(node.func, "id", "?")
            raise DeriveError(f"unknown function {name!r} ({where}); known: {', '.join(sorted(CALLS))}")
        name = node.func.id
        count, keywords = CALLS[name]
        if len(node.args) != count:
            raise DeriveError(f"{name} takes {count} argument ({len(node.args)} given)")
        axis = None
        for kw in node.keywords:
            if kw.arg not in keywords:
                raise DeriveError(f"{name}: unknown keyword {kw.arg!r}")
            if not (isinstance(kw.value, ast.Constant) and kw.value.value in (0, 1)
                    and not isinstance(kw.value.value, bool)):
                raise DeriveError(f"{name}: axis must be 0 or 1")
            axis = kw.value.value
        if name in ("softmax", "logsumexp") and axis is None:
            raise DeriveError(f"{name}: state the axis, e.g. {name}(Z, axis=0)")
        a = sub(node.args[0])
        if name in _NEEDS_SHAPE:
            self.needs_shape(name, a)
        build = {
            "transpose": t.transpose, "trace": t.trace, "det": t.det, "inv": t.inv,
            "norm": t.norm, "diag": t.diag,
            "sum": lambda x: t.total(x, axis),
            "softmax": lambda x: t.softmax(x, axis), "logsumexp": lambda x: t.logsumexp(x, axis),
        }.get(name)
        return build(a) if build else t.fn(name, a)
