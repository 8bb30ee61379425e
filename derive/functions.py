"""The notes' named functions as SymPy ``Function`` subclasses.

Each knows its derivative in the notes' form (σ′ = σ(1 − σ)), prints in LaTeX as the notes write
it, and rewrites to elementary functions (``to_elementary``) so that any result can be checked
with plain ``sympy.diff``.

Convention at kinks: ReLU′(0) = 0, LeakyReLU′(0) = α, HardSigmoid′(0) = HardSigmoid′(1) = 0
(the flat side's derivative, as the frameworks do for ReLU).
"""

from __future__ import annotations

from functools import lru_cache

import sympy as sp
from sympy import Function, Heaviside, Max, S, exp, log

__all__ = [
    "sigmoid",
    "relu",
    "leaky_relu",
    "softplus",
    "hard_sigmoid",
    "NamedFunction",
    "to_elementary",
    "NAMED_FUNCTIONS",
]


class NamedFunction(Function):
    """Base of the notes' functions: one argument (plus a slope for Leaky ReLU)."""

    latex_name = ""

    def elementary(self) -> sp.Expr:
        """This function written with exp, log, Max and Heaviside only."""
        raise NotImplementedError

    def _latex(self, printer, exp=None):
        args = ", ".join(printer._print(a) for a in self.args[:1])
        head = self.latex_name
        if exp is not None:
            return rf"{head}^{{{exp}}}\left({args}\right)"
        return rf"{head}\left({args}\right)"

    def _eval_evalf(self, prec):
        return self.elementary()._eval_evalf(prec)

    def _eval_is_real(self):
        return self.args[0].is_real


class sigmoid(NamedFunction):
    """σ(z) = 1 / (1 + e^(−z)); σ′(z) = σ(z)(1 − σ(z))."""

    latex_name = r"\sigma"
    nargs = 1

    @classmethod
    def eval(cls, z):
        if z is S.Zero:
            return S.Half
        if z is S.Infinity:
            return S.One
        if z is S.NegativeInfinity:
            return S.Zero

    def fdiff(self, argindex=1):
        s = sigmoid(self.args[0])
        return s * (1 - s)

    def elementary(self):
        return 1 / (1 + exp(-self.args[0]))

    def _eval_rewrite_as_exp(self, z, **kwargs):
        return 1 / (1 + exp(-z))

    def _eval_is_positive(self):
        if self.args[0].is_extended_real:
            return True


class relu(NamedFunction):
    """ReLU(z) = max(0, z); ReLU′(z) = 1 for z > 0, 0 for z ≤ 0 (0 at the kink, by convention)."""

    latex_name = r"\operatorname{ReLU}"
    nargs = 1

    @classmethod
    def eval(cls, z):
        if z.is_number and z.is_extended_real:
            return Max(S.Zero, z)
        if z.is_nonnegative:
            return z
        if z.is_nonpositive:
            return S.Zero

    def fdiff(self, argindex=1):
        return Heaviside(self.args[0], 0)

    def elementary(self):
        return Max(S.Zero, self.args[0])

    def _eval_rewrite_as_Max(self, z, **kwargs):
        return Max(S.Zero, z)


class leaky_relu(NamedFunction):
    """LeakyReLU(z) = max(αz, z) for 0 < α < 1 (the notes use α = 0.01).

    Written ReLU(z) − α·ReLU(−z) so that it holds for any α; derivative 1 for z > 0, α for z ≤ 0.
    """

    latex_name = r"\operatorname{LeakyReLU}"
    nargs = (1, 2)

    @classmethod
    def eval(cls, z, alpha=None):
        if alpha is None:
            return cls(z, sp.Rational(1, 100))
        if z.is_number and z.is_extended_real and alpha.is_number:
            return Max(S.Zero, z) - alpha * Max(S.Zero, -z)

    def fdiff(self, argindex=1):
        z, alpha = self.args
        if argindex == 1:
            return alpha + (1 - alpha) * Heaviside(z, 0)
        if argindex == 2:
            return -relu(-z)
        raise sp.ArgumentIndexError(self, argindex)

    def elementary(self):
        z, alpha = self.args
        return Max(S.Zero, z) - alpha * Max(S.Zero, -z)

    def slope(self, printer) -> str:
        """α as a teacher writes it: 0.01 for the 1/100 that ``leaky_relu(x)`` stands for (a
        fraction over a power of ten as a decimal), anything else as ``printer`` prints it."""
        alpha = self.args[1]
        if alpha.is_Rational and 0 < alpha < 1:
            places = next((k for k in range(1, 7) if 10**k % alpha.q == 0), None)
            if places is not None:
                return f"{float(alpha):.{places}f}"
        return printer._print(alpha)

    def _latex(self, printer, exp=None):
        z, alpha = self.args
        head = rf"\operatorname{{LeakyReLU}}_{{{self.slope(printer)}}}"
        if exp is not None:
            head = rf"{head}^{{{exp}}}"
        return rf"{head}\left({printer._print(z)}\right)"


