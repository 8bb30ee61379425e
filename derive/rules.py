"""Differentiation rules as data: each rule is a node of the tree that explains d/dx of ``expr``.

A rule's docstring is the rewrite it performs. ``eval()`` recomputes the derivative from the
tree; ``expand()`` writes one step of it, leaving the children's derivatives unevaluated, which is
how a derivation is shown line by line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import sympy as sp
from sympy import Derivative, Expr, Symbol

from . import functions as F


def D(expr, x) -> Expr:
    """The unevaluated derivative d/dx[expr], an atom of a line still to be worked out."""
    return Derivative(expr, x, evaluate=False)


@dataclass(frozen=True)
class Rule:
    expr: Expr
    var: Symbol
    key: ClassVar[str] = "rule"

    def children(self) -> tuple["Rule", ...]:
        return ()

    def eval(self) -> Expr:
        raise NotImplementedError

    def expand(self) -> Expr:
        """d/dx[expr] one rule deep: children's derivatives stay as ``D(child.expr, x)``."""
        return self.eval()

    def msg_args(self) -> dict:
        return {}


@dataclass(frozen=True)
class ConstantRule(Rule):
    """d/dx c = 0"""

    key: ClassVar[str] = "constant"

    def eval(self):
        return sp.S.Zero

    def msg_args(self):
        return {"c": self.expr}


@dataclass(frozen=True)
class IdentityRule(Rule):
    """d/dx x = 1"""

    key: ClassVar[str] = "identity"

    def eval(self):
        return sp.S.One


@dataclass(frozen=True)
class SumRule(Rule):
    """d/dx (f + g) = df/dx + dg/dx"""

    terms: tuple[Rule, ...] = ()
    key: ClassVar[str] = "sum"

    def children(self):
        return self.terms

    def eval(self):
        return sp.Add(*(t.eval() for t in self.terms))

    def expand(self):
        return sp.Add(*(D(t.expr, self.var) for t in self.terms))


@dataclass(frozen=True)
class ConstantMultipleRule(Rule):
    """d/dx (c·f) = c·df/dx"""

    constant: Expr = sp.S.One
    inner: Rule = None
    key: ClassVar[str] = "constant_multiple"

    def children(self):
        return (self.inner,)

    def eval(self):
        return self.constant * self.inner.eval()

    def expand(self):
        return self.constant * D(self.inner.expr, self.var)

    def msg_args(self):
        return {"c": self.constant}


@dataclass(frozen=True)
class PowerRule(Rule):
    """d/dx xⁿ = n·xⁿ⁻¹"""

    exponent: Expr = sp.S.One
    key: ClassVar[str] = "power"

    def eval(self):
        return self.exponent * self.var ** (self.exponent - 1)

    def msg_args(self):
        return {"n": self.exponent}


@dataclass(frozen=True)
class ProductRule(Rule):
    """d/dx (f·g) = df/dx·g + f·dg/dx"""

    factors: tuple[Rule, ...] = ()
    key: ClassVar[str] = "product"

    def children(self):
        return self.factors

    def _combine(self, derivs):
        exprs = [f.expr for f in self.factors]
        return sp.Add(
            *(
                sp.Mul(*(exprs[:i] + [derivs[i]] + exprs[i + 1:]))
                for i in range(len(exprs))
            )
        )

    def eval(self):
        return self._combine([f.eval() for f in self.factors])

    def expand(self):
        return self._combine([D(f.expr, self.var) for f in self.factors])


@dataclass(frozen=True)
class QuotientRule(Rule):
    """d/dx (f/g) = (df/dx·g − f·dg/dx)/g²"""

    numerator: Rule = None
    denominator: Rule = None
    key: ClassVar[str] = "quotient"

    def children(self):
        return (self.numerator, self.denominator)

    def _combine(self, df, dg):
        f, g = self.numerator.expr, self.denominator.expr
        return (df * g - f * dg) / g**2

    def eval(self):
        return self._combine(self.numerator.eval(), self.denominator.eval())

    def expand(self):
        return self._combine(D(self.numerator.expr, self.var), D(self.denominator.expr, self.var))


# Functions whose derivative the notes name (the others are "the derivative of an elementary
# function"): d/dx eˣ = eˣ, d/dx log x = 1/x, σ′ = σ(1 − σ), tanh′ = 1 − tanh², and
# ReLU′ = [z > 0] (0 at the kink, by convention), LeakyReLU′ = α + (1 − α)·[z > 0].
NAMED_DERIVATIVES = {sp.exp: "exp", sp.log: "log", F.sigmoid: "sigmoid", sp.tanh: "tanh", F.relu: "relu",
                     F.leaky_relu: "leaky_relu"}

