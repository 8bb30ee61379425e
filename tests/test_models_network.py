"""Sum of sigmoids, softmax and the one-hidden-layer network against independent oracles:
hand-written NumPy forward passes and finite differences, and the notes' textbook forms."""

from __future__ import annotations

import json
from functools import lru_cache

import numpy as np
import pytest
import sympy as sp

from conftest import load, run
from derive import printing
from derive.printing import EXAMPLE
from derive.functions import sigmoid

pytestmark = pytest.mark.usefixtures("shared_derivations")

CASES = [
    ("sigmoid-sum", ()),
    ("sigmoid-sum", ("--activation", "relu")),
    ("softmax", ()),
    ("mlp", ()),
    ("mlp", ("--activation", "tanh")),
    ("mlp", ("--activation", "relu")),
]
IDS = [" ".join((name, *opts)) for name, opts in CASES]
RNG = np.random.default_rng(20240611)


@lru_cache(maxsize=None)
def cli_output(name: str, opts: tuple, fmt: str) -> str:
    code, out, err = run(name, "--show-steps", "--format", fmt, *opts)
    assert code == 0, err
    return out


def results(name: str, opts: tuple = ()) -> dict:
    data = json.loads(cli_output(name, opts, "json"))
    assert data["model"] == name
    return {r["name"]: r for r in data["results"]}


def number(expr, point: dict) -> float:
    return float(expr.xreplace({s: sp.Float(point[s.name], 30) for s in expr.free_symbols}).evalf(30))


# ---------------------------------------------------------------------------------------------
# every case: a long derivation whose results are all checkable (test_models.py checks them)


@pytest.mark.parametrize("name, opts", CASES, ids=IDS)
def test_every_result_is_checkable(name, opts):
    data = json.loads(cli_output(name, opts, "json"))
    assert sum(s["kind"] == "equation" for s in data["steps"]) >= 15
    assert len(data["results"]) >= 5
    for r in data["results"]:
        assert {"of", "wrt", "value"} <= set(r), r["name"]


def test_a_displayed_delta_is_a_plain_name():
    """δ is a printed name, never sympy's KroneckerDelta: a remark in sigmoid-sum, whose lines say
    which one term holds the parameter as the notes do; shown and collapsed in softmax."""
    text = cli_output("sigmoid-sum", (), "text")
    assert "δ_hk" in text and "KroneckerDelta" not in text
    assert "only the term h = k contains c_k" in text and "only the term j = l contains w_kl" in text
    assert "δ_jk" in cli_output("softmax", (), "text")


# ---------------------------------------------------------------------------------------------
# the notes' textbook forms

r_, c_, x_, y_, yh_ = (sp.IndexedBase(s) for s in ("r", "c", "x", "y", "yhat"))
i_, j_, k_, l_ = sp.symbols("i j k l", integer=True, positive=True)


def display_text(res: dict, name: str) -> str:
    return res[name]["text"].split(" = ", 1)[1]


def test_sigmoid_sum_textbook_forms():
    res = results("sigmoid-sum")
    s = sigmoid(r_[k_])
    assert display_text(res, "dyhat/db0") == "1"
    assert display_text(res, "dyhat/dc_k") == printing.text(s) == "σ(r_k)"
    assert display_text(res, "dyhat/db_k") == printing.text(sp.Mul(c_[k_], s, 1 - s, evaluate=False))
    assert display_text(res, "dyhat/dw_kl") == printing.text(sp.Mul(c_[k_], s, 1 - s, x_[l_], evaluate=False))
    # the matrix forms of the gradient of the mean squared error
    assert display_text(res, "dL/dc") == "(2/m)·A·e"
    assert display_text(res, "dL/dW") == "(2/m)·((c·eᵀ) ⊙ A ⊙ (1 − A))·Xᵀ"
    text = cli_output("sigmoid-sum", (), "text")
    yhat = printing.text(sp.Symbol("yhat"))
    for line in ("r = W·x + b", "a = σ(r)", f"{yhat} = b₀ + cᵀ·a", "H × n_x"):
        assert line in text
    # the outer constant b₀ and the vector b of the pieces: one symbol each, so one ∂L/∂b
    # names a single thing on the page
    assert "∂L/∂b₀ = (2/m)·𝟏ᵀ·e" in text and "∂L/∂b = (2/m)·((c·eᵀ) ⊙ A ⊙ (1 − A))·𝟏" in text
    assert "∂L/∂b = (2/m)·𝟏ᵀ·e" not in text and "J features" not in text


