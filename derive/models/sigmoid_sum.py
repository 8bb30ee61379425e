"""Sum of sigmoids: ŷ = b₀ + Σ c_i σ(b_i + Σ w_ij x_j), index and matrix forms.

Index-form lines (symbolic H sigmoids and n_x features) are verified on a concrete instance with
H = 2, n_x = 2 (and m = 2 examples); see ``_concrete``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import sympy as sp
from sympy import Derivative, IndexedBase, Sum

from ..functions import relu, sigmoid
from ..messages import Msg
from ..printing import EXAMPLE
from ._concrete import Instance
from ._lazy import lazy_constants
from ._notation import NotesHardSigmoid as hard_sigmoid
from ._notation import Hadamard, Ones, mul, shape_text, shown_eq, sigmoid_derived_later
from .base import Model, Option, features_option, hidden_option

if TYPE_CHECKING:
    from ..network import Network


def piece_activation(activation: str) -> sp.Lambda:
    """g of one piece c·g(b + w·x): σ, or (``"relu"``) the hard sigmoid ReLU(u) − ReLU(u − 1),
    whose slope is [u > 0] − [u > 1] (ReLU′(0) = 0)."""
    u = sp.Symbol("u")
    return sp.Lambda(u, relu(u) - relu(u - 1) if activation == "relu" else sigmoid(u))


# The mean squared error in matrix form for the matrix-calculus engine (b_0 is the outer constant), and
# the notes' form of each gradient with A = g(W·X + b·𝟏ᵀ) and the errors e; checked at H = 2,
# n_x = 3, m = 2, so that W, X and A are not square and a transposed factor would not fit.
_SHAPES = ("X=n_x,m", "W=H,n_x", "b=H", "c=H", "y=m")
_SIZES = (("H", 2), ("n_x", 3), ("m", 2))


def matrix_lines(activation: str) -> dict:
    """The four gradients for the engine, each with the notes' form. With ReLU pieces the slope
    is D = [R > 0] − [R > 1] and the lines are checked at seeded random points (the written-out
    ReLUs make symbolic comparison slow; a random point is off the kinks)."""
    from ..matrix.lines import MatrixLine

    r = "W @ X + b"
    if activation == "relu":
        a, spread, points = f"(relu({r}) - relu({r} - 1))", "(c @ e.T) * D", 2
        where = (("D", f"step({r}) - step({r} - 1)"),)
    else:
        a, spread, points, where = f"sigmoid({r})", "(c @ e.T) * A * (1 - A)", 0, ()
    e = f"{a}.T @ c + b_0 - y"
    where = (("A", a), ("e", e), *where)
    return {
        key: MatrixLine(f"sum(({e})**2 / m)", _SHAPES, wrt, form, where, _SIZES, named=("e",), points=points)
        for key, wrt, form in (
            ("b", "b_0", "2 * sum(e) / m"),
            ("c", "c", "2 / m * A @ e"),
            ("b_k", "b", f"2 / m * sum({spread}, axis=1)"),
            ("w", "W", f"2 / m * ({spread}) @ X.T"),
        )
    }


# the sigmoid lines, made on first use: the engine is imported by a build, not by a run that
# renders the stored derivation
__getattr__ = lazy_constants(globals(), LINES=lambda: matrix_lines("sigmoid"))


class SigmoidSum(Model):
    name = "sigmoid-sum"
    title = "Sum of sigmoids"
    title_zh = "sigmoid 之和"    # the title of `derive train --lang zh`
    summary = "Sum of sigmoids: ŷ = b₀ + Σ c_i σ(b_i + Σ w_ij x_j), index and matrix forms"
    order = 55
    trainable = True
    options = (features_option(1), hidden_option(3), Option("activation", "sigmoid", "the pieces' activation", choices=("sigmoid", "relu")),)
    derivation_sizes = {"features": 2, "hidden": 2}

    def network(self) -> Network:
        """ŷ = b₀ + Σ_i c_i g(b_i + W_i·x) with the squared error, on the notes' red curve."""
        from ..network import Dense, Network, Param, Training

        pieces = Dense(self.hidden, Param("W", "w_{o}_{i}"), Param("b_hidden", "b_{o}"),
                       piece_activation(self.activation), layout="out,in")
        out = Dense(None, Param("c", "c_{i}"), Param("b", "b_0"))
        if self.activation == "relu":
            # A hard sigmoid is two ReLUs, so three pieces could draw the red curve exactly; but
            # from a random start gradient descent often parks a piece where it is flat on every
            # example (a dead unit) and never moves it again. With forty pieces and mini-batch
            # noise it finds the curve from any seed.
            training = Training("red-curve", lr=0.02, epochs=2000, optimizer="adam", batch_size=32,
                                options={"hidden": 40})
        else:
            training = Training("red-curve", lr=0.05, epochs=3000, optimizer="adam")
        return Network(self.features, (pieces, out), "squared", training,
                       inputs="X_{i}_{n}", target="y" + EXAMPLE + "_{n}", examples=2)

    def build(self, d) -> None:
        from ..matrix.lines import show_line

        relu_pieces = self.activation == "relu"
        # J is the cost in the course: the feature count is n_x, as in logistic regression
        H, J, m = sp.symbols("H n_x m", integer=True, positive=True)
        h, j, k, l, i = sp.symbols("h j k l i", integer=True, positive=True)
        w, x, c, bv, r, a = (IndexedBase(s) for s in ("w", "x", "c", "b", "r", "a"))
        # h numbers the pieces, so that i numbers the examples as everywhere in the course:
        # e⁽ⁱ⁾ per example; A_ki and X_li are entries of the matrices A and X
        R, A, X, G = (IndexedBase(s) for s in ("R", "A", "X", "D"))
        Yh, Y, E = (IndexedBase(s + EXAMPLE) for s in ("yhat", "y", "e"))
        # b₀ is the outer constant, the notes' "b常数", apart from the vector b of the pieces
        b, yhat, L = sp.symbols("b_0 yhat L")
        point = {h: 2, k: 2, l: 1, i: 2}
        inst = Instance({H: 2, J: 2, m: 2}, point, defs=d.defs)

        g = piece_activation(self.activation)

        def g_prime(z):
            if relu_pieces:
                return sp.Heaviside(z, 0) - sp.Heaviside(z - 1, 0)
            return mul(sigmoid(z), 1 - sigmoid(z))

        # The instance every index-form line is checked on: H = 2 pieces, J = 2 features, m = 2
        # examples, with plain symbols w_1_2, x_2, X_2_1, …
        for iv in (1, 2):
            d.let(inst(r[iv]), inst(bv[iv] + Sum(w[iv, j] * x[j], (j, 1, J))))
            d.let(inst(a[iv]), g(inst(r[iv])))
            for nv in (1, 2):
                d.let(inst(R[iv, nv]), inst(bv[iv] + Sum(w[iv, j] * X[j, nv], (j, 1, J))))
                d.let(inst(A[iv, nv]), g(inst(R[iv, nv])))
                if relu_pieces:
                    d.let(inst(G[iv, nv]), g_prime(inst(R[iv, nv])))
        d.let(yhat, inst(b + Sum(c[h] * a[h], (h, 1, H))))
        for nv in (1, 2):
            d.let(inst(Yh[nv]), inst(b + Sum(c[h] * A[h, nv], (h, 1, H))))
            d.let(inst(E[nv]), inst(Yh[nv] - Y[nv]))
        d.let(L, inst(Sum(E[i] ** 2, (i, 1, m)) / m))

        if relu_pieces:
            d.title = Msg("Sum of hard sigmoids built from ReLUs: the red curve and its gradient",
                          "用 ReLU 组成的硬 sigmoid 之和:红色曲线及其梯度")
        else:
            d.title = Msg("Sum of sigmoids: the red curve and its gradient", "sigmoid 之和:红色曲线及其梯度")

        # -- the model ---------------------------------------------------------------------
        d.section("The model in index form", "模型的下标形式")
        d.note(Msg.of(
            "The red curve is a constant {b} plus {H} pieces; {h} numbers the pieces and {j} the {J} "
            "features, {w} is the weight of feature {j} inside piece {h}. The notes call the model's output "
            "{y0}; here it is {y}, and {y0} is the target, as in the rest of the course.",
            "$红色曲线 = 常数$ {b} $+ {H}$ 个蓝色函数（每个用一个 sigmoid 逼近）;{h} 为第几个蓝色函数,{j} 为第几个特征(共 {J} 个),"
            "{w} 是第 {h} 个蓝色函数里给第 {j} 个特征的权重。笔记把模型的输出记作 {y0}；这里记作 {y}，"
            "{y0} 表示目标值，与课程其余部分一致。",
            b=b, y0=sp.Symbol("y"), y=yhat,
            H=H, J=J, h=h, j=j, w=w[h, j],
        ).then(Msg.check(
            "Each index-form line is checked on {H2} pieces and {J2} features, at {k2}, {l1}.",
            "下标形式的每一行都在 {H2}、{J2} 上，于 {k2}、{l1} 处核对。",
            H2=shown_eq(H, 2), J2=shown_eq(J, 2), k2=shown_eq(k, 2), l1=shown_eq(l, 1),
        )))
        if relu_pieces:
            d.note("Each blue hard-sigmoid piece is the difference of two ReLUs:",
                   "每个蓝色函数(硬 sigmoid)都是两个 ReLU 之差:")
            cs, bs, ws, x1, z_ = sp.symbols("c b w x1 z")
            piece = sp.Add(ws * x1, bs, evaluate=False)  # w·x₁ + b, as the notes write it
            shifted = sp.Add(ws * x1, bs, -1, evaluate=False)
            d.eq(mul(cs, hard_sigmoid(piece)), mul(cs, relu(piece) - relu(shifted)), "rewrite",
                 # ReLU(z) − ReLU(z − 1) in this order, as the activations section writes it
                 Msg.of("{e}", "{e}", e=shown_eq(hard_sigmoid(z_), sp.Add(
                     relu(z_), sp.Mul(-1, relu(sp.Add(z_, -1, evaluate=False)), evaluate=False), evaluate=False))))
        r_def = bv[h] + Sum(mul(w[h, j], x[j]), (j, 1, J))
        d.eq(r[h], r_def, "definition", check=inst.pair(r[h], r_def))
        if relu_pieces:
            d.eq(a[h], hard_sigmoid(r[h]), "definition", check=inst.pair(a[h], hard_sigmoid(r[h])))
            d.eq(a[h], g(r[h]), "rewrite", check=inst.pair(a[h], g(r[h])))
        else:
            d.eq(a[h], sigmoid(r[h]), "definition", check=inst.pair(a[h], sigmoid(r[h])))
        full = b + Sum(mul(c[h], g(r_def)), (h, 1, H))
        d.eq(yhat, full, "definition", check=inst.pair(yhat, full))
        body = b + Sum(mul(c[h], a[h]), (h, 1, H))
        d.eq(yhat, body, "intermediates", check=inst.pair(yhat, body))

        # -- partial derivatives of ŷ ----------------------------------------------------------
        d.section("Partial derivatives of $ŷ$", "$ŷ$ 的偏导数")
        d.note(
            "The parameters are independent: only piece $k$ contains $c_k$, $b_k$ and $w_kl$, so in a sum "
            "over the pieces every other term does not depend on them. (In index notation, "
            "$∂c_h/∂c_k = δ_hk$: 1 when $h = k$, 0 otherwise.)",
            "各参数相互独立:只有第 $k$ 个蓝色函数含有 $c_k$、$b_k$ 与 $w_kl$,所以在对各蓝色函数的求和中,"
            "其余各项都与它们无关。(用下标记号写作 $∂c_h/∂c_k = δ_hk$:$h = k$ 时为 1,否则为 0。)",
        )
        d_b = Derivative(yhat, b, evaluate=False)
        d.eq(d_b, Derivative(body, b, evaluate=False), "differentiate", check=inst.pair(d_b, Derivative(body, b)))
        d.eq(d_b, sp.S.One, "sum", Msg.of("{t} does not depend on {b}", "{t} 与 {b} 无关", t=mul(c[h], a[h]), b=b),
             check=inst.pair(d_b, 1))

        d_c = Derivative(yhat, c[k], evaluate=False)
        d.eq(d_c, Derivative(body, c[k], evaluate=False), "differentiate",
             check=inst.pair(d_c, Derivative(body, c[k])))
        d.eq(d_c, a[k], "sum", Msg.of("only the term {e} contains {p}", "只有 {e} 那一项含有 {p}",
                                      e=shown_eq(h, k), p=c[k]), check=inst.pair(d_c, a[k]))
        d.eq(d_c, g(r[k]), "substitute", Msg.of("{a}", "{a}", a=shown_eq(a[k], g(r[k]))),
             check=inst.pair(d_c, g(r[k])))

        d.note("The derivative of one piece, rule by rule:", "一个蓝色函数的导数,逐条法则:")
        a_k, r_k = sp.symbols("a_k r_k")
        d.let(a_k, g(r_k))
        start = len(d.steps)
        d.work(Derivative(a_k, r_k, evaluate=False), g(r_k), r_k)
        sigmoid_derived_later(d, start)
        if relu_pieces:
            d.note(
                "Convention at the kinks: $ReLU′(0) = 0$, so the slope of a piece is $[r > 0] − [r > 1]$: "
                "0 at $r = 0$ and 1 at $r = 1$.",
                "折点处的约定:$ReLU′(0) = 0$,因此蓝色函数的斜率为 $[r > 0] − [r > 1]$:$r = 0$ 处为 0,$r = 1$ 处为 1。",
            )

        d_r = Derivative(yhat, r[k], evaluate=False)
        line = Sum(mul(c[h], Derivative(a[h], r[k], evaluate=False)), (h, 1, H))
        d.eq(d_r, line, "sum", Msg.of("{b} and the {c} do not depend on {r}", "{b} 与 {c} 都与 {r} 无关",
                                      b=b, c=c[h], r=r[k]),
             check=inst.pair(d_r, line))
        dy_dr = mul(c[k], g_prime(r[k]))
        d.eq(d_r, dy_dr, "substitute", Msg.of("only {a} depends on {r}: the term {ik}, with {da} above",
                                              "只有 {a} 依赖 {r}:即 {ik} 那一项,{da} 见上",
                                              a=a[k], r=r[k], ik=shown_eq(h, k), da=Derivative(a_k, r_k, evaluate=False)),
             check=inst.pair(d_r, dy_dr))

        r_body = bv[k] + Sum(mul(w[k, j], x[j]), (j, 1, J))
        dr_db = Derivative(r[k], bv[k], evaluate=False)
        d.eq(dr_db, Derivative(r_body, bv[k], evaluate=False), "differentiate",
             check=inst.pair(dr_db, Derivative(r_body, bv[k])))
        d.eq(dr_db, sp.S.One, "sum", Msg.of("{t} does not depend on {b}", "{t} 与 {b} 无关",
                                            t=mul(w[k, j], x[j]), b=bv[k]),
             check=inst.pair(dr_db, 1))
        dr_dw = Derivative(r[k], w[k, l], evaluate=False)
        d.eq(dr_dw, Derivative(r_body, w[k, l], evaluate=False), "differentiate",
             check=inst.pair(dr_dw, Derivative(r_body, w[k, l])))
        d.eq(dr_dw, x[l], "sum", Msg.of("only the term {e} contains {p}", "只有 {e} 那一项含有 {p}",
                                        e=shown_eq(j, l), p=w[k, l]), check=inst.pair(dr_dw, x[l]))

        through = ("{p} enters {y} only through {r}", "{p} 只通过 {r} 影响 {y}")
        d_bk = Derivative(yhat, bv[k], evaluate=False)
        line = mul(Derivative(yhat, r[k], evaluate=False), dr_db)
        d.eq(d_bk, line, "chain", Msg.of(*through, p=bv[k], y=yhat, r=r[k]), check=inst.pair(d_bk, line))
        d.eq(d_bk, dy_dr, "substitute", check=inst.pair(d_bk, dy_dr))
        d_w = Derivative(yhat, w[k, l], evaluate=False)
        line = mul(Derivative(yhat, r[k], evaluate=False), dr_dw)
        d.eq(d_w, line, "chain", Msg.of(*through, p=w[k, l], y=yhat, r=r[k]), check=inst.pair(d_w, line))
        dy_dw = mul(c[k], g_prime(r[k]), x[l])
        d.eq(d_w, dy_dw, "substitute", check=inst.pair(d_w, dy_dw))

        # -- vector form -------------------------------------------------------------------
        d.section("Vector form", "向量形式")
        d.note(
            "Stack the pieces: {W} is ${HJ}$ (row {h} holds the weights {w} of piece {h}), {x} is ${J1}$, the "
            "vector {bv} is ${H1}$ (entries {bi}), {c} is ${H1}$; {r} and {a} are ${H1}$; the outer constant {b} "
            "and {y} are numbers.",
            "把各蓝色函数排成向量:{W} 为 ${HJ}$(第 {h} 行是第 {h} 个蓝色函数的权重 {w}),{x} 为 ${J1}$,向量 {bv} 为 ${H1}$"
            "(元素 {bi}),{c} 为 ${H1}$;{r} 与 {a} 为 ${H1}$;最外层的常数 {b} 与输出 {y} 是标量。",
            W=sp.Symbol("W"), x=sp.Symbol("x"), b=b, bv=sp.Symbol("b"), c=sp.Symbol("c"), r=sp.Symbol("r"), a=sp.Symbol("a"),
            y=yhat, h=h, w=w[h, j], bi=bv[h], HJ=shape_text(H, J), J1=shape_text(J, 1), H1=shape_text(H, 1),
        )
        Wm, xm, bm, cm = (sp.MatrixSymbol(s, *shape) for s, shape in
                          (("W", (H, J)), ("x", (J, 1)), ("b", (H, 1)), ("c", (H, 1))))
        rm, am = sp.MatrixSymbol("r", H, 1), sp.MatrixSymbol("a", H, 1)
        Wc, xc, bc, cc, rc, ac = (inst.matrix(w, 2, 2), inst.matrix(x, 2), inst.matrix(bv, 2),
                                  inst.matrix(c, 2), inst.matrix(r, 2), inst.matrix(a, 2))
        stack = Msg.of("the {H} pieces stacked", "写成向量形式：把 {H} 个 sigmoid 堆叠起来", H=H)
        d.eq(rm, sp.MatAdd(bm, sp.MatMul(Wm, xm), evaluate=False), "rearrange", stack, check=(rc, bc + Wc * xc))
        d.eq(am, (hard_sigmoid if relu_pieces else sigmoid)(rm), "rearrange",
             Msg("elementwise", "逐元素"), check=(ac, rc.applyfunc(g)))
        d.eq(yhat, sp.Add(b, sp.MatMul(cm.T, am), evaluate=False), "rearrange", stack,
             check=(yhat, b + (cc.T * ac)[0]))

        # -- mean squared error over m examples ------------------------------------------------
        d.section("The loss over $m$ examples and its gradient", "$m$ 个样本上的损失及其梯度")
        Rm, Am = sp.MatrixSymbol("R", H, m), sp.MatrixSymbol("A", H, m)
        d.note(Msg.of(
            "Examples are columns, as in the notes' vectorized logistic regression: {X} is ${Jm}$, column "
            "{i} holding the features of example {i}; {R} and {A} are ${Hm}$, so {Ain} is {a} for example "
            "{i}; the predictions {yh}, targets {y} and errors {e} are ${m1}$ columns, {yhv}.",
            "与笔记中向量化的逻辑回归一样,样本按列排列:{X} 为 ${Jm}$,第 {i} 列是第 {i} 个样本的特征;"
            "{R} 与 {A} 为 ${Hm}$,{Ain} 就是第 {i} 个样本的 {a};预测 {yh}、目标 {y} 与误差 {e} 都是 ${m1}$ 的"
            "列向量,{yhv}。",
            X=sp.Symbol("X"), i=i, Jm=shape_text(J, m), Hm=shape_text(H, m), m1=shape_text(m, 1),
            R=shown_eq(Rm, sp.MatAdd(sp.MatMul(Wm, sp.MatrixSymbol("X", J, m)), sp.MatMul(bm, sp.Transpose(Ones(m, 1))))),
            A=shown_eq(Am, (hard_sigmoid if relu_pieces else sigmoid)(Rm)), Ain=A[h, i], a=a[h],
            yh=yhat, y=sp.Symbol("y"), e=shown_eq(sp.Symbol("e"), yhat - sp.Symbol("y")),
            yhv=shown_eq(sp.MatrixSymbol("yhat", m, 1), sp.MatAdd(sp.MatMul(b, Ones(m, 1)), sp.MatMul(Am.T, cm))),
        ).then(Msg.check(
            "Lines are checked against sympy.diff of {L} on {H2}, {J2}, {m2} examples.",
            "各行都在 {H2}、{J2}、{m2} 上与 $L$ 的 sympy.diff 核对。",
            L=L, H2=shown_eq(H, 2), J2=shown_eq(J, 2), m2=shown_eq(m, 2),
        )))
        mse = Sum((Yh[i] - Y[i]) ** 2, (i, 1, m)) / m
        d.eq(L, mse, "definition", Msg("the mean squared error", "均方误差"), check=inst.pair(L, mse))
        d.eq(E[i], Yh[i] - Y[i], "definition", Msg("the error of example $i$", "第 $i$ 个样本的误差"),
             check=inst.pair(E[i], Yh[i] - Y[i]))
        if relu_pieces:
            d.eq(G[k, i], g_prime(R[k, i]), "definition",
                 Msg("the slope of piece $k$ at example $i$", "第 $k$ 个蓝色函数在第 $i$ 个样本处的斜率"),
                 check=inst.pair(G[k, i], g_prime(R[k, i])))
            slope = G[k, i]
        else:
            slope = mul(A[k, i], 1 - A[k, i])
        two_m = 2 / m
        chain_m = Msg("power rule in each term of the sum", "对和式的每一项用幂法则")
        sub_m = Msg("the partial derivatives of $ŷ$ from above, at example $i$", "代入上面 $ŷ$ 的偏导数(第 $i$ 个样本)")
        index_forms = {}
        for key, theta, per_example in (
            ("b", b, sp.S.One),
            ("c", c[k], A[k, i]),
            ("b_k", bv[k], mul(c[k], slope)),
            ("w", w[k, l], mul(c[k], slope, X[l, i])),
        ):
            lhs = Derivative(L, theta, evaluate=False)
            # (2/m)·Σ …, the notes' mean
            chain = two_m * Sum(mul(E[i], Derivative(Yh[i], theta, evaluate=False)), (i, 1, m))
            d.eq(lhs, chain, "chain", chain_m, check=inst.pair(lhs, chain))
            form = two_m * Sum(E[i] if per_example == 1 else mul(E[i], per_example), (i, 1, m))
            d.eq(lhs, form, "substitute", sub_m, check=inst.pair(lhs, form))
            index_forms[key] = (lhs, form)

        Xm, em = sp.MatrixSymbol("X", J, m), sp.MatrixSymbol("e", m, 1)
        ones_m = Ones(m, 1)
        # agreement of the two forms is an identity in free A, e, c, X: checked with m = 3
        # examples on fresh symbols, so nothing needs expanding
        free = Instance({H: 2, J: 2, m: 3}, fresh=True)
        Ac, Xc, ec, cf = free.matrix(A, 2, 3), free.matrix(X, 2, 3), free.matrix(E, 3), free.matrix(c, 2)
        if relu_pieces:
            spread = Hadamard(sp.MatMul(cm, em.T), sp.MatrixSymbol("D", H, m))
            spread_c = (cf * ec.T).multiply_elementwise(free.matrix(G, 2, 3))
        else:
            spread = Hadamard(sp.MatMul(cm, em.T), Am, sp.OneMatrix(H, m) - Am)
            spread_c = (cf * ec.T).multiply_elementwise(Ac).multiply_elementwise(Ac.applyfunc(lambda t: 1 - t))
        third = sp.Rational(2, 3)
        ones3 = sp.ones(3, 1)
        matrix_forms = {
            "b": (Derivative(L, b, evaluate=False), sp.MatMul(two_m, sp.Transpose(ones_m), em),
                  sp.Matrix([[free(index_forms["b"][1])]]), third * ones3.T * ec, "$1 × 1$"),
            "c": (Derivative(L, cm, evaluate=False), sp.MatMul(two_m, Am, em),
                  free.matrix_of(index_forms["c"][1], ((k, 2),)), third * Ac * ec, "$H × 1$"),
            "b_k": (Derivative(L, bm, evaluate=False), sp.MatMul(two_m, spread, ones_m),
                    free.matrix_of(index_forms["b_k"][1], ((k, 2),)), third * spread_c * ones3, "$H × 1$"),
            "w": (Derivative(L, Wm, evaluate=False), sp.MatMul(two_m, spread, Xm.T),
                  free.matrix_of(index_forms["w"][1], ((k, 2), (l, 2))), third * spread_c * Xc.T, f"${shape_text(H, J)}$"),
        }
        agree = Msg.check("the index and matrix forms agree at {H2}, {J2}, {m3}",
                          "下标形式与矩阵形式在 {H2}、{J2}、{m3} 上一致",
                          H2=shown_eq(H, 2), J2=shown_eq(J, 2), m3=shown_eq(m, 3))
        grads = self._matrix_calculus(d, L)
        # said here, right above the products it announces
        d.note("The sums over {i} are matrix products ({one} is a column of ones); each gradient below is "
               "derived by the rules of matrix calculus, then written in the notes' form.",
               "对 {i} 的求和就是矩阵乘积({one} 为全 1 列向量);下面每个梯度先按矩阵微积分法则求出,再写成笔记中的形式。",
               i=i, one=Ones(m, 1))
        for key, (lhs, form, by_index, by_matrix, shape) in matrix_forms.items():
            if key in grads:
                engine = grads[key]
                show_line(d, engine, sp.Derivative(L, sp.Symbol("b_0"), evaluate=False) if key == "b" else lhs, "check")
                d.eq(lhs, form, "vectorize", Msg.of("{shape}", "{shape}", shape=shape).then(Msg.check(
                    "checked at {sizes}: equal to the line above", "已在 {sizes} 时核对:与上一行相等",
                    sizes=engine.sizes_text())), check=engine.form_check())
            else:
                d.eq(lhs, form, "vectorize", Msg.of("{shape}", "{shape}", shape=shape).then(agree),
                     check=(by_index, by_matrix))
        d.table(
            [Msg("entry", "元素"), Msg("index form", "下标形式"), Msg("matrix", "矩阵"), Msg("matrix form", "矩阵形式"),
             Msg("shape", "形状")],
            [[*index_forms[key], matrix_forms[key][0], matrix_forms[key][1], matrix_forms[key][4]]
             for key in ("b", "c", "b_k", "w")],
        )

        # -- results -----------------------------------------------------------------------
        where = Msg.check("checkable form at $H = 2$, $J = 2$, $k = 2$, $l = 1$",
                          "可用 sympy 验证的形式：$H = 2$、$J = 2$、$k = 2$、$l = 1$")
        for name, lhs, display in (
            ("dyhat/db0", d_b, sp.S.One),
            ("dyhat/dc_k", d_c, g(r[k])),
            ("dyhat/db_k", d_bk, dy_dr),
            ("dyhat/dw_kl", d_w, dy_dw),
        ):
            d.result(name, display, lhs=lhs, of=yhat, wrt=inst(lhs.variables[0]),
                     value=inst(display), check=inst.pair(lhs, display), note=where)
        where_m = Msg.check("checkable form at $H = 2$, $J = 2$, $m = 2$, $k = 2$, $l = 1$",
                            "可用 sympy 验证的形式：$H = 2$、$J = 2$、$m = 2$、$k = 2$、$l = 1$")
        where_e = ("checkable form: entry {e} at $H = 2$, $J = 2$, $m = 2$",
                   "可用 sympy 验证的形式：$H = 2$、$J = 2$、$m = 2$ 时的第 {e} 个元素")
        for key, name, mname, entry in (
            ("b", "dL/db0", "dL/db0 (1ᵀe)", "(1, 1)"),
            ("c", "dL/dc_k", "dL/dc", "(2, 1)"),
            ("b_k", "dL/db_k", "dL/db (vector)", "(2, 1)"),
            ("w", "dL/dw_kl", "dL/dW", "(2, 1)"),
        ):
            lhs, form = index_forms[key]
            wrt = inst(lhs.variables[0])
            d.result(name, form, lhs=lhs, of=L, wrt=wrt, value=inst(form), check=inst.pair(lhs, form),
                     note=where_m)
            # the matrix form's entry is the index form at the same (k, l), as its line checked
            matrix_lhs, matrix_form, by_index, by_matrix, _ = matrix_forms[key]
            # ∂L/∂b₀ is a number in both forms: its matrix form is named again and said to be one
            checked = Msg.check(*where_e, e=entry)
            d.result(mname, matrix_form, lhs=matrix_lhs, of=L, wrt=wrt, value=inst(form), check=(by_index, by_matrix),
                     note=Msg("in matrix form", "矩阵形式").then(checked) if key == "b" else checked)

    def _matrix_calculus(self, d, L) -> dict:
        """The four gradients by the matrix-calculus engine, from L in matrix form (checked
        against L written out entry by entry): the entrywise derivatives and the rules used are
        recorded here, for the audience "check" like the engine's lines, which check the notes'
        forms; returns the engine's gradients by key, for their lines."""
        from ..matrix.derivation import Shown
        from ..matrix.lines import engine_gradient, show_rules

        grads = {key: engine_gradient(line) for key, line in matrix_lines(self.activation).items()}
        g = grads["w"]
        errors = shown_eq(sp.Symbol("e"), Shown.of(g.where["e"]))
        d.note(Msg.check("Each of them also follows from $L$ in matrix form by the rules of matrix calculus ($b₀$ is "
               "the outer constant and $b$ the vector, as above; the errors {e} are written by name), and "
               "the notes' form follows with $A$ and $e$ as above:",
               "它们也可以由矩阵形式的 $L$ 按矩阵微积分法则求出($b₀$ 是最外层的常数,$b$ 是向量,同上;"
               "误差 {e} 直接用名字写出),再用上面的 $A$ 与 $e$ 得到笔记中的形式:", e=errors))
        W, X, bv, c, y = (g.entries(name) for name in ("W", "X", "b", "c", "y"))
        b0 = g.entries("b_0")[0, 0]
        piece = piece_activation(self.activation)
        pieces = [b0 + sum(c[i] * piece(bv[i] + sum(W[i, j] * X[j, n] for j in range(X.rows)))
                           for i in range(W.rows)) for n in range(X.cols)]
        by_hand = sum((p - y[n]) ** 2 for n, p in enumerate(pieces)) / X.cols
        d.eq(L, Shown.of(g.f), "rewrite", Msg("in matrix form", "矩阵形式").then(Msg.check(
            "checked at {sizes} against $L$ written out entry by entry",
            "已在 {sizes} 时与逐元素写出的 $L$ 核对", sizes=g.sizes_text())),
            check=(by_hand, g.value_at()), audience="check")
        slope = (Msg("$ReLU′(u) = [u > 0]$, as above", "$ReLU′(u) = [u > 0]$,同上")
                 if self.activation == "relu" else Msg("$σ′ = σ(1 − σ)$, as above", "$σ′ = σ(1 − σ)$,同上"))
        show_rules(d, list(grads.values()), work=slope, audience="check")
        return grads
