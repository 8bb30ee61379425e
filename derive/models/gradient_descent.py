"""Gradient descent as the notes teach it: θ, g = ∇L(θ), one update in numbers, why −∇f is the
steepest direction, batches, epochs and updates, and why logistic regression is not trained with
the squared error. (The derivative as a limit is derivative-intuition's opening.)"""

from __future__ import annotations

import sympy as sp
from sympy import Derivative

from ..functions import sigmoid
from ..messages import Msg
from ..printing import AsShown
from ._notation import Half, Written, mul
from .base import Model

# the notes' data-set arithmetic: N examples in batches of B
N_EXAMPLES, BATCH = 10_000, 10
# a worked update: two examples (x, y), the linear model ŷ = w·x + b, η and θ⁰
DATA = ((1, 2), (2, 3))
ETA = sp.Rational(1, 10)
THETA0 = (0, 0)


class LeastOverUnit(Written):
    """min over ‖u‖ = 1 of ∇f·u, the name of the steepest-descent result (a name only: the
    result is checked as the value at u = −∇f/‖∇f‖)."""

    TEXT, TEX = "min_{‖u‖=1} ∇f·u", r"\min_{\|u\| = 1} \nabla f \cdot u"


class GradientDescent(Model):
    name = "gradient-descent"
    title = "Gradient descent"
    summary = "Gradient descent: θ, g = ∇L(θ), one update in numbers, steepest descent, batches and epochs"
    order = 50

    def build(self, d) -> None:
        d.partial = False
        d.title = Msg("Gradient descent", "梯度下降")
        self._update(d)
        self._steepest(d)
        self._batches(d)
        self._convexity(d)

    # -- θ, g and one update --------------------------------------------------------------------------
    def _update(self, d) -> None:
        w, b, eta = sp.symbols("w b eta")
        L = sp.Symbol("L")
        d.section("Parameters $θ$, gradient $g$ and one update", "参数 $θ$、梯度 $g$ 与一次更新")
        d.note(
            "All the unknown parameters are flattened into one column $θ$: for $ŷ = w·x + b$, $θ = (w, b)$; for a "
            "network, every entry of $W[1]$, $b[1]$, $W[2]$, $b[2]$, one after the other. The gradient $g = ∇L(θ)$ is the "
            "column of partial derivatives (each a limit of slopes, as in the section on derivatives as slopes), "
            "and one update is $θ¹ = θ⁰ − η·g$.",
            "把所有未知参数排成一列 $θ$:对 $ŷ = w·x + b$,$θ = (w, b)$;对网络,则把 $W[1]$、$b[1]$、$W[2]$、$b[2]$ 的每个元素"
            "依次排好。梯度 $g = ∇L(θ)$ 是各偏导数组成的一列(每个偏导数都是斜率的极限,见“导数即斜率”一节),"
            "一次更新为 $θ¹ = θ⁰ − η·g$。",
        )
        sizes = (64, 32, 10)
        count = sizes[0] * sizes[1] + sizes[1] + sizes[1] * sizes[2] + sizes[2]
        shown = sp.Add(mul(64, 32), 32, mul(32, 10), 10, evaluate=False)
        d.result("entries of θ for mlp 64-32-10", sp.Integer(count), lhs=shown,
                 check=(sp.Integer(64 * 32 + 32 + 32 * 10 + 10), sp.Integer(count)),
                 note=Msg("$θ$ of the network of the mlp section: $W[1]$, $b[1]$, $W[2]$, $b[2]$",
                          "mlp 一节中网络的 $θ$:$W[1]$、$b[1]$、$W[2]$、$b[2]$"))
        # each error as the notes write ŷ − y = w·x + b − y (SymPy would print b + w − 2), and
        # the mean as ½·(…): the ½ stays in front until the chain rule's 2 cancels it
        errors = [sp.Add(w * x, b, -y, evaluate=False) for x, y in DATA]
        loss = sp.Add(*[e**2 for e in errors]) / len(DATA)
        half = d.let(Half(), sp.S.Half)
        d.note("A worked update: the two examples $(x, y) = (1, 2)$ and $(2, 3)$, the loss is the mean squared error.",
               "算一次更新:两个样本 $(x, y) = (1, 2)$ 与 $(2, 3)$,损失为均方误差。")
        d.define(L, mul(half, sp.Add(*[e**2 for e in errors], evaluate=False)))
        gw = self._gradient(d, L, half, errors, w)
        gb = self._gradient(d, L, half, errors, b)
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
        d.result("dL/dw", gw, of=loss, wrt=w, lhs=Derivative(L, w, evaluate=False))
        d.result("dL/db", gb, of=loss, wrt=b, lhs=Derivative(L, b, evaluate=False))
        for name, theta0, g_value, value in (("w", THETA0[0], g0[0], new[0]), ("b", THETA0[1], g0[1], new[1])):
            d.result(f"{name} after one update", value, lhs=sp.Symbol(f"{name}^1"),
                     check=(theta0 - ETA * sp.diff(loss, sp.Symbol(name)).xreplace(at0), value),
                     note=Msg.of(f"${name}⁰ − η·∂L/∂{name} = {{t0}} − {{eta}}·({{g}})$",
                                 f"${name}⁰ − η·∂L/∂{name} = {{t0}} − {{eta}}·({{g}})$",
                                 t0=sp.Integer(theta0), eta=ETA, g=g_value))
        d.result("L after one update", loss.xreplace({w: new[0], b: new[1]}),
                 lhs=sp.Subs(L, (w, b), new), check=(loss.xreplace({w: new[0], b: new[1]}), sp.Rational(13, 20)),
                 note=Msg.of("down from $L(θ⁰) = {l0}$", "由 $L(θ⁰) = {l0}$ 降下来", l0=loss.xreplace(at0)))

    @staticmethod
    def _gradient(d, L, half, errors, v):
        """dL/dv of L = ½·(e₁² + e₂²), the rules written out: the ½ in front, the chain rule's
        2·e·de/dv, the inner derivatives as numbers, the ½ cancelling the 2s, then the terms
        collected. Returns the collected gradient."""
        lhs = Derivative(L, v, evaluate=False)
        inner = [sp.diff(e, v) for e in errors]
        d.eq(lhs, Derivative(d.defs[L], v, evaluate=False), "differentiate")

        def halved(rhs, rule, note):
            # shown as written, ½ first (a continued line would move the symbol ½ behind)
            shown = mul(half, sp.Add(*rhs, evaluate=False))
            d.eq(lhs, AsShown(shown), rule, note, check=(lhs, shown))

        halved([Derivative(e**2, v, evaluate=False) for e in errors], "constant_multiple",
               Msg("$½$ stays in front; then the sum rule", "$½$ 留在前面;再用加法法则"))
        halved([mul(2, e, Derivative(e, v, evaluate=False)) for e in errors], "chain",
               Msg("the power rule outside, $d/du[u²] = 2·u$", "外层用幂法则,$d/du[u²] = 2·u$"))
        halved([mul(2, e, k) for e, k in zip(errors, inner)], "sum",
               Msg.of("{k}", "{k}", k=tuple(sp.Eq(Derivative(e, v, evaluate=False), k, evaluate=False)
                                          for e, k in zip(errors, inner))))
        # ½·2 = 1: each term keeps its inner derivative as a factor (none for 1)
        d.eq(lhs, sp.Add(*[e if k == 1 else mul(k, e) for e, k in zip(errors, inner)], evaluate=False),
             "simplify", Msg("$½·2 = 1$, so the $½$ cancels the chain rule's 2", "$½·2 = 1$,$½$ 与链式法则的 2 相消"))
        # collected in the order of the loss's own terms: w, b, then the constant
        total = sp.expand(sp.Add(*[k * e for e, k in zip(errors, inner)]))
        w, b = sp.symbols("w b")
        collected = sp.Add(total.coeff(w) * w, total.coeff(b) * b, total.xreplace({w: 0, b: 0}), evaluate=False)
        d.eq(lhs, AsShown(collected), "rearrange", Msg("collect the terms", "合并同类项"), check=(lhs, collected))
        return collected

    # -- steepest descent -------------------------------------------------------------------------------
    def _steepest(self, d) -> None:
        g1, g2, t, alpha = sp.symbols("g1 g2 t alpha", real=True)
        rho = sp.Symbol("rho", positive=True)
        norm = sp.sqrt(g1**2 + g2**2)
        d.section("Why $−∇f$: the direction of steepest descent", "为什么是 $−∇f$:最速下降方向")
        d.note(
            "Moving a small step $ε$ along a unit vector $u$ changes $f$ by about $ε·∇f·u$. Which $u$ lowers $f$ "
            "most? Write $∇f = (g₁, g₂) = ρ·(cos α, sin α)$ with $ρ = ‖∇f‖ = √(g₁² + g₂²)$, and "
            "$u = (cos t, sin t)$, so that $‖u‖ = 1$:",
            "沿单位向量 $u$ 走一小步 $ε$,$f$ 约改变 $ε·∇f·u$。哪个 $u$ 让 $f$ 下降最多?记 "
            "$∇f = (g₁, g₂) = ρ·(cos α, sin α)$,其中 $ρ = ‖∇f‖ = √(g₁² + g₂²)$,并记 $u = (cos t, sin t)$,"
            "于是 $‖u‖ = 1$:",
        )
        dot = sp.Add(g1 * sp.cos(t), g2 * sp.sin(t), evaluate=False)
        polar = {g1: rho * sp.cos(alpha), g2: rho * sp.sin(alpha)}
        # the lines as written (the cos terms first, t − α): SymPy would sort both
        split = sp.Add(mul(rho, sp.cos(alpha), sp.cos(t)), mul(rho, sp.sin(alpha), sp.sin(t)), evaluate=False)
        d.eq(dot, AsShown(split), "substitute", Msg("$g₁ = ρ·cos α$, $g₂ = ρ·sin α$", "$g₁ = ρ·cos α$,$g₂ = ρ·sin α$"),
             check=(dot.xreplace(polar), split))
        angle = mul(rho, sp.cos(sp.Add(t, -alpha, evaluate=False), evaluate=False))
        d.eq(dot, AsShown(angle), "rewrite", Msg("$cos α·cos t + sin α·sin t = cos(t − α)$",
                                                 "$cos α·cos t + sin α·sin t = cos(t − α)$"),
             check=(split, sp.expand_trig(rho * sp.cos(t - alpha))))
        d.note(
            "The angle between $∇f$ and $u$ is $φ = t − α$, so this is $∇f·u = ‖∇f‖·‖u‖·cos φ$. As $cos φ ≥ −1$, "
            "$∇f·u ≥ −‖∇f‖$ for every unit vector $u$ (the Cauchy–Schwarz inequality), with equality only at "
            "$φ = π$, that is at $u = −∇f/‖∇f‖$. So $−∇f$ is the steepest way down, and $θ − η·g$ steps along it.",
            "$∇f$ 与 $u$ 的夹角为 $φ = t − α$,所以这就是 $∇f·u = ‖∇f‖·‖u‖·cos φ$。因为 $cos φ ≥ −1$,"
            "对每个单位向量 $u$ 都有 $∇f·u ≥ −‖∇f‖$(柯西–施瓦茨不等式),且只在 $φ = π$,即 $u = −∇f/‖∇f‖$ "
            "时取等号。所以 $−∇f$ 是下降最快的方向,$θ − η·g$ 正是沿它走一步。",
        )
        s1, s2 = -g1 / norm, -g2 / norm
        at_min = sp.Add(mul(g1, s1), mul(g2, s2), evaluate=False)
        d.eq(at_min, -norm, "simplify", Msg("$∇f·u$ at $u = −∇f/‖∇f‖$: $−(g₁² + g₂²)/‖∇f‖$",
                                             "$u = −∇f/‖∇f‖$ 处的 $∇f·u$:$−(g₁² + g₂²)/‖∇f‖$"),
             check=(g1 * s1 + g2 * s2, -norm))
        d.result("∇f·u at u = −∇f/‖∇f‖", -norm, lhs=LeastOverUnit(),
                 check=(g1 * s1 + g2 * s2, -norm),
                 note=Msg("the least value of $∇f·u$ over unit vectors $u$, at $u = −∇f/‖∇f‖$",
                          "$∇f·u$ 在单位向量 $u$ 上的最小值,在 $u = −∇f/‖∇f‖$ 处取到"))

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
        slope = mul(s, 1 - s)     # σ′ = σ(1 − σ), as activations derives it
        first = Derivative(squared, w, evaluate=False)
        d.eq(first, mul(2, s, slope), "chain", Msg("$d/du[u²] = 2·u$ with $u = σ(w)$, and $σ′ = σ(1 − σ)$",
                                                   "$d/du[u²] = 2·u$,$u = σ(w)$,且 $σ′ = σ(1 − σ)$"))
        d.eq(first, mul(2, s**2, 1 - s), "simplify")
        second = Derivative(squared, (w, 2), evaluate=False)
        d.eq(second, Derivative(mul(2, s**2, 1 - s), w, evaluate=False), "differentiate",
             Msg("the first derivative once more", "对一阶导数再求一次导"), check=(second, sp.diff(2 * s**2 * (1 - s), w)))
        d.eq(second, Derivative(sp.Add(2 * s**2, -2 * s**3, evaluate=False), w, evaluate=False), "rearrange",
             Msg("expand: $2σ²(1 − σ) = 2σ² − 2σ³$", "展开:$2σ²(1 − σ) = 2σ² − 2σ³$"))
        d.eq(second, sp.Add(mul(4, s, slope), mul(-6, s**2, slope), evaluate=False), "chain",
             Msg("the power rule in each term, and $σ′ = σ(1 − σ)$", "每一项用幂法则,且 $σ′ = σ(1 − σ)$"))
        d.eq(second, d2_sq, "simplify", Msg("take out $2σ²(1 − σ)$", "提出公因子 $2σ²(1 − σ)$"),
             check=(sp.diff(squared, w, 2), d2_sq))
        d.note(
            "Its sign is the sign of $2 − 3σ(w)$: positive while $σ(w) < 2/3$ (that is $w < log 2$), negative after. "
            "At $w = log 3$, $σ = 3/4$ and the second derivative is {v}: the squared error bends down, is not "
            "convex, and gradient descent can stall on its flat shoulders.",
            "它的符号就是 $2 − 3σ(w)$ 的符号:$σ(w) < 2/3$(即 $w < log 2$)时为正,之后为负。在 $w = log 3$ 处 "
            "$σ = 3/4$,二阶导数为 {v}:平方误差向下弯曲,不是凸函数,梯度下降可能停在它平坦的肩部。",
            v=sp.Rational(-9, 128),
        )
        d.note("The cross-entropy for $y = 0$ is $−log(1 − σ(w))$:", "$y = 0$ 时的交叉熵是 $−log(1 − σ(w))$:")
        first = Derivative(cross, w, evaluate=False)
        # −1/(1 − σ)·(−σ(1 − σ)): the outer derivative, then the inner one, as written
        outer_inner = sp.Mul(sp.Mul(-1, sp.Pow(1 - s, -1), evaluate=False), mul(-1, s, 1 - s), evaluate=False)
        d.eq(first, AsShown(outer_inner), "chain",
             Msg("$d/du[log u] = 1/u$ with $u = 1 − σ(w)$, $du/dw = −σ(1 − σ)$",
                 "$d/du[log u] = 1/u$,$u = 1 − σ(w)$,$du/dw = −σ(1 − σ)$"), check=(first, outer_inner))
        d.eq(first, s, "simplify", Msg("$1 − σ$ cancels", "约去 $1 − σ$"))
        second = Derivative(cross, (w, 2), evaluate=False)
        d.eq(second, Derivative(s, w, evaluate=False), "differentiate", Msg("the first derivative once more",
                                                                             "对一阶导数再求一次导"),
             check=(second, sp.diff(s, w)))
        d.eq(second, d2_ce, "sigmoid_derived", check=(sp.diff(cross, w, 2), d2_ce))
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
