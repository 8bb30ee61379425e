"""Correct, but the loss sleeps far past any time limit."""
import time

import numpy as np

params = {"w": np.array([0.5, -1.0])}


def loss(w):
    time.sleep(3600)
    return float(np.sum(w ** 2))


def grad(w):
    return {"w": 2 * w}
