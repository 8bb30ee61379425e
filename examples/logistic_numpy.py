"""Logistic regression, gradient written by hand in NumPy: a correct one.

    derive check-grad examples/logistic_numpy.py        # exit 0: every block passes

The NumPy form of a model file: `params` is the point to check at (name -> float or array),
`loss(**params)` returns the mean cross-entropy, `grad(**params)` returns a dict with the same
names and shapes. The checker compares each entry of `grad` with a finite difference of `loss`.
With a = σ(Xw + b), the gradient of the mean loss is dw = Xᵀ(a − y)/m and db = mean(a − y).
"""

import numpy as np

rng = np.random.default_rng(0)
m = 50
X = rng.standard_normal((m, 3))
y = (X @ np.array([1.5, -2.0, 0.5]) + 0.3 * rng.standard_normal(m) > 0).astype(float)

params = {"w": np.array([0.2, -0.1, 0.05]), "b": 0.1}


def sigmoid(z):
    return 0.5 * np.tanh(0.5 * z) + 0.5


def loss(w, b):
    z = X @ w + b
    # −y log σ(z) − (1 − y) log(1 − σ(z)), written without overflow: log(1 + e^z) − y·z
    return np.mean(np.logaddexp(0.0, z) - y * z)


def grad(w, b):
    a = sigmoid(X @ w + b)
    dz = (a - y) / m
    return {"w": X.T @ dz, "b": dz.sum()}
