"""Matrix calculus (``derive expr … --shape``): expressions from the matrix-calculus literature,
their JSON ``numpy`` code against central finite differences written here, their shapes, and
their matrix forms against the ones the Matrix Cookbook prints; shape errors; every format."""

from __future__ import annotations

import json

import numpy as np
import pytest
import sympy as sp

from conftest import load, run
from derive.matrix import matrix_derivation
from derive.steps import VerificationError
from numeric.matrix_fd import check_matrix_gradient

# (expression, shapes, variable, Hessian?) — quadratic forms, least squares, the logistic loss
# with 0/1 and ±1 labels, softmax cross-entropy, trace and log-determinant identities, Frobenius
# norms, one layer of an MLP.
LITERATURE = [
    ("x.T @ A @ x", ["A=n,n", "x=n"], "x", True),
    ("a.T @ x", ["a=n", "x=n"], "x", False),
    ("x.T @ x", ["x=n"], "x", True),
    ("sum((X @ w - y)**2)", ["X=m,n", "w=n", "y=m"], "w", True),
    ("norm(X @ w - y)**2 / m", ["X=m,n", "w=n", "y=m"], "w", False),
    ("norm(X @ w - y)**2 + lam * norm(w)**2", ["X=m,n", "w=n", "y=m"], "w", True),
    ("-sum(y*log(sigmoid(X@w)) + (1-y)*log(1-sigmoid(X@w)))", ["X=m,n", "w=n", "y=m"], "w", True),
    ("sum(log(1 + exp(-y * (X @ w))))", ["X=m,n", "w=n", "y=m"], "w", True),
    ("-sum(Y*log(softmax(W@X, axis=0)))", ["W=k,n", "X=n,m", "Y=k,m"], "W", False),
    ("sum(logsumexp(Z, axis=0)) - sum(Y*Z)", ["Z=k,m", "Y=k,m"], "Z", False),
    ("trace(A @ X)", ["A=n,m", "X=m,n"], "X", False),
    ("trace(X.T @ A @ X)", ["X=n,m", "A=n,n"], "X", False),
    ("trace(A @ X @ B)", ["A=p,m", "X=m,n", "B=n,p"], "X", False),
    ("log(det(X))", ["X=n,n"], "X", False),
    ("det(X)", ["X=n,n"], "X", False),
    ("trace(inv(X) @ A)", ["X=n,n", "A=n,n"], "X", False),
    ("norm(X - A @ B)**2", ["X=m,n", "A=m,k", "B=k,n"], "A", False),
    ("norm(X)", ["X=m,n"], "X", False),
    ("sum((sigmoid(W @ x + b) - y)**2)", ["W=h,n", "x=n", "b=h", "y=h"], "W", False),
    ("sum(relu(W @ X) * V)", ["W=h,n", "X=n,m", "V=h,m"], "W", False),
    ("a.T @ X @ b", ["a=m", "X=m,n", "b=n"], "X", False),
]

# The matrix forms the Matrix Cookbook (and the course notes) print.
COOKBOOK = {
    "x.T @ A @ x": ["(A + Aᵀ)·x", "A + Aᵀ"],
    "a.T @ x": ["a"],
    "x.T @ x": ["2·x", "2·I"],
    "sum((X @ w - y)**2)": ["2·Xᵀ·(X·w − y)", "2·Xᵀ·X"],
    "-sum(y*log(sigmoid(X@w)) + (1-y)*log(1-sigmoid(X@w)))":
        ["Xᵀ·(σ(X·w) − y)", "Xᵀ·diag(σ(X·w) ⊙ (1 − σ(X·w)))·X"],
    "sum(log(1 + exp(-y * (X @ w))))":
        ["−Xᵀ·(y ⊙ σ(−y ⊙ (X·w)))", "Xᵀ·diag(y^⊙² ⊙ σ(y ⊙ (X·w)) ⊙ (1 − σ(y ⊙ (X·w))))·X"],
    "sum(logsumexp(Z, axis=0)) - sum(Y*Z)": ["softmax(Z, axis=0) − Y"],
    "trace(A @ X)": ["Aᵀ"],
    "trace(X.T @ A @ X)": ["(A + Aᵀ)·X"],
    "trace(A @ X @ B)": ["Aᵀ·Bᵀ"],
    "log(det(X))": ["X⁻ᵀ"],
    "det(X)": ["det(X)·X⁻ᵀ"],
    "trace(inv(X) @ A)": ["−X⁻ᵀ·Aᵀ·X⁻ᵀ"],
    "norm(X - A @ B)**2": ["−2·(X − A·B)·Bᵀ"],
    "norm(X)": ["X/‖X‖_F"],
    "a.T @ X @ b": ["a·bᵀ"],
}

