"""The measure of issue 11's "terms never move" (benchmarks/bench_term_order.py): a true move is
caught, and a term a rule puts one bracket deeper (or out of one) is not counted as moved. The
lines are printed right-hand sides as ``derive expr --format json`` writes them; which pairs move
is stated by reading them."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from bench_term_order import moved, pieces, terms_moved  # noqa: E402

MOVES = [
    # the sum rule writing the terms in another order
    ("d/dx[8·x⁴ + 9·x² − 1]", "d/dx[9·x²] + d/dx[8·x⁴] − d/dx[1]"),
    # a factor worked out passing the factor after it
    ("σ(z)·d/dz[1 − σ(z)]·(1 − 2·σ(z))", "σ(z)·(1 − 2·σ(z))·(d/dz[1] + d/dz[−σ(z)])"),
    # a rewritten term passing a finished one
    ("−y·d/da[log(a)] − log(1 − a)", "−log(1 − a) − y/a"),
]

STAYS = [
    # the quotient rule's d/dx[x] = 1 drops a bracket: x² keeps its place, one bracket shallower
    ("(d/dx[x]·(x² + 1) − x·d/dx[x² + 1])/(x² + 1)²", "(x² + 1 − x·d/dx[x² + 1])/(x² + 1)²"),
    # the sum rule opens d/dx[1 + x²]: x² goes one bracket deeper, in place
    ("atan(x) + x/(1 + x²) − d/dx[1 + x²]/(2·(1 + x²))",
     "atan(x) + x/(1 + x²) − (d/dx[1] + d/dx[x²])/(2·(1 + x²))"),
    # the chain rule of √(x² + 1), the inner sum opened in place
    ("√(x² + 1) + x·d/dx[x² + 1]/(2·√(x² + 1))",
     "√(x² + 1) + x·(d/dx[x²] + d/dx[1])/(2·√(x² + 1))"),
    # a constant dropped moves nothing
    ("d/dx[x³] + d/dx[2·x] + d/dx[1]", "d/dx[x³] + d/dx[2·x]"),
]


@pytest.mark.parametrize("before, after", MOVES)
def test_a_true_move_is_caught(before, after):
    assert moved(before, after)


@pytest.mark.parametrize("before, after", STAYS)
def test_a_term_in_place_is_not_a_move(before, after):
    assert not moved(before, after)
    assert not terms_moved(before, after)


def test_pieces_follow_a_term_by_its_text_at_every_depth():
    assert pieces("a·(x² + 1) − sin(x)") == ["a·(x² + 1) − sin(x)", "a·(x² + 1)", "x² + 1", "x²", "sin(x)"]
