"""What the user states about a matrix that the engine cannot know: ``derive expr --onehot Y``
says each column of Y is one-hot (a 1 in one row, 0 elsewhere), so its column sums 𝟏ᵀ·Y are
𝟏ᵀ. The gradient is rewritten under the assumption; the checks then use a one-hot Y at the
concrete sizes (``onehot_entries``) and at the random arrays (``numeric.matrix_fd``), where
the written-out function and the rewritten gradient must agree."""

from __future__ import annotations

from functools import reduce

import sympy as sp

from ..errors import DeriveError
from . import tree as t

__all__ = ["check_onehot", "assume_onehot", "onehot_entries"]


def check_onehot(onehot, names: dict, variables) -> tuple:
    """The names in ``onehot``, each a matrix of the expression that is not differentiated."""
    out = tuple(dict.fromkeys(n.strip() for item in onehot for n in str(item).split(",") if n.strip()))
    for name in out:
        if name not in names or names[name] == t.SCALAR:
            raise DeriveError(f"--onehot {name}: {name} is not a matrix of the expression (give it a --shape)")
        if name in variables:
            raise DeriveError(f"--onehot {name}: {name} is differentiated; a one-hot matrix is data")
    return out


def assume_onehot(node: t.Node, onehot) -> t.Node:
    """``node`` with each column sum 𝟏ᵀ·Y of a one-hot Y replaced by 𝟏ᵀ, simplified again."""
    if not onehot:
        return node
    if node.op == "sum" and node.data == 0 and node.args[0].op == "var" and node.args[0].data in onehot:
        return t.ones(node)
    args = tuple(assume_onehot(a, onehot) for a in node.args)
    return node if args == node.args else _rebuild(node, args)


def _rebuild(node: t.Node, args: tuple) -> t.Node:
    """``node``'s operation on new ``args`` through the simplifying constructors."""
    op, data = node.op, node.data
    if op == "add":
        return t.add(*args)
    if op in ("mul", "matmul"):
        return reduce(t.mul if op == "mul" else t.matmul, args)
    if op == "sum":
        return t.total(args[0], data)
    if op in ("pow", "fn"):
        return t.power(args[0], data) if op == "pow" else t.fn(data, args[0])
    if op in ("softmax", "logsumexp"):
        return getattr(t, op)(args[0], data)
    single = {"neg": t.neg, "T": t.transpose, "inv": t.inv, "det": t.det, "trace": t.trace,
              "norm": t.norm, "diag": t.diag, "ones": t.ones, "eye": t.eye}
    if op in single:
        return single[op](args[0])
    if op == "div":
        return t.div(*args)
    raise ValueError(op)


def onehot_entries(rows: int, cols: int) -> sp.Matrix:
    """A one-hot ``rows`` × ``cols`` matrix with every class used when it can be: example j in
    class j mod rows (with rows 3 and cols 2: classes 1 and 2)."""
    return sp.Matrix(rows, cols, lambda i, j: 1 if i == j % rows else 0)
