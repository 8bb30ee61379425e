"""A ReLU unit sitting exactly on its kink: why a correct gradient can "fail" a naive check.

    derive check-grad examples/checkgrad_relu_kink.py   # exit 0, verdict kink-accepted

The hidden unit's pre-activation is exactly 0 on the first example (b1 was chosen that way), so
ReLU is not differentiable there. A central difference straddles the kink and averages the two
slopes (½ for ReLU), while backprop uses ReLU′(0) = 0 — a different number, and both are fine.
The checker notices that the forward and backward differences disagree at every step size (a
kink, not curvature), checks that the analytic value lies between them (it is a subgradient),
and accepts it, saying so.
"""

import numpy as np

X = np.array([[1.0, 2.0], [0.5, -1.0], [-1.5, 0.5], [2.0, 1.0]])
y = np.array([1.0, -0.5, 0.25, 2.0])
W1 = np.array([[0.4, -0.3, 0.8], [0.1, 0.2, -0.6]])
b1 = -(X[0] @ W1)
b1[1:] = [0.05, 0.3]                       # unit 0 is exactly at 0 on example 0
params = {"W1": W1, "b1": b1, "w2": np.array([1.0, -2.0, 0.5]), "b2": 0.1}


def loss(W1, b1, w2, b2):
    H = np.maximum(X @ W1 + b1, 0.0)
    return 0.5 * np.mean((H @ w2 + b2 - y) ** 2)


def grad(W1, b1, w2, b2):
    Z = X @ W1 + b1
    H = np.maximum(Z, 0.0)
    r = (H @ w2 + b2 - y) / len(y)
    dZ = np.outer(r, w2) * (Z > 0)         # ReLU′(0) = 0
    return {"W1": X.T @ dZ, "b1": dZ.sum(axis=0), "w2": H.T @ r, "b2": r.sum()}
