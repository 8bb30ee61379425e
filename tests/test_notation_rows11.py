"""The notation rows left from the last review (issue 11): a derivative's bracket beside a layer's,
logistic's column line z⁽ⁱ⁾ = wᵀ·x⁽ⁱ⁾ + b, least-squares without φ, bold ones columns, and Σ
of a product without brackets. Each is read from the output in every format it concerns and,
where it is mathematics, compared with SymPy."""

from __future__ import annotations

import re

import pytest
import sympy as sp

from conftest import run
import derive
from derive import printing
from derive.functions import sigmoid

pytestmark = pytest.mark.usefixtures("shared_derivations")

LANGS = ("en", "zh")


@pytest.fixture(scope="module")
def shown():
    """(name, format, lang, *more) → `derive NAME --show-steps --format FORMAT --lang LANG *more`."""
    cache = {}

    def get(name, fmt="text", lang="en", *more):
        if (name, fmt, lang, *more) not in cache:
            cache[(name, fmt, lang, *more)] = run(name, "--show-steps", "--format", fmt, "--lang", lang, *more).out
        return cache[(name, fmt, lang, *more)]

    return get


# -- a derivative beside a layer --------------------------------------------------------------


def test_a_layer_bracket_never_meets_a_derivative_bracket():
    Z1, z = sp.Symbol("Z^[1]"), sp.Symbol("z")
    assert printing.text(sp.Derivative(sigmoid(Z1), Z1)) == "∂/∂Z[1] (σ(Z[1]))"
    # a layer inside the argument only: still round brackets; no layer at all: the usual square ones
    assert printing.text(sp.Derivative(sigmoid(sp.Symbol("b^[1]") + z), z)) == "∂/∂z (σ(b[1] + z))"
    assert printing.text(sp.Derivative(sigmoid(z), z)) == "∂/∂z[σ(z)]"


@pytest.mark.parametrize("name", ["mlp", "deep"])
def test_mlp_and_deep_text_has_no_doubled_brackets(shown, name):
    # (the formulas are the same in Chinese: the printer writes them)
    text = shown(name, "text")
    # ∂/∂ then a name with a layer, [1] or [l−1], then a second square bracket at once
    assert not re.search(r"∂/∂[^\s\[]*\[[^\]\s]*\][^\s\[(]*\[", text)
    assert "∂/∂" in text


def test_mlp_entrywise_line_reads_with_round_brackets(shown):
    # the entry-by-entry lines are the checker's, shown with --verbose
    line = next(x for x in shown("mlp", "text", "en", "--verbose").splitlines() if x.strip().startswith("∂/∂Z[1]"))
    assert line.split()[:4] == ["∂/∂Z[1]", "(σ(Z[1]))", "=", "σ(Z[1])·(1"]
    Z = sp.Symbol("Z")
    assert sp.simplify(sp.diff(sigmoid(Z), Z).rewrite(sp.exp) - (sigmoid(Z) * (1 - sigmoid(Z))).rewrite(sp.exp)) == 0


# -- logistic: column i of Z = wᵀX + b ---------------------------------------------------------


def test_logistic_column_line_is_verified_against_the_one_example_z():
    d = derive.derivation("logistic")
    (step,) = [s for s in d.steps if s.kind == "equation" and printing.text(s.lhs) == "z⁽ⁱ⁾"]
    assert printing.text(step.rhs) == "wᵀ·x⁽ⁱ⁾ + b" and step.check is not None
    left, right = step.check
    # the oracle: column i of wᵀX + b written out by hand, and it differs once b is dropped
    w1, w2, b = sp.symbols("w1 w2 b")
    cols = [(sp.Symbol(f"x1_{i}"), sp.Symbol(f"x2_{i}")) for i in range(1, left.cols + 1)]
    by_hand = sp.Matrix([[w1 * x1 + w2 * x2 + b for x1, x2 in cols]])
    assert sp.expand(left - by_hand) == sp.zeros(1, left.cols)
    assert sp.expand(right - by_hand) == sp.zeros(1, left.cols)
    assert sp.expand(right - by_hand.subs(b, 0)) != sp.zeros(1, left.cols)


@pytest.mark.parametrize("fmt, form", [("text", "z⁽ⁱ⁾ = wᵀ·x⁽ⁱ⁾ + b"), ("latex", "z^{(i)} &= w^{T} x^{(i)} + b"),
                                       ("markdown", "z^{(i)} &= w^{T} x^{(i)} + b")])
