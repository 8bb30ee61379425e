"""The rule's line shows the derivative's value where the derivative stood, unevaluated, and the
next line collects (issue 11, deliver 1 and 2; review rows B8–B10, B14, B16, B21, B22).

Oracles: sympy.diff for every result and every line (each equals the derivative); the forms of
Stewart, Calculus (8th ed.): §3.1 (1/√x = x^(−1/2) before the power rule), §3.2 (product rule,
(2x + 1)·2x; quotient rule, ((1 + x²) − x·2x)/(1 + x²)² = (1 − x²)/(1 + x²)²), §3.3 (the
derivative of cos²x − sin²x, −2 sin x cos x − 2 sin x cos x), §3.4 (chain rule, 2·1/(2√(1 + 2x))),
§3.6 (x³·(1/x) for the derivative of x³ ln x); Thomas' Calculus §3.3 (the same rules); and the
course notes' −Σ_k y_k log ŷ_k (no brackets round a lone Σ)."""

from __future__ import annotations

import importlib.util
import pathlib

import pytest
import sympy as sp

from derive import printing
from derive.expr import expr_derivation
from derive.render.json import as_dict

x, z = sp.symbols("x z")

# source: (the function, the opened line the textbook writes, the line after it)
CASES = {
    "x/(1+x**2)": (x / (1 + x**2), "(1 + x² − x·2·x)/(1 + x²)²", "(1 − x²)/(1 + x²)²"),
    "cos(x)**2 - sin(x)**2": (sp.cos(x)**2 - sp.sin(x)**2, "−2·sin(x)·cos(x) − 2·sin(x)·cos(x)",
                              "−4·cos(x)·sin(x)"),
    "x**3*log(x)": (x**3 * sp.log(x), "3·x²·log(x) + x³·(1/x)", "3·x²·log(x) + x²"),
    "(2*x+1)*(x**2-3)": ((2*x + 1) * (x**2 - 3), "2·(x² − 3) + (2·x + 1)·2·x", "6·x² + 2·x − 6"),
    "sqrt(1+2*x)": (sp.sqrt(1 + 2*x), "2·d/dx[x]/(2·√(1 + 2·x))", "1/√(1 + 2·x)"),
    # Stewart §3.1: x^(−1/2), then the power rule as it gives it, −½·x^(−3/2)
    "1/sqrt(x)": (1 / sp.sqrt(x), "d/dx[x^(−1/2)]", "−(1/2)·x^(−3/2)"),
}


@pytest.fixture(scope="module")
def built():
    """Each source's derivation, built once: (its right-hand sides as printed, its results'
    values, its variable)."""
    out = {}
    for source in CASES:
        d = expr_derivation(source, [], order=1)
        steps = [s for s in as_dict(d)["steps"] if s["kind"] == "equation"]
        out[source] = ([s["text"].split(" = ", 1)[1] for s in steps], [r.value for r in d.results],
                       d.results[0].wrt)
    return out


@pytest.mark.parametrize("source", CASES)
def test_result_equals_sympy_diff(built, source):
    f = CASES[source][0]
    _, values, wrt = built[source]
    assert sp.simplify(values[0].subs(wrt, x) - sp.diff(f, x)) == 0


@pytest.mark.parametrize("source", CASES)
def test_opened_line_then_collected(built, source):
    _, opened, after = CASES[source]
    lines, _, _ = built[source]
    assert opened in lines, lines
    # the value stands in its own line, and the next line collects it
    assert lines[lines.index(opened) + 1] == after


@pytest.mark.parametrize("source", ["x/(1+x**2)", "x**3*log(x)", "(2*x+1)*(x**2-3)"])
def test_opened_line_equals_the_derivative(source):
    f, opened, _ = CASES[source]
    written = sp.sympify(opened.replace("·", "*").replace("−", "-").replace("²", "**2")
                         .replace("³", "**3"))
    assert sp.simplify(written - sp.diff(f, x)) == 0


def test_a_negated_lone_sum_has_no_brackets():
    k, K = sp.symbols("k K", integer=True, positive=True)
    y, yhat = sp.IndexedBase("y"), sp.IndexedBase("ŷ")
    lone = -sp.Sum(y[k] * sp.log(yhat[k]), (k, 1, K))
    assert printing.text(lone) == "−Σ_{k=1..K} y_k·log(ŷ_k)"
    # a sum of terms keeps its brackets
    a = sp.Symbol("a")
    yy = sp.Symbol("y")
    two = sp.Mul(-1, sp.Add(yy * sp.log(a), sp.Mul(1 - yy, sp.log(1 - a), evaluate=False), evaluate=False),
                 evaluate=False)
    assert printing.text(two) == "−(y·log(a) + (1 − y)·log(1 − a))"


_BENCH = pathlib.Path(__file__).parent.parent / "benchmarks" / "bench_term_order.py"
_spec = importlib.util.spec_from_file_location("bench_term_order", _BENCH)
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)

# textbook problems (tests/data/textbook_derivatives.txt) whose opened or collected line once
# moved a finished term: the source, its order, the line a move showed in
KEPT = {
    # x³ − x³ + 4·x³·log(x): the sum kept apart for a line took the order of the product it makes
    "x**4*log(x) - x**4/4": (x**4 * sp.log(x) - x**4 / 4, 1, "4·x³·log(x) + x³ − x³"),
    # (log(x) + 1)·(log(x) + x·(1/x)): the opened factor took the place of the equal finished one
    "x**x": (x**x, 2, "e^(x·log(x))·(log(x) + x·(1/x))·(log(x) + 1) + x^x·d/dx[log(x) + 1]"),
    # σ(z)·(1 − 2·σ(z))·(d/dz[1] + …): the (1 − 2·σ(z)) of the product rewritten took the place
    # of the one in the finished term before it
    "sigmoid(z)": (1 / (1 + sp.exp(-z)), 3, "(1 − σ(z))²·σ(z)·(1 − 2·σ(z)) + σ(z)·(d/dz[1] + d/dz[−σ(z)])"
                   "·(1 − 2·σ(z)) + σ(z)·(1 − σ(z))·d/dz[1 − 2·σ(z)]"),
}