# Sizes of the random arrays (larger than the derivation's own checks), a scalar's value.
SIZES = {"m": 5, "n": 4, "k": 3, "h": 3, "p": 2}


@pytest.fixture(scope="module")
def built():
    """Each expression's derivation and its JSON, built once."""
    out = {}
    for text, shapes, wrt, hessian in LITERATURE:
        d = matrix_derivation(text, shapes, [wrt], hessian=hessian, checker=check_matrix_gradient)
        out[text] = (d, d.to_json())
    return out


def _arrays(shapes, rng, labels=None):
    arrays = {"lam": 0.3, "m": float(SIZES["m"])}
    for option in shapes:
        name, dims = option.split("=")
        sizes = [SIZES[s] if s in SIZES else int(s) for s in dims.split(",")]
        shape = (sizes[0], sizes[1] if len(sizes) == 2 else 1)
        a = rng.normal(size=shape)
        if shape[0] == shape[1] and shape[0] > 1:
            a = a @ a.T + shape[0] * np.eye(shape[0])    # positive definite: log det is defined
        arrays[name] = a
    if labels == "01":
        arrays["y"] = (rng.uniform(size=arrays["y"].shape) > 0.5).astype(float)
    elif labels == "pm1":
        arrays["y"] = np.where(rng.uniform(size=arrays["y"].shape) > 0.5, 1.0, -1.0)
    return arrays


def _eval(code: str, arrays: dict) -> np.ndarray:
    return np.asarray(eval(code, {"np": np}, dict(arrays)), dtype=float)


# The functions of the input syntax in NumPy, written here independently of the package.
FUNCTIONS = {
    "sum": lambda u, axis=None: np.sum(u, axis=axis, keepdims=axis is not None),
    "log": np.log, "exp": np.exp, "tanh": np.tanh, "sigmoid": lambda u: 1 / (1 + np.exp(-u)),
    "relu": lambda u: np.maximum(u, 0), "det": np.linalg.det, "inv": np.linalg.inv,
    "trace": np.trace, "norm": np.linalg.norm, "transpose": np.transpose,
    "softmax": lambda u, axis: np.exp(u) / np.exp(u).sum(axis=axis, keepdims=True),
    "logsumexp": lambda u, axis: np.log(np.exp(u).sum(axis=axis, keepdims=True)),
}


def _f(text: str, arrays: dict) -> float:
    """The expression itself, evaluated by NumPy at ``arrays``."""
    return float(np.sum(eval(text, dict(FUNCTIONS), dict(arrays))))


def _central(text: str, wrt: str, arrays: dict, h: float = 1e-5) -> np.ndarray:
    grad = np.zeros_like(arrays[wrt])
    for idx in np.ndindex(grad.shape):
        up, down = dict(arrays), dict(arrays)
        up[wrt], down[wrt] = arrays[wrt].copy(), arrays[wrt].copy()
        up[wrt][idx] += h
        down[wrt][idx] -= h
        grad[idx] = (_f(text, up) - _f(text, down)) / (2 * h)
    return grad


def _labels(text):
    if "1 + exp(-y" in text:
        return "pm1"
    return "01" if "sigmoid(X@w)" in text else None


