"""Logistic regression on the notes' two-feature computation graph, then m examples, vectorized."""

from __future__ import annotations

import sympy as sp

from ..functions import sigmoid
from ..matrix.derivation import Shown
from ..matrix.lines import MatrixLine, engine_gradient, show_line, show_rules
from ..messages import Msg
from ..network import Dense, Network, Param, Training
from ._notation import example, opened_dz, total
from .base import Model, features_option


def _vectorized_check(nx: int = 2, m: int = 2):
    """A concrete instance (n_x = 2, m = 2) of dZ = A − Y against the per-example derivatives
    ∂L/∂z⁽ⁱ⁾, so that the vectorized line is verified, not just shown."""
    X = sp.Matrix(nx, m, lambda j, i: sp.Symbol(f"x{j + 1}_{i + 1}"))
    Y = sp.Matrix(1, m, lambda _, i: sp.Symbol(f"y_{i + 1}"))
    w = sp.Matrix(nx, 1, lambda j, _: sp.Symbol(f"w{j + 1}"))
    b = sp.Symbol("b")
    Z = w.T * X + sp.ones(1, m) * b
    A = Z.applyfunc(sigmoid)
    zs = sp.symbols(f"z_1:{m + 1}")
    at_Z = dict(zip(zs, Z))
    dL_dZ = sp.Matrix([[sp.diff(_loss(Y[i], zs[i]), zs[i]).xreplace(at_Z) for i in range(m)]])
    return dL_dZ, A - Y


def _loss(y, z):
    """The cross-entropy of one example with z = wᵀx + b: −(y log σ(z) + (1 − y) log(1 − σ(z)))."""
    return -(y * sp.log(sigmoid(z)) + (1 - y) * sp.log(1 - sigmoid(z)))


# The cost over m examples in matrix form (examples as columns), the engine's input; the notes'
# dw = (1/m)·X·dZᵀ and db = (1/m)·Σ dZ⁽ⁱ⁾ are its gradients written with dZ = A − Y.
COST = "sum((-Y * log(sigmoid(w.T @ X + b)) - (1 - Y) * log(1 - sigmoid(w.T @ X + b))) / m)"
SHAPES = ("X=n_x,m", "w=n_x", "Y=1,m")
DZ = (("dZ", "sigmoid(w.T @ X + b) - Y"),)
LINES = (
    MatrixLine(COST, SHAPES, "w", "X @ dZ.T / m", DZ),
    MatrixLine(COST, SHAPES, "b", "sum(dZ) / m", DZ),
)


class Logistic(Model):
    name = "logistic"
    title = "Logistic regression"
    summary = "Logistic regression: z = w1·x1 + w2·x2 + b, a = σ(z), dz = a − y, vectorized"
    order = 40
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

    def graph_data(self) -> tuple:
        """The label y is data: ∂L/∂y means nothing to training, so the graph leaves it out."""
        return ("y",)

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
        # y·a of −y + y·a + a − y·a cancel
        grads = d.backward(
            L, [a, z, w1, w2, b],
            names={a: sp.Symbol("da"), z: sp.Symbol("dz"), w1: sp.Symbol("dw1"), w2: sp.Symbol("dw2")},
            opened={z: opened_dz(a, y)},
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
        vec = Msg.check("checked on $n_x = 2$, $m = 2$ against the per-example derivatives",
                        "已在 $n_x = 2$、$m = 2$ 上与逐样本的导数核对")
        d.eq(dZ, A - Y, "vectorize", vec, check=_vectorized_check())
        self._matrix_calculus(d, X, dZ, m)

        d.section("One step of gradient descent", "梯度下降的一步")
        d.note("With the learning rate $α$, each step moves every parameter against its gradient (with $m$ "
               "examples, $dw$ and $db$ the means above), as the notes end:",
               "设学习率为 $α$，每一步都让每个参数沿其梯度的反方向移动（有 $m$ 个样本时，$dw$ 与 $db$ 取上面的平均），"
               "即笔记最后的更新：")
        # an assignment, not an equation: it is shown, not verified
        d.note("$w₁ := w₁ − α·dw₁$, $w₂ := w₂ − α·dw₂$, $b := b − α·db$")

        for node, name in ((a, "da"), (z, "dz"), (w1, "dw1"), (w2, "dw2"), (b, "db")):
            d.result(name, grads[node], of=L, wrt=node, label=name)

    def _matrix_calculus(self, d, X, dZ, m) -> None:
        """dw and db derived from J in matrix form by the matrix-calculus engine, then written
        with dZ as the notes write them (each line verified at small sizes)."""
        grads = [engine_gradient(line) for line in LINES]
        g = grads[0]
        J = sp.Symbol("J")
        d.note("The vectorized gradients by matrix calculus (as derive does for a matrix expression): write $J$ "
               "with matrices, differentiate entry by entry, and apply the rules of matrix calculus.",
               "用矩阵微积分求向量化的梯度(与 derive 对矩阵表达式的求导相同):用矩阵写出 $J$,逐元素求导,"
               "再用矩阵微积分法则。")
        X_, w_, Y_ = (g.entries(name) for name in ("X", "w", "Y"))
        b_ = g.entries("b")[0, 0]
        by_example = [_loss(Y_[0, i], (w_.T * X_[:, i])[0, 0] + b_) for i in range(X_.cols)]
        d.eq(J, Shown.of(g.f), "rewrite", Msg("in matrix form", "矩阵形式").then(Msg.check(
            "checked at {sizes} against the mean of the per-example losses",
            "已在 {sizes} 时与逐样本损失的平均核对", sizes=g.sizes_text())),
            check=(sp.Add(*by_example) / len(by_example), g.value_at()))
        show_rules(d, grads, work=Msg("as $dz = a − y$ for one example", "与单个样本的 $dz = a − y$ 相同"))
        same = Msg("with $dZ = A − Y$", "其中 $dZ = A − Y$").then(Msg.check(
            "checked at {sizes}: equal to the line above", "已在 {sizes} 时核对:与上一行相等",
            sizes=g.sizes_text()))
        # db as Ng writes it: the mean of the examples' dz⁽ⁱ⁾, the entries of dZ
        notes = {"w": (sp.Symbol("dw"), sp.MatMul(1 / m, X, dZ.T)),
                 "b": (sp.Symbol("db"), total(example("dz"), m) / m)}
        for engine in grads:
            wrt = engine.line.wrt
            show_line(d, engine, sp.Derivative(J, sp.Symbol(wrt), evaluate=False))
            d.eq(*notes[wrt], "rewrite", same, check=engine.form_check())
