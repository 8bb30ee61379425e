"""derive expr on the second textbook corpus (tests/data/textbook_derivatives2.txt) and the final
forms it asked for: max/min and Leaky ReLU in pieces, one notation for roots, powers of one base
as one power, the chain rule's u in the typed order, and student input read as meant.

The whole corpus runs in ``benchmarks/bench_textbook.py --corpus``; here a fixed sample of it.
"""

from __future__ import annotations

import pytest
import sympy as sp

from derive import printing
from derive.engine import diff_rule
from derive.errors import DeriveError
from derive.expr import expr_derivation
from derive.functions import to_elementary
from derive.parse import parse_expression
from derive.verify import numerically_equal

from textbook import CORPUS, CORPUS2, solve

x = sp.Symbol("x", real=True)


def test_second_corpus_is_new_and_large_enough():
    assert len(CORPUS2) >= 150
    assert not {(p.wrt, p.text) for p in CORPUS2} & {(p.wrt, p.text) for p in CORPUS}


@pytest.mark.parametrize("problem", CORPUS2[::20], ids=lambda p: f"{p.wrt}|{p.text}"[:50])
def test_sample_equals_sympy_diff(problem):
    assert solve(problem) is None


def _answer(text, **kw):
    d = expr_derivation(text, ["x"], **kw)
    r = d.results[-1]
    f = to_elementary(d.lines[0].rhs)
    (var,) = f.free_symbols
    return d, r, sp.diff(f, var, kw.get("order", 1))


def _values_at(expr, var, points):
    return [float(to_elementary(expr).subs(var, v)) for v in points]


@pytest.mark.parametrize("text, below, above", [
    ("leaky_relu(x)", 0.01, 1.0), ("leaky_relu(2x)", 0.02, 2.0), ("max(x, 0.1 x)", 0.1, 1.0),
])
def test_leaky_slopes_are_two_pieces(text, below, above):
    d, r, expected = _answer(text)
    shown = printing.text(r.display)
    assert shown.startswith("{") and "[" not in shown
    # each piece is the slope on its side of the kink, as sympy.diff says
    var = r.wrt
    assert _values_at(r.value, var, (-0.7, 0.4)) == pytest.approx([below, above])
    assert _values_at(expected, var, (-0.7, 0.4)) == pytest.approx([below, above])


@pytest.mark.parametrize("text", ["max(x, x^2)", "min(sin(x), cos(x))"])
def test_max_min_have_a_named_rule(text):
    assert diff_rule(parse_expression(text).subs(sp.Symbol("x"), x), x).key == "max_min"
    d, r, expected = _answer(text)
    assert numerically_equal(to_elementary(r.value), expected, points=8)
    assert "fallback" not in [s.rule for s in d.steps]


def test_powers_of_one_base_are_one_power():
    d, r, expected = _answer("x^x", order=2)
    shown = printing.text(r.display)
    assert "x^(x − 1)" in shown and "/x" not in shown
    assert numerically_equal(r.value, expected, points=6)


@pytest.mark.parametrize("text, latex, shown, absent", [
    (r"\sqrt[4]{x^{3}}", True, "3/(4·x^(1/4))", "x³"),
    ("e^p (p + p sqrt(p))", False, "p·√(p)", "^(3/2)"),
    ("ln(x)/x^2", False, "(1 − 2·log(x))/x³", "x⁴"),
    ("sin(x) tan(x)", False, "sin(x)", "cos(x)·tan(x)"),
])
def test_textbook_final_forms(text, latex, shown, absent):
    d = expr_derivation(text, from_latex=latex)
    r = d.results[-1]
    got = printing.text(r.display)
    assert shown in got and absent not in got
    expected = sp.diff(to_elementary(d.lines[0].rhs), r.wrt)
    assert numerically_equal(r.value, expected, points=6)


def test_chain_rule_note_keeps_the_typed_order():
    d = expr_derivation("sqrt(x + sqrt(x))", ["x"])
    notes = [dict(s.note.args)["g"] for s in d.steps if s.rule == "chain"]
    assert [printing.text(g) for g in notes] == ["x + √(x)"]


def test_student_products():
    y = sp.Symbol("x")
    assert parse_expression("x^2 3^x") == y**2 * 3**y
    assert parse_expression("x^-2 3") == 3 / y**2
    assert parse_expression("2x(x+1)^3") == 2 * y * (y + 1) ** 3
    assert parse_expression("x sin2x + ln5x") == y * sp.sin(2 * y) + sp.log(5 * y)
    with pytest.raises(DeriveError, match="unknown function 'x'"):
        parse_expression("x(x+1)")


@pytest.mark.parametrize("text, hint", [
    ("sin2x^2", "for the function write sin(2x)"), ("(ax^2 + b)/(cx + d)", "write a*x or a x"),
])
def test_glued_names_say_what_to_type(text, hint):
    with pytest.raises(DeriveError, match=r"x does not occur.*" + hint.replace("(", r"\(").replace(")", r"\)")
                       .replace("*", r"\*")):
        expr_derivation(text, ["x"])
