"""Derivatives as slopes: nudge a by 0.001 and watch f move (the notes' f(a) = 4a and f(a) = a²)."""

from __future__ import annotations

from decimal import Decimal

import sympy as sp

from ..messages import Msg
from ..printing import text
from .base import Model

NUDGE = sp.Rational(1, 1000)


def decimal(q: sp.Rational) -> sp.Expr:
    """A terminating decimal ``q`` written with all its digits and no more, as the notes write
    them (25.010001, not 25.01; 4, not 4.0)."""
    if q.is_Integer:
        return q
    exact = (Decimal(q.p) / Decimal(q.q)).normalize()
    # at least double precision, so that the value is the decimal and not a rounding of it
    return sp.Float(str(exact), max(15, len(exact.as_tuple().digits)))


class DerivativeIntuition(Model):
    name = "derivative-intuition"
    title = "Derivatives as slopes"
    summary = "Derivatives as slopes: f(a) = 4a and f(a) = a² nudged by 0.001 at a = 2 and a = 5"
    order = 5

    def build(self, d) -> None:
        d.partial = False
        d.title = Msg("Derivatives as slopes", "导数即斜率")
        a = sp.Symbol("a")
        d.note("The derivative is the slope of $f$ at a point, the height over the width of a small step: "
               "$f′(a) = lim_(Δa→0) (f(a + Δa) − f(a))/Δa$. Below, each derivative is worked out by the "
               "rules, then a nudge $Δa = 0.001$ shows the slope at work.",
               "导数是 $f$ 在某一点处的斜率，即一小步的高除以宽："
               "$f′(a) = lim_(Δa→0) (f(a + Δa) − f(a))/Δa$。下面先按求导法则求出导数，"
               "再把 $a$ 增加 $Δa = 0.001$，看斜率如何起作用。")
        # each section's f is its own symbol (a derivation gives a symbol one meaning), printed f
        # as the notes name both functions; the assumption only tells the two apart
        for f, fa, points in ((sp.Symbol("f"), 4 * a, (2,)), (sp.Symbol("f", real=True), a**2, (2, 5))):
            d.section("$f(a) = {f}$", "$f(a) = {f}$", f=fa)
            d.define(f, fa)
            lhs = sp.Derivative(f, a, evaluate=False)
            if fa == 4 * a:
                # the notes' 4·(da/da) = 4·1 = 4: the step the engine's constant multiple rule skips
                d.eq(lhs, sp.Derivative(fa, a, evaluate=False), "differentiate")
                d.eq(lhs, sp.Mul(4, sp.Derivative(a, a, evaluate=False), evaluate=False), "constant_multiple",
                     Msg.rule_note("constant_multiple", c=sp.Integer(4)))
                d.eq(lhs, sp.Mul(4, 1, evaluate=False), "substitute", Msg("$d/da[a] = 1$", "$d/da[a] = 1$"))
                slope = d.eq(lhs, sp.Integer(4), "simplify")
            else:
                slope = d.work(lhs, fa, a)
            for p in points:
                before, after = fa.subs(a, p), fa.subs(a, p + NUDGE)
                change = after - before
                # the point of the nudge: the change is f′(a)·Δa, exactly for a line, nearly for a curve
                exact = slope.subs(a, p)
                same = change == exact * NUDGE
                d.note(
                    "At $a = {p}$: $f = {before}$; nudge $a$ to {p2} and $f = {after}$, a change of ${change} "
                    + ("=" if same else "≈") + " {exact} × 0.001 = f′({p})·Δa$.",
                    "在 $a = {p}$ 处:$f = {before}$;把 $a$ 增加到 {p2},$f = {after}$,变化了 {change},"
                    + ("恰为" if same else "约为") + " 0.001 的 {exact} 倍,即 $f′({p})·Δa$。",
                    p=sp.Integer(p), p2=decimal(p + NUDGE), before=before,
                    after=decimal(after), change=decimal(change), exact=exact,
                )
                f_of = sp.Lambda(a, fa)
                d.result(f"nudge f={text(fa)} at a={p}", decimal(change),
                         lhs=sp.Add(sp.Function("f")(decimal(p + NUDGE)),
                                    -sp.Function("f")(sp.Integer(p)), evaluate=False),
                         check=(f_of(p + NUDGE) - f_of(p), decimal(change)),
                         note=Msg.of("$f(a) = {f}$: ${rel} f′({p})·0.001$", "$f(a) = {f}$：${rel} f′({p})·0.001$",
                                     f=fa, p=sp.Integer(p), rel=sp.Symbol("=" if same else "≈")))
            d.result(f"f'(a) for f={text(fa)}", slope, of=fa, wrt=a, lhs=lhs,
                     note=Msg.of("$f(a) = {f}$", "$f(a) = {f}$", f=fa))
