"""The vectorized gradients of least-squares, sigmoid-sum and mlp come from the matrix-calculus
engine (derive/matrix/lines.py), and logistic's loop over the examples is checked against it:
the engine's result and each model's own form agree with finite differences at random arrays,
the derivations show the engine's lines followed by the notes' forms, and a model form that
differs from the engine's is refused."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import sympy as sp

import derive
from derive.matrix import tree as t
from derive.matrix.lines import MatrixLine, engine_gradient
from derive.models import deep, least_squares, logistic, mlp, sigmoid_sum
from derive.printing import text
from derive.steps import Builder
from derive.verify import VerificationError, check_equal
from numeric.matrix_fd import fd_error, random_arrays

LINES = {
    **{f"logistic/{line.wrt}": line for line in logistic.LINES},
    "least-squares/theta": least_squares.GRADIENT,
    **{f"sigmoid-sum/{key}": line for key, line in sigmoid_sum.LINES.items()},
    **{f"sigmoid-sum/relu/{key}": line for key, line in sigmoid_sum.matrix_lines("relu").items()},
    **{f"{model}/{act}/{key}": line for model, lines in (("mlp", mlp.matrix_lines), ("deep", deep.layer_lines))
       for act in ("sigmoid", "tanh", "relu") for key, line in lines(act).items()},
}
# sizes unlike those the derivations check at, so that the forms are tested for any size
FD_SIZES = {"m": 5, "n_x": 4, "n": 6, "H": 3, "J": 4, "n_h": 3, "n_y": 4, "n_l": 3, "n_p": 4}


@pytest.mark.parametrize("key", LINES)
def test_engine_and_model_forms_agree_with_finite_differences(key):
    g = engine_gradient(LINES[key])
    shapes = {name: tuple(FD_SIZES.get(str(s), 1) for s in shape) for name, shape in g.names.items()}
    arrays = random_arrays(shapes, seed=len(key))
    if "m" in arrays and shapes["m"] == (1, 1):
        arrays["m"] = float(FD_SIZES["m"])   # the mean's m is the number of examples
    f = t.numpy(g.f)
    wrt = LINES[key].wrt
    # the notes' dZ is m times the gradient of the mean J
    times = f"{FD_SIZES[LINES[key].times]} * " if LINES[key].times else ""
    assert fd_error(f, g.numpy(), wrt, arrays) < 1e-6
    assert fd_error(f"{times}{f}", g.form_numpy(), wrt, arrays) < 1e-6
    # the comparison can fail: the form with its sign flipped does
    assert fd_error(f, f"-({g.form_numpy()})", wrt, arrays) > 1e-3


# The notes' own forms, as each derivation displays them after the engine's line (or, in
# ENGINE_WRITES_NOTES, as the engine's line itself displays it, with no line repeating it).
ENGINE_WRITES_NOTES = {"least-squares"}
NOTES_FORMS = {
    "least-squares": ["−2·Xᵀ·(y − X·θ)"],
    "sigmoid-sum": ["(2/m)·𝟏ᵀ·e", "(2/m)·A·e", "(2/m)·((c·eᵀ) ⊙ A ⊙ (1 − A))·𝟏",
                    "(2/m)·((c·eᵀ) ⊙ A ⊙ (1 − A))·Xᵀ"],
    "mlp": ["A[2] − Y", "(1/m)·dZ[2]·A[1]ᵀ", "(1/m)·Σ_{i=1..m} dz[2]⁽ⁱ⁾", "(W[2]ᵀ·dZ[2]) ⊙ A[1] ⊙ (1 − A[1])",
            "(1/m)·dZ[1]·Xᵀ", "(1/m)·Σ_{i=1..m} dz[1]⁽ⁱ⁾"],
}
# logistic derives its vectorized gradients by the loop over the examples (tests/test_vectorized.py)
MODEL_LINES = {"least-squares": (least_squares.GRADIENT,),
               "sigmoid-sum": tuple(sigmoid_sum.LINES.values()), "mlp": tuple(mlp.matrix_lines("sigmoid").values())}


@pytest.mark.parametrize("model", list(MODEL_LINES))
def test_each_notes_form_follows_the_engines_line_and_is_checked_against_it(shared_derivations, model):
    d = derive.derivation(model)
    steps = d.lines
    # the gradients' lines (a Hessian's matrix form follows its own "hessian" line)
    engine_lines = [k for k, s in enumerate(steps) if s.rule == "matrix_form" and steps[k - 1].rule != "hessian"]
    grads = [engine_gradient(line) for line in MODEL_LINES[model]]
    assert [str(steps[k].rhs) for k in engine_lines] == [str(g.shown) for g in grads]
    # the engine's line is verified against sympy.diff of the function written out (for the
    # network, at random points: recomputing those diffs here would cost a second)
    for k, g in zip(engine_lines, grads):
        assert steps[k].verified in ("symbolic", "numeric")
        diff_entrywise, engine = steps[k].check
        if not g.line.points:
            assert diff_entrywise == g.inst.gradient(g.line.wrt)
    after = 0 if model in ENGINE_WRITES_NOTES else 1
    forms = [next(s for s in steps[k + after:] if s.kind == "equation") for k in engine_lines]
    assert [text(s.rhs) for s in forms] == NOTES_FORMS[model]
    if after == 0:
        # the line after the engine's goes on to something else, not the same form again
        assert all(text(steps[k + 1].rhs) != text(steps[k].rhs) for k in engine_lines)
    for s, g in zip(forms, grads):
        # the notes' form equals the engine's matrix form at the concrete sizes, and rightly so
        engine, notes = g.form_check() if after == 0 else s.check
        assert engine == g.form_check()[0]
        check_equal(engine, notes)


def test_a_notes_form_that_differs_from_the_engines_is_refused():
    wrong = MatrixLine(least_squares.GRADIENT.expr, least_squares.GRADIENT.shapes, "theta",
                       "2 * X.T @ (y - X @ theta)")
    d = Builder(SimpleNamespace(name="test", title="test"))
    with pytest.raises(VerificationError):
        d.eq(sp.Symbol("g"), sp.Symbol("h"), "rewrite", check=engine_gradient(wrong).form_check())
    with pytest.raises(ValueError, match="shape"):
        engine_gradient(MatrixLine(least_squares.GRADIENT.expr, least_squares.GRADIENT.shapes, "theta", "X"))


def test_the_engines_operands_do_not_reuse_the_models_names(shared_derivations):
    # the engine's operands get names of their own, none the model uses (its entrywise lines
    # are the checker's, shown with verbose)
    both = derive.derivation("sigmoid-sum").render("text", verbose=True)
    assert "z = σ(W·X + b)ᵀ·c" in both and "u = W·X" in both


def test_least_squares_hessian_is_the_engines_jacobian_of_its_gradient(shared_derivations):
    steps = derive.derivation("least-squares").lines
    k = next(k for k, s in enumerate(steps) if s.rule == "hessian")
    assert text(steps[k + 1].rhs) == "2·Xᵀ·X"
    # oracle: sympy's Hessian of the sum of squares written out on a 3 × 2 X
    X, y, theta = sp.Matrix(3, 2, sp.symbols("x:6")), sp.Matrix(sp.symbols("y:3")), sp.Matrix(sp.symbols("t:2"))
    r = y - X * theta
    expected = sp.hessian((r.T * r)[0, 0], list(theta))
    assert expected == 2 * X.T * X
    for s in steps[k:k + 2]:
        want, engine = s.check
        assert sp.expand(engine - want) == sp.zeros(2, 2)
        assert engine.shape == (2, 2) and engine != sp.zeros(2, 2)
    # the model's H in (w, b) is checked against the engine's line, not restated
    assert steps[k + 2].rule == "second_order"


def test_engine_lines_read_as_the_notes_write_them():
    # the mean's 1/m in front of a row sum: (…)/m·𝟏 would read as (…)/(m·𝟏)
    db = engine_gradient(mlp.matrix_lines("sigmoid")["db[2]"])
    assert str(db.shown) == "(1/m)·(softmax(W[2]·A[1] + b[2], axis=0) − Y)·𝟏"
    assert t.latex(db.value).startswith(r"\frac{1}{m} \cdot \left(")
    # sigmoid-sum's error e by name, its transpose eᵀ not spread over the terms
    shown = {key: str(engine_gradient(line).shown) for key, line in sigmoid_sum.LINES.items()}
    # (2/m) in front, as the notes' (2/m)·A·e: 2·σ(W·X + b)·e/m hid the mean at the end
    assert shown["c"] == "(2/m)·σ(W·X + b)·e"
    assert shown["w"] == "(2/m)·((c·eᵀ) ⊙ σ(W·X + b) ⊙ (1 − σ(W·X + b)))·Xᵀ"


def test_an_elementwise_square_prints_with_the_hadamard_sign():
    from derive.printing import latex
    A = sp.MatrixSymbol("A^[1]", 3, 2)
    tanh_prime = sp.OneMatrix(3, 2) - sp.HadamardProduct(A, A)
    # SymPy writes A ⊙ A as a HadamardPower, which the text printer once spelled out
    assert any(isinstance(a, sp.HadamardPower) for a in sp.preorder_traversal(tanh_prime))
    assert text(tanh_prime) == "1 − A[1]^⊙²"
    assert latex(tanh_prime) == r"\mathbf{1} - \left(A^{[1]}\right)^{\odot {2}}"


def test_sigmoid_sum_with_relu_pieces_takes_the_engines_lines(shared_derivations):
    model = derive.model("sigmoid-sum", activation="relu", **derive.model("sigmoid-sum").derivation_sizes)
    steps = model.derivation().lines
    engine_lines = [k for k, s in enumerate(steps) if s.rule == "matrix_form"]
    grads = [engine_gradient(line) for line in sigmoid_sum.matrix_lines("relu").values()]
    assert [str(steps[k].rhs) for k in engine_lines] == [str(g.shown) for g in grads]
    assert "[W·X + b − 1 > 0]" in str(grads[-1].shown)
    for k, g in zip(engine_lines, grads):
        # checked at two seeded points, off the kinks, against sympy.diff of L written out
        assert steps[k].verified in ("symbolic", "numeric")
        assert steps[k].check[0].shape == (2 * g.inst.env[g.line.wrt].rows, g.inst.env[g.line.wrt].cols)
        form = next(s for s in steps[k + 1:] if s.kind == "equation")
        assert text(form.rhs).endswith(("·e", "D)·𝟏", "D)·Xᵀ"))
        check_equal(*form.check)
