"""Softmax output with cross-entropy: ∂C/∂z_k = ŷ_k − y_k (C: the loss of one example, as the notes)."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

import sympy as sp
from sympy import Derivative, IndexedBase, Sum

from ..messages import Msg
from .base import Model, classes_option, features_option
from ._concrete import Instance
from ._lazy import lazy_constants
from ._notation import DELTA, example, mul, shown_eq, total
from .activations import reciprocal_note

if TYPE_CHECKING:
    from ..network import Network

# m examples as the columns of X (n × m) and of the one-hot Y (K × m): the mean cross-entropy
# for the matrix-calculus engine, each example's −Σ_k y_k log ŷ_k written log Σ_k e^(z_k) − Σ_k y_k z_k
# (Σ_k y_k = 1), as mlp writes its output layer
_COST = "sum((logsumexp({z}, axis=0) - sum(Y * ({z}), axis=0)) / m)"
_SHAPES = ("X=n,m", "W=K,n", "b=K", "Y=K,m", "Z=K,m")
# K = 3, n = m = 2: W is not square, so a transposed factor would not fit
_SIZES = (("K", 3), ("n", 2), ("m", 2))
_DZ = (("dZ", "softmax(W @ X + b, axis=0) - Y"),)


@cache
def _matrix_lines() -> dict:
    """``MATRIX_LINES``: dZ, dW and db for the engine, each with the notes' form."""
    from ..matrix.lines import MatrixLine

    return {
        # dZ stacks the per-example gradients ŷ⁽ⁱ⁾ − y⁽ⁱ⁾: m times the gradient of the mean J
        "dZ": MatrixLine(_COST.format(z="Z"), _SHAPES, "Z", "softmax(Z, axis=0) - Y", (), _SIZES, times="m"),
        "dW": MatrixLine(_COST.format(z="W @ X + b"), _SHAPES, "W", "dZ @ X.T / m", _DZ, _SIZES),
        "db": MatrixLine(_COST.format(z="W @ X + b"), _SHAPES, "b", "sum(dZ, axis=1) / m", _DZ, _SIZES),
    }


# the engine is imported by a build, not by a run that renders the stored derivation
__getattr__ = lazy_constants(globals(), MATRIX_LINES=_matrix_lines)


def _one_hot(K: int, m: int) -> sp.Matrix:
    """The labels of the checks: example i in class i."""
    return sp.Matrix(K, m, lambda p, q: int(p == q % K))


