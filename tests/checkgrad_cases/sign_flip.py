"""Planted bug: linear regression whose w-gradient uses (y - yhat) instead of (yhat - y)."""
import numpy as np

rng = np.random.default_rng(10)
M = 30
X = rng.standard_normal((M, 4))
y = rng.standard_normal(M)
params = {"w": rng.standard_normal(4), "b": 0.2}


def loss(w, b):
    return np.mean((X @ w + b - y) ** 2)


def grad(w, b):
    r = X @ w + b - y
    return {"w": 2 * X.T @ (y - (X @ w + b)) / M, "b": 2 * r.mean()}   # BUG: sign of w
