"""Helpers next to the model file, imported as an assignment's notebook imports its utilities."""
import numpy as np


def relu(Z):
    return np.maximum(0, Z)


def sigmoid(Z):
    return 1 / (1 + np.exp(-Z))
