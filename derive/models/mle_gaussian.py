"""Maximum likelihood for a Gaussian: μ̂ is the sample mean, σ̂² the mean squared deviation."""

from __future__ import annotations

import sympy as sp

from ..messages import Msg
from ..printing import AsShown
from ._concrete import at_n, at_n_pair
from ._notation import Half, HalfN, mul, n, sample, times, total
from .base import Model

MU = sp.Symbol("mu", real=True)
V = sp.Symbol("sigma^2", positive=True)          # the variance, one symbol: derivatives are w.r.t. σ²
MUHAT, VHAT = sp.Symbol("muhat", real=True), sp.Symbol("sigmahat^2", positive=True)
ELL = sp.Symbol("ell")

AT_3 = Msg.check("checked at $n = 3$ with the sums written out", "已在 $n = 3$ 时展开求和核对")
AT_N = Msg.check("checked at $n = 3$", "已在 $n = 3$ 时核对")
CHECKABLE = Msg.check("at $n = 3$, checkable with sympy.diff", "$n = 3$ 时，可用 sympy.diff 核对")


def _deviations():
    """xᵢ − μ and Σ (xᵢ − μ)², made by a build: a sum built at import would have SymPy import its
    tensor module for a run that renders the stored derivation."""
    dev = sample("x") - MU
    return dev, total(dev**2)


class Diagonal(sp.ImmutableMatrix):
    """A diagonal matrix shown as the notes write one: diag(a, b) in text, where a one-line
    printer would otherwise write a list of rows; LaTeX prints it as a matrix."""

    def _derive_text(self, printer) -> str:
        if not self.is_diagonal():
            raise ValueError("Diagonal holds a diagonal matrix")
        return "diag(" + ", ".join(printer._print(self[k, k]) for k in range(self.rows)) + ")"

    def _sympyrepr(self, printer) -> str:
        # a plain matrix for programs (the JSON): the class only changes how a reader sees it
        return printer._print(sp.ImmutableMatrix(self.tolist()))


class ShownExp(sp.exp):
    """exp(t) written \\exp(t) in LaTeX, as the notes write the Gaussian density: a fraction
    in an exponent is too small to read in print."""

    def _latex(self, printer) -> str:
        return r"\exp\left(" + printer._print(self.args[0]) + r"\right)"


def solve_linear(expr, x):
    """The root of ``expr``, linear in ``x`` (a·x + c = 0 gives x = −c/a).

    ``sympy.solve`` finds nothing when the equation is written with a Sum over a symbolic n;
    the equation is linear in x, so it is solved as a teacher would.
    """
    a = sp.diff(expr, x)
    if a == 0 or sp.diff(a, x) != 0:
        raise ValueError(f"{expr} is not linear in {x}")
    return -expr.xreplace({x: sp.S.Zero}) / a


