"""A two-layer ReLU net with softmax cross-entropy, CS231n's TwoLayerNet at any size.

``make(features, hidden, classes, examples, bug=None)`` builds the data, the point and the loss
and gradient; run as a model file it is the CIFAR-size net, 3072-50-10 on 20 examples
(3072·50 + 50 + 50·10 + 10 = 154,160 parameters), written here as a generator rather than a
megabyte of numbers. ``bug`` plants one of:

* ``"entry"``: one entry of W1 (``BAD_ENTRY`` of the block's shape) off by 10% of its value;
* ``"factor"``: W2's gradient twice what it should be (a constant factor in a small block).

``zero_rows`` examples of zeros put their pre-activations at b1, exactly at ReLU's kink where
b1 is zero.
"""
import numpy as np


def bad_entry(features, hidden):
    """The W1 entry the "entry" bug changes: chosen away from the block's edges and halves."""
    return (features // 3 + 1, hidden // 2 + 1)


def make(features=3072, hidden=50, classes=10, examples=20, bug=None, seed=17, zero_rows=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((examples, features))
    X[:zero_rows] = 0.0
    y = rng.integers(0, classes, examples)
    params = {
        "W1": rng.standard_normal((features, hidden)) / np.sqrt(features),
        "b1": rng.standard_normal(hidden) * 0.1,
        "W2": rng.standard_normal((hidden, classes)) / np.sqrt(hidden),
        "b2": rng.standard_normal(classes) * 0.1,
    }
    rows = np.arange(examples)

    def loss(W1, b1, W2, b2):
        scores = np.maximum(X @ W1 + b1, 0) @ W2 + b2
        scores = scores - scores.max(axis=1, keepdims=True)
        return float(np.mean(np.log(np.exp(scores).sum(axis=1)) - scores[rows, y]))

    def grad(W1, b1, W2, b2):
        Z1 = X @ W1 + b1
        A1 = np.maximum(Z1, 0)
        scores = A1 @ W2 + b2
        P = np.exp(scores - scores.max(axis=1, keepdims=True))
        P /= P.sum(axis=1, keepdims=True)
        P[rows, y] -= 1
        dS = P / examples
        dZ1 = (dS @ W2.T) * (Z1 > 0)
        g = {"W1": X.T @ dZ1, "b1": dZ1.sum(axis=0), "W2": A1.T @ dS, "b2": dS.sum(axis=0)}
        if bug == "entry":
            g["W1"][bad_entry(features, hidden)] *= 1.1
        elif bug == "factor":
            g["W2"] *= 2
        return g

    return loss, grad, params


loss, grad, params = make()
