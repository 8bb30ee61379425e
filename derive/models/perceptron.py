"""The perceptron's AND, OR and NOT gates, with the step activation; truth tables computed."""

from __future__ import annotations

from itertools import product

import sympy as sp

from ..messages import Msg
from ..printing import text
from .base import Model

# The notes' weights and thresholds: (gate, w1, w2, θ, inputs it reads)
GATES = (
    ("AND", sp.Integer(1), sp.Integer(1), sp.Integer(2), 2),
    ("OR", sp.Integer(1), sp.Integer(1), sp.Float("0.5"), 2),
    ("NOT", sp.Float("-0.6"), sp.Integer(0), sp.Float("-0.5"), 1),
)

ZH = {"AND": "与", "OR": "或", "NOT": "非"}

# The gates as Boolean functions: what each neuron's truth table is checked against
BOOLEAN = {"AND": all, "OR": any, "NOT": lambda point: not point[0]}


class Written(sp.UnevaluatedExpr):
    """A sum shown in the order written (w₁x₁ + w₂x₂ − θ); for programs (the JSON) the sum itself."""

    def _sympyrepr(self, printer) -> str:
        return printer._print(self.args[0])


def step(s):
    """The step activation as the notes define it: 1 when s ≥ 0, else 0 (so step(0) = 1)."""
    return sp.Heaviside(s, 1)


class Perceptron(Model):
    name = "perceptron"
    title = "Perceptron logic gates"
    summary = "Perceptron: y = step(w1·x1 + w2·x2 − θ) gives AND, OR, NOT; the step has no gradient"
    order = 65

    def build(self, d) -> None:
        d.title = Msg("The perceptron: AND, OR and NOT with a step activation",
                      "感知器:用阶跃激活函数实现与、或、非")
        w1, w2, theta, x1, x2, y = sp.symbols("w1 w2 theta x1 x2 y")
        s = w1 * x1 + w2 * x2

        d.section("The neuron", "神经元")
        d.note(
            "Two inputs $x₁, x₂ ∈ {0, 1}$, weights $w₁$, $w₂$ and a threshold $θ$. The neuron compares the "
            "weighted sum with $θ$ and fires ($y = 1$) when it reaches $θ$: $y = f(w₁x₁ + w₂x₂ − θ)$ with the "
            "step $f(s) = 1$ for $s ≥ 0$ and 0 for $s < 0$. The convention $f(0) = 1$ matters: the AND gate "
            "fires at $x₁ = x₂ = 1$ exactly because $1 + 1 = θ = 2$.",
            "两个输入 $x₁, x₂ ∈ {0, 1}$,权重 $w₁$、$w₂$ 与阈值 $θ$。神经元把加权和与 $θ$ 比较,达到 $θ$ 时兴奋($y = 1$):"
            "$y = f(w₁x₁ + w₂x₂ − θ)$,阶跃函数 $f(s)$ 在 $s ≥ 0$ 时为 1,$s < 0$ 时为 0。$f(0) = 1$ 这一约定很重要:"
            "“与”门在 $x₁ = x₂ = 1$ 时输出 1,正是因为 $1 + 1 = θ = 2$。",
        )
        neuron = step(s - theta)
        d.define(y, neuron, Msg("$[·]$ is 1 when the condition holds, else 0", "$[·]$ 在条件成立时为 1,否则为 0"))

        truth, formulas = {}, []
        for gate, a, b, t, arity in GATES:
            given = f"$w₁ = {text(a)}$, $w₂ = {text(b)}$, $θ = {text(t)}$"
            d.section(f"{gate}: {given}", f"“{ZH[gate]}”({gate}):{given}")
            weights = {w1: a, w2: b, theta: t}
            inputs = (x1, x2)[:arity]
            lhs = sp.Function(gate)(*inputs)
            rule = neuron.xreplace(weights)
            # shown as the neuron is written, with θ on the left for every gate: [−0.6·x₁ + 0.5 ≥ 0],
            # not the printer's [−0.6·x₁ ≥ −0.5] for a two-term sum
            weighed = [c * x for c, x in ((a, x1), (b, x2)) if c != 0]
            shown = step(Written(sp.Add(*weighed, -t, evaluate=False)))
            formula = d.eq(lhs, shown, "substitute", check=(d.defs[y].xreplace(weights), rule))
            if arity == 1:
                d.note("$w₂ = 0$: the NOT gate reads $x₁$ only.", "$w₂ = 0$:“非”门只读取 $x₁$。")
            rows = []
            for point in product((0, 1), repeat=arity):
                at = dict(zip((x1, x2), point))
                total = s.xreplace(weights).xreplace(at)
                out = rule.xreplace(at)          # SymPy evaluates the step at the numbers
                truth[(gate, point)] = out
                rows.append([*map(sp.Integer, point), total, total - t, out])
            weighted = "$w₁x₁ + w₂x₂$" if arity == 2 else "$w₁x₁$ ($w₂ = 0$)"
            decides = "$w₁x₁ + w₂x₂ − θ$" if arity == 2 else "$w₁x₁ − θ$"
            d.table([*("$x₁$", "$x₂$")[:arity], weighted, decides, f"$y = {text(lhs)}$"], rows)
            formulas.append((gate, lhs, formula, (d.defs[y].xreplace(weights), rule)))

        d.section("No gradient to learn from", "没有可用于学习的梯度")
        d.note(
            "The step is flat on both sides of its jump: $∂y/∂w₁ = ∂y/∂w₂ = ∂y/∂θ = 0$ wherever "
            "$w₁x₁ + w₂x₂ ≠ θ$, and the derivative does not exist at the jump. Gradient descent gets no "
            "signal, so the weights above are set by hand (or by the perceptron rule, where the "
            "threshold $θ$ is the weight of a dummy input fixed at $−1$). That is why the course moves to "
            "the sigmoid $σ(z)$, a smooth step whose derivative $σ(z)(1 − σ(z))$ is never 0.",
            "阶跃函数在跳变两侧都是平的:只要 $w₁x₁ + w₂x₂ ≠ θ$,就有 $∂y/∂w₁ = ∂y/∂w₂ = ∂y/∂θ = 0$,"
            "而在跳变处导数不存在。梯度下降得不到任何信号,所以上面的权重是人工设定的(或用感知器学习规则,"
            "把阈值 $θ$ 看作固定输入为 $−1$ 的哑结点的权重)。这就是课程转向 sigmoid 函数 $σ(z)$ 的原因:"
            "它是光滑的阶跃,导数 $σ(z)(1 − σ(z))$ 处处不为 0。",
        )

        # the three neurons for the reader; their truth tables, already shown above, for programs
        # and --verbose
        for gate, lhs, formula, pair in formulas:
            d.result(gate, formula, lhs=lhs, check=pair)
        for (gate, point), out in truth.items():
            d.result(f"{gate}({', '.join(map(str, point))})", out,
                     lhs=sp.Function(gate)(*map(sp.Integer, point)),
                     check=(sp.Integer(BOOLEAN[gate](point)), out), audience="check")
