"""Planted bug: a square hidden layer whose weight gradient is returned transposed."""
import numpy as np

rng = np.random.default_rng(12)
M, N = 25, 4
X = rng.standard_normal((M, N))
y = rng.standard_normal(M)
params = {"W1": rng.standard_normal((N, N)) * 0.5, "w2": rng.standard_normal(N)}


def loss(W1, w2):
    return 0.5 * np.mean((np.tanh(X @ W1) @ w2 - y) ** 2)


def grad(W1, w2):
    H = np.tanh(X @ W1)
    r = (H @ w2 - y) / M
    dZ = np.outer(r, w2) * (1 - H ** 2)
    return {"W1": (X.T @ dZ).T, "w2": H.T @ r}   # BUG: transposed
