"""numeric.flat: the generated one-function gradient of a dense stack against an independent
oracle (the notes' backward pass written by hand in NumPy), its guard's hand-over of inputs it
does not take to the checked path, and fresh result arrays."""

from __future__ import annotations

import numpy as np
import pytest

import derive
import numeric
from derive.errors import DeriveError

_G = {"relu": (lambda z: np.maximum(z, 0), lambda z, a: (z > 0).astype(float)),
      "tanh": (np.tanh, lambda z, a: 1 - a**2),
      "sigmoid": (lambda z: 1 / (1 + np.exp(-z)), lambda z, a: a * (1 - a))}


def hand(P, X, y, layers, activation):
    """Z = A·W + b, A = g(Z); softmax cross-entropy; dZ = dA ⊙ g′(Z), dW = Aᵀ·dZ, db = Σ dZ."""
    g, dg = _G[activation]
    m, A, caches = len(X), X, []
    for l in range(1, layers + 1):
        Z = A @ P[f"W{l}"] + P[f"b{l}"]
        caches.append((A, Z, g(Z) if l < layers else None))
        A = caches[-1][2] if l < layers else Z
    p = np.exp(A - A.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    loss = -np.log(p[np.arange(m), y]).mean()
    p[np.arange(m), y] -= 1
    dZ, grads = p / m, {}
    for l in range(layers, 0, -1):
        A_prev = caches[l - 1][0]
        grads[f"W{l}"], grads[f"b{l}"] = A_prev.T @ dZ, dZ.sum(axis=0)
        if l > 1:
            _, Z, Aout = caches[l - 2]
            dZ = (dZ @ P[f"W{l}"].T) * dg(Z, Aout)
    return loss, grads


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(5)
    return rng.standard_normal((7, 5)), rng.integers(0, 3, 7)


def assert_is_hand(cm, P, X, y, hand_result, rtol, atol) -> dict:
    """The compiled loss and gradients equal the hand-written backward pass's ``hand_result``
    (loss, gradients), the gradients in the order of the parameters; returns the gradients."""
    hand_loss, expected = hand_result
    loss, grads = cm.loss_and_grad(P, X, y)
    assert loss == pytest.approx(hand_loss, rel=1e-12)
    assert list(grads) == list(cm.param_shapes)
    for k in expected:
        np.testing.assert_allclose(grads[k], expected[k], rtol=rtol, atol=atol, err_msg=k)
    return grads


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid"])
def test_flat_gradient_is_the_hand_backward_pass(problem, activation):
    cm = numeric.compile_model(derive.model("deep", layers="5,4,4,3", activation=activation))
    assert cm.flat_source.count("def ") == 1          # one function, the kernels inlined
    X, y = problem
    P = cm.init_params(2)
    assert_is_hand(cm, P, X, y, hand(P, X, y, 3, activation), rtol=1e-10, atol=1e-14)


def test_inputs_the_guard_refuses_take_the_checked_path(problem):
    cm = numeric.compile_model(derive.model("deep", layers="5,4,4,3"))
    X, y = problem
    P = cm.init_params(0)
    fast = cm.grad(P, X, y)
    # lists, a Fortran-ordered X and int32 labels are converted by the checked path: the same gradient
    converted = cm.grad({k: v.tolist() for k, v in P.items()}, np.asfortranarray(X), y.astype(np.int32))
    for k in fast:
        np.testing.assert_array_equal(converted[k], fast[k])
    with pytest.raises(DeriveError, match="class labels"):
        cm.grad(P, X, np.where(y == 0, -1, y))
    with pytest.raises(DeriveError, match="shape"):
        cm.grad(P, X[:, :4], y)
    with pytest.raises(DeriveError, match="no 'b2'"):
        cm.grad({k: v for k, v in P.items() if k != "b2"}, X, y)


def test_a_kept_gradient_does_not_change_at_the_next_call(problem):
    cm = numeric.compile_model(derive.model("deep", layers="5,4,4,3"))
    X, y = problem
    P = cm.init_params(0)
    first = cm.grad(P, X, y)
    kept = {k: v.copy() for k, v in first.items()}
    cm.grad(P, X[::-1].copy(), y[::-1].copy())
    for k in kept:
        np.testing.assert_array_equal(first[k], kept[k])


def hand_attention(P, X, y):
    """Self-attention over the 8 rows of each example, then the softmax output, one example at a
    time: dS = P ⊙ (dP − Σ_l P dP) / √d_k, dQ = dS·K, dK = dSᵀ·Q, dV = Pᵀ·dO."""
    m, loss = len(X), 0.0
    grads = {k: np.zeros_like(v) for k, v in P.items()}
    for x, label in zip(X, y):
        T = x.reshape(8, 8)
        Q, K, V = T @ P["Wq"], T @ P["Wk"], T @ P["Wv"]
        S = Q @ K.T / np.sqrt(8)
        W = np.exp(S - S.max(axis=1, keepdims=True))
        W /= W.sum(axis=1, keepdims=True)
        O = (W @ V).reshape(-1)
        z = O @ P["W"] + P["b"]
        p = np.exp(z - z.max())
        p /= p.sum()
        loss -= np.log(p[label]) / m
        p[label] -= 1
        dz = p / m
        grads["W"] += np.outer(O, dz)
        grads["b"] += dz
        dO = (P["W"] @ dz).reshape(8, 8)
        dP = dO @ V.T
        dS = W * (dP - (W * dP).sum(axis=1, keepdims=True)) / np.sqrt(8)
        grads["Wq"] += T.T @ (dS @ K)
        grads["Wk"] += T.T @ (dS.T @ Q)
        grads["Wv"] += T.T @ (W.T @ dO)
    return loss, grads


def test_flat_attention_is_the_hand_backward_pass():
    cm = numeric.compile_model(derive.model("attention"))
    assert cm.flat_source.count("def ") == 1
    rng = np.random.default_rng(4)
    X, y = rng.standard_normal((6, 64)), rng.integers(0, 10, 6)
    P = cm.init_params(3)
    grads = assert_is_hand(cm, P, X, y, hand_attention(P, X, y), rtol=1e-9, atol=1e-13)
    # refused inputs (a list for X) go to the checked path: the same gradient
    slow = cm.grad(P, X.tolist(), y)
    for k in grads:
        np.testing.assert_array_equal(slow[k], grads[k])
