"""The author's order, kept, as a property of the printer (issue 11): a rewritten factor takes the
place of the derivative it came from, a grown term the place of the term it grew from, symbols in
the order they were shown, and a matrix printed a row a line as NumPy prints it. Oracles: the
textbook forms, sympy.diff of the expression, and NumPy's own print of the notes' arrays."""

from __future__ import annotations

import re

import numpy as np
import pytest
import sympy as sp

import derive
from derive.expr import expr_derivation
from derive.render.json import as_dict
from derive.printing import text

pytestmark = pytest.mark.usefixtures("shared_derivations")  # each derivation built once

x = sp.Symbol("x")


def _lines(source: str, order: int = 1) -> list[str]:
    """The right-hand sides of the derivation's equations as ``--format json`` prints them."""
    steps = as_dict(expr_derivation(source, [], order=order))["steps"]
    return [s["text"].split(" = ", 1)[1] for s in steps if s["kind"] == "equation"]


_POWERS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹", "0123456789")


def _value(printed: str):
    """A printed line without derivatives read back as SymPy (x² is x**2, · is *, e^x is exp(x))."""
    plain = re.sub("[⁰¹²³⁴⁵⁶⁷⁸⁹]+", lambda m: "**" + m.group().translate(_POWERS), printed)
    return sp.sympify(plain.replace("−", "-").replace("·", "*"), locals={"e": sp.E})


def test_a_signed_rewrite_keeps_the_factor_that_was_there_in_front():
    """The product rule's x²·d/dx[sin(x)] becomes −x²·cos(x), never −cos(x)·x², and each part of
    the product rule keeps f′·g before f·g′, in the second derivative too."""
    lines = _lines("x**2*cos(x)", order=2)
    assert "2·(cos(x) − x·sin(x)) − d/dx[x²]·sin(x) − x²·d/dx[sin(x)]" in lines
    assert "2·(cos(x) − x·sin(x)) − 2·x·sin(x) − x²·cos(x)" in lines
    assert not any("cos(x)·x²" in line or "sin(x)·x²" in line for line in lines)
    assert sp.simplify(_value(lines[-1]) - sp.diff(x**2 * sp.cos(x), x, 2)) == 0


def test_the_quotient_rule_reads_f_prime_g_minus_f_g_prime():
    """(f/g)′ = (f′·g − f·g′)/g², as every textbook writes it, for f = eˣ, g = (1 + eˣ)²."""
    lines = _lines("exp(x)/(1 + exp(x))", order=2)
    assert "(d/dx[e^x]·(1 + e^x)² − e^x·d/dx[(1 + e^x)²])/(1 + e^x)⁴" in lines
    assert "(e^x·(1 + e^x)² − e^x·d/dx[(1 + e^x)²])/(1 + e^x)⁴" in lines


@pytest.mark.parametrize("source, line", [
    # the sum rule in the order of the terms, x where it stood (not where the x of x⁵ stood)
    ("5*x**5 - 3*x**3 + x - 7", "d/dx[5·x⁵] + d/dx[−3·x³] + d/dx[x] + d/dx[−7]"),
    # 2·cos(x), grown from cos(x) + d/dx[sin(x)], stays where cos(x) stood
    ("x*cos(x) + sin(x)", "2·cos(x) − x·sin(x)"),
    # 3·x² + 2, rewritten from 3·x² + 2·d/dx[x], keeps its place before (x² − 4)
    ("(x**3 + 2*x)/(x**2 - 4)", "((3·x² + 2)·(x² − 4) − (x³ + 2·x)·d/dx[x² − 4])/(x² − 4)²"),
    # 18·x², grown from 9·x·d/dx[x²], stands where x stood
    ("24*x*(3*x**2 + 2)**3", "24·((3·x² + 2)³ + 18·x²·(3·x² + 2)²)"),
])
def test_a_term_keeps_its_place(source, line):
    lines = _lines(source)
    assert line in lines
    # and the derivation still ends at the derivative
    assert sp.simplify(_value(lines[-1]) - sp.diff(sp.sympify(source), x)) == 0


def test_gradient_descent_keeps_w_before_b():
    """The worked update's gradient in the w-first order of its loss, L = (w + b − 2)²/2 + …"""
    d = derive.derivation("gradient-descent")
    out = d.render("text", width=200)
    w, b = sp.symbols("w b")
    loss = ((w + b - 2)**2 + (2*w + b - 3)**2) / 2
    for shown, wrt in (("5·w + 3·b − 8", w), ("3·w + 2·b − 5", b)):
        assert f"= {shown}" in out
        assert _value(shown).subs({sp.Symbol("w"): w, sp.Symbol("b"): b}) == sp.expand(sp.diff(loss, wrt))
    assert "3·b + 5·w" not in out and "2·b + 3·w" not in out


def _printed_as_numpy(out: str, array) -> bool:
    """Whether ``out`` holds ``array`` row under row exactly as NumPy prints it."""
    rows = str(np.array(array)).replace("-", "−").splitlines()
    lines = out.splitlines()
    for at, line in enumerate(lines):
        if rows[0] in line:
            col = line.index(rows[0])
            return [row[col:col + len(r)] for row, r in zip(lines[at:], rows)] == rows
    return False


def test_broadcasting_prints_the_notes_sum_as_numpy_does():
    """The sum printed row by row exactly as the notes' print(a + b) (here NumPy's own print of
    the same arrays)."""
    out = derive.derivation("broadcasting").render("text", width=200)
    a = np.array([[0, 0, 0], [10, 10, 10], [20, 20, 20], [30, 30, 30]])
    assert str(a + np.array([1, 2, 3])).splitlines()[0] == "[[ 1  2  3]"      # the notes' first row
    assert _printed_as_numpy(out, a + np.array([1, 2, 3]))
    assert "= [[ 1  2  3]" in out and "[[1, 2, 3]" not in out


def test_conv_prints_its_outputs_as_numpy_does():
    out = derive.derivation("conv").render("text", width=200)
    same = np.array([[-20, 0, 20, 20, 0, 0]] + [[-30, 0, 30, 30, 0, 0]] * 4 + [[-20, 0, 20, 20, 0, 0]])
    assert _printed_as_numpy(out, np.array([[0, 30, 30, 0]] * 4))
    assert _printed_as_numpy(out, same)
    assert "[[0, 30" not in out


def test_a_matrix_of_formulas_aligns_its_columns():
    y = sp.Symbol("y")
    printed = text(sp.Matrix([[x**2, 1], [y, 10]]))
    assert printed == "[[x²  1]\n [y   10]]"
    rows = [r.strip("[] ") for r in printed.splitlines()]
    assert [[_value(c) for c in r.split()] for r in rows] == [[x**2, 1], [y, 10]]


def test_attention_multiplies_p_before_dp():
    out = derive.derivation("attention").render("text", width=200)
    # a subtracted lone Σ without brackets of its own, as the notes write −Σ_k y_k·log(ŷ_k)
    assert "P_ij·(dP_ij − Σ_{l=1..m} P_il·dP_il)" in out
    assert "dP_il·P_il" not in out
