"""One hidden layer and a softmax output: forward and backward pass in matrix form.

The backward pass is derived for one example in index form (the activation's derivative by the
rule engine, the output layer from the softmax result), then stacked over m examples as the
notes write it, examples as columns (X is n_x × m). Every index-form line is checked on
n_x = 2 inputs, n_h = 2 hidden units, n_y = 2 classes; every matrix line against ``sympy.diff``
of the explicit mean loss with m = 2 examples.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

import sympy as sp
from sympy import Derivative, IndexedBase, Sum

from ..functions import relu, sigmoid
from ..messages import Msg
from ..verify import Deferred, expand_defs
from .base import Model, Option, classes_option, features_option, hidden_option
from ._concrete import Instance, ramps
from ._notation import Hadamard, Squared, example, mul, sigmoid_derived_later, total

if TYPE_CHECKING:
    from ..network import Network

_ACTIVATIONS = {"sigmoid": sigmoid, "tanh": sp.tanh, "relu": relu}
# The one-example names with the notes' layer superscripts: z^[1]_j prints z[1]_j, LaTeX z^{[1]}_{j}.
LAYERED = ("W^[1]", "b^[1]", "z^[1]", "a^[1]", "W^[2]", "b^[2]", "z^[2]", "a^[2]", "dz^[2]", "da^[1]", "dz^[1]")


def _g_prime(name: str, z):
    """g′(z) as ``sympy.diff`` writes it for the named activation."""
    if name == "sigmoid":
        return mul(sigmoid(z), 1 - sigmoid(z))
    if name == "tanh":
        return 1 - sp.tanh(z) ** 2
    return sp.Heaviside(z, 0)


def _g_prime_of_a(name: str, a, z):
    """g′ written with the activation's output a = g(z), as the notes do."""
    if name == "sigmoid":
        return mul(a, 1 - a)
    if name == "tanh":
        return 1 - a**2
    return sp.Heaviside(z, 0)


def _activation_derivative(d, act: str, a, z):
    """Write ∂a/∂z for a = g(z) rule by rule, then with a where the notes do (1 − a² for tanh);
    return the derivative's symbol and that form."""
    g = _ACTIVATIONS[act]
    d.note("The activation's derivative, rule by rule:", "激活函数的导数,逐条法则:")
    d.let(a, g(z))
    local = Derivative(a, z, evaluate=False)
    start = len(d.steps)
    d.work(local, g(z), z)
    sigmoid_derived_later(d, start)
    g_prime = _g_prime_of_a(act, a, z)
    if act == "relu":
        # one notation for ReLU′ on the page, tied to the piecewise form Activation functions derives
        d.note("Here $[z > 0]$ is 1 where $z > 0$ and 0 elsewhere: $ReLU′$ as in Activation functions, "
               "its value at the kink $z = 0$ taken as 0.",
               "这里 $[z > 0]$ 在 $z > 0$ 处为 1，其余处为 0：即“激活函数”一节的 $ReLU′$，折点 $z = 0$ 处取 0。")
    else:
        d.eq(local, g_prime, "intermediates", Msg.of("with {a}", "其中 {a}", a=sp.Eq(a, g(z), evaluate=False)))
    return local, g_prime


def entries(name: str, rows: int, cols: int) -> sp.Matrix:
    """A matrix of plain symbols named as the instance names an entry: W^[1]_2_1 is W[1]_21."""
    return sp.Matrix(rows, cols, lambda p, q: sp.Symbol(f"{name}_{p + 1}_{q + 1}"))


def _explicit(act: str, nx: int = 2, nh: int = 2, ny: int = 2, m: int = 2):
    """The network on m = 2 examples, written out: parameters, data, layers and the mean loss.

    The labels are one-hot columns, example i in class i (Y is the identity for m = n_y = 2), so
    each example's cross-entropy −Σ_k y_k log a[2]_k is log Σ_l e^(z[2]_l) − Σ_k y_k z[2]_k; the
    mean loss J is written that way.
    """
    g = _ACTIVATIONS[act]

    W1, W2, X = entries("W^[1]", nh, nx), entries("W^[2]", ny, nh), entries("X", nx, m)
    b1 = sp.Matrix(nh, 1, lambda p, _: sp.Symbol(f"b^[1]_{p + 1}"))
    b2 = sp.Matrix(ny, 1, lambda p, _: sp.Symbol(f"b^[2]_{p + 1}"))
    Y = sp.Matrix(ny, m, lambda p, q: int(p == (q % ny)))
    ones = sp.ones(1, m)
    Z1 = W1 * X + b1 * ones
    A1 = Z1.applyfunc(g)
    Z2 = W2 * A1 + b2 * ones

    def softmax(Z):
        return sp.Matrix(ny, m, lambda p, q: sp.exp(Z[p, q]) / sum(sp.exp(Z[r, q]) for r in range(ny)))

    def cost(Z):
        return sum(sp.log(sum(sp.exp(Z[r, q]) for r in range(ny))) - sum(Y[r, q] * Z[r, q] for r in range(ny))
                   for q in range(m)) / m

    return dict(W1=W1, W2=W2, b1=b1, b2=b2, X=X, Y=Y, Z1=Z1, A1=A1, Z2=Z2, A2=softmax(Z2), J=cost(Z2),
                m=m, softmax=softmax, cost=cost, g=g)