@pytest.mark.parametrize("text,shapes,wrt,hessian", LITERATURE, ids=[c[0] for c in LITERATURE])
def test_numpy_code_agrees_with_finite_differences(built, text, shapes, wrt, hessian):
    _, data = built[text]
    rng = np.random.default_rng(len(text))
    arrays = _arrays(shapes, rng, _labels(text))
    gradient = data["results"][0]
    value = _eval(gradient["numpy"], arrays) * np.ones_like(arrays[wrt])
    fd = _central(text, wrt, arrays)
    assert value.shape == arrays[wrt].shape
    assert np.max(np.abs(value - fd)) <= 1e-6 * max(1.0, np.max(np.abs(fd)))
    # vectors bound as 1-D arrays, as NumPy code often has them: the same numbers
    flat = {k: (v.ravel() if isinstance(v, np.ndarray) and v.shape[1:] == (1,) else v) for k, v in arrays.items()}
    assert np.allclose(np.ravel(_eval(gradient["numpy"], flat) * np.ones_like(flat[wrt])), value.ravel(),
                       rtol=1e-12, atol=1e-12)
    rows, cols = (f"{s}" for s in gradient["shape"].split(" × "))
    assert (SIZES.get(rows, 1 if rows == "1" else None), SIZES.get(cols, 1 if cols == "1" else None)) \
        == arrays[wrt].shape
    if hessian:
        # the Hessian's columns: central differences of the gradient's NumPy code
        h = _eval(data["results"][1]["numpy"], arrays)
        x = arrays[wrt]
        numeric = np.zeros((x.size, x.size))
        for j in range(x.size):
            up, down = dict(arrays), dict(arrays)
            up[wrt], down[wrt] = x.copy(), x.copy()
            up[wrt].flat[j] += 1e-6
            down[wrt].flat[j] -= 1e-6
            numeric[:, j] = ((_eval(gradient["numpy"], up) - _eval(gradient["numpy"], down)) / 2e-6).ravel()
        assert h.shape == numeric.shape
        assert np.max(np.abs(h - numeric)) <= 1e-6 * max(1.0, np.max(np.abs(numeric)))


@pytest.mark.parametrize("text", list(COOKBOOK))
def test_matrix_forms_are_the_cookbooks(built, text):
    d, _ = built[text]
    assert [str(r.display) for r in d.results] == COOKBOOK[text]


def test_every_line_is_verified_and_rechecked(built):
    d, _ = built["-sum(y*log(sigmoid(X@w)) + (1-y)*log(1-sigmoid(X@w)))"]
    rules = [s.rule for s in d.lines]
    # index form, the deltas and their collapse, the engine's elementwise rules, the matrix form
    for rule in ("index_form", "entrywise", "kronecker", "chain", "sigmoid", "matrix_form", "hessian"):
        assert rule in rules
    assert all(s.verified in ("symbolic", "numeric", "definition") for s in d.lines)
    assert d.verify() == 2


def test_a_wrong_matrix_form_is_refused():
    # the verification compares with sympy.diff entry by entry: a transposed factor fails it
    from derive.matrix.derivation import _Instance
    from derive.matrix.parse import parse_matrix_expression, parse_shapes
    from derive.matrix import tree as t
    from derive.verify import check_equal

    shapes = parse_shapes(["A=n,n", "x=n"])
    f = parse_matrix_expression("x.T @ A @ x", shapes)
    inst = _Instance(f, shapes, {sp.Symbol("n", integer=True, positive=True): sp.Integer(2)})
    wrong = t.scale(2, t.matmul(t.var("A", shapes["A"]), t.var("x", shapes["x"])))
    with pytest.raises(VerificationError):
        check_equal(inst.gradient("x"), inst.value(wrong))