class MleGaussian(Model):
    name = "mle-gaussian"
    title = "Maximum likelihood: Gaussian"
    summary = "Gaussian MLE: ∂ℓ/∂μ = 0 and ∂ℓ/∂σ² = 0 give μ̂ = mean, σ̂² = mean squared deviation"
    order = 30

    def build(self, d) -> None:
        d.title = Msg("Maximum likelihood estimation: the Gaussian distribution",
                      "最大似然估计:高斯(正态)分布")
        mu, v, muhat, vhat, ell, (dev, S) = MU, V, MUHAT, VHAT, ELL, _deviations()
        L, x = sp.Symbol("L"), sample("x")

        d.section("The log-likelihood", "对数似然函数")
        d.note(
            "Take $n$ independent samples $x₁, x₂, ⋯, xₙ$ from the Gaussian $N(μ, σ²)$. Each has the density "
            "$f(x) = 1/√(2πσ²)·e^(−(x − μ)²/(2σ²))$. The parameter is the variance $σ²$, one symbol: we "
            "differentiate with respect to $σ²$, not $σ$.",
            "$n$ 个独立样本 $x₁, x₂, ⋯, xₙ$ 来自 $N(μ, σ²)$,其密度为 $f(x) = 1/√(2πσ²)·e^(−(x − μ)²/(2σ²))$。"
            "参数是方差 $σ²$,把它看作一个变量:对 $σ²$ 求导,而不是对 $σ$。",
        )
        root = sp.Pow(sp.Mul(2, sp.pi, v, evaluate=False), sp.S.Half, evaluate=False)
        # the normalizing constant first, as the notes write the density: 1/√(2πσ²)·exp(…)
        density = sp.Mul(sp.Pow(root, -1, evaluate=False), sp.exp(-dev**2 / (2 * v)), evaluate=False)
        product = sp.Product(density, (sample("x").indices[0], 1, n))
        # shown as written: the constant before exp(…), and in LaTeX \exp(…) rather than a
        # fraction in a small exponent
        constant = sp.Pow(sp.Mul(2, sp.pi, v, evaluate=False), -sp.S.Half, evaluate=False)
        shown = sp.Product(sp.Mul(sp.UnevaluatedExpr(constant), ShownExp(-sp.Add(x, -mu, evaluate=False)**2 / (2 * v)), evaluate=False),
                           (x.indices[0], 1, n))
        d.define(L, shown, Msg("independent samples: the likelihood is the product of the densities",
                                 "样本独立:似然函数是各密度之积"))
        d.define(ell, sp.log(L), Msg("the log-likelihood $ℓ(μ, σ²)$", "对数似然 $ℓ(μ, σ²)$"))
        # ½ and n/2 written before the log, as the notes write −½·log(2πσ²) (the printer would
        # put a rational coefficient behind, −log(2πσ²)/2): names with their values, which the
        # checks substitute
        half, half_n = Half(), HalfN()
        log_2piv = sp.log(2 * sp.pi * v)
        per_sample = total(sp.Add(mul(-1, half, log_2piv), -dev**2 / (2 * v), evaluate=False))
        log_l = -n * log_2piv / 2 - S / (2 * v)
        local = {ell: log_l, L: product, half: sp.S.Half, half_n: n / 2}
        for name in (half, half_n):
            d.let(name, local[name])

        def eq(lhs, rhs, rule, note=AT_3, check=None, value=None):
            """A line written with sums, verified with the sums written out at n = 3 (``value`` is
            what ``lhs`` stands for when it is not in ``local``)."""
            left = value if value is not None else lhs
            return d.eq(lhs, rhs, rule, note, check=check or at_n_pair(left, rhs, local))

        eq(ell, per_sample, "log_likelihood",
           Msg("the log of a product is the sum of the logs; $log e^t = t$",
               "积的对数等于对数之和；$log e^t = t$").then(AT_N),
           value=sp.log(product))
        eq(ell, sp.Add(mul(-1, half_n, log_2piv), -S / (2 * v), evaluate=False), "rearrange",
           Msg("the first term does not depend on $i$ ($n$ equal terms); $1/(2σ²)$ comes out of the sum",
               "第一项与 $i$ 无关($n$ 个相同的项);$1/(2σ²)$ 提到求和号外"))

        d.section("$∂ℓ/∂μ = 0$ gives $μ̂$", "由 $∂ℓ/∂μ = 0$ 得到 $μ̂$")
        dmu = sp.Derivative(ell, mu, evaluate=False)
        eq(dmu, -total(sp.Derivative(dev**2, mu, evaluate=False)) / (2 * v), "sum",
           Msg("the first term does not depend on $μ$; the derivative of a sum is the sum of the derivatives",
               "第一项与 $μ$ 无关;和的导数等于导数的和"))
        eq(dmu, -total(times(-2, dev)) / (2 * v), "chain",
           Msg.of("with $u = {u}$, $∂u/∂μ = −1$", "令 $u = {u}$,$∂u/∂μ = −1$", u=dev))
        dmu_value = eq(dmu, total(dev) / v, "simplify",
                       Msg("$−2$ comes out of the sum: $−(−2)/(2σ²) = 1/σ²$", "$−2$ 提到求和号外:$−(−2)/(2σ²) = 1/σ²$"))
        d.note("Set $∂ℓ/∂μ = 0$. As $σ² > 0$ this means $Σ (x_i − μ) = 0$; split the sum:",
               "令 $∂ℓ/∂μ = 0$。因为 $σ² > 0$,即 $Σ (x_i − μ) = 0$;把求和拆开:")
        split = total(x) - times(n, mu)
        eq(total(dev), split, "rearrange",
           Msg("$Σ (x_i − μ) = Σ x_i − Σ μ$ and $Σ μ = n μ$",
               "$Σ (x_i − μ) = Σ x_i − Σ μ$，且 $Σ μ = n μ$").then(AT_N))
        mu_value = solve_linear(split, mu)
        d.let(muhat, mu_value)
        local[muhat] = mu_value
        mu_check = (at_n(dmu_value.xreplace({mu: mu_value})), sp.S.Zero)
        eq(muhat, mu_value, "solve",
           Msg("a linear equation in $μ$: the sample mean", "关于 $μ$ 的一次方程：样本均值").then(
               Msg.check("checked at $n = 3$: $∂ℓ/∂μ = 0$ at $μ = μ̂$", "已在 $n = 3$ 时核对：$μ = μ̂$ 时 $∂ℓ/∂μ = 0$")),
           check=mu_check)

        d.section("$∂ℓ/∂σ² = 0$ gives $σ̂²$", "由 $∂ℓ/∂σ² = 0$ 得到 $σ̂²$")
        dv = sp.Derivative(ell, v, evaluate=False)
        def D(e):
            return sp.Derivative(e, v, evaluate=False)

        # the terms in ℓ's order, as written (the printer would sort them), x_i − μ as the notes
        # write it
        shown_S = total(sp.Add(x, -mu, evaluate=False) ** 2)
        by_sum = sp.Add(mul(-1, half_n, D(log_2piv)), mul(-1, half, shown_S, D(1 / v)), evaluate=False)
        eq(dv, AsShown(by_sum), "sum",
           Msg("$Σ (x_i − μ)²$ does not depend on $σ²$: it is a constant factor",
               "$Σ (x_i − μ)²$ 与 $σ²$ 无关:是常数因子"), check=at_n_pair(dv, by_sum, local))
        # one rule per line, the −n/(2σ²) term first as the second-order section writes it
        by_log = sp.Add(-n / (2 * v), mul(-1, half, shown_S, D(1 / v)), evaluate=False)
        eq(dv, AsShown(by_log), "log", Msg("$d log(2πσ²)/dσ² = 1/σ²$", "$d log(2πσ²)/dσ² = 1/σ²$"),
           check=at_n_pair(dv, by_log, local))
        dv_value = eq(dv, sp.Add(-n / (2 * v), S / (2 * v**2), evaluate=False), "power",
                      Msg("$d(1/σ²)/dσ² = −1/(σ²)²$", "$d(1/σ²)/dσ² = −1/(σ²)²$"))
        d.note("Set $∂ℓ/∂σ² = 0$ and multiply by $2(σ²)² > 0$:", "令 $∂ℓ/∂σ² = 0$,两边乘以 $2(σ²)² > 0$:")
        eq(times(n, v), S, "rearrange",
           Msg.check("checked at $n = 3$: $right − left = 2(σ²)²·∂ℓ/∂σ²$",
               "已在 $n = 3$ 时核对:$右边 − 左边 = 2(σ²)²·∂ℓ/∂σ²$"),
           check=(at_n(S - n * v), at_n(2 * v**2 * dv_value)))
        v_value = solve_linear(n * v - S, v).xreplace({mu: muhat})
        d.let(vhat, v_value)
        local[vhat] = v_value
        at_mle = {mu: mu_value, v: v_value.xreplace({muhat: mu_value})}
        v_check = (at_n(sp.Matrix([dmu_value, dv_value]).xreplace(at_mle)), sp.zeros(2, 1))
        eq(vhat, v_value, "solve",
           Msg("at $μ = μ̂$: the mean squared deviation", "在 $μ = μ̂$ 处：（有偏的）样本方差").then(
               Msg.check("checked at $n = 3$: both partial derivatives are 0 at $(μ̂, σ̂²)$",
                         "已在 $n = 3$ 时核对：$(μ̂, σ̂²)$ 处两个偏导数都为 0")),
           check=v_check)
        d.note("$σ̂²$ divides by $n$, not $n − 1$: the maximum-likelihood variance is biased (slightly too small).",
               "$σ̂²$ 除以的是 $n$ 而不是 $n − 1$:方差的最大似然估计是有偏的(略偏小)。")

        second = self._second_order(d, eq, local, dmu_value, at_mle)

        # the results written with sums over n are checked at n = 3: ℓ's derivatives against
        # sympy.diff, (μ̂, σ̂²) as the root of ∂ℓ/∂μ = 0 and ∂ℓ/∂σ² = 0 (as their lines)
        ell3 = at_n(log_l)
        first = {mu: at_n(dmu_value), v: at_n(dv_value)}
        d.result("dl/dmu", dmu_value, lhs=dmu, check=(sp.diff(ell3, mu), first[mu]))
        d.result("dl/dsigma2", dv_value, lhs=dv, check=(sp.diff(ell3, v), first[v]))
        checkable = dict(note=CHECKABLE, audience="check")
        d.result("dl/dmu (n = 3)", first[mu], of=ell3, wrt=mu, lhs=dmu, **checkable)
        d.result("dl/dsigma2 (n = 3)", first[v], of=ell3, wrt=v, lhs=dv, **checkable)
        d.result("d2l/dmu2 (n = 3)", sp.diff(first[mu], mu), of=first[mu], wrt=mu,
                 lhs=sp.Derivative(ell, (mu, 2), evaluate=False), **checkable)
        d.result("d2l/dsigma2^2 (n = 3)", sp.diff(first[v], v), of=first[v], wrt=v,
                 lhs=sp.Derivative(ell, (v, 2), evaluate=False), **checkable)
        d.result("d2l/dmu dsigma2 (n = 3)", sp.diff(first[mu], v), of=first[mu], wrt=v,
                 lhs=sp.Derivative(ell, mu, v, evaluate=False), **checkable)
        d.result("mu_hat", mu_value, lhs=muhat, check=mu_check,
                 note=Msg("the sample mean", "样本均值"))
        d.result("sigma2_hat", v_value, lhs=vhat, check=v_check,
                 note=Msg("the mean squared deviation from $μ̂$", "相对 $μ̂$ 的（有偏的）样本方差"))
        d.result("d2l/dmu2", second["mu"], lhs=sp.Derivative(ell, (mu, 2), evaluate=False),
                 check=(sp.diff(ell3, mu, 2), at_n(second["mu"])), note=Msg("$< 0$", "$< 0$"))
        d.result("d2l/dsigma2^2 at the MLE", second["v"], lhs=second["v_lhs"], check=second["v_check"],
                 note=Msg("$< 0$", "$< 0$"))
        d.result("hessian at the MLE", second["H"], lhs=second["H_lhs"], check=second["H_check"],
                 note=Msg("negative definite: $(μ̂, σ̂²)$ is a maximum", "负定:$(μ̂, σ̂²)$ 是最大值点"))

    def _second_order(self, d, eq, local, dmu_value, at_mle) -> dict:
        """∂²ℓ/∂μ², ∂²ℓ/∂(σ²)², ∂²ℓ/∂μ∂σ² and the Hessian at (μ̂, σ̂²); returns the values at
        (μ̂, σ̂²) with their left-hand sides and the pairs that checked them at n = 3."""
        mu, v, muhat, vhat, ell, (dev, S) = MU, V, MUHAT, VHAT, ELL, _deviations()
        d.section("Second-order conditions: a maximum", "二阶条件:最大值")
        d2mu = sp.Derivative(ell, (mu, 2), evaluate=False)
        eq(d2mu, total(sp.Derivative(dev, mu, evaluate=False)) / v, "sum",
           Msg("differentiate $∂ℓ/∂μ = Σ (x_i − μ)/σ²$ again", "对 $∂ℓ/∂μ = Σ (x_i − μ)/σ²$ 再求导"))
        eq(d2mu, total(sp.S.NegativeOne) / v, "constant",
           Msg("$∂(x_i − μ)/∂μ = −1$", "$∂(x_i − μ)/∂μ = −1$"))
        d2mu_value = eq(d2mu, -n / v, "simplify", Msg("$n$ terms $−1$; $< 0$", "$n$ 个 $−1$ 相加,小于 0"))

        d2v = sp.Derivative(ell, (v, 2), evaluate=False)
        eq(d2v, n / (2 * v**2) - S / v**3, "power",
           Msg("differentiate $∂ℓ/∂σ² = −n/(2σ²) + Σ (x_i − μ)²/(2(σ²)²)$ again",
               "对 $∂ℓ/∂σ² = −n/(2σ²) + Σ (x_i − μ)²/(2(σ²)²)$ 再求导"))
        point = ((mu, v), (muhat, vhat))
        at = sp.Subs(d2v, *point)
        exact = at_n(d2v, local).xreplace({k: at_n(val) for k, val in at_mle.items()})
        rhs = sp.Add(n / (2 * vhat**2), -times(n, vhat, sp.Pow(vhat, -3, evaluate=False)), evaluate=False)
        # at n = 3, σ̂² written out: Σ (x_i − μ̂)² = n σ̂² is what the substitution uses
        vhat3 = at_n(local[vhat], local)
        eq(at, rhs, "substitute",
           Msg("at $(μ̂, σ̂²)$, $Σ (x_i − μ̂)² = n σ̂²$", "在 $(μ̂, σ̂²)$ 处 $Σ (x_i − μ̂)² = n σ̂²$").then(AT_N),
           check=(exact, at_n(rhs).xreplace({vhat: vhat3})))
        v_check = (exact, at_n(-n / (2 * vhat**2)).xreplace({vhat: vhat3}))
        v_value = eq(at, -n / (2 * vhat**2), "simplify", Msg("$< 0$", "$< 0$"), check=v_check)

        mixed = sp.Derivative(ell, mu, v, evaluate=False)
        eq(mixed, -total(dev) / v**2, "power",
           Msg("differentiate $∂ℓ/∂μ = Σ (x_i − μ)/σ²$ with respect to $σ²$",
               "对 $∂ℓ/∂μ = Σ (x_i − μ)/σ²$ 关于 $σ²$ 求导"),
           check=(at_n(sp.diff(dmu_value, v)), at_n(-total(dev) / v**2)))
        mixed_at = sp.Subs(mixed, *point)
        eq(mixed_at, sp.S.Zero, "substitute", Msg("$Σ (x_i − μ̂) = 0$ (the previous section)",
                                                  "$Σ (x_i − μ̂) = 0$(见上一节)"),
           check=(at_n(sp.diff(dmu_value, v)).xreplace({k: at_n(val) for k, val in at_mle.items()}), 0))

        # H(μ̂, σ̂²), as a matrix is written at a point: an evaluation bar under a matrix reads oddly
        H_at = sp.Function("H")(muhat, vhat)
        H_value = Diagonal([[-n / vhat, 0], [0, -n / (2 * vhat**2)]])
        ell3 = at_n(ell, local)
        hessian3 = sp.hessian(ell3, (mu, v)).xreplace({k: at_n(val) for k, val in at_mle.items()})
        H_check = (hessian3, at_n(H_value).xreplace({vhat: vhat3}))
        d.eq(H_at, H_value, "second_order",
             Msg("the Hessian of $ℓ$ in $(μ, σ²)$ at $(μ̂, σ̂²)$",
                 "$ℓ$ 关于 $(μ, σ²)$ 的 Hessian 矩阵在 $(μ̂, σ̂²)$ 处的值").then(AT_N),
             check=H_check)
        d.note(
            "Both diagonal entries are negative and the off-diagonal ones are 0, so the Hessian is "
            "negative definite: $(μ̂, σ̂²)$ is a maximum of $ℓ$, and so of the likelihood.",
            "两个对角元都为负、非对角元为 0,所以 Hessian 矩阵负定:$(μ̂, σ̂²)$ 是 $ℓ$ 的最大值点,也就是似然函数的最大值点。",
        )
        return {"mu": d2mu_value, "v": v_value, "v_lhs": at, "v_check": v_check,
                "H": H_value, "H_lhs": H_at, "H_check": H_check}
