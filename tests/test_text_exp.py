"""The text view writes the exponential as the notes do, e^z and e^(−z), and what it prints reads
back: every formula with an exponential that a model or `derive expr` shows, put into ASCII and
read with derive's own parser, has the values of the expression it was printed from."""

from __future__ import annotations

import random
import re

import pytest
import sympy as sp

import derive
from derive import printing
from derive.functions import to_elementary
from derive.parse import parse_expression

pytestmark = pytest.mark.usefixtures("shared_derivations")

_SUPERSCRIPT = {c: d for c, d in zip("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-")}
_SUBSCRIPT = str.maketrans("₀₁₂₃₄₅₆₇₈₉", "0123456789")
_WORDS = {"−": "-", "·": "*", "√": "sqrt", "σ(": "sigmoid(", "ReLU(": "relu(", "ŷ": "yhat",
          "μ": "mu", "σ": "sigma", "π": "pi", "α": "alpha"}
# what the parser cannot read back: sums, derivative operators, brackets, indices in the notes' marks
_UNREADABLE = (sp.Sum, sp.Product, sp.Derivative, sp.Subs, sp.Heaviside, sp.KroneckerDelta, sp.MatrixBase)


def ascii_text(shown: str) -> str:
    """The printed formula as a student types it: x² → x^(2), x₁ → x1, σ( → sigmoid(."""
    out = re.sub("[⁰¹²³⁴⁵⁶⁷⁸⁹⁻]+", lambda m: "^(" + "".join(_SUPERSCRIPT[c] for c in m.group()) + ")",
                 shown)
    for unicode, plain in _WORDS.items():
        out = out.replace(unicode, plain)
    return out.translate(_SUBSCRIPT)


def reads_back(expr, shown: str) -> bool:
    """Whether ``shown`` (the text of ``expr``), read by ``derive.parse``, has the values of
    ``expr`` at three seeded points in (0.3, 1.7): the printout's names stand for the atoms, and
    a variance printed σ² (one symbol) for the square of σ."""
    parsed = parse_expression(ascii_text(shown))
    names = {}
    for a in expr.free_symbols:
        name, power = re.fullmatch(r"(.+?)(?:\^\((\d+)\))?", ascii_text(printing.text(a))).groups()
        names[name.replace("_", "")] = (a, int(power or 1))
    rng = random.Random(11)
    for _ in range(3):
        drawn = {name: sp.Rational(rng.randint(30, 170), 100) for name in names}
        u = complex(to_elementary(parsed).subs({s: drawn[s.name.replace("_", "")] for s in parsed.free_symbols})
                    .evalf(30))
        v = complex(to_elementary(expr).xreplace({a: drawn[name] ** k for name, (a, k) in names.items()})
                    .doit().evalf(30))
        if abs(u - v) > 1e-12 * (1 + abs(v)):
            return False
    return True


def _shown_with_exp(d):
    """(expr, its text) for each side of each line and each result display holding an
    exponential, and each summand of a Σ or Π in them, that the parser can read (no layer
    marks z[2] or example marks x⁽ⁱ⁾)."""
    pairs = [(e, s.order) for s in d.lines for e in (s.lhs, s.rhs)] + [(r.display, None) for r in d.results]
    for e, order in pairs:
        if not isinstance(e, sp.Basic):
            continue
        for part in (e, *(s.function for s in e.atoms(sp.Sum, sp.Product))):
            if part.has(sp.exp) and not part.has(*_UNREADABLE):
                shown = printing.text(part, partial=d.partial, order=order)
                if not re.search(r"[\[⁽]", shown):
                    yield part, shown


def test_every_models_exponentials_print_as_e_and_read_back():
    checked = {}
    for name in derive.model_names():
        for expr, shown in _shown_with_exp(derive.derivation(name)):
            assert "exp(" not in shown, (name, shown)
            assert reads_back(expr, shown), (name, shown)
            checked.setdefault(name, []).append(shown)
    # the models that hold their exponentials as such in formulas the parser can read
    assert {"activations", "softmax", "mle-gaussian"} <= set(checked)
    assert "1/(1 + e^(−z))·e^(−z)/(1 + e^(−z))" in checked["activations"]
    assert "(e^z − e^(−z))/(e^z + e^(−z))" in checked["activations"]
    assert "e^(z_k)/(s + e^(z_k))·s/(s + e^(z_k))" in checked["softmax"]
    assert "1/√(2·π·σ²)·e^(−(x_i − μ)²/(2·σ²))" in checked["mle-gaussian"]


EXPR_INPUTS = ["x*exp(-x)/(1 + x**2)", "exp(x**2 - x)", "exp(2*x)*sin(x)", "exp(x)**2 + x",
               "(exp(z) - exp(-z))/(exp(z) + exp(-z))", "exp(-(x - mu)**2/(2*s**2))", "exp(exp(x))",
               "log(1 + exp(x))", "e^(sqrt(x))", "5.3*exp(0.093*x**2)", "x^2 e^(3x)", "exp(2) * x"]


@pytest.mark.parametrize("text", EXPR_INPUTS)
def test_expr_answers_print_e_and_read_back(text):
    d = derive.expr_derivation(text, "z" if "z" in text else "x")
    shown = list(_shown_with_exp(d))
    assert shown, text
    for expr, printed in shown:
        assert "exp(" not in printed and "e^" in printed, printed
        assert reads_back(expr, printed), printed


@pytest.mark.parametrize("expr, shown", [
    (sp.exp(sp.Symbol("x")), "e^x"),
    (sp.exp(2), "e^2"),
    (sp.exp(-sp.Symbol("z")), "e^(−z)"),
    (sp.exp(sp.Symbol("x1")), "e^(x₁)"),                  # a subscript would read as (e^x)₁
    (sp.exp(sp.Rational(1, 2)), "e^(1/2)"),
    (sp.Pow(sp.exp(sp.Symbol("x")), 2, evaluate=False), "(e^x)²"),   # not e^x², which is e^(x²)
    (sp.exp(sp.Symbol("x")) * sp.sin(sp.Symbol("x")), "e^x·sin(x)"),
])
def test_where_the_exponent_ends(expr, shown):
    assert printing.text(expr) == shown
    assert reads_back(expr, shown)
