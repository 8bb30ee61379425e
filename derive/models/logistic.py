"""Logistic regression on the notes' two-feature computation graph, then m examples, vectorized."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

import sympy as sp

from ..functions import sigmoid
from ..messages import Msg
from ..verify import Deferred, stacked
from ._concrete import CHECK_N
from ._lazy import lazy_constants
from ._notation import ExampleColumn, example, m, mul, opened_dz, sigmoid_derived_later, total
from .base import Model, features_option

if TYPE_CHECKING:
    from ..network import Network


class _Loop:
    """The training set at n_x = 2 and m = CHECK_N as plain symbols: the columns x⁽ⁱ⁾ of X, the
    labels y⁽ⁱ⁾, w and b, with J written out as the mean of the m per-example losses. The lines
    of Ng's loop over the m examples are verified on it against ``sympy.diff`` of J."""

    def __init__(self, nx: int = 2, m: int = CHECK_N):
        self.X = sp.Matrix(nx, m, lambda j, i: sp.Symbol(f"x{j + 1}_{i + 1}"))
        self.Y = sp.Matrix(1, m, lambda _, i: sp.Symbol(f"y_{i + 1}"))
        self.w = sp.Matrix(nx, 1, lambda j, _: sp.Symbol(f"w{j + 1}"))
        self.b = sp.Symbol("b")
        self.m = m
        # Z = wᵀX + b: the number b is broadcast to every column
        self.Z = self.w.T * self.X + self.b * sp.ones(1, m)
        self.dZ = self.Z.applyfunc(sigmoid) - self.Y
        self.J = sum(_loss(self.Y[i], self.Z[i]) for i in range(m)) / m
        # dz⁽ⁱ⁾ as free symbols: the last step is an identity in them
        self.free_dZ = sp.Matrix(1, m, lambda _, i: sp.Symbol(f"dz_{i + 1}"))

    def column(self, i: int) -> sp.Matrix:
        return self.X[:, i]

    def loop_dw(self, dZ: sp.Matrix) -> sp.Matrix:
        """(1/m)·Σ_i x⁽ⁱ⁾·dz⁽ⁱ⁾, the loop over the examples."""
        return sum((self.column(i) * dZ[i] for i in range(self.m)), sp.zeros(self.X.rows, 1)) / self.m

    def grad_w(self) -> sp.Matrix:
        return sp.Matrix([sp.diff(self.J, wj) for wj in self.w])


def _loss(y, z):
    """The cross-entropy of one example with z = wᵀx + b: −(y log σ(z) + (1 − y) log(1 − σ(z)))."""
    return -(y * sp.log(sigmoid(z)) + (1 - y) * sp.log(1 - sigmoid(z)))


# The cost over m examples in matrix form (examples as columns), the engine's input; the notes'
# dw = (1/m)·X·dZᵀ and db = (1/m)·Σ dZ⁽ⁱ⁾ are its gradients written with dZ = A − Y.
COST = "sum((-Y * log(sigmoid(w.T @ X + b)) - (1 - Y) * log(1 - sigmoid(w.T @ X + b))) / m)"
SHAPES = ("X=n_x,m", "w=n_x", "Y=1,m")
DZ = (("dZ", "sigmoid(w.T @ X + b) - Y"),)


@cache
def _lines() -> tuple:
    """``LINES``: ∂J/∂w and ∂J/∂b for the engine, each with the notes' form."""
    from ..matrix.lines import MatrixLine

    return (MatrixLine(COST, SHAPES, "w", "X @ dZ.T / m", DZ), MatrixLine(COST, SHAPES, "b", "sum(dZ) / m", DZ))


# the engine is imported by a build, not by a run that renders the stored derivation
__getattr__ = lazy_constants(globals(), LINES=_lines)


