"""A fully connected ReLU net in the style of a course's layered assignment, run in float32 as
such code runs by default: affine-ReLU layers, softmax loss, L2 on the weights. Correct."""
import numpy as np

rng = np.random.default_rng(231)
N, D, H1, H2, C = 6, 15, 20, 30, 10
X = rng.standard_normal((N, D)).astype(np.float32)
y = rng.integers(0, C, N)
reg = np.float32(0.1)
params = {
    "W1": (rng.standard_normal((D, H1)) * 0.2).astype(np.float32), "b1": np.zeros(H1, np.float32),
    "W2": (rng.standard_normal((H1, H2)) * 0.2).astype(np.float32), "b2": np.zeros(H2, np.float32),
    "W3": (rng.standard_normal((H2, C)) * 0.2).astype(np.float32), "b3": np.zeros(C, np.float32),
}


def affine_relu_forward(x, w, b):
    a = x @ w + b
    return np.maximum(0, a), (x, w, a)


def affine_relu_backward(dout, cache):
    x, w, a = cache
    da = dout * (a > 0)
    return da @ w.T, x.T @ da, da.sum(axis=0)


def softmax_loss(scores, y):
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    probs = np.exp(log_probs)
    n = scores.shape[0]
    dscores = probs.copy()
    dscores[np.arange(n), y] -= 1
    return -log_probs[np.arange(n), y].mean(), dscores / n


def model_loss(W1, b1, W2, b2, W3, b3):
    W1, b1, W2, b2, W3, b3 = (np.asarray(v, np.float32) for v in (W1, b1, W2, b2, W3, b3))
    h1, c1 = affine_relu_forward(X, W1, b1)
    h2, c2 = affine_relu_forward(h1, W2, b2)
    scores = h2 @ W3 + b3
    data_loss, dscores = softmax_loss(scores, y)
    loss = data_loss + 0.5 * reg * (np.sum(W1 * W1) + np.sum(W2 * W2) + np.sum(W3 * W3))
    grads = {"W3": h2.T @ dscores + reg * W3, "b3": dscores.sum(axis=0)}
    dh2 = dscores @ W3.T
    dh1, grads["W2"], grads["b2"] = affine_relu_backward(dh2, c2)
    _, grads["W1"], grads["b1"] = affine_relu_backward(dh1, c1)
    grads["W2"] += reg * W2
    grads["W1"] += reg * W1
    return loss, grads


def loss(**p):
    return model_loss(**p)[0]


def grad(**p):
    return model_loss(**p)[1]
