"""A linear softmax classifier whose ``loss`` returns (loss, grads), as a course's classifier
classes do, with no separate ``grad``; float32 data and weights. Correct."""
import numpy as np

rng = np.random.default_rng(11)
X = rng.standard_normal((9, 6)).astype(np.float32)
y = rng.integers(0, 4, 9)
reg = 0.05
params = {"W": (0.01 * rng.standard_normal((6, 4))).astype(np.float32)}


def loss(W):
    W = np.asarray(W, np.float32)
    scores = X @ W
    scores -= scores.max(axis=1, keepdims=True)
    probs = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
    n = X.shape[0]
    data_loss = -np.log(probs[np.arange(n), y]).mean()
    dscores = probs
    dscores[np.arange(n), y] -= 1
    return data_loss + reg * np.sum(W * W), {"W": X.T @ dscores / n + 2 * reg * W}
