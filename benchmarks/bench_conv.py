"""Speed of the compiled gradient of ``conv`` (8 filters 3 × 3, padding 1 → ReLU → 2 × 2
max-pooling → softmax over 10 classes, as ``derive train conv`` trains it) and of ``attention``
(self-attention over the 8 rows of a digit → softmax) against hand-written NumPy, and against
PyTorch eager on the CPU when ``torch`` can be imported (a measurement-only dependency), on a
batch of 32 digits and on all 1,437 training digits.

The contestants run alternately in one process, round after round (the order cycles through every
permutation; each runs an untimed call, then a burst of timed ones, per round: see
``bench_deep.median_times``), and the medians are compared. Before timing, every other gradient
is checked against the compiled one (``bench_deep.race``).

    OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 python benchmarks/bench_conv.py            # about 30 s
    OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 python benchmarks/bench_conv.py --quick
    OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 python benchmarks/bench_conv.py --model attention
"""

from __future__ import annotations

import argparse

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

import derive
import numeric
from bench_deep import race
from numeric import datasets

try:
    import torch
except ImportError:   # the comparison with PyTorch is optional
    torch = None


def _softmax_grad(z, y):
    """dL/dz of the mean softmax cross-entropy."""
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    p[np.arange(len(y)), y] -= 1
    return p / len(y)


def hand_conv(P, X, y):
    """conv → ReLU → 2 × 2 max-pool → dense, by einsum over sliding windows."""
    m = X.shape[0]
    padded = np.pad(X.reshape(m, 1, 8, 8), ((0, 0), (0, 0), (1, 1), (1, 1)))
    windows = sliding_window_view(padded, (3, 3), axis=(2, 3))           # (m, 1, 8, 8, 3, 3)
    Z = np.einsum("mcijuv,kcuv->mkij", windows, P["W1"], optimize=True) + P["b1"][:, None, None]
    A = np.maximum(Z, 0)
    blocks = A.reshape(m, 8, 4, 2, 4, 2)
    pooled = blocks.max(axis=(3, 5))
    dz = _softmax_grad(pooled.reshape(m, -1) @ P["W2"] + P["b2"], y)
    grads = {"W2": pooled.reshape(m, -1).T @ dz, "b2": dz.sum(axis=0)}
    dpool = (dz @ P["W2"].T).reshape(m, 8, 4, 4, 1)
    # the first maximum of each window, in reading order, takes dA (the digits' pixels are
    # multiples of 1/16, so equal window sums do occur)
    flat = blocks.transpose(0, 1, 2, 4, 3, 5).reshape(m, 8, 4, 4, 4)
    mask = flat == pooled[..., None]
    first = mask & (np.cumsum(mask, axis=-1) == 1)
    dZ = (first * dpool).reshape(m, 8, 4, 4, 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(m, 8, 8, 8) * (Z > 0)
    grads["W1"] = np.einsum("mkij,mcijuv->kcuv", dZ, windows, optimize=True)
    grads["b1"] = dZ.sum(axis=(0, 2, 3))
    return grads


def hand_attention(P, X, y):
    """Self-attention over the rows of each digit, then dense, with batched matmuls."""
    m = X.shape[0]
    T = X.reshape(m, 8, 8)
    Q, K, V = T @ P["Wq"], T @ P["Wk"], T @ P["Wv"]
    S = Q @ K.transpose(0, 2, 1) / np.sqrt(8)
    W = np.exp(S - S.max(axis=2, keepdims=True))
    W /= W.sum(axis=2, keepdims=True)
    O = (W @ V).reshape(m, -1)
    dz = _softmax_grad(O @ P["W"] + P["b"], y)
    dO = (dz @ P["W"].T).reshape(m, 8, 8)
    dW = dO @ V.transpose(0, 2, 1)
    dS = W * (dW - (W * dW).sum(axis=2, keepdims=True)) / np.sqrt(8)
    rows = T.reshape(-1, 8).T
    return {"Wq": rows @ (dS @ K).reshape(-1, 8), "Wk": rows @ (dS.transpose(0, 2, 1) @ Q).reshape(-1, 8),
            "Wv": rows @ (W.transpose(0, 2, 1) @ dO).reshape(-1, 8), "W": O.T @ dz, "b": dz.sum(axis=0)}


def torch_conv(P, X, y):
    """The same network in PyTorch eager: forward and backward by autograd."""
    t = {k: torch.tensor(v, requires_grad=True) for k, v in P.items()}
    Z = torch.nn.functional.conv2d(torch.from_numpy(X).reshape(-1, 1, 8, 8), t["W1"], t["b1"], padding=1)
    pooled = torch.nn.functional.max_pool2d(torch.relu(Z), 2)
    z = pooled.reshape(X.shape[0], -1) @ t["W2"] + t["b2"]
    torch.nn.functional.cross_entropy(z, torch.from_numpy(y)).backward()
    return {k: v.grad.numpy() for k, v in t.items()}


def torch_attention(P, X, y):
    t = {k: torch.tensor(v, requires_grad=True) for k, v in P.items()}
    T = torch.from_numpy(X).reshape(-1, 8, 8)
    Q, K, V = T @ t["Wq"], T @ t["Wk"], T @ t["Wv"]
    O = torch.softmax(Q @ K.transpose(1, 2) / 8 ** 0.5, dim=2) @ V
    torch.nn.functional.cross_entropy(O.reshape(X.shape[0], -1) @ t["W"] + t["b"], torch.from_numpy(y)).backward()
    return {k: v.grad.numpy() for k, v in t.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--model", choices=("conv", "attention"), help="time this model only")
    args = parser.parse_args()
    data = datasets.digits()
    if torch is None:
        print("PyTorch is not importable: compiled against hand NumPy only")
    else:
        torch.set_num_threads(1)
    for name, hand, other in (("conv", hand_conv, torch_conv), ("attention", hand_attention, torch_attention)):
        if args.model not in (None, name):
            continue
        model = derive.model(name, **derive.model(name).network().training.options)
        cm = numeric.compile_model(model)
        P = cm.init_params(0)
        for label, X, y, rounds in (("batch of 32", data.X[:32], data.y[:32], 200),
                                    ("1,437 digits", data.X, data.y, 20)):
            X, y = np.ascontiguousarray(X), np.asarray(y).astype(np.intp)
            contestants = {"compiled": lambda: cm.grad(P, X, y), "hand NumPy": lambda: hand(P, X, y)}
            if torch is not None:
                contestants["PyTorch"] = lambda: other(P, X, y)
            race(f"{name:9} {label:12}", contestants, rounds // (10 if args.quick else 1), 1e-7, 1e-10)


if __name__ == "__main__":
    main()
