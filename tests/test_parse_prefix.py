"""Textbook function notation: sin x, sin^2 x, cos^-1 x in both syntaxes (derive.parse_prefix).

The meaning of each form is written by hand with SymPy's functions; derive's derivative of the
typed form must equal sympy.diff of that meaning.
"""

from __future__ import annotations

import pytest
import sympy as sp

from derive.errors import DeriveError
from derive.expr import expr_derivation
from derive.parse import parse_expression, parse_latex_expression
from derive.verify import numerically_equal

x = sp.Symbol("x")

# typed (plain or "latex:" prefixed), what a textbook means by it
FORMS = [
    ("cos^2(3x+1)", sp.cos(3 * x + 1) ** 2),
    ("sin^2 x", sp.sin(x) ** 2),
    ("sin^2(x)", sp.sin(x) ** 2),
    ("sin^{2}x", sp.sin(x) ** 2),
    ("sin**2 x + cos**2 x", sp.sin(x) ** 2 + sp.cos(x) ** 2),
    ("cos^-1 x", sp.acos(x)),
    ("cos^(-1)(2x)", sp.acos(2 * x)),
    ("tanh^-1 x", sp.atanh(x)),
    ("ln^2 x", sp.log(x) ** 2),
    ("tan^3(2x) sec x", sp.tan(2 * x) ** 3 * sp.sec(x)),
    ("sin x cos x", sp.sin(x) * sp.cos(x)),
    ("x sin 2x", x * sp.sin(2 * x)),
    ("sin x^2 + 1", sp.sin(x**2) + 1),
    ("sin x/2", sp.sin(x / 2)),
    ("sin cos x", sp.sin(sp.cos(x))),
    ("sin -x", sp.sin(-x)),
    ("arcsin^2 x", sp.asin(x) ** 2),
    ("latex: \\sin^2 x", sp.sin(x) ** 2),
    ("latex: \\sin^{2}(x)", sp.sin(x) ** 2),
    ("latex: \\cos^-1 x", sp.acos(x)),
    ("latex: \\sin^{-1} 2x", sp.asin(2 * x)),
    ("latex: \\sech^2 x", sp.sech(x) ** 2),
    ("latex: \\arcsec x", sp.asec(x)),
]


@pytest.mark.parametrize("typed, meant", FORMS, ids=[t for t, _ in FORMS])
def test_textbook_function_forms(typed, meant):
    latex = typed.startswith("latex:")
    text = typed.removeprefix("latex:").strip()
    parse = parse_latex_expression if latex else parse_expression
    assert sp.simplify(parse(text) - meant) == 0
    d = expr_derivation(text, ["x"], from_latex=latex)
    r = d.results[0]
    expected = sp.diff(meant, x).subs(x, r.wrt)
    # |x|·√(x² − 1) and x²·√(1 − 1/x²) are one function: compared at points, not by simplify
    assert sp.simplify(r.value - expected) == 0 or numerically_equal(r.value, expected, points=6)


@pytest.mark.parametrize("text", ["sin", "sin^2", "sin + 1", "x sin - x", "sin^2(x"])
def test_function_without_argument_is_refused(text):
    with pytest.raises(DeriveError):
        parse_expression(text)


def test_statement_says_how_the_power_is_read():
    d = expr_derivation("cos^2(3x+1) + sin^-1 x", ["x"])
    note = d.steps[0].note.render("en")
    assert "cos²(u) = (cos u)²" in note and "sin⁻¹(u) = asin(u)" in note
    assert d.steps[0].note is not None
    assert expr_derivation("cos(3x+1)^2", ["x"]).steps[0].note is None


def test_calls_keep_their_meaning():
    # the forms parsed before are untouched: a call, a power of a call, a product
    assert parse_expression("sin(x)^2 + x sin(x)") == sp.sin(x) ** 2 + x * sp.sin(x)
    assert parse_expression("log(x, 2)") == sp.log(x) / sp.log(2)


# --- final forms (derive.final_form): each rewrite is checked against the form it rewrites
# and, through derive expr, against sympy.diff

def _same_function(a, b):
    return sp.simplify(a - b) == 0 or numerically_equal(a, b, points=6)


@pytest.mark.parametrize("text, shown", [
    ("sqrt(x) e^(x^2 - x)", "e^(x² − x)"),
    ("cos x/(1 - sin x)", "1/(1 − sin(x))"),
    ("e^(-3x) cos 5x", "−e^(−3·x)·(5·sin(5·x) + 3·cos(5·x))"),
    ("tan^-1(x - sqrt(1 + x^2))", "1/(2·(x² + 1))"),
    ("max(0, 1 - 2x)^2", "−4·max(0, 1 − 2·x)"),
    ("1.5 min(0, e^x - 1)", "1.5·[e^x < 1]·e^x"),
    # the typed 0.5 stays a decimal; the 1/2 SymPy makes of x/√2 stays exact
    ("0.5 x (1 + erf(x/sqrt(2)))", "0.5·(x·√(2)·e^(−x²/2)/√(π) + erf(x·√(2)/2) + 1)"),
])
def test_textbook_final_forms(text, shown):
    from derive import printing

    d = expr_derivation(text, ["x"])
    r = d.results[0]
    assert shown in printing.text(r.display)
    assert _same_function(r.value, sp.diff(d.lines[0].rhs, r.wrt))


def test_final_form_rewrites_are_identities():
    from derive.final_form import textbook_form

    u = 1 - 2 * x
    cases = [
        (sp.exp(x**2) * sp.exp(-x) * x, None),
        (-1 / (sp.sin(x) - 1), 1 - sp.sin(x)),
        (sp.exp(-3 * x) * (-5 * sp.sin(5 * x) - 3 * sp.cos(5 * x)), None),
        (1 / (2 * x**2 + 2), None),
        (sp.Max(0, u) * sp.Heaviside(u), None),
        (sp.Heaviside(-3 * (sp.exp(x) - 1)), None),
        (x / sp.Abs(x) + sp.sign(x) * sp.Min(1, sp.Abs(x)), None),
    ]
    for before, typed in cases:
        after = textbook_form(before, typed)
        assert after != before
        assert _same_function(after, before)
