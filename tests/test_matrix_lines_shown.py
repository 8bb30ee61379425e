"""The matrix-form lines of softmax, mlp, sigmoid-sum, least-squares and deep as the student
reads them: the notes' named lines (dZ[2] = A[2] − Y, dW[2] = (1/m)·dZ[2]·A[1]ᵀ, …), with the
engine's fully written-out forms and its entry-by-entry scaffolding kept for ``--verbose`` and
the JSON; and the named dW/db lines against hand-written NumPy on random data, checked by finite
differences of the cost written by hand."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import sympy as sp

import derive
from derive.printing import text

pytestmark = pytest.mark.usefixtures("shared_derivations")

MODELS = ("softmax", "mlp", "sigmoid-sum", "least-squares", "deep")


@pytest.mark.parametrize("model", MODELS)
def test_the_students_text_has_the_notes_lines_only(model):
    d = derive.derivation(model)
    for lang in ("en", "zh"):
        page = d.render("text", lang=lang, color=False)
        for code in ("axis=", "logsumexp", "keepdims", "Entry by entry", "逐元素地"):
            assert code not in page, (lang, code)
    # a line in LaTeX is shrunk, if at all, to a size a student still reads
    scales = [float(s) for s in re.findall(r"\\scalebox\{([0-9.]+)\}", d.render("latex"))]
    assert all(s >= 0.7 for s in scales), scales
    # the expanded forms are still there, verified, for --verbose and the JSON
    checks = [s for s in d.lines if s.audience == "check"]
    assert checks and all(s.verified in ("symbolic", "numeric") for s in checks)


def test_verbose_and_the_json_show_the_engines_expanded_forms():
    d = derive.derivation("mlp")
    checks = [s for s in d.lines if s.audience == "check"]
    page = d.render("text", color=False, verbose=True)
    assert "logsumexp" in page and "axis=0" in page and "Entry by entry" in page
    assert all(text(s.lhs) in page for s in checks)
    steps = json.loads(d.render("json"))["steps"]
    assert len([s for s in steps if s.get("audience") == "check" and s["kind"] == "equation"]) == len(checks)


def test_the_matrix_rule_names_in_chinese():
    zh = derive.derivation("least-squares").render("text", lang="zh", color=False, verbose=True)
    assert "逐元素地" in zh and "矩阵形式：形状 2 × 1" in zh and "Hessian 矩阵" in zh
    # the rule labels in Chinese (the verbose page also names results by their program keys)
    shown = derive.derivation("least-squares").render("text", lang="zh", color=False)
    assert "矩阵形式：形状 2 × 2" in shown and "matrix form" not in shown and "hessian" not in shown


@pytest.mark.parametrize("model", ("softmax", "mlp"))
def test_dz_is_m_times_the_gradient_of_the_mean_where_it_is_used(model):
    page = derive.derivation(model).render("text", color=False)
    assert page.count("dZ = m·∂J/∂Z") + page.count("dZ[l] = m·∂J/∂Z[l]") == 1
    # ∂J/∂Z itself is not a line of the student's text
    assert not re.search(r"^\s*∂J/∂Z", page, re.M)


def _lines(model) -> dict:
    """The student's equation lines of ``model``, by their left side as printed."""
    return {text(s.lhs): s for s in derive.derivation(model).lines if s.audience == "student"}


def _at(expr, values: dict) -> np.ndarray:
    """The matrix expression ``expr`` with its symbols (by name) replaced by ``values``."""
    swap = {a: (sp.ImmutableMatrix(values[str(a)]) if isinstance(a, sp.MatrixSymbol) else values[str(a)])
            for a in sp.preorder_traversal(expr) if isinstance(a, (sp.MatrixSymbol, sp.Symbol)) and str(a) in values}
    return np.array(expr.xreplace(swap).doit(), dtype=float)


