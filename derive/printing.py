"""Printers in the notes' notation: one-line Unicode for the terminal, LaTeX for notes.

Both keep the order in which a derivation built a product (``x1·dz``, as the notes write it), print
derivatives of named quantities as ∂L/∂z, the named functions as σ, ReLU, …, and the kink
indicator ``Heaviside(z, 0)`` as the Iverson bracket [z > 0].
"""

from __future__ import annotations

import re

import sympy as sp
from sympy.printing.latex import LatexPrinter
from sympy.printing.str import StrPrinter

from . import functions as F

_SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
_SUP = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")
_GREEK = {
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "eta": "η",
    "theta": "θ", "lambda": "λ", "lamda": "λ", "mu": "μ", "sigma": "σ", "tau": "τ", "phi": "φ",
    "omega": "ω", "rho": "ρ", "pi": "π", "xi": "ξ", "nu": "ν", "kappa": "κ", "zeta": "ζ",
    "psi": "ψ", "chi": "χ", "Sigma": "Σ", "Theta": "Θ", "Delta": "Δ", "ell": "ℓ",
}
_HATS = {"hat": "\u0302", "bar": "\u0304", "tilde": "\u0303"}
_TEXT_FUNCS = {
    "sigmoid": "σ", "relu": "ReLU", "softplus": "softplus", "hard_sigmoid": "HardSigmoid",
    "leaky_relu": "LeakyReLU", "log": "log", "exp": "exp",
}


def unicode_name(name: str) -> str:
    """``w1`` → ``w₁``, ``yhat`` → ``ŷ``, ``sigma2`` → ``σ₂``, ``x_j`` → ``x_j``,
    ``sigma^2`` → ``σ²`` (a variance as one symbol)."""
    if "^" in name:
        head, sup = name.split("^", 1)
        if sup.startswith("["):     # a layer, as the notes write it: W^[l] → W[l], a^[l-1] → a[l−1]
            return unicode_name(head) + sup.replace("-", "−")
        return unicode_name(head) + sup.translate(_SUP)
    for suffix, mark in _HATS.items():
        if name.endswith(suffix) and len(name) > len(suffix):
            return unicode_name(name[: -len(suffix)].rstrip("_")) + mark
    m = re.fullmatch(r"([A-Za-z]+?)_?(\d+)", name)
    if m:
        head = _GREEK.get(m.group(1), m.group(1))
        return head + m.group(2).translate(_SUB)
    return _GREEK.get(name, name)


def _factor_rank(f) -> int:
    """Numbers first, then simple factors, then parenthesized groups: σ(z)(1 − σ(z))."""
    if f.is_Number:
        return 0
    if isinstance(f, sp.Derivative):
        return 4
    base = f.base if isinstance(f, sp.Pow) else f
    if isinstance(base, sp.Add):
        return 3
    return 2 if isinstance(base, sp.Function) else 1


def _ordered_mul(expr):
    """Factors in the order to print them.

    A product built unevaluated (its arguments differ from the canonical ones) keeps the order
    its author chose; a canonical product is regrouped by ``_factor_rank`` (stable sort).
    """
    canonical = sp.Mul(*expr.args).args
    if tuple(canonical) != tuple(expr.args):
        return expr
    return sp.Mul(*sorted(expr.args, key=_factor_rank), evaluate=False)


class _KeepMulOrder:
    """Mixin: print a product's factors in ``_ordered_mul`` order, and a sum's positive terms
    before its negative ones (ŷ − y, not −y + ŷ); everything else as usual."""

    def _as_ordered_terms(self, expr, order=None):
        terms = super()._as_ordered_terms(expr, order=order)
        if order == "none" or self._settings.get("order") == "none":
            return terms
        return [t for t in terms if not t.could_extract_minus_sign()] + [
            t for t in terms if t.could_extract_minus_sign()
        ]

    _mul_guard = False

    def _print_Mul(self, expr):
        saved = self._settings["order"]
        self._saved_order, self._mul_guard = saved, True
        self._settings["order"] = "none"  # only this product's own factor order
        try:
            return super()._print_Mul(_ordered_mul(expr))
        finally:
            self._mul_guard = False
            self._settings["order"] = saved

    def _print(self, expr, **kwargs):
        if not self._mul_guard:
            return super()._print(expr, **kwargs)
        self._mul_guard = False
        self._settings["order"] = self._saved_order
        try:
            return super()._print(expr, **kwargs)
        finally:
            self._settings["order"] = "none"
            self._mul_guard = True


