"""review12, the rows of the third group's models helper: σ′ said to be derived in Activation
functions where it is used before, a factor kept where it stood (linear, least-squares), the
elementwise square written as the notes write it, one notation for ReLU′, logistic's db as the
notes sum it, the matrix rules' letters, the words and lines of the default page, and a result
named by its left side. Mathematics against independent oracles (sympy.diff, finite
differences, NumPy), notation as properties of the rendered pages."""

import functools

import numpy as np
import pytest
import sympy as sp

import derive
from derive.functions import sigmoid
from derive.models._notation import Squared
from derive.printing import text

pytestmark = pytest.mark.usefixtures("shared_derivations")

SIGMOID_USERS = ("logistic", "mlp", "sigmoid-sum", "gradient-descent")


@functools.lru_cache(maxsize=None)
def _page(name: str, lang: str, verbose: bool, options: tuple) -> str:
    return derive.derivation(name, **dict(options)).render("text", lang=lang, width=200, verbose=verbose)


def page(name: str, lang: str = "en", verbose: bool = False, **options) -> str:
    """A model's --show-steps text, rendered once per module (rendering is the slow part)."""
    return _page(name, lang, verbose, tuple(sorted(options.items())))


@pytest.mark.parametrize("name", SIGMOID_USERS)
def test_sigmoid_derivative_says_where_it_is_derived(name):
    d = derive.derivation(name)
    lines = [s for s in d.steps if s.kind == "equation" and s.rule.startswith("sigmoid")]
    assert lines and all(s.rule == "sigmoid_derived" for s in lines)
    # what the line names is σ′ itself: its right side is sympy.diff of σ in σ's one argument
    v = sp.Symbol("v")
    for s in lines:
        (arg,) = {f.args[0] for f in s.rhs.atoms(sigmoid)}
        rhs = s.rhs.xreplace({arg: v})
        for at in (-1.3, 0.2, 2.1):
            assert float(rhs.subs(v, at)) == pytest.approx(float(sp.diff(sigmoid(v), v).subs(v, at)))
    assert "sigmoid derivative, derived in Activation functions" in page(name)
    assert "在“激活函数”一节推导" in page(name, "zh")


def test_activations_derives_sigmoid_and_does_not_point_to_itself():
    assert "derived in Activation functions" not in page("activations")


def test_linear_and_least_squares_keep_x_after_the_difference():
    linear, squares = page("linear"), page("least-squares")
    assert "(ŷ⁽ⁱ⁾ − y⁽ⁱ⁾)·x⁽ⁱ⁾" in linear and "x⁽ⁱ⁾·(ŷ⁽ⁱ⁾" not in linear
    assert "(y⁽ⁱ⁾ − (w·x⁽ⁱ⁾ + b))·x⁽ⁱ⁾" in squares and "x⁽ⁱ⁾·(y⁽ⁱ⁾ − (w" not in squares
    # results say the same as the lines, with or without them
    results = derive.derivation("least-squares").render("text", show_steps=False, width=200)
    assert "(y⁽ⁱ⁾ − (w·x⁽ⁱ⁾ + b))·x⁽ⁱ⁾" in results


def test_least_squares_gradient_against_finite_differences():
    """∂L/∂w as the result writes it, at m = 4 on random data, against central differences of L."""
    d = derive.derivation("least-squares")
    (result,) = [r for r in d.results if r.name == "dL/dw"]
    rng = np.random.default_rng(3)
    xs, ys, w0, b0 = rng.normal(size=4), rng.normal(size=4), 0.7, -0.2
    m, w, b = sp.Symbol("m", integer=True, positive=True), sp.Symbol("w"), sp.Symbol("b")
    expr = result.display.subs(m, 4).doit()
    values = {}
    for ind in expr.atoms(sp.Indexed):
        source = xs if str(ind.base).startswith("x") else ys
        values[ind] = source[int(ind.indices[0]) - 1]
    shown = float(expr.xreplace(values).subs({w: w0, b: b0}))

    def loss(wv):
        return float(np.sum((ys - (wv * xs + b0)) ** 2))

    h = 1e-6
    assert shown == pytest.approx((loss(w0 + h) - loss(w0 - h)) / (2 * h), rel=1e-6)