def test_logistic_column_line_in_every_format(shown, fmt, form):
    assert form in shown("logistic", fmt)
    if fmt == "text":
        assert form in shown("logistic", fmt, "zh")


# -- least squares: X, θ, y and no φ ----------------------------------------------------------


@pytest.mark.parametrize("fmt", ["text", "latex", "markdown", "json"])
def test_least_squares_shows_no_phi(shown, fmt):
    for lang in LANGS if fmt == "text" else ("en",):
        out = shown("least-squares", fmt, lang)
        assert "φ" not in out and r"\phi" not in out and '"phi' not in out
        assert "θ" in out or r"\theta" in out


def test_least_squares_entrywise_derivative_still_worked_out(shown):
    text = shown("least-squares", "text", "en", "--verbose")
    assert "∂/∂z[(y − z)²] = 2·(y − z)·∂/∂z[y − z]" in text
    y, z = sp.symbols("y z")
    final = re.search(r"= (−2·\(y − z\))\s", text).group(1)
    assert sp.sympify(final.replace("−", "-").replace("·", "*")) == sp.diff((y - z) ** 2, z)


# -- a column of ones ---------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_a_ones_column_is_bold(shown, lang):
    text = shown("broadcasting", "text", lang)
    assert "𝟏·b = [[1 2 3]" in text and "b·𝟏ᵀ" in text and "dZ·𝟏" in text
    assert not re.search(r"(?<![𝟏\d])1·b|b·1ᵀ|dZ·1\b", text)


def test_every_ones_column_is_bold(shown):
    assert r"\mathbf{1} b &=" in shown("broadcasting", "latex")
    assert "b·𝟏ᵀ" in shown("sigmoid-sum") and "(2/m)·𝟏ᵀ·e" in shown("sigmoid-sum")
    # 𝟏·𝟏ᵀ stays two factors (SymPy would merge them into one matrix of ones)
    assert "(P ⊙ dP)·𝟏·𝟏ᵀ" in shown("attention") and r"\mathbf{1} \mathbf{1}^{T}" in shown("attention", "latex")


# -- Σ of a product -----------------------------------------------------------------------------


def test_sum_of_a_product_has_no_brackets_a_sum_keeps_them():
    i, m = sp.symbols("i m", integer=True, positive=True)
    x, y = sp.IndexedBase("x"), sp.IndexedBase("y")
    assert printing.text(sp.Sum(x[i] * y[i], (i, 1, m))) == "Σ_{i=1..m} x_i·y_i"
    assert printing.text(sp.Sum(x[i] + y[i], (i, 1, m))) == "Σ_{i=1..m} (x_i + y_i)"
    assert printing.text(sp.Sum(-x[i] * y[i], (i, 1, m))) == "Σ_{i=1..m} (−x_i·y_i)"


def test_sums_of_products_read_as_the_notes(shown):
    assert "dw = (1/m)·Σ_{i=1..m} x⁽ⁱ⁾·dz⁽ⁱ⁾" in shown("logistic")
    # Σ binds the product, not the bias after it, as the notes write z = Σ w·x + b
    assert "z[1]_j = Σ_{i=1..n_x} W[1]_ji·x_i + b[1]_j" in shown("mlp")


# -- what a teacher's reading found -----------------------------------------------------------


def test_hard_sigmoid_rewrite_note_in_the_notes_order():
    d = derive.model("sigmoid-sum", activation="relu").derivation()
    for fmt, form in (("text", "Hard sigmoid(z) = ReLU(z) − ReLU(z − 1)"),
                      ("latex", r"\operatorname{Hard\ sigmoid}(z) = \operatorname{ReLU}(z) - \operatorname{ReLU}(z - 1)")):
        assert form in d.render(fmt, show_steps=True, width=300), fmt
    # the identity itself, at points on each side of the kinks
    for at in (-1.5, 0.25, 0.75, 2.0):
        assert min(max(at, 0.0), 1.0) == max(at, 0.0) - max(at - 1.0, 0.0)


def test_softmax_definition_keeps_j_free(shown):
    text = shown("softmax")
    assert "ŷ_k = e^(z_k)/(Σ_{l=1..K} e^(z_l))" in text and "Σ_{j=1..K} e^(z_j)" not in text
