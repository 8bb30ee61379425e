"""Gradient descent as the notes teach it: θ, g = ∇L(θ), one update in numbers, the derivative as
a limit, why −∇f is the steepest direction, batches, epochs and updates, and why logistic
regression is not trained with the squared error."""

from __future__ import annotations

import sympy as sp
from sympy import Derivative

from ..functions import sigmoid
from ..messages import Msg
from ._notation import mul
from .base import Model

# the notes' data-set arithmetic: N examples in batches of B
N_EXAMPLES, BATCH = 10_000, 10
# a worked update: two examples (x, y), the linear model ŷ = w·x + b, η and θ⁰
DATA = ((1, 2), (2, 3))
ETA = sp.Rational(1, 10)
THETA0 = (0, 0)


class GradientDescent(Model):
    name = "gradient-descent"
    title = "Gradient descent"
    summary = "Gradient descent: θ, g = ∇L(θ), one update in numbers, steepest descent, batches and epochs"
    order = 50

    def build(self, d) -> None:
        d.partial = False
        d.title = Msg("Gradient descent", "梯度下降")
        self._limit(d)
        self._update(d)
        self._steepest(d)
        self._batches(d)
        self._convexity(d)

    # -- the derivative as a limit ------------------------------------------------------------------
    def _limit(self, d) -> None:
        a, h = sp.symbols("a h")
        d.section("The derivative as a limit", "导数是极限")
        d.note("The slope of $f$ at $a$ is the limit of the slopes of ever shorter secants. For $f(a) = a²$:",
               "$f$ 在 $a$ 处的斜率,是越来越短的割线斜率的极限。以 $f(a) = a²$ 为例:")
        secant = ((a + h) ** 2 - a**2) / h
        # k, the slope's letter in both languages (an English word would stand in the Chinese text)
        slope = sp.Symbol("k")
        d.define(slope, secant, Msg("the slope $k$ of the secant between $a$ and $a + h$",
                                    "$a$ 与 $a + h$ 之间割线的斜率 $k$"))
        d.eq(slope, 2 * a + h, "simplify")
        d.result("f'(a) as a limit", 2 * a, of=a**2, wrt=a, check=(sp.limit(secant, h, 0), 2 * a),
                 note=Msg("the secant's slope $2a + h$ as $h → 0$: the notes' $f′(a) = 2a$",
                          "割线斜率 $2a + h$ 在 $h → 0$ 时的极限:即笔记中的 $f′(a) = 2a$"))

    # -- θ, g and one update --------------------------------------------------------------------------
    def _update(self, d) -> None:
        w, b, eta = sp.symbols("w b eta")
        L = sp.Symbol("L")
        d.section("Parameters $θ$, gradient $g$ and one update", "参数 $θ$、梯度 $g$ 与一次更新")
        d.note(
            "All the unknown parameters are flattened into one column $θ$: for $ŷ = w·x + b$, $θ = (w, b)$; for a "
            "network, every entry of $W[1]$, $b[1]$, $W[2]$, $b[2]$, one after the other. The gradient $g = ∇L(θ)$ is the "
            "column of partial derivatives, and one update is $θ¹ = θ⁰ − η·g$.",
            "把所有未知参数排成一列 $θ$:对 $ŷ = w·x + b$,$θ = (w, b)$;对网络,则把 $W[1]$、$b[1]$、$W[2]$、$b[2]$ 的每个元素"
            "依次排好。梯度 $g = ∇L(θ)$ 是各偏导数组成的一列,一次更新为 $θ¹ = θ⁰ − η·g$。",
        )
        sizes = (64, 32, 10)
        count = sizes[0] * sizes[1] + sizes[1] + sizes[1] * sizes[2] + sizes[2]
        shown = sp.Add(mul(64, 32), 32, mul(32, 10), 10, evaluate=False)
        d.result("entries of θ for mlp 64-32-10", sp.Integer(count), lhs=shown,
                 check=(sp.Integer(64 * 32 + 32 + 32 * 10 + 10), sp.Integer(count)),
                 note=Msg("$θ$ of derive mlp: $W[1]$, $b[1]$, $W[2]$, $b[2]$", "derive mlp 的 $θ$:$W[1]$、$b[1]$、$W[2]$、$b[2]$"))
        # each error as the notes write ŷ − y = w·x + b − y (SymPy would print b + w − 2)
        loss = sp.Add(*[sp.Add(w * x, b, -y, evaluate=False) ** 2 for x, y in DATA]) / len(DATA)
        d.note("A worked update: the two examples $(x, y) = (1, 2)$ and $(2, 3)$, the loss is the mean squared error.",
               "算一次更新:两个样本 $(x, y) = (1, 2)$ 与 $(2, 3)$,损失为均方误差。")
        d.define(L, loss)
        gw = d.work(Derivative(L, w, evaluate=False), loss, w)
        gb = d.work(Derivative(L, b, evaluate=False), loss, b)
        at0 = {w: THETA0[0], b: THETA0[1]}
        g0 = (gw.xreplace(at0), gb.xreplace(at0))
        new = tuple(t - ETA * g for t, g in zip(THETA0, g0))
        d.note(
            "At $θ⁰ = (w, b) = (0, 0)$: $g = ({gw}, {gb})$; with $η = {eta}$, "
            "$θ¹ = θ⁰ − η·g = ({w1}, {b1})$, and the loss falls from {l0} to {l1}.",
            "在 $θ⁰ = (w, b) = (0, 0)$ 处:$g = ({gw}, {gb})$;取 $η = {eta}$,"
            "$θ¹ = θ⁰ − η·g = ({w1}, {b1})$,损失从 {l0} 降到 {l1}。",
            gw=g0[0], gb=g0[1], eta=ETA, w1=new[0], b1=new[1],
            l0=loss.xreplace(at0), l1=loss.xreplace({w: new[0], b: new[1]}),
        )
        d.result("dL/dw", gw, of=loss, wrt=w)
        d.result("dL/db", gb, of=loss, wrt=b)
        for name, theta0, g_value, value in (("w", THETA0[0], g0[0], new[0]), ("b", THETA0[1], g0[1], new[1])):
            d.result(f"{name} after one update", value, lhs=sp.Symbol(f"{name}^1"),
                     check=(theta0 - ETA * sp.diff(loss, sp.Symbol(name)).xreplace(at0), value),
                     note=Msg.of(f"${name}⁰ − η·∂L/∂{name} = {{t0}} − {{eta}}·({{g}})$",
                                 f"${name}⁰ − η·∂L/∂{name} = {{t0}} − {{eta}}·({{g}})$",
                                 t0=sp.Integer(theta0), eta=ETA, g=g_value))
        d.result("L after one update", loss.xreplace({w: new[0], b: new[1]}),
                 lhs=sp.Subs(L, (w, b), new), check=(loss.xreplace({w: new[0], b: new[1]}), sp.Rational(13, 20)),
                 note=Msg.of("down from $L(θ⁰) = {l0}$", "由 $L(θ⁰) = {l0}$ 降下来", l0=loss.xreplace(at0)))

    # -- steepest descent -------------------------------------------------------------------------------
    def _steepest(self, d) -> None:
        g1, g2, t = sp.symbols("g1 g2 t", real=True)
        norm = sp.sqrt(g1**2 + g2**2)
        d.section("Why $−∇f$: the direction of steepest descent", "为什么是 $−∇f$:最速下降方向")
        d.note(
            "Moving a small step $ε$ along a unit vector $u$ changes $f$ by about $ε·∇f·u$. Which $u$ lowers $f$ "
            "most? Write $∇f = (g₁, g₂)$ and $u = (cos t, sin t)$, and $u* = −∇f/‖∇f‖$:",
            "沿单位向量 $u$ 走一小步 $ε$,$f$ 约改变 $ε·∇f·u$。哪个 $u$ 让 $f$ 下降最多?记 $∇f = (g₁, g₂)$,"
            "$u = (cos t, sin t)$,$u* = −∇f/‖∇f‖$:",
        )
        u1, u2 = sp.cos(t), sp.sin(t)
        s1, s2 = -g1 / norm, -g2 / norm
        gap = norm / 2 * ((u1 - s1) ** 2 + (u2 - s2) ** 2)
        # ∇f·u + ‖∇f‖ as one sum of three terms: ∇f·u's own sum would print bracketed inside it
        d.eq(sp.Add(g1 * u1, g2 * u2, norm, evaluate=False), gap, "rearrange",
             Msg("$‖u‖ = ‖u*‖ = 1$, so $‖u − u*‖² = 2 − 2u·u*$", "$‖u‖ = ‖u*‖ = 1$,故 $‖u − u*‖² = 2 − 2u·u*$"))
        d.note(
            "The right side is never negative and is zero only at $u = u*$: $∇f·u ≥ −‖∇f‖$, with equality exactly "
            "at $u = −∇f/‖∇f‖$. So $−∇f$ is the steepest way down, and $θ − η·g$ steps along it.",
            "右边永远不小于零,且只在 $u = u*$ 时为零:$∇f·u ≥ −‖∇f‖$,当且仅当 $u = −∇f/‖∇f‖$ 时取等号。所以 $−∇f$ "
            "是下降最快的方向,$θ − η·g$ 正是沿它走一步。",
        )
        d.result("∇f·u at u = −∇f/‖∇f‖", -norm, lhs=sp.Add(mul(g1, s1), mul(g2, s2), evaluate=False),
                 check=(g1 * s1 + g2 * s2, -norm),
                 note=Msg("the least value of $∇f·u$ over unit vectors $u$", "$∇f·u$ 在单位向量 $u$ 上的最小值"))

    # -- batches, epochs, updates -------------------------------------------------------------------------
    def _batches(self, d) -> None:
        N, B = sp.symbols("N B", integer=True, positive=True)
        d.section("Batches, epochs and updates", "批次(batch)、轮次(epoch)与更新(update)")
        d.note(
            "The $N$ examples are split into batches of $B$. Each batch gives one update of $θ$ with the gradient of "
            "that batch's loss; one pass over all batches is an epoch.",
            "把 $N$ 个样本分成每批 $B$ 个。每个批次用该批损失的梯度更新一次 $θ$;把所有批次都过一遍叫作一轮。",
        )
        updates = sp.Integer(N_EXAMPLES // BATCH)
        d.result("updates per epoch", updates, lhs=sp.Mul(N, sp.Pow(B, -1), evaluate=False),
            check=(sp.Integer(N_EXAMPLES) / BATCH, updates),
            note=Msg.of("the notes' $N = {N}$, $B = {B}$", "笔记中的 $N = {N}$、$B = {B}$",
                        N=sp.Integer(N_EXAMPLES), B=sp.Integer(BATCH)))
        w = sp.Symbol("w")
        xs, ys = sp.symbols("x1:4"), sp.symbols("y1:4")
        losses = [(w * x - y) ** 2 for x, y in zip(xs, ys)]
        batch = sp.Add(*losses) / 3
        d.note(
            "The batch loss is the mean of the per-example losses $ℓ_n$, and a derivative of a sum is the sum of "
            "the derivatives, so the mini-batch gradient is the mean of the per-example gradients. At $B = 3$ with "
            "$ℓ_n = (w·x_n − y_n)²$:",
            "批次损失是各样本损失 $ℓ_n$ 的平均,而和的导数等于导数的和,所以小批量梯度就是各样本梯度的平均。"
            "以 $B = 3$、$ℓ_n = (w·x_n − y_n)²$ 为例:",
        )
        mean_of = sp.Add(*[sp.diff(ell, w) for ell in losses]) / 3
        d.eq(Derivative(batch, w, evaluate=False),
             sp.Add(*[Derivative(ell, w, evaluate=False) for ell in losses], evaluate=False) / 3, "sum",
             check=(sp.diff(batch, w), mean_of))
        d.result("mini-batch gradient", mean_of, of=batch, wrt=w,
                 note=Msg("the mean of the three per-example gradients $2x_n(w·x_n − y_n)$",
                          "三个样本梯度 $2x_n(w·x_n − y_n)$ 的平均"))

    # -- convexity ----------------------------------------------------------------------------------------
    def _convexity(self, d) -> None:
        w = sp.Symbol("w")
        d.section("Why logistic regression does not use the squared error",
                  "为什么逻辑回归不用平方误差")
        d.note(
            "Take one example $x = 1$, $y = 0$, so $ŷ = σ(w)$. Gradient descent finds the bottom of a convex cost, "
            "one whose second derivative is never negative; compare the two costs as functions of $w$.",
            "取一个样本 $x = 1$、$y = 0$,于是 $ŷ = σ(w)$。梯度下降能找到凸代价的最低点(二阶导数处处不小于零);"
            "把两种代价都看作 $w$ 的函数来比较。",
        )
        s = sigmoid(w)
        squared = s**2
        cross = -sp.log(1 - s)
        d2_sq = mul(2, s**2, 1 - s, 2 - 3 * s)
        d2_ce = mul(s, 1 - s)
        d.eq(Derivative(squared, (w, 2), evaluate=False), d2_sq, "simplify",
             Msg("$σ′ = σ(1 − σ)$, twice", "两次用 $σ′ = σ(1 − σ)$"), check=(sp.diff(squared, w, 2), d2_sq))
        d.note(
            "Its sign is the sign of $2 − 3σ(w)$: positive while $σ(w) < 2/3$ (that is $w < log 2$), negative after. "
            "At $w = log 3$, $σ = 3/4$ and the second derivative is {v}: the squared error bends down, is not "
            "convex, and gradient descent can stall on its flat shoulders.",
            "它的符号就是 $2 − 3σ(w)$ 的符号:$σ(w) < 2/3$(即 $w < log 2$)时为正,之后为负。在 $w = log 3$ 处 "
            "$σ = 3/4$,二阶导数为 {v}:平方误差向下弯曲,不是凸函数,梯度下降可能停在它平坦的肩部。",
            v=sp.Rational(-9, 128),
        )
        d.eq(Derivative(cross, (w, 2), evaluate=False), d2_ce, "simplify",
             Msg("cross-entropy $−log(1 − σ(w))$ for $y = 0$", "$y = 0$ 时的交叉熵 $−log(1 − σ(w))$"),
             check=(sp.diff(cross, w, 2), d2_ce))
        d.note("$σ(1 − σ) > 0$ for every $w$: the cross-entropy cost is convex.",
               "对每个 $w$ 都有 $σ(1 − σ) > 0$,即二阶导数为正:交叉熵代价是凸函数。")
        d.result("second derivative of the squared error", d2_sq, of=sp.diff(squared, w), wrt=w,
                 lhs=Derivative(squared, (w, 2), evaluate=False),
                 note=Msg("changes sign at $σ(w) = 2/3$", "在 $σ(w) = 2/3$ 处变号"))
        d.result("squared error at w = log 3", sp.Rational(-9, 128),
                 lhs=sp.Subs(Derivative(squared, (w, 2), evaluate=False), w, sp.log(3)),
                 check=(sp.diff(squared, w, 2).xreplace({w: sp.log(3)}), sp.Rational(-9, 128)),
                 note=Msg("negative: not convex", "为负:不是凸函数"))
        d.result("second derivative of the cross-entropy", d2_ce, of=sp.diff(cross, w), wrt=w,
                 lhs=Derivative(cross, (w, 2), evaluate=False),
                 note=Msg("positive for every $w$: convex", "对每个 $w$ 都为正:凸函数"))
