"""Correct, in float32: float32 params, and a loss that casts to float32 inside."""
import numpy as np

rng = np.random.default_rng(18)
X = rng.standard_normal((64, 5)).astype(np.float32)
y = rng.standard_normal(64).astype(np.float32)
params = {"w": (rng.standard_normal(5) * 0.5).astype(np.float32), "b": np.float32(0.2)}


def loss(w, b):
    z = X @ np.asarray(w, dtype=np.float32) + np.float32(b)
    return float(np.mean(np.logaddexp(np.float32(0), z) - y * z))


def grad(w, b):
    z = X @ np.asarray(w, dtype=np.float32) + np.float32(b)
    d = (np.float32(1) / (np.float32(1) + np.exp(-z)) - y) / np.float32(len(y))
    return {"w": X.T @ d, "b": d.sum()}
