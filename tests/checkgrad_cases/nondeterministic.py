"""Bad: the loss uses unseeded randomness (a dropout mask drawn on every call)."""
import numpy as np

X = np.random.default_rng(19).standard_normal((20, 4))
params = {"w": np.ones(4)}


def loss(w):
    keep = np.random.random(X.shape) > 0.5          # dropout, a new mask each call
    return float(np.mean((X * keep / 0.5) @ w) ** 2)


def grad(w):
    return {"w": 2 * np.mean(X @ w) * X.mean(axis=0)}
