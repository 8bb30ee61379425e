"""Least squares: gradient, normal equations, closed form, convexity."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

import sympy as sp

from ..messages import Msg
from ..printing import EXAMPLE, AsShown, arrange
from ..verify import Deferred
from ._concrete import at_n, at_n_pair, samples
from ._lazy import lazy_constants
from ._notation import example, m, times, total
from .base import Model, features_option

if TYPE_CHECKING:
    from ..network import Network

AT_3 = Msg.check("checked at $m = 3$ with the sums written out", "已在 $m = 3$ 时展开求和核对")
AT_N = Msg.check("checked at $m = 3$", "已在 $m = 3$ 时核对")
CHECKABLE = Msg.check("at $m = 3$, checkable with sympy.diff", "$m = 3$ 时，可用 sympy.diff 核对")
ON_3X2 = Msg.check("checked on $3 × 2$ matrices", "已在 $3 × 2$ 矩阵上核对")
MATRIX = Msg("in matrix form", "矩阵形式").then(ON_3X2)


@cache
def _gradient_line():
    """``GRADIENT``: ∂L/∂θ for the engine, and the notes' form of it: −2Xᵀ(y − Xθ)."""
    from ..matrix.lines import MatrixLine

    return MatrixLine("sum((y - X @ theta)**2)", ("X=m,2", "theta=2", "y=m"), "theta",
                      "-2 * X.T @ (y - X @ theta)")


# the engine is imported by a build, not by a run that renders the stored derivation
__getattr__ = lazy_constants(globals(), GRADIENT=_gradient_line)


def over_m(body):
    """Σ over the m examples, i = 1..m."""
    return total(body, m)


