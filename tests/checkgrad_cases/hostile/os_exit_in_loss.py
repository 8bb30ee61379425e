"""Calls os._exit(0) inside loss."""
import os

import numpy as np

params = {"w": np.array([0.5, -1.0])}


def loss(w):
    os._exit(0)


def grad(w):
    return {"w": 2 * w}