class Softmax(Model):
    name = "softmax"
    title = "Softmax output with cross-entropy"
    title_zh = "softmax 输出与交叉熵"    # the title of `derive train --lang zh`
    summary = "Softmax output with cross-entropy: ∂C/∂z_k = ŷ_k − y_k"
    order = 70
    trainable = True
    options = (features_option(64), classes_option(10),)
    derivation_sizes = {"features": 2, "classes": 3}

    def network(self) -> Network:
        """z = x·W + b with the softmax cross-entropy, on the 8×8 digits."""
        from ..network import Dense, Network, Param, Training

        return Network(self.features, (Dense(self.classes, Param("W", "W_{o}_{i}"), Param("b", "b_{o}")),),
                       "softmax-cross-entropy",
                       Training("digits", lr=0.5, epochs=30, optimizer="sgd", batch_size=32),
                       target="y_{o}")

    def build(self, d) -> None:
        K, N = sp.symbols("K n", integer=True, positive=True)
        j, k, l, q = sp.symbols("j k l q", integer=True, positive=True)
        z, yh, y, W, bv, x = (IndexedBase(s) for s in ("z", "yhat", "y", "W", "b", "x"))
        # C is one example's loss, as the notes write it: their L = Σ_n Cⁿ is the total (below)
        L = sp.Symbol("C")
        inst = Instance({K: 3, N: 2}, {j: 1, k: 2, l: 1}, defs=d.defs)
        both = ({j: 2}, {j: 1})          # j = k and j ≠ k (k = 2)

        # the instance: K = 3 classes, n = 2 features
        z_def = Sum(mul(W[k, l], x[l]), (l, 1, N)) + bv[k]
        for c in (1, 2, 3):
            d.let(inst(z[c]), inst(z_def, {k: c}))
            d.let(inst(yh[c]), inst(sp.exp(z[c]) / Sum(sp.exp(z[j]), (j, 1, K))))
        d.let(L, inst(-Sum(y[q] * sp.log(yh[q]), (q, 1, K))))
        # one-hot y: Σ y_j = 1, used as y_3 = 1 − y_1 − y_2 (the y's are constants for ∂/∂z)
        one_hot = {inst(y[3]): 1 - inst(y[1]) - inst(y[2])}

        d.title = Msg("Softmax output with cross-entropy: $∂C/∂z_k = ŷ_k − y_k$",
                      "softmax 输出与交叉熵:$∂C/∂z_k = ŷ_k − y_k$")
        d.section("Softmax and the cross-entropy loss", "softmax 与交叉熵损失")
        d.note(Msg.of(
            "The output layer has {K} scores, one per class; here {Kv}, as in the notes' MNIST network, "
            "which maps $16 × 16 = 256$ pixels to 10 digits. Softmax turns the scores into probabilities "
            "{yk}; the label {y} is one-hot: one {ykk} is 1, the others 0, so {sum}.",
            "输出层有 {K} 个得分（logits），每个类别一个；此处 {Kv}，与笔记中的 MNIST 网络一样（把 $16 × 16 = 256$ 个像素"
            "映射到 10 个数字）。softmax 把得分变成概率 {yk}；标签 {y} 是 one-hot：只有一个 {ykk} 为 1，其余为 0，"
            "所以 {sum}。",
            K=K, Kv=shown_eq(K, self.classes), yk=yh[k], y=sp.Symbol("y"), ykk=y[k],
            sum=shown_eq(Sum(y[k], (k, 1, K)), 1)).then(Msg.check(
            "Index-form lines are checked at {K3} classes, {k2}.", "下标形式的各行在 {K3}、{k2} 上核对。",
            K3=shown_eq(K, 3), k2=shown_eq(k, 2),
        )))
        # the dummy l, as in s = Σ_(l≠k) e^(z_l) below: j is the free index of ∂ŷ_j/∂z_k
        soft = sp.exp(z[k]) / Sum(sp.exp(z[l]), (l, 1, K))
        d.eq(yh[k], soft, "definition", Msg("softmax", "softmax"), check=inst.pair(yh[k], soft))
        ce = -Sum(mul(y[k], sp.log(yh[k])), (k, 1, K))
        d.eq(L, ce, "definition", Msg("cross-entropy, the loss of one example", "交叉熵，即一个样本的损失"),
             check=inst.pair(L, ce))

        d.section("How one probability depends on one score", "一个概率对一个得分的导数")
        d.note(
            "Write the denominator as $S = s + e^(z_k)$, where $s = Σ_(l≠k) e^(z_l)$ holds the other terms "
            "and does not depend on $z_k$. The two cases $j = k$ and $j ≠ k$, rule by rule:",
            "把分母写成 $S = s + e^(z_k)$,其中 $s = Σ_(l≠k) e^(z_l)$ 是其余各项,与 $z_k$ 无关。"
            "分 $j = k$ 与 $j ≠ k$ 两种情况,逐条法则:",
        )
        zk, zj, s = sp.symbols("z_k z_j s")
        d.let(yh[k], sp.exp(zk) / (sp.exp(zk) + s))
        d.let(yh[j], sp.exp(zj) / (sp.exp(zk) + s))
        same = Derivative(yh[k], zk, evaluate=False)
        ek, S = sp.exp(zk), sp.exp(zk) + s
        d.work(same, ek / S, zk, simplify=False)
        # the algebra the notes open: the engine's last line (the exponential rule) with
        # e^(z_k)·e^(z_k) as it stands, not SymPy's e^(2z_k); the numerator multiplied out, then
        # one factor S under each part: (e^(z_k)/S)·(s/S)
        last = d.steps.pop()
        d.eq(same, sp.Add(mul(ek, S), -sp.Mul(ek, ek, evaluate=False), evaluate=False) / S**2, last.rule, last.note)
        d.eq(same, mul(s, ek) / S**2, "simplify",
             Msg("multiply out: $e^(z_k)·e^(z_k)$ cancels", "展开：$e^(z_k)·e^(z_k)$ 相消"))
        split = mul(sp.UnevaluatedExpr(ek / S), sp.UnevaluatedExpr(s / S))
        d.eq(same, split, "rearrange", Msg("one factor $S$ under each part", "分母拆成两个因子 $S$,写成两个分式之积"),
             check=(same, split.doit()))
        d.eq(same, mul(yh[k], 1 - yh[k]), "substitute",
             Msg("$e^(z_k)/S = ŷ_k$ and $s/S = (S − e^(z_k))/S = 1 − ŷ_k$",
                 "$e^(z_k)/S = ŷ_k$，$s/S = (S − e^(z_k))/S = 1 − ŷ_k$"))
        other = Derivative(yh[j], zk, evaluate=False)
        d.work(other, sp.exp(zj) / S, zk)
        reciprocal_note(d, S)
        d.eq(other, -mul(yh[j], yh[k]), "intermediates",
             Msg("$ŷ_j = e^(z_j)/S$, $ŷ_k = e^(z_k)/S$", "$ŷ_j = e^(z_j)/S$，$ŷ_k = e^(z_k)/S$"))
        dyz = Derivative(yh[j], z[k], evaluate=False)
        jac = mul(yh[j], DELTA[j, k] - yh[k])
        d.eq(dyz, jac, "kronecker",
             Msg("both cases at once: $δ_jk$ is 1 when $j = k$, 0 otherwise",
                 "两种情况合在一起：$j = k$ 时 $δ_jk = 1$，否则为 0").then(
                 Msg.check("checked at $j = k$ and $j ≠ k$", "已在 $j = k$ 与 $j ≠ k$ 上核对")),
             check=inst.pair(dyz, jac, both))

        d.section("The gradient of the loss", "损失的梯度")
        dl = Derivative(L, z[k], evaluate=False)
        steps = (
            (-Sum(sp.Mul(y[j] / yh[j], Derivative(yh[j], z[k], evaluate=False), evaluate=False), (j, 1, K)),
             "chain",
             Msg("through $log ŷ_j$, whose derivative is $1/ŷ_j$: $∂ log ŷ_j/∂z_k = (1/ŷ_j)·∂ŷ_j/∂z_k$",
                 "经过 $log ŷ_j$，其导数为 $1/ŷ_j$：$∂ log ŷ_j/∂z_k = (1/ŷ_j)·∂ŷ_j/∂z_k$")),
            (-Sum(sp.Mul(y[j] / yh[j], *jac.args, evaluate=False), (j, 1, K)), "substitute", None),
            (-Sum(mul(y[j], DELTA[j, k] - yh[k]), (j, 1, K)), "simplify", Msg("$ŷ_j$ cancels", "约去 $ŷ_j$")),
            (mul(yh[k], Sum(y[j], (j, 1, K))) - y[k], "kronecker", Msg("$δ_jk$ selects $j = k$", "$δ_jk$ 选出 $j = k$")),
        )
        for rhs, rule, note in steps:
            d.eq(dl, rhs, rule, note, check=inst.pair(dl, rhs))
        grad = yh[k] - y[k]
        d.eq(dl, grad, "substitute", Msg("$y$ is one-hot: $Σ_j y_j = 1$", "$y$ 是 one-hot:$Σ_j y_j = 1$"),
             check=inst.pair(dl, grad).replaced(one_hot))

        d.section("Softmax regression: $z = W x + b$", "softmax 回归:$z = W x + b$")
        d.note(Msg.of(
            "With scores $z_k = Σ_l W_kl x_l + b_k$ from $n$ features ($n = 256$ pixels in the notes' network; "
            "$n = {n}$ here), $W$ is $K × n$, $x$ is $n × 1$, $b$, $z$, $ŷ$ and $y$ are $K × 1$. $W_kl$ and $b_k$ "
            "reach $C$ only through $z_k$.",
            "若得分 $z_k = Σ_l W_kl x_l + b_k$ 来自 $n$ 个特征（笔记中的网络 $n = 256$ 个像素；此处 $n = {n}$），"
            "$W$ 为 $K × n$，$x$ 为 $n × 1$，$b$、$z$、$ŷ$、$y$ 为 $K × 1$。$W_kl$ 与 $b_k$ 只通过 $z_k$ 影响 $C$。",
            n=sp.Integer(self.features),
        ).then(Msg.check("Checked at $K = 3$, $n = 2$, $k = 2$, $l = 1$.", "已在 $K = 3$、$n = 2$、$k = 2$、$l = 1$ 上核对。")))
        # W x before b, as the note above and the matrix form write it
        d.eq(z[k], sp.Add(z_def - bv[k], bv[k], evaluate=False), "definition", check=inst.pair(z[k], z_def))
        dW = Derivative(L, W[k, l], evaluate=False)
        dW_form = mul(grad, x[l])
        db = Derivative(L, bv[k], evaluate=False)
        hot_checks = {}
        # what is substituted: ∂C/∂z_k from above, and the local derivative of z_k
        found = "$∂C/∂z_k = ŷ_k − y_k$ (above)"
        found_zh = "$∂C/∂z_k = ŷ_k − y_k$（见上）"
        for lhs, chain, form, what in (
            (dW, mul(Derivative(L, z[k], evaluate=False), Derivative(z[k], W[k, l], evaluate=False)), dW_form,
             Msg(f"{found} and $∂z_k/∂W_kl = x_l$", f"{found_zh}，$∂z_k/∂W_kl = x_l$")),
            (db, Derivative(L, z[k], evaluate=False), grad, Msg(found, found_zh)),
        ):
            d.eq(lhs, chain, "chain", check=inst.pair(lhs, chain, multiply_out=True))
            hot_checks[lhs] = inst.pair(lhs, form, multiply_out=True).replaced(one_hot)
            d.eq(lhs, form, "substitute", what, check=hot_checks[lhs])
        Km = sp.MatrixSymbol("W", K, N)
        yhm, ym, xm, bm = (sp.MatrixSymbol(sy, *sh) for sy, sh in
                           (("yhat", (K, 1)), ("y", (K, 1)), ("x", (N, 1)), ("b", (K, 1))))
        yc = sp.Matrix(3, 1, lambda p, _: inst(yh[p + 1] - y[p + 1]))
        xc = sp.Matrix(2, 1, lambda p, _: inst(x[p + 1]))
        mat_W = sp.MatMul(sp.MatAdd(yhm, -ym), xm.T)
        mat_W_check = (inst.matrix_of(dW_form, ((k, 3), (l, 2))), yc * xc.T)
        d.eq(Derivative(L, Km, evaluate=False), mat_W, "rearrange",
             Msg("$K × n$: entry $(k, l)$ is $(ŷ_k − y_k) x_l$", "$K × n$:第 $(k, l)$ 个元素为 $(ŷ_k − y_k) x_l$"),
             check=mat_W_check)
        d.eq(Derivative(L, bm, evaluate=False), sp.MatAdd(yhm, -ym), "rearrange",
             Msg("$K × 1$", "$K × 1$"), check=(inst.matrix_of(grad, ((k, 3),)), yc))

        # -- results -----------------------------------------------------------------------
        at = Msg.check("checkable form at $K = 3$, $k = 2$", "可用 sympy 验证的形式：$K = 3$、$k = 2$")
        at_j = Msg.check("checkable form at $K = 3$, $j = 1$, $k = 2$", "可用 sympy 验证的形式：$K = 3$、$j = 1$、$k = 2$")
        hot = ("checkable form at $K = 3$, ${at}$, with $y_3 = 1 − y_1 − y_2$ (one-hot: $Σ_j y_j = 1$; "
               "the $y$'s are constants, so the derivative is unchanged)",
               "可用 sympy 验证的形式：$K = 3$、${at}$，并代入 $y_3 = 1 − y_1 − y_2$（one-hot：$Σ_j y_j = 1$；"
               "$y$ 是常数，不影响求导）")
        zk2 = inst(z[k])
        for name, lhs, display, note in (
            ("dyhat_k/dz_k", Derivative(yh[k], z[k], evaluate=False), mul(yh[k], 1 - yh[k]), at),
            ("dyhat_j/dz_k", dyz, -mul(yh[j], yh[k]), at_j),
        ):
            d.result(name, display, lhs=lhs, of=inst(lhs.expr), wrt=zk2, value=inst(display),
                     check=inst.pair(lhs, display), note=note)
        hot_checks[dl] = inst.pair(dl, grad).replaced(one_hot)
        for name, lhs, form, where in (("dL/dz_k", dl, grad, "k = 2"), ("dL/dW_kl", dW, dW_form, "n = 2, k = 2, l = 1"),
                                       ("dL/db_k", db, grad, "n = 2, k = 2")):
            # as a function of the scores, ∂C/∂z_k keeps z_1, z_2, z_3 as they are
            scores = tuple(inst(z[c]) for c in (1, 2, 3)) if lhs is dl else ()
            d.result(name, form, lhs=lhs, of=L, wrt=inst(lhs.variables[0]), value=inst(form),
                     check=hot_checks[lhs], given=one_hot, keep=scores,
                     note=Msg.check(hot[0].format(at=where), hot[1].format(at=where)))
        # the matrix form's entry (k, l) is the index form, as its line checked
        d.result("dL/dW", mat_W, lhs=Derivative(L, Km, evaluate=False), of=L, wrt=inst(W[k, l]),
                 value=inst(dW_form), check=mat_W_check, given=one_hot,
                 note=Msg.check("checkable form: entry (2, 1) at $K = 3$, $n = 2$, one-hot $y$",
                                "可用 sympy 验证的形式：$K = 3$、$n = 2$、one-hot $y$ 时的第 (2, 1) 个元素"))

        self._examples(d)

    def _examples(self, d) -> None:
        """m examples as columns: the notes' total loss and the course's cost J, then dZ = Ŷ − Y,
        dW = (1/m)·dZ·Xᵀ and db = (1/m)·Σ dz⁽ⁱ⁾ derived from J by the matrix-calculus engine, each
        line verified at K = 3, n = m = 2 (example i in class i)."""
        from ..matrix.lines import engine_gradient, show_line, show_rules

        grads = {key: engine_gradient(line) for key, line in _matrix_lines().items()}
        full = grads["dW"]
        K, N, m = sp.symbols("K n m", integer=True, positive=True)
        J = sp.Symbol("J")
        d.section("$m$ examples: the total loss, the cost $J$ and the vectorized gradients",
                  "$m$ 个样本：总损失、代价函数 $J$ 与向量化的梯度")
        d.note("The notes add the losses of the examples: $L = Σ_n Cⁿ$, where $Cⁿ$ is the cross-entropy $C$ above "
               "for example $n$. In this course's notation the $m$ examples are $(x⁽ⁱ⁾, y⁽ⁱ⁾)$, and the cost is the "
               "mean $J = (1/m) Σ_i C⁽ⁱ⁾ = L/m$: the factor $1/m$ only rescales "
               "the learning rate. Stack the examples as columns: $X$ is $n × m$, $Y$ and $Ŷ$ are $K × m$, "
               "$Z = W X + b$ is $K × m$ ($b$ is added to every column).",
               "笔记把各样本的损失加起来：$L = Σ_n Cⁿ$，其中 $Cⁿ$ 是第 $n$ 个样本的上述交叉熵 $C$。按本课程的记号，"
               "$m$ 个样本记作 $(x⁽ⁱ⁾, y⁽ⁱ⁾)$，代价函数取平均 $J = (1/m) Σ_i C⁽ⁱ⁾ = L/m$："
               "因子 $1/m$ 只是改变学习率的大小。把样本按列排列：$X$ 为 $n × m$，$Y$ 与 $Ŷ$ 为 $K × m$，"
               "$Z = W X + b$ 为 $K × m$（$b$ 加到每一列上，即广播）。")
        X_, W_, b_ = (full.entries(name) for name in ("X", "W", "b"))
        Y_ = _one_hot(*full.entries("Y").shape)
        hot = dict(zip(full.entries("Y"), Y_))
        Z_ = W_ * X_ + b_ * sp.ones(1, X_.cols)
        Yh_ = sp.Matrix(*Z_.shape, lambda p, q: sp.exp(Z_[p, q]) / sum(sp.exp(Z_[r, q]) for r in range(Z_.rows)))
        losses = [-sum(Y_[r, q] * sp.log(Yh_[r, q]) for r in range(Z_.rows)) for q in range(Z_.cols)]
        mean = sp.Add(*losses) / len(losses)
        # J = (1/m) Σ C⁽ⁱ⁾ is stated in the prose: its matrix form is the line checked against it
        d.eq(J, full.shown_f, "rewrite", Msg("in matrix form, $y⁽ⁱ⁾$ one-hot", "矩阵形式，$y⁽ⁱ⁾$ 为 one-hot").then(
            Msg.check("checked at {sizes} (example $i$ in class $i$) against the mean of the per-example losses",
                      "已在 {sizes}（第 $i$ 个样本属于第 $i$ 类）时与逐样本损失的平均核对", sizes=full.sizes_text())),
            check=(mean, full.value_at().xreplace(hot)), audience="check")
        show_rules(d, list(grads.values()),
                   work=Msg("as $∂C/∂z_k = ŷ_k − y_k$ for one example", "与单个样本的 $∂C/∂z_k = ŷ_k − y_k$ 相同"),
                   audience="check")
        MS = sp.MatrixSymbol
        Xm, Ym, Yhm, dZm = MS("X", N, m), MS("Y", K, m), MS("Yhat", K, m), MS("dZ", K, m)
        forms = {
            "dZ": (dZm, sp.MatAdd(Yhm, -Ym), "vectorize",
                   Msg("$K × m$: column $i$ is $ŷ⁽ⁱ⁾ − y⁽ⁱ⁾$, the one-example gradient, so $dZ = m·∂J/∂Z$",
                       "$K × m$：第 $i$ 列是单个样本的梯度 $ŷ⁽ⁱ⁾ − y⁽ⁱ⁾$，所以 $dZ = m·∂J/∂Z$")),
            "dW": (MS("dW", K, N), sp.MatMul(1 / m, dZm, Xm.T), "mean", Msg("$K × n$", "$K × n$")),
            "db": (MS("db", K, 1), total(example("dz"), m) / m, "mean",
                   Msg("$K × 1$: the sum runs over the $m$ columns $dz⁽ⁱ⁾$ of $dZ$",
                       "$K × 1$：对 $dZ$ 的 $m$ 列 $dz⁽ⁱ⁾$ 求和")),
        }
        for key, g in grads.items():
            lhs, rhs, rule, note = forms[key]
            # the engine's form, written out in X, W and b, checks the notes' form after it
            show_line(d, g, sp.Derivative(J, sp.Symbol(g.line.wrt), evaluate=False), "check")
            same = (Msg.check("checked at {sizes}: $m$ times the line above", "已在 {sizes} 时核对：等于上一行的 $m$ 倍",
                              sizes=g.sizes_text()) if g.line.times else
                    Msg.check("checked at {sizes}: equal to the line above", "已在 {sizes} 时核对：与上一行相等",
                              sizes=g.sizes_text()))
            d.eq(lhs, rhs, rule, note.then(same), check=g.form_check())
        # the results, re-checked as sympy.diff(J, entry) with J written out at K = 3, n = m = 2
        dZ_ = Yh_ - Y_
        for name, var, value in (("dW", W_[1, 0], (dZ_ * X_.T / X_.cols)[1, 0]),
                                 ("db", b_[1, 0], (dZ_ * sp.ones(X_.cols, 1) / X_.cols)[1, 0])):
            lhs, rhs = forms[name][:2]
            d.result(name, rhs, lhs=lhs, of=mean, wrt=var, value=value,
                     note=Msg.check("checkable form: entry (2, 1) at {sizes}, example $i$ in class $i$",
                                    "可用 sympy 验证的形式：{sizes}、第 $i$ 个样本属于第 $i$ 类时的第 (2, 1) 个元素",
                                    sizes=full.sizes_text()))
