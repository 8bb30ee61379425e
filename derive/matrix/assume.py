"""What the user states about a matrix that the engine cannot know: ``derive expr --onehot Y``
says Y holds one-hot labels, a 1 in one place of each column (each row when the expression's
softmax runs along axis 1) and 0 elsewhere. Its sums along that axis are then ones (𝟏ᵀ·Y = 𝟏ᵀ,
or Y·𝟏 = 𝟏), and its total is the number of examples (sum(Y) = m). The gradient is rewritten
under the assumption; the checks then use a one-hot Y at the concrete sizes
(``onehot_entries``) and at the random arrays (``numeric.matrix_fd``), where the written-out
function and the rewritten gradient must agree."""

from __future__ import annotations

from functools import reduce

import sympy as sp

from ..errors import said
from . import tree as t

__all__ = ["check_onehot", "onehot_axis", "assume_onehot", "onehot_entries", "onehot_rule", "check_signs",
           "assume_signs", "sign_entries"]


def check_onehot(onehot, names: dict, variables) -> tuple:
    """The names in ``onehot``, each a matrix of the expression that is not differentiated."""
    out = tuple(dict.fromkeys(n.strip() for item in onehot for n in str(item).split(",") if n.strip()))
    for name in out:
        if name not in names or names[name] == t.SCALAR:
            raise said(f"--onehot {name}: {name} is not a matrix of the expression (give it a --shape)",
                       f"--onehot {name}：{name} 不是表达式里的矩阵（请用 --shape 给出形状）")
        if name in variables:
            raise said(f"--onehot {name}: {name} is differentiated; a one-hot matrix is data",
                       f"--onehot {name}：{name} 是求导的变量；one-hot 矩阵是数据")
    return out


def onehot_axis(f: t.Node) -> int:
    """The axis along which the labels are one-hot: that of the expression's softmax or
    log-sum-exp (1: one class per row, as ``softmax(Z, axis=1)`` normalises rows), else 0, one
    class per column as in the notes' Y of k × m. Refused when the expression uses both."""
    axes = set()

    def walk(n):
        if n.op in ("softmax", "logsumexp"):
            axes.add(n.data)
        for a in n.args:
            walk(a)

    walk(f)
    if len(axes) > 1:
        raise said("--onehot: the expression normalises along both axes; one-hot labels "
                   "need one axis (columns with axis=0, rows with axis=1)",
                   "--onehot：表达式沿两个轴都做了归一化；one-hot 标签只能沿一个轴"
                   "（axis=0 按列，axis=1 按行）")
    return axes.pop() if axes else 0


def assume_onehot(node: t.Node, onehot, axis: int = 0) -> t.Node:
    """``node`` with each sum of a multiple of a one-hot Y along ``axis`` replaced by ones and
    each total sum(c·Y) by c times the number of examples, simplified again."""
    if not onehot:
        return node
    args = tuple(assume_onehot(a, onehot, axis) for a in node.args)
    # the operands first: the c of sum(Y/sum(Y), axis=0) holds a total of its own
    node = node if args == node.args else _rebuild(node, args)
    if node.op == "sum" and node.data in (axis, None):
        for name in onehot:
            c = _per_entry(node.args[0], name)
            if c is None:
                continue
            if node.data is None:
                y = t.var(name, t.variables(node.args[0])[name])
                count = y.shape[1 - axis]
                # a single one-hot column sums to the number 1, which the product then drops
                return t.mul(c, t.const(count) if count.is_Number else t.size(y, 1 - axis))
            return t.mul(c, t.ones(node))
    return node


def _per_entry(node: t.Node, name: str):
    """The scalar c when ``node`` is c·Y for the matrix ``name`` (c built of scalars: −1/m, 2),
    else None."""
    if node.op == "var":
        return t.const(1) if node.data == name else None
    if node.op == "neg":
        c = _per_entry(node.args[0], name)
        return None if c is None else t.neg(c)
    if node.op == "div" and node.args[1].is_scalar:
        c = _per_entry(node.args[0], name)
        return None if c is None else t.div(c, node.args[1])
    if node.op == "mul":
        matrices = [a for a in node.args if not a.is_scalar]
        if len(matrices) != 1:
            return None
        c = _per_entry(matrices[0], name)
        return None if c is None else reduce(t.mul, [a for a in node.args if a.is_scalar], c)
    return None


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


def onehot_rule(name: str, shape, axis: int) -> str:
    """The identity the one-hot step uses, as marked words: $𝟏ᵀ·Y = 𝟏ᵀ$, $sum(Y) = m$."""
    along = "𝟏ᵀ·{y} = 𝟏ᵀ" if axis == 0 else "{y}·𝟏 = 𝟏"
    return f"${along.format(y=name)}$, $sum({name}) = {shape[1 - axis]}$"


def onehot_entries(rows: int, cols: int, axis: int = 0) -> sp.Matrix:
    """A one-hot ``rows`` × ``cols`` matrix with every class used when it can be: along axis 0,
    example j in class j mod rows (with rows 3 and cols 2: classes 1 and 2); along axis 1 the
    transpose of that pattern."""
    if axis == 1:
        return onehot_entries(cols, rows).T
    return sp.Matrix(rows, cols, lambda i, j: 1 if i == j % rows else 0)


def check_signs(signs, names: dict, variables) -> tuple:
    """The names in ``signs`` (``derive expr --signs y``: every entry is −1 or 1, the labels of
    the ±1 logistic loss), each data of the expression, not differentiated."""
    out = tuple(dict.fromkeys(n.strip() for item in signs for n in str(item).split(",") if n.strip()))
    for name in out:
        if name not in names:
            raise said(f"--signs {name}: {name} is not in the expression",
                       f"--signs {name}：表达式里没有 {name}")
        if name in variables:
            raise said(f"--signs {name}: {name} is differentiated; ±1 labels are data",
                       f"--signs {name}：{name} 是求导的变量；±1 标签是数据")
    return out


def assume_signs(node: t.Node, signs) -> t.Node:
    """``node`` with each even power of a ±1 matrix (y^⊙2 = y ⊙ y) replaced by 1, simplified."""
    if not signs:
        return node
    args = tuple(assume_signs(a, signs) for a in node.args)
    node = node if args == node.args else _rebuild(node, args)
    if (node.op == "pow" and node.args[0].op == "var" and node.args[0].data in signs
            and node.data.is_Integer and node.data % 2 == 0):
        return t.const(1)
    return node


def sign_entries(entries) -> dict:
    """Concrete ±1 values for the entries of a matrix (1, −1, 1, …: both signs are tried)."""
    return {e: sp.Integer(1 if k % 2 == 0 else -1) for k, e in enumerate(entries)}
