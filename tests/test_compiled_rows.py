"""The one-output affine gradients (linear, logistic) over cache-sized blocks of rows, X·w by
BLAS or, for an X read from memory, by np.einsum: the numbers of the plain NumPy formulas, the
same bits call after call."""

import numpy as np
import pytest

import derive
import numeric
from numeric import compiled


@pytest.fixture(scope="module")
def models():
    return {name: numeric.compile_model(derive.model(name, features=5)) for name in ("linear", "logistic")}


def _problem(name, m):
    rng = np.random.default_rng(m)
    X = rng.standard_normal((m, 5))
    y = (rng.random(m) < 0.5).astype(float) if name == "logistic" else rng.standard_normal(m)
    P = {"w": rng.standard_normal(5), "b": np.array(0.3)}
    return P, X, y


def _plain(name, P, X, y):
    """Loss and gradient by the textbook formulas, all rows at once."""
    z = X @ P["w"] + P["b"]
    if name == "logistic":
        a = 1 / (1 + np.exp(-z))
        loss = np.mean(-y * np.log(a) - (1 - y) * np.log(1 - a))
        dz = a - y
    else:
        loss = np.mean((z - y) ** 2)
        dz = 2 * (z - y)
    return loss, {"w": X.T @ dz / len(X), "b": dz.mean()}


@pytest.mark.parametrize("streamed", [False, True], ids=["blas", "einsum"])
@pytest.mark.parametrize("name", ["linear", "logistic"])
@pytest.mark.parametrize("m", [6, 101])
def test_blocks_of_rows_give_the_plain_gradient_and_the_same_bits_twice(models, name, m, streamed, monkeypatch):
    # 101 rows in blocks of 7: 15 blocks, the last one short
    cm = models[name]
    monkeypatch.setattr(cm, "_rows", 7)
    if streamed:   # every X counts as read from memory
        monkeypatch.setattr(compiled, "_STREAMED_BYTES", 0)
        monkeypatch.setattr(compiled, "_STREAMED_MIN_FEATURES", 1)
    P, X, y = _problem(name, m)
    loss, grad = cm.loss_and_grad(P, X, y)
    want_loss, want = _plain(name, P, X, y)
    assert loss == pytest.approx(want_loss, rel=1e-12)
    for key in want:
        np.testing.assert_allclose(grad[key], want[key], rtol=1e-12, atol=1e-15)
    again_loss, again = cm.loss_and_grad(P, X, y)
    assert again_loss == loss
    assert all(np.array_equal(again[key], grad[key]) for key in grad)
