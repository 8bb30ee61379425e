"""Linear regression ŷ = b + w·x and the gradient of its squared error, one example and m."""

from __future__ import annotations

import sympy as sp

from ..messages import Msg
from ..network import Dense, Network, Param, Training
from .base import Model, features_option


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
    summary = "Linear regression: ŷ = b + w·x and the gradient of its squared error"
    order = 40
    trainable = True
    options = (features_option(1),)
    derivation_sizes = {"features": 1}

    def network(self) -> Network:
        """ŷ = x·w + b with the squared error, on a noisy line (a noisy plane with more features)."""
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
        grads = d.backward(L, [yhat, w, b], names={yhat: sp.Symbol("dyhat")})

        d.section("$m$ examples and gradient descent", "$m$ 个样本与梯度下降")
        d.note(
            "Over $m$ examples the cost is $J = (1/m) Σ (ŷ⁽ⁱ⁾ − y⁽ⁱ⁾)²$ and each parameter moves against "
            "its gradient, with the learning rate $η$: $w ← w − η ∂J/∂w$, $b ← b − η ∂J/∂b$.",
            "对 $m$ 个样本,代价函数为 $J = (1/m) Σ (ŷ⁽ⁱ⁾ − y⁽ⁱ⁾)²$;梯度下降以学习率 $η$ 沿梯度的反方向更新参数:"
            "$w ← w − η ∂J/∂w$,$b ← b − η ∂J/∂b$。",
        )
        i, m = sp.symbols("i m", integer=True, positive=True)
        xi, yi = sp.Indexed("x", i), sp.Indexed("y", i)
        check_w, check_b = _mean_check()
        checked = Msg.check("checked at $m = 3$ against the derivative of the explicit sum",
                      "已在 $m = 3$ 时与显式求和的导数核对")
        d.eq(sp.Symbol("dw"), 2 * sp.Sum((b + w * xi - yi) * xi, (i, 1, m)) / m, "mean", checked, check=check_w)
        d.eq(sp.Symbol("db"), 2 * sp.Sum(b + w * xi - yi, (i, 1, m)) / m, "mean", checked, check=check_b)

        d.result("dyhat", grads[yhat], of=L, wrt=yhat)
        d.result("dw", grads[w], of=L, wrt=w, label="dw")
        d.result("db", grads[b], of=L, wrt=b, label="db")