class LeastSquares(Model):
    name = "least-squares"
    title = "Least squares"
    title_zh = "最小二乘法"    # the title of `derive train --lang zh`
    summary = "Least squares: gradient, normal equations, closed form, convexity"
    order = 20
    trainable = True
    options = (features_option(1),)
    derivation_sizes = {"features": 1}

    def network(self) -> Network:
        """The least-squares line: the derivation's L is the total squared error over the m
        examples, the trainer minimizes its mean (the same minimizer, the gradient over m)."""
        from ..network import Dense, Network, Param, Training

        return Network(self.features, (Dense(None, Param("w", "w"), Param("b", "b")),), "squared",
                       Training("noisy-line", lr=0.1, epochs=300, optimizer="gd"),
                       inputs="x" + EXAMPLE + "_{n}", target="y" + EXAMPLE + "_{n}", examples=3, total=True)

    def build(self, d) -> None:
        d.title = Msg("Least squares: gradient, normal equations, closed form",
                      "最小二乘法:梯度、正规方程与闭式解")
        w, b, L = sp.symbols("w b L")
        x, y = example("x"), example("y")
        residual = sp.Add(y, sp.Mul(-1, w * x + b, evaluate=False), evaluate=False)
        loss = over_m(residual**2)
        local = {L: loss}

        def eq(lhs, rhs, rule, note=AT_3, check=None):
            """A line written with sums, verified with the sums written out at m = 3."""
            return d.eq(lhs, rhs, rule, note, check=check or at_n_pair(lhs, rhs, local))

        d.section("The loss: the sum of squared errors", "损失函数:误差平方和")
        d.define(L, loss, Msg("$L(w, b)$ over $m$ examples $(x⁽ⁱ⁾, y⁽ⁱ⁾)$, the model $ŷ⁽ⁱ⁾ = w·x⁽ⁱ⁾ + b$",
                              "$m$ 个样本 $(x⁽ⁱ⁾, y⁽ⁱ⁾)$ 上的 $L(w, b)$，模型为 $ŷ⁽ⁱ⁾ = w·x⁽ⁱ⁾ + b$"))

        d.section("The gradient", "梯度")
        grads = {}
        for v, inner in ((w, -x), (b, sp.S.NegativeOne)):
            lhs = sp.Derivative(L, v, evaluate=False)
            eq(lhs, over_m(sp.Derivative(residual**2, v, evaluate=False)), "sum",
               Msg("the derivative of a sum is the sum of the derivatives", "和的导数等于导数的和"))
            eq(lhs, over_m(times(2, residual, inner)), "chain",
               Msg.of("with $u = {u}$, $∂u/∂{v} = {du}$", "令 $u = {u}$,$∂u/∂{v} = {du}$", u=residual, v=v, du=inner))
            body = times(residual, x) if v == w else residual
            # x⁽ⁱ⁾ stays after the residual, where the chain rule put it (SymPy's order, which the
            # printer would re-sort, has it first); verified as the plain product
            shown = AsShown(times(arrange(residual), x)) if v == w else residual
            grads[v] = -2 * over_m(body)
            eq(lhs, -2 * over_m(shown), "constant_multiple",
               Msg("the constant $−2$ comes out of the sum", "常数 $−2$ 提到求和号外"),
               check=at_n_pair(lhs, grads[v], local))

        d.section("The normal equations", "正规方程")
        d.note(
            "At the minimum both partial derivatives are 0. Divide each by $−2$ and split the sums "
            "($Σ (aᵢ + cᵢ) = Σ aᵢ + Σ cᵢ$, $Σ c·aᵢ = c Σ aᵢ$, and the $m$ terms of $Σ b$ add up to $m·b$):",
            "在最小值处两个偏导数都为 0。各除以 $−2$ 并拆开求和"
            "($Σ (aᵢ + cᵢ) = Σ aᵢ + Σ cᵢ$,$Σ c·aᵢ = c Σ aᵢ$,$m$ 个 $b$ 相加得 $m·b$):",
        )
        sx, sy, sxx, sxy = over_m(x), over_m(y), over_m(x**2), over_m(x * y)
        normal = [  # (lhs, rhs, v) with lhs − rhs = ½ ∂L/∂v
            (sp.Add(times(w, sxx), times(b, sx), evaluate=False), sxy, w),
            (sp.Add(times(w, sx), times(m, b), evaluate=False), sy, b),
        ]
        gap = [lhs - rhs for lhs, rhs, _ in normal]  # each is 0 at the stationary point
        for (lhs, rhs, v), g in zip(normal, gap):
            # as written (w·Σ x⁽ⁱ⁾ + m·b, w's term first as in the first equation): the printer's
            # default order would put m·b first
            eq(AsShown(lhs), rhs, "rearrange",
               Msg.of("$∂L/∂{v} = 0$", "$∂L/∂{v} = 0$", v=v).then(
                   Msg.check("checked at $m = 3$: $left − right = ½ ∂L/∂{v}$",
                             "已在 $m = 3$ 时核对：$左边 − 右边 = ½ ∂L/∂{v}$", v=v)),
               check=(at_n(g, local), at_n(grads[v] / 2, local)))

        d.section("The closed form", "闭式解")
        what, bhat = sp.symbols("what bhat")
        det = times(m, sxx) - sx**2
        eq(times(w, det), times(m, sxy) - times(sx, sy), "rearrange",
           Msg("the first equation times $m$, less the second times $Σ x⁽ⁱ⁾$: $b$ cancels",
               "第一式乘以 $m$，减去第二式乘以 $Σ x⁽ⁱ⁾$，消去 $b$"),
           check=(at_n(times(w, det) - times(m, sxy) + sx * sy), at_n(m * gap[0] - sx * gap[1])))
        w_value = (times(m, sxy) - times(sx, sy)) / det
        b_value = (sy - times(what, sx)) / m
        d.let(what, w_value)
        d.let(bhat, b_value)
        solution = {w: w_value, b: (sy - w_value * sx) / m}
        back = Msg.check("checked at $m = 3$: substituted back, both normal equations hold",
                   "已在 $m = 3$ 时回代核对:两个正规方程都成立")
        solves = (at_n(sp.Matrix(gap).xreplace(solution)), sp.zeros(2, 1))
        eq(what, w_value, "solve",
           Msg("divide by $m Σ (x⁽ⁱ⁾)² − (Σ x⁽ⁱ⁾)²$, which is $> 0$ unless all $x⁽ⁱ⁾$ are equal (below)",
               "两边除以 $m Σ (x⁽ⁱ⁾)² − (Σ x⁽ⁱ⁾)²$(除非所有 $x⁽ⁱ⁾$ 相等,它大于 0,见下文)"),
           check=solves)
        eq(bhat, b_value, "solve", back, check=solves)
        # the form the notes keep: the line through the means, b̂ = ȳ − ŵ·x̄
        xbar, ybar = sp.Symbol("xbar"), sp.Symbol("ybar")
        d.let(xbar, sx / m)
        d.let(ybar, sy / m)
        eq(bhat, ybar - times(what, xbar), "rearrange",
           Msg.of("with the means $x̄ = {x}$ and $ȳ = {y}$", "其中均值 $x̄ = {x}$，$ȳ = {y}$",
                  x=sx / m, y=sy / m),
           check=(at_n(b_value, local), at_n((sy - times(what, sx)) / m, local)))

        sums, g = self._matrix_form(d, w, b, L, local, solution)
        xbar, hessian = self._second_order(d, w, b, local, sums, g)

        # the results written with sums over m are checked at m = 3: L's derivatives and Hessian
        # against sympy.diff, (ŵ, b̂) as the solution of the normal equations (as their lines)
        concrete_loss = at_n(loss)
        first = {v: at_n(grads[v]) for v in (w, b)}
        for v in (w, b):
            d.result(f"dL/d{v}", grads[v], lhs=sp.Derivative(L, v, evaluate=False),
                     check=(sp.diff(concrete_loss, v), first[v]))
        for v in (w, b):
            d.result(f"dL/d{v} (m = 3)", first[v], of=concrete_loss, wrt=v,
                     lhs=sp.Derivative(L, v, evaluate=False),
                     note=CHECKABLE, audience="check")
            d.result(f"d2L/d{v}2 (m = 3)", sp.diff(first[v], v), of=first[v], wrt=v,
                     lhs=sp.Derivative(L, (v, 2), evaluate=False),
                     note=CHECKABLE, audience="check")
        d.result("w_hat", w_value, lhs=what, check=solves)
        d.result("b_hat", b_value, lhs=bhat, check=solves)
        d.result("hessian", hessian, lhs=sp.Symbol("H"), check=(sp.hessian(concrete_loss, (w, b)), at_n(hessian)),
                 note=Msg("positive semidefinite: $L$ is convex", "半正定:$L$ 是凸函数（二阶导数矩阵半正定）"))
        d.result("x_bar", over_m(example("x")) / m, lhs=xbar)

    def _matrix_form(self, d, w, b, L, local, solution):
        """The same derivation with X = [x⁽ⁱ⁾ 1]; returns XᵀX written with sums and the engine's
        gradient."""
        d.section("Matrix form", "矩阵形式")
        d.note(Msg(
            "Stack the examples: row $i$ of $X$ is $(x⁽ⁱ⁾, 1)$, so $X$ is $m × 2$ (a column of ones multiplies $b$), $y$ is $m × 1$ and "
            "$θ = (w, b)ᵀ$, so the predictions are $Xθ$. With more "
            "features, $X$ gets one column per feature and $θ$ one weight per feature, and every line but the "
            "entries of $XᵀX$ holds unchanged.",
            "把样本堆叠起来：$X$ 的第 $i$ 行为 $(x⁽ⁱ⁾, 1)$，$X$ 为 $m × 2$（全 1 列与 $b$ 相乘）,$y$ 为 $m × 1$,$θ = (w, b)ᵀ$,"
            "预测值为 $Xθ$。特征更多时,$X$ 每个特征占一列,$θ$ 每个特征对应一个权重,"
            "除 $XᵀX$ 的元素外,其余各式不变。",
        ).then(Msg.check("Each line is checked on $3 × 2$ matrices.", "每一行都在 $3 × 2$ 矩阵上核对。")))
        X = sp.MatrixSymbol("X", m, 2)
        Y = sp.MatrixSymbol("y", m, 1)
        theta = sp.MatrixSymbol("theta", 2, 1)
        xs, ys = samples("x" + EXAMPLE), samples("y" + EXAMPLE)
        Xc = sp.Matrix([[xk, 1] for xk in xs])
        Yc = sp.Matrix(ys)
        tc = sp.Matrix([w, b])
        rc = Yc - Xc * tc
        L3 = at_n(L, local)
        r = Y - X * theta
        d.eq(L, sp.MatMul(sp.Transpose(r), r, evaluate=False), "rewrite", MATRIX, check=(L3, (rc.T * rc)[0, 0]))
        grad = sp.Derivative(L, theta, evaluate=False)
        g = self._gradient(d, L, grad, {"X": Xc, "theta": tc, "y": Yc}, L3)
        # the engine's line is already the notes' −2·Xᵀ·(y − X·θ): no line repeats it
        d.eq(X.T * X * theta, X.T * Y, "rearrange",
             Msg("$∂L/∂θ = 0$, divided by $−2$: the normal equations above",
                 "$∂L/∂θ = 0$,两边除以 $−2$:即上面的正规方程"),
             # worked out only when no remembered proof holds it: named by the loss at m = 3 and
             # the symbols it is written in, which fix both sides (with this file's code)
             check=Deferred(("least-squares normal equations", L3, w, b, *xs, *ys),
                            lambda: (Xc.T * Xc * tc - Xc.T * Yc, sp.Matrix([sp.diff(L3, w), sp.diff(L3, b)]) / 2)))
        sums = sp.ImmutableMatrix([[over_m(example("x") ** 2), over_m(example("x"))], [over_m(example("x")), m]])
        d.eq(X.T * X, sums, "rewrite", Msg("multiplied out", "展开矩阵乘积").then(ON_3X2),
             check=(Xc.T * Xc, at_n(sums)))
        d.eq(sp.MatrixSymbol("thetahat", 2, 1), sp.Inverse(X.T * X) * X.T * Y, "solve",
             Msg("when $XᵀX$ is invertible", "当 $XᵀX$ 可逆时").then(
                 Msg.check("checked at $m = 3$: equals $(ŵ, b̂)$", "已在 $m = 3$ 时核对：等于 $(ŵ, b̂)$")),
             check=((Xc.T * Xc).inv() * Xc.T * Yc, at_n(sp.Matrix([solution[w], solution[b]]))))
        return sums, g

    def _gradient(self, d, L, grad, values: dict, L3):
        """∂L/∂θ by the matrix-calculus engine: L as a sum of squares in matrix form (checked
        against the loss with X = [x⁽ⁱ⁾ 1] at m = 3), the entrywise derivative rule by rule, the
        rules of matrix calculus, and the gradient in matrix form; returns the engine's gradient."""
        from ..matrix.derivation import Shown
        from ..matrix.lines import engine_gradient, show_line

        g = engine_gradient(_gradient_line())
        d.note("The gradient by matrix calculus: the rules below applied to $L$ in matrix form.",
               "用矩阵微积分求梯度：对矩阵形式的 $L$ 运用下面的法则。")
        # the engine's X is any m × 2 matrix; the notes' has x⁽ⁱ⁾ in its first column and 1 in its second
        ours = {e: v for name, mat in values.items() for e, v in zip(g.entries(name), mat)}
        # the engine's reading of L (a sum of squared entries) and its entrywise lines are the
        # checker's: the student has L in matrix form above
        d.eq(L, Shown.of(g.f), "rewrite", MATRIX, check=(L3, g.value_at().xreplace(ours)), audience="check")
        self._entrywise(d, g)
        show_line(d, g, grad)
        return g

    @staticmethod
    def _entrywise(d, g) -> None:
        """The derivative of one squared entry, rule by rule, written of the entry itself
        (∂/∂z[(y − z)²]): the course names X, θ and y, no symbol of the engine's for the square;
        then the rules of matrix calculus the gradient uses."""
        from .. import engine
        from ..matrix.derivation import ADJOINT_RULES, nonlinear_locals

        (loc, _, _, operands), = nonlinear_locals(g.gradient.locals)
        d.note(Msg.check("Entry by entry, with {ops}:", "逐元素地，令 {ops}：", ops=operands))
        lhs = sp.Derivative(loc.phi, loc.u, evaluate=False)
        namer = engine.Namer(taken={s.name for s in loc.phi.free_symbols} | {s.name for s in d.defs})
        for line in engine.steps(engine.diff_rule(loc.phi, loc.u, namer)):
            args = line.rule.msg_args() if line.rule is not None else {}
            d.eq(lhs, line.rhs, line.key,
                 Msg.rule_note(line.key, **{k: v for k, v in args.items() if k in ("u", "g", "c", "n")}), audience="check")
        d.note("The rules of matrix calculus used:", "用到的矩阵微积分法则：")
        keys = list(dict.fromkeys(r.key for r in g.gradient.rules))
        for k, key in enumerate(keys, 1):
            en, zh = ADJOINT_RULES[key]
            d.note(en + (";" if k < len(keys) else "."), zh + ("；" if k < len(keys) else "。"))

    def _second_order(self, d, w, b, local, sums, g):
        """The Hessian 2XᵀX by the engine (the Jacobian of its gradient ``g``) and why it is
        positive semidefinite; returns (x̄, the Hessian)."""
        from ..matrix.lines import show_hessian

        d.section("Second-order condition: convexity", "二阶条件:凸性(Hessian 矩阵半正定)")
        L3 = at_n(sp.Symbol("L"), local)
        H = sp.Symbol("H")
        xs = samples("x" + EXAMPLE)
        Xc = sp.Matrix([[xk, 1] for xk in xs])
        X = sp.MatrixSymbol("X", m, 2)
        engine = show_hessian(d, g, sp.Derivative(sp.Symbol("L"), (sp.Symbol("theta"), 2), evaluate=False))
        d.eq(H, 2 * X.T * X, "second_order",
             Msg("the Hessian of $L$ in $(w, b)$: the line above with $θ = (w, b)ᵀ$",
                 "$L$ 关于 $(w, b)$ 的 Hessian 矩阵:即上一行,$θ = (w, b)ᵀ$").then(AT_N),
             check=(sp.hessian(L3, (w, b)), engine.xreplace(dict(zip(g.entries("X"), Xc)))))
        hessian = sp.MatMul(2, sums, evaluate=False)
        d.eq(H, hessian, "substitute", AT_3, check=(2 * Xc.T * Xc, at_n(hessian)))
        xbar = sp.Symbol("xbar")
        sxx, sx = sums[0, 0], sums[0, 1]
        mean = sx / m
        d.define(xbar, mean, Msg("the mean of the $x⁽ⁱ⁾$", "$x⁽ⁱ⁾$ 的均值"))
        det = times(m, sxx) - sx**2
        spread = times(m, over_m((example("x") - xbar) ** 2))
        d.eq(det, spread, "rearrange",
             Msg("the determinant of $XᵀX$", "$XᵀX$ 的行列式").then(AT_N),
             check=(at_n(det), at_n(spread, {xbar: mean})))
        d.note(
            "So $det(XᵀX) ≥ 0$ (this is the Cauchy–Schwarz inequality $(Σ 1·x⁽ⁱ⁾)² ≤ m Σ (x⁽ⁱ⁾)²$), and it is "
            "0 only when all $x⁽ⁱ⁾$ are equal. The diagonal entries $Σ (x⁽ⁱ⁾)²$ and $m$ are $≥ 0$, so the Hessian "
            "$2XᵀX$ is positive semidefinite: $L$ is convex and the stationary point $(ŵ, b̂)$ is a minimum "
            "(the only one when the $x⁽ⁱ⁾$ are not all equal).",
            "因此 $det(XᵀX) ≥ 0$(即柯西–施瓦茨不等式 $(Σ 1·x⁽ⁱ⁾)² ≤ m Σ (x⁽ⁱ⁾)²$),仅当所有 $x⁽ⁱ⁾$ 相等时为 0。"
            "对角元 $Σ (x⁽ⁱ⁾)²$ 与 $m$ 都 $≥ 0$,所以 Hessian 矩阵 $2XᵀX$ 半正定:$L$ 是凸函数,驻点 $(ŵ, b̂)$ 是最小值点"
            "(当 $x⁽ⁱ⁾$ 不全相等时是唯一的最小值点)。",
        )
        return xbar, hessian
