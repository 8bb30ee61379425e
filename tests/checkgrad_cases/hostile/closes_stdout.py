"""Correct; closes the process's standard output (file descriptor 1) while loading."""
import os

import numpy as np

os.close(1)
params = {"w": np.array([0.5, -1.0])}


def loss(w):
    return float(np.sum(w ** 2))


def grad(w):
    return {"w": 2 * w}