def test_no_hadamard_power_on_any_default_page():
    # the pages that wrote it (rnn, mlp with tanh) and those whose checks still do (with --verbose)
    for name in ("rnn", "least-squares", "sigmoid-sum"):
        assert "^⊙" not in page(name)
    assert "^⊙" not in page("mlp", activation="tanh")
    assert "(1 − a⟨t⟩²)" in page("rnn") and "(1 − A[1]²)" in page("mlp", activation="tanh")
    latex = derive.derivation("rnn").render("latex")
    assert r"\odot 2" not in latex and r"\circ 2" not in latex


def test_squared_is_the_elementwise_square():
    values, A = sp.Matrix([[1, -2], [3, 0.5]]), sp.MatrixSymbol("A", 2, 2)
    assert Squared(A).as_explicit().subs(A, values) == sp.Matrix([[1, 4], [9, 0.25]])
    assert text(Squared(A)) == "A²"


@pytest.mark.parametrize("name,options", [("deep", {}), ("mlp", {"activation": "relu"})])
def test_one_relu_derivative_notation(name, options):
    text = page(name, **options)
    assert text.count("is 1 where z > 0 and 0 elsewhere: ReLU′ as in Activation functions") == 1
    assert "by convention (the kink)" not in text
    assert "其余处为 0：即“激活函数”一节的 ReLU′" in page(name, "zh", **options)


def test_logistic_db_is_the_notes_sum_and_matches_finite_differences():
    d = derive.derivation("logistic")
    (result,) = [r for r in d.results if r.name == "dJ/db"]
    shown = result.display
    assert isinstance(shown.atoms(sp.Sum).pop(), sp.Sum) and not shown.atoms(sp.Function("sum"))
    rng = np.random.default_rng(7)
    X, y, w, b0 = rng.normal(size=(2, 5)), rng.integers(0, 2, size=5), rng.normal(size=2), 0.4

    def cost(bv):
        a = 1 / (1 + np.exp(-(w @ X + bv)))
        return float(np.mean(-(y * np.log(a) + (1 - y) * np.log(1 - a))))

    dz = 1 / (1 + np.exp(-(w @ X + b0))) - y
    m = sp.Symbol("m", integer=True, positive=True)
    summed = shown.subs(m, 5).doit()
    value = float(summed.xreplace({ind: dz[int(ind.indices[0]) - 1] for ind in summed.atoms(sp.Indexed)}))
    h = 1e-6
    assert value == pytest.approx((cost(b0 + h) - cost(b0 - h)) / (2 * h), rel=1e-6)


def test_matrix_rules_do_not_reuse_the_loss_letter():
    for name in ("softmax", "least-squares"):
        text = page(name, verbose=True)
        assert "for P = A·B" in text and "C = A·B" not in text


def test_default_pages_say_what_they_show():
    squares = page("least-squares")
    assert "entry by entry" not in squares
    assert "the rules below applied to L in matrix form" in squares
    deep, deep_verbose = page("deep"), page("deep", verbose=True)
    assert "dW[l] = (1/m)·dZ[l]·A[l−1]ᵀ" in deep and "∂J/∂W[l] =" not in deep and "∂J/∂b[l] =" not in deep
    assert "∂J/∂W[l] =" in deep_verbose


def test_sigmoid_sum_results_are_named():
    d = derive.derivation("sigmoid-sum")
    # every result's left side is a name (a derivative or a symbol), not a formula
    assert all(isinstance(r.lhs, (sp.Derivative, sp.Symbol)) for r in d.results if r.audience == "student")
    assert "∂L/∂b₀ = (2/m)·𝟏ᵀ·e" in page("sigmoid-sum")