def _is_named(expr) -> bool:
    return isinstance(expr, (sp.Symbol, sp.Indexed, sp.MatrixSymbol))


class TextPrinter(_KeepMulOrder, StrPrinter):
    """One-line Unicode math: ∂L/∂z = a − y, σ(z)·(1 − σ(z)), x₁·dz."""

    # objects' own ``_sympystr`` (Indexed has one) would bypass the notes' notation below
    printmethod = "_derive_text"


    def __init__(self, settings=None, partial=True):
        super().__init__(settings)
        self.partial = partial

    def _print_Symbol(self, expr):
        return unicode_name(expr.name)

    _print_Dummy = _print_Symbol

    def _print_MatrixSymbol(self, expr):
        return unicode_name(expr.name)

    def _print_Indexed(self, expr):
        base = self._print(expr.base.label)
        idx = "".join(self._print(i) for i in expr.indices)
        return f"{base}_{idx}" if len(expr.indices) == 1 or all(len(self._print(i)) == 1 for i in expr.indices) else f"{base}_{{{','.join(self._print(i) for i in expr.indices)}}}"

    def _print_Function(self, expr):
        name = type(expr).__name__
        if isinstance(expr, F.leaky_relu):
            return f"LeakyReLU_{self._print(expr.args[1])}({self._print(expr.args[0])})"
        head = _TEXT_FUNCS.get(name, name)
        return f"{head}({', '.join(self._print(a) for a in expr.args)})"

    def _print_Heaviside(self, expr):
        arg = expr.args[0]
        at0 = expr.args[1] if len(expr.args) > 1 else sp.S.Half
        if at0 not in (0, 1):  # SymPy's own step (½ at 0) is not an Iverson bracket
            return f"H({self._print(arg)})"
        rel = "≥" if at0 == 1 else ">"
        if isinstance(arg, sp.Add) and len(arg.args) == 2 and arg.args[0].is_Number:
            return f"[{self._print(arg.args[1])} {rel} {self._print(-arg.args[0])}]"
        return f"[{self._print(arg)} {rel} 0]"

    def _print_Derivative(self, expr):
        d = "∂" if self.partial else "d"
        of = expr.expr
        wrt = "".join(f"{d}{self._print(v if n == 1 else sp.Pow(v, n, evaluate=False))}" for v, n in expr.variable_count)
        order = sum(n for _, n in expr.variable_count)
        top = d + (str(order).translate(_SUP) if order > 1 else "")
        if _is_named(of):
            return f"{top}{self._print(of)}/{wrt}"
        return f"{top}/{wrt}[{self._print(of)}]"

    def _print_Pow(self, expr, rational=False):
        base, e = expr.as_base_exp()
        if e.is_Integer and e > 1 and isinstance(base, sp.Symbol) and "^" in base.name:
            return f"({self._print(base)})" + str(e).translate(_SUP)  # (σ²)², not σ²²
        if e.is_Integer and e > 1:
            return self.parenthesize(base, sp.printing.precedence.PRECEDENCE["Pow"]) + str(e).translate(_SUP)
        if e == sp.S.Half:
            return f"√({self._print(base)})"
        if e == -sp.S.Half:
            return f"1/√({self._print(base)})"  # one notation for roots: not 1/sqrt(…)
        return super()._print_Pow(expr, rational)

    def _print_Transpose(self, expr):
        return self.parenthesize(expr.arg, sp.printing.precedence.PRECEDENCE["Pow"]) + "ᵀ"

    def _print_Sum(self, expr):
        body = self.parenthesize(expr.function, sp.printing.precedence.PRECEDENCE["Mul"])
        lims = ", ".join(
            f"{self._print(i)}={self._print(a)}..{self._print(b)}" for i, a, b in expr.limits
        )
        return f"Σ_{{{lims}}} {body}"

    def _print_Product(self, expr):
        return "Π" + self._print_Sum(expr)[1:]

    def parenthesize(self, item, level, strict=False):
        # a Σ or Π inside a product or power is bracketed: (Σ x_i)², not Σ x_i²
        if isinstance(item, (sp.Sum, sp.Product)) and level >= sp.printing.precedence.PRECEDENCE["Add"]:
            return f"({self._print(item)})"
        return super().parenthesize(item, level, strict)

    def _print_Float(self, expr):
        return sp.sstr(expr, full_prec=False)  # 0.5, as the notes write it

    def _print_MatrixBase(self, expr):
        return "[" + ", ".join("[" + ", ".join(self._print(e) for e in expr.row(r)) + "]"
                               for r in range(expr.rows)) + "]"

    def _print_KroneckerDelta(self, expr):
        return f"δ_{''.join(self._print(a) for a in expr.args)}"

    def _print_HadamardProduct(self, expr):
        return " ⊙ ".join(self.parenthesize(a, sp.printing.precedence.PRECEDENCE["Mul"]) for a in expr.args)

    def _print_binomial(self, expr):
        return f"C({self._print(expr.args[0])}, {self._print(expr.args[1])})"

    def _print_Subs(self, expr):
        at = ", ".join(f"{self._print(v)}={self._print(p)}" for v, p in zip(expr.variables, expr.point))
        return f"{self._print(expr.expr)}|({at})"

    def _print_Abs(self, expr):
        return f"|{self._print(expr.args[0])}|"

    def _print_Max(self, expr):
        return f"max({', '.join(self._print(a) for a in expr.args)})"

    def _print_Min(self, expr):
        return f"min({', '.join(self._print(a) for a in expr.args)})"

    def _print_Exp1(self, expr):
        return "e"

    def _print_Pi(self, expr):
        return "π"

    def _print_Infinity(self, expr):
        return "∞"

    def _print_Relational(self, expr):
        ops = {"==": "=", "!=": "≠", ">=": "≥", "<=": "≤"}
        return f"{self._print(expr.lhs)} {ops.get(expr.rel_op, expr.rel_op)} {self._print(expr.rhs)}"


