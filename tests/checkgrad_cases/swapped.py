"""Planted bug: the gradient is returned as a tuple in the wrong order (W2's before W1's)."""
import numpy as np

rng = np.random.default_rng(16)
X = rng.standard_normal((12, 3))
params = {"W1": rng.standard_normal((3, 3)), "W2": rng.standard_normal((3, 3))}


def loss(W1, W2):
    return float(np.sum(np.tanh(X @ W1) @ W2) / 12)


def grad(W1, W2):
    H = np.tanh(X @ W1)
    ones = np.ones((12, 3)) / 12
    dW2 = H.T @ ones
    dW1 = X.T @ ((ones @ W2.T) * (1 - H ** 2))
    return dW2, dW1   # BUG: params order is W1, W2