class Logistic(Model):
    name = "logistic"
    title = "Logistic regression"
    title_zh = "逻辑回归（二分类）"    # the title of `derive train --lang zh`
    summary = "Logistic regression: z = w1·x1 + w2·x2 + b, a = σ(z), dz = a − y, vectorized"
    order = 40
    trainable = True
    options = (features_option(2),)
    derivation_sizes = {"features": 2}

    def network(self) -> Network:
        """z = x·w + b with the cross-entropy of a = σ(z), on two Gaussian blobs."""
        from ..network import Dense, Network, Param, Training

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
        d.note("For one example the notes name the loss's gradients after their variables: "
               "$da = ∂L/∂a$, $dz = ∂L/∂z$.",
               "对一个样本，笔记用变量名给损失的梯度命名：$da = ∂L/∂a$，$dz = ∂L/∂z$。")
        # dz = a − y with the algebra students ask about: a(1 − a) into each term, then the two
        # y·a of −y + y·a + a − y·a cancel
        start = len(d.steps)
        grads = d.backward(
            L, [a, z, w1, w2, b],
            names={a: sp.Symbol("da"), z: sp.Symbol("dz")},
            opened={z: opened_dz(a, y)},
        )
        sigmoid_derived_later(d, start)

        d.section("$m$ examples: the cost $J$ and the vectorized gradients", "$m$ 个样本:代价函数 $J$ 与向量化的梯度")
        d.note(
            "The cost is the mean loss $J = (1/m) Σ L(a⁽ⁱ⁾, y⁽ⁱ⁾)$. Stack the $m$ examples as columns: $X$ is $n_x × m$, $w$ is $n_x × 1$, "
            "$b$ is a number, $Z = wᵀX + b$ and $A = σ(Z)$ are $1 × m$.",
            "代价函数是损失的平均 $J = (1/m) Σ L(a⁽ⁱ⁾, y⁽ⁱ⁾)$。把 $m$ 个样本按列排成"
            " $X(n_x × m)$,$w$ 为 $n_x × 1$,$b$ 为标量,$Z = wᵀX + b$ 与 $A = σ(Z)$ 为 $1 × m$。",
        )
        dw_line, db_line, J_written = self._loop(d)

        d.section("One step of gradient descent", "梯度下降的一步")
        d.note("With the learning rate $α$, each step moves every parameter against its gradient (with $m$ "
               "examples, $dw$ and $db$ the means above), as the notes end:",
               "设学习率为 $α$，每一步都让每个参数沿其梯度的反方向移动（有 $m$ 个样本时，$dw$ 与 $db$ 取上面的平均），"
               "即笔记最后的更新：")
        # an assignment, not an equation: it is shown, not verified
        d.note("$w₁ := w₁ − α·dw₁$, $w₂ := w₂ − α·dw₂$, $b := b − α·db$")

        # one name, one quantity: da and dz are one example's (as the notes write them), dw and db
        # the cost's, so one example's ∂L/∂w₁, ∂L/∂w₂, ∂L/∂b are shown without a name
        for node, name in ((a, "da"), (z, "dz"), (w1, "dw1"), (w2, "dw2"), (b, "db")):
            d.result(name, grads[node], of=L, wrt=node, label=name if node in (a, z) else "")
        J = sp.Symbol("J")
        for name, wrt, (mean, check, entry, value) in (("dw", sp.Symbol("w"), dw_line), ("db", b, db_line)):
            d.result(f"dJ/d{wrt}", mean, lhs=sp.Derivative(J, wrt, evaluate=False), of=J_written, wrt=entry,
                     value=value, check=check, label=name)

    @staticmethod
    def _column(d, loop: _Loop) -> None:
        """z⁽ⁱ⁾ = wᵀ·x⁽ⁱ⁾ + b, column i of Z = wᵀX + b (b broadcast), verified on the written-out
        training set against the one-example z = w₁·x₁ + w₂·x₂ + b at each column x⁽ⁱ⁾."""
        nx = sp.Symbol("n_x")
        w, b = sp.MatrixSymbol("w", nx, 1), sp.MatrixSymbol("b", 1, 1)
        one = sum(sp.Symbol(f"w{j + 1}") * sp.Symbol(f"x{j + 1}") for j in range(loop.X.rows)) + loop.b
        by_example = sp.Matrix([[one.xreplace({sp.Symbol(f"x{j + 1}"): loop.X[j, i] for j in range(loop.X.rows)})
                                 for i in range(loop.m)]])
        d.eq(ExampleColumn("z", 1, 1), sp.MatAdd(sp.MatMul(w.T, ExampleColumn("x", nx, 1)), b), "definition",
             Msg("column $i$ of $Z = wᵀX + b$: the number $b$ is added to every column (broadcasting)",
                 "$Z = wᵀX + b$ 的第 $i$ 列：标量 $b$ 加到每一列上（广播）").then(Msg.check(
                 "checked at $n_x = 2$, $m = {m}$ against $z = w₁·x₁ + w₂·x₂ + b$ at each column",
                 "已在 $n_x = 2$、$m = {m}$ 时与每一列上的 $z = w₁·x₁ + w₂·x₂ + b$ 核对", m=loop.m)),
             check=(loop.Z, by_example))

    def _loop(self, d) -> tuple:
        """Ng's loop over the m examples: column i of Z is one example's z, so its dz is the one
        derived above; dw and db are the means of the examples' x⁽ⁱ⁾·dz⁽ⁱ⁾ and dz⁽ⁱ⁾, and the sum
        over the columns is the matrix product X·dZᵀ. Each line is verified on the training set
        written out at n_x = 2, m = 3 (``_Loop``), the matrix line also against the
        matrix-calculus engine's ∂J/∂w (``LINES``). Returns the matrix forms of dw and db, each
        with the pair that verified it, an entry and that entry's value on the written-out training
        set, and the cost J written out there, for the results."""
        loop = _Loop()
        at = loop.m
        sizes = Msg.check("checked at $n_x = 2$, $m = {m}$ against sympy.diff of $J$ written out",
                          "已在 $n_x = 2$、$m = {m}$ 时与逐项写出的 $J$ 的 sympy.diff 核对", m=at)
        self._column(d, loop)
        d.note("So each column is one example's computation graph above, and its derivative is the "
               "$dz$ found there:",
               "所以每一列就是上面一个样本的计算图，它的导数就是那里求出的 $dz$：")
        each = Msg.check("checked at $n_x = 2$, $m = {m}$ against sympy.diff of each example's loss",
                         "已在 $n_x = 2$、$m = {m}$ 时与每个样本损失的 sympy.diff 核对", m=at)
        zs = sp.symbols(f"z_1:{at + 1}")

        def per_example():
            return sp.Matrix([[sp.diff(_loss(loop.Y[i], zs[i]), zs[i]) for i in range(at)]])

        # the checks below are worked out only when no remembered proof holds them: the training
        # set written out is fixed by its size and this file's code, which name them
        d.eq(example("dz"), example("a") - example("y"),
             "substitute", Msg("as for one example, with $a⁽ⁱ⁾ = σ(z⁽ⁱ⁾)$", "与单个样本相同，其中 $a⁽ⁱ⁾ = σ(z⁽ⁱ⁾)$")
             .then(each), check=Deferred(("logistic loop", at, "dz per example"),
                                         lambda: (per_example(), sp.Matrix([[sigmoid(z) for z in zs]]) - loop.Y)))
        dZ, A, Y = (sp.MatrixSymbol(name, 1, m) for name in ("dZ", "A", "Y"))
        d.eq(dZ, A - Y, "vectorize",
             Msg("the columns $dz⁽ⁱ⁾$ side by side", "把各列 $dz⁽ⁱ⁾$ 并排放在一起").then(each),
             check=Deferred(("logistic loop", at, "dZ"),
                            lambda: (per_example().xreplace(dict(zip(zs, loop.Z))), loop.dZ)))
        d.note("The cost $J$ is the mean of the losses, so each of its gradients is the mean of the "
               "examples' gradients: example $i$ adds $dw⁽ⁱ⁾ = x⁽ⁱ⁾·dz⁽ⁱ⁾$ (the $∂L/∂w₁ = x₁·dz$ above, "
               "one entry per feature) and $db⁽ⁱ⁾ = dz⁽ⁱ⁾$, as the loop of the notes accumulates them.",
               "代价函数 $J$ 是各损失的平均，所以它的梯度是各样本梯度的平均：第 $i$ 个样本贡献 "
               "$dw⁽ⁱ⁾ = x⁽ⁱ⁾·dz⁽ⁱ⁾$（即上面的 $∂L/∂w₁ = x₁·dz$，每个特征一个分量）和 $db⁽ⁱ⁾ = dz⁽ⁱ⁾$，"
               "正如笔记中的循环把它们累加起来。")
        dw, db = sp.Symbol("dw"), sp.Symbol("db")
        d.eq(dw, total(mul(example("x"), example("dz")), m) / m, "mean",
             Msg("$dw = ∂J/∂w$", "$dw = ∂J/∂w$").then(sizes),
             check=Deferred(("logistic loop", at, "dw"), lambda: (loop.grad_w(), loop.loop_dw(loop.dZ))))
        from ..matrix.lines import engine_gradient

        engine = engine_gradient(_lines()[0])
        dw_check = stacked(((loop.loop_dw(loop.free_dZ), loop.X * loop.free_dZ.T / at), engine.form_check()))
        dw_matrix = d.eq(dw, sp.MatMul(1 / m, sp.MatrixSymbol("X", sp.Symbol("n_x"), m), dZ.T), "rewrite",
             Msg("entry $j$ of $X·dZᵀ$ is $Σ_i X_ji·dz⁽ⁱ⁾$: the columns $x⁽ⁱ⁾$, each times its "
                 "$dz⁽ⁱ⁾$, summed, are the matrix product",
                 "$X·dZᵀ$ 的第 $j$ 个分量是 $Σ_i X_ji·dz⁽ⁱ⁾$：各列 $x⁽ⁱ⁾$ 乘以各自的 $dz⁽ⁱ⁾$ 再求和，"
                 "正是矩阵乘积").then(Msg.check(
                 "checked at $n_x = 2$, $m = {m}$ for any $dz⁽ⁱ⁾$, and at {sizes} against the "
                 "matrix-calculus engine's $∂J/∂w$",
                 "已在 $n_x = 2$、$m = {m}$ 时对任意 $dz⁽ⁱ⁾$ 核对，并在 {sizes} 时与矩阵微积分引擎的 $∂J/∂w$ 核对",
                 m=at, sizes=engine.sizes_text())),
             check=dw_check)
        db_sum_check = (sp.diff(loop.J, loop.b), sum(loop.dZ) / at)
        db_sum = d.eq(db, total(example("dz"), m) / m, "mean", Msg("$db = ∂J/∂b$", "$db = ∂J/∂b$").then(sizes),
                      check=db_sum_check)
        # the matrix form of db, (1/m)·np.sum(dZ), is the engine's: the sum of the entries
        db_check = engine_gradient(_lines()[1]).form_check()
        d.eq(db, sp.Mul(1 / m, sp.Function("sum")(dZ), evaluate=False), "rewrite",
             Msg("the sum over the examples is the sum of the entries of $dZ$",
                 "对各样本求和就是对 $dZ$ 的各元素求和").then(Msg.check(
                 "checked at {sizes} against the matrix-calculus engine's $∂J/∂b$",
                 "已在 {sizes} 时与矩阵微积分引擎的 $∂J/∂b$ 核对", sizes=engine.sizes_text())),
             check=db_check)
        # each re-checked as sympy.diff of J written out at n_x = 2, m = 3, in its first entry; db
        # as the notes sum it, (1/m)·Σ dz⁽ⁱ⁾ (sum(dZ) is NumPy's spelling, shown in the line above)
        return ((dw_matrix, dw_check, loop.w[0], (loop.X * loop.dZ.T)[0] / at),
                (db_sum, db_sum_check, loop.b, sum(loop.dZ) / at), loop.J)
