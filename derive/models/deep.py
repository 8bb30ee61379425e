"""An L-layer network: the general layer l, forward and backward, as the notes stack layers.

Every layer is Z^[l] = W^[l]·A^[l−1] + b^[l], A^[l] = g(Z^[l]), the last one a softmax. The
general layer is derived in index form for one example and then in matrix form for m examples
(examples as columns). A line about the general layer l is checked at l = 2 of the concrete
network 2-2-2-2 (L = 3 layers): index-form lines against ``sympy.diff`` of its loss, matrix
lines against ``sympy.diff`` of the mean loss over m = 2 examples at seeded random points.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import sympy as sp
from sympy import Derivative, IndexedBase, Sum

from ..errors import said
from ..messages import Msg
from ..verify import Deferred, expand_defs
from ._concrete import Instance
from ._notation import Hadamard, example, mul, total
from .base import Model, Option
from ._points import _Points
from .mlp import _ACTIVATIONS, _activation_derivative, _g_prime, _logs_split

if TYPE_CHECKING:
    from ..network import Network

CHECK_LAYERS = "2,2,2,2"       # the concrete network on which the general lines are checked
_CHECK_AT = 2                  # the layer l of it that a general line is checked at


# Layer l for the matrix-calculus engine: the rest of the network reaches J only through Z[l]
# (resp. A[l]), so with the upstream gradient held fixed, G = ∂J/∂Z[l] = dZ[l]/m, J's gradient in
# W[l], b[l] and A[l−1] is that of Σ G ⊙ Z[l] (and in Z[l] that of Σ (dA[l]/m) ⊙ g(Z[l])).
_LAYER_SHAPES = ("W=n_l,n_p", "b=n_l", "Ap=n_p,m", "dZ=n_l,m", "dA=n_l,m", "Z=n_l,m")
_LAYER_NAMES = (("W", "W^[l]"), ("b", "b^[l]"), ("Ap", "A^[l-1]"), ("dZ", "dZ^[l]"), ("dA", "dA^[l]"),
                ("Z", "Z^[l]"), ("n_l", "n[l]"), ("n_p", "n[l−1]"))
# n[l] = 2, n[l−1] = 3, m = 2: W[l] and A[l−1] are not square
_LAYER_SIZES = (("n_l", 2), ("n_p", 3), ("m", 2))
_LAYER_G = {"sigmoid": ("sigmoid(Z)", "A * (1 - A)"), "tanh": ("tanh(Z)", "1 - A**2"), "relu": ("relu(Z)", "step(Z)")}


def layer_lines(act: str) -> dict:
    """The general layer's four gradients for the engine, each with the notes' form (dZ[l] and
    dA[l−1] are m times the gradient of the mean J, as they stack the per-example gradients)."""
    from ..matrix.lines import MatrixLine

    g, g_prime = _LAYER_G[act]
    linear = "sum(dZ * (W @ Ap + b)) / m"
    lines = {
        "dZ": (f"sum(dA * {g}) / m", "Z", f"dA * ({g_prime})", (("A", g),), "m"),
        "dW": (linear, "W", "dZ @ Ap.T / m", (), ""),
        "db": (linear, "b", "sum(dZ, axis=1) / m", (), ""),
        "dA": (linear, "Ap", "W.T @ dZ", (), "m"),
    }
    return {key: MatrixLine(f, _LAYER_SHAPES, wrt, form, where, _LAYER_SIZES, _LAYER_NAMES, times)
            for key, (f, wrt, form, where, times) in lines.items()}


def layer_sizes(text: str) -> tuple[int, ...]:
    """``"64,32,16,10"`` → (64, 32, 16, 10): the inputs, each hidden layer's units, the classes.

    Raises
    ------
    DeriveError
        If a size is not a positive integer, or there are fewer than two sizes or two classes.

    Examples
    --------
    >>> layer_sizes("64, 32,10")
    (64, 32, 10)
    """
    parts = [p.strip() for p in str(text).split(",")]
    if not any(parts):
        raise said("--layers is empty; give sizes such as 64,32,16,10", "--layers 为空；请给出各层大小，例如 64,32,16,10")
    sizes = []
    for p in parts:
        if not p.isdigit():
            raise said(f"--layers: {p!r} is not a positive integer", f"--layers：{p!r} 不是正整数")
        if int(p) < 1:
            raise said(f"--layers: sizes must be positive, not {p}", f"--layers：各层大小必须是正数，而不是 {p}")
        sizes.append(int(p))
    if len(sizes) < 2:
        raise said("--layers needs at least two sizes: the inputs and the classes",
                   "--layers 至少要有两个大小：输入数和类别数")
    if sizes[-1] < 2:
        raise said(f"--layers: the last size is the number of classes, at least 2, not {sizes[-1]}",
                   f"--layers：最后一个大小是类别数，至少为 2，而不是 {sizes[-1]}")
    return tuple(sizes)


@dataclass(frozen=True)
class LayersOption(Option):
    """``--layers``: comma-separated sizes, kept in their normal form ``64,32,16,10``."""

    def coerce(self, value):
        return ",".join(map(str, layer_sizes(value)))


def _bases(layer: str, prev: str) -> dict:
    """The names of layer ``layer`` (and of its input ``prev``): W^[l], z^[l], da^[l-1] …"""
    names = {"W": layer, "b": layer, "z": layer, "a": layer, "dz": layer, "da": layer, "ap": prev, "dap": prev}
    return {k: IndexedBase(f"{k.rstrip('p')}^[{v}]") for k, v in names.items()}


class Deep(Model):
    name = "deep"
    title = "An L-layer network"
    title_zh = "L 层神经网络"    # the title of `derive train --lang zh`
    summary = "An L-layer network: the general layer l, forward and backward, with its caches"
    order = 80
    trainable = True
    options = (
        LayersOption("layers", "64,32,16,10", "layer sizes n[0],…,n[L]: inputs, hidden units, classes"),
        Option("activation", "relu", "hidden activation g", choices=("relu", "tanh", "sigmoid")),
    )
    derivation_sizes = {"layers": CHECK_LAYERS}

    @property
    def sizes_tuple(self) -> tuple[int, ...]:
        return layer_sizes(self.layers)

    def network(self) -> Network:
        """L dense layers, g on all but the last, softmax cross-entropy; trained on the digits
        (He initialization for ReLU units)."""
        from ..network import Dense, Network, Param, Training

        n = self.sizes_tuple
        g = _ACTIVATIONS[self.activation]
        layers = tuple(
            Dense(units, Param(f"W{l}", f"W{l}_{{o}}_{{i}}"), Param(f"b{l}", f"b{l}_{{o}}"),
                  g if l < len(n) - 1 else None)
            for l, units in enumerate(n[1:], 1)
        )
        return Network(n[0], layers, "softmax-cross-entropy",
                       Training("digits", lr=0.2, epochs=60, optimizer="sgd", batch_size=32),
                       target="y_{o}")

    def build(self, d) -> None:
        act = self.activation
        g = _ACTIVATIONS[act]
        sizes = self.sizes_tuple
        # ℒ is the loss of one example, as Ng writes it in a network whose layers L counts
        L = sp.Symbol("Lcal")
        j, k, r = sp.symbols("j k r", integer=True, positive=True)
        n_l, n_p, n_L = (sp.Symbol(f"n^[{s}]") for s in ("l", "l-1", "L"))
        x, y = IndexedBase("x"), IndexedBase("y")
        gen = _bases("l", "l-1")
        out = _bases("L", "L-1")
        gname = {"sigmoid": "σ", "tanh": "tanh", "relu": "ReLU"}[act]
        d.title = Msg(f"An L-layer network (${gname}$ hidden layers, softmax output)",
                      f"L 层网络(隐藏层 ${gname}$,softmax 输出)")

        # -- the concrete network 2-2-2-2 on which general lines are checked ----------------------
        layers = len(CHECK_LAYERS.split(",")) - 1
        conc = {l: {name: IndexedBase(f"{name}{l}") for name in ("W", "b", "z", "a", "dz", "da")}
                for l in range(1, layers + 1)}

        def plain(base, *idx):
            return sp.Symbol(f"{base}_" + "_".join(map(str, idx)))

        two = (1, 2)
        inputs = [plain("x", q) for q in two]
        for l in range(1, layers + 1):
            prev = inputs if l == 1 else [plain(f"a{l - 1}", q) for q in two]
            for p in two:
                d.let(plain(f"z{l}", p), sp.Add(*[plain(f"W{l}", p, q) * prev[q - 1] for q in two]) + plain(f"b{l}", p))
            for p in two:
                if l < layers:
                    d.let(plain(f"a{l}", p), g(plain(f"z{l}", p)))
                else:
                    d.let(plain(f"a{l}", p), sp.exp(plain(f"z{l}", p)) / sp.Add(*[sp.exp(plain(f"z{l}", q)) for q in two]))
        zL = [plain(f"z{layers}", q) for q in two]
        d.let(L, sp.log(sp.Add(*map(sp.exp, zL))) - sp.Add(*[plain("y", q) * zq for q, zq in zip(two, zL)]))
        for p in two:
            d.let(plain(f"dz{layers}", p), plain(f"a{layers}", p) - plain("y", p))
        for l in range(layers - 1, 0, -1):
            for q in two:
                d.let(plain(f"da{l}", q), sp.Add(*[plain(f"W{l + 1}", p, q) * plain(f"dz{l + 1}", p) for p in two]))
            for q in two:
                d.let(plain(f"dz{l}", q), plain(f"da{l}", q) * _g_prime(act, plain(f"z{l}", q)))
        one_hot = {plain("y", 2): 1 - plain("y", 1)}

        def concrete(expr, l=_CHECK_AT):
            """A general line at layer ``l`` of the concrete network (l − 1 = 0 is the input x)."""
            names = {**{gen[k]: conc[l][k] for k in ("W", "b", "z", "a", "dz", "da")},
                     **{out[k]: conc[layers][k] for k in ("W", "b", "z", "a", "dz", "da")},
                     out["ap"]: conc[layers - 1]["a"], out["dap"]: conc[layers - 1]["da"],
                     gen["ap"]: conc[l - 1]["a"] if l > 1 else x, gen["dap"]: conc[l - 1]["da"] if l > 1 else None,
                     n_l: 2, n_p: 2, n_L: 2}
            return sp.sympify(expr).xreplace({a: b for a, b in names.items() if b is not None})

        inst = Instance({}, {j: 1, k: 2}, defs=d.defs)

        def pair(lhs, rhs, l=_CHECK_AT):
            return inst.pair(concrete(lhs, l), concrete(rhs, l), multiply_out=True)

        def D(f, v):
            return Derivative(f, v, evaluate=False)

        W, b, z, a, ap, dz, da, dap = (gen[k] for k in ("W", "b", "z", "a", "ap", "dz", "da", "dap"))

        d.section("Layers and sizes", "层与尺寸")
        d.note(Msg.of(
            "The network has $L = {L}$ layers of sizes $n[0], …, n[L]$: {sizes}; $n[0]$ inputs, "
            "then the units of each layer, the last layer's $n[L]$ units being the classes. Layer $l$ has a weight "
            "matrix $W[l]$ of $n[l] × n[l−1]$ and a bias $b[l]$ of $n[l] × 1$; $A[0] = X$.",
            "网络共有 $L = {L}$ 层,各层尺寸 $n[0], …, n[L]$ 依次为 {sizes_zh}:$n[0]$ 个输入,然后是每一层的单元数,"
            "最后一层的 $n[L]$ 个单元就是各个类别。第 $l$ 层有 $n[l] × n[l−1]$ 的权重矩阵 $W[l]$ 和 $n[l] × 1$ 的偏差 "
            "$b[l]$;$A[0] = X$。",
            L=sp.Integer(len(sizes) - 1), sizes=tuple(map(sp.Integer, sizes)),
            sizes_zh="、".join(map(str, sizes)),    # a list in Chinese words: 64、32、16、10
        ).then(Msg.check(
            "Every line about the general layer $l$ is checked at $l = 2$ of the network 2-2-2-2 ($L = 3$), "
            "at $j = 1$, $k = 2$.",
            "关于一般第 $l$ 层的每一行,都在网络 2-2-2-2($L = 3$)的 $l = 2$ 层、$j = 1$、$k = 2$ 处核对。")))

        # -- forward ------------------------------------------------------------------------------
        d.section("Forward pass, layer $l$, one example", "前向传播:第 $l$ 层,一个样本")
        z_def = sp.Add(Sum(mul(W[j, k], ap[k]), (k, 1, n_p)), b[j], evaluate=False)   # W·a + b, as the notes
        d.eq(z[j], z_def, "definition", Msg("$k$ runs over the $n[l−1]$ units of layer $l − 1$",
                                             "$k$ 遍历第 $l − 1$ 层的 $n[l−1]$ 个单元"),
             check=pair(z[j], z_def))
        d.eq(a[j], g(z[j]), "definition", Msg.of("$l < L$: the hidden activation $g = {g}$",
                                                 "$l < L$:隐藏层激活函数 $g = {g}$", g=sp.Symbol(gname)),
             check=pair(a[j], g(z[j])))
        soft = sp.exp(out["z"][j]) / Sum(sp.exp(out["z"][r]), (r, 1, n_L))
        d.eq(out["a"][j], soft, "definition", Msg("the last layer: softmax, $a[L] = ŷ$", "最后一层:softmax,$a[L] = ŷ$"),
             check=pair(out["a"][j], soft, layers))
        ce = -Sum(mul(y[r], sp.log(out["a"][r])), (r, 1, n_L))
        scores = tuple(zL)
        d.eq(L, ce, "definition", Msg("cross-entropy, $y$ one-hot; the loss is $ℒ$, since $L$ counts the layers",
                                       "交叉熵,$y$ 为 one-hot;损失记作 $ℒ$,因为 $L$ 是层数"),
             check=tuple(_logs_split(expand_defs(concrete(inst(s), layers), d.defs, keep=scores).xreplace(one_hot))
                         for s in (L, concrete(ce, layers))))
        d.note(
            "Each layer keeps a cache for the backward pass, cache[l]: its input $A[l−1]$, which $dW[l]$ needs; its "
            "weights $W[l]$ and bias $b[l]$, $W[l]$ being what $dA[l−1]$ needs; and $Z[l]$, at which $g′$ is taken.",
            "每一层都为反向传播保存一份缓存:它的输入 $A[l−1]$,$dW[l]$ 要用;它的权重 $W[l]$ 与偏差 $b[l]$,"
            "其中 $W[l]$ 是 $dA[l−1]$ 要用的;以及 $Z[l]$,$g′$ 就在这里求值。",
        )

        # -- backward, index form -------------------------------------------------------------------
        d.section("Backward pass, layer $l$, one example", "反向传播:第 $l$ 层,一个样本")
        d.note(
            "Gradients are named after their variable: $dz[l]_j = ∂ℒ/∂z[l]_j$, $da[l]_j = ∂ℒ/∂a[l]_j$. The backward "
            "pass starts at the output and walks down: layer $l$ receives $da[l]$ from layer $l + 1$ and hands "
            "$da[l−1]$ to layer $l − 1$.",
            "梯度以其变量命名:$dz[l]_j = ∂ℒ/∂z[l]_j$,$da[l]_j = ∂ℒ/∂a[l]_j$。反向传播从输出层开始逐层向下:第 $l$ 层"
            "从第 $l + 1$ 层接收 $da[l]$,再把 $da[l−1]$ 交给第 $l − 1$ 层。",
        )
        dzL = out["a"][j] - y[j]
        d.eq(D(L, out["z"][j]), dzL, "substitute", Msg("the softmax result (the softmax section)", "softmax 的结论(见 softmax 一节)"),
             check=pair(D(L, out["z"][j]), dzL, layers))
        only = Msg.of("{p} enters $ℒ$ only through {q}", "{p} 只通过 {q} 影响 $ℒ$")
        local, g_prime = _activation_derivative(d, act, a[j], z[j])
        lines = (
            ("dz", D(L, z[j]), ((mul(D(L, a[j]), local), "chain", Msg.of(only.en, only.zh, p=z[j], q=a[j])),
                                (mul(da[j], g_prime), "substitute", None))),
            ("dW", D(L, W[j, k]), ((mul(D(L, z[j]), D(z[j], W[j, k])), "chain", Msg.of(only.en, only.zh, p=W[j, k], q=z[j])),
                                   (mul(dz[j], ap[k]), "substitute", Msg("$∂z[l]_j/∂W[l]_jk = a[l−1]_k$: the cache's input",
                                                                         "$∂z[l]_j/∂W[l]_jk = a[l−1]_k$:缓存中的输入")))),
            ("db", D(L, b[j]), ((mul(D(L, z[j]), D(z[j], b[j])), "chain", Msg.of(only.en, only.zh, p=b[j], q=z[j])),
                                (dz[j], "substitute", Msg("$∂z[l]_j/∂b[l]_j = 1$", "$∂z[l]_j/∂b[l]_j = 1$")))),
            ("da", D(L, ap[k]), ((Sum(mul(D(L, z[j]), D(z[j], ap[k])), (j, 1, n_l)), "sum_paths",
                                  Msg("$a[l−1]_k$ feeds every $z[l]_j$", "$a[l−1]_k$ 进入每一个 $z[l]_j$")),
                                 (Sum(mul(W[j, k], dz[j]), (j, 1, n_l)), "substitute",
                                  Msg("$∂z[l]_j/∂a[l−1]_k = W[l]_jk$: the cache's weights", "$∂z[l]_j/∂a[l−1]_k = W[l]_jk$:缓存中的权重")))),
        )
        for _, lhs, steps in lines:
            for rhs, rule, note in steps:
                d.eq(lhs, rhs, rule, note, check=pair(lhs, rhs))

        # -- results --------------------------------------------------------------------------------
        at = Msg.check("checkable form: layer $l = 2$ of the network 2-2-2-2, one example, $j = 1$, $k = 2$; "
                 "$ℒ = log Σ_r e^(z3_r) − Σ_r y_r z3_r$",
                 "可用 sympy 验证的形式:网络 2-2-2-2 的第 $l = 2$ 层,一个样本,$j = 1$、$k = 2$;"
                 "$ℒ = log Σ_r e^(z3_r) − Σ_r y_r z3_r$")
        results = (("dz[L]_j", D(L, out["z"][j]), dzL, layers),
                   *((f"{name}[l]" + ("_jk" if name == "dW" else "_j"), lhs, steps[-1][0], _CHECK_AT)
                     for name, lhs, steps in lines[:3]),
                   ("da[l-1]_k", lines[3][1], lines[3][2][-1][0], _CHECK_AT))
        for name, lhs, display, l in results:
            wrt = inst(concrete(lhs.variables[0], l))
            d.result(name, display, lhs=lhs, of=L, wrt=wrt, value=inst(concrete(display, l)),
                     check=pair(lhs, display, l), note=at)

        # -- m examples, matrix form: after the one-example results, so the Results list follows
        # the body's order ----------------------------------------------------------------------------
        self._matrix_form(d, act, gname)

    def _matrix_form(self, d, act, gname) -> None:
        """The general layer for m examples, examples as columns, each line checked at l = 2 of
        the network 2-2-2-2 with m = 2 against ``sympy.diff`` of the mean loss J."""
        from ..matrix.lines import engine_gradient, show_line, show_rules

        d.section("$m$ examples in matrix form", "$m$ 个样本的矩阵形式")
        d.note(Msg(
            "Examples are columns: $A[l−1]$ is $n[l−1] × m$, $Z[l]$ and $A[l]$ are $n[l] × m$, and the bias $b[l]$ "
            "($n[l] × 1$) is added to every column (broadcasting). The cost is the mean $J = (1/m) Σ_i ℒ⁽ⁱ⁾$; "
            "$dZ[l]$ and $dA[l]$ stack the per-example gradients as columns, so $dZ[l] = m·∂J/∂Z[l]$.",
            "样本按列排列:$A[l−1]$ 为 $n[l−1] × m$,$Z[l]$、$A[l]$ 为 $n[l] × m$,偏差 $b[l]$($n[l] × 1$)加到每一列上"
            "(广播)。代价是平均值 $J = (1/m) Σ_i ℒ⁽ⁱ⁾$;$dZ[l]$、$dA[l]$ 把各样本的梯度按列排好,所以 $dZ[l] = m·∂J/∂Z[l]$。",
        ).then(Msg.check(
            "Checked against sympy.diff of $J$ at $l = 2$ of the network 2-2-2-2 with $m = 2$ (example $i$ in "
            "class $i$), at two random points.",
            "已在网络 2-2-2-2 的 $l = 2$ 层、$m = 2$(第 $i$ 个样本属于第 $i$ 类)上于两个随机点与 sympy.diff 核对。")))
        g = _ACTIVATIONS[act]
        e = _explicit(act)
        mm = e["m"]
        ones = sp.ones(1, mm)
        n_l, n_p, m = sp.Symbol("n^[l]"), sp.Symbol("n^[l-1]"), sp.Symbol("m", integer=True, positive=True)
        MS = sp.MatrixSymbol
        Wm, bm, Zm, Am, Apm = MS("W^[l]", n_l, n_p), MS("b^[l]", n_l, 1), MS("Z^[l]", n_l, m), MS("A^[l]", n_l, m), \
            MS("A^[l-1]", n_p, m)
        dZm, dAm = MS("dZ^[l]", n_l, m), MS("dA^[l]", n_l, m)

        def free(name):
            return sp.Matrix(2, mm, lambda p, q: sp.Symbol(f"{name}_{p + 1}_{q + 1}"))

        Z2f, A2f, A1f = free("Z2"), free("A2"), free("A1")
        gp = Z2f.applyfunc(lambda t: _g_prime(act, t))
        at = _Points([*e["params"], *e["X"], *Z2f, *A2f, *A1f])
        # each example's column of the index form: z2_p at x = X[:, q]
        col = {}
        for name in ("z2", "a2"):
            col[name] = sp.Matrix(2, mm, lambda p, q: expand_defs(sp.Symbol(f"{name}_{p + 1}"), d.defs).xreplace(
                {sp.Symbol(f"x_{c}"): e["X"][c - 1, q] for c in (1, 2)}))
        d.eq(Zm, sp.MatAdd(sp.MatMul(Wm, Apm), bm), "vectorize",
             Msg("column $i$ is the one-example form at $a[l−1] = a[l−1]⁽ⁱ⁾$, column $i$ of $A[l−1]$; $b[l]$ is "
                 "added to each column",
                 "第 $i$ 列即 $a[l−1] = a[l−1]⁽ⁱ⁾$($A[l−1]$ 的第 $i$ 列)时的单样本形式;$b[l]$ 加到每一列上"),
             check=at.same(col["z2"], e["Z"][2]))
        d.eq(Am, g(Zm), "vectorize", Msg("elementwise", "逐元素"), check=at.same(col["a2"], e["A"][2]))

        cost = e["cost"]
        W3, b3, W2, b2 = e["W"][3], e["b"][3], e["W"][2], e["b"][2]
        J_of_Z2 = cost(W3 * Z2f.applyfunc(g) + b3 * ones)
        J_of_A2 = cost(W3 * A2f + b3 * ones)
        # dZ = dA ⊙ g′(Z): ∂(mJ)/∂Z[2] against ∂(mJ)/∂A[2] (A[2] then set to g(Z[2])) times g′(Z[2]),
        # worked out only when the proof cache does not hold the claim
        given = dict(zip(A2f, Z2f.applyfunc(g)))
        dZ_pair = Deferred(
            (*at._content, "dZ", mm * J_of_Z2, mm * J_of_A2, Z2f, A2f, given, gp),
            lambda: (at.grad(mm * J_of_Z2, Z2f),
                     at.grad(mm * J_of_A2, A2f, given).multiply_elementwise(at.value(gp))))
        if act == "relu":
            g_prime_m = (MS("D^[l]", n_l, m),)
            d.note("$D[l]$ is $[Z[l] > 0]$ entry by entry, $ReLU′$ at each unit and example.",
                   "$D[l]$ 逐元素等于 $[Z[l] > 0]$,即每个单元、每个样本处的 $ReLU′$。")
        elif act == "tanh":
            g_prime_m = (sp.OneMatrix(n_l, m) - Hadamard(Am, Am),)
        else:
            g_prime_m = (Am, sp.OneMatrix(n_l, m) - Am)
        # the backward recursion written out (dZ3 = A3 − Y, dA2 = W3ᵀdZ3, dZ2 = dA2 ⊙ g′(Z2)),
        # checked against sympy.diff of J: the oracle never sees these formulas
        dZ3 = e["A"][3] - e["Y"]
        dZ2 = (W3.T * dZ3).multiply_elementwise(e["Z"][2].applyfunc(lambda t: _g_prime(act, t)))
        J_of_A1 = cost(W3 * (W2 * A1f + b2 * ones).applyfunc(g) + b3 * ones)
        Z2_of_A1 = W2 * A1f + b2 * ones
        dZ2_of_A1 = (W3.T * (e["softmax"](W3 * Z2_of_A1.applyfunc(g) + b3 * ones) - e["Y"])).multiply_elementwise(
            Z2_of_A1.applyfunc(lambda t: _g_prime(act, t)))
        lines = [
            ("dZ", dZm, Hadamard(dAm, *g_prime_m), "chain",
             Msg("$g′$ at this layer's own $Z[l]$, from the cache ($⊙$: elementwise product)",
                 "$g′$ 取在本层自己的 $Z[l]$ 处,来自缓存($⊙$:逐元素乘积)"),
             dZ_pair, None),
            ("dW", MS("dW^[l]", n_l, n_p), sp.MatMul(1 / m, dZm, Apm.T), "mean", Msg("$n[l] × n[l−1]$", "$n[l] × n[l−1]$"),
             at.claim(e["J"], W2, dZ2 * e["A"][1].T / mm), (W2, dZ2 * e["A"][1].T / mm)),
            ("db", MS("db^[l]", n_l, 1), total(example("dz^[l]"), m) / m, "mean",
             Msg("$n[l] × 1$: the sum runs over the $m$ columns $dz[l]⁽ⁱ⁾$ of $dZ[l]$",
                 "$n[l] × 1$:对 $dZ[l]$ 的 $m$ 列 $dz[l]⁽ⁱ⁾$ 求和"),
             at.claim(e["J"], b2, dZ2 * ones.T / mm), (b2, dZ2 * ones.T / mm)),
            ("dA", MS("dA^[l-1]", n_p, m), sp.MatMul(Wm.T, dZm), "sum_paths",
             Msg("$n[l−1] × m$: handed to layer $l − 1$", "$n[l−1] × m$:交给第 $l − 1$ 层"),
             at.claim(mm * J_of_A1, A1f, W2.T * dZ2_of_A1), None),
        ]
        grads = {key: engine_gradient(line) for key, line in layer_lines(act).items()}
        d.note("By matrix calculus: the layers after $l$ reach $J$ only "
               "through $Z[l]$, so with $G = ∂J/∂Z[l] = (1/m) dZ[l]$ held fixed, $J$'s gradient in $W[l]$, $b[l]$ and "
               "$A[l−1]$ is that of $Σ G ⊙ Z[l]$; likewise in $Z[l]$ it is that of $Σ ((1/m) dA[l]) ⊙ g(Z[l])$.",
               "用矩阵微积分:第 $l$ 层之后的各层只通过 $Z[l]$ 影响 $J$,"
               "所以固定 $G = ∂J/∂Z[l] = (1/m) dZ[l]$,$J$ 关于 $W[l]$、$b[l]$、$A[l−1]$ 的梯度就是 $Σ G ⊙ Z[l]$ 的梯度;"
               "同理,关于 $Z[l]$ 的梯度是 $Σ ((1/m) dA[l]) ⊙ g(Z[l])$ 的梯度。")
        show_rules(d, list(grads.values()), work=Msg("as in the one-example lines above", "与上面单个样本的推导相同"))
        J = sp.Symbol("J")
        for key, lhs, rhs, rule, note, check, _ in lines:
            g = grads[key]
            # ∂J/∂W[l] and ∂J/∂b[l] are dW[l] and db[l] themselves: the student reads the notes'
            # names, the engine's form is the checker's; ∂J/∂Z[l] and ∂J/∂A[l−1] differ by m and stay
            show_line(d, g, Derivative(J, sp.Symbol(dict(_LAYER_NAMES)[g.line.wrt]), evaluate=False),
                      audience="check" if g.line.wrt in ("W", "b") else "student")
            # the notes' form, checked against sympy.diff of the network's J (stronger than the
            # engine's line above, which holds the upstream gradient fixed); its form is the engine's
            # up to the factor m of dZ and dA
            d.eq(lhs, rhs, rule, note, check=check)
        note = Msg.check("checkable form: entry (1, 2) at $l = 2$ of the network 2-2-2-2, $m = 2$",
                   "可用 sympy 验证的形式:网络 2-2-2-2 第 $l = 2$ 层、$m = 2$ 时的第 (1, 2) 个元素")
        note_b = Msg.check("checkable form: entry (1, 1) at $l = 2$ of the network 2-2-2-2, $m = 2$",
                     "可用 sympy 验证的形式:网络 2-2-2-2 第 $l = 2$ 层、$m = 2$ 时的第 (1, 1) 个元素")
        for name, lhs, rhs, _, _, check, explicit in lines:
            if explicit is None:
                continue
            entry = (0, 1) if name == "dW" else (0, 0)
            var, value = explicit
            d.result(f"{name}[l]", rhs, lhs=lhs, of=e["J"], wrt=var[entry], value=value[entry],
                     check=check.entry(entry), note=note if name == "dW" else note_b)


def _explicit(act: str, layers: int = 3, m: int = 2) -> dict:
    """The network 2-2-2-2 on m = 2 examples written out (examples as columns, example i in
    class i): each layer's W, b, Z, A, the softmax and the mean cross-entropy J."""
    g = _ACTIVATIONS[act]

    def mat(name, rows, cols):
        return sp.Matrix(rows, cols, lambda p, q: sp.Symbol(f"{name}_{p + 1}_{q + 1}"))

    X = mat("X", 2, m)
    Y = sp.Matrix(2, m, lambda p, q: int(p == q % 2))
    ones = sp.ones(1, m)

    def softmax(Z):
        return sp.Matrix(2, m, lambda p, q: sp.exp(Z[p, q]) / sum(sp.exp(Z[r, q]) for r in range(2)))

    def cost(Z):
        return sum(sp.log(sum(sp.exp(Z[r, q]) for r in range(2))) - sum(Y[r, q] * Z[r, q] for r in range(2))
                   for q in range(m)) / m

    W, b, Z, A = {}, {}, {}, {0: X}
    for l in range(1, layers + 1):
        W[l] = mat(f"W{l}", 2, 2)
        b[l] = sp.Matrix(2, 1, lambda p, _: sp.Symbol(f"b{l}_{p + 1}"))
        Z[l] = W[l] * A[l - 1] + b[l] * ones
        A[l] = Z[l].applyfunc(g) if l < layers else softmax(Z[l])
    params = [s for l in range(1, layers + 1) for s in (*W[l], *b[l])]
    return dict(W=W, b=b, Z=Z, A=A, X=X, Y=Y, J=cost(Z[layers]), m=m, softmax=softmax, cost=cost, params=params)
