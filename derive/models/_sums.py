"""Sums over n samples, as the notes write them (Σ_{i=1..n} x_i), and their concrete checks.

A line written with ``Sum`` over a symbolic n cannot be evaluated by SymPy, so each such line is
verified at a small concrete size instead: ``at_n`` sets n = 3, writes every sum out and turns
the indexed samples x_i into plain symbols x_1, x_2, x_3.
"""

from __future__ import annotations

import sympy as sp

i = sp.Symbol("i", integer=True, positive=True)
n = sp.Symbol("n", integer=True, positive=True)     # samples (statistics)
m = sp.Symbol("m", integer=True, positive=True)     # examples (the course's training set)
CHECK_N = 3


def sample(name: str) -> sp.Indexed:
    """The i-th sample of ``name`` (x_i)."""
    return sp.Indexed(sp.IndexedBase(name), i)


def total(body, upper=n) -> sp.Sum:
    """Σ_{i=1..upper} body (upper is n or m)."""
    return sp.Sum(body, (i, 1, upper))


def times(*factors) -> sp.Expr:
    """A product printed in the given order (n·μ, not μ·n)."""
    return sp.Mul(*factors, evaluate=False)


def at_n(expr, defs: dict | None = None, size: int = CHECK_N):
    """``expr`` at n = m = ``size``: definitions in ``defs`` substituted, sums and products written
    out, derivatives worked out, and x_k (Indexed) replaced by the plain symbol ``x_k``."""
    if isinstance(expr, (tuple, list)):
        return type(expr)(at_n(e, defs, size) for e in expr)
    expr = sp.sympify(expr)
    if isinstance(expr, sp.MatrixBase):
        return expr.applyfunc(lambda e: at_n(e, defs, size))
    for _ in range(8):
        new = expr.xreplace(defs or {})
        if new == expr:
            break
        expr = new
    # written out term by term: Sum.doit would first try (slowly) to find a closed form
    expr = expr.xreplace({n: sp.Integer(size), m: sp.Integer(size)}).replace(
        lambda e: isinstance(e, (sp.Sum, sp.Product)),
        lambda e: _written_out(e),
    )
    expr = expr.replace(
        lambda e: isinstance(e, sp.Indexed),
        lambda e: sp.Symbol(f"{e.base.label}_{e.indices[0]}"),
    )
    if expr.has(sp.Derivative):
        expr = expr.replace(lambda e: isinstance(e, sp.Derivative), lambda e: e.doit())
    return expr


def _written_out(e):
    (k, lo, hi), = e.limits
    terms = [e.function.xreplace({k: sp.Integer(j)}) for j in range(int(lo), int(hi) + 1)]
    return sp.Add(*terms) if isinstance(e, sp.Sum) else sp.Mul(*terms)


def samples(name: str, size: int = CHECK_N) -> list:
    """The plain symbols x_1 … x_size that ``at_n`` writes for the samples of ``name``."""
    return [sp.Symbol(f"{name}_{k}") for k in range(1, size + 1)]
