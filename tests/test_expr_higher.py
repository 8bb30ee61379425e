"""Higher and mixed derivatives of ``derive expr`` (--order N, --mixed x,y), against sympy.diff.

The corpus (tests/data/textbook_derivatives.txt, "x x | …" lines) runs in
benchmarks/bench_textbook.py and in a sample in tests/test_expr_textbook.py; here the results'
JSON contract, the notation of each order, the checks at a point and the bounds.
"""

from __future__ import annotations

import json

import pytest
import sympy as sp

from derive.expr import MAX_ORDER, expr_derivation
from derive.functions import to_elementary
from derive.parse import parse_expression

from conftest import completed, load


def _real(text):
    e = parse_expression(text)
    return e.xreplace({s: sp.Symbol(s.name, real=True) for s in e.free_symbols})


@pytest.fixture(scope="module")
def third():
    """f = x²·sin(x) to the third order, in English JSON (the contract's view)."""
    d = expr_derivation("x^2*sin(x)", ["x"], order=3)
    return d, json.loads(d.render("json"))


@pytest.fixture(scope="module")
def mixed():
    return expr_derivation("x^2*y^3 + sin(x*y)", mixed="x,y")


def test_each_order_equals_sympy_diff(third):
    d, _ = third
    f = _real("x^2*sin(x)")
    x = next(iter(f.free_symbols))
    assert [r.name for r in d.results] == ["df/dx", "d²f/dx²", "d³f/dx³"]
    for n, r in enumerate(d.results, 1):
        assert sp.simplify(to_elementary(r.value) - sp.diff(f, (x, n))) == 0


def test_json_results_satisfy_the_diff_contract(third):
    _, data = third
    for r in data["results"]:
        # sympy.diff(of, wrt) == value, with wrt = (x, n) for the n-th derivative
        assert sp.simplify(sp.diff(load(r["of"]), load(r["wrt"])) - load(r["value"])) == 0
    assert load(data["results"][-1]["wrt"])[1] == 3


def test_each_order_is_derived_from_the_one_before_in_its_own_section(third):
    d, _ = third
    text = d.render("text", color=False).splitlines()
    assert "First derivative f′(x) = df/dx" in text
    assert "Second derivative f″(x) = d²f/dx²: the derivative of df/dx with respect to x" in text
    assert "Third derivative f‴(x) = d³f/dx³: the derivative of d²f/dx² with respect to x" in text
    # the second order starts from the first derivative's answer, not from f
    first_line = next(s for s in d.steps if s.kind == "equation" and s.lhs == d.results[1].lhs)
    assert first_line.rhs == sp.Derivative(d.results[0].display, first_line.rhs.variables[0], evaluate=False)
    assert d.verify() > 0


def test_mixed_partial_is_written_as_textbooks_and_checked_in_order(mixed):
    f = _real("x^2*y^3 + sin(x*y)")
    x, y = sorted(f.free_symbols, key=str)
    last = mixed.results[-1]
    assert last.name == "∂²f/∂y∂x"
    assert last.wrt == y and sp.simplify(last.of - sp.diff(f, x)) == 0
    assert sp.simplify(last.value - sp.diff(f, x, y)) == 0
    # the lines show ∂²f/∂y∂x and are verified as ∂/∂y of ∂f/∂x
    shown = [s for s in mixed.steps if s.kind == "equation" and s.lhs == last.lhs]
    assert shown and all(s.check == (sp.Derivative(s.check[0].expr, x, y), s.rhs) for s in shown)


def test_sigmoid_second_derivative_reads_as_the_notes():
    d = expr_derivation("sigmoid(z)", ["z"], order=2)
    assert "d²f/dz² = σ(z)·(1 − σ(z))·(1 − 2·σ(z))" in d.render("text", show_steps=False, color=False)


def test_second_derivative_at_a_point_against_finite_differences():
    from numeric.fd import check_derivatives

    d = expr_derivation("log(1 + exp(x))", ["x"], order=2, at="x=0.3", checker=check_derivatives)
    s = 1 / (1 + sp.exp(-sp.Rational(3, 10)))
    (check,) = d.checks
    assert check.ok and abs(check.value - float(s * (1 - s))) < 1e-12
    assert "d²f/dx²" in d.render("text")


@pytest.mark.parametrize("args, words", [
    (["x^3", "--order", str(MAX_ORDER + 1)], "orders up to 5"),
    (["x^3", "--order", "0"], "from 1 to 5"),
    (["x*y", "--wrt", "x", "--wrt", "y", "--order", "2"], "--mixed x,y"),
    (["x*y", "--mixed", "x,y", "--wrt", "x"], "without --wrt"),
    (["x*y", "--mixed", "x"], "at least two"),
    (["x*y", "--mixed", "x,y", "--shape", "x=2"], "does not combine with --shape"),
])
def test_bad_requests_exit_2_with_one_line(args, words):
    p = completed("expr", *args)
    assert p.returncode == 2 and words in p.stderr and p.stderr.count("\n") == 1


def test_chinese_headings_and_help():
    p = completed("expr", "x^3", "--order", "2", "--lang", "zh", "--show-steps")
    assert p.returncode == 0 and "二阶导数 f″(x) = d²f/dx²" in p.stdout and "6·x" in p.stdout
    help_text = completed("expr", "--help").stdout
    assert "--order" in help_text and "--mixed" in help_text
