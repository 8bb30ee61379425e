"""Planted bug: the loss has (LAMBDA/2)·‖W‖², the gradient forgets LAMBDA·W."""
import numpy as np

rng = np.random.default_rng(13)
M, LAMBDA = 60, 0.03
X = rng.standard_normal((M, 5))
y = rng.integers(0, 3, M)
Y = np.eye(3)[y]
params = {"W": rng.standard_normal((5, 3)), "b": np.zeros(3)}


def loss(W, b):
    Z = X @ W + b
    Z = Z - Z.max(axis=1, keepdims=True)
    data = np.mean(np.log(np.exp(Z).sum(axis=1)) - (Z * Y).sum(axis=1))
    return data + 0.5 * LAMBDA * np.sum(W ** 2)


def grad(W, b):
    Z = X @ W + b
    P = np.exp(Z - Z.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    dZ = (P - Y) / M
    return {"W": X.T @ dZ, "b": dZ.sum(axis=0)}   # BUG: + LAMBDA * W missing