class softplus(NamedFunction):
    """softplus(z) = log(1 + e^z); softplus′(z) = σ(z)."""

    latex_name = r"\operatorname{softplus}"
    nargs = 1

    @classmethod
    def eval(cls, z):
        if z is S.Zero:
            return log(2)

    def fdiff(self, argindex=1):
        return sigmoid(self.args[0])

    def elementary(self):
        return log(1 + exp(self.args[0]))

    def _eval_rewrite_as_exp(self, z, **kwargs):
        return log(1 + exp(z))

    def _eval_is_positive(self):
        if self.args[0].is_extended_real:
            return True


class hard_sigmoid(NamedFunction):
    """HardSigmoid(z) = ReLU(z) − ReLU(z − 1): 0 below 0, z on [0, 1], 1 above 1.

    The notes build the blue "hard sigmoid" piece from two ReLUs exactly this way.
    """

    latex_name = r"\operatorname{HardSigmoid}"
    nargs = 1

    @classmethod
    def eval(cls, z):
        if z.is_number and z.is_extended_real:
            return Max(S.Zero, z) - Max(S.Zero, z - 1)

    def fdiff(self, argindex=1):
        z = self.args[0]
        return Heaviside(z, 0) - Heaviside(z - 1, 1)

    def as_relus(self) -> sp.Expr:
        z = self.args[0]
        return relu(z) - relu(z - 1)

    def elementary(self):
        z = self.args[0]
        return Max(S.Zero, z) - Max(S.Zero, z - 1)

    def _eval_rewrite_as_relu(self, z, **kwargs):
        return relu(z) - relu(z - 1)


class log_base(NamedFunction):
    """log_b(u) = log(u)/log(b), the logarithm to a constant base as typed (``log(x, 3)``,
    ``\\log_3 x``): shown in a statement as log₃(x), worked out as log(u)/log(b)."""

    nargs = 2

    def elementary(self):
        u, b = self.args
        return log(u) / log(b)

    def _derive_text(self, printer):
        u, b = self.args
        if b.is_Integer and b > 0:
            return f"log{str(b).translate(_SUBSCRIPT)}({printer._print(u)})"
        return f"log({printer._print(u)}, {printer._print(b)})"

    def _latex(self, printer, exp=None):
        u, b = self.args
        head = rf"\log_{{{printer._print(b)}}}"
        return rf"{head}^{{{exp}}}\left({printer._print(u)}\right)" if exp else rf"{head}\left({printer._print(u)}\right)"


_SUBSCRIPT = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


NAMED_FUNCTIONS = {
    "sigmoid": sigmoid,
    "relu": relu,
    "leaky_relu": leaky_relu,
    "softplus": softplus,
    "hard_sigmoid": hard_sigmoid,
}


def to_elementary(expr):
    """Rewrite every named function in ``expr`` (scalar or Matrix) with SymPy built-ins only."""
    if isinstance(expr, sp.MatrixBase):
        return expr.applyfunc(to_elementary)
    expr = sp.sympify(expr)
    while expr.has(NamedFunction):
        expr = expr.replace(lambda e: isinstance(e, NamedFunction), _elementary)
    return expr


@lru_cache(maxsize=4096)
def _elementary(f: NamedFunction) -> sp.Expr:
    # remembered: the lines of a derivation rewrite the same σ(z) of a long concrete z again and
    # again, and building 1/(1 + e^(−z)) costs SymPy an assumption query per term of z
    return f.elementary()
