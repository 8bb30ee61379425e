"""Planted bug: a 64-68-10 MLP (5,110 parameters) whose gradient is right except W1[BAD]."""
import numpy as np

rng = np.random.default_rng(14)
M, N, H, C = 100, 64, 68, 10
BAD = (7, 13)
X = rng.standard_normal((M, N))
Y = np.eye(C)[rng.integers(0, C, M)]
params = {
    "W1": rng.standard_normal((N, H)) / 8,
    "b1": rng.standard_normal(H) * 0.1,
    "W2": rng.standard_normal((H, C)) / 8,
    "b2": rng.standard_normal(C) * 0.1,
}


def loss(W1, b1, W2, b2):
    Z2 = np.tanh(X @ W1 + b1) @ W2 + b2
    Z2 = Z2 - Z2.max(axis=1, keepdims=True)
    return np.mean(np.log(np.exp(Z2).sum(axis=1)) - (Z2 * Y).sum(axis=1))


def correct_grad(W1, b1, W2, b2):
    A1 = np.tanh(X @ W1 + b1)
    Z2 = A1 @ W2 + b2
    P = np.exp(Z2 - Z2.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    dZ2 = (P - Y) / M
    dZ1 = (dZ2 @ W2.T) * (1 - A1 ** 2)
    return {"W1": X.T @ dZ1, "b1": dZ1.sum(axis=0), "W2": A1.T @ dZ2, "b2": dZ2.sum(axis=0)}


def grad(W1, b1, W2, b2):
    g = correct_grad(W1, b1, W2, b2)
    g["W1"][BAD] += 0.1 * abs(g["W1"][BAD]) + 1e-6   # BUG: one entry off by 10%
    return g
