"""Activation functions and their derivatives: sigmoid, tanh, ReLU, Leaky ReLU, hard sigmoid."""

from __future__ import annotations

import sympy as sp

from ..functions import hard_sigmoid, leaky_relu, relu, sigmoid
from ..messages import Msg
from .base import Model


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
        d.work(d_sigma, 1 / (1 + sp.exp(-z)), z, simplify=False)
        # the step every teacher shows: split the square into σ(z) and 1 − σ(z)
        e = sp.exp(-z)
        split = sp.Mul(sp.UnevaluatedExpr(1 / (1 + e)), sp.UnevaluatedExpr(e / (1 + e)), evaluate=False)
        d.eq(d_sigma, split, "rearrange", Msg("one factor $1 + e^(−z)$ under each part",
                                              "分母的两个因子 $1 + e^(−z)$ 各分给一部分"),
             check=(d_sigma, split.doit()))
        d.eq(d_sigma, sigmoid(z) * (1 - sigmoid(z)), "substitute",
             Msg("$1/(1 + e^(−z)) = σ(z)$ and $e^(−z)/(1 + e^(−z)) = 1 − 1/(1 + e^(−z)) = 1 − σ(z)$",
                 "$1/(1 + e^(−z)) = σ(z)$，$e^(−z)/(1 + e^(−z)) = 1 − 1/(1 + e^(−z)) = 1 − σ(z)$"))
        d.note("With $a = σ(z)$ this is the notes' $σ′(z) = a(1 − a)$: the derivative needs only the "
               "forward value.",
               "令 $a = σ(z)$,即笔记中的 $σ′(z) = a(1 − a)$:求导只需要前向传播的值。")
        d.result("sigmoid'", sigmoid(z) * (1 - sigmoid(z)), of=sigmoid(z), wrt=z)

        d.section("tanh", "tanh 函数")
        by_exp = (sp.exp(z) - sp.exp(-z)) / (sp.exp(z) + sp.exp(-z))
        d.eq(sp.tanh(z), by_exp, "definition")
        d_tanh = sp.Derivative(sp.tanh(z), z, evaluate=False)
        d.work(d_tanh, by_exp, z, simplify=False)
        up, down = sp.exp(z) - sp.exp(-z), sp.exp(z) + sp.exp(-z)
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
        d.work(sp.Derivative(relu(z), z, evaluate=False), relu(z), z)
        d.note("Case by case, as the notes write it: $ReLU′(z) = 0$ for $z < 0$ and $ReLU′(z) = 1$ for $z > 0$; "
               "the bracket $[z > 0]$ is 1 when $z > 0$ holds and 0 when it does not.",
               "分段写出（与笔记一样）：$z < 0$ 时 $ReLU′(z) = 0$，$z > 0$ 时 $ReLU′(z) = 1$；"
               "括号 $[z > 0]$ 在 $z > 0$ 成立时为 1，不成立时为 0。")
        d.note(
            "ReLU has a kink at $z = 0$ where it has no derivative; the convention used here (and by "
            "the frameworks) is $ReLU′(0) = 0$, any value in $[0, 1]$ being a valid subgradient.",
            "ReLU 在 $z = 0$ 处有折点,没有导数;这里(以及各深度学习框架)约定 $ReLU′(0) = 0$,"
            "$[0, 1]$ 中的任何值都是合法的次梯度。",
        )
        d.result("relu'", sp.Heaviside(z, 0), of=relu(z), wrt=z)

        d.section("Leaky ReLU", "Leaky ReLU 函数")
        d.eq(leaky_relu(z, alpha), relu(z) - alpha * relu(-z), "definition",
             Msg("equal to $max(αz, z)$ for $0 < α < 1$; the notes use $α = 0.01$",
                 "当 $0 < α < 1$ 时等于 $max(αz, z)$;笔记中取 $α = 0.01$"))
        d.work(sp.Derivative(leaky_relu(z, alpha), z, evaluate=False), leaky_relu(z, alpha), z)
        d.note("Case by case: $LeakyReLU′(z) = α$ for $z < 0$ (0.01 in the notes) and 1 for $z > 0$.",
               "分段写出：$z < 0$ 时 $LeakyReLU′(z) = α$（笔记中为 0.01），$z > 0$ 时为 1。")
        d.note("Convention at the kink: $LeakyReLU′(0) = α$.", "折点处的约定:$LeakyReLU′(0) = α$。")
        d.result("leaky_relu'", alpha + (1 - alpha) * sp.Heaviside(z, 0), of=leaky_relu(z, alpha), wrt=z)

        d.section("Hard sigmoid as two ReLUs", "用两个 ReLU 拼出 hard sigmoid")
        d.eq(hard_sigmoid(z), relu(z) - relu(z - 1), "definition",
             Msg("0 below 0, $z$ on $[0, 1]$, 1 above 1", "$z < 0$ 时为 0,$0 ≤ z ≤ 1$ 时为 $z$,$z > 1$ 时为 1"))
        d_hard = sp.Derivative(hard_sigmoid(z), z, evaluate=False)
        d.work(d_hard, relu(z) - relu(z - 1), z)
        # the convention at z = 1 applied on the page, so that the last line and the result agree
        d.eq(d_hard, sp.Heaviside(z, 0) - sp.Heaviside(z - 1, 1), "substitute",
             Msg("the convention at the kink $z = 1$: the slope there is taken as 0, so $[z > 1]$ becomes $[z ≥ 1]$",
                 "折点 $z = 1$ 处的约定：斜率取 0，所以 $[z > 1]$ 写成 $[z ≥ 1]$"))
        d.note("Convention at the kinks: the derivative is taken as 0 at $z = 0$ and at $z = 1$.",
               "折点处的约定:在 $z = 0$ 与 $z = 1$ 处导数取 0。")
        d.result("hard_sigmoid'", sp.Heaviside(z, 0) - sp.Heaviside(z - 1, 1), of=hard_sigmoid(z), wrt=z)