@pytest.fixture(scope="module")
def kept():
    """Each ``KEPT`` source's lines as printed, and its last result's value, built once."""
    out = {}
    for source, (_, order, _) in KEPT.items():
        d = expr_derivation(source, [], order=order)
        lines = [s["text"].split(" = ", 1)[1] for s in as_dict(d)["steps"] if s["kind"] == "equation"]
        out[source] = (lines, d.results[-1].value)
    return out


@pytest.mark.parametrize("source", KEPT)
def test_no_term_moves(kept, source):
    f, order, shown = KEPT[source]
    lines, value = kept[source]
    assert shown in lines, lines
    assert not any(bench.terms_moved(a, b) for a, b in zip(lines, lines[1:]))
    var = f.free_symbols.pop()
    # the derivation's symbols are real; sympy.diff's answer is in the plain symbol written here
    assert sp.simplify(value.subs(value.free_symbols.pop(), var) - sp.diff(f, var, order)) == 0


def test_a_quotient_rules_products_are_multiplied_out_before_they_are_collected():
    """Stewart §3.2, Example 4: y = (x² + x − 2)/(x³ + 6). The book multiplies out the two
    products of the quotient rule's numerator, each in its brackets, then collects:
    [(2x⁴ + x³ + 12x + 6) − (3x⁴ + 3x³ − 6x²)]/(x³ + 6)² = (−x⁴ − 2x³ + 6x² + 12x + 6)/(x³ + 6)²."""
    from derive.expr import expr_derivation

    d = expr_derivation("(x**2 + x - 2)/(x**3 + 6)")
    text = d.render("text", width=200)
    book = ["((2·x⁴ + x³ + 12·x + 6) − (3·x⁴ + 3·x³ − 6·x²))/(x³ + 6)²",
            "(−x⁴ − 2·x³ + 6·x² + 12·x + 6)/(x³ + 6)²"]
    at = [text.index(line) for line in book]
    assert at == sorted(at)
    assert "multiply out the numerator's products" in text
    x = d.results[0].wrt
    assert sp.simplify(d.results[0].display - sp.diff((x**2 + x - 2) / (x**3 + 6), x)) == 0
    # a quotient whose answer is not multiplied out gets no such line: x²/(x + 1) → x·(x + 2)/(x + 1)²,
    # nor one whose answer cancels a factor of the denominator: −14·(2·x + 1)/(x − 3)³
    assert "multiply out" not in expr_derivation("x**2/(x + 1)").render("text", width=200)
    assert "multiply out" not in expr_derivation("((2*x + 1)/(x - 3))**2").render("text", width=200)
    # a power of a sum is a product too: 4·(x² − 1)·x² − (x² − 1)² → (4·x⁴ − 4·x²) − (x⁴ − 2·x² + 1)
    text = expr_derivation("(x**2 - 1)**2/x").render("text", width=200)
    assert "((4·x⁴ − 4·x²) − (x⁴ − 2·x² + 1))/x²" in text


@pytest.mark.parametrize("source, rule, quotient", [
    ("sqrt(x)", "(1/2)·x^(−1/2)", "1/(2·√(x))"),          # Stewart §3.1: ½x^(−1/2) = 1/(2√x)
    ("1/sqrt(x)", "−(1/2)·x^(−3/2)", "−1/(2·x^(3/2))"),
    ("x**(3/2)", "(3/2)·x^(1/2)", "3·√(x)/2"),
])
def test_a_fractional_power_rule_is_written_as_the_rule_gives_it_then_as_a_quotient(source, rule, quotient):
    from derive.expr import expr_derivation

    from derive import printing

    d = expr_derivation(source)
    lines = [printing.text(s.rhs, partial=d.partial, order=s.order) for s in d.steps if s.rhs is not None]
    assert lines[-2:] == [rule, quotient], lines
    x = d.results[0].wrt
    assert sp.simplify(d.results[0].display - sp.diff(sp.sympify(source.replace("x", "X")).subs("X", x), x)) == 0
    # in a sum the rule's value is written as the notes print it at once: no line moves a term
    assert "x^(−2/3)·" not in expr_derivation("x**(1/3) + x**(-2/3)").render("text", width=200)


def test_a_derivatives_value_stands_where_it_stood_beside_a_factor_of_the_same_variable():
    """(x² − 2·x)·x: the 2·x that d/dx[x²] becomes stands first in its bracket, where d/dx[x²]
    stood, as on the line before; it did not move behind d/dx[−2·x] because the product's other
    factor is x (the answer then reads (2·x − 2)·x, as a book writes it)."""
    from derive import printing
    from derive.expr import expr_derivation

    d = expr_derivation("(x**2 - 2*x)*x")
    lines = [printing.text(s.rhs, partial=d.partial, order=s.order) for s in d.steps if s.rhs is not None]
    before = next(k for k, line in enumerate(lines) if line.startswith("(d/dx[x²] + d/dx[−2·x])·x"))
    assert lines[before + 1].startswith("(2·x + d/dx[−2·x])·x"), lines
    assert any(line.startswith("(2·x − 2)·x") for line in lines), lines
    x = d.results[0].wrt
    assert sp.expand(d.results[0].display - sp.diff((x**2 - 2 * x) * x, x)) == 0
