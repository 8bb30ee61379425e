"""A two-layer network with the classic backprop bug: the activation derivative is forgotten.

    derive check-grad examples/buggy_backprop.py        # exit 1

Forward:  Z1 = X W1 + b1,  A1 = tanh(Z1),  Z2 = A1 W2 + b2,  loss = mean softmax cross-entropy.
Backward: dZ2 = (softmax(Z2) − Y)/m,  dW2 = A1ᵀ dZ2,  db2 = Σ dZ2,  dA1 = dZ2 W2ᵀ,
          dZ1 = dA1 ⊙ tanh′(Z1) = dA1 ⊙ (1 − A1²)   <- this file writes dZ1 = dA1

The checker finds W2 and b2 right and W1 and b1 wrong, and says where the error enters: on the
way back from layer 2 to layer 1, where the activation derivative g′ belongs. Put the
(1 - A1**2) factor back and the file passes.
"""

import numpy as np

rng = np.random.default_rng(1)
m, n, h, c = 40, 5, 8, 3
X = rng.standard_normal((m, n))
y = rng.integers(0, c, m)
Y = np.eye(c)[y]

params = {
    "W1": rng.standard_normal((n, h)) / np.sqrt(n),
    "b1": np.zeros(h),
    "W2": rng.standard_normal((h, c)) / np.sqrt(h),
    "b2": np.zeros(c),
}


def forward(W1, b1, W2, b2):
    A1 = np.tanh(X @ W1 + b1)
    Z2 = A1 @ W2 + b2
    Z2 = Z2 - Z2.max(axis=1, keepdims=True)
    P = np.exp(Z2) / np.exp(Z2).sum(axis=1, keepdims=True)
    return A1, Z2, P


def loss(W1, b1, W2, b2):
    _, Z2, _ = forward(W1, b1, W2, b2)
    return np.mean(np.log(np.exp(Z2).sum(axis=1)) - (Z2 * Y).sum(axis=1))


def grad(W1, b1, W2, b2):
    A1, _, P = forward(W1, b1, W2, b2)
    dZ2 = (P - Y) / m
    dA1 = dZ2 @ W2.T
    dZ1 = dA1  # BUG: should be dA1 * (1 - A1**2), the derivative of tanh
    return {"W1": X.T @ dZ1, "b1": dZ1.sum(axis=0), "W2": A1.T @ dZ2, "b2": dZ2.sum(axis=0)}