def _logs_split(e):
    """log(e^z/S) written z − log S, products multiplied out: both forms of the loss then agree
    term by term (exact: e^z and S are positive)."""
    return sp.expand_mul(sp.expand_log(e, force=True))


def _grad(J, M) -> sp.Matrix:
    """∂J/∂M entry by entry, products multiplied out (terms compare one by one)."""
    return M.applyfunc(lambda v: sp.expand_mul(sp.diff(J, v)))



# The mean cross-entropy over m examples for the matrix-calculus engine, one-hot Y written as the
# one-example L = log Σ_l e^(z[2]_l) − Σ_k y_k z[2]_k; the layers' names as the notes print them.
MATRIX_SHAPES = ("X=n_x,m", "W1=n_h,n_x", "b1=n_h", "W2=n_y,n_h", "b2=n_y", "Y=n_y,m", "A1=n_h,m",
                 "Z1=n_h,m", "Z2=n_y,m")
MATRIX_NAMES = tuple((k, k[0] + f"^[{k[1]}]") for k in ("W1", "b1", "W2", "b2", "A1", "Z1", "Z2"))
# n_x = n_y = m = 2 and n_h = 3: W[1], W[2] and A[1] are not square, so a transposed factor among
# them would not fit; the entries differ, so the square X or dZ[2] transposed would not agree
MATRIX_SIZES = (("n_x", 2), ("n_h", 3), ("n_y", 2), ("m", 2))
_MATRIX_G = {"sigmoid": ("sigmoid({})", "{a} * (1 - {a})"), "tanh": ("tanh({})", "1 - {a}**2"),
             "relu": ("relu({})", "step({z})")}


# g′ of the hidden layer in matrix form, as the dZ[1] line writes it
# g′(Z[1]) in matrix form, in English and Chinese (the square of tanh′ is taken elementwise)
_G_PRIME_M = {"sigmoid": ("$σ′(Z[1]) = A[1] ⊙ (1 − A[1])$",) * 2,
              "tanh": ("$tanh′ = 1 − a²$ at each entry $a$ of $A[1]$ (the square taken elementwise)",
                       "$A[1]$ 的每个元素 $a$ 处 $tanh′ = 1 − a²$(平方逐元素计算)"),
              "relu": ("$ReLU′(Z[1]) = D[1]$",) * 2}


def _mean_cost(z2: str) -> str:
    return f"sum((logsumexp({z2}, axis=0) - sum(Y * ({z2}), axis=0)) / m)"


def matrix_lines(act: str) -> dict:
    """The vectorized gradients for the engine, each with the notes' form: dZ[2] and dZ[1] are m
    times the gradient of the mean J (they stack the per-example gradients); W[2] and b[2] are
    taken with A[1] held fixed (it does not depend on them), dZ[1] with Z[1] as the variable."""
    from ..matrix.lines import MatrixLine

    g, g_prime = _MATRIX_G[act]
    z1 = "W1 @ X + b1"
    a1 = g.format(z1)

    def layer1(z1):
        a = g.format(z1)
        dz2 = f"softmax(W2 @ {a} + b2, axis=0) - Y"
        return (("dZ2", dz2), ("A1", a), ("dZ1", f"(W2.T @ ({dz2})) * ({g_prime.format(a=a, z=z1)})"))

    full = _mean_cost(f"W2 @ {a1} + b2")
    of_a1 = _mean_cost("W2 @ A1 + b2")
    out = (("dZ2", "softmax(W2 @ A1 + b2, axis=0) - Y"),)
    lines = {
        "dZ[2]": (_mean_cost("Z2"), "Z2", "softmax(Z2, axis=0) - Y", (), "m"),
        "dW[2]": (of_a1, "W2", "dZ2 @ A1.T / m", out, ""),
        "db[2]": (of_a1, "b2", "sum(dZ2, axis=1) / m", out, ""),
        "dZ[1]": (_mean_cost(f"W2 @ {g.format('Z1')} + b2"), "Z1",
                  f"(W2.T @ dZ2) * ({g_prime.format(a='A1', z='Z1')})", layer1("Z1")[:2], "m"),
        "dW[1]": (full, "W1", "dZ1 @ X.T / m", layer1(z1)[2:], ""),
        "db[1]": (full, "b1", "sum(dZ1, axis=1) / m", layer1(z1)[2:], ""),
    }
    return {key: MatrixLine(f, MATRIX_SHAPES, wrt, form, where, MATRIX_SIZES, MATRIX_NAMES, times, points=2)
            for key, (f, wrt, form, where, times) in lines.items()}