def test_every_format_and_language(built):
    d, _ = built["sum((X @ w - y)**2)"]
    zh = d.render("text", lang="zh", color=False)
    assert "逐元素求导" in zh and "矩阵形式：" in zh and "2·Xᵀ·(X·w − y)" in zh
    latex = d.render("latex", standalone=True)
    assert r"2 \cdot X^{T} \cdot \left(X \cdot w - y\right)" in latex
    assert "2·Xᵀ·(X·w − y)" in d.render("markdown", lang="zh") or r"X^{T}" in d.render("markdown", lang="zh")
    data = json.loads(d.render("json", lang="zh"))
    assert data["results"][0]["numpy"] == "2 * (X.T @ (X @ w - y))"
    assert data["results"][0]["shape"] == "n × 1"


@pytest.mark.parametrize("argv,message", [
    (["X @ w", "--wrt", "w", "--shape", "X=m,n", "--shape", "w=k"], "@: shapes m × n and k × 1 do not match"),
    (["sum(X @ w)", "--wrt", "w", "--shape", "w=n"], "@: X has no shape"),
    (["log(det(X))", "--shape", "X=m,n"], "det: the matrix is m × n, not square"),
    (["sum(X + w)", "--wrt", "w", "--shape", "X=m,n", "--shape", "w=k"], "+: shapes m × n and k × 1 do not match"),
    (["X @ w", "--wrt", "w", "--shape", "X=m,n", "--shape", "w=n"], "not a scalar"),
    (["sum(__import__('os'))", "--shape", "X=m,n"], "unknown function '__import__'"),
    (["sum(os @ X)", "--shape", "X=m,n"], "forbidden name 'os'"),
    (["x.T @ A @ x", "--wrt", "A,x", "--shape", "A=n,n", "--shape", "x=n", "--hessian"], "--hessian: give one"),
    (["sum(X.shape)", "--shape", "X=m,n"], "only .T"),
    (["sum(softmax(X))", "--shape", "X=m,n"], "state the axis"),
    (["sum(X)", "--shape", "X=m,n,p"], "at most two dimensions"),
    (["sum(X)", "--shape", "X=m,n", "--at", "X=1"], "does not combine"),
    (["norm(X) / 0", "--shape", "X=m,n"], "/: division by zero"),
    (["sum(X)", "--onehot", "X"], "--onehot needs --shape"),
    (["sum(X)", "--shape", "X=2000,1000"], "too many to check numerically"),
    (["sum(W @ X)", "--wrt", "W", "--shape", "W=k,n", "--shape", "X=n,m", "--onehot", "Y"], "--onehot Y: Y is not a matrix"),
    (["sum(W @ X)", "--wrt", "W", "--shape", "W=k,n", "--shape", "X=n,m", "--onehot", "W"], "--onehot W: W is differentiated"),
])
def test_bad_input_is_one_line_and_exit_2(argv, message):
    out = run("expr", *argv)
    assert out.code == 2
    assert message in out.err and out.err.count("\n") == 1 and "Traceback" not in out.err


def test_the_command_prints_the_result_and_its_json():
    out = run("expr", "trace(A @ X @ B)", "--wrt", "X", "--shape", "A=p,m", "--shape", "X=m,n",
              "--shape", "B=n,p", "--format", "json")
    assert out.code == 0
    result = json.loads(out.out)["results"][0]
    assert (result["text"], result["shape"], result["numpy"]) == ("∂L/∂X = Aᵀ·Bᵀ", "m × n", "A.T @ B.T")


CROSS_ENTROPY = "-sum(Y*log(softmax(W@X, axis=0)))"
CE_SHAPES = ["W=k,n", "X=n,m", "Y=k,m"]


@pytest.fixture(scope="module")
def onehot_json():
    d = matrix_derivation(CROSS_ENTROPY, CE_SHAPES, ["W"], checker=check_matrix_gradient, onehot=["Y"])
    return d, d.to_json()


