"""Logistic regression's vectorized gradients are derived from the loop over the m examples, as
the notes derive them, and the matrix-calculus lines of sigmoid-sum and mlp read like the notes:
no φ, constant factors kept out (2·(b₀ + z − y)), a note only on the lines it explains."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

import derive
from derive.functions import sigmoid
from derive.matrix.lines import engine_gradient
from derive.models import logistic
from derive.models._concrete import Instance
from derive.models._notation import m
from derive.printing import text

pytestmark = pytest.mark.usefixtures("shared_derivations")


def _steps(model: str):
    return [s for s in derive.derivation(model).lines if s.kind == "equation"]


def _loop_by_hand(X, Y, w, b):
    """Ng's loop over the examples, written out with NumPy: dw and db accumulated, then averaged."""
    dw, db = np.zeros_like(w), 0.0
    for i in range(X.shape[1]):
        a = 1 / (1 + np.exp(-(w @ X[:, i] + b)))
        dz = a - Y[i]
        dw += X[:, i] * dz
        db += dz
    return dw / X.shape[1], db / X.shape[1]


def test_logistic_matrix_forms_equal_the_loop_over_the_examples():
    rng = np.random.default_rng(0)
    nx, size = 3, 7
    X, Y, w, b = rng.normal(size=(nx, size)), rng.integers(0, 2, size).astype(float), rng.normal(size=nx), 0.3
    dw, db = _loop_by_hand(X, Y, w, b)
    env = {"np": np, "X": X, "Y": Y.reshape(1, size), "w": w.reshape(nx, 1), "b": b, "m": float(size)}
    forms = {line.wrt: engine_gradient(line).form_numpy() for line in logistic.LINES}
    assert np.allclose(eval(forms["w"], env).ravel(), dw)
    assert np.allclose(eval(forms["b"], env), db)
    # the oracle can fail: with the labels flipped the loop gives another dw
    assert not np.allclose(_loop_by_hand(X, 1 - Y, w, b)[0], dw)


def test_logistic_vectorized_section_is_the_loop_not_the_matrix_engine():
    steps = _steps("logistic")
    shown = [(text(s.lhs), text(s.rhs)) for s in steps]
    k = shown.index(("dz⁽ⁱ⁾", "a⁽ⁱ⁾ − y⁽ⁱ⁾"))
    assert shown[k:k + 6] == [
        ("dz⁽ⁱ⁾", "a⁽ⁱ⁾ − y⁽ⁱ⁾"), ("dZ", "A − Y"),
        ("dw", "(1/m)·Σ_{i=1..m} x⁽ⁱ⁾·dz⁽ⁱ⁾"), ("dw", "(1/m)·X·dZᵀ"),
        ("db", "(1/m)·Σ_{i=1..m} dz⁽ⁱ⁾"), ("db", "(1/m)·sum(dZ)"),
    ]
    assert all(s.verified in ("symbolic", "numeric") for s in steps[k:k + 6])
    page = derive.derivation("logistic").render("text")
    for machine in ("φ", "Entry by entry", "Rule of matrix calculus", "matrix_form", "back to matrix form"):
        assert machine not in page
    assert "broadcasting" in page


@pytest.mark.parametrize("size", [2, 4])
def test_logistic_loop_lines_equal_sympy_diff_of_the_summed_loss(size):
    """The displayed Σ lines, written out at m = size, against sympy.diff of J = (1/m)·Σ L⁽ⁱ⁾."""
    steps = _steps("logistic")
    dw_sum = next(s.rhs for s in steps if text(s.lhs) == "dw" and "Σ" in text(s.rhs))
    db_sum = next(s.rhs for s in steps if text(s.lhs) == "db" and "Σ" in text(s.rhs))
    x1, x2, y, z = (sp.symbols(f"{n}1:{size + 1}") for n in ("p", "q", "y", "z"))
    w1, w2, b = sp.symbols("w1 w2 b")
    zs = [w1 * x1[i] + w2 * x2[i] + b for i in range(size)]
    J = sum(-(y[i] * sp.log(sigmoid(zs[i])) + (1 - y[i]) * sp.log(1 - sigmoid(zs[i]))) for i in range(size)) / size
    inst = Instance({m: size})
    # x⁽ⁱ⁾ at feature 1 and dz⁽ⁱ⁾ = a⁽ⁱ⁾ − y⁽ⁱ⁾ (the line before them), by example
    def at(rhs, feature):
        e = inst(rhs)
        subs = {}
        for s in e.free_symbols:
            head, _, k = s.name.rpartition("_")
            if head == "x^()":
                subs[s] = feature[int(k) - 1]
            elif head == "dz^()":
                subs[s] = sigmoid(zs[int(k) - 1]) - y[int(k) - 1]
        return e.xreplace(subs)

    rng = np.random.default_rng(size)
    point = {s: sp.Float(v) for s, v in zip((w1, w2, b, *x1, *x2), rng.normal(size=3 + 2 * size))}
    point.update({s: sp.Integer(v) for s, v in zip(y, rng.integers(0, 2, size))})
    for rhs, wrt, feature in ((dw_sum, w1, x1), (dw_sum, w2, x2), (db_sum, b, [1] * size)):
        assert abs(float((sp.diff(J, wrt) - at(rhs, feature)).xreplace(point))) < 1e-12
    # and fails for a wrong feature
    assert abs(float((sp.diff(J, w1) - at(dw_sum, x2)).xreplace(point))) > 1e-6


@pytest.mark.parametrize("model", ["sigmoid-sum", "mlp"])
def test_matrix_interlude_reads_like_the_notes(model):
    steps = _steps(model)
    # the elementwise lines stand between J (or L) in matrix form and the first matrix-form gradient
    end = next(k for k, s in enumerate(steps) if s.rule == "matrix_form")
    start = max(k for k, s in enumerate(steps[:end]) if s.rule == "rewrite")
    local = steps[start + 1:end]
    assert local and all(s.rule in ("power", "differentiate") for s in local)
    for s in local:
        (u, _), = s.lhs.variable_count
        # each line is sympy.diff of the function it names, and no φ stands in for that function
        assert sp.simplify(sp.diff(s.lhs.expr, u) - s.rhs) == 0
        assert "phi" not in str(s.lhs) and "φ" not in text(s.lhs)
        # a note about σ or ReLU stands only on a line that has one
        has_function = bool(s.lhs.expr.atoms(sp.Function))
        assert (s.note is not None) == has_function
    # the elementwise lines are the checker's, shown with verbose
    page = derive.derivation(model).render("text", verbose=True)
    assert "Rule of matrix calculus," not in page and "φ" not in page
    if model == "sigmoid-sum":
        # 2(ŷ − y) kept factored, as the notes write it
        assert "= (2/m)·(b₀ + z − y)" in page and "2·b₀" not in page