def test_sigmoid_sum_relu_pieces():
    res = results("sigmoid-sum", ("--activation", "relu"))
    step = sp.Heaviside(r_[k_], 0) - sp.Heaviside(r_[k_] - 1, 0)
    assert display_text(res, "dyhat/dw_kl") == printing.text(sp.Mul(c_[k_], step, x_[l_], evaluate=False))
    assert "[r_k > 0] − [r_k > 1]" in display_text(res, "dyhat/db_k")
    text = cli_output("sigmoid-sum", ("--activation", "relu"), "text")
    assert "c·Hard sigmoid(w·x₁ + b) = c·(ReLU(w·x₁ + b) − ReLU(w·x₁ + b − 1))" in text
    assert "ReLU′(0) = 0" in text


def test_softmax_textbook_forms():
    res = results("softmax")
    yk, yj = printing.text(yh_[k_]), printing.text(yh_[j_])
    assert display_text(res, "dL/dz_k") == printing.text(yh_[k_] - y_[k_]) == f"{yk} − y_k"
    assert display_text(res, "dyhat_k/dz_k") == f"{yk}·(1 − {yk})"
    assert display_text(res, "dyhat_j/dz_k") == f"−{yj}·{yk}"
    assert display_text(res, "dL/dW") == f"({printing.text(sp.Symbol('yhat'))} − y)·xᵀ"
    assert f"{yj}·(δ_jk − {yk})" in cli_output("softmax", (), "text")


@pytest.mark.parametrize("act, g_prime, g_prime_tex", [
    ("sigmoid", "a[1]_j·(1 − a[1]_j)", r"a^{[1]}_{j} \left(1 - a^{[1]}_{j}\right)"),
    ("tanh", "(1 − a[1]_j²)", r"\left(1 - \left(a^{[1]}_{j}\right)^{2}\right)"),
    ("relu", "[z[1]_j > 0]", r"\left[z^{[1]}_{j} > 0\right]"),
])
def test_mlp_textbook_forms(act, g_prime, g_prime_tex):
    """The notes' layer superscripts (z[1] in the text, z^{[1]} in LaTeX) and Ng's forms, written
    out here as a student reads them in the notes."""
    opts = () if act == "sigmoid" else ("--activation", act)
    res = results("mlp", opts)
    assert display_text(res, "dz[2]_k") == "a[2]_k − y_k"
    assert display_text(res, "dW[2]_kj") == "dz[2]_k·a[1]_j"
    assert display_text(res, "dW[1]_ji") == "dz[1]_j·x_i"
    assert display_text(res, "dz[1]_j") == f"da[1]_j·{g_prime}"
    assert display_text(res, "dW[2]") == "(1/m)·dZ[2]·A[1]ᵀ"
    assert display_text(res, "dW[1]") == "(1/m)·dZ[1]·Xᵀ"
    assert display_text(res, "db[1]") == "(1/m)·Σ_{i=1..m} dz[1]⁽ⁱ⁾"        # examples as ⁽ⁱ⁾, counted by m
    text = cli_output("mlp", opts, "text")
    assert "dZ[2] = A[2] − Y" in text and "dZ[1] = (W[2]ᵀ·dZ[2]) ⊙ " in text
    # the trainer's row layout is the README's business, not the notes' (the review's mlp row)
    assert "W[1] is n_h × n_x" in text and "examples as rows" not in text
    assert "z[1]_j = Σ_{i=1..n_x} W[1]_ji·x_i + b[1]_j" in text
    assert not any(old in text for old in ("z₁", "W₂", "dZ₂", "L⁽ⁿ⁾", "_n)"))
    tex = cli_output("mlp", opts, "latex")
    assert rf"\frac{{\partial L}}{{\partial z^{{[1]}}_{{j}}}} &= da^{{[1]}}_{{j}} {g_prime_tex}" in tex
    assert r"dZ^{[1]} &= \left(W^{[2]T} dZ^{[2]}\right) \odot" in tex
    assert r"dW^{[2]} &= \frac{1}{m} dZ^{[2]} A^{[1]T}" in tex and r"\sum_{i=1}^{m} dz^{[2](i)}" in tex
    assert "{z_{1}}" not in tex and "{W_{2}}" not in tex