def test_onehot_labels_give_the_notes_softmax_gradient(onehot_json):
    d, data = onehot_json
    result = data["results"][0]
    assert result["text"] == "∂L/∂W = (softmax(W·X, axis=0) − Y)·Xᵀ" and result["shape"] == "k × n"
    assert not d.failed
    rng = np.random.default_rng(7)
    arrays = _arrays(CE_SHAPES, rng)
    # one-hot columns, here independently of the package: example j in a random class
    arrays["Y"] = np.eye(SIZES["k"])[:, rng.integers(0, SIZES["k"], SIZES["m"])]
    fd = _central(CROSS_ENTROPY, "W", arrays)
    assert np.max(np.abs(_eval(result["numpy"], arrays) - fd)) < 1e-6 * max(1, np.max(np.abs(fd)))
    # the assumption matters: with labels that are not one-hot the same code is wrong
    arrays["Y"] = rng.uniform(size=arrays["Y"].shape)
    assert np.max(np.abs(_eval(result["numpy"], arrays) - _central(CROSS_ENTROPY, "W", arrays))) > 1e-3
    # the general form comes first, then the one-hot step, checked at a one-hot Y
    step = next(s for s in d.steps if getattr(s, "rule", None) == "simplify")
    diff_entrywise, value = step.check
    assert sp.simplify(diff_entrywise - value) == sp.zeros(*value.shape)
    assert not any(str(v).startswith("Y_") for v in diff_entrywise.free_symbols)


def test_numeric_sizes_above_the_check_sizes():
    shapes = ["X=40,5", "w=5", "y=40"]
    d = matrix_derivation("sum((X @ w - y)**2)", shapes, ["w"], checker=check_matrix_gradient)
    result = d.to_json()["results"][0]
    assert (result["text"], result["shape"]) == ("∂L/∂w = 2·Xᵀ·(X·w − y)", "5 × 1")
    # the lines are checked at small sizes of the same pattern (40 and 5 stand for 3 and 2) …
    step = next(s for s in d.steps if getattr(s, "rule", None) == "matrix_form")
    diff_entrywise, engine = step.check
    assert diff_entrywise.shape == (2, 1) and sp.expand(diff_entrywise - engine) == sp.zeros(2, 1)
    # … and the result at the sizes given, here against differences written in this file
    assert [(x, shape) for x, shape, _ in d.checks] == [("w", (2, 1)), ("w", (5, 1))]
    arrays = {"X": np.random.default_rng(3).normal(size=(40, 5)), "w": np.ones((5, 1)), "y": np.zeros((40, 1))}
    fd = _central("sum((X @ w - y)**2)", "w", arrays)
    assert np.max(np.abs(_eval(result["numpy"], arrays) - fd)) < 1e-6 * np.max(np.abs(fd))


def test_a_large_variable_is_compared_at_sampled_entries():
    from numeric.matrix_fd import fd_error
    arrays = {"X": np.random.default_rng(5).normal(size=(30, 30))}
    assert fd_error("np.sum(X**3)", "3 * X**2", "X", arrays, most=64) < 1e-6
    assert fd_error("np.sum(X**3)", "3 * X.T**2", "X", arrays, most=64) > 1e-3


def test_an_expression_starting_with_minus_is_the_argument(tmp_path, monkeypatch):
    # click read "-log(x)" as short options, its "o" as -o FILE: it wrote a file named "g(x)"
    monkeypatch.chdir(tmp_path)
    out = run("expr", "-log(x) + x**2", "--format", "json")
    assert out.code == 0 and not list(tmp_path.iterdir())
    assert sp.simplify(load(json.loads(out.out)["results"][0]["value"]) - (2 * sp.Symbol("x", real=True) - 1 / sp.Symbol("x", real=True))) == 0
    out = run("expr", "-sum(Y*log(softmax(Z, axis=0)))", "--wrt", "Z", "--shape", "Z=k,m", "--shape", "Y=k,m")
    assert out.code == 0 and not list(tmp_path.iterdir())


MSE = "sum((W @ X + b - Y)**2)/m"
MSE_SHAPES = ["W=k,n", "X=n,m", "b=k", "Y=k,m"]


