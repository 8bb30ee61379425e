"""numeric.compile_model and numeric.bridge: gradients against central differences and against
hand-written NumPy, stability at |z| ~ 1000, shapes, seeds, and the SymPy → NumPy bridge."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import derive
import numeric
from derive import engine
from derive.errors import DeriveError
from derive.functions import hard_sigmoid, relu, sigmoid, softplus
from numeric import bridge
from numeric import compiled as compiled_module

# --------------------------------------------------------------------------------------------
# Independent oracles


def central_differences(f, params, h=1e-6):
    """Central differences of the scalar f(params) in every coordinate."""
    out = {}
    for name, value in params.items():
        g = np.zeros(value.shape)
        for idx in np.ndindex(value.shape):
            plus = {k: np.array(v, dtype=float, copy=True) for k, v in params.items()}
            minus = {k: np.array(v, dtype=float, copy=True) for k, v in params.items()}
            plus[name][idx] += h
            minus[name][idx] -= h
            g[idx] = (f(plus) - f(minus)) / (2 * h)
        out[name] = g
    return out


def hand_logistic(P, X, y):
    m = X.shape[0]
    a = 1 / (1 + np.exp(-(X @ P["w"] + P["b"])))
    return {"w": X.T @ (a - y) / m, "b": np.mean(a - y)}


def softmax_rows(Z):
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)


def onehot(y, k):
    Y = np.zeros((y.size, k))
    Y[np.arange(y.size), y] = 1
    return Y


def hand_softmax(P, X, y):
    m = X.shape[0]
    dZ = (softmax_rows(X @ P["W"] + P["b"]) - onehot(y, P["b"].size)) / m
    return {"W": X.T @ dZ, "b": dZ.sum(axis=0)}


HAND_ACTIVATION = {
    "sigmoid": (lambda u: np.exp(-np.logaddexp(0, -u)), lambda u, a: a * (1 - a)),
    "tanh": (np.tanh, lambda u, a: 1 - a**2),
    "relu": (lambda u: np.maximum(u, 0), lambda u, a: (u > 0).astype(float)),
}


def hand_mlp(P, X, y, activation="sigmoid"):
    g, dg = HAND_ACTIVATION[activation]
    m = X.shape[0]
    U = X @ P["W1"] + P["b1"]
    A = g(U)
    dZ2 = (softmax_rows(A @ P["W2"] + P["b2"]) - onehot(y, P["b2"].size)) / m
    dU = (dZ2 @ P["W2"].T) * dg(U, A)
    return {"W1": X.T @ dU, "b1": dU.sum(axis=0), "W2": A.T @ dZ2, "b2": dZ2.sum(axis=0)}


# The sum of sigmoids' pieces: σ, or the notes' hard sigmoid ReLU(u) − ReLU(u − 1), whose slope
# is [u > 0] − [u > 1] (ReLU′(0) = 0 at both kinks of the two ReLUs).
HAND_PIECE = {
    "sigmoid": HAND_ACTIVATION["sigmoid"],
    "relu": (lambda u: np.maximum(u, 0) - np.maximum(u - 1, 0),
             lambda u, a: (u > 0).astype(float) - (u > 1).astype(float)),
}


def hand_sigmoid_sum(P, X, y, activation="sigmoid"):
    g, dg = HAND_PIECE[activation]
    m = X.shape[0]
    U = X @ P["W"].T + P["b_hidden"]
    A = g(U)
    r = 2 * (A @ P["c"] + P["b"] - y) / m
    dU = np.outer(r, P["c"]) * dg(U, A)
    return {"W": dU.T @ X, "b_hidden": dU.sum(axis=0), "c": A.T @ r, "b": r.sum()}


def data_for(cm, m, seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, cm.model.features)) * scale
    if cm.name in ("softmax", "mlp"):
        y = rng.integers(0, cm.model.classes, m)
    elif cm.name == "logistic":
        y = (rng.random(m) < 0.5).astype(float)
    else:
        y = rng.standard_normal(m)
    return X, y


MODELS = [
    ("linear", dict(features=1)),
    ("linear", dict(features=4)),
    ("least-squares", dict(features=3)),
    ("logistic", dict(features=2)),
    ("logistic", dict(features=6)),
    ("sigmoid-sum", dict(features=1, hidden=3)),
    ("sigmoid-sum", dict(features=1, hidden=7, activation="relu")),
    ("sigmoid-sum", dict(features=3, hidden=5)),
    ("sigmoid-sum", dict(features=2, hidden=4, activation="relu")),
    ("softmax", dict(features=4, classes=3)),
    ("softmax", dict(features=2, classes=2)),
    ("mlp", dict(features=4, hidden=5, classes=3)),
    ("mlp", dict(features=3, hidden=4, classes=4, activation="tanh")),
    ("mlp", dict(features=3, hidden=6, classes=3, activation="relu")),
]


def model_id(case):
    name, opts = case
    return name + "-" + "-".join(f"{k}{v}" for k, v in opts.items())


def assert_grads_close(got, want, rtol=1e-6, atol=1e-9):
    assert list(got) == list(want)
    for k in want:
        assert got[k].shape == np.shape(want[k]), k
        np.testing.assert_allclose(got[k], want[k], rtol=rtol, atol=atol, err_msg=k)


# --------------------------------------------------------------------------------------------
# Gradients


@pytest.mark.parametrize("case", MODELS, ids=model_id)
def test_grad_matches_central_differences(case):
    name, opts = case
    cm = numeric.compile_model(derive.model(name, **opts))
    X, y = data_for(cm, m=11, seed=3)
    P = cm.init_params(seed=5)
    fd = central_differences(lambda Q: cm.loss(Q, X, y), P)
    assert_grads_close(cm.grad(P, X, y), fd, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("case", MODELS, ids=model_id)
def test_blocked_rows_match_one_block(case, monkeypatch):
    """Row blocks (with a short last block) give the gradient of the whole batch."""
    name, opts = case
    whole = numeric.compile_model(derive.model(name, **opts))
    monkeypatch.setattr(compiled_module, "_BLOCK_BYTES", 1)
    monkeypatch.setattr(compiled_module, "_MIN_BLOCK_ROWS", 4)
    blocked = numeric.compile_model(derive.model(name, **opts))
    X, y = data_for(whole, m=13, seed=1)
    P = whole.init_params(seed=2)
    assert_grads_close(blocked.grad(P, X, y), whole.grad(P, X, y), rtol=1e-12, atol=1e-15)
    assert blocked.loss(P, X, y) == pytest.approx(whole.loss(P, X, y), rel=1e-12)
    for cm in (whole, blocked):
        loss, grads = cm.loss_and_grad(P, X, y)
        assert loss == pytest.approx(cm.loss(P, X, y), rel=1e-12)
        assert_grads_close(grads, cm.grad(P, X, y), rtol=1e-12, atol=1e-15)
    if name == "sigmoid-sum":
        act = opts.get("activation", "sigmoid")
        assert_grads_close(blocked.grad(P, X, y), hand_sigmoid_sum(P, X, y, act), rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("features", [1, 5])
def test_logistic_matches_hand_written(features):
    cm = numeric.compile_model(derive.model("logistic", features=features))
    X, y = data_for(cm, m=200, seed=features)
    P = cm.init_params(seed=1)
    assert_grads_close(cm.grad(P, X, y), hand_logistic(P, X, y), rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("features,classes", [(4, 3), (64, 10)])
def test_softmax_matches_hand_written(features, classes):
    cm = numeric.compile_model(derive.model("softmax", features=features, classes=classes))
    X, y = data_for(cm, m=150, seed=classes)
    P = cm.init_params(seed=2)
    assert_grads_close(cm.grad(P, X, y), hand_softmax(P, X, y), rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
@pytest.mark.parametrize("sizes", [(4, 5, 3), (64, 32, 10)])
def test_mlp_matches_hand_written(activation, sizes):
    f, h, k = sizes
    cm = numeric.compile_model(derive.model("mlp", features=f, hidden=h, classes=k, activation=activation))
    X, y = data_for(cm, m=120, seed=h)
    P = cm.init_params(seed=3)
    assert_grads_close(cm.grad(P, X, y), hand_mlp(P, X, y, activation), rtol=1e-10, atol=1e-13)


def test_loss_values_match_definitions():
    rng = np.random.default_rng(4)
    X = rng.standard_normal((30, 3))
    y_bin = (rng.random(30) < 0.5).astype(float)
    y_cls = rng.integers(0, 4, 30)
    y_reg = rng.standard_normal(30)

    cm = numeric.compile_model(derive.model("logistic", features=3))
    P = cm.init_params(seed=1)
    a = 1 / (1 + np.exp(-(X @ P["w"] + P["b"])))
    assert cm.loss(P, X, y_bin) == pytest.approx(np.mean(-y_bin * np.log(a) - (1 - y_bin) * np.log(1 - a)))

    cm = numeric.compile_model(derive.model("linear", features=3))
    P = cm.init_params(seed=1)
    assert cm.loss(P, X, y_reg) == pytest.approx(np.mean((X @ P["w"] + P["b"] - y_reg) ** 2))

    cm = numeric.compile_model(derive.model("mlp", features=3, hidden=5, classes=4))
    P = cm.init_params(seed=1)
    p = softmax_rows(1 / (1 + np.exp(-(X @ P["W1"] + P["b1"]))) @ P["W2"] + P["b2"])
    assert cm.loss(P, X, y_cls) == pytest.approx(-np.mean(np.log(p[np.arange(30), y_cls])))
    np.testing.assert_allclose(cm.predict(P, X), p, rtol=1e-12)
    assert cm.accuracy(P, X, y_cls) == pytest.approx(np.mean(p.argmax(axis=1) == y_cls))

    cm = numeric.compile_model(derive.model("sigmoid-sum", features=3, hidden=4))
    P = cm.init_params(seed=1)
    yhat = 1 / (1 + np.exp(-(X @ P["W"].T + P["b_hidden"]))) @ P["c"] + P["b"]
    np.testing.assert_allclose(cm.predict(P, X), yhat, rtol=1e-12)
    assert cm.loss(P, X, y_reg) == pytest.approx(np.mean((yhat - y_reg) ** 2))


def test_logistic_predict_and_accuracy():
    cm = numeric.compile_model(derive.model("logistic", features=2))
    X, y = data_for(cm, m=40, seed=9)
    P = cm.init_params(seed=4)
    z = X @ P["w"] + P["b"]
    np.testing.assert_allclose(cm.predict(P, X), 1 / (1 + np.exp(-z)), rtol=1e-12)
    assert cm.accuracy(P, X, y) == pytest.approx(np.mean((z > 0) == (y == 1)))


# --------------------------------------------------------------------------------------------
# Stability at |z| ~ 1000


def _assert_finite_quietly(cm, P, X, y):
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        loss = cm.loss(P, X, y)
        grads = cm.grad(P, X, y)
    assert np.isfinite(loss)
    for k, g in grads.items():
        assert np.all(np.isfinite(g)), k
    return loss, grads


def test_logistic_finite_at_z_1000():
    cm = numeric.compile_model(derive.model("logistic", features=1))
    X = np.array([[1000.0], [-1000.0], [800.0], [-800.0]])
    y = np.array([0.0, 1.0, 1.0, 0.0])
    P = {"w": np.array([1.0]), "b": np.array(0.0)}
    loss, g = _assert_finite_quietly(cm, P, X, y)
    z = X[:, 0]
    assert loss == pytest.approx(np.mean(np.logaddexp(0, z) - y * z))   # = (1000 + 1000 + 0 + 0) / 4
    assert g["b"] == pytest.approx(np.mean((z > 0) - y))


def test_softmax_and_mlp_finite_at_z_1000():
    cm = numeric.compile_model(derive.model("softmax", features=2, classes=3))
    X = np.array([[1000.0, -1000.0], [-1000.0, 1000.0]])
    y = np.array([1, 1])
    P = {"W": np.array([[1.0, 0.0, -1.0], [0.0, 1.0, 0.0]]), "b": np.zeros(3)}
    loss, _ = _assert_finite_quietly(cm, P, X, y)
    # example 1: logits (1000, -1000, -1000), label 1 → loss 2000; example 2: (-1000, 1000, 1000) → log 2
    assert loss == pytest.approx((2000 + np.log(2)) / 2)

    for activation in ("sigmoid", "tanh", "relu"):
        cm = numeric.compile_model(derive.model("mlp", features=2, hidden=3, classes=3, activation=activation))
        P = cm.init_params(seed=0)
        P["W1"] *= 1000 / np.abs(P["W1"]).max()
        P["W2"] *= 1000
        _assert_finite_quietly(cm, P, X, y)


@pytest.mark.parametrize("activation", ["sigmoid", "relu"])
def test_sigmoid_sum_finite_at_z_1000(activation):
    cm = numeric.compile_model(derive.model("sigmoid-sum", features=1, hidden=3, activation=activation))
    X = np.array([[1000.0], [-1000.0], [0.5]])
    y = np.array([1.0, -1.0, 0.0])
    P = {"W": np.ones((3, 1)), "b_hidden": np.zeros(3), "c": np.ones(3), "b": np.array(0.0)}
    _, g = _assert_finite_quietly(cm, P, X, y)
    assert_grads_close(g, hand_sigmoid_sum(P, X, y, activation), rtol=1e-10, atol=1e-12)


# --------------------------------------------------------------------------------------------
# Shapes, seeds, inputs

EXPECTED_SHAPES = [
    ("linear", dict(features=3), {"w": (3,), "b": ()}),
    ("least-squares", dict(features=2), {"w": (2,), "b": ()}),
    ("logistic", dict(features=5), {"w": (5,), "b": ()}),
    ("sigmoid-sum", dict(features=2, hidden=7), {"W": (7, 2), "b_hidden": (7,), "c": (7,), "b": ()}),
    ("softmax", dict(features=6, classes=4), {"W": (6, 4), "b": (4,)}),
    ("mlp", dict(features=6, hidden=5, classes=4), {"W1": (6, 5), "b1": (5,), "W2": (5, 4), "b2": (4,)}),
]


@pytest.mark.parametrize("name,opts,shapes", EXPECTED_SHAPES, ids=[c[0] for c in EXPECTED_SHAPES])
def test_param_shapes_and_init(name, opts, shapes):
    cm = numeric.compile_model(derive.model(name, **opts))
    assert list(cm.param_shapes.items()) == list(shapes.items())
    assert cm.n_params == sum(int(np.prod(s)) for s in shapes.values())
    P0, P0_again, P1 = cm.init_params(seed=0), cm.init_params(seed=0), cm.init_params(seed=1)
    assert list(P0) == list(shapes)
    for k, s in shapes.items():
        assert P0[k].shape == s and P0[k].dtype == np.float64
        np.testing.assert_array_equal(P0[k], P0_again[k])
        assert np.all(np.isfinite(P0[k]))
    weights = [k for k in shapes if shapes[k] and k not in ("b", "b1", "b2")]
    assert any(not np.array_equal(P0[k], P1[k]) for k in weights)
    assert all(np.std(P0[k]) > 0 for k in weights if np.prod(shapes[k]) > 1)
    X, y = data_for(cm, m=5)
    grads = cm.grad(P0, X, y)
    assert {k: g.shape for k, g in grads.items()} == shapes


def test_grad_results_are_fresh_arrays():
    cm = numeric.compile_model(derive.model("mlp", features=3, hidden=4, classes=3))
    P = cm.init_params(seed=0)
    X1, y1 = data_for(cm, m=20, seed=1)
    X2, y2 = data_for(cm, m=20, seed=2)
    g1 = cm.grad(P, X1, y1)
    kept = {k: v.copy() for k, v in g1.items()}
    cm.grad(P, X2, y2)
    cm.loss(P, X2, y2)
    assert_grads_close(g1, kept, rtol=0, atol=0)
    assert_grads_close(cm.grad(P, X1, y1), hand_mlp(P, X1, y1), rtol=1e-10, atol=1e-13)


def test_labels_change_between_calls_with_same_shape():
    cm = numeric.compile_model(derive.model("softmax", features=3, classes=3))
    P = cm.init_params(seed=0)
    X, y = data_for(cm, m=12, seed=4)
    cm.grad(P, X, y)
    y2 = (y + 1) % 3
    assert_grads_close(cm.grad(P, X, y2), hand_softmax(P, X, y2), rtol=1e-10, atol=1e-13)
    y2[0] = (y2[0] + 1) % 3          # mutated in place: still noticed
    assert_grads_close(cm.grad(P, X, y2), hand_softmax(P, X, y2), rtol=1e-10, atol=1e-13)


def test_accepts_lists_fortran_order_and_float_labels():
    cm = numeric.compile_model(derive.model("softmax", features=2, classes=3))
    P = cm.init_params(seed=0)
    X, y = data_for(cm, m=9, seed=5)
    want = hand_softmax(P, X, y)
    assert_grads_close(cm.grad(P, np.asfortranarray(X), y.astype(float)), want, rtol=1e-12, atol=1e-14)
    assert_grads_close(cm.grad(P, X.tolist(), y.tolist()), want, rtol=1e-12, atol=1e-14)


def test_bad_inputs_raise_derive_error():
    cm = numeric.compile_model(derive.model("mlp", features=3, hidden=2, classes=3))
    P = cm.init_params()
    X, y = data_for(cm, m=4)
    with pytest.raises(DeriveError, match="shape"):
        cm.grad(P, X[:, :2], y)
    with pytest.raises(DeriveError, match="y must"):
        cm.grad(P, X, y[:3])
    with pytest.raises(DeriveError, match="0..2"):
        cm.grad(P, X, np.array([0, 1, 2, 3]))
    with pytest.raises(DeriveError, match="integer"):
        cm.grad(P, X, np.array([0, 1.5, 2, 1]))
    with pytest.raises(DeriveError, match="W2"):
        cm.grad({k: v for k, v in P.items() if k != "W2"}, X, y)
    with pytest.raises(DeriveError, match="shape"):
        cm.grad({**P, "b1": np.zeros(3)}, X, y)
    with pytest.raises(DeriveError, match="trainable"):
        numeric.compile_model(derive.model("chain-rule"))


def test_symbolic_work_is_independent_of_size():
    small = numeric.compile_model(derive.model("sigmoid-sum", features=1, hidden=5))
    large = numeric.compile_model(derive.model("sigmoid-sum", features=1, hidden=500))
    assert set(small.kernels) == set(large.kernels)
    for name in small.kernels:
        assert small.kernels[name].exprs == large.kernels[name].exprs
        assert small.kernels[name].source == large.kernels[name].source
    assert "500" not in "".join(k.source for k in large.kernels.values())


def test_local_derivatives_come_from_the_engine():
    z, y = sp.symbols("z y", real=True)
    rule = compiled_module.output_rule("sigmoid-cross-entropy")
    expected = engine.derivative(rule.loss, rule.z)
    assert sp.simplify(rule.dloss - expected) == 0
    assert sp.simplify(rule.dloss - (sigmoid(rule.z) - rule.y)) == 0
    act = compiled_module.activation_rule(sigmoid)
    assert sp.simplify(act.dg - act.a * (1 - act.a)) == 0


# --------------------------------------------------------------------------------------------
# The bridge


def test_lambdify_stable_logistic_loss():
    z, y = sp.symbols("z y")
    loss = -(y * sp.log(sigmoid(z)) + (1 - y) * sp.log(1 - sigmoid(z)))
    f = bridge.lambdify([z, y], loss)
    zs = np.array([-1000.0, -800.0, 0.0, 800.0, 1000.0])
    for label in (0.0, 1.0):
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            got = f(zs, label)
        np.testing.assert_allclose(got, np.logaddexp(0, zs) - label * zs, rtol=1e-14)
    dloss = bridge.lambdify([z, y], engine.derivative(loss, z))
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        np.testing.assert_allclose(dloss(zs, 1.0), [-1.0, -1.0, -0.5, 0.0, 0.0], atol=1e-15)


def test_lambdify_named_functions():
    z = sp.Symbol("z")
    zs = np.array([-2.0, -0.0, 0.0, 0.25, 3.0])
    f = bridge.lambdify(z, [relu(z), sp.Heaviside(z, 0), hard_sigmoid(z), softplus(z), sigmoid(z)])
    r, h, hs, sp_, s = f(zs)
    np.testing.assert_array_equal(r, np.maximum(zs, 0))
    np.testing.assert_array_equal(h, [0.0, 0.0, 0.0, 1.0, 1.0])
    np.testing.assert_array_equal(hs, [0.0, 0.0, 0.0, 0.25, 1.0])
    np.testing.assert_allclose(sp_, np.log1p(np.exp(zs)), rtol=1e-14)
    np.testing.assert_allclose(s, 1 / (1 + np.exp(-zs)), rtol=1e-14)
    assert isinstance(f(zs), list)


def test_lambdify_broadcasts_and_checks_symbols():
    x, y = sp.symbols("x y")
    f = bridge.lambdify([x, y], sp.Integer(3))
    assert f(np.zeros((2, 3)), np.zeros(3)).shape == (2, 3)
    g = bridge.lambdify((x, y), (x * y, x + 1))
    out = g(np.arange(3), np.arange(2)[:, None])
    assert isinstance(out, tuple) and out[0].shape == (2, 3) and out[1].shape == (2, 3)
    np.testing.assert_array_equal(out[0], np.outer(np.arange(2), np.arange(3)))
    with pytest.raises(DeriveError, match="y"):
        bridge.lambdify([x], x * y)
    with pytest.raises(DeriveError, match="undefined"):
        bridge.lambdify([x], sp.Function("f")(x))


# Random smooth expressions in x (and a parameter c) built from +, *, exp, log of positives,
# sigmoid, tanh: small enough to stay within float range on [-1, 1].
X_SYM, C_SYM = sp.symbols("x c", real=True)


def _expressions():
    leaves = st.sampled_from([X_SYM, X_SYM, C_SYM, sp.Integer(2), sp.Rational(-1, 3), sp.Rational(1, 2)])

    def extend(children):
        unary = st.sampled_from([
            sp.exp,
            sigmoid,
            sp.tanh,
            lambda e: sp.log(1 + e**2),
            lambda e: sp.log(sigmoid(e)),
            lambda e: sp.log(1 - sigmoid(e)),
            lambda e: sp.log(1 + sp.exp(e)),
        ])
        return st.one_of(
            st.builds(lambda a, b: a + b, children, children),
            st.builds(lambda a, b: a * b, children, children),
            st.builds(lambda f, a: f(a), unary, children),
        )

    return st.recursive(leaves, extend, max_leaves=6)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expr=_expressions(), point=st.floats(-1, 1), c=st.floats(-1, 1))
def test_lambdified_derivative_matches_finite_differences(expr, point, c):
    f = bridge.lambdify([X_SYM, C_SYM], expr)
    df = bridge.lambdify([X_SYM, C_SYM], engine.derivative(expr, X_SYM))
    h = 1e-6
    fd = (f(point + h, c) - f(point - h, c)) / (2 * h)
    scale = 1 + abs(float(f(point, c)))
    assert abs(float(df(point, c)) - float(fd)) <= 1e-5 * (abs(float(fd)) + scale)


U_SYM, V_SYM = sp.symbols("u v", real=True)


def _kernel_expressions():
    """Expressions of a full array u, a column v and a per-column parameter c."""
    leaves = st.sampled_from([U_SYM, U_SYM, V_SYM, C_SYM, sp.Integer(3), sp.Rational(-1, 2)])

    def extend(children):
        unary = st.sampled_from([
            lambda e: sp.exp(sp.tanh(e)),
            sigmoid,
            sp.tanh,
            relu,
            softplus,
            hard_sigmoid,
            lambda e: sp.Heaviside(e, 0),
            lambda e: sp.sqrt(1 + e**2),
            lambda e: sp.log(1 + e**2),
            lambda e: sp.log(sigmoid(e)),
            lambda e: e**2,
            lambda e: e**3,
            lambda e: 1 / (1 + e**2),
            lambda e: -e,
        ])
        return st.one_of(
            st.builds(lambda a, b: a + b, children, children),
            st.builds(lambda a, b: a - b, children, children),
            st.builds(lambda a, b: a * b, children, children),
            st.builds(lambda a, b: a / (2 + sp.tanh(b)), children, children),
            st.builds(lambda f, a: f(a), unary, children),
        )

    return st.recursive(leaves, extend, max_leaves=8)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(first=_kernel_expressions(), second=_kernel_expressions())
def test_kernel_matches_lambdify(first, second):
    """The generated in-place code computes what the printed expressions compute, also when the
    outputs share sub-expressions and the inputs broadcast."""
    outputs = [first, second, first * second + first, sp.diff(first, U_SYM)]
    kernel = bridge.Kernel([U_SYM, V_SYM], outputs, params=[C_SYM])
    reference = bridge.lambdify([U_SYM, V_SYM, C_SYM], outputs)
    us = np.linspace(-1.3, 1.1, 12).reshape(3, 4)
    vs = np.array([[0.2], [-0.9], [1.4]])
    cs = np.array([0.3, -0.7, 0.1, 0.9])
    got = kernel(us, vs, params=(cs,))
    for g, want in zip(got, reference(us, vs, cs)):
        np.testing.assert_allclose(g, want, rtol=1e-10, atol=1e-12)


def test_kernel_reuses_buffers_and_folds_parameters():
    x, w, b = sp.symbols("x w b")
    kernel = bridge.Kernel([x], [sigmoid(w * x + b)], params=[w, b])
    assert kernel.n_scratch == 0                       # written in place into the output
    assert "w" in kernel.source.split("def run")[0]    # w/2 computed once, in prepare
    xs = np.linspace(-1000, 1000, 9)[:, None]
    ws, bs = np.array([1.0, -2.0]), np.array([0.5, 0.0])
    with np.errstate(over="raise", invalid="raise"):
        (out,) = kernel(xs, params=(ws, bs))
    np.testing.assert_allclose(out, np.exp(-np.logaddexp(0, -(xs * ws + bs))), atol=1e-16)


@pytest.mark.parametrize("shape", [(1, 1), (5, 10), (3, 4, 8), (2, 7, 3, 1)])
def test_row_max_is_numpys_max_over_the_last_axis(shape):
    from numeric.compiled import row_max

    rng = np.random.default_rng(len(shape))
    a = rng.standard_normal(shape)
    a.flat[0] = np.nan                               # a NaN row stays NaN, as with ndarray.max
    want = a.max(axis=-1, keepdims=True)
    np.testing.assert_array_equal(row_max(a), want)
    out = np.empty(want.shape)
    assert row_max(a, out=out) is out
    np.testing.assert_array_equal(out, want)
