"""Logistic regression on the notes' two-feature computation graph, then m examples, vectorized."""

from __future__ import annotations

import sympy as sp

from ..functions import sigmoid
from ..messages import Msg
from ..network import Dense, Network, Param, Training
from .base import Model, features_option


def _vectorized_check(nx: int = 2, m: int = 2):
    """Concrete instances (n_x = 2, m = 3) of the vectorized lines and of their per-example sums,
    so that dw = (1/m) X dZᵀ and db = (1/m) Σ dZ are verified, not just shown."""
    X = sp.Matrix(nx, m, lambda j, i: sp.Symbol(f"x{j + 1}_{i + 1}"))
    Y = sp.Matrix(1, m, lambda _, i: sp.Symbol(f"y_{i + 1}"))
    w = sp.Matrix(nx, 1, lambda j, _: sp.Symbol(f"w{j + 1}"))
    b = sp.Symbol("b")
    Z = w.T * X + sp.ones(1, m) * b
    A = Z.applyfunc(sigmoid)
    zs = sp.symbols(f"z_1:{m + 1}")
    loss_of_z = [-(Y[i] * sp.log(sigmoid(zs[i])) + (1 - Y[i]) * sp.log(1 - sigmoid(zs[i]))) for i in range(m)]
    at_Z = dict(zip(zs, Z))
    losses = [loss.xreplace(at_Z) for loss in loss_of_z]
    J = sp.Add(*losses) / m
    dZ = A - Y
    grad_w = sp.Matrix([sp.diff(J, w[j]) for j in range(nx)])
    dL_dZ = sp.Matrix([[sp.diff(loss_of_z[i], zs[i]).xreplace(at_Z) for i in range(m)]])
    return {
        "dZ": (dL_dZ, dZ),
        "dw": (grad_w, X * dZ.T / m),
        "db": (sp.diff(J, b), sp.Add(*dZ) / m),
    }


class Logistic(Model):
    name = "logistic"
    title = "Logistic regression"
    summary = "Logistic regression: z = w1·x1 + w2·x2 + b, a = σ(z), dz = a − y, vectorized"
    order = 30
    trainable = True
    options = (features_option(2),)
    derivation_sizes = {"features": 2}

    def network(self) -> Network:
        """z = x·w + b with the cross-entropy of a = σ(z), on two Gaussian blobs."""
        return Network(self.features, (Dense(None, Param("w", "w{i}"), Param("b", "b")),),
                       "sigmoid-cross-entropy", Training("blobs", lr=0.5, epochs=200, optimizer="gd"),
                       inputs="x{i}")

    def point(self) -> dict:
        """z = 0.5·1 − 0.3·2 + 0.1 = 0, so a = σ(0) = 0.5 and the notes' dz = a − y, dw1 = x1·dz,
        dw2 = x2·dz, db = dz can be checked by hand: −0.5, −0.5, −1, −0.5."""
        return {"x1": 1, "x2": 2, "w1": "0.5", "w2": "-0.3", "b": "0.1", "y": 1}

    def build(self, d) -> None:
        d.title = Msg("Logistic regression: gradients on the computation graph", "逻辑回归（二分类）:计算图上的梯度")
        x1, x2, w1, w2, b, y = sp.symbols("x1 x2 w1 w2 b y")
        z, a, L = sp.symbols("z a L")

        d.section("Forward pass (one example, two features)", "前向传播(一个样本,两个特征)")
        d.define(z, w1 * x1 + w2 * x2 + b)
        d.define(a, sigmoid(z), Msg("the prediction $ŷ = a$", "预测值 $ŷ = a$"))
        loss = sp.Add(sp.Mul(y, sp.log(a), evaluate=False),
                      sp.Mul(1 - y, sp.log(1 - a), evaluate=False), evaluate=False)
        d.define(L, sp.Mul(-1, loss, evaluate=False),
                 Msg("the loss function $L(a, y)$", "损失函数 $L(a, y)$"))

        d.section("Backward pass", "反向传播")
        # dz = a − y with the algebra students ask about: a(1 − a) into each term, then the two
        # a·y of −y + a·y + a − a·y cancel
        multiplied = sp.Add(sp.Mul(-1, y, 1 - a, evaluate=False), sp.Mul(1 - y, a, evaluate=False), evaluate=False)
        grads = d.backward(
            L, [a, z, w1, w2, b],
            names={a: sp.Symbol("da"), z: sp.Symbol("dz"), w1: sp.Symbol("dw1"), w2: sp.Symbol("dw2")},
            opened={z: [(multiplied, "rearrange", Msg("$a(1 − a)$ times each term", "$a(1 − a)$ 乘以每一项"))]},
        )

        d.section("$m$ examples: the cost $J$ and the vectorized gradients", "$m$ 个样本:代价函数 $J$ 与向量化的梯度")
        d.note(
            "The cost is the mean loss $J = (1/m) Σ L(a⁽ⁱ⁾, y⁽ⁱ⁾)$; its gradient is the mean of the "
            "per-example gradients. Stack the $m$ examples as columns: $X$ is $n_x × m$, $w$ is $n_x × 1$, "
            "$b$ is a number, $Z = wᵀX + b$ and $A = σ(Z)$ are $1 × m$.",
            "代价函数是损失的平均 $J = (1/m) Σ L(a⁽ⁱ⁾, y⁽ⁱ⁾)$,其梯度是各样本梯度的平均。把 $m$ 个样本按列排成"
            " $X(n_x × m)$,$w$ 为 $n_x × 1$,$b$ 为标量,$Z = wᵀX + b$ 与 $A = σ(Z)$ 为 $1 × m$。",
        )
        X = sp.MatrixSymbol("X", sp.Symbol("n_x"), sp.Symbol("m"))
        A = sp.MatrixSymbol("A", 1, sp.Symbol("m"))
        Y = sp.MatrixSymbol("Y", 1, sp.Symbol("m"))
        dZ = sp.MatrixSymbol("dZ", 1, sp.Symbol("m"))
        m = sp.Symbol("m")
        checks = _vectorized_check()
        vec = Msg.check("checked on $n_x = 2$, $m = 2$ against the per-example sums",
                  "已在 $n_x = 2$、$m = 2$ 上与逐样本求和核对")
        d.eq(dZ, A - Y, "vectorize", vec, check=checks["dZ"])
        d.eq(sp.Symbol("dw"), sp.MatMul(1 / m, X, dZ.T), "mean", vec, check=checks["dw"])
        d.eq(sp.Symbol("db"), sp.Sum(sp.Indexed("dZ", sp.Symbol("i")), (sp.Symbol("i"), 1, m)) / m,
             "mean", vec, check=checks["db"])

        d.section("One step of gradient descent", "梯度下降的一步")
        d.note("With the learning rate $α$, each step moves every parameter against its gradient (with $m$ "
               "examples, $dw$ and $db$ the means above), as the notes end:",
               "设学习率为 $α$，每一步都让每个参数沿其梯度的反方向移动（有 $m$ 个样本时，$dw$ 与 $db$ 取上面的平均），"
               "即笔记最后的更新：")
        # an assignment, not an equation: it is shown, not verified
        d.note("$w₁ := w₁ − α·dw₁$, $w₂ := w₂ − α·dw₂$, $b := b − α·db$")

        for node, name in ((a, "da"), (z, "dz"), (w1, "dw1"), (w2, "dw2"), (b, "db")):
            d.result(name, grads[node], of=L, wrt=node, label=name)
