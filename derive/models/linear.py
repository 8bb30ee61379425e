"""Linear regression ŷ = w·x + b and the gradient of its squared error, one example and m."""

from __future__ import annotations

from typing import TYPE_CHECKING

import sympy as sp

from ..messages import Msg
from ..printing import EXAMPLE, AsShown, arrange
from ._notation import example, i, m, mul, total
from .base import Model, features_option

if TYPE_CHECKING:
    from ..network import Network


def _mean_check(m: int = 3):
    """The m-example gradient at m = 3: sympy.diff of the explicit mean against the sum form."""
    w, b = sp.symbols("w b")
    xs, ys = sp.symbols(f"x_1:{m + 1}"), sp.symbols(f"y_1:{m + 1}")
    J = sp.Add(*[(b + w * x - y) ** 2 for x, y in zip(xs, ys)]) / m
    grad_w = sp.Rational(2, m) * sp.Add(*[(b + w * x - y) * x for x, y in zip(xs, ys)])
    grad_b = sp.Rational(2, m) * sp.Add(*[(b + w * x - y) for x, y in zip(xs, ys)])
    return (sp.diff(J, w), grad_w), (sp.diff(J, b), grad_b)


class Linear(Model):
    name = "linear"
    title = "Linear regression"
    title_zh = "线性回归"    # the title of `derive train --lang zh`
    summary = "Linear regression: ŷ = w·x + b and the gradient of its squared error"
    order = 15
    trainable = True
    options = (features_option(1),)
    derivation_sizes = {"features": 1}

    def network(self) -> Network:
        """ŷ = x·w + b with the squared error, on a noisy line (a noisy plane with more features)."""
        from ..network import Dense, Network, Param, Training

        return Network(self.features, (Dense(None, Param("w", "w"), Param("b", "b")),), "squared",
                       Training("noisy-line", lr=0.1, epochs=300, optimizer="gd"), inputs="x")

    def build(self, d) -> None:
        d.title = Msg("Linear regression: the gradient of the squared error",
                      "线性回归:平方误差的梯度")
        w, b, x, y = sp.symbols("w b x y")
        yhat, L = sp.symbols("yhat L")

        d.section("Forward pass (one example)", "前向传播(一个样本)")
        d.define(yhat, b + w * x, Msg("the model", "模型"))
        d.define(L, (yhat - y) ** 2, Msg("squared error", "平方误差"))

        d.section("Backward pass", "反向传播")
        grads = d.backward(L, [yhat])
        # the notes write ∂L/∂w = 2(ŷ − y)·x: the factor itself, not a name dŷ for it
        for v in (w, b):
            local = d.local(yhat, v)
            lhs = sp.Derivative(L, v, evaluate=False)
            d.eq(lhs, sp.Derivative(L, yhat, evaluate=False) * sp.Derivative(yhat, v, evaluate=False), "chain")
            grads[v] = d.eq(lhs, mul(2, yhat - y, *([local] if local != 1 else [])), "substitute")

        d.section("$m$ examples and gradient descent", "$m$ 个样本与梯度下降")
        d.note(
            "Over $m$ examples the cost is $J = (1/m) Σ (ŷ⁽ⁱ⁾ − y⁽ⁱ⁾)²$ and each parameter moves against "
            "its gradient, with the learning rate $η$: $w ← w − η·dw$, $b ← b − η·db$, where the notes' "
            "$dw = ∂J/∂w$ and $db = ∂J/∂b$ are gradients of the cost.",
            "对 $m$ 个样本,代价函数为 $J = (1/m) Σ (ŷ⁽ⁱ⁾ − y⁽ⁱ⁾)²$;梯度下降以学习率 $η$ 沿梯度的反方向更新参数:"
            "$w ← w − η·dw$,$b ← b − η·db$,其中笔记的 $dw = ∂J/∂w$、$db = ∂J/∂b$ 是代价函数的梯度。",
        )
        xi, yi, yhat_i = example("x"), example("y"), example("yhat")
        check_w, check_b = _mean_check()
        checked = Msg.check("checked at $m = 3$ against the derivative of the explicit sum",
                            "已在 $m = 3$ 时与显式求和的导数核对")
        per_example = Msg.of("the gradient of one example from above, with $ŷ⁽ⁱ⁾ = w·x⁽ⁱ⁾ + b$",
                             "上面单个样本的梯度，其中 $ŷ⁽ⁱ⁾ = w·x⁽ⁱ⁾ + b$").then(checked)
        # J is the mean of the per-example losses, so its gradient is the mean of theirs
        means = {}
        for name, wrt, factor, check in (("dw", w, xi, check_w), ("db", b, 1, check_b)):
            lhs = sp.Symbol(name)
            loss_i = sp.Indexed(sp.IndexedBase("L" + EXAMPLE), i)
            d.eq(lhs, total(sp.Derivative(loss_i, wrt, evaluate=False), m) / m, "mean",
                 Msg.of("$J$ is the mean of the losses $L⁽ⁱ⁾$", "$J$ 是各样本损失 $L⁽ⁱ⁾$ 的平均").then(checked),
                 check=check)
            body = mul(yhat_i - yi, factor) if factor != 1 else yhat_i - yi
            # (ŷ⁽ⁱ⁾ − y⁽ⁱ⁾)·x⁽ⁱ⁾ in the order of the one example's 2·(ŷ − y)·x above (SymPy's own
            # order, which the printer would re-sort); the line is verified through ``check``
            shown = body if factor == 1 else AsShown(mul(arrange(yhat_i - yi), factor))
            d.eq(lhs, 2 * total(shown, m) / m, "substitute", per_example, check=check)
            means[name] = (wrt, check, 2 * total(body, m) / m)

        # one name, one quantity: dw and db are the cost's gradients (the notes' names), the one
        # example's are shown as ∂L/∂w and ∂L/∂b
        d.result("dyhat", grads[yhat], of=L, wrt=yhat)
        d.result("dw", grads[w], of=L, wrt=w)
        d.result("db", grads[b], of=L, wrt=b)
        for name, (wrt, check, mean) in means.items():
            d.result(f"dJ/d{wrt}", mean, lhs=sp.Derivative(sp.Symbol("J"), wrt, evaluate=False), check=check, label=name)
