"""numeric.flat.flat_conv: the generated gradient of ``conv`` (convolution, ReLU, 2 × 2
max-pooling, softmax) against the backward pass written out with loops over the pixels, on
inputs full of ties (the first largest input of a pooling window takes the gradient), and the
same bits as the checked path (``LayeredNet._grad``)."""

from __future__ import annotations

import numpy as np
import pytest

import derive
import numeric
from test_flat import assert_is_hand


def hand_conv(P, X, y):
    """Loops over examples, filters and pixels: Z = W ⋆ X + b (padding 1), A = max(Z, 0), each
    2 × 2 window's first maximum, z = A_pool·W2 + b2, then the chain rule back."""
    W, b, W2, b2 = P["W1"], P["b1"], P["W2"], P["b2"]
    m, k = len(X), W.shape[0]
    images = np.pad(X.reshape(m, 8, 8), ((0, 0), (1, 1), (1, 1)))
    Z = np.empty((m, k, 8, 8))
    for e in range(m):
        for f in range(k):
            for i in range(8):
                for j in range(8):
                    Z[e, f, i, j] = np.sum(W[f, 0] * images[e, i:i + 3, j:j + 3]) + b[f]
    A = np.maximum(Z, 0)
    pooled, winner = np.empty((m, k, 4, 4)), {}
    for e, f, i, j in np.ndindex(m, k, 4, 4):
        window = [(2 * i + u, 2 * j + v) for u in range(2) for v in range(2)]
        best = max(window, key=lambda p: A[e, f][p])          # max keeps the first of equals
        winner[e, f, i, j], pooled[e, f, i, j] = best, A[e, f][best]
    z = pooled.reshape(m, -1) @ W2 + b2
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    loss = -np.log(p[np.arange(m), y]).mean()
    p[np.arange(m), y] -= 1
    dz = p / m
    grads = {"W2": pooled.reshape(m, -1).T @ dz, "b2": dz.sum(axis=0)}
    dpool = (dz @ W2.T).reshape(m, k, 4, 4)
    dZ = np.zeros_like(Z)
    for (e, f, i, j), (r, c) in winner.items():
        dZ[e, f, r, c] = dpool[e, f, i, j] * (Z[e, f, r, c] > 0)
    dW = np.zeros_like(W)
    for e, f, u, v in np.ndindex(m, k, 3, 3):
        dW[f, 0, u, v] += np.sum(dZ[e, f] * images[e, u:u + 8, v:v + 8])
    grads.update(W1=dW, b1=dZ.sum(axis=(0, 2, 3)))
    return loss, grads


@pytest.fixture(scope="module")
def compiled():
    model = derive.model("conv", **derive.model("conv").network().training.options)
    return numeric.compile_model(model)


def test_flat_conv_is_the_hand_backward_pass_with_ties(compiled):
    assert "np.copyto(cols6, windows)" in compiled.flat_source
    rng = np.random.default_rng(7)
    # whole numbers in a small range: equal pixels, so equal window maxima, are common
    X, y = rng.integers(0, 3, (5, 64)).astype(float), rng.integers(0, 10, 5)
    P = compiled.init_params(2)
    P["b1"] = rng.standard_normal(8)
    assert_is_hand(compiled, P, X, y, hand_conv(P, X, y), rtol=1e-9, atol=1e-13)


def test_flat_conv_has_the_bits_of_the_checked_path_and_fresh_results(compiled):
    rng = np.random.default_rng(8)
    X, y = rng.random((7, 64)), rng.integers(0, 10, 7)
    P = compiled.init_params(1)
    loss, grads = compiled._flat(P, X, y, True)
    slow_loss, slow = compiled._slow_grad(P, X, y, True)
    assert loss == slow_loss
    for k in slow:
        assert np.array_equal(grads[k], slow[k]), k
    kept = {k: v.copy() for k, v in grads.items()}
    compiled.grad(compiled.init_params(4), X, y)         # the same scratch, other numbers
    for k in kept:
        np.testing.assert_array_equal(grads[k], kept[k])