def _fd(cost, arr: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Central differences of ``cost()`` in each entry of ``arr`` (changed in place, restored)."""
    out = np.zeros_like(arr)
    for idx in np.ndindex(arr.shape):
        keep = arr[idx]
        arr[idx] = keep + h
        up = cost()
        arr[idx] = keep - h
        out[idx] = (up - cost()) / (2 * h)
        arr[idx] = keep
    return out


def _softmax(Z):
    E = np.exp(Z - Z.max(axis=0))
    return E / E.sum(axis=0)


def _one_hot(rng, k, m):
    return np.eye(k)[:, rng.integers(0, k, m)]


def test_mlp_lines_are_ngs_and_hold_on_random_data():
    rng = np.random.default_rng(0)
    nx, nh, ny, m = 3, 4, 3, 5
    X, Y = rng.normal(size=(nx, m)), _one_hot(rng, ny, m)
    W1, b1, W2, b2 = rng.normal(size=(nh, nx)), rng.normal(size=(nh, 1)), rng.normal(size=(ny, nh)), rng.normal(size=(ny, 1))

    def forward():
        A1 = 1 / (1 + np.exp(-(W1 @ X + b1)))
        return A1, _softmax(W2 @ A1 + b2)

    def J():
        return -np.sum(Y * np.log(forward()[1])) / m

    A1, A2 = forward()
    lines = _lines("mlp")
    values = {"X": X, "Y": Y, "A^[1]": A1, "A^[2]": A2, "W^[2]": W2, "m": m}
    dZ2 = _at(lines["dZ[2]"].rhs, values)
    values["dZ^[2]"] = dZ2
    dZ1 = _at(lines["dZ[1]"].rhs, values)
    values["dZ^[1]"] = dZ1
    assert np.allclose(_at(lines["dW[2]"].rhs, values), _fd(J, W2), atol=1e-6)
    assert np.allclose(_at(lines["dW[1]"].rhs, values), _fd(J, W1), atol=1e-6)
    # db = (1/m)·Σ_i dz⁽ⁱ⁾: the sum over the columns of dZ
    for layer, dZ, b in (("2", dZ2, b2), ("1", dZ1, b1)):
        assert text(lines[f"db[{layer}]"].rhs) == f"(1/m)·Σ_{{i=1..m}} dz[{layer}]⁽ⁱ⁾"
        assert np.allclose(dZ.sum(axis=1, keepdims=True) / m, _fd(J, b), atol=1e-6)


def test_softmax_lines_hold_on_random_data():
    rng = np.random.default_rng(1)
    n, K, m = 3, 4, 6
    X, Y = rng.normal(size=(n, m)), _one_hot(rng, K, m)
    W, b = rng.normal(size=(K, n)), rng.normal(size=(K, 1))

    def J():
        return -np.sum(Y * np.log(_softmax(W @ X + b))) / m

    lines = _lines("softmax")
    values = {"X": X, "Y": Y, "Yhat": _softmax(W @ X + b), "m": m}
    dZ = values["dZ"] = _at(lines["dZ"].rhs, values)
    assert np.allclose(_at(lines["dW"].rhs, values), _fd(J, W), atol=1e-6)
    assert text(lines["db"].rhs) == "(1/m)·Σ_{i=1..m} dz⁽ⁱ⁾"
    assert np.allclose(dZ.sum(axis=1, keepdims=True) / m, _fd(J, b), atol=1e-6)


def test_sigmoid_sum_lines_hold_on_random_data():
    rng = np.random.default_rng(2)
    nx, H, m = 2, 3, 5
    X, y = rng.normal(size=(nx, m)), rng.normal(size=(m, 1))
    W, b, c, b0 = rng.normal(size=(H, nx)), rng.normal(size=(H, 1)), rng.normal(size=(H, 1)), np.array([[0.3]])

    def parts():
        A = 1 / (1 + np.exp(-(W @ X + b)))
        return A, b0 + A.T @ c - y

    def L():
        return float(np.sum(parts()[1] ** 2) / m)

    A, e = parts()
    lines = _lines("sigmoid-sum")
    values = {"A": A, "e": e, "c": c, "X": X, "m": m, "𝟏": np.ones((m, 1))}
    for lhs, param in (("∂L/∂W", W), ("∂L/∂b", b), ("∂L/∂c", c), ("∂L/∂b₀", b0)):
        assert np.allclose(_at(lines[lhs].rhs, values), _fd(L, param), atol=1e-6), lhs


def test_least_squares_gradient_holds_on_random_data():
    rng = np.random.default_rng(3)
    X, y, theta = rng.normal(size=(6, 2)), rng.normal(size=(6, 1)), rng.normal(size=(2, 1))
    step = _lines("least-squares")["∂L/∂θ"]
    assert text(step.rhs) == "−2·Xᵀ·(y − X·θ)"
    assert np.allclose(-2 * X.T @ (y - X @ theta), _fd(lambda: float(np.sum((y - X @ theta) ** 2)), theta), atol=1e-6)


def test_deep_layer_lines_hold_on_random_data():
    # a 3-4-3 network, ReLU then softmax; the general layer's lines at its output layer l = 2
    rng = np.random.default_rng(4)
    m = 5
    X, Y = rng.normal(size=(3, m)), _one_hot(rng, 3, m)
    W1, b1, W2, b2 = rng.normal(size=(4, 3)), rng.normal(size=(4, 1)), rng.normal(size=(3, 4)), rng.normal(size=(3, 1))

    def forward():
        A1 = np.maximum(W1 @ X + b1, 0)
        return A1, _softmax(W2 @ A1 + b2)

    def J():
        return -np.sum(Y * np.log(forward()[1])) / m

    A1, A2 = forward()
    dZ2 = A2 - Y
    lines = _lines("deep")
    values = {"dZ^[l]": dZ2, "A^[l-1]": A1, "W^[l]": W2, "m": m}
    assert np.allclose(_at(lines["dW[l]"].rhs, values), _fd(J, W2), atol=1e-6)
    assert text(lines["db[l]"].rhs) == "(1/m)·Σ_{i=1..m} dz[l]⁽ⁱ⁾"
    assert np.allclose(dZ2.sum(axis=1, keepdims=True) / m, _fd(J, b2), atol=1e-6)
    # dA[l−1] = W[l]ᵀ·dZ[l], and layer l − 1's dZ = dA ⊙ D with D = [Z > 0] gives its dW
    dA1 = _at(lines["dA[l−1]"].rhs, values)
    dZ1 = _at(lines["dZ[l]"].rhs, {"dA^[l]": dA1, "D^[l]": (W1 @ X + b1 > 0).astype(float)})
    assert np.allclose(_at(lines["dW[l]"].rhs, {"dZ^[l]": dZ1, "A^[l-1]": X, "m": m}), _fd(J, W1), atol=1e-6)
