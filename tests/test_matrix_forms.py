"""Textbook forms of matrix-calculus results: the ±1-label logistic Hessian (``--signs``), the
softplus's σ, brackets where · and ⊙ meet; and the quick numeric evaluation behind the checks
of long concrete lines, which may only accept what SymPy's evaluation accepts."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from conftest import run
from derive.errors import DeriveError
from derive.matrix import matrix_derivation
from derive.verify import _quick_value, _value, numerically_equal
from numeric.matrix_fd import check_matrix_gradient
from test_matrix import _arrays, _central, _eval

PM1 = "sum(log(1 + exp(-y * (X @ w))))"
PM1_SHAPES = ["X=m,n", "w=n", "y=m"]


def test_pm1_logistic_hessian_reads_as_the_textbook_prints_it():
    # the general form (y ⊙ y kept) is in test_matrix.COOKBOOK; here y is stated ±1
    d = matrix_derivation(PM1, PM1_SHAPES, ["w"], hessian=True, checker=check_matrix_gradient, signs=["y"])
    results = d.to_json()["results"]
    # the gradient keeps σ(−y ⊙ X·w), as the textbook writes −Σ yᵢ·σ(−yᵢ·xᵢᵀw)·xᵢ
    assert results[0]["display"] == "−Xᵀ·(y ⊙ σ(−y ⊙ (X·w)))"
    assert results[1]["display"] == "Xᵀ·diag(σ(y ⊙ (X·w)) ⊙ (1 − σ(y ⊙ (X·w))))·X"
    assert "every entry of y is ±1: y ⊙ y = 𝟏" in d.render("text", color=False, show_steps=True)
    assert not d.failed and [c[2] < 1e-6 for c in d.checks] == [True]
    # the Hessian's code against the textbook's, written here, at ±1 labels
    arrays = _arrays(PM1_SHAPES, np.random.default_rng(3), labels="pm1")
    X, w, y = arrays["X"], arrays["w"], arrays["y"]

    def general(y):
        s = 1 / (1 + np.exp(-y * (X @ w)))
        return X.T @ np.diagflat(y ** 2 * s * (1 - s)) @ X

    assert np.allclose(_eval(results[1]["numpy"], arrays), general(y), rtol=1e-12)
    # at other labels y ⊙ y ≠ 𝟏, and the stated form no longer holds
    assert not np.allclose(_eval(results[1]["numpy"], {**arrays, "y": 2 * y}), general(2 * y))


def test_signs_refuses_a_variable_or_an_unknown_name():
    with pytest.raises(DeriveError, match="--signs w: w is differentiated"):
        matrix_derivation(PM1, PM1_SHAPES, ["w"], signs=["w"])
    result = run("expr", "x.T @ x", "--signs", "x")
    assert result.code == 2 and "--signs needs --shape" in result.err


def test_softplus_of_a_row_vector_gives_sigma():
    text, shapes = "sum(log(1 + exp(w @ X)))", ["w=1,n", "X=n,m"]
    result = matrix_derivation(text, shapes, ["w"]).to_json()["results"][0]
    assert result["display"] == "σ(w·X)·Xᵀ"
    arrays = _arrays(shapes, np.random.default_rng(5))
    fd = _central(text, "w", arrays)
    assert np.max(np.abs(_eval(result["numpy"], arrays) - fd)) < 1e-6 * max(1, np.max(np.abs(fd)))


def test_matrix_and_hadamard_products_are_bracketed():
    text, shapes = "sum((A @ B) * Z**2)/m", ["A=m,k", "B=k,n", "Z=m,n"]
    d = matrix_derivation(text, shapes, ["Z"])
    # (2/m)·Z ⊙ A·B would leave open which product comes first
    assert str(d.results[0].display) == "(2/m)·(Z ⊙ (A·B))"
    assert r"\frac{2}{m} \cdot \left(Z \odot \left(A \cdot B\right)\right)" in d.render("latex")
    arrays = _arrays(shapes, np.random.default_rng(7))
    fd = _central(text, "Z", arrays)
    assert np.allclose(_eval(d.to_json()["results"][0]["numpy"], arrays), fd, rtol=1e-6, atol=1e-8)


def test_quick_evaluation_agrees_with_sympy_and_only_accepts():
    x, y = sp.symbols("x y", real=True)
    point = {x: sp.Float("0.37", 30), y: sp.Float("-1.2", 30)}
    for expr in (sp.exp(x) / (1 + sp.exp(x + y)) - sp.log(1 + x ** 2) * sp.tanh(y), sp.Rational(1, 3) * x ** -2):
        assert abs(_quick_value(expr, point) - _value(expr, point)) < 1e-25
    # what it does not know (Heaviside) or cannot evaluate (1/0) is left to SymPy
    assert _quick_value(sp.Heaviside(x), point) is None and _quick_value(1 / (x - x + 0 * y), {}) is None
    assert numerically_equal(sp.exp(x) / (1 + sp.exp(x)), 1 / (1 + sp.exp(-x)))
    assert not numerically_equal(sp.exp(x) / (1 + sp.exp(x)), 1 / (1 + sp.exp(-x)) + 1e-7)
    assert numerically_equal(sp.Heaviside(x) * x, sp.Max(0, x))
