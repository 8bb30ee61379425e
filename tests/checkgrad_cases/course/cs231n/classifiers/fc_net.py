"""A stand-in, written for these tests, with the API of CS231n's FullyConnectedNet (``params`` a
flat dict W1, b1, …; ``loss(X, y)`` returning ``(loss, grads)``), so the README's three-line
wrapper of it runs here as written."""
import numpy as np
from cs231n_layers import affine_backward, affine_forward, softmax_loss


class FullyConnectedNet:
    def __init__(self, hidden_dims, input_dim=3 * 32 * 32, num_classes=10, reg=0.0, weight_scale=1e-2,
                 dtype=np.float32, seed=None):
        rng = np.random.default_rng(seed)
        dims = [input_dim, *hidden_dims, num_classes]
        self.num_layers, self.reg = len(dims) - 1, reg
        self.params = {}
        for i in range(1, len(dims)):
            self.params[f"W{i}"] = (weight_scale * rng.standard_normal((dims[i - 1], dims[i]))).astype(dtype)
            self.params[f"b{i}"] = np.zeros(dims[i], dtype=dtype)

    def loss(self, X, y=None):
        h, caches = X, []
        for i in range(1, self.num_layers + 1):
            h, cache = affine_forward(h, self.params[f"W{i}"], self.params[f"b{i}"])
            caches.append((cache, h))
            if i < self.num_layers:
                h = np.maximum(h, 0)
        if y is None:
            return h
        loss, dh = softmax_loss(h, y)
        grads = {}
        for i in range(self.num_layers, 0, -1):
            cache, z = caches[i - 1]
            if i < self.num_layers:
                dh = dh * (z > 0)
            W = self.params[f"W{i}"]
            loss += 0.5 * self.reg * np.sum(W * W)
            dh, grads[f"W{i}"], grads[f"b{i}"] = affine_backward(dh, cache)
            grads[f"W{i}"] = grads[f"W{i}"] + self.reg * W
        return loss, grads
