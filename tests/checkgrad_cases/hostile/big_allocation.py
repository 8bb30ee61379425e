"""Reserves 2 GiB (np.zeros touches no page, so without a limit this costs nothing)."""
import numpy as np

params = {"w": np.array([0.5, -1.0])}


def loss(w):
    return float(np.sum(w ** 2))


def grad(w):
    return {"w": 2 * w}

buffer = np.zeros(2 ** 28)
