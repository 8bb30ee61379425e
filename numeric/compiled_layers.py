"""Compiled networks with structured layers: convolution, pooling and self-attention, with dense
layers and a softmax output.

A network whose layers include a ``derive.network.Conv``, ``Pool`` or ``Attention`` compiles to
``LayeredNet``. Each example's row of ``X`` is read as the first layer wants it (``channels``
images of ``side`` × ``side`` pixels, or ``tokens`` rows of ``width``); the layers are applied in
order, and the last one is a dense layer whose logits go to the softmax cross-entropy.

No Python loop runs over pixels or tokens. The forward convolution gathers every f × f window
with ``numpy.lib.stride_tricks.sliding_window_view`` into one (C·f·f, windows) matrix (im2col),
so that Z = W · cols is one matrix product (the long side of both products is the windows). The backward pass is the one ``derive conv`` derives:

* ∂L/∂W_kcuv = Σ_ij dZ_kij · X_c(i+u−1)(j+v−1): the product dZ · colsᵀ;
* ∂L/∂b_k = Σ_ij dZ_kij;
* ∂L/∂X_cpq = Σ_k Σ_uv dZ̃_k(p+u−1)(q+v−1) · W̃_kcuv, a "full" convolution: dZ padded with f − 1
  rings of zeros (and, for a stride s > 1, with s − 1 zeros between its entries), cross-correlated
  with the filter turned by 180°, again by im2col.

Max-pooling sends dA to the first largest input of each window, average-pooling dA/size² to each.
Attention follows ``derive attention``, batched over the examples: dV = Pᵀ·dO, dP = dO·Vᵀ, through
the softmax's Jacobian dS = P ⊙ (dP − (P ⊙ dP)·u·uᵀ), dQ = dS·K/√d_k, dK = dSᵀ·Q/√d_k, and the
projections' gradients Xᵀ·dQ, Xᵀ·dK, Xᵀ·dV summed over the examples.
The activations' g and g′ are the engine's kernels (``numeric.compiled``), as for dense layers.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from derive.errors import said
from derive.functions import relu
from derive.network import Attention, Conv, Dense, Pool

from .compiled import (CompiledModel, _backprop_kernel, _Classifier, _hidden_kernel, activation_rule, class_labels,
                       row_max, softmax_rule)
from .flat import FlatGradient, flat_attention, flat_conv

__all__ = ["LayeredNet", "im2col", "conv_backward_input", "attention_backward"]

_STRUCTURED = (Conv, Pool, Attention)


@lru_cache(maxsize=None)
def _ones(n: int):
    """A read-only vector of n ones: row sums as one BLAS product, without a new array each call."""
    ones = np.ones(n)
    ones.flags.writeable = False
    return ones


@lru_cache(maxsize=None)
def _inv_sqrt(n: int):
    """1/√n as NumPy computes it (the same bits as ``1.0 / np.sqrt(n)``), worked out once."""
    return 1.0 / np.sqrt(n)


def im2col(images, filt: int, stride: int = 1):
    """Every ``filt`` × ``filt`` window of ``images``, one column per window.

    Parameters
    ----------
    images : ndarray of shape (m, C, n, n)
    filt, stride : int

    Returns
    -------
    ndarray of shape (C · filt · filt, m · n_Z · n_Z)
        Rows ordered (channel, u, v); columns (example, window row, window column).

    Examples
    --------
    >>> im2col(np.arange(9.0).reshape(1, 1, 3, 3), 2)
    array([[0., 1., 3., 4.],
           [1., 2., 4., 5.],
           [3., 4., 6., 7.],
           [4., 5., 7., 8.]])
    """
    m, c = images.shape[:2]
    windows = sliding_window_view(images, (filt, filt), axis=(2, 3))[:, :, ::stride, ::stride]
    side = windows.shape[2]
    return windows.transpose(1, 4, 5, 0, 2, 3).reshape(c * filt * filt, m * side * side)


def _pad(images, p: int):
    return images if p == 0 else np.pad(images, ((0, 0), (0, 0), (p, p), (p, p)))


def conv_backward_input(dZ, W, side: int, padding: int, stride: int):
    """∂L/∂X of a convolution: the full convolution of dZ with the flipped filter.

    Parameters
    ----------
    dZ : ndarray of shape (m, K, n_Z, n_Z)
    W : ndarray of shape (K, C, f, f)
    side, padding, stride : int
        The input's side n, and the layer's p and s.

    Returns
    -------
    ndarray of shape (m, C, n, n)
    """
    m, k, nz, _ = dZ.shape
    f = W.shape[2]
    if stride > 1:      # a stride s skips windows: put s − 1 zeros between dZ's entries
        spread = np.zeros((m, k, (nz - 1) * stride + 1, (nz - 1) * stride + 1))
        spread[:, :, ::stride, ::stride] = dZ
        dZ = spread
    padded = _pad(dZ, f - 1)
    flipped = W[:, :, ::-1, ::-1]
    cols = im2col(padded, f)                                    # (K·f·f, m·r·r)
    r = padded.shape[2] - f + 1
    dXp = (flipped.transpose(1, 0, 2, 3).reshape(-1, k * f * f) @ cols).reshape(-1, m, r, r)
    dXp = dXp.transpose(1, 0, 2, 3)
    full = side + 2 * padding
    if r < full:        # rows and columns no window reached get no gradient
        dXp = np.pad(dXp, ((0, 0), (0, 0), (0, full - r), (0, full - r)))
    return dXp[:, :, padding : padding + side, padding : padding + side]


def attention_backward(Q, K, V, weights, dO):
    """dQ, dK, dV of O = softmax(Q·Kᵀ/√d_k)·V from dO, for a stack of problems.

    Parameters
    ----------
    Q : ndarray of shape (..., n, d_k)
    K : ndarray of shape (..., m, d_k)
    V : ndarray of shape (..., m, d_v)
    weights : ndarray of shape (..., n, m)
        The forward pass's P = softmax(Q·Kᵀ/√d_k), row by row.
    dO : ndarray of shape (..., n, d_v)

    Returns
    -------
    tuple of ndarray
        dQ, dK and dV, with the shapes of Q, K and V.
    """
    dV = np.swapaxes(weights, -1, -2) @ dO
    dS = dO @ np.swapaxes(V, -1, -2)            # dP, turned into dS in place
    # through the softmax's Jacobian, row by row: dS = P ⊙ (dP − Σ_l P_il dP_il)
    # (a row sum as a product with ones: one BLAS call, faster than a reduction along a short axis)
    dS -= ((weights * dS) @ _ones(dS.shape[-1]))[..., None]
    dS *= weights
    dS *= _inv_sqrt(Q.shape[-1])                 # the 1/√d_k of both dQ and dK, applied once
    return dS @ K, np.swapaxes(dS, -1, -2) @ Q, dV


def _names(layer) -> tuple:
    """The names of a layer's parameters."""
    if isinstance(layer, Attention):
        return layer.query_weight.name, layer.key_weight.name, layer.value_weight.name
    return () if isinstance(layer, Pool) else (layer.weight.name, layer.bias.name)