# A seed at which no parameter's gradient in the graph vanishes by a coincidence of equal weights.
GRAPH_SEED = 22


def scalar_network() -> tuple[dict, dict]:
    """A 2-2-2 network in the notes' notation: z[1] = W[1]x + b[1], a[1] = σ(z[1]),
    z[2] = W[2]a[1] + b[2], a[2] = softmax(z[2]) = ŷ, L = −Σ y_k log a[2]_k — as scalar
    definitions; and the leaves' symbols by role."""
    Symbol = sp.Symbol
    x = [Symbol(f"x{j}") for j in (1, 2)]
    y = [Symbol(f"y{k}") for k in (1, 2)]
    W1 = [[Symbol(f"W^{{[1]}}_{{{i}{j}}}") for j in (1, 2)] for i in (1, 2)]
    b1 = [Symbol(f"b^{{[1]}}_{{{i}}}") for i in (1, 2)]
    W2 = [[Symbol(f"W^{{[2]}}_{{{k}{i}}}") for i in (1, 2)] for k in (1, 2)]
    b2 = [Symbol(f"b^{{[2]}}_{{{k}}}") for k in (1, 2)]
    z1 = [Symbol(f"z^{{[1]}}_{{{i}}}") for i in (1, 2)]
    a1 = [Symbol(f"a^{{[1]}}_{{{i}}}") for i in (1, 2)]
    z2 = [Symbol(f"z^{{[2]}}_{{{k}}}") for k in (1, 2)]
    a2 = [Symbol(f"a^{{[2]}}_{{{k}}}") for k in (1, 2)]
    L = Symbol("L")
    defs = {}
    for i in range(2):
        defs[z1[i]] = W1[i][0] * x[0] + W1[i][1] * x[1] + b1[i]
        defs[a1[i]] = sigmoid(z1[i])
    for k in range(2):
        defs[z2[k]] = W2[k][0] * a1[0] + W2[k][1] * a1[1] + b2[k]
    for k in range(2):
        defs[a2[k]] = sp.exp(z2[k]) / (sp.exp(z2[0]) + sp.exp(z2[1]))
    defs[L] = -(y[0] * sp.log(a2[0]) + y[1] * sp.log(a2[1]))
    roles = {"x": x, "y": y, "params": [*W1[0], *W1[1], *b1, *W2[0], *W2[1], *b2], "z2": z2, "a2": a2}
    return defs, roles


