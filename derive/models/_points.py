"""Seeded random points at which deep's and rnn's matrix lines are checked entry by entry."""

from __future__ import annotations

import random

import sympy as sp

from ..verify import Deferred


class _Points:
    """Seeded random points of an explicit network's symbols: a matrix line is checked by
    evaluating both sides there, the gradient side being ``sympy.diff`` of the explicit J."""

    def __init__(self, symbols, count: int = 2, seed: int = 0):
        rng = random.Random(seed)
        self.points = [{s: rng.uniform(-1, 1) for s in symbols} for _ in range(count)]
        self._content = ("points", sp.Tuple(*symbols), count, seed)

    def claim(self, J, M, value, given: dict | None = None) -> Deferred:
        """The check pair (``grad(J, M, given)``, ``value(value)``), worked out only when the
        proof cache does not already hold it."""
        return Deferred((*self._content, "grad", J, M, given, value),
                        lambda: (self.grad(J, M, given), self.value(value)))

    def same(self, A, B) -> Deferred:
        """The check pair (``value(A)``, ``value(B)``), deferred like ``claim``."""
        return Deferred((*self._content, "same", A, B), lambda: (self.value(A), self.value(B)))

    def value(self, M) -> sp.Matrix:
        """``M`` at each point, the blocks stacked."""
        from ..matrix.lines import evaluate

        return sp.Matrix.vstack(*(M.applyfunc(lambda t: sp.Float(evaluate(t, p))) for p in self.points))

    def grad(self, J, M, given: dict | None = None) -> sp.Matrix:
        """∂J/∂M (by ``sympy.diff``) at each point, the blocks stacked. ``given`` maps symbols
        that J holds fixed (A[1]_11 while differentiating by W[2]) to their values' expressions."""
        G = M.applyfunc(lambda v: sp.diff(J, v))
        if given:
            G = G.xreplace(given)
        return self.value(G)
