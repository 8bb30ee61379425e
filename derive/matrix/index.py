"""Index form of a matrix expression (Σ over repeated indices), its entrywise derivative, the
Kronecker-delta collapses, and the values of index expressions at concrete sizes.

``entry(node, I, J)`` writes the (I, J) entry of a tree with ``Indexed`` objects and ``Sum``s
over symbolic sizes: X·w becomes Σ_{j=1..n} X_ij·w_j. A tree with no index form (det, inv)
raises ``NoIndexForm``.
"""

from __future__ import annotations

import sympy as sp
from sympy import Indexed, IndexedBase, KroneckerDelta

from ..functions import relu, sigmoid
from . import tree as t

_LETTERS = "ijklpqrstuvabcdegh"


class NoIndexForm(Exception):
    """The tree uses an operation whose entries are not a finite sum (det, inv)."""


class Indices:
    """Fresh index letters, none of them a size or a variable's name."""

    def __init__(self, taken: set):
        self.free = [c for c in _LETTERS if c not in taken]

    def __call__(self) -> sp.Symbol:
        if not self.free:
            raise NoIndexForm("too many indices")
        return sp.Symbol(self.free.pop(0), integer=True, positive=True)


def element(name: str, shape, I, J):
    """The (I, J) entry of the variable ``name``: X_ij, w_i (a vector), x (a scalar)."""
    rows, cols = shape
    keep = [k for k, size in ((I, rows), (J, cols)) if size != 1]
    if not keep:
        return sp.Symbol(name, real=True)
    return Indexed(IndexedBase(name), *keep)


def entry(n: t.Node, I, J, fresh: Indices):
    """The (I, J) entry of ``n`` (I or J is ignored where that dimension is 1)."""
    a = n.args
    op = n.op
    one_i = lambda x: I if x.shape[0] != 1 else 1  # noqa: E731  (broadcasting: a size-1 dimension)
    one_j = lambda x: J if x.shape[1] != 1 else 1  # noqa: E731
    sub = lambda x: entry(x, one_i(x), one_j(x), fresh)  # noqa: E731
    if op == "var":
        return element(n.data, n.shape, I, J)
    if op == "const":
        return n.data
    if op == "add":
        return sp.Add(*(sub(x) for x in a))
    if op == "neg":
        return -sub(a[0])
    if op == "mul":
        return sp.Mul(*(sub(x) for x in a))
    if op == "div":
        return sub(a[0]) / sub(a[1])
    if op == "pow":
        return sub(a[0]) ** n.data
    if op == "fn":
        f = {"log": sp.log, "exp": sp.exp, "tanh": sp.tanh, "sigmoid": sigmoid, "relu": relu,
             "step": lambda z: sp.Heaviside(z, 0)}[n.data]
        return f(sub(a[0]))
    if op == "matmul":
        # Σ over each inner dimension: (A·B·C)_IJ = Σ_k Σ_l A_Ik·B_kl·C_lJ
        idx = [I] + [fresh() if f.shape[1] != 1 else 1 for f in a[:-1]] + [J]
        body = sp.Mul(*(entry(f, idx[p], idx[p + 1], fresh) for p, f in enumerate(a)))
        for p in reversed(range(len(a) - 1)):
            if a[p].shape[1] != 1:
                body = sp.Sum(body, (idx[p + 1], 1, a[p].shape[1]))
        return body
    if op == "T":
        return entry(a[0], J, I, fresh)
    if op == "sum":
        inner = a[0]
        i = fresh() if inner.shape[0] != 1 and n.data != 1 else None
        j = fresh() if inner.shape[1] != 1 and n.data != 0 else None
        body = entry(inner, i if i is not None else I, j if j is not None else J, fresh)
        if j is not None:
            body = sp.Sum(body, (j, 1, inner.shape[1]))
        if i is not None:
            body = sp.Sum(body, (i, 1, inner.shape[0]))
        return body
    if op == "trace":
        i = fresh()
        return sp.Sum(entry(a[0], i, i, fresh), (i, 1, a[0].shape[0]))
    if op == "norm":
        i, j = fresh(), fresh()
        body = entry(a[0], i, j, fresh) ** 2
        if a[0].shape[1] != 1:
            body = sp.Sum(body, (j, 1, a[0].shape[1]))
        return sp.sqrt(sp.Sum(body, (i, 1, a[0].shape[0])) if a[0].shape[0] != 1 else body)
    if op in ("softmax", "logsumexp"):
        k = fresh()
        inner = a[0]
        at = (k, J) if n.data == 0 else (I, k)
        size = inner.shape[n.data]
        total = sp.Sum(sp.exp(entry(inner, *at, fresh)), (k, 1, size))
        if op == "logsumexp":
            return sp.log(total)
        return sp.exp(entry(inner, I, J, fresh)) / total
    if op == "diag":
        if a[0].shape[1] == 1:
            return KroneckerDelta(I, J) * entry(a[0], I, 1, fresh)
        return entry(a[0], I, I, fresh)
    raise NoIndexForm(op)


def collapse(expr):
    """Σ_j f(j)·δ_jk = f(k): every sum whose body holds a Kronecker delta of one of its indices
    with another index is written without it (a sum of terms is split first)."""
    if isinstance(expr, sp.Sum):
        return _collapse_sum(collapse(expr.function), list(expr.limits))
    if isinstance(expr, sp.Basic) and expr.args and not isinstance(expr, (Indexed, KroneckerDelta)):
        return expr.func(*(collapse(a) for a in expr.args))
    return expr


def _collapse_sum(body, limits: list):
    """Σ over ``limits`` (innermost first) of ``body``, each delta of a summed index used up."""
    if not limits or body == 0:
        return body
    if body.is_Add:
        return sp.Add(*(_collapse_sum(term, limits) for term in body.args))
    factors = body.args if body.is_Mul else (body,)
    for n, (j, _, _) in enumerate(limits):
        for d in factors:
            if isinstance(d, KroneckerDelta) and j in d.args and d.args[0] != d.args[1]:
                other = d.args[0] if d.args[1] == j else d.args[1]
                rest = limits[:n] + limits[n + 1:]
                return _collapse_sum(collapse(body.subs(d, 1).subs(j, other)), rest)
    return sp.Sum(body, *limits)


def concrete(expr, sizes: dict, point: dict | None = None):
    """An index expression at concrete sizes (and concrete free indices ``point``): sums written
    out, X[1, 2] as the plain symbol X_1_2 (as ``tree.entries`` names it)."""
    expr = _written_out(expr.xreplace({**sizes, **(point or {})}))
    return expr.replace(lambda e: isinstance(e, Indexed),
                        lambda e: sp.Symbol("_".join([str(e.base.label), *(str(i) for i in e.indices)]), real=True))


def _written_out(expr):
    """Every sum with numeric bounds written term by term (``Sum.doit`` would first look for a
    closed form, slowly when the body holds Kronecker deltas)."""
    if isinstance(expr, sp.Sum):
        body = _written_out(expr.function)
        for j, lo, hi in expr.limits:
            body = sp.Add(*(body.xreplace({j: sp.Integer(v)}) for v in range(int(lo), int(hi) + 1)))
        return body
    if isinstance(expr, sp.Basic) and expr.args and not isinstance(expr, Indexed):
        return expr.func(*(_written_out(a) for a in expr.args))
    return expr