class LayeredNet(_Classifier, FlatGradient, CompiledModel):
    """Convolution, pooling, attention and dense layers, then the softmax cross-entropy."""

    @staticmethod
    def fits(network):
        *_, out = network.layers
        return (any(isinstance(layer, _STRUCTURED) for layer in network.layers)
                and network.loss == "softmax-cross-entropy" and isinstance(out, Dense) and out.activation is None)

    def __init__(self, model, network):
        self.roles = tuple(network.param_shapes())
        super().__init__(model, network)
        self.layers = network.layers
        self.classes = network.classes
        for layer in self.layers:
            if isinstance(layer, Pool) and layer.units < 1:
                raise said(f"model {model.name!r}: the pooling window {layer.size} is larger than the "
                           f"{layer.side} × {layer.side} image it pools",
                           f"模型 {model.name!r}：池化窗口 {layer.size} 大于它所池化的 {layer.side} × {layer.side} 图像")
        self.dz = softmax_rule()
        self.kernels = {"dloss_dz": self.dz}
        self._act = {}
        for index, layer in enumerate(self.layers[:-1], 1):
            if layer.activation is not None:
                fwd, bp = _hidden_kernel(layer.activation, inline_x=False), _backprop_kernel(layer.activation)
                self._act[index - 1] = (fwd, bp, activation_rule(layer.activation).needs_u)
                self.kernels.update({f"hidden{index}": fwd, f"backprop{index}": bp})
        # the shape (after the m examples) in which each layer hands ∂L/∂(its input) to the layer
        # below: fixed by the network, so worked out here and not at every gradient
        self._shape_below = [None, *(self._out_shape(layer) for layer in self.layers[:-1])]
        # self-attention, or a convolution and max-pooling, then the output layer: the whole
        # gradient as one generated function
        self._flat, self.flat_source = (flat_attention(self, _ones, _inv_sqrt) or flat_conv(self, _ones)
                                        or (None, None))

    def _flat_buffers(self, m):
        """The softmax's scratch for m rows, as the tuple the generated gradient unpacks."""
        return self._buffer_set(("flat", m), lambda: (np.zeros((m, self.classes)), np.arange(m),
                                                      *self.dz.scratch((m, self.classes))))

    @staticmethod
    def _out_shape(layer) -> tuple:
        if isinstance(layer, Conv):
            return (layer.filters, layer.out_side, layer.out_side)
        if isinstance(layer, Pool):
            return (layer.channels, layer.out_side, layer.out_side)
        return (layer.units,)

    def _init(self, name, shape, rng):
        layer = next(l for l in self.layers if name in _names(l))
        if isinstance(layer, Attention):
            return rng.standard_normal(shape) / np.sqrt(shape[0])
        if name == layer.bias.name:
            return np.zeros(shape)
        fan_in = int(np.prod(shape[1:])) if isinstance(layer, Conv) else shape[0]
        # He's initialisation for ReLU units: half of them are zero
        gain = 2.0 if layer.activation is relu else 1.0
        return rng.standard_normal(shape) * np.sqrt(gain / fan_in)

    def _targets(self, y, m):
        return class_labels(y, m, self.classes)

    # forward --------------------------------------------------------------------------------
    def _forward(self, P, X):
        """The logits (m, classes) and, per layer, what its backward step needs."""
        m = X.shape[0]
        A = X
        caches = []
        for index, layer in enumerate(self.layers):
            if isinstance(layer, Attention):
                A, cache = self._attend(layer, P, A.reshape(m, layer.tokens, layer.width))
                caches.append(cache)
                continue
            if isinstance(layer, (Conv, Pool)):      # its input as images, whatever the layer below
                A = A.reshape(m, layer.channels, layer.side, layer.side)
            if isinstance(layer, Conv):
                cols = im2col(_pad(A, layer.padding), layer.filter, layer.stride)
                W = P[layer.weight.name]
                nz = layer.out_side
                U = (W.reshape(layer.filters, -1) @ cols).reshape(layer.filters, m, nz, nz).transpose(1, 0, 2, 3)
                cache = {"cols": cols}
            elif isinstance(layer, Pool):
                A, cache = self._pool(layer, A)
                caches.append(cache)
                continue
            else:
                A = A.reshape(m, -1)
                U = np.dot(A, P[layer.weight.name])
                cache = {"A": A}
            bias = P[layer.bias.name]
            bias = bias[:, None, None] if isinstance(layer, Conv) else bias
            if index in self._act:
                fwd, _, needs_u = self._act[index]
                outs = fwd(U, params=(bias,))
                cache.update(U=outs[0] if needs_u else None, Aout=outs[-1])
                A = outs[-1]
            else:
                A = U + bias
            caches.append(cache)
        return A, caches

    @staticmethod
    def _attend(layer, P, X):
        """O = softmax(Q·Kᵀ/√d_k)·V for each example: X (m, tokens, width) -> O (m, tokens, d_v)."""
        m = X.shape[0]
        rows = X.reshape(-1, layer.width)       # every token of every example: 2-D products
        Q, K, V = (np.dot(rows, P[w.name]).reshape(m, layer.tokens, -1)
                   for w in (layer.query_weight, layer.key_weight, layer.value_weight))
        S = Q @ K.transpose(0, 2, 1)
        S *= _inv_sqrt(layer.key)
        S -= row_max(S)                         # softmax is unchanged by a shift along the row
        Pw = np.exp(S, out=S)
        Pw /= (Pw @ _ones(Pw.shape[2]))[..., None]     # the row sums, as in attention_backward
        return Pw @ V, {"X": X, "Q": Q, "K": K, "V": V, "P": Pw}

    @staticmethod
    def _attend_back(layer, P, dO, cache, grads, with_input: bool):
        """The gradients of the three projections, and ∂L/∂X (m, tokens, width) when
        ``with_input`` (the first layer's input is the data, which needs none)."""
        X = cache["X"]
        dQ, dK, dV = attention_backward(cache["Q"], cache["K"], cache["V"], cache["P"], dO)
        rows = X.reshape(-1, layer.width).T
        dX = np.zeros_like(X) if with_input else None
        for weight, d in ((layer.query_weight, dQ), (layer.key_weight, dK), (layer.value_weight, dV)):
            grads[weight.name] = np.dot(rows, d.reshape(-1, d.shape[2]))
            if with_input:
                dX += d @ P[weight.name].T
        return dX

    @staticmethod
    def _windows(layer, A):
        """The pooling windows of A (m, C, n, n) as (m, C, n_out, n_out, size²), and A cropped."""
        s, o = layer.size, layer.out_side
        cropped = A[:, :, : o * s, : o * s]
        m, c = A.shape[:2]
        return cropped.reshape(m, c, o, s, o, s).transpose(0, 1, 2, 4, 3, 5).reshape(m, c, o, o, s * s)

    def _pool(self, layer, A):
        win = self._windows(layer, A)
        if layer.kind == "max":
            where = win.argmax(axis=-1)[..., None]
            return np.take_along_axis(win, where, axis=-1)[..., 0], {"where": where, "shape": A.shape}
        return win.mean(axis=-1), {"shape": A.shape}

    def _unpool(self, layer, dA, cache):
        """dA (m, C, n_out, n_out) routed back to the pooled input (m, C, n, n)."""
        s, o = layer.size, layer.out_side
        m, c = dA.shape[:2]
        if layer.kind == "max":
            win = np.zeros((m, c, o, o, s * s))
            np.put_along_axis(win, cache["where"], dA[..., None], axis=-1)
        else:
            win = np.broadcast_to(dA[..., None] / (s * s), (m, c, o, o, s * s))
        back = np.zeros(cache["shape"])
        back[:, :, : o * s, : o * s] = win.reshape(m, c, o, o, s, s).transpose(0, 1, 2, 4, 3, 5).reshape(
            m, c, o * s, o * s)
        return back

    def _softmax(self, z):
        zmax = row_max(z)
        e = z - zmax
        np.exp(e, out=e)
        return zmax, e, np.dot(e, _ones(e.shape[1]))[:, None]      # the row sums by BLAS, as above

    def _mean_loss(self, z, y, softmax=None):
        zmax, _, s = softmax or self._softmax(z)
        # −log p_y = log Σ_j exp(z_j) − z_y
        return float((zmax.sum() + np.log(s).sum() - z[np.arange(len(y)), y].sum()) / len(y))

    def _loss(self, P, X, y):
        z, _ = self._forward(P, X)
        return self._mean_loss(z, y)

    # backward -------------------------------------------------------------------------------
    def _grad(self, P, X, y, with_loss):
        m = X.shape[0]
        z, caches = self._forward(P, X)
        softmax = self._softmax(z)
        loss = self._mean_loss(z, y, softmax) if with_loss else None
        work = self._buffer_set(("softmax", m), lambda: {
            "onehot": np.zeros(z.shape), "rows": np.arange(m), "scratch": self.dz.scratch(z.shape)})
        onehot, rows = work["onehot"], work["rows"]
        # the mean's 1/m folded into the kernel's inputs: e/(m·s) − y/m
        onehot[rows, y] = 1.0 / m
        _, e, s = softmax
        s *= m
        dU = np.empty(z.shape)
        self.dz.run(e, s, onehot, dU, *work["scratch"])
        onehot[rows, y] = 0.0           # all zeros again for the next call
        grads = {}
        for index in range(len(self.layers) - 1, -1, -1):
            layer, cache = self.layers[index], caches[index]
            if isinstance(layer, Pool):
                dA = self._unpool(layer, dA, cache) if index else None
            elif isinstance(layer, Attention):
                dA = self._attend_back(layer, P, dA.reshape(m, layer.tokens, layer.value), cache, grads, index > 0)
            else:
                if index != len(self.layers) - 1:
                    _, backprop, needs_u = self._act.get(index, (None, None, False))
                    if backprop is not None:
                        dA = backprop(dA, *((cache["U"],) if needs_u else ()), cache["Aout"])[0]
                    dU = dA
                dA = self._affine_back(layer, P, dU, cache, grads, index > 0)
            if index:       # as the layer below gave it: an image stack, tokens or a row per example
                dA = dA.reshape(m, *self._shape_below[index])
        return loss, grads

    @staticmethod
    def _affine_back(layer, P, dU, cache, grads, with_input: bool):
        """The weight and bias gradients of a convolution or dense layer from ∂L/∂U (U before the
        activation), and ∂L/∂(its input) when ``with_input``."""
        W = P[layer.weight.name]
        if isinstance(layer, Conv):
            m, k, nz = dU.shape[0], layer.filters, layer.out_side
            flat = dU.transpose(1, 0, 2, 3).reshape(k, m * nz * nz)     # columns as im2col's
            grads[layer.weight.name] = (flat @ cache["cols"].T).reshape(W.shape)
            grads[layer.bias.name] = flat.sum(axis=1)
            return conv_backward_input(dU, W, layer.side, layer.padding, layer.stride) if with_input else None
        grads[layer.weight.name] = np.dot(cache["A"].T, dU)
        grads[layer.bias.name] = dU.sum(axis=0)
        return np.dot(dU, W.T) if with_input else None

    def _predict(self, P, X):
        z, _ = self._forward(P, X)
        _, e, s = self._softmax(z)
        return e / s

    def _classes(self, P, X):
        z, _ = self._forward(P, X)
        return np.argmax(z, axis=1)
