"""The binary cross-entropy loss is the negative log-likelihood of a Bernoulli label."""

from __future__ import annotations

import sympy as sp

from ..functions import sigmoid
from ..messages import Msg
from ..verify import realize
from ._concrete import at_n
from ._notation import example, i, m, opened_dz, total
from .base import Model

AT_3 = Msg.check("checked at $m = 3$ with the sums written out", "已在 $m = 3$ 时展开求和核对")


def bernoulli_log(y, yhat):
    """y log ŷ + (1 − y) log(1 − ŷ), in the notes' order."""
    return sp.Add(sp.Mul(y, sp.log(yhat), evaluate=False),
                  sp.Mul(1 - y, sp.log(1 - yhat), evaluate=False), evaluate=False)


class CrossEntropy(Model):
    name = "cross-entropy"
    title = "Cross-entropy from maximum likelihood"
    summary = "Binary cross-entropy: −log of the Bernoulli likelihood ŷ^y (1 − ŷ)^(1−y) gives L(ŷ, y)"
    order = 35

    def build(self, d) -> None:
        d.title = Msg("The logistic loss from maximum likelihood", "由最大似然推导逻辑回归的损失函数")
        yhat = sp.Symbol("yhat", positive=True)
        y, z = sp.symbols("y z")
        P, L, J = sp.Symbol("P(y|x)"), sp.Symbol("L"), sp.Symbol("J")

        d.section("The likelihood of one label", "一个标签的似然")
        d.note(
            "The model's output $ŷ = P(y = 1 | x)$ is a probability (in logistic regression $ŷ = a = σ(z)$). "
            "The label $y$ is 0 or 1, and both cases fit in one formula:",
            "模型的输出 $ŷ = P(y = 1 | x)$ 是一个概率(逻辑回归中 $ŷ = a = σ(z)$)。标签 $y$ 取 0 或 1,"
            "两种情况可以写成一个式子:",
        )
        bernoulli = sp.Mul(yhat**y, (1 - yhat) ** (1 - y), evaluate=False)
        d.define(P, bernoulli, Msg("the Bernoulli distribution", "伯努利分布"))
        for label, value in ((1, yhat), (0, 1 - yhat)):
            d.eq(sp.Symbol(f"P(y = {label} | x)"), value, "evaluate",     # spaced as the prose writes it
                 Msg.of("$y = {y}$", "$y = {y}$", y=sp.Integer(label)),
                 check=(bernoulli.xreplace({y: label}), value))

        d.section("$m$ independent examples", "$m$ 个独立样本")
        yi, yhati = example("y"), example("yhat")
        data = sp.Symbol("P(Y|X)")
        product = sp.Product(sp.Mul(yhati**yi, (1 - yhati) ** (1 - yi), evaluate=False), (i, 1, m))
        d.define(data, product, Msg("independent examples: the likelihood is the product",
                                    "样本独立:似然函数是乘积"))
        log_sum = total(bernoulli_log(yi, yhati), m)
        d.eq(sp.log(data), log_sum, "log_likelihood",
             Msg("$log(ab) = log a + log b$, $log a^y = y log a$",
                 "$log(ab) = log a + log b$，$log a^y = y log a$").then(AT_3),
             check=(at_n(sp.log(product)), at_n(log_sum)))
        d.note("Maximizing the likelihood is maximizing its log, and minimizing the negative log. "
               "Per example, the negative log-likelihood is the loss, written out below.",
               "最大化似然等价于最大化其对数，也就是最小化负对数。对一个样本，负对数似然就是损失函数，下面把它写出来。")

        d.section("The loss and the cost", "损失函数与代价函数")
        loss = sp.Mul(-1, bernoulli_log(y, yhat), evaluate=False)
        d.define(L, -sp.log(P), Msg("the loss $L(ŷ, y)$ of one example", "一个样本的损失 $L(ŷ, y)$"))
        d.eq(L, loss, "log_likelihood", Msg("$log(ab) = log a + log b$, $log a^y = y log a$",
                                            "$log(ab) = log a + log b$,$log a^y = y log a$"))
        d.note("$y = 1$ leaves $−log ŷ$ (small when $ŷ$ is near 1); $y = 0$ leaves $−log(1 − ŷ)$ (small when $ŷ$ is near 0).",
               "$y = 1$ 时只剩 $−log ŷ$($ŷ$ 接近 1 时很小);$y = 0$ 时只剩 $−log(1 − ŷ)$($ŷ$ 接近 0 时很小)。")
        per_example = sp.Function("L")(yhati, yi)
        cost = total(per_example, m) / m
        cost_sum = -total(bernoulli_log(yi, yhati), m) / m
        d.define(J, cost, Msg("the cost: the mean loss over the $m$ examples", "代价函数:$m$ 个样本损失的平均"))
        written = total(sp.Mul(-1, bernoulli_log(yi, yhati), evaluate=False), m) / m   # L(ŷ_i, y_i) put in
        d.eq(J, cost_sum, "substitute", AT_3, check=(at_n(written), at_n(cost_sum)))
        # the sum is the log-likelihood written above: this step substitutes it back
        d.eq(J, -sp.log(data) / m, "substitute",
             Msg("the log-likelihood above: minimizing $J$ maximizes the likelihood",
                 "上面的对数似然：最小化 $J$ 就是最大化似然").then(AT_3),
             check=(at_n(cost_sum), at_n(-sp.log(product) / m)))

        d.section("The derivative of the loss", "损失函数的导数")
        dyhat = d.work(sp.Derivative(L, yhat, evaluate=False), loss, yhat)
        at_z = {yhat: sigmoid(z)}
        dz = sp.Derivative(L, z, evaluate=False)
        chain = sp.Mul(dyhat, yhat, 1 - yhat, evaluate=False)
        d.eq(dz, chain, "chain",
             Msg("with $ŷ = σ(z)$, $dŷ/dz = ŷ(1 − ŷ)$", "其中 $ŷ = σ(z)$,$dŷ/dz = ŷ(1 − ŷ)$"),
             check=(sp.diff(loss.xreplace(at_z), z), chain.xreplace(at_z)))
        # the algebra the notes open instead of "simplify": ŷ(1 − ŷ) into each term, multiplied
        # out, the two y·ŷ cancel (as logistic's dz = a − y)
        for rhs, rule, note in opened_dz(yhat, y):
            d.eq(dz, rhs, rule, note, check=(sp.diff(loss.xreplace(at_z), z), rhs.xreplace(at_z)))
        d.note("Logistic regression differentiates this loss on its computation graph, step by step, "
               "to the same $dz = a − y$.",
               "逻辑回归在计算图上逐步对这个损失求导，得到同样的 $dz = a − y$。")

        for label, value in ((1, yhat), (0, 1 - yhat)):
            d.result(f"P(y={label}|x)", value, lhs=sp.Symbol(f"P(y = {label} | x)"),
                     check=(bernoulli.xreplace({y: label}), value))
        d.result("L", loss, lhs=sp.Function("L")(yhat, y), check=(L, loss),
                 note=Msg("the negative log-likelihood of one label", "一个标签的负对数似然"))
        d.result("J", cost_sum, lhs=J, check=(at_n(written), at_n(cost_sum)),
                 note=Msg("the cost over $m$ examples", "$m$ 个样本上的代价"))
        d.result("dL/dyhat", dyhat, of=L, wrt=yhat, lhs=sp.Derivative(L, yhat, evaluate=False))
        d.result("dL/dz", yhat - y, of=loss.xreplace(at_z), wrt=z, lhs=dz, given={yhat: realize(sigmoid(z))},
                 note=Msg("with $ŷ = σ(z)$: the logistic $dz$", "$ŷ = σ(z)$ 时:即逻辑回归的 $dz$"))
