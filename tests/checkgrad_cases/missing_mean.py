"""Planted bug: logistic regression gradient without the 1/m of the mean (M examples)."""
import numpy as np

rng = np.random.default_rng(11)
M = 40
X = rng.standard_normal((M, 3))
y = (rng.random(M) < 0.5).astype(float)
params = {"w": rng.standard_normal(3) * 0.3, "b": -0.1}


def loss(w, b):
    z = X @ w + b
    return np.mean(np.logaddexp(0.0, z) - y * z)


def grad(w, b):
    a = 1 / (1 + np.exp(-(X @ w + b)))
    return {"w": X.T @ (a - y), "b": np.sum(a - y) / M}   # BUG: w lacks / M