# The textbook families (OpenStax Calculus 1 §3.5–3.9, APEX 2.3–2.7): each function's rule key
# and its derivative in the form the tables print it (sec² u, not 1 + tan² u; 1/(|u|·√(u² − 1))
# for arcsec, not SymPy's 1/(u²·√(1 − 1/u²))).
TEXTBOOK_DERIVATIVES = {
    sp.sin: ("trig", lambda u: sp.cos(u)),
    sp.cos: ("trig", lambda u: -sp.sin(u)),
    sp.tan: ("trig", lambda u: sp.sec(u) ** 2),
    sp.sec: ("trig", lambda u: sp.sec(u) * sp.tan(u)),
    sp.csc: ("trig", lambda u: -sp.csc(u) * sp.cot(u)),
    sp.cot: ("trig", lambda u: -sp.csc(u) ** 2),
    sp.asin: ("inverse_trig", lambda u: 1 / sp.sqrt(1 - u**2)),
    sp.acos: ("inverse_trig", lambda u: -1 / sp.sqrt(1 - u**2)),
    sp.atan: ("inverse_trig", lambda u: 1 / (1 + u**2)),
    sp.asec: ("inverse_trig", lambda u: 1 / (sp.Abs(u) * sp.sqrt(u**2 - 1))),
    sp.acsc: ("inverse_trig", lambda u: -1 / (sp.Abs(u) * sp.sqrt(u**2 - 1))),
    sp.acot: ("inverse_trig", lambda u: -1 / (1 + u**2)),
    sp.sinh: ("hyperbolic", lambda u: sp.cosh(u)),
    sp.cosh: ("hyperbolic", lambda u: sp.sinh(u)),
    sp.sech: ("hyperbolic", lambda u: -sp.sech(u) * sp.tanh(u)),
    sp.csch: ("hyperbolic", lambda u: -sp.csch(u) * sp.coth(u)),
    sp.coth: ("hyperbolic", lambda u: -sp.csch(u) ** 2),
    sp.asinh: ("inverse_hyperbolic", lambda u: 1 / sp.sqrt(u**2 + 1)),
    # √(u − 1)·√(u + 1), not √(u² − 1): the two differ in sign where acosh is not real (u < −1)
    sp.acosh: ("inverse_hyperbolic", lambda u: 1 / (sp.sqrt(u - 1) * sp.sqrt(u + 1))),
    sp.atanh: ("inverse_hyperbolic", lambda u: 1 / (1 - u**2)),
    sp.acoth: ("inverse_hyperbolic", lambda u: 1 / (1 - u**2)),
    sp.Abs: ("abs", lambda u: u / sp.Abs(u)),
    # the error function of the exact GELU: erf′(u) = 2·e^(−u²)/√π
    sp.erf: ("erf", lambda u: 2 * sp.exp(-u**2) / sp.sqrt(sp.pi)),
}


@dataclass(frozen=True)
class ElementaryRule(Rule):
    """d/du f(u) = f′(u) for a function f with a known derivative (eˣ, log, σ, tanh, ReLU, sin …),
    written as the function's own derivative gives it (σ(u)(1 − σ(u)), 1 − tanh² u) or as the
    textbooks' tables do (sec² u, −csc u·cot u, u/|u|)."""

    func: type = None

    @property
    def key(self) -> str:
        if self.func in NAMED_DERIVATIVES:
            return NAMED_DERIVATIVES[self.func]
        return TEXTBOOK_DERIVATIVES.get(self.func, ("elementary",))[0]

    def eval(self):
        if self.func in TEXTBOOK_DERIVATIVES and self.expr.args == (self.var,):
            return TEXTBOOK_DERIVATIVES[self.func][1](self.var)
        return self.expr.diff(self.var)


@dataclass(frozen=True)
class ExponentialRule(Rule):
    """d/dx bˣ = bˣ·log b (b constant)"""

    base: Expr = sp.E
    key: ClassVar[str] = "exponential"

    def eval(self):
        return self.base**self.var * sp.log(self.base)


@dataclass(frozen=True)
class ChainRule(Rule):
    """d/dx f(g(x)) = f′(g(x))·g′(x), with u = g(x) named u1, u2, … (or the model's own name)"""

    outer: Rule = None
    inner: Rule = None
    u: Symbol = None
    key: ClassVar[str] = "chain"

    def children(self):
        return (self.inner,)

    def eval(self):
        return self.outer.eval().subs(self.u, self.inner.expr) * self.inner.eval()

    def expand(self):
        return self.outer.eval().subs(self.u, self.inner.expr) * D(self.inner.expr, self.var)

    def msg_args(self):
        return {"u": self.u, "g": self.inner.expr, "f": self.outer.expr, "fprime": self.outer.eval()}


@dataclass(frozen=True)
class MaxMinRule(Rule):
    """d/dx max(f, g) = f′·[f ≥ g] + g′·[g > f] (min: f′·[f ≤ g] + g′·[g < f]): the derivative
    of the argument that is largest (smallest), as ReLU′ = [z > 0]; at a tie, where max has no
    derivative unless f′ = g′, that of the argument written first."""

    options: tuple[Rule, ...] = ()
    key: ClassVar[str] = "max_min"

    def children(self):
        return self.options

    def _combine(self, derivs):
        args = [o.expr for o in self.options]

        def beats(a, b, tie):
            return sp.Heaviside(a - b if isinstance(self.expr, sp.Max) else b - a, tie)

        # a tie goes to the argument written first: [f ≥ g] and [g > f] add up to 1 everywhere
        return sp.Add(*(derivs[i] * sp.Mul(*(beats(a, b, int(i < j)) for j, b in enumerate(args) if j != i))
                        for i, a in enumerate(args)))

    def eval(self):
        return self._combine([o.eval() for o in self.options])

    def expand(self):
        return self._combine([D(o.expr, self.var) for o in self.options])


@dataclass(frozen=True)
class RewriteRule(Rule):
    """d/dx f = d/dx g, where g is f rewritten (e.g. f^g = e^(g·log f))"""

    rewritten: Expr = None
    inner: Rule = None
    key: ClassVar[str] = "rewrite"

    def children(self):
        return (self.inner,)

    def eval(self):
        return self.inner.eval().xreplace({self.rewritten: self.expr})

    def expand(self):
        return D(self.rewritten, self.var)

    def msg_args(self):
        return {"g": self.rewritten}


@dataclass(frozen=True)
class DontKnowRule(Rule):
    """No rule applies: the derivative is taken with sympy.diff, and the output says so."""

    key: ClassVar[str] = "fallback"

    def eval(self):
        return sp.diff(self.expr, self.var)
