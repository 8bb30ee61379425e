"""Layers written the way CS231n's assignments write them (forward returns a cache, backward takes
it), for the fully connected net with batch normalization and inverted dropout that the check-grad
cases in this folder wrap. ``BUGS`` names the classic mistakes the planted-bug cases switch on."""
import numpy as np

BUGS = ("bn-dropped-path", "dropout-no-mask", "dropout-no-scale", "no-reg-W2")
EPS = 1e-5


def affine_forward(x, w, b):
    return x @ w + b, (x, w)


def affine_backward(dout, cache):
    x, w = cache
    return dout @ w.T, x.T @ dout, dout.sum(axis=0)


def batchnorm_forward(x, gamma, beta):
    mu = x.mean(axis=0)
    var = x.var(axis=0)
    xhat = (x - mu) / np.sqrt(var + EPS)
    return gamma * xhat + beta, (xhat, gamma, np.sqrt(var + EPS))


def batchnorm_backward(dout, cache, bugs=()):
    xhat, gamma, std = cache
    dxhat = dout * gamma
    if "bn-dropped-path" in bugs:
        # the paths through the batch mean and variance are left out
        dx = dxhat / std
    else:
        dx = (dxhat - dxhat.mean(axis=0) - xhat * (dxhat * xhat).mean(axis=0)) / std
    return dx, (dout * xhat).sum(axis=0), dout.sum(axis=0)


def dropout_forward(x, keep, mask):
    kept = mask < keep
    return x * kept / keep, (kept, keep)


def dropout_backward(dout, cache, bugs=()):
    kept, keep = cache
    if "dropout-no-mask" in bugs:
        return dout / keep
    if "dropout-no-scale" in bugs:
        return dout * kept
    return dout * kept / keep


def softmax_loss(s, y):
    s = s - s.max(axis=1, keepdims=True)
    p = np.exp(s) / np.exp(s).sum(axis=1, keepdims=True)
    n = len(y)
    ds = p.copy()
    ds[np.arange(n), y] -= 1
    return -np.mean(np.log(p[np.arange(n), y])), ds / n


def net_loss(P, X, y, *, batchnorm=False, keep=None, mask=None, bugs=(), reg=0.0):
    """A two-layer net: affine - [batchnorm] - relu - [dropout] - affine - softmax, with its gradients
    (``bugs``: some of ``BUGS``)."""
    h, c1 = affine_forward(X, P["W1"], P["b1"])
    if batchnorm:
        h, cbn = batchnorm_forward(h, P["gamma1"], P["beta1"])
    r = np.maximum(h, 0)
    if keep is not None:
        r, cdo = dropout_forward(r, keep, mask)
    s, c2 = affine_forward(r, P["W2"], P["b2"])
    loss, ds = softmax_loss(s, y)
    loss += 0.5 * reg * (np.sum(P["W1"] ** 2) + np.sum(P["W2"] ** 2))
    grads = {}
    dr, grads["W2"], grads["b2"] = affine_backward(ds, c2)
    if keep is not None:
        dr = dropout_backward(dr, cdo, bugs)
    dh = dr * (h > 0)
    if batchnorm:
        dh, grads["gamma1"], grads["beta1"] = batchnorm_backward(dh, cbn, bugs)
    _, grads["W1"], grads["b1"] = affine_backward(dh, c1)
    grads["W1"] += reg * P["W1"]
    if "no-reg-W2" not in bugs:
        grads["W2"] += reg * P["W2"]
    return loss, grads


def problem(seed, *, batchnorm=False, N=12, D=5, H=7, C=3):
    """Data and parameters at a point away from ReLU kinks."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((N, D))
    y = rng.integers(0, C, N)
    P = {"W1": rng.standard_normal((D, H)) / np.sqrt(D), "b1": 0.1 * rng.standard_normal(H)}
    if batchnorm:
        P["gamma1"] = 1 + 0.1 * rng.standard_normal(H)
        P["beta1"] = 0.1 * rng.standard_normal(H)
    P["W2"] = rng.standard_normal((H, C)) / np.sqrt(H)
    P["b2"] = 0.1 * rng.standard_normal(C)
    return X, y, P, rng.random((N, H))
