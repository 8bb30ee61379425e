"""Planted bug: 200,500 parameters (a 400×500 W and a 500-entry b: above the size where blocks
are sampled), cheap quadratic loss; the gradient of the bias block alone is wrong (its sign)."""
import numpy as np

rng = np.random.default_rng(15)
T = rng.standard_normal(500)
params = {"W": rng.standard_normal((400, 500)), "b": rng.standard_normal(500)}


def loss(W, b):
    w = W.reshape(-1)
    r = b - T
    return 0.5 * float(w @ w) + 0.5 * float(r @ r)


def grad(W, b):
    return {"W": W, "b": T - b}   # BUG: should be b - T