def test_one_layer_mse_reads_as_the_notes_write_it():
    # the notes' order: (2/m) in front, prediction minus target, the error before Xᵀ (dW = dZ·Xᵀ)
    d = matrix_derivation(MSE, MSE_SHAPES, ["W", "b"], checker=check_matrix_gradient)
    assert [str(r.display) for r in d.results] == ["(2/m)·(W·X + b − Y)·Xᵀ", "(2/m)·(W·X + b − Y)·𝟏"]
    assert r"\frac{2}{m} \cdot \left(W \cdot X + b - Y\right) \cdot X^{T}" in d.render("latex")
    arrays = _arrays(MSE_SHAPES, np.random.default_rng(11))
    for result, wrt in zip(d.to_json()["results"], ("W", "b")):
        fd = _central(MSE, wrt, arrays)
        assert np.max(np.abs(_eval(result["numpy"], arrays) - fd)) < 1e-6 * max(1, np.max(np.abs(fd)))
    lsq = matrix_derivation("sum((X @ w - y)**2)/m", ["X=m,n", "w=n", "y=m"], ["w"])
    assert str(lsq.results[0].display) == "(2/m)·Xᵀ·(X·w − y)"


# the cross-entropy forms students write, with one-hot labels: (text, shapes, variable, matrix form)
ONEHOT_FORMS = [
    ("-sum(Y * log(softmax(Z, axis=0)))/m", ["Z=k,m", "Y=k,m"], "Z", "(1/m)·(softmax(Z, axis=0) − Y)"),
    ("-sum(Y * log(softmax(X @ W, axis=1)))/m", ["X=m,n", "W=n,k", "Y=m,k"], "W",
     "(1/m)·Xᵀ·(softmax(X·W, axis=1) − Y)"),
    ("-sum(Y * log(softmax(W @ X, axis=0)))/sum(Y)", ["W=k,n", "X=n,m", "Y=k,m"], "W",
     "(1/m)·(softmax(W·X, axis=0) − Y)·Xᵀ"),
]


@pytest.mark.parametrize("text,shapes,wrt,form", ONEHOT_FORMS, ids=[c[0] for c in ONEHOT_FORMS])
def test_onehot_rows_means_and_totals(text, shapes, wrt, form):
    d = matrix_derivation(text, shapes, [wrt], checker=check_matrix_gradient, onehot=["Y"])
    result = d.to_json()["results"][0]
    assert result["text"] == f"∂L/∂{wrt} = {form}" and not d.failed
    rng = np.random.default_rng(len(text))
    arrays = _arrays(shapes, rng)
    # one-hot along the softmax's axis, drawn here: a 1 per column (axis 0) or per row (axis 1)
    k, m = SIZES["k"], SIZES["m"]
    rows = "axis=1" in text
    arrays["Y"] = np.eye(k)[rng.integers(0, k, m)] if rows else np.eye(k)[:, rng.integers(0, k, m)]
    fd = _central(text, wrt, arrays)
    assert np.max(np.abs(_eval(result["numpy"], arrays) - fd)) < 1e-6 * max(1, np.max(np.abs(fd)))
    # the one-hot step's oracle is sympy.diff at a one-hot Y of the same orientation
    step = next(s for s in d.steps if getattr(s, "rule", None) == "simplify")
    diff_entrywise, value = step.check
    assert sp.simplify(diff_entrywise - value) == sp.zeros(*value.shape)


# Hessians of a matrix or row-vector variable, ∂²f/∂vec(W)∂vec(W)ᵀ with vec stacking columns:
# (text, shapes, variable, the Matrix Cookbook's form, its shape)
MATRIX_HESSIANS = [
    ("trace(W.T @ A @ W)", ["W=n,k", "A=n,n"], "W", "I ⊗ (A + Aᵀ)", "n·k × n·k"),
    ("norm(X @ W - Y)**2", ["X=m,n", "W=n,k", "Y=m,k"], "W", "2·(I ⊗ Xᵀ·X)", "n·k × n·k"),
    ("trace(A @ W @ B @ W.T)", ["A=n,n", "W=n,k", "B=k,k"], "W", "Bᵀ ⊗ A + B ⊗ Aᵀ", "n·k × n·k"),
    ("w @ A @ w.T", ["w=1,n", "A=n,n"], "w", "A + Aᵀ", "n × n"),
    ("sum(sigmoid(W @ x))", ["W=k,n", "x=n"], "W", None, None),
]


