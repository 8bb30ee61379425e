"""Planted bug: 1,001,000 parameters (a 1000×1000 W and a 1000-entry b), cheap quadratic loss;
the gradient of the bias block alone is wrong (its sign)."""
import numpy as np

rng = np.random.default_rng(15)
T = rng.standard_normal(1000)
params = {"W": rng.standard_normal((1000, 1000)), "b": rng.standard_normal(1000)}


def loss(W, b):
    w = W.reshape(-1)
    r = b - T
    return 0.5 * float(w @ w) + 0.5 * float(r @ r)


def grad(W, b):
    return {"W": W, "b": T - b}   # BUG: should be b - T
