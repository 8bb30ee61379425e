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

from ..errors import DeriveError, said
from ..parse import MAX_NESTING, MAX_NODES, _check_text, _name_problem, _number, _python_syntax_zh, extended
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
            raise said(f"--shape {option}: write NAME=DIMS, e.g. --shape X=m,n",
                       f"--shape {option}：要写成 `NAME=DIMS`，例如 --shape X=m,n")
        problem = _name_problem(name)
        if problem is None and name in CALLS:
            problem = said(f"{name} is a function", f"{name} 是函数")
        if problem:
            raise extended(problem, f"--shape {option}: ", before_zh=f"--shape {option}：")
        if name in shapes:
            raise said(f"--shape: {name} is given twice", f"--shape：{name} 给了两次")
        sizes = [_size(s.strip(), option) for s in dims.split(",")]
        if len(sizes) > 2:
            raise said(f"--shape {option}: at most two dimensions (a matrix)",
                       f"--shape {option}：最多两个维度（矩阵）")
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


# What matrix_syntax names, in Chinese
SYNTAX_ZH = {"@ (the matrix product)": "@（矩阵乘积）", ".T (the transpose)": ".T（转置）"}


def _size(text: str, option: str):
    if text.isdigit() and not text.strip("0"):
        raise said(f"--shape {option}: a size must be a positive number or a name, not {text}",
                   f"--shape {option}：大小必须是正整数或名字，不能是 {text}")
    if _SIZE.match(text):
        if int(text[:8]) > MAX_SIZE or len(text) > 7:
            raise said(f"--shape {option}: size {text[:12]} too large (at most {MAX_SIZE})",
                       f"--shape {option}：大小 {text[:12]} 太大（最多 {MAX_SIZE}）")
        return sp.Integer(int(text))
    problem = _name_problem(text) if text else said("empty size", "大小是空的")
    if problem:
        raise extended(problem, f"--shape {option}: ", before_zh=f"--shape {option}：")
    return sp.Symbol(text, integer=True, positive=True)


def parse_matrix_expression(text: str, shapes: dict) -> t.Node:
    """The expression ``text`` as a shape-checked tree; names in ``shapes`` are matrices or
    vectors, any other name a scalar."""
    _check_text(text, "expression")
    try:
        root = ast.parse(text.strip(), mode="eval")
    except SyntaxError as err:
        message = (err.msg or 'invalid syntax').splitlines()[0]
        column = err.offset or len(text)
        raise said(f"syntax error at column {column}: {message}",
                   f"第 {column} 列有语法错误：{_python_syntax_zh(message)}") from None
    except (ValueError, MemoryError, RecursionError) as err:
        first = str(err).splitlines()[0][:80]
        raise said(f"cannot parse the expression: {first}",
                   f"无法解析表达式：Python 报告“{first}”") from None
    count = sum(isinstance(n, ast.expr) for n in ast.walk(root))
    if count > MAX_NODES:
        raise said(f"expression too large: more than {MAX_NODES} nodes", f"表达式太大：超过 {MAX_NODES} 个节点")
    try:
        return _Builder(shapes).build(root.body, 0)
    except RecursionError:
        raise said("expression too deeply nested", "表达式嵌套太深") from None


def _at(english: str, chinese: str, column: int) -> DeriveError:
    return said(f"{english} (column {column})", f"{chinese}（第 {column} 列）")


class _Builder:
    def __init__(self, shapes: dict):
        self.shapes = shapes

    def needs_shape(self, what: str, node: t.Node) -> None:
        """Refuse a whole-matrix operation on a name given no shape (a scalar by default)."""
        if node.op == "var" and node.data not in self.shapes:
            raise said(f"{what}: {node.data} has no shape; give one, e.g. --shape {node.data}=m,n",
                       f"{what}：{node.data} 没有形状；请给出，例如 --shape {node.data}=m,n")

    def build(self, node: ast.AST, depth: int) -> t.Node:
        if depth > MAX_NESTING:
            raise said(f"expression too deeply nested: more than {MAX_NESTING} levels",
                       f"表达式嵌套太深：超过 {MAX_NESTING} 层")
        sub = lambda n: self.build(n, depth + 1)  # noqa: E731
        where = getattr(node, 'col_offset', 0) + 1
        if isinstance(node, ast.Constant):
            v = node.value
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise _at(f"{v!r} not allowed", f"不允许 {v!r}", where)
            if isinstance(v, float) and not math.isfinite(v):
                raise _at("number too large", "数字太大", where)
            return t.const(_number(repr(v)))
        if isinstance(node, ast.Name):
            name = node.id
            if name in CALLS:
                raise said(f"{name} is a function: call it, e.g. {name}(X)",
                           f"{name} 是函数：要调用它，例如 {name}(X)")
            problem = _name_problem(name)
            if problem:
                raise problem
            return t.var(name, self.shapes.get(name, t.SCALAR))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            a = sub(node.operand)
            return t.neg(a) if isinstance(node.op, ast.USub) else a
        if isinstance(node, ast.BinOp):
            return self.binop(node, sub(node.left), sub(node.right), where)
        if isinstance(node, ast.Attribute):
            if node.attr != "T":
                raise said(f"attribute .{node.attr} not allowed (column {where}); only .T",
                           f"不允许属性 .{node.attr}（第 {where} 列）；只能用 .T")
            a = sub(node.value)
            self.needs_shape(".T", a)
            return t.transpose(a)
        if isinstance(node, ast.Call):
            return self.call(node, sub, where)
        raise _at(f"{type(node).__name__} not allowed", f"不允许 `{type(node).__name__}`", where)

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
                raise _at("**: the exponent must be a number", "**：指数必须是数", where)
            if abs(b.data) > 100:
                raise said(f"**: exponent {b.data} too large (at most 100)",
                           f"**：指数 {b.data} 太大（最多 100）")
            return t.power(a, b.data)
        raise _at(f"operator {type(op).__name__} not supported", f"不支持运算符 `{type(op).__name__}`", where)

    def call(self, node: ast.Call, sub, where: str) -> t.Node:
        if not isinstance(node.func, ast.Name) or node.func.id not in CALLS:
            name = getattr(node.func, "id", "?")
            known = ", ".join(sorted(CALLS))
            raise said(f"unknown function {name!r} (column {where}); known: {known}",
                       f"未知函数 {name!r}（第 {where} 列）；已知：{known}")
        name = node.func.id
        count, keywords = CALLS[name]
        if len(node.args) != count:
            raise said(f"{name} takes {count} argument ({len(node.args)} given)",
                       f"{name} 需要 {count} 个参数（给了 {len(node.args)} 个）")
        axis = None
        for kw in node.keywords:
            if kw.arg not in keywords:
                raise said(f"{name}: unknown keyword {kw.arg!r}", f"{name}：未知的关键字 {kw.arg!r}")
            if not (isinstance(kw.value, ast.Constant) and kw.value.value in (0, 1)
                    and not isinstance(kw.value.value, bool)):
                raise said(f"{name}: axis must be 0 or 1", f"{name}：`axis` 必须是 0 或 1")
            axis = kw.value.value
        if name in ("softmax", "logsumexp") and axis is None:
            raise said(f"{name}: state the axis, e.g. {name}(Z, axis=0)",
                       f"{name}：请指明 `axis`，例如 {name}(Z, axis=0)")
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
