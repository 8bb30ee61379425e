"""Correct: a two-layer net whose parameters are one dict per layer, as in a layer-object design.

``loss`` returns ``(loss, grads)`` with the gradients nested like the parameters, course-style keys
(``dW`` for ``W``), an intermediate ``dZ`` the check ignores, and bias gradients of shape (1, H) for
biases of shape (H,) (``np.sum(..., axis=0, keepdims=True)``).
"""
import numpy as np

rng = np.random.default_rng(17)
N, D, H, C = 6, 5, 4, 3
X = rng.standard_normal((N, D))
y = rng.integers(0, C, N)
params = {
    "layer1": {"W": 0.5 * rng.standard_normal((D, H)), "b": 0.1 * rng.standard_normal(H)},
    "layer2": {"W": 0.5 * rng.standard_normal((H, C)), "b": 0.1 * rng.standard_normal(C)},
}


def loss(layer1, layer2):
    z1 = X @ layer1["W"] + layer1["b"]
    a1 = np.tanh(z1)
    s = a1 @ layer2["W"] + layer2["b"]
    s = s - s.max(axis=1, keepdims=True)
    p = np.exp(s) / np.exp(s).sum(axis=1, keepdims=True)
    value = -np.mean(np.log(p[np.arange(N), y]))
    ds = p.copy()
    ds[np.arange(N), y] -= 1
    ds /= N
    dz1 = (ds @ layer2["W"].T) * (1 - a1 ** 2)
    grads = {
        "layer1": {"dW": X.T @ dz1, "db": dz1.sum(axis=0, keepdims=True), "dZ": dz1},
        "layer2": {"dW": a1.T @ ds, "db": ds.sum(axis=0, keepdims=True)},
    }
    return value, grads
