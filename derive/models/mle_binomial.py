"""Maximum likelihood for a binomial: k successes in n trials give p̂ = k/n."""

from __future__ import annotations

import sympy as sp

from ..messages import Msg
from ..printing import AsShown
from ._notation import times
from .base import Model


class MleBinomial(Model):
    name = "mle-binomial"
    title = "Maximum likelihood: binomial"
    summary = "Binomial MLE: L(p) = C(n,k) p^k (1−p)^(n−k), dℓ/dp = 0 gives p̂ = k/n, a maximum"
    order = 25

    def build(self, d) -> None:
        d.partial = False
        d.title = Msg("Maximum likelihood estimation: the binomial distribution",
                      "最大似然估计:二项分布")
        p = sp.Symbol("p", positive=True)
        n, k = sp.symbols("n k", integer=True, positive=True)
        L, ell, phat = sp.symbols("L ell phat")

        d.section("The likelihood", "似然函数")
        d.note(
            "$n$ independent trials with success probability $p$ give $k$ successes. The successes can "
            "be any $k$ of the $n$ trials, in $C(n, k)$ ways (the binomial coefficient), so the probability "
            "of the data, as a function of $p$, is",
            "$n$ 次独立试验、每次成功的概率为 $p$,共有 $k$ 次成功。成功可以是 $n$ 次试验中的任意 $k$ 次,"
            "共 $C(n, k)$ 种(二项式系数),所以数据的概率(看作 $p$ 的函数)为",
        )
        likelihood = times(sp.binomial(n, k), p**k, (1 - p) ** (n - k))
        d.define(L, likelihood, Msg("the likelihood $L(p)$", "似然函数 $L(p)$"))
        log_form = sp.Add(sp.log(sp.binomial(n, k)), k * sp.log(p), times(n - k, sp.log(1 - p)), evaluate=False)
        # ℓ is registered in its expanded form (checked equal to log L on the next line), so the
        # derivative lines below are verified against a short expression
        d.let(ell, log_form)
        d.eq(ell, sp.log(L), "definition",
             Msg("the log-likelihood $ℓ(p)$: the log is increasing, so $ℓ$ and $L$ have their maximum "
                 "at the same $p$", "对数似然 $ℓ(p)$:对数单调递增,$ℓ$ 与 $L$ 在同一个 $p$ 取最大值"))
        d.eq(ell, sp.log(likelihood), "substitute")
        d.eq(ell, log_form, "log_likelihood",
             Msg("$log(ab) = log a + log b$, $log a^k = k log a$", "$log(ab) = log a + log b$,$log a^k = k log a$"))

        d.section("Setting the derivative to zero", "令导数为零")
        dl = d.work(sp.Derivative(ell, p, evaluate=False), log_form, p)
        d.note("At the maximum the slope is 0: set ${dl} = 0$ and multiply by $p(1 − p) > 0$:",
               "在最大值处斜率为 0:令 ${dl} = 0$,两边乘以 $p(1 − p) > 0$:", dl=dl)
        d.eq(k * (1 - p), (n - k) * p, "rearrange",
             Msg.check("checked: $left − right = p(1 − p)·dℓ/dp$", "已核对：$左边 − 右边 = p(1 − p)·dℓ/dp$"),
             check=(k * (1 - p) - (n - k) * p, p * (1 - p) * dl))
        d.eq(k, times(n, p), "rearrange", Msg("expand: $k − kp = np − kp$", "展开:$k − kp = np − kp$"),
             check=(k - n * p, k * (1 - p) - (n - k) * p))
        p_hat = k / n
        d.let(phat, p_hat)
        root = (dl.xreplace({p: p_hat}), 0)
        d.eq(phat, p_hat, "solve",
             Msg("the fraction of successes", "即成功的比例").then(
                 Msg.check("checked: $dℓ/dp = 0$ at $p = k/n$", "已核对：$p = k/n$ 时 $dℓ/dp = 0$")),
             check=root)

        d.section("Second-order condition: a maximum", "二阶条件:最大值")
        d2 = sp.Derivative(ell, (p, 2), evaluate=False)
        second = d.work(d2, dl, p)  # ends at −k/p² − (n − k)/(1 − p)², the notes' form
        at = sp.Subs(d2, p, phat)
        exact = sp.diff(log_form, p, 2).xreplace({p: p_hat})  # from ℓ itself, not from the lines
        # p̂ in both terms first, then k/n in both: the two terms are simplified together
        # (the middle line as written, the −k/p̂² term first as in the line above it)
        both = sp.Add(-n**2 / k, -n**2 / (n - k), evaluate=False)
        for shown, rhs, rule, note in (
            (None, second.xreplace({p: phat}), "substitute", Msg("$p = p̂$", "$p = p̂$")),
            (AsShown(both), both, "simplify", Msg("$p̂ = k/n$ in both terms", "两项都代入 $p̂ = k/n$")),
            (None, -n**3 / (k * (n - k)), "simplify", None),
        ):
            value = d.eq(at, shown or rhs, rule, note, check=(exact, rhs.xreplace({phat: p_hat})))
        d.note(
            "For $0 < k < n$ this is negative: $ℓ″(p̂) < 0$, so $p̂$ is a local maximum. Moreover $ℓ″ < 0$ on all of "
            "$0 < p < 1$ (both terms of $d²ℓ/dp²$ are negative), so $ℓ$ is concave and $p̂ = k/n$ is the maximum.",
            "当 $0 < k < n$ 时它为负:$ℓ″(p̂) < 0$,$p̂$ 是极大值点;且在 $0 < p < 1$ 上 $ℓ″ < 0$"
            "($d²ℓ/dp²$ 的两项都为负),$ℓ$ 是凹函数,所以 $p̂ = k/n$ 是最大值点。",
        )

        d.result("dl/dp", dl, of=log_form, wrt=p, lhs=sp.Derivative(ell, p, evaluate=False))
        d.result("d2l/dp2", second, of=dl, wrt=p, lhs=d2,
                 note=Msg("negative for $0 < p < 1$", "在 $0 < p < 1$ 上为负"))
        d.result("p_hat", p_hat, lhs=phat, check=root,
                 note=Msg("the maximum-likelihood estimate", "最大似然估计"))
        d.result("d2l/dp2 at p_hat", value, lhs=at, check=(exact, value),
                 note=Msg("$< 0$ for $0 < k < n$", "$0 < k < n$ 时 $< 0$"))