def text(expr, partial=True) -> str:
    """One-line Unicode text of ``expr``."""
    s = TextPrinter(partial=partial).doprint(expr)
    s = s.replace("**", "^").replace("*", "·")
    # a minus sign, not a hyphen; keep hyphens inside names untouched (names have none)
    return re.sub(r"(?<![A-Za-z_])-", "−", s)


class NotesLatexPrinter(_KeepMulOrder, LatexPrinter):
    """LaTeX as the notes write it: \\frac{\\partial L}{\\partial z}, \\sigma(z), Iverson brackets."""


    def __init__(self, settings=None, partial=True):
        super().__init__(settings)
        self.partial = partial

    def _print_Derivative(self, expr):
        d = r"\partial" if self.partial else "d"
        of = expr.expr
        order = sum(n for _, n in expr.variable_count)
        top = d if order == 1 else f"{d}^{{{order}}}"
        wrt = " ".join(
            f"{d} {self._print(v if n == 1 else sp.Pow(v, n, evaluate=False))}" for v, n in expr.variable_count
        )
        if _is_named(of):
            return rf"\frac{{{top} {self._print(of)}}}{{{wrt}}}"
        return rf"\frac{{{top}}}{{{wrt}}}\left[{self._print(of)}\right]"

    def _print_Heaviside(self, expr, exp=None):
        if exp is not None:
            return rf"{self._print_Heaviside(expr)}^{{{exp}}}"
        arg = expr.args[0]
        at0 = expr.args[1] if len(expr.args) > 1 else sp.S.Half
        if at0 not in (0, 1):  # SymPy's own step (½ at 0) is not an Iverson bracket
            return rf"H\left({self._print(arg)}\right)"
        rel = r"\ge" if at0 == 1 else ">"
        if isinstance(arg, sp.Add) and len(arg.args) == 2 and arg.args[0].is_Number:
            return rf"\left[{self._print(arg.args[1])} {rel} {self._print(-arg.args[0])}\right]"
        return rf"\left[{self._print(arg)} {rel} 0\right]"

    def _print_KroneckerDelta(self, expr, exp=None):
        return r"\delta_{" + " ".join(self._print(a) for a in expr.args) + "}"

    def _print_binomial(self, expr, exp=None):
        return rf"\binom{{{self._print(expr.args[0])}}}{{{self._print(expr.args[1])}}}"

    def _print_Indexed(self, expr):
        # w_{ij} as the notes write it; w_{i,10} when an index is longer than one character
        idx = [self._print(i) for i in expr.indices]
        sep = "" if all(len(i) == 1 for i in idx) else ","
        return f"{{{self._print(expr.base.label)}}}_{{{sep.join(idx)}}}"

    def _print_HadamardProduct(self, expr):
        prec = sp.printing.precedence.PRECEDENCE["Mul"]
        return r" \odot ".join(self.parenthesize(a, prec, strict=False) for a in expr.args)

    def _print_OneMatrix(self, expr):
        return r"\mathbf{1}"


def latex(expr, partial=True) -> str:
    """LaTeX of ``expr`` in the notes' notation."""
    return NotesLatexPrinter(partial=partial).doprint(expr)
