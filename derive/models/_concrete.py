"""Expressions at small concrete sizes: how a line written with Σ over a symbolic size is verified.

SymPy cannot decide an identity in Σ_{i=1..n} for a symbolic n (and ``Sum.doit`` is slow trying),
so such a line is checked on a concrete instance instead: the sizes set to small numbers
(n = 3 samples; H = 2 pieces and J = 2 features …), every Σ and Π written out term by term,
every indexed name x_i, w_ij turned into a plain symbol x_1, w_1_2, δ_ik into 1 or 0, and the
derivation's definitions substituted. ``Instance`` is that evaluator; ``at_n`` is the instance
n = m = 3 used by the statistics models.
"""

from __future__ import annotations

import itertools

import sympy as sp
from sympy import Derivative, Indexed, Product, Sum, Symbol

from ..functions import hard_sigmoid, relu
from ..verify import Deferred, expand_defs
from ._notation import DELTA, m, n

CHECK_N = 3         # the size n = m at which lines written with sums over samples are checked


class Instance:
    """Expressions at concrete sizes, with plain symbols for their indexed names.

    ``Σ_{i=1..H}`` (and a Π) is written out term by term, ``w[i, j]`` at i = 1, j = 2 becomes the
    symbol ``w_1_2`` and ``δ_ik`` becomes 1 or 0, so that no KroneckerDelta object is ever built.

    Parameters
    ----------
    sizes : dict
        The size symbols and their small values, e.g. ``{H: 2, J: 2}``.
    point : dict, optional
        Values of the free indices, e.g. ``{k: 2, l: 1}``.
    defs : dict, optional
        The derivation's definitions (``d.defs``), which ``expanded`` and ``pair`` substitute.
    fresh : bool
        Make the plain symbols real, hence distinct from the model's registered ones: an identity
        in free values of A_1_1, e_2 … is then checked without expanding them.
    """

    def __init__(self, sizes: dict, point: dict | None = None, *, defs: dict | None = None,
                 fresh: bool = False):
        self.env = {s: int(v) for s, v in {**(point or {}), **sizes}.items()}
        self.defs = defs
        self.assumptions = {"real": True} if fresh else {}
        self._full: dict = {}
        self._seen: dict = {}
        self._reached: dict = {}

    def __call__(self, expr, point: dict | None = None):
        env = {**self.env, **{s: int(v) for s, v in (point or {}).items()}}
        return self._walk(sp.sympify(expr), env)

    def _int(self, e, env) -> int:
        return int(e.xreplace({s: sp.Integer(v) for s, v in env.items()}))

    def _walk(self, e, env):
        if isinstance(e, (Sum, Product)):
            (var, lo, hi), *rest = e.limits
            if rest:
                raise ValueError("one index per Σ")
            terms = (self._walk(e.function, {**env, var: v})
                     for v in range(self._int(lo, env), self._int(hi, env) + 1))
            return sp.Add(*terms) if isinstance(e, Sum) else sp.Mul(*terms)
        if isinstance(e, Indexed):
            idx = tuple(self._int(i, env) for i in e.indices)
            if e.base == DELTA:
                return sp.Integer(idx[0] == idx[1])
            return Symbol(f"{e.base.label.name}_" + "_".join(map(str, idx)), **self.assumptions)
        if isinstance(e, Symbol):
            return sp.Integer(env[e]) if e in env else e
        if not e.args:
            return e
        args = tuple(self._walk(a, env) for a in e.args)
        return e if args == e.args else e.func(*args)

    def pair(self, lhs, rhs, points=None, multiply_out: bool = False):
        """The ``check=`` pair of a displayed index-form line ``lhs = rhs``: at this instance's
        point, or a column of its values at each of ``points`` (e.g. j = k and j ≠ k).

        Each side has its derivatives taken by ``sympy.diff`` and only the definitions that
        depend on a variable of the line substituted (named functions kept: σ′ = σ(1 − σ)), so
        that two equal sides are small and usually agree term by term, which is cheap to verify;
        a line without derivatives has every definition substituted.
        ``multiply_out`` distributes products over sums on both sides, so that a chain-rule
        product and sympy.diff's sum of terms compare term by term.
        """
        key = (sp.sympify(lhs), sp.sympify(rhs), repr(points), multiply_out)
        if key not in self._seen:
            content = (*key[:2], points, multiply_out, self.env, self.assumptions,
                       *(x for item in (self.defs or {}).items() for x in item))
            self._seen[key] = Deferred(content, lambda: self._pair(lhs, rhs, points, multiply_out))
        return self._seen[key]

    def _pair(self, lhs, rhs, points, multiply_out):
        sides = []
        for point in ([None] if points is None else points):
            a, b = self(lhs, point), self(rhs, point)
            wrt = _variables(a) | _variables(b)
            if wrt:
                sides.append((self._toward(self._diffs(a), wrt), self._toward(self._diffs(b), wrt)))
            else:       # a definition: both sides in the leaves
                sides.append((self.expanded(a), self.expanded(b)))
        if points is None:
            a, b = sides[0]
        else:
            a, b = sp.Matrix([s[0] for s in sides]), sp.Matrix([s[1] for s in sides])
        a, b = (ramps(x) for x in self._settled(a, b))
        if multiply_out:
            a, b = _multiplied_out(a), _multiplied_out(b)
        return a, b

    def _settled(self, a, b):
        """Expand each intermediate that depends on another symbol of the line (a_2 beside
        r_2), then replace the intermediates left, which here are independent quantities (a1_1
        while differentiating by W2_2_1), by free twins: verification then treats them as free
        instead of expanding them again."""
        if not self.defs:
            return a, b
        while True:
            present = a.free_symbols | b.free_symbols
            grow = {s: self.defs[s] for s in present if s in self.defs and self._reach(s) & (present - {s})}
            if not grow:
                break
            a, b = a.xreplace(grow), b.xreplace(grow)
        held = {s: Symbol(s.name, real=True) for s in a.free_symbols | b.free_symbols if s in self.defs}
        return a.xreplace(held), b.xreplace(held)

    def expanded(self, expr, point: dict | None = None):
        """``expr`` at this instance with every derivative taken by ``sympy.diff`` and every
        registered definition substituted (named functions kept)."""
        e = self._diffs(self(expr, point))
        if not self.defs:
            return e
        return e.xreplace({s: self._full_def(s) for s in e.free_symbols if s in self.defs})

    def _diffs(self, e):
        if not e.has(Derivative):
            return e
        return e.replace(lambda t: isinstance(t, Derivative), self._diff)

    def _diff(self, t: Derivative):
        (v, _), = t.variable_count
        return sp.diff(self._toward(t.expr, {v}, exclude=v), v)

    def _toward(self, e, wrt, exclude=None):
        """Substitute the definitions that reach a symbol of ``wrt`` (w_2_1 → r_2 → a_2 …),
        leaving the others as symbols."""
        if not self.defs:
            return e
        while True:
            subs = {s: self.defs[s] for s in e.free_symbols
                    if s in self.defs and s != exclude and self._reach(s) & wrt}
            if not subs:
                return e
            e = e.xreplace(subs)

    def _reach(self, s) -> set:
        """Every symbol that the definition of ``s`` depends on, directly or not."""
        if s not in self._reached:
            found = set(self.defs[s].free_symbols)
            for t in list(found):
                if t in self.defs and t != s:
                    found |= self._reach(t)
            self._reached[s] = found
        return self._reached[s]

    def _full_def(self, s):
        if s not in self._full:
            self._full[s] = expand_defs(self.defs[s], self.defs)
        return self._full[s]

    def matrix_of(self, expr, ranges) -> sp.Matrix:
        """``expr`` at every value of its free indices ``ranges`` = ((k, 2), (l, 2)): a column
        for one index, a matrix for two."""
        names = [s for s, _ in ranges]
        cells = [self(expr, dict(zip(names, v)))
                 for v in itertools.product(*(range(1, size + 1) for _, size in ranges))]
        return sp.Matrix(ranges[0][1], len(cells) // ranges[0][1], cells)

    def matrix(self, base, rows: int, cols: int = 1) -> sp.Matrix:
        """The concrete matrix of entries ``base[p, q]`` (a column when ``cols`` is 1)."""
        if cols == 1:
            return sp.Matrix(rows, 1, lambda p, _: self(base[p + 1]))
        return sp.Matrix(rows, cols, lambda p, q: self(base[p + 1, q + 1]))


def ramps(e):
    """ReLU(z) written z·[z > 0] (and a hard sigmoid as two of them): exact for every real z, and
    much cheaper to verify than the Max(0, z) that verification would otherwise build."""
    if not e.has(relu, hard_sigmoid):
        return e
    e = e.replace(lambda t: isinstance(t, hard_sigmoid), lambda t: t.as_relus())
    return e.replace(lambda t: isinstance(t, relu), lambda t: t.args[0] * sp.Heaviside(t.args[0], 0))


def _variables(e) -> set:
    return {v for t in e.atoms(Derivative) for v in t.variables}


def _multiplied_out(e):
    if isinstance(e, sp.MatrixBase):
        return e.applyfunc(sp.expand_mul)
    return sp.expand_mul(e)


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
    expr = Instance({n: size, m: size})(expr)
    if expr.has(Derivative):
        expr = expr.replace(lambda e: isinstance(e, Derivative), lambda e: e.doit())
    return expr


def at_n_pair(lhs, rhs, defs: dict | None = None, size: int = CHECK_N) -> Deferred:
    """The check pair (``at_n(lhs)``, ``at_n(rhs)``), worked out only when the proof cache does
    not already hold the claim."""
    content = ("at_n", lhs, rhs, size, *(x for item in (defs or {}).items() for x in item))
    return Deferred(content, lambda: (at_n(lhs, defs, size), at_n(rhs, defs, size)))


def samples(name: str, size: int = CHECK_N) -> list:
    """The plain symbols x_1 … x_size that ``at_n`` writes for the samples of ``name``."""
    return [sp.Symbol(f"{name}_{k}") for k in range(1, size + 1)]