class MLP(Model):
    name = "mlp"
    title = "One hidden layer and a softmax output"
    title_zh = "一个隐藏层与 softmax 输出的神经网络"    # the title of `derive train --lang zh`
    summary = "One hidden layer and a softmax output: forward and backward pass in matrix form"
    order = 75
    trainable = True
    options = (features_option(64), hidden_option(32), classes_option(10), Option("activation", "sigmoid", "hidden activation g", choices=("sigmoid", "tanh", "relu")),)
    derivation_sizes = {"features": 2, "hidden": 2, "classes": 2}

    def network(self) -> Network:
        """a1 = g(x·W1 + b1), z2 = a1·W2 + b2 with the softmax cross-entropy, on the 8×8 digits."""
        from ..network import Dense, Network, Param, Training

        hidden = Dense(self.hidden, Param("W1", "W^[1]_{o}_{i}"), Param("b1", "b^[1]_{o}"),
                       _ACTIVATIONS[self.activation])
        out = Dense(self.classes, Param("W2", "W^[2]_{o}_{i}"), Param("b2", "b^[2]_{o}"))
        return Network(self.features, (hidden, out), "softmax-cross-entropy",
                       Training("digits", lr=0.5, epochs=30, optimizer="sgd", batch_size=32),
                       target="y_{o}")

    def graph_defs(self) -> dict:
        """The derivation is in matrix form; the graph is of a tiny scalar network
        (``scalar_network``)."""
        return scalar_network()[0]

    def point(self) -> dict:
        """x = (1, 0.5), one-hot y = (1, 0) and seeded weights in [−1, 1] to one decimal."""
        _, roles = scalar_network()
        rng = random.Random(GRAPH_SEED)
        point = {roles["x"][0]: sp.Integer(1), roles["x"][1]: sp.Rational(1, 2),
                 roles["y"][0]: sp.Integer(1), roles["y"][1]: sp.Integer(0)}
        for p in roles["params"]:
            point[p] = sp.Rational(rng.randint(-10, 10), 10)
        return point

    def build(self, d) -> None:
        act = self.activation
        g = _ACTIVATIONS[act]
        nx, nh, ny, m = sp.symbols("n_x n_h n_y m", integer=True, positive=True)
        i, j, k, l = sp.symbols("i j k l", integer=True, positive=True)
        W1, b1, z1, a1, W2, b2, z2, a2, dz2, da1, dz1 = (IndexedBase(s) for s in LAYERED)
        x, y = IndexedBase("x"), IndexedBase("y")
        L = sp.Symbol("L")
        inst = Instance({nx: 2, nh: 2, ny: 2}, {i: 1, j: 2, k: 2}, defs=d.defs)

        # the one-example instance: n_x = 2, n_h = 2, n_y = 2
        # Σ W·x + b, as the notes and the matrix form Z[1] = W[1]·X + b[1] write it
        z1_def = sp.Add(Sum(mul(W1[j, i], x[i]), (i, 1, nx)), b1[j], evaluate=False)
        z2_def = sp.Add(Sum(mul(W2[k, j], a1[j]), (j, 1, nh)), b2[k], evaluate=False)
        lse = sp.log(Sum(sp.exp(z2[l]), (l, 1, ny))) - Sum(mul(y[l], z2[l]), (l, 1, ny))
        for c in (1, 2):
            d.let(inst(z1[c]), inst(z1_def, {j: c}))
            d.let(inst(a1[c]), g(inst(z1[c])))
        for c in (1, 2):
            d.let(inst(z2[c]), inst(z2_def, {k: c}))
            d.let(inst(a2[c]), inst(sp.exp(z2[c]) / Sum(sp.exp(z2[l]), (l, 1, ny))))
            d.let(inst(dz2[c]), inst(a2[c] - y[c]))
        d.let(L, inst(lse))
        for c in (1, 2):
            d.let(inst(da1[c]), inst(Sum(W2[k, c] * dz2[k], (k, 1, ny))))
            d.let(inst(dz1[c]), inst(da1[c]) * _g_prime(act, inst(z1[c])))
        one_hot = {inst(y[2]): 1 - inst(y[1])}

        gname = {"sigmoid": "σ", "tanh": "tanh", "relu": "ReLU"}[act]
        d.title = Msg(f"One hidden layer (${gname}$) and a softmax output: backpropagation",
                      f"神经网络：一个隐藏层(${gname}$)与 softmax 输出的反向传播")

        # -- one example ---------------------------------------------------------------------
        d.section("Forward pass for one example", "一个样本的前向传播")
        d.note(Msg.of(
            "Indices: $i$ runs over the $n_x$ inputs, $j$ over the $n_h$ hidden units, $k$ over the $n_y$ classes "
            "(here $n_x = {nx}$, $n_h = {nh}$, $n_y = {ny}$).",
            "下标：$i$ 遍历 $n_x$ 个输入，$j$ 遍历 $n_h$ 个隐藏单元，$k$ 遍历 $n_y$ 个类别（此处 $n_x = {nx}$、$n_h = {nh}$、"
            "$n_y = {ny}$）。",
            nx=sp.Integer(self.features), nh=sp.Integer(self.hidden), ny=sp.Integer(self.classes),
        ).then(Msg.check("Index-form lines are checked on $n_x = 2$, $n_h = 2$, $n_y = 2$, at $i = 1$, $j = 2$, $k = 2$.",
                         "下标形式的各行在 $n_x = 2$、$n_h = 2$、$n_y = 2$ 上，于 $i = 1$、$j = 2$、$k = 2$ 处核对。")))
        d.eq(z1[j], z1_def, "definition", check=inst.pair(z1[j], z1_def))
        d.eq(a1[j], g(z1[j]), "definition", Msg.of("the hidden activation $g = {g}$", "隐藏层激活函数 $g = {g}$",
                                                   g=sp.Symbol(gname)), check=inst.pair(a1[j], g(z1[j])))
        d.eq(z2[k], z2_def, "definition", check=inst.pair(z2[k], z2_def))
        soft = sp.exp(z2[k]) / Sum(sp.exp(z2[l]), (l, 1, ny))
        d.eq(a2[k], soft, "definition", Msg("softmax: $a[2] = ŷ$", "softmax:$a[2] = ŷ$"), check=inst.pair(a2[k], soft))
        ce = -Sum(mul(y[k], sp.log(a2[k])), (k, 1, ny))
        # checked as a function of the scores z[2] (the instance's loss is log Σ e^(z[2]_l) − Σ y_k z[2]_k)
        scores = tuple(inst(z2[c]) for c in (1, 2))
        d.eq(L, ce, "definition", Msg("cross-entropy, $y$ one-hot", "交叉熵,$y$ 为 one-hot"),
             check=tuple(_logs_split(expand_defs(inst(s), d.defs, keep=scores).xreplace(one_hot)) for s in (L, ce)))
        d.eq(L, lse, "rearrange",
             Msg("$log a[2]_k = z[2]_k − log Σ_l e^(z[2]_l)$ and $Σ_k y_k = 1$", "$log a[2]_k = z[2]_k − log Σ_l e^(z[2]_l)$,且 $Σ_k y_k = 1$"),
             check=tuple(_logs_split(expand_defs(inst(s), d.defs, keep=scores).xreplace(one_hot)) for s in (ce, lse)))

        d.section("Backward pass for one example", "一个样本的反向传播")
        d.note(
            "The notes name each gradient after its variable: $dz[2]_k = ∂L/∂z[2]_k$, $da[1]_j = ∂L/∂a[1]_j$, "
            "$dz[1]_j = ∂L/∂z[1]_j$.",
            "笔记用变量名给梯度命名:$dz[2]_k = ∂L/∂z[2]_k$,$da[1]_j = ∂L/∂a[1]_j$,$dz[1]_j = ∂L/∂z[1]_j$。",
        )
        def D(f, v):
            return Derivative(f, v, evaluate=False)

        def chain(lhs, *lines):
            for rhs, rule, note in lines:
                d.eq(lhs, rhs, rule, note, check=inst.pair(lhs, rhs, multiply_out=True))

        chain(D(L, z2[k]),
              (D(lse, z2[k]), "differentiate", Msg("the loss as rearranged above", "用上面整理后的损失")),
              (sp.exp(z2[k]) / Sum(sp.exp(z2[l]), (l, 1, ny)) - y[k], "chain",
               Msg("$(log S)′ = S′/S$ with $∂/∂z[2]_k Σ_l e^(z[2]_l) = e^(z[2]_k)$; of $Σ_l y_l·z[2]_l$ only the "
                   "term $l = k$ holds $z[2]_k$",
                   "$(log S)′ = S′/S$,且 $∂/∂z[2]_k Σ_l e^(z[2]_l) = e^(z[2]_k)$;$Σ_l y_l·z[2]_l$ 中只有 $l = k$ "
                   "这一项含 $z[2]_k$")),
              (a2[k] - y[k], "substitute", Msg("the softmax $a[2]_k$", "softmax 的 $a[2]_k$")))
        only = Msg.of("{p} enters $L$ only through {q}", "{p} 只通过 {q} 影响 $L$")
        chain(D(L, W2[k, j]),
              (mul(D(L, z2[k]), D(z2[k], W2[k, j])), "chain", Msg.of(only.en, only.zh, p=W2[k, j], q=z2[k])),
              (mul(dz2[k], a1[j]), "substitute", Msg("$∂z[2]_k/∂W[2]_kj = a[1]_j$", "$∂z[2]_k/∂W[2]_kj = a[1]_j$")))
        chain(D(L, b2[k]),
              (mul(D(L, z2[k]), D(z2[k], b2[k])), "chain", Msg.of(only.en, only.zh, p=b2[k], q=z2[k])),
              (dz2[k], "substitute", Msg("$∂z[2]_k/∂b[2]_k = 1$", "$∂z[2]_k/∂b[2]_k = 1$")))
        chain(D(L, a1[j]),
              (Sum(mul(D(L, z2[k]), D(z2[k], a1[j])), (k, 1, ny)), "sum_paths",
               Msg("$a[1]_j$ feeds every $z[2]_k$", "$a[1]_j$ 进入每一个 $z[2]_k$")),
              (Sum(mul(W2[k, j], dz2[k]), (k, 1, ny)), "substitute", Msg("$∂z[2]_k/∂a[1]_j = W[2]_kj$", "$∂z[2]_k/∂a[1]_j = W[2]_kj$")))

        local, g_prime = _activation_derivative(d, act, a1[j], z1[j])
        chain(D(L, z1[j]),
              (mul(D(L, a1[j]), local), "chain", Msg.of(only.en, only.zh, p=z1[j], q=a1[j])),
              (mul(da1[j], g_prime), "substitute", None))
        chain(D(L, W1[j, i]),
              (mul(D(L, z1[j]), D(z1[j], W1[j, i])), "chain", Msg.of(only.en, only.zh, p=W1[j, i], q=z1[j])),
              (mul(dz1[j], x[i]), "substitute", Msg("$∂z[1]_j/∂W[1]_ji = x_i$", "$∂z[1]_j/∂W[1]_ji = x_i$")))
        chain(D(L, b1[j]),
              (mul(D(L, z1[j]), D(z1[j], b1[j])), "chain", Msg.of(only.en, only.zh, p=b1[j], q=z1[j])),
              (dz1[j], "substitute", Msg("$∂z[1]_j/∂b[1]_j = 1$", "$∂z[1]_j/∂b[1]_j = 1$")))

        # -- m examples, matrix form ---------------------------------------------------------
        d.section("$m$ examples in matrix form", "$m$ 个样本的矩阵形式")
        d.note(Msg(
            "Examples are columns, as in the notes: $X$ is $n_x × m$, $W[1]$ is $n_h × n_x$, $b[1]$ is $n_h × 1$, $Z[1]$ and "
            "$A[1]$ are $n_h × m$, $W[2]$ is $n_y × n_h$, $b[2]$ is $n_y × 1$, $Z[2]$, $A[2]$ and $Y$ are $n_y × m$; a bias is "
            "added to every column. From here on $i$ numbers the examples, as a superscript: $x⁽ⁱ⁾$ is column "
            "$i$ of $X$. The cost is the mean $J = (1/m) Σ_i L⁽ⁱ⁾$, so each gradient is the mean of the per-example ones. $dZ[2]$ and "
            "$dZ[1]$ stack the per-example gradients as columns (column $i$ of $dZ[2]$ is $dz[2]⁽ⁱ⁾$, the $dz[2]$ of "
            "example $i$), so $dZ[l] = m·∂J/∂Z[l]$.",
            "与笔记一样，样本按列排列:$X$ 为 $n_x × m$,$W[1]$ 为 $n_h × n_x$,$b[1]$ 为 $n_h × 1$,$Z[1]$、$A[1]$ 为 $n_h × m$,"
            "$W[2]$ 为 $n_y × n_h$,$b[2]$ 为 $n_y × 1$,$Z[2]$、$A[2]$、$Y$ 为 $n_y × m$;偏差加到每一列上（广播）。"
            "下面 $i$ 表示样本序号，写作上标:$x⁽ⁱ⁾$ 是 $X$ 的第 $i$ 列。"
            "代价是平均值 $J = (1/m) Σ_i L⁽ⁱ⁾$,所以每个梯度都是各样本梯度的平均。$dZ[2]$、$dZ[1]$ 把各样本的梯度按列排好"
            "($dZ[2]$ 的第 $i$ 列就是第 $i$ 个样本的 $dz[2]⁽ⁱ⁾$),所以 $dZ[l] = m·∂J/∂Z[l]$。",
        ).then(Msg.check(
            "Checked against sympy.diff of $J$ with $n_x = 2$, $n_h = 2$, $n_y = 2$, $m = 2$ (example $i$ in class $i$), "
            "at two random points.",
            "已在 $n_x = 2$、$n_h = 2$、$n_y = 2$、$m = 2$（第 $i$ 个样本属于第 $i$ 类）上于两个随机点与 sympy.diff 核对。")))
        e = _explicit(act)
        mm = e["m"]
        MS = sp.MatrixSymbol
        Xm, W1m, W2m = MS("X", nx, m), MS("W^[1]", nh, nx), MS("W^[2]", ny, nh)
        Z1m, A1m, Z2m, A2m, Ym = (MS("Z^[1]", nh, m), MS("A^[1]", nh, m), MS("Z^[2]", ny, m), MS("A^[2]", ny, m),
                                  MS("Y", ny, m))
        dZ2m, dZ1m = MS("dZ^[2]", ny, m), MS("dZ^[1]", nh, m)
        ones = sp.ones(1, mm)
        # the forward lines: column i of the matrix form is the one-example form at x = X[:, n]
        cols = {}
        for name, entry, idx in (("Z1", z1_def, j), ("A1", a1[j], j), ("Z2", z2_def, k), ("A2", a2[k], k)):
            rows = 2
            cols[name] = sp.Matrix(rows, mm, lambda p, q: inst.expanded(entry, {idx: p + 1}).xreplace(
                {inst(x[c]): e["X"][c - 1, q] for c in (1, 2)}))
        col = Msg("column $i$ is the one-example form at $x = x⁽ⁱ⁾$", "第 $i$ 列即 $x = x⁽ⁱ⁾$ 时的单样本形式")
        d.eq(Z1m, sp.MatAdd(sp.MatMul(W1m, Xm), MS("b^[1]", nh, m)), "vectorize", col, check=(ramps(cols["Z1"]), ramps(e["Z1"])))
        d.eq(A1m, g(Z1m), "vectorize", Msg("elementwise", "逐元素"), check=(ramps(cols["A1"]), ramps(e["A1"])))
        d.eq(Z2m, sp.MatAdd(sp.MatMul(W2m, A1m), MS("b^[2]", ny, m)), "vectorize", col, check=(ramps(cols["Z2"]), ramps(e["Z2"])))
        d.eq(A2m, sp.Function("softmax")(Z2m), "vectorize", Msg("softmax of each column", "对每一列做 softmax"),
             check=(ramps(cols["A2"]), ramps(e["A2"])))

        # the explicit gradients at n_x = n_h = n_y = m = 2, the values of the checkable results
        Z1f = entries("Z^[1]", 2, mm)
        dZ2_c = e["A2"] - e["Y"]
        dZ1_f = (e["W2"].T * (e["softmax"](e["W2"] * Z1f.applyfunc(g) + e["b2"] * ones) - e["Y"])).multiply_elementwise(
            Z1f.applyfunc(lambda t: _g_prime(act, t)))
        dZ1_c = dZ1_f.xreplace(dict(zip(Z1f, e["Z1"])))
        if act == "relu":
            D1, Z1i = IndexedBase("D^[1]"), IndexedBase("Z^[1]")
            d.eq(D1[j, i], sp.Heaviside(Z1i[j, i], 0), "definition",
                 Msg("$ReLU′$ of unit $j$ at example $i$", "第 $j$ 个单元在第 $i$ 个样本处的 $ReLU′$"),
                 check=(sp.diff(relu(Z1f[1, 1]), Z1f[1, 1]), sp.Heaviside(Z1f[1, 1], 0)))
            g_prime_m = (MS("D^[1]", nh, m),)
        elif act == "tanh":
            g_prime_m = (sp.OneMatrix(nh, m) - Squared(A1m),)
        else:
            g_prime_m = (A1m, sp.OneMatrix(nh, m) - A1m)
        lines = {
            "dZ[2]": (dZ2m, A2m - Ym, "vectorize", Msg("$n_y × m$: column $i$ is $dz[2]⁽ⁱ⁾ = a[2]⁽ⁱ⁾ − y⁽ⁱ⁾$",
                                                      "$n_y × m$:第 $i$ 列是 $dz[2]⁽ⁱ⁾ = a[2]⁽ⁱ⁾ − y⁽ⁱ⁾$")),
            "dW[2]": (MS("dW^[2]", ny, nh), sp.MatMul(1 / m, dZ2m, A1m.T), "mean", "$n_y × n_h$"),
            "db[2]": (MS("db^[2]", ny, 1), total(example("dz^[2]"), m) / m, "mean",
                      Msg("$n_y × 1$: the sum runs over the $m$ columns $dz[2]⁽ⁱ⁾$ of $dZ[2]$",
                          "$n_y × 1$：对 $dZ[2]$ 的 $m$ 列 $dz[2]⁽ⁱ⁾$ 求和")),
            "dZ[1]": (dZ1m, Hadamard(sp.MatMul(W2m.T, dZ2m), *g_prime_m), "vectorize",
                      Msg("$n_h × m$: the general $dZ[1] = (W[2]ᵀ·dZ[2]) ⊙ g[1]′(Z[1])$ with "
                          f"{_G_PRIME_M[act][0]}; column $i$ is $dz[1]⁽ⁱ⁾$ ($⊙$ is the elementwise product)",
                          "$n_h × m$:一般形式 $dZ[1] = (W[2]ᵀ·dZ[2]) ⊙ g[1]′(Z[1])$,其中 "
                          f"{_G_PRIME_M[act][1]};第 $i$ 列是 $dz[1]⁽ⁱ⁾$($⊙$ 为逐元素乘积)")),
            "dW[1]": (MS("dW^[1]", nh, nx), sp.MatMul(1 / m, dZ1m, Xm.T), "mean", "$n_h × n_x$"),
            "db[1]": (MS("db^[1]", nh, 1), total(example("dz^[1]"), m) / m, "mean",
                      Msg("$n_h × 1$: the sum runs over the $m$ columns $dz[1]⁽ⁱ⁾$ of $dZ[1]$",
                          "$n_h × 1$：对 $dZ[1]$ 的 $m$ 列 $dz[1]⁽ⁱ⁾$ 求和")),
        }
        self._matrix_calculus(d, act, lines)
        symbolic = {"dW[2]": dZ2_c * e["A1"].T / mm, "db[2]": dZ2_c * ones.T / mm,
                    "dW[1]": dZ1_c * e["X"].T / mm, "db[1]": dZ1_c * ones.T / mm}

        # -- results -------------------------------------------------------------------------
        at = Msg.check("checkable form for one example at $n_x = 2$, $n_h = 2$, $n_y = 2$, $i = 1$, $j = 2$, $k = 2$; "
                 "$L = log Σ_l e^(z[2]_l) − Σ_k y_k z[2]_k$",
                 "可用 sympy 验证的形式：单个样本，$n_x = 2$、$n_h = 2$、$n_y = 2$、$i = 1$、$j = 2$、$k = 2$;"
                 "$L = log Σ_l e^(z[2]_l) − Σ_k y_k z[2]_k$")
        for name, lhs, display in (
            ("dz[2]_k", D(L, z2[k]), a2[k] - y[k]),
            ("dW[2]_kj", D(L, W2[k, j]), mul(dz2[k], a1[j])),
            ("db[2]_k", D(L, b2[k]), dz2[k]),
            ("da[1]_j", D(L, a1[j]), Sum(mul(W2[k, j], dz2[k]), (k, 1, ny))),
            ("dz[1]_j", D(L, z1[j]), mul(da1[j], g_prime)),
            ("dW[1]_ji", D(L, W1[j, i]), mul(dz1[j], x[i])),
            ("db[1]_j", D(L, b1[j]), dz1[j]),
        ):
            d.result(name, display, lhs=lhs, of=L, wrt=inst(lhs.variables[0]), value=inst(display),
                     check=inst.pair(lhs, display, multiply_out=True), note=at)
        at_m = "checkable form: entry {e} at $n_x = 2$, $n_h = 2$, $n_y = 2$, $m = 2$"
        at_m_zh = "可用 sympy 验证的形式：$n_x = 2$、$n_h = 2$、$n_y = 2$、$m = 2$ 时的第 {e} 个元素"
        for name, var, entry in (("dW[2]", e["W2"][1, 0], (1, 0)), ("db[2]", e["b2"][1, 0], (1, 0)),
                                 ("dW[1]", e["W1"][1, 0], (1, 0)), ("db[1]", e["b1"][1, 0], (1, 0))):
            lhs, rhs = lines[name][:2]
            where = f"({entry[0] + 1}, {entry[1] + 1})"
            # verified and re-checked as sympy.diff(J, var) at n_x = n_h = n_y = m = 2
            d.result(name, rhs, lhs=lhs, of=e["J"], wrt=var, value=symbolic[name][entry],
                     note=Msg.check(at_m.format(e=where), at_m_zh.format(e=where)))

    def _matrix_calculus(self, d, act: str, lines: dict) -> None:
        """Each vectorized gradient by the matrix-calculus engine (``matrix_lines``): J in matrix
        form, the entrywise derivatives, the rules of matrix calculus, and for each gradient the
        engine's matrix form followed by the notes' form, checked equal to it. The engine's lines,
        written out in the inputs, are for the audience "check"; the student reads the notes' forms."""
        from ..matrix.lines import _ENGINE, engine_gradient, show_line, show_rules

        grads = {key: engine_gradient(line) for key, line in matrix_lines(act).items()}
        full = grads["dW[1]"]
        J = sp.Symbol("J")
        d.note(Msg.check("The gradients by matrix calculus: write $J$ with matrices, each "
               "example's loss as $log Σ_l e^(z[2]_l) − Σ_k y_k z[2]_k$ ($y$ one-hot), differentiate entry by "
               "entry, and apply the rules of matrix calculus.",
               "用矩阵微积分求梯度:用矩阵写出 $J$,每个样本的损失写成 "
               "$log Σ_l e^(z[2]_l) − Σ_k y_k z[2]_k$($y$ 为 one-hot),逐元素求导,再用矩阵微积分法则。"))

        def written_out():
            # the network written out at these sizes against the engine's J at the same entries
            sizes = dict(MATRIX_SIZES)
            e = _explicit(act, nx=sizes["n_x"], nh=sizes["n_h"], ny=sizes["n_y"], m=sizes["m"])
            ours = {s: v for name in ("X", "W1", "b1", "W2", "b2", "Y") for s, v in zip(full.entries(name), e[name])}
            return e["J"], full.value_at().xreplace(ours)

        # worked out only when no remembered proof holds it: named by the activation, the sizes,
        # the engine's line and the code (this file's and the engine's), which fix both sides
        check = Deferred(("mlp J written out", act, MATRIX_SIZES, repr(full.line)), written_out, _ENGINE)
        d.eq(J, full.shown_f, "rewrite", Msg("in matrix form", "矩阵形式").then(Msg.check(
            "checked at {sizes} (example $i$ in class $i$) against the mean of the per-example losses",
            "已在 {sizes}(第 $i$ 个样本属于第 $i$ 类)时与逐样本损失的平均核对", sizes=full.sizes_text())),
            check=check, audience="check")
        show_rules(d, list(grads.values()), work=Msg("as in the one-example lines above", "与上面单个样本的推导相同"),
                   audience="check")
        for key, g in grads.items():
            lhs, rhs, rule, note = lines[key]
            if isinstance(note, str):
                note = Msg.of("{s}", "{s}", s=note)
            show_line(d, g, sp.Derivative(J, sp.Symbol(dict(MATRIX_NAMES)[g.line.wrt]), evaluate=False), "check")
            same = (Msg.check("checked at {sizes}: $m$ times the line above", "已在 {sizes} 时核对:等于上一行的 $m$ 倍",
                              sizes=g.sizes_text()) if g.line.times else
                    Msg.check("checked at {sizes}: equal to the line above", "已在 {sizes} 时核对:与上一行相等",
                              sizes=g.sizes_text()))
            d.eq(lhs, rhs, rule, note.then(same), check=g.form_check())
