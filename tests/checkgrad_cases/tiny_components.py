"""Correct: a gradient whose entries span 12 orders of magnitude (features scaled by 1e-12)
next to O(1) ones, and a bias block that is all ~1e-13. Elementwise relative errors of finite
differences are large on the tiny entries; the checker must not call that a bug."""
import numpy as np

rng = np.random.default_rng(17)
M = 50
X = rng.standard_normal((M, 6)) * np.array([1.0, 1e-12, 3.0, 1e-11, 0.5, 1e-12])
y = rng.standard_normal(M)
params = {"w": rng.standard_normal(6), "b": 0.3, "s": np.array([2.0, -1.0])}


def loss(w, b, s):
    r = X @ w + b - y
    return 0.5 * np.mean(r ** 2) + 1e-13 * np.sum(s ** 2)


def grad(w, b, s):
    r = (X @ w + b - y) / M
    return {"w": X.T @ r, "b": r.sum(), "s": 2e-13 * s}
