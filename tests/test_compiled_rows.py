"""The one-output affine gradients (linear, logistic) split into cache-sized blocks of rows and
over threads: the same numbers as the plain NumPy formulas, and the same bits whichever threads
computed the blocks."""

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

import derive
import numeric
from numeric import compiled
from numeric.threads import SMALL_WORK, blas_threads, threads_allowed


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


def _grad(cm, P, X, y, rows, threads, monkeypatch):
    monkeypatch.setattr(cm, "_rows", rows)
    monkeypatch.setattr(compiled, "threads_allowed", lambda: threads)
    return cm.loss_and_grad(P, X, y)


@pytest.mark.parametrize("name", ["linear", "logistic"])
@pytest.mark.parametrize("m", [6, 101])
def test_blocks_over_two_threads_give_the_plain_gradient_and_the_same_bits_as_one(models, name, m, monkeypatch):
    # 101 rows in blocks of 7: 15 blocks, the last one short, shared by two threads
    cm = models[name]
    P, X, y = _problem(name, m)
    loss, grad = _grad(cm, P, X, y, 7, 2, monkeypatch)
    want_loss, want = _plain(name, P, X, y)
    assert loss == pytest.approx(want_loss, rel=1e-12)
    for key in want:
        np.testing.assert_allclose(grad[key], want[key], rtol=1e-12, atol=1e-15)
    again = _grad(cm, P, X, y, 7, 2, monkeypatch)
    alone = _grad(cm, P, X, y, 7, 1, monkeypatch)
    for other_loss, other in (again, alone):
        assert other_loss == loss
        assert all(np.array_equal(other[key], grad[key]) for key in grad)


def test_the_threads_allowed_follow_the_users_blas_limit_not_a_small_problems_block():
    outside = threads_allowed()
    with blas_threads(SMALL_WORK - 1):
        assert threads_allowed() == outside
    with threadpool_limits(1, user_api="blas"):
        assert threads_allowed() == 1
