"""Activation functions and their derivatives: sigmoid, tanh, ReLU, Leaky ReLU, hard sigmoid."""

from __future__ import annotations

from dataclasses import replace

import sympy as sp

from ..functions import relu, sigmoid
from ..messages import Msg
from ._notation import NotesHardSigmoid as hard_sigmoid
from ._notation import NotesLeakyReLU as leaky_relu
from ._notation import mul
from .base import Model


def _bounds(cond):
    """The interval of a piece's condition on z: (lower, lower holds at it, upper, upper holds
    at it), None for an open end; z < 0, z ≥ 1 and 0 < z < 1 as the notes write them."""
    lower = upper = None
    lower_in = upper_in = False
    for rel in (cond.args if isinstance(cond, sp.And) else (cond,)):
        # each relation as written, z on either side
        small, big = (rel.lhs, rel.rhs) if isinstance(rel, (sp.StrictLessThan, sp.LessThan)) else (rel.rhs, rel.lhs)
        closed = isinstance(rel, (sp.LessThan, sp.GreaterThan))
        if small.is_number:
            lower, lower_in = small, closed
        else:
            upper, upper_in = big, closed
    return lower, lower_in, upper, upper_in


class Cases(sp.Piecewise):
    """A function given in pieces, below, between and above points, written as the notes write
    it: {0, z < 0; 1, z > 0} in text, a cases brace in LaTeX; for programs (the JSON) one formula
    with SymPy's step (``as_step``)."""

    @staticmethod
    def _condition(printer, cond) -> str:
        # a middle piece as a teacher writes it, 0 < z < 1 (SymPy: 0 < z ∧ z < 1)
        if isinstance(cond, sp.And):
            lower, lower_in, upper, upper_in = _bounds(cond)
            z = next(iter(cond.free_symbols))
            return (f"{printer._print(lower)} {'≤' if lower_in else '<'} {printer._print(z)} "
                    f"{'≤' if upper_in else '<'} {printer._print(upper)}")
        return printer._print(cond)

    def _derive_text(self, printer) -> str:
        return "{" + "; ".join(f"{printer._print(e)}, {self._condition(printer, c)}" for e, c in self.args) + "}"

    def _latex(self, printer) -> str:
        def cond(c):
            return self._condition(printer, c).replace("≤", r"\le")

        rows = r" \\ ".join(f"{printer._print(e)}, & {cond(c)}" for e, c in self.args)
        # braced: one factor for the renderer's line breaking, which never splits inside it
        return r"{\begin{cases} " + rows + r" \end{cases}}"

    def _sympyrepr(self, printer) -> str:
        return printer._print(self.as_step())

    def as_step(self) -> sp.Expr:
        """The pieces split at their boundaries t as one formula with SymPy's step, the form
        programs read (the JSON), equal at every z: e₀ + Σ (e_k − e_(k−1))·Heaviside(z − t, value
        at t)."""
        (first, cond), *rest = self.args
        z = next(iter(cond.free_symbols))
        out, previous = first, (first, cond)
        for value, cond in rest:
            t, at_start = _bounds(cond)[:2]
            at_end = _bounds(previous[1])[3]
            # the step's value at t: 0 when the piece below holds there, 1 when the one above does
            at_t = 0 if at_end else 1 if at_start else sp.S.Half
            out += (value - previous[0]) * sp.Heaviside(z - t, at_t)
            previous = (value, cond)
        return out


def reciprocal_note(d, u) -> None:
    """Name the reciprocal rule in the line where the engine applied it to ``1/u`` as the chain
    rule through ``u`` (the step ∂(1/u) = −∂u/u² a student is taught by that name)."""
    for n, step in enumerate(d.steps):
        if step.rule == "chain" and step.note is not None and dict(step.note.args).get("g") == u:
            d.steps[n] = replace(step, rule="power", note=Msg.of(
                "$1/u = u^(−1)$, so $d(1/u) = −du/u²$ (the reciprocal rule), with $u = {g}$",
                "$1/u = u^(−1)$，所以 $d(1/u) = −du/u²$（倒数的求导法则），其中 $u = {g}$", g=u))
            return
    raise ValueError(f"no chain rule through {u} to rename")


def piecewise_relu(d, f, cases, slopes, by_piece: Msg, convention: Msg) -> "Cases":
    """``f`` (a ReLU-like function of z) written case by case, differentiated piece by piece,
    then completed at the kink z = 0 by ``convention`` (the slope below it): the notes'
    g′(z) = slope below 0, slope above 0. ``cases`` are the two pieces (below 0, from 0 on),
    ``slopes`` their derivatives, ``by_piece`` how each piece is differentiated. Returns the
    derivative with the convention."""
    z = f.args[0]

    def shown(*pairs):
        # the conditions as written: SymPy would turn the last one into "True"
        return Cases(*pairs, evaluate=False)

    d.eq(f, shown((cases[0], z < 0), (cases[1], z >= 0)), "rearrange", Msg("case by case", "分段写出"))
    df = sp.Derivative(f, z, evaluate=False)
    d.eq(df, shown(*((sp.Derivative(c, z, evaluate=False), cond) for c, cond in zip(cases, (z < 0, z > 0)))),
         "differentiate", Msg("each piece on its own side of the kink $z = 0$", "在折点 $z = 0$ 两侧分别求导"))
    d.eq(df, shown((slopes[0], z < 0), (slopes[1], z > 0)), "identity", by_piece)
    return d.eq(df, shown((slopes[0], z <= 0), (slopes[1], z > 0)), "convention", convention)


