"""Correct, but leaves a non-daemon thread running."""
import threading
import time

import numpy as np

params = {"w": np.array([0.5, -1.0])}


def loss(w):
    return float(np.sum(w ** 2))


def grad(w):
    return {"w": 2 * w}

threading.Thread(target=time.sleep, args=(3600,), name="busy-worker").start()
