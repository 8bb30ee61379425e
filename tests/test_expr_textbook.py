"""derive expr on textbook problems: coverage, bounded work, student input, exit codes.

The whole corpus runs in benchmarks/bench_textbook.py; here every eighth problem (a fixed
sample, so that the suite stays fast) must come out equal to sympy.diff.
"""

from __future__ import annotations

import time

import pytest
import sympy as sp

from derive.engine import diff_rule, steps
from derive.expr import expr_derivation
from derive.parse import parse_expression, parse_latex_expression

from conftest import completed
from textbook import CORPUS, solve

x = sp.Symbol("x")


def test_corpus_is_large_enough():
    assert len(CORPUS) >= 200


@pytest.mark.parametrize("problem", CORPUS[::8], ids=lambda p: f"{p.wrt}|{p.text}"[:50])
def test_sample_equals_sympy_diff(problem):
    assert solve(problem) is None


@pytest.mark.parametrize("text, key", [
    ("sec(x)", "trig"), ("cot(x)", "trig"), ("acsc(x)", "inverse_trig"),
    ("sech(x)", "hyperbolic"), ("atanh(x)", "inverse_hyperbolic"), ("abs(x)", "abs"),
    ("erf(x)", "erf"),
])
def test_textbook_functions_have_named_rules(text, key):
    assert diff_rule(parse_expression(text), x).key == key


def test_textbook_forms_of_derivatives():
    forms = {"tan(x)": sp.sec(x) ** 2, "cot(x)": -sp.csc(x) ** 2, "sec(x)": sp.sec(x) * sp.tan(x)}
    for text, form in forms.items():
        assert diff_rule(parse_expression(text), x).eval() == form
        assert sp.simplify(form - sp.diff(parse_expression(text), x)) == 0


def test_constant_is_one_line():
    lines = steps(diff_rule(sp.Integer(7), x))
    assert [(line.rhs, line.key) for line in lines] == [(0, "constant")]


def test_log_base_and_euler():
    assert parse_expression("log(x, 2)") == sp.log(x) / sp.log(2)
    assert parse_latex_expression(r"\log_2 x") == sp.log(x) / sp.log(2)
    assert parse_expression("e^x") == sp.exp(x) == parse_latex_expression(r"\mathrm{e}^{x}")


def test_student_input():
    assert parse_expression("2x^2 + 3x") == 2 * x**2 + 3 * x
    assert parse_expression("(x+1)(x-1)") == (x + 1) * (x - 1)
    assert parse_expression("x sin(x)") == x * sp.sin(x)
    assert parse_expression("3sin(2x)") == 3 * sp.sin(2 * x)
    assert parse_expression("1.5e-3x") == sp.Rational(3, 2000) * x
    assert parse_latex_expression(r"\sin \pi/2") == 1
    assert parse_latex_expression(r"\sin x/2") == sp.sin(x / 2)
    assert parse_latex_expression(r"\log x/\log 2") == sp.log(x) / sp.log(2)
    assert parse_latex_expression("x^10") == x**10
    assert parse_latex_expression("e^-x") == sp.exp(-x)


def test_degree_99_chain_rule_is_fast():
    start = time.process_time()
    d = expr_derivation("((2*x+1)**10+1)**10", ["x"])
    assert time.process_time() - start < 2
    r = d.results[0]
    assert sp.expand(r.value - sp.diff(((2 * r.wrt + 1) ** 10 + 1) ** 10, r.wrt)) == 0


def _derive(*args):
    return completed(*args)


def test_leading_minus_on_the_command_line():
    p = _derive("expr", "-x^2")
    assert p.returncode == 0 and "−2·x" in p.stdout
    assert "--" in _derive("expr", "--help").stdout


def test_undefined_point_is_bad_input_not_a_crash():
    p = _derive("expr", "relu(log(log((x-1)**2+1)))", "--at", "x=1")
    assert p.returncode == 2 and "not defined at x = 1" in p.stderr
    assert p.stderr.count("\n") == 1


def test_internal_error_exit_code_is_70(monkeypatch, capsys):
    from derive.cli import app

    def broken(*args, **kwargs):
        raise ZeroDivisionError("boom")

    monkeypatch.setattr("derive.expr.expr_derivation", broken)
    with pytest.raises(SystemExit) as exit_info:
        app.main(["expr", "x"])
    err = capsys.readouterr().err
    assert exit_info.value.code == app.EXIT_INTERNAL_ERROR == 70
    assert "please report" in err and "derive expr x" in err
