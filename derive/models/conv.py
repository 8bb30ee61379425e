"""Convolution: the notes' edge detection, padding and the output size, then the gradient of a
convolution layer (∂L/∂W, ∂L/∂b, and ∂L/∂X as a full convolution with the flipped filter) and of
max- and average-pooling."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

import sympy as sp
from sympy import Derivative, IndexedBase, Sum

from ..errors import said
from ..functions import relu
from ..messages import Msg
from .base import Model, Option
from ._concrete import Instance
from ..verify import Deferred
from ._notation import mul, shown_eq

if TYPE_CHECKING:
    from ..network import Network

# The notes' example: a 6 × 6 image, bright (10) on the left half and dark (0) on the right,
# and the 3 × 3 vertical-edge filter.
IMAGE = sp.Matrix(6, 6, lambda r, c: 10 if c < 3 else 0)
EDGE_FILTER = sp.Matrix(3, 3, lambda r, c: (1, 0, -1)[c])
# What the notes print for the valid convolution: a bright band of 30s where the edge is.
NOTES_OUTPUT = sp.Matrix([[0, 30, 30, 0]] * 4)
# The same convolution on the image padded with one ring of zeros, worked by hand: in the middle
# rows a window sees three rows of the image (3·(10 − 0) = 30 at the edge, 3·(0 − 10) = −30 at
# the left border, where the zeros make an edge of their own); the top and bottom rows see two.
SAME_OUTPUT = sp.Matrix([[-20, 0, 20, 20, 0, 0]] + [[-30, 0, 30, 30, 0, 0]] * 4 + [[-20, 0, 20, 20, 0, 0]])

# The small CNN that ``derive train conv`` trains on the 8 × 8 digits: this many filters, then
# ReLU, 2 × 2 max-pooling and a dense softmax layer over the 10 classes.
CNN_FILTERS = 8
CNN_POOL = 2
CNN_CLASSES = 10

# Index names: filter k, channel c, output position (i, j), filter offset (u, v), input pixel (p, q)
k, c, i, j, u, v, p, q = sp.symbols("k c i j u v p q", integer=True, positive=True)
C, K, f, n, nZ = sp.symbols("C K f n n_Z", integer=True, positive=True)
X, W, bv, Z, dZ = (IndexedBase(s) for s in ("X", "W", "b", "Z", "dZ"))
Wf, dZp = IndexedBase("Wtilde"), IndexedBase("dZtilde")
L = sp.Symbol("L")

# The small layer on which index-form lines are checked: two channels, two filters, a 3 × 3
# input and a 2 × 2 filter, hence a 2 × 2 output per filter.
SMALL = {C: 2, K: 2, n: 3, f: 2, nZ: 2}


def out_size(size: int, filt: int, pad: int, stride: int) -> sp.Expr:
    """The side ⌊(n + 2p − f)/s⌋ + 1 of a convolution's output.

    Parameters
    ----------
    size, filt, pad, stride : int
        The image side n, the filter side f, the padding p and the stride s.

    Examples
    --------
    >>> out_size(6, 3, 0, 1), out_size(6, 3, 1, 1), out_size(7, 3, 0, 2)
    (4, 6, 3)
    """
    return sp.floor(sp.Rational(size + 2 * pad - filt, stride)) + 1


def correlate(image: sp.Matrix, filt: sp.Matrix) -> sp.Matrix:
    """The valid cross-correlation of ``image`` with ``filt``: each output entry is the
    index-form sum Σ_u Σ_v F_uv·X_(i+u−1, j+v−1), written out by ``Instance``.

    Parameters
    ----------
    image : Matrix of shape (n, n)
    filt : Matrix of shape (f, f)

    Returns
    -------
    Matrix of shape (n − f + 1, n − f + 1)

    Examples
    --------
    >>> correlate(sp.Matrix([[1, 2], [3, 4]]), sp.Matrix([[1]]))
    Matrix([
    [1, 2],
    [3, 4]])
    """
    F, Xi = IndexedBase("F"), IndexedBase("X")
    side = image.rows - filt.rows + 1
    window = Sum(mul(F[u, v], Xi[i + u - 1, j + v - 1]), (u, 1, f), (v, 1, f))
    values = {sp.Symbol(f"F_{a + 1}_{b + 1}"): filt[a, b] for a in range(filt.rows) for b in range(filt.cols)}
    values |= {sp.Symbol(f"X_{a + 1}_{b + 1}"): image[a, b] for a in range(image.rows) for b in range(image.cols)}
    inst = Instance({f: filt.rows})
    return sp.Matrix(side, side, lambda a, b: inst(unrolled(window, {f: filt.rows}), {i: a + 1, j: b + 1})
                     .xreplace(values))


def unrolled(e, env: dict):
    """``e`` with every Σ written out term by term at the sizes ``env``: a Σ here has several
    limits (Σ_c Σ_u Σ_v as one Σ), and ``Instance`` takes one limit at a time."""
    if isinstance(e, Sum):
        ranges = [range(int(lo.xreplace(env)), int(hi.xreplace(env)) + 1) for _, lo, hi in e.limits]
        names = [var for var, _, _ in e.limits]
        return sp.Add(*(unrolled(e.function.xreplace(dict(zip(names, map(sp.Integer, values)))), env)
                        for values in itertools.product(*ranges)))
    if not e.args or not e.has(Sum):
        return e
    return e.func(*(unrolled(a, env) for a in e.args))


def over_ij(e):
    """Σ_i Σ_j e over the output positions."""
    return Sum(e, (i, 1, nZ), (j, 1, nZ))


class _Small:
    """The layer at ``SMALL`` with plain symbols X_c_p_q, W_k_c_u_v, b_k and upstream gradients
    dZ_k_i_j, and the loss L = Σ dZ_kij·Z_kij: whatever the real loss, the chain rule uses only
    ∂L/∂Z = dZ, and this L has exactly that gradient."""

    def __init__(self):
        self.inst = Instance(SMALL)
        s = sp.Symbol
        self.Z = {
            s(f"Z_{kk}_{ii}_{jj}"): s(f"b_{kk}") + sum(
                s(f"W_{kk}_{cc}_{uu}_{vv}") * s(f"X_{cc}_{ii + uu - 1}_{jj + vv - 1}")
                for cc in (1, 2) for uu in (1, 2) for vv in (1, 2))
            for kk in (1, 2) for ii in (1, 2) for jj in (1, 2)
        }
        self.L_of_Z = sum(s(z.name.replace("Z", "dZ", 1)) * z for z in self.Z)
        self.L = self.L_of_Z.xreplace(self.Z)
        # dZ outside 1..n_Z is 0; the padded dZ̃ is dZ shifted by f − 1 = 1; W̃ is W flipped
        self.aux = {}
        for kk, a, b in itertools.product((1, 2), range(-2, 6), range(-2, 6)):
            inside = 1 <= a <= 2 and 1 <= b <= 2
            if not inside:
                self.aux[s(f"dZ_{kk}_{a}_{b}")] = sp.Integer(0)
            shifted = (a - 1, b - 1)
            self.aux[s(f"dZtilde_{kk}_{a}_{b}")] = (
                s(f"dZ_{kk}_{shifted[0]}_{shifted[1]}") if all(1 <= t <= 2 for t in shifted) else sp.Integer(0))
        for kk, cc, uu, vv in itertools.product((1, 2), repeat=4):
            self.aux[s(f"Wtilde_{kk}_{cc}_{uu}_{vv}")] = s(f"W_{kk}_{cc}_{3 - uu}_{3 - vv}")

    def at(self, expr, point: dict):
        e = self.inst(unrolled(sp.sympify(expr), SMALL), point).xreplace(self.aux)
        return e.replace(lambda t: isinstance(t, Derivative), self._diff)

    def _diff(self, t: Derivative):
        (var, _), = t.variable_count
        if var in self.Z:                       # ∂L/∂Z_kij: L as a function of the outputs
            return sp.diff(t.expr.xreplace({L: self.L_of_Z}), var)
        return sp.diff(t.expr.xreplace({L: self.L, **self.Z}), var)

    def grid(self, expr, indices, side: int = 2) -> sp.Matrix:
        """``expr`` at every value of ``indices`` (the first running 1..2, the others 1..side),
        as a column."""
        ranges = [range(1, 3)] + [range(1, side + 1)] * (len(indices) - 1)
        return sp.Matrix([self.at(expr, dict(zip(indices, point))) for point in itertools.product(*ranges)])

    def pair(self, lhs, rhs, indices, side: int = 2) -> Deferred:
        """The check pair of ``lhs = rhs`` on the grid, worked out only when the proof cache
        does not already hold it."""
        return Deferred(("conv small", lhs, rhs, sp.Tuple(*indices), side),
                        lambda: (self.grid(lhs, indices, side), self.grid(rhs, indices, side)))


# The computation graph (``derive conv --graph``): the trained network at its smallest, one
# 2 × 2 filter on a 3 × 3 image, ReLU, one 2 × 2 pooling window and a dense softmax over two
# classes. The window averages (the trained network takes the maximum): SymPy's Max of symbolic
# arguments costs seconds per node, and the mean's ∂M/∂A = 1/4 reads as well. The image has a vertical edge after its first column; the filter is the notes' edge
# filter cut to 2 × 2; the bias keeps one output negative, so ReLU is seen to stop a gradient.
GRAPH_IMAGE = ((4, 1, 0), (2, 1, 2), (3, 2, 1))
GRAPH_FILTER = ((1, -1), (1, -1))
GRAPH_BIAS = -1
GRAPH_DENSE = (("1/2", "0"), ("-1/2", "1/2"))       # (V_k, c_k) for the classes k = 1, 2
GRAPH_TARGET = (1, 0)


def graph_network() -> tuple[dict, dict]:
    """The definitions of the graph's network and its leaves by role ("X", "W", "b", "V", "c",
    "y": lists in reading order), for ``Conv.graph_defs`` and the test that runs the compiled
    network on the same numbers."""
    S = sp.Symbol
    Xs = [[S(f"X{r}{c}") for c in (1, 2, 3)] for r in (1, 2, 3)]
    Ws = [[S(f"W{r}{c}") for c in (1, 2)] for r in (1, 2)]
    b, M, L_ = S("b"), S("M"), S("L")
    V, cs, y = [S(f"V{k}") for k in (1, 2)], [S(f"c{k}") for k in (1, 2)], [S(f"y{k}") for k in (1, 2)]
    U, yhat = [S(f"U{k}") for k in (1, 2)], [S(f"p{k}") for k in (1, 2)]
    defs, outs = {}, []
    for r, c_ in itertools.product((0, 1), (0, 1)):
        z, a = S(f"Z{r + 1}{c_ + 1}"), S(f"A{r + 1}{c_ + 1}")
        defs[z] = sum((Ws[du][dv] * Xs[r + du][c_ + dv] for du, dv in itertools.product((0, 1), (0, 1))),
                      sp.S.Zero) + b
        outs.append(a)
    for r, c_ in itertools.product((0, 1), (0, 1)):
        defs[S(f"A{r + 1}{c_ + 1}")] = relu(S(f"Z{r + 1}{c_ + 1}"))
    defs[M] = sp.Add(*outs) / 4
    for k_ in range(2):
        defs[U[k_]] = V[k_] * M + cs[k_]
    for k_ in range(2):
        defs[yhat[k_]] = sp.exp(U[k_]) / (sp.exp(U[0]) + sp.exp(U[1]))
    defs[L_] = -(y[0] * sp.log(yhat[0]) + y[1] * sp.log(yhat[1]))
    roles = {"X": [x for row in Xs for x in row], "W": [w for row in Ws for w in row], "b": [b], "V": V, "c": cs,
             "y": y}
    return defs, roles


class Conv(Model):
    name = "conv"
    title = "Convolution: edge detection, padding, and the convolution layer's gradient"
    title_zh = "卷积：边缘检测、填充与卷积层的梯度"    # the title of `derive train --lang zh`
    summary = "Convolution: edge detection, padding, output size ⌊(n + 2p − f)/s⌋ + 1; conv and pooling backward"
    order = 85
    trainable = True
    options = (
        Option("size", 6, "side n of the (square) image", minimum=1),
        Option("filter", 3, "side f of the (square) filter", minimum=1),
        Option("padding", 1, "padding p on each side", minimum=0),
        Option("stride", 1, "stride s", minimum=1),
    )

    def __init__(self, **values):
        super().__init__(**values)
        padded = self.size + 2 * self.padding
        if self.filter > padded:
            raise said(f"--filter {self.filter} is larger than the padded image (n + 2p = {padded})",
                       f"--filter {self.filter} 大于填充后的图像（n + 2p = {padded}）")

    def graph_defs(self) -> dict:
        """The derivation is in index form; the graph is of the network at its smallest
        (``graph_network``)."""
        return graph_network()[0]

    def point(self) -> dict:
        """The edge image, the 2 × 2 edge filter, the bias −1, the dense layer and y = (1, 0)."""
        _, roles = graph_network()
        values = [*itertools.chain(*GRAPH_IMAGE), *itertools.chain(*GRAPH_FILTER), GRAPH_BIAS,
                  *(v for v, _ in GRAPH_DENSE), *(c_ for _, c_ in GRAPH_DENSE), *GRAPH_TARGET]
        leaves = [*roles["X"], *roles["W"], *roles["b"], *roles["V"], *roles["c"], *roles["y"]]
        return dict(zip(leaves, values))

    def network(self) -> Network:
        """conv (the options' filter side, padding and stride, ``CNN_FILTERS`` filters) → ReLU →
        2 × 2 max-pooling → dense softmax over the classes, on ``size`` × ``size`` images; trained
        on the 8 × 8 digits (the training settings ask for ``size`` 8)."""
        from ..network import Conv as ConvLayer, Dense, Network, Param, Pool, Training

        conv = ConvLayer(CNN_FILTERS, self.filter, Param("W1", "W1_{o}_{c}_{u}_{v}"), Param("b1", "b1_{o}"), relu,
                         channels=1, side=self.size, padding=self.padding, stride=self.stride)
        pool = Pool(CNN_FILTERS, conv.out_side, CNN_POOL, "max")
        out = Dense(CNN_CLASSES, Param("W2", "W2_{o}_{i}"), Param("b2", "b2_{o}"))
        return Network(self.size ** 2, (conv, pool, out), "softmax-cross-entropy",
                       Training("digits", lr=0.01, epochs=12, optimizer="adam", batch_size=32, options={"size": 8},
                                required=("size",)),
                       target="y_{o}")

    def build(self, d) -> None:
        d.title = Msg("Convolution: edge detection, padding, and the gradient of a convolution layer",
                      "卷积:边缘检测、填充,以及卷积层的梯度")
        self._edges(d)
        self._sizes(d)
        self._layer(d)
        self._pooling(d)

    # -- the notes' example ------------------------------------------------------------------------
    def _edges(self, d) -> None:
        d.section("Edge detection", "边缘检测")
        d.note(
            "A $6 × 6$ grey image: the left half is bright (10), the right half dark (0), so a vertical "
            "edge runs down the middle. The $3 × 3$ filter $F$ has columns $1, 0, −1$: it subtracts the "
            "right column of a window from its left column. Sliding it over every $3 × 3$ window and "
            "summing the products (a cross-correlation, which deep-learning libraries call convolution) "
            "gives one output per window.",
            "一幅 $6 × 6$ 的灰度图像:左半边亮(10),右半边暗(0),中间有一条竖直边缘。$3 × 3$ 的过滤器 $F$ "
            "三列分别是 $1$、$0$、$−1$:它用窗口左列减去右列。把它滑过每个 $3 × 3$ 窗口,对乘积求和(即互相关,"
            "深度学习框架把它称为卷积),每个窗口得到一个输出。",
        )
        # the image and the filter as matrices, a row a line (a table's header of column numbers
        # reads as one more row); matrix symbols, apart from the indexed X and F of the sums below
        d.define(sp.MatrixSymbol("X", 6, 6), IMAGE, Msg("the image", "图像"))
        d.define(sp.MatrixSymbol("F", 3, 3), EDGE_FILTER, Msg("the filter", "过滤器"))
        F, Xi = IndexedBase("F"), IndexedBase("X")
        window = Sum(mul(F[u, v], Xi[i + u - 1, j + v - 1]), (u, 1, f), (v, 1, f))
        Zs = sp.Symbol("Z")
        d.note("The output at $(i, j)$ is {out} for $i, j = 1, …, n − f + 1$.",
               "$(i, j)$ 处的输出为 {out},$i, j = 1, …, n − f + 1$。",
               out=shown_eq(IndexedBase("Z")[i, j], window))
        # one window by hand: the window at (1, 2) straddles the edge
        rows = [sp.Add(*(sp.Mul(IMAGE[r, col + 1], EDGE_FILTER[r, col], evaluate=False) for col in range(3)),
                       evaluate=False) for r in range(3)]
        by_hand = sp.Add(*rows, evaluate=False)
        computed = correlate(IMAGE, EDGE_FILTER)
        d.eq(IndexedBase("Z")[1, 2], by_hand, "evaluate",
             Msg("the window at $(1, 2)$: columns 2 to 4 of rows 1 to 3", "$(1, 2)$ 处的窗口:第 1 至 3 行、第 2 至 4 列"),
             check=(computed[0, 1], by_hand))
        d.eq(IndexedBase("Z")[1, 2], sp.Integer(30), "simplify", check=(computed[0, 1], 30))
        d.note("Every window, computed: the output is $4 × 4$, and its middle columns are 30, a bright "
               "band where the edge is; flat regions give 0.",
               "逐个窗口计算:输出为 $4 × 4$,中间两列为 30,即边缘所在处的一条亮带;平坦区域得 0。")
        d.eq(sp.MatrixSymbol("Z", 4, 4), computed, "evaluate", Msg("every window", "逐个窗口"),
             check=(computed, NOTES_OUTPUT))
        d.result("Z (valid)", NOTES_OUTPUT, lhs=Zs, check=(computed, NOTES_OUTPUT),
                 note=Msg("the notes' $4 × 4$ output", "笔记中的 $4 × 4$ 输出"))

        d.section("Padding", "填充")
        d.note(
            "Each convolution shrinks the image ($6 × 6$ to $4 × 4$), and a corner pixel is seen by one "
            "window only, while a middle pixel is seen by up to nine. Padding the image with $p = 1$ ring "
            "of zeros makes it $8 × 8$, and the $3 × 3$ filter then gives a $6 × 6$ output, the size of "
            "the original image. Computed:",
            "每做一次卷积图像就缩小($6 × 6$ 变成 $4 × 4$);角上的像素只被一个窗口用到,中间的像素最多被九个窗口"
            "用到。在图像四周填充 $p = 1$ 圈 0,图像变为 $8 × 8$,$3 × 3$ 的过滤器便得到 $6 × 6$ 的输出,与原图"
            "一样大。计算结果:",
        )
        padded = sp.zeros(8, 8)
        padded[1:7, 1:7] = IMAGE
        same = correlate(padded, EDGE_FILTER)
        d.eq(sp.MatrixSymbol("Z_same", 6, 6), same, "evaluate", Msg("every window of the padded image", "填充后图像的逐个窗口"),
             check=(same, SAME_OUTPUT))
        d.note("The edge is still the band of 30s; the zeros of the padding make an edge of their own at "
               "the left border ($−30$), and the top and bottom rows see two image rows instead of three.",
               "边缘仍是那条 30 的亮带;填充的 0 在左边界处造成了一条新的边缘($−30$),而第一行和最后一行的窗口只覆盖"
               "图像的两行而不是三行。")
        d.result("Z (same)", SAME_OUTPUT, lhs=sp.Symbol("Z_same"), check=(same, SAME_OUTPUT),
                 note=Msg("$p = 1$: the $6 × 6$ output, worked by hand", "$p = 1$:$6 × 6$ 的输出(手算核对)"))

    def _sizes(self, d) -> None:
        d.section("The output size", "输出的大小")
        s = sp.Symbol("s", integer=True, positive=True)
        pad = sp.Symbol("p", integer=True, nonnegative=True)
        general = sp.floor((n + 2 * pad - f) / s) + 1
        d.note("An $n × n$ image, an $f × f$ filter, padding $p$ and stride $s$ (the filter moves $s$ pixels "
               "at a time): the last window must fit in the padded image of side $n + 2p$.",
               "$n × n$ 的图像、$f × f$ 的过滤器、填充 $p$、步长 $s$(过滤器每次移动 $s$ 个像素):最后一个窗口必须"
               "落在边长为 $n + 2p$ 的填充后图像之内。")
        # n_Z as a function of the four sizes, as the results below write it: each special case
        # is its own line (one chain of "=" would assert n − f + 1 = n)
        size_of = sp.Function("n_Z")
        d.eq(size_of(n, f, pad, s), general, "definition", check=(general, general))
        valid = n - f + 1
        d.eq(size_of(n, f, sp.Integer(0), sp.Integer(1)), valid, "substitute", Msg("“valid”: $p = 0$, $s = 1$", "不填充的卷积(valid):$p = 0$,$s = 1$"),
             check=(general.xreplace({pad: 0, s: 1}), valid))
        half = (f - 1) / 2
        d.eq(size_of(n, f, sp.Mul(f - 1, sp.Pow(2, -1, evaluate=False), evaluate=False), sp.Integer(1)), n, "substitute",
             Msg("“same”: $s = 1$, $p = (f − 1)/2$ (an odd $f$), the output as large as the input",
                 "输出与输入一样大的卷积(same):$s = 1$,$p = (f − 1)/2$($f$ 为奇数)"),
             check=((n + 2 * pad - f + 1).xreplace({pad: half}), n))
        cases = [(6, 3, 0, 1), (6, 3, 1, 1), (7, 3, 0, 2), (self.size, self.filter, self.padding, self.stride)]
        rows = []
        for case in dict.fromkeys(cases):
            size = out_size(*case)
            # an independent count: the top-left corners a window can take along one side
            corners = len(range(0, case[0] + 2 * case[2] - case[1] + 1, case[3]))
            rows.append([*map(sp.Integer, case), sp.Integer(case[0] + 2 * case[2]), size])
            d.result(f"n_Z({', '.join(map(str, case))})", size,
                     lhs=sp.Function("n_Z")(*map(sp.Integer, case)), check=(sp.Integer(corners), size))
        d.table(["$n$", "$f$", "$p$", "$s$", "$n + 2p$", "$n_Z$"], rows)

    # -- the layer --------------------------------------------------------------------------------
    def _layer(self, d) -> None:
        small = _Small()
        d.section("A convolution layer", "卷积层")
        d.note(Msg(
            "$K$ filters over an input of $C$ channels, each $n × n$ (stride 1, no padding). Filter $k$ "
            "has a weight $W_kcuv$ for each channel $c$ and offset $(u, v)$, and one bias $b_k$; its output "
            "at $(i, j)$ is $Z_kij$, for $i, j = 1, …, n_Z$ with $n_Z = n − f + 1$. Upstream, back-propagation "
            "hands the layer $dZ_kij = ∂L/∂Z_kij$.",
            "$K$ 个过滤器作用于 $C$ 个通道的输入,每个通道 $n × n$(步长 1,不填充)。过滤器 $k$ 对每个通道 $c$ "
            "和偏移 $(u, v)$ 有权重 $W_kcuv$,另有一个偏差 $b_k$;它在 $(i, j)$ 处的输出为 $Z_kij$,"
            "$i, j = 1, …, n_Z$,$n_Z = n − f + 1$。反向传播从上游传给本层 $dZ_kij = ∂L/∂Z_kij$。",
        ).then(Msg.check(
            "Each line is checked entry by entry on a layer with $C = 2$, $K = 2$, $n = 3$, $f = 2$ against sympy.diff.",
            "每一行都在 $C = 2$、$K = 2$、$n = 3$、$f = 2$ 的层上逐个元素与 sympy.diff 核对。")))
        conv = sp.Add(Sum(mul(W[k, c, u, v], X[c, i + u - 1, j + v - 1]), (c, 1, C), (u, 1, f), (v, 1, f)), bv[k],
                      evaluate=False)                     # Σ W·X + b, as the notes write a layer
        zcheck = Deferred(("conv small Z", conv), lambda: (sp.Matrix(list(small.Z.values())), small.grid(conv, (k, i, j))))
        d.eq(Z[k, i, j], conv, "definition", check=zcheck)

        d.section("The gradient of the weights and the bias", "权重与偏差的梯度")
        dLdZ = Derivative(L, Z[k, i, j], evaluate=False)
        dW = Derivative(L, W[k, c, u, v], evaluate=False)
        chain_W = over_ij(mul(dLdZ, Derivative(Z[k, i, j], W[k, c, u, v], evaluate=False)))
        d.eq(dW, chain_W, "chain",
             Msg("$W_kcuv$ is used at every position $(i, j)$ of filter $k$'s output",
                 "$W_kcuv$ 在过滤器 $k$ 的输出的每个位置 $(i, j)$ 都被用到"),
             check=small.pair(dW, chain_W, (k, c, u, v)))
        grad_W = over_ij(mul(dZ[k, i, j], X[c, i + u - 1, j + v - 1]))
        w_pair = small.pair(dW, grad_W, (k, c, u, v))
        d.eq(dW, grad_W, "substitute",
             Msg.of("{local}: the cross-correlation of the input with $dZ$", "{local}:即输入与 $dZ$ 的互相关",
                    local=shown_eq(Derivative(Z[k, i, j], W[k, c, u, v], evaluate=False), X[c, i + u - 1, j + v - 1])),
             check=w_pair)
        db = Derivative(L, bv[k], evaluate=False)
        grad_b = over_ij(dZ[k, i, j])
        b_pair = small.pair(db, grad_b, (k,))
        d.eq(db, grad_b, "chain", Msg("$∂Z_kij/∂b_k = 1$", "$∂Z_kij/∂b_k = 1$"), check=b_pair)

        d.section("The gradient of the input: a full convolution with the flipped filter",
                  "输入的梯度:与翻转后的过滤器做全卷积")
        dX = Derivative(L, X[c, p, q], evaluate=False)
        chain_X = Sum(mul(dLdZ, Derivative(Z[k, i, j], X[c, p, q], evaluate=False)), (k, 1, K), (i, 1, nZ), (j, 1, nZ))
        d.eq(dX, chain_X, "chain",
             Msg("pixel $X_cpq$ is read by every filter $k$, in every window that covers it",
                 "像素 $X_cpq$ 被每个过滤器 $k$、在覆盖它的每个窗口中读取"),
             check=small.pair(dX, chain_X, (c, p, q), side=3))
        offsets = Sum(mul(dZ[k, p - u + 1, q - v + 1], W[k, c, u, v]), (k, 1, K), (u, 1, f), (v, 1, f))
        d.eq(dX, offsets, "substitute",
             Msg("the window at $(i, j)$ reads $X_cpq$ through the weight at $u = p − i + 1$, $v = q − j + 1$; "
                 "a $dZ$ whose index falls outside $1, …, n_Z$ counts as 0",
                 "位于 $(i, j)$ 的窗口通过 $u = p − i + 1$、$v = q − j + 1$ 处的权重读取 $X_cpq$;下标落在 "
                 "$1, …, n_Z$ 之外的 $dZ$ 记为 0"),
             check=small.pair(dX, offsets, (c, p, q), side=3))
        flip = W[k, c, f + 1 - u, f + 1 - v]
        d.eq(Wf[k, c, u, v], flip, "definition", Msg("the filter turned by 180°", "把过滤器旋转 180°"),
             check=small.pair(Wf[k, c, u, v], flip, (k, c, u, v)))
        d.eq(dZp[k, i, j], dZ[k, i - f + 1, j - f + 1], "definition",
             Msg("$dZ$ padded with $f − 1$ rings of zeros, side $n_Z + 2(f − 1) = n + f − 1$",
                 "在 $dZ$ 四周填充 $f − 1$ 圈 0,边长 $n_Z + 2(f − 1) = n + f − 1$"),
             check=small.pair(dZp[k, i, j], dZ[k, i - f + 1, j - f + 1], (k, i, j), side=4))
        full = Sum(mul(dZp[k, p + u - 1, q + v - 1], Wf[k, c, u, v]), (k, 1, K), (u, 1, f), (v, 1, f))
        x_pair = small.pair(dX, full, (c, p, q), side=3)
        d.eq(dX, full, "rearrange",
             Msg("with $u → f + 1 − u$, $v → f + 1 − v$", "令 $u → f + 1 − u$、$v → f + 1 − v$"),
             check=x_pair)
        d.note("The padded $dZ$ cross-correlated with the flipped filter: a “full” convolution, whose output "
               "has the input's side $n$. Backward through a convolution is again a convolution.",
               "填充后的 $dZ$ 与翻转后的过滤器做互相关:即全填充的卷积(full),其输出边长等于输入的边长 $n$。"
               "卷积的反向传播仍是一次卷积。")

        s = sp.Symbol
        at = {k: 1, c: 2, u: 1, v: 2}
        d.result("dL/dW_kcuv", grad_W, lhs=dW, of=small.L, wrt=s("W_1_2_1_2"), value=small.at(grad_W, at),
                 check=w_pair, note=Msg.check("checkable form: entry $(1, 2, 1, 2)$ at $C = K = 2$, $n = 3$, $f = 2$",
                                        "可用 sympy 验证的形式:$C = K = 2$、$n = 3$、$f = 2$ 时的第 $(1, 2, 1, 2)$ 个元素"))
        d.result("dL/db_k", grad_b, lhs=db, of=small.L, wrt=s("b_2"), value=small.at(grad_b, {k: 2}),
                 check=b_pair, note=Msg.check("checkable form: $k = 2$", "可用 sympy 验证的形式:$k = 2$"))
        d.result("dL/dX_cpq", full, lhs=dX, of=small.L, wrt=s("X_1_2_2"), value=small.at(full, {c: 1, p: 2, q: 2}),
                 check=x_pair, note=Msg.check("checkable form: the middle pixel of channel 1 at $C = K = 2$, $n = 3$, $f = 2$",
                                        "可用 sympy 验证的形式:$C = K = 2$、$n = 3$、$f = 2$ 时通道 1 的中心像素"))

    # -- pooling ----------------------------------------------------------------------------------
    def _pooling(self, d) -> None:
        d.section("Pooling", "池化")
        z = sp.Matrix(2, 2, sp.symbols("Z_1_1 Z_1_2 Z_2_1 Z_2_2"))
        window = sp.Matrix([[1, 4], [3, 2]])
        zsym = sp.MatrixSymbol("Z", 2, 2)
        d.note(Msg(
            "A $2 × 2$ pooling window keeps one number $A$ of its four inputs: their maximum, or their "
            "average. It has no weights; back-propagation only routes $dA$ to the inputs.",
            "$2 × 2$ 的池化窗口把四个输入变成一个数 $A$:取最大值或平均值。池化没有权重;反向传播只需把 $dA$ "
            "分给各个输入。",
        ).then(Msg.check("Checked on the window below against sympy.diff.", "已在下面的窗口上与 sympy.diff 核对。")))
        d.define(zsym, window, Msg("a window of four inputs", "一个含四个输入的窗口"))
        A, A_avg = sp.Symbol("A_max"), sp.Symbol("A_avg")
        biggest = sp.Max(*z)
        mask = sp.Matrix(2, 2, lambda a, b: int(window[a, b] == max(window)))
        at = dict(zip(z, window))
        by_diff = z.applyfunc(lambda e: sp.diff(biggest, e).xreplace(at))
        lhs = Derivative(A, zsym, evaluate=False)
        d.eq(lhs, mask, "evaluate",
             Msg("max-pooling: $A_max = max(Z)$; the gradient is 1 at the largest input and 0 elsewhere, so $dA$ "
                 "goes to the position of the maximum (remembered in the forward pass)",
                 "最大池化:$A_max = max(Z)$;梯度在最大的输入处为 1,其余为 0,所以 $dA$ 只传给最大值所在的位置"
                 "(前向传播时记下)"),
             check=(by_diff, mask))
        average = sp.Add(*z) / 4
        quarter = sp.Matrix(2, 2, lambda a, b: sp.Rational(1, 4))
        lhs_avg = Derivative(A_avg, zsym, evaluate=False)
        d.eq(lhs_avg, quarter, "evaluate",
             Msg("average-pooling: $A_avg = (Z₁₁ + Z₁₂ + Z₂₁ + Z₂₂)/4$; $dA$ is shared equally, $dA/f²$ to each",
                 "平均池化:$A_avg = (Z₁₁ + Z₁₂ + Z₂₁ + Z₂₂)/4$;$dA$ 平均分配,每个输入得到 $dA/f²$"),
             check=(z.applyfunc(lambda e: sp.diff(average, e)), quarter))
        d.result("dA/dZ (max)", mask, lhs=lhs, check=(by_diff, mask),
                 note=Msg("at the window above", "在上面的窗口处"))
        d.result("dA/dZ_11 (average)", sp.Rational(1, 4), of=average, wrt=z[0, 0],
                 lhs=Derivative(A_avg, sp.Symbol("Z11"), evaluate=False))
