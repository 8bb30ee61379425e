"""A product a rule has just worked out reads as a textbook writes it (issue 11, deliver 1): the
symbol a derivative stood beside keeps its place before the function the derivative became
(x·sec(x)·tan(x), not sec(x)·x·tan(x), whose sec(x) is a new factor and not the finished term
sec(x) before it), and a coefficient and a plain symbol go before a function (x·cos(x) − sin(x),
2·x·sin(x)). Oracles: sympy.diff for every value; the forms from Stewart's Calculus
(§3.3: d/dx[x·sec(x)] = sec(x) + x·sec(x)·tan(x), d/dx[sin(x)/x] = (x·cos(x) − sin(x))/x²)."""

from __future__ import annotations

import pytest
import sympy as sp

from derive.expr import expr_derivation
from derive.render.json import as_dict

x = sp.Symbol("x")

CASES = [
    ("x*sec(x)", "sec(x) + x·sec(x)·tan(x)", x * sp.sec(x)),
    ("x*sech(x)", "sech(x) − x·sech(x)·tanh(x)", x * sp.sech(x)),
    ("sin(x)/x", "(x·cos(x) − sin(x))/x²", sp.sin(x) / x),
    ("tan(x)/x", "(x·sec(x)² − tan(x))/x²", sp.tan(x) / x),
    ("sin(x)/x**2", "(x²·cos(x) − 2·x·sin(x))/x⁴", sp.sin(x) / x**2),
]


@pytest.fixture(scope="module")
def lines():
    """Each case's derivative lines, built once: (printed right-hand side, value)."""
    out = {}
    for source, _, _ in CASES:
        d = expr_derivation(source, [])
        steps = [s for s in as_dict(d)["steps"] if s["kind"] == "equation"]
        out[source] = ([s["text"].split(" = ", 1)[1] for s in steps], d.results[-1].value)
    return out


@pytest.mark.parametrize("source, textbook, f", CASES)
def test_worked_out_product_reads_as_the_textbook(lines, source, textbook, f):
    printed, value = lines[source]
    assert textbook in printed
    real = sp.Symbol("x", real=True)
    assert sp.simplify(value.subs({s: real for s in value.free_symbols}) - sp.diff(f, x).subs(x, real)) == 0
