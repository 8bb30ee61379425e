"""Long formulas in the text view break at their operators, never inside a short bracket: the
lines fit, put back together they are the formula, and each break is a place a typesetter would
choose (before + − =, after a comma, before the / after a bracket)."""

import pytest

from derive import printing
from derive.expr import expr_derivation
from derive.render.text import _HANG, _groups, break_formula

# quotients, chains and sums whose steps are long (Stewart §3.2–3.4 kinds)
PROBLEMS = ["(2*x**2 - 3)/(x**2 + 1)", "tan(x)/(1 + sec(x))", "x/sqrt(x**2 + 1)",
            "(x**3 + 2*x)*exp(x)*sin(x)", "log((x**2 + 1)/(x - 1))", "sqrt(1 + 2*x)*(x**2 - 3*x + 5)**4"]


@pytest.fixture(scope="module")
def formulas():
    found = []
    for text in PROBLEMS:
        d = expr_derivation(text)
        found += [printing.text(step.rhs, order=step.order) for step in d.steps if step.rhs is not None]
    return [f for f in found if len(f) > 30]


def _pieces(broken: str) -> list:
    lines = broken.split("\n")
    return [lines[0]] + [line[_HANG:] if line.startswith(" " * _HANG) else line for line in lines[1:]]


@pytest.mark.parametrize("width", [24, 36, 50])
def test_broken_lines_fit_and_rejoin_as_the_formula(formulas, width):
    assert len(formulas) > 20
    for f in formulas:
        lines = break_formula(f, width).split("\n")
        assert all(len(line) <= width for line in lines), (f, lines)
        pieces = _pieces(break_formula(f, width))
        rejoined = pieces[0]
        for piece in pieces[1:]:
            # a break before an operator or after a comma took one space; before "/" none
            rejoined += piece if piece.startswith("/") or f.startswith(rejoined + piece) else " " + piece
        assert rejoined == f, (f, pieces)


@pytest.mark.parametrize("width", [36, 50])
def test_a_break_falls_inside_a_short_bracket_only_when_nothing_else_fits(formulas, width):
    groups_inside = 0
    for f in formulas:
        groups = _groups(f)
        done = 0
        for piece in _pieces(break_formula(f, width))[:-1]:
            done = f.index(piece, done) + len(piece)
            depth, span = groups[done]
            if 0 < span <= width - _HANG:
                groups_inside += 1
    assert groups_inside == 0


def test_a_matrix_keeps_a_row_a_line():
    rows = "[[ 1  2  3]\n [11 12 13]\n [21 22 23]]"
    assert break_formula(rows, 12) == rows
    assert break_formula("[[a + b, c]\n [d, e]]", 8) == "[[a + b,\n  c]\n [d, e]]"


def test_a_formula_that_fits_is_one_line():
    f = "(x² − 2·x − 1)/(x − 1)²"
    assert break_formula(f, len(f)) == f
    assert break_formula(f, 12) == "(x² − 2·x\n  − 1)\n  /(x − 1)²"
