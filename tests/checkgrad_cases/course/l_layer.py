"""An L-layer network written as week-4 style course code: columns are examples, parameters W1,
b1, …, a cache per layer, and backward returning dW1/db1 next to the dA/dZ it passes down.
Correct; ``backward(..., sign_at_output=-1)`` plants a sign error in dAL."""
import numpy as np
from dnn_utils import relu, sigmoid

rng = np.random.default_rng(3)
layer_dims = [5, 4, 3, 1]
X = rng.standard_normal((5, 7))
Y = (rng.random((1, 7)) > 0.5).astype(float)
params = {}
for l in range(1, len(layer_dims)):
    params[f"W{l}"] = rng.standard_normal((layer_dims[l], layer_dims[l - 1])) * 0.5
    params[f"b{l}"] = rng.standard_normal((layer_dims[l], 1)) * 0.1
L = len(layer_dims) - 1


def forward(p):
    A, caches = X, []
    for l in range(1, L + 1):
        Z = p[f"W{l}"] @ A + p[f"b{l}"]
        caches.append((A, Z))
        A = sigmoid(Z) if l == L else relu(Z)
    return A, caches


def compute_cost(AL):
    return float(-np.mean(Y * np.log(AL) + (1 - Y) * np.log(1 - AL)))


def backward(AL, caches, p, sign_at_output=1):
    m = X.shape[1]
    grads = {}
    dA = sign_at_output * -(np.divide(Y, AL) - np.divide(1 - Y, 1 - AL))
    for l in reversed(range(1, L + 1)):
        A_prev, Z = caches[l - 1]
        dZ = dA * AL * (1 - AL) if l == L else dA * (Z > 0)
        grads[f"dZ{l}"] = dZ
        grads[f"dW{l}"] = dZ @ A_prev.T / m
        grads[f"db{l}"] = np.sum(dZ, axis=1, keepdims=True) / m
        dA = p[f"W{l}"].T @ dZ
        grads[f"dA{l - 1}"] = dA
    return grads


def loss(**p):
    return compute_cost(forward(p)[0])


def grad(**p):
    AL, caches = forward(p)
    return backward(AL, caches, p)
