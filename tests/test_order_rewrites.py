"""What a rule writes stands where a textbook writes it (issue 11, deliver 1 and 2): the chain
rule's intermediate is u unless chains nest, a product is worked out left to right and the factor
a rewrite makes stands where the factor it came from stood, a number goes first, one line that
works out d/dx[x] = 1 and d/dx[c] = 0 names both, and a simplification keeps the order of the line
before. Oracles: sympy.diff for every value; the orders stated from the textbook rule."""

from __future__ import annotations

import re

import pytest
import sympy as sp

from derive import engine
from derive.expr import expr_derivation
from derive.printing import text
from derive.render.json import as_dict
from derive.rules import D

pytestmark = pytest.mark.usefixtures("shared_derivations")  # each derivation built once

x = sp.Symbol("x")
_POWERS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹", "0123456789")


def _steps(source: str, order: int = 1) -> list[dict]:
    """The equations of ``derive expr SOURCE --show-steps`` as ``--format json`` gives them."""
    return [s for s in as_dict(expr_derivation(source, [], order=order))["steps"] if s["kind"] == "equation"]


def _lines(source: str, order: int = 1) -> list[str]:
    return [s["text"].split(" = ", 1)[1] for s in _steps(source, order)]


def _value(printed: str):
    """A printed line without derivatives read back as SymPy (x² is x**2, · is *, e^x is exp(x))."""
    plain = re.sub("[⁰¹²³⁴⁵⁶⁷⁸⁹]+", lambda m: "**" + m.group().translate(_POWERS), printed)
    return sp.sympify(plain.replace("−", "-").replace("·", "*"), locals={"x": x, "e": sp.E})


def _intermediates(expr) -> list[str]:
    """The names the engine's chain rules give their u, in the order the lines show them."""
    rule = engine.diff_rule(expr, x)
    return [text(line.rule.u) for line in engine.steps(rule, simplify=False) if line.key == "chain"]


@pytest.mark.parametrize("expr, names", [
    # one chain: h = u⁴, u = 3x² + 2, as the notes write it
    ((3 * x**2 + 2) ** 4, ["u"]),
    # two chains one after the other are never alive at once: each is u
    (sp.sin(x**2) * sp.exp(3 * x), ["u", "u"]),
    # nested: u₁ = cos(x²) is still being differentiated when u₂ = x² is introduced
    (sp.sin(sp.cos(x**2)), ["u₁", "u₂"]),
    # a symbol u of the expression's own is not reused
    (sp.sin(sp.Symbol("u") * x**2), ["u₁"]),
])
def test_the_chain_rule_names_its_intermediate_u_unless_two_are_alive(expr, names):
    assert _intermediates(expr) == names
    assert sp.simplify(engine.diff_rule(expr, x).eval() - sp.diff(expr, x)) == 0


def test_a_rewrite_puts_the_number_first_and_the_new_factor_where_the_old_one_stood():
    """d/dx[sin(x)³] = 3·sin(x)²·d/dx[sin(x)] in the place of d/dx[sin(x)³], before cos(x)²;
    the product rule's terms are worked out left to right; sin(x)³·(−sin(x)) is sin(x)⁴ where
    sin(x)³ stood."""
    lines = _lines("sin(x)**3*cos(x)**2")
    start = lines.index("d/dx[sin(x)³]·cos(x)² + sin(x)³·d/dx[cos(x)²]")
    assert lines[start + 1] == "3·sin(x)²·d/dx[sin(x)]·cos(x)² + sin(x)³·d/dx[cos(x)²]"
    assert "3·sin(x)²·cos(x)³ − 2·sin(x)⁴·cos(x)" in lines
    truth = sp.diff(sp.sin(x) ** 3 * sp.cos(x) ** 2, x)
    assert sp.simplify(_value(lines[-1]) - truth) == 0


def test_a_number_and_a_symbol_a_rule_makes_go_to_the_front():
    """12·(3·x² + 2)³·d/dx[x²] becomes 24·x·(3·x² + 2)³, never (3·x² + 2)³·x·24, in the first
    derivative and as the line the second derivative starts from."""
    lines = _lines("(3*x**2 + 2)**4", order=2)
    assert "24·x·(3·x² + 2)³" in lines and "d/dx[24·x·(3·x² + 2)³]" in lines
    assert not any(re.search(r"\)[²³]·x(·|$)", line) for line in lines)
    assert sp.expand(_value("24·x·(3·x² + 2)³") - sp.diff((3 * x**2 + 2) ** 4, x)) == 0


def test_one_line_working_out_two_rules_names_both():
    """d/dx[x] + d/dx[−1] = 1 + 0 in one line: the rule column names the variable's own
    derivative and the constant rule, and both derivatives."""
    step = next(s for s in _steps("(x - 1)**2") if s["rule"].startswith("derivative of the variable itself and constant rule"))
    assert "d/dx[x] = 1" in step["note"] and "d/dx[−1] = 0" in step["note"]
    terms = engine.SimpleTerms((engine.diff_rule(x, x), engine.diff_rule(sp.Integer(-1), x)), x)
    shown = terms.msg_args()["c"]
    assert [e.lhs for e in shown] == [D(x, x), D(sp.Integer(-1), x)]
    assert [e.rhs for e in shown] == [sp.diff(x, x), sp.diff(sp.Integer(-1), x)]


@pytest.mark.parametrize("source, before, after", [
    # cos(x)·tan(x) is sin(x), in the place cos(x)·tan(x) held
    ("sin(x)*tan(x)", "cos(x)·tan(x) + sin(x)·sec(x)²", "sin(x) + sin(x)·sec(x)²"),
    # the minus taken out of the numerator leaves its terms in order
    ("cos(x)/(1 + x**2)", "(−sin(x)·(1 + x²) − 2·x·cos(x))/(1 + x²)²", "−(sin(x)·(1 + x²) + 2·x·cos(x))/(1 + x²)²"),
    # a polynomial the simplification collects goes by degree
    ("exp(x)*(x**3 + 2*x)", "e^x·(x³ + 2·x) + e^x·(3·x² + 2)", "e^x·(x³ + 3·x² + 2·x + 2)"),
])
def test_a_simplification_keeps_the_order_of_the_line_before(source, before, after):
    lines = _lines(source)
    assert lines[-2:] == [before, after]
    truth = sp.diff(sp.sympify(source), x)
    assert sp.simplify(_value(after).subs(sp.Symbol("x"), x) - truth) == 0