# ---------------------------------------------------------------------------------------------
# index and matrix forms against hand-written NumPy


def _sig(z):
    return 1 / (1 + np.exp(-z))


def _fd(f, theta: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Central finite differences of the scalar f at theta."""
    grad = np.zeros_like(theta)
    for idx in np.ndindex(theta.shape):
        step = np.zeros_like(theta)
        step[idx] = h
        grad[idx] = (f(theta + step) - f(theta - step)) / (2 * h)
    return grad


@pytest.mark.parametrize("act", ["sigmoid", "relu"])
def test_sigmoid_sum_index_and_matrix_forms_agree_with_numpy(act):
    opts = () if act == "sigmoid" else ("--activation", act)
    res = results("sigmoid-sum", opts)
    H, J, m = 2, 2, 2
    piece = _sig if act == "sigmoid" else (lambda z: np.maximum(z, 0) - np.maximum(z - 1, 0))
    W, bv, c = RNG.normal(size=(H, J)), RNG.normal(size=(H, 1)), RNG.normal(size=(H, 1))
    b, X, y = float(RNG.normal()), RNG.normal(size=(J, m)), RNG.normal(size=(m, 1))

    def loss(W_):
        yhat = b + _piece_sum(W_)
        return float(np.mean((yhat - y) ** 2))

    def _piece_sum(W_):
        return piece(W_ @ X + bv).T @ c            # m × 1

    numeric = _fd(loss, W)
    # the notes' matrix form, written by hand
    A = piece(W @ X + bv)
    e = b + A.T @ c - y
    slope = A * (1 - A) if act == "sigmoid" else ((W @ X + bv > 0).astype(float) - (W @ X + bv > 1))
    by_matrix = (2 / m) * ((c @ e.T) * slope) @ X.T
    assert np.allclose(by_matrix, numeric, atol=1e-6)
    point = {f"w_{p + 1}_{q + 1}": W[p, q] for p in range(H) for q in range(J)}
    point.update({f"b_{p + 1}": bv[p, 0] for p in range(H)})
    point.update({f"c_{p + 1}": c[p, 0] for p in range(H)})
    point.update({f"X_{p + 1}_{q + 1}": X[p, q] for p in range(J) for q in range(m)})
    point.update({f"y{EXAMPLE}_{q + 1}": y[q, 0] for q in range(m)}, b_0=b)
    for name in ("dL/dw_kl", "dL/dW"):          # index form, matrix form: both at k = 2, l = 1
        assert load(res[name]["wrt"]) == sp.Symbol("w_2_1")
        assert number(load(res[name]["value"]), point) == pytest.approx(numeric[1, 0], abs=1e-6)
        assert number(load(res[name]["of"]), point) == pytest.approx(loss(W), abs=1e-12)
    assert number(load(res["dL/dc"]["value"]), point) == pytest.approx(((2 / m) * A @ e)[1, 0], abs=1e-9)


def test_softmax_gradient_against_numpy():
    res = results("softmax")
    z, y12 = RNG.normal(size=3), RNG.uniform(0, 0.5, size=2)
    y = np.array([*y12, 1 - y12.sum()])                     # Σ y = 1, as the checkable form assumes

    def ce(z_):
        p = np.exp(z_) / np.exp(z_).sum()
        return float(-(y * np.log(p)).sum())

    numeric = _fd(ce, z)
    point = {"z_1": z[0], "z_2": z[1], "z_3": z[2], "y_1": y[0], "y_2": y[1]}
    r = res["dL/dz_k"]
    assert number(load(r["of"]), point) == pytest.approx(ce(z), abs=1e-12)
    assert number(load(r["value"]), point) == pytest.approx(numeric[1], abs=1e-6)
    p = np.exp(z) / np.exp(z).sum()
    assert numeric == pytest.approx(p - y, abs=1e-6)        # ŷ − y, the notes' result


@pytest.mark.parametrize("act", ["sigmoid", "tanh", "relu"])
def test_mlp_backward_pass_against_numpy(act):
    """The notes' column-wise backward pass, written in NumPy, equals finite differences of the
    mean cross-entropy, and the JSON results (one example, and m examples) equal both."""
    opts = () if act == "sigmoid" else ("--activation", act)
    res = results("mlp", opts)
    g = {"sigmoid": _sig, "tanh": np.tanh, "relu": lambda z: np.maximum(z, 0)}[act]
    nx, nh, ny, m = 2, 2, 2, 2
    W1, b1 = RNG.normal(size=(nh, nx)), RNG.normal(size=(nh, 1))
    W2, b2 = RNG.normal(size=(ny, nh)), RNG.normal(size=(ny, 1))
    X, Y = RNG.normal(size=(nx, m)), np.eye(ny, m)          # example n in class n

    def forward(W1_):
        Z1 = W1_ @ X + b1
        A1 = g(Z1)
        Z2 = W2 @ A1 + b2
        A2 = np.exp(Z2) / np.exp(Z2).sum(axis=0, keepdims=True)
        return Z1, A1, A2

    def cost(W1_):
        return float(-(Y * np.log(forward(W1_)[2])).sum() / m)

    Z1, A1, A2 = forward(W1)
    dZ2 = A2 - Y
    g_prime = {"sigmoid": A1 * (1 - A1), "tanh": 1 - A1**2, "relu": (Z1 > 0).astype(float)}[act]
    dZ1 = (W2.T @ dZ2) * g_prime
    dW1 = dZ1 @ X.T / m
    numeric = _fd(cost, W1)
    assert np.allclose(dW1, numeric, atol=1e-6)
    # the checkable forms name entry (p, q) of W[1] W^[1]_p_q, as the instance does
    point = {f"{s}_{p + 1}_{q + 1}": M[p, q] for s, M in (("W^[1]", W1), ("W^[2]", W2), ("X", X))
             for p in range(M.shape[0]) for q in range(M.shape[1])}
    point.update({f"b^[1]_{p + 1}": b1[p, 0] for p in range(nh)})
    point.update({f"b^[2]_{p + 1}": b2[p, 0] for p in range(ny)})
    r = res["dW[1]"]
    assert load(r["wrt"]) == sp.Symbol("W^[1]_2_1")
    assert number(load(r["of"]), point) == pytest.approx(cost(W1), abs=1e-12)
    assert number(load(r["value"]), point) == pytest.approx(dW1[1, 0], abs=1e-9)
    assert number(sp.diff(load(r["of"]), load(r["wrt"])), point) == pytest.approx(numeric[1, 0], abs=1e-6)
    assert number(load(res["db[1]"]["value"]), point) == pytest.approx(dZ1.mean(axis=1)[1], abs=1e-9)
    # one example (column 1 of X): dW[1]_ji = dz[1]_j x_i at i = 1, j = 2
    x, y = X[:, :1], RNG.uniform(0, 1, size=(ny, 1))
    z1 = W1 @ x + b1
    a1 = g(z1)
    z2 = W2 @ a1 + b2
    a2 = np.exp(z2) / np.exp(z2).sum()
    dz1 = (W2.T @ (a2 - y)) * {"sigmoid": a1 * (1 - a1), "tanh": 1 - a1**2, "relu": (z1 > 0) * 1.0}[act]
    one = {f"{s}_{p + 1}_{q + 1}": M[p, q] for s, M in (("W^[1]", W1), ("W^[2]", W2))
           for p in range(M.shape[0]) for q in range(M.shape[1])}
    one.update({f"b^[1]_{p + 1}": b1[p, 0] for p in range(nh)})
    one.update({f"b^[2]_{p + 1}": b2[p, 0] for p in range(ny)})
    one.update({"x_1": x[0, 0], "x_2": x[1, 0], "y_1": y[0, 0], "y_2": y[1, 0]})
    assert load(res["dW[1]_ji"]["wrt"]) == sp.Symbol("W^[1]_2_1")
    assert number(load(res["dW[1]_ji"]["value"]), one) == pytest.approx(dz1[1, 0] * x[0, 0], abs=1e-9)
