"""The graph's gradients (the chain rule along the edges) against sympy.diff of the definitions,
and the cross-check that refuses a graph whose edges disagree with its definitions."""

from __future__ import annotations

import pytest
import sympy as sp

from derive import engine, graph
from derive.graph import format_number, from_defs
from derive.verify import VerificationError


def _defs():
    # a small softmax-free network with a function: a = σ-like 1/(1 + e^(−z)), J = log(1 + a²)·w2
    x, w1, b, w2, z, a, J = sp.symbols("x w1 b w2 z a J")
    defs = {z: w1 * x + b, a: 1 / (1 + sp.exp(-z)), J: sp.log(1 + a ** 2) * w2}
    point = {x: sp.Rational(3, 2), w1: sp.Rational(-7, 10), b: sp.Rational(1, 5), w2: 3}
    return defs, point


def test_gradients_equal_sympy_diff_of_the_definitions_to_the_printed_digits():
    defs, point = _defs()
    g = from_defs(defs, point)
    J = sp.Symbol("J")
    a, z = sp.symbols("a z")
    full = defs[J].xreplace({a: defs[a]}).xreplace({z: defs[z]})
    for leaf in point:
        expected = sp.diff(full, leaf).xreplace(point).evalf(40)
        assert abs(sp.N(g.grad(leaf.name), 40) - expected) < sp.Float("1e-25", 40) * (1 + abs(expected))
        assert format_number(g.grad(leaf.name)) == format_number(expected)


def test_exact_graphs_stay_exact():
    # J = (x·w + b)² at x=2, w=3, b=1: dJ/dw = 2(xw + b)·x = 28 exactly, dJ/db = 14
    x, w, b, z, J = sp.symbols("x w b z J")
    g = from_defs({z: x * w + b, J: z ** 2}, {x: 2, w: 3, b: 1})
    assert (g.grad("w"), g.grad("b")) == (28, 14) and g.grad("w").is_Integer


def test_edges_that_disagree_with_the_definitions_are_refused(monkeypatch):
    defs, point = _defs()
    real = engine.derivative
    # a wrong local derivative on one edge (∂a/∂z doubled): the difference of the definitions sees it
    monkeypatch.setattr(engine, "derivative",
                        lambda expr, s: 2 * real(expr, s) if s == sp.Symbol("z") else real(expr, s))
    with pytest.raises(VerificationError, match="difference of the definitions"):
        from_defs(defs, point)


@pytest.mark.parametrize("name", ["mlp", "conv"])
def test_edges_shown_as_a_symbol_are_the_engines_own_form(name):
    # the graph takes sympy.diff's derivative when it is one symbol or number; the printed label
    # must be what the engine's textbook rules give for that edge
    g = graph.graph_for(name)
    atoms = [e for e in g.edges if e.local.is_Atom]
    assert len(atoms) > len(g.edges) // 2       # the linear layers' edges
    for e in atoms:
        definition = g.node(e.target).definition
        assert sp.srepr(engine.derivative(definition, e.source)) == sp.srepr(e.local), (e.source, e.target)