@pytest.fixture(scope="module")
def matrix_hessians():
    return {text: matrix_derivation(text, shapes, [wrt], hessian=True, checker=check_matrix_gradient)
            for text, shapes, wrt, _, _ in MATRIX_HESSIANS}


@pytest.mark.parametrize("text,shapes,wrt,form,shape", MATRIX_HESSIANS, ids=[c[0] for c in MATRIX_HESSIANS])
def test_hessian_of_a_matrix_variable(matrix_hessians, text, shapes, wrt, form, shape):
    d = matrix_hessians[text]
    assert not d.failed and d.verify() == 2
    hessian = d.results[1]
    # every Hessian line's oracle is sympy.diff taken twice at the check sizes, columns stacked
    steps = [s for s in d.steps if getattr(s, "rule", None) == "hessian"]
    want, engine = steps[-1].check
    assert sp.expand(want - engine) == sp.zeros(*want.shape) and want != sp.zeros(*want.shape)
    if form is None:
        # no compact form: said so, and the entries ∂²L/∂W_ij∂W_kl given
        assert "no compact matrix form" in d.render("text", color=False)
        assert "δ_" in d.to_json()["results"][1]["text"]
        return
    data = d.to_json()["results"]
    assert (str(hessian.display), data[1]["shape"]) == (form, shape)
    # the Hessian's NumPy code against central differences of vec(gradient), written here
    arrays = _arrays(shapes, np.random.default_rng(len(text)))
    x = arrays[wrt]
    numeric = np.zeros((x.size, x.size))
    for j in range(x.size):
        idx = np.unravel_index(j, x.shape, order="F")
        up, down = dict(arrays), dict(arrays)
        up[wrt], down[wrt] = x.copy(), x.copy()
        up[wrt][idx] += 1e-6
        down[wrt][idx] -= 1e-6
        numeric[:, j] = ((_eval(data[0]["numpy"], up) - _eval(data[0]["numpy"], down)) / 2e-6).ravel(order="F")
    assert np.max(np.abs(_eval(data[1]["numpy"], arrays) - numeric)) <= 1e-6 * max(1.0, np.max(np.abs(numeric)))


def test_sampled_entries_are_stated_and_the_same_every_run():
    shapes = ["X=90,70", "w=70", "y=90"]
    runs = [matrix_derivation("sum((X @ w - y)**2)", shapes, ["w"], checker=check_matrix_gradient) for _ in range(2)]
    assert runs[0].checks == runs[1].checks and not runs[0].failed
    assert [shape for _, shape, _ in runs[0].checks] == [(2, 1), (70, 1)]
    words = json.dumps(runs[0].to_json(), ensure_ascii=False)
    assert "w has 70 entries: the differences are taken at 64 of them, drawn with a fixed seed" in words
    assert "random arrays (seeded" in words
    # the 64 entries themselves: drawn with a fixed seed, so a gradient wrong at one entry is
    # caught, or missed, the same way on every run
    from numeric.matrix_fd import fd_error
    arrays = {"X": np.random.default_rng(1).normal(size=(8, 70)), "w": np.ones((70, 1)), "y": np.zeros((8, 1))}
    caught = [[fd_error("np.sum((X @ w - y)**2)", f"2 * X.T @ (X @ w - y) + (np.arange(70)[:, None] == {k})",
                        "w", arrays, most=64) > 1e-3 for k in range(70)] for _ in range(2)]
    assert caught[0] == caught[1] and sum(caught[0]) == 64