class Activations(Model):
    name = "activations"
    title = "Activation functions"
    summary = "Activations: derivatives of sigmoid, tanh, ReLU, Leaky ReLU, and the hard sigmoid as two ReLUs"
    order = 60

    def build(self, d) -> None:
        d.partial = False
        d.title = Msg("Activation functions and their derivatives", "激活函数及其导数")
        z, a, g = sp.symbols("z a g")
        alpha = sp.Symbol("alpha", positive=True)

        d.section("Sigmoid", "Sigmoid 函数")
        d.eq(sigmoid(z), 1 / (1 + sp.exp(-z)), "definition")
        d_sigma = sp.Derivative(sigmoid(z), z, evaluate=False)
        # the reciprocal rule's u and the exponent's v, named as the line's text names them
        d.work(d_sigma, 1 / (1 + sp.exp(-z)), z, simplify=False,
               names={1 + sp.exp(-z): sp.Symbol("u"), -z: sp.Symbol("v")})
        reciprocal_note(d, 1 + sp.exp(-z))
        # the step every teacher shows: split the square into σ(z) and 1 − σ(z)
        e = sp.exp(-z)
        split = sp.Mul(sp.UnevaluatedExpr(1 / (1 + e)), sp.UnevaluatedExpr(e / (1 + e)), evaluate=False)
        d.eq(d_sigma, split, "rearrange", Msg("one factor $1 + e^(−z)$ under each part",
                                              "分母拆成两个因子 $1 + e^(−z)$,写成两个分式之积"),
             check=(d_sigma, split.doit()))
        d.eq(d_sigma, sigmoid(z) * (1 - sigmoid(z)), "substitute",
             Msg("$1/(1 + e^(−z)) = σ(z)$ and $e^(−z)/(1 + e^(−z)) = 1 − 1/(1 + e^(−z)) = 1 − σ(z)$",
                 "$1/(1 + e^(−z)) = σ(z)$，$e^(−z)/(1 + e^(−z)) = 1 − 1/(1 + e^(−z)) = 1 − σ(z)$"))
        d.note("With $a = σ(z)$ this is the notes' $σ′(z) = a(1 − a)$: the derivative needs only the "
               "forward value.",
               "令 $a = σ(z)$,即笔记中的 $σ′(z) = a(1 − a)$:求导只需要前向传播的值。")
        d.result("sigmoid'", sigmoid(z) * (1 - sigmoid(z)), of=sigmoid(z), wrt=z)

        d.section("tanh", "tanh 函数")
        up, down = sp.exp(z) - sp.exp(-z), sp.exp(z) + sp.exp(-z)
        d.eq(sp.tanh(z), up / down, "definition")
        # the board form: the numerator u and the denominator v differentiated on their own, then
        # the quotient rule with u′ and v′ put in, so the algebra (v² − u²)/v² stays in view
        u, v = sp.symbols("u v")
        d.note("Name the numerator $u$ and the denominator $v$, and differentiate each on its own:",
               "把分子记为 $u$、分母记为 $v$，分别求导：")
        d.define(u, up, Msg("the numerator", "分子"))
        d.define(v, down, Msg("the denominator", "分母"))
        by_rule = Msg("$d/dz e^z = e^z$ and, by the chain rule, $d/dz e^(−z) = −e^(−z)$",
                      "$d/dz e^z = e^z$；由链式法则，$d/dz e^(−z) = −e^(−z)$")
        d.eq(sp.Derivative(u, z, evaluate=False), down, "exponential", by_rule)
        d.eq(sp.Derivative(v, z, evaluate=False), up, "exponential", by_rule)
        d_tanh = sp.Derivative(sp.tanh(z), z, evaluate=False)
        d.eq(d_tanh, sp.Derivative(u / v, z, evaluate=False), "differentiate")
        du, dv = sp.Derivative(u, z, evaluate=False), sp.Derivative(v, z, evaluate=False)
        d.eq(d_tanh, (mul(du, v) - mul(u, dv)) / v**2, "quotient",
             Msg("$(u/v)′ = (u′·v − u·v′)/v²$", "$(u/v)′ = (u′·v − u·v′)/v²$"))
        d.eq(d_tanh, sp.Add(mul(down, down), -mul(up, up), evaluate=False) / down**2, "substitute",
             Msg("$u′ = v$ and $v′ = u$ from the two lines above", "由上面两行，$u′ = v$，$v′ = u$"))
        d.eq(d_tanh, sp.Add(down**2, -up**2, evaluate=False) / down**2, "rearrange",
             Msg("a factor times itself is its square", "相同因子相乘写成平方"))
        d.eq(d_tanh, sp.Add(1, sp.Mul(-1, up**2 / down**2, evaluate=False), evaluate=False), "rearrange",
             Msg("divide both terms by $(e^z + e^(−z))²$", "两项分别除以 $(e^z + e^(−z))²$"))
        d.eq(d_tanh, 1 - sp.tanh(z) ** 2, "substitute",
             Msg("the definition of $tanh$ above", "上面 $tanh$ 的定义"))
        # Ng's form: with a = tanh(z) the derivative needs only the forward value
        a_tanh = sp.Symbol("a")
        d.let(a_tanh, sp.tanh(z))
        d.eq(d_tanh, 1 - a_tanh**2, "intermediates", Msg("with $a = tanh(z)$", "其中 $a = tanh(z)$"))
        d.result("tanh'", 1 - sp.tanh(z) ** 2, of=sp.tanh(z), wrt=z)

        d.section("ReLU", "ReLU 函数")
        d.eq(relu(z), sp.Max(0, z), "definition")
        kink = piecewise_relu(
            d, relu(z), (sp.S.Zero, z), (sp.S.Zero, sp.S.One),
            Msg("$d/dz[z] = 1$, and the constant 0 has derivative 0", "$d/dz[z] = 1$，常数 0 的导数为 0"),
            Msg("ReLU has no derivative at the kink $z = 0$; here, as in the frameworks, $ReLU′(0) = 0$, "
                "any value in $[0, 1]$ being a valid subgradient",
                "ReLU 在折点 $z = 0$ 处没有导数；这里与各深度学习框架一样取 $ReLU′(0) = 0$，"
                "$[0, 1]$ 中的任何值都是合法的次梯度"))
        d.result("relu'", kink, of=relu(z), wrt=z)

        d.section("Leaky ReLU", "Leaky ReLU 函数")
        notes_alpha = sp.Rational(1, 100)
        # max(αz, z) in the notes' order (SymPy's Max sorts its arguments)
        d.eq(leaky_relu(z, alpha), sp.Function("max")(sp.Mul(alpha, z, evaluate=False), z), "definition",
             Msg("for $0 < α < 1$; the notes use $α = 0.01$", "其中 $0 < α < 1$；笔记中取 $α = 0.01$"),
             # max(αz, z) is the function only for α < 1: verified at the notes' α
             check=(leaky_relu(z, notes_alpha), sp.Max(notes_alpha * z, z)))
        kink = piecewise_relu(
            d, leaky_relu(z, alpha), (sp.Mul(alpha, z, evaluate=False), z), (alpha, sp.S.One),
            Msg("$d/dz[z] = 1$, so $d/dz[α·z] = α·1 = α$", "$d/dz[z] = 1$，所以 $d/dz[α·z] = α·1 = α$"),
            Msg("the slope at the kink $z = 0$ is taken as $α$", "折点 $z = 0$ 处斜率取 $α$"))
        d.result("leaky_relu'", kink, of=leaky_relu(z, alpha), wrt=z)

        d.section("Hard sigmoid as two ReLUs", "用两个 ReLU 拼出硬 sigmoid（Hard sigmoid）")
        d.eq(hard_sigmoid(z), relu(z) - relu(z - 1), "definition",
             Msg("0 below 0, $z$ on $[0, 1]$, 1 above 1", "$z < 0$ 时为 0,$0 ≤ z ≤ 1$ 时为 $z$,$z > 1$ 时为 1"))
        d.note("Below, $[z > 0]$ is the ReLU derivative above written in one piece: the bracket is 1 when "
               "$z > 0$ holds and 0 when it does not.",
               "下面的 $[z > 0]$ 就是上面 ReLU 的导数合成一个式子：括号内条件成立时为 1，不成立时为 0。")
        d_hard = sp.Derivative(hard_sigmoid(z), z, evaluate=False)
        d.work(d_hard, relu(z) - relu(z - 1), z, names={z - 1: sp.Symbol("u")})
        # the one-piece brackets read case by case, then the convention at both kinks applied
        # on the page, so that the last line and the result agree
        def middle(low, high):
            return sp.And(low, high, evaluate=False)

        d.eq(d_hard, Cases((0, z < 0), (1, middle(0 < z, z < 1)), (0, z > 1), evaluate=False), "rearrange",
             Msg("case by case: $[z > 0] − [z > 1]$ is $0 − 0$ below 0, $1 − 0$ between 0 and 1, $1 − 1$ above 1",
                 "分段写出：$[z > 0] − [z > 1]$ 在 0 以下为 $0 − 0$，在 0 与 1 之间为 $1 − 0$，在 1 以上为 $1 − 1$"))
        hard_slope = d.eq(d_hard, Cases((0, z <= 0), (1, middle(0 < z, z < 1)), (0, z >= 1), evaluate=False),
                          "convention",
                          Msg("at the kinks $z = 0$ and $z = 1$ the slope is taken as 0, as for ReLU",
                              "与 ReLU 一样，折点 $z = 0$ 与 $z = 1$ 处斜率取 0"))
        d.result("hard_sigmoid'", hard_slope, of=hard_sigmoid(z), wrt=z)
