"""derive expr's final forms, second part: σ only where the student wrote it, factored
quotients, the shorter sin/cos identity forms, and Iverson brackets with a number on one side.

Each answer is compared with sympy.diff of the expression typed, and the printed text, read
back into SymPy, with the same derivative (sympy.cancel or sympy.simplify of the difference is 0).
"""

from __future__ import annotations

import re

import pytest
import sympy as sp

from derive import printing
from derive.expr import expr_derivation
from derive.functions import sigmoid, to_elementary

x, z = sp.symbols("x z")
_POWERS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹", "0123456789")


def _read_back(printed: str):
    """Printed text as SymPy: x² is x**2, · is *, √( is sqrt(, σ is the sigmoid, e^x is exp(x)."""
    plain = re.sub("[⁰¹²³⁴⁵⁶⁷⁸⁹]+", lambda m: "**" + m.group().translate(_POWERS), printed)
    plain = plain.replace("−", "-").replace("·", "*").replace("√(", "sqrt(").replace("σ(", "sigmoid(")
    return sp.sympify(plain, locals={"x": x, "z": z, "sigmoid": sigmoid, "e": sp.E})


def _answer(source: str, var):
    """The answer of ``derive expr source`` (its value as shown, with σ, and its text), checked
    against sympy.diff."""
    d = expr_derivation(source, [str(var)])
    value = d.results[0].value
    # derive's variables are real; the oracle's are plain symbols of the same names
    plain = value.xreplace({s: sp.Symbol(s.name) for s in value.free_symbols})
    # the answer as the command prints it (the student's sums in the student's order)
    shown = [line for line in d.render("text", show_steps=False, color=False).splitlines()
             if " = " in line][-1].split(" = ", 1)[1]
    expected = sp.diff(to_elementary(sp.sympify(source.replace("^", "**"), locals={"x": x, "z": z,
                                                                                    "sigmoid": sigmoid})), var)
    assert _zero(to_elementary(plain) - expected)
    assert _zero(to_elementary(_read_back(shown)) - expected)
    return d.results[0].display, shown


def _zero(difference) -> bool:
    """Whether ``difference`` is 0: cancel decides rational functions of e^x, simplify the rest."""
    return sp.cancel(difference) == 0 or sp.simplify(difference) == 0


@pytest.mark.parametrize("source, shown", [
    ("(exp(x)-1)/(exp(x)+1)", "2·e^x/(e^x + 1)²"),
    ("log(1+exp(x))", "e^x/(1 + e^x)"),
])
def test_no_sigmoid_where_the_student_wrote_none(source, shown):
    value, text = _answer(source, x)
    assert not value.has(sigmoid) and text == shown


def test_the_sigmoid_stays_where_the_student_wrote_it():
    value, text = _answer("1/(1+exp(-x))", x)
    assert value.has(sigmoid) and text == "σ(x)·(1 − σ(x))"


def test_a_sin_cos_quotient_takes_the_pythagorean_identity_below_the_bar():
    # −(cos x·(1 + cos x) + sin²x)/sin²x, 11 operations, is −(1 + cos x)/sin²x and 1/(cos x − 1)
    value, text = _answer("(1+cos(x))/sin(x)", x)
    assert sp.count_ops(value) <= 3 and text == "1/(cos(x) − 1)"


def test_logarithmic_differentiation_gives_one_fraction_with_a_factored_numerator():
    _, text = _answer("sqrt(x^2+1)*(x-3)^4/(x+5)^3", x)
    assert text == "(x − 3)³·(2·x³ + 31·x² − 14·x + 29)/(√(x² + 1)·(x + 5)⁴)"


_RELATIONS = {">": sp.Gt, "≥": sp.Ge, "<": sp.Lt, "≤": sp.Le}


@pytest.mark.parametrize("arg, shown", [
    (1 - sp.exp(x), "[e^x < 1]"),
    (-z, "[z < 0]"),
    (z - 1, "[z > 1]"),
    (2 - 3 * z, "[3·z < 2]"),
    (x - x**2, "[0 < x < 1]"),
    (sp.Symbol("p", positive=True) - sp.Symbol("p", positive=True) ** 2, "[p < 1]"),
    (x**2 - 1, "[x² > 1]"),
])
def test_iverson_brackets_read_with_a_number_on_one_side(arg, shown):
    assert printing.text(sp.Heaviside(arg, 0)) == shown
    # the chain holds exactly where Heaviside(arg, at 0) is 1, for both values at 0
    for at0 in (0, 1):
        chain = printing.iverson(arg, at0)
        (var,) = arg.free_symbols
        for v in (-2, -1, sp.Rational(-1, 2), 0, sp.Rational(1, 3), sp.Rational(2, 3), 1, 2):
            if var.is_positive and v <= 0:
                continue
            holds = all(_RELATIONS[chain[i]](chain[i - 1], chain[i + 1]).subs(var, v)
                        for i in range(1, len(chain), 2))
            assert bool(holds) == (sp.Heaviside(arg, at0).subs(var, v) == 1)
