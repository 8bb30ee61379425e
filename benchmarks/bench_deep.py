"""Speed of the compiled gradient of ``deep`` (64-32-16-10, ReLU, softmax cross-entropy) against
hand-written NumPy of the notes' L-layer backward pass, on a mini-batch of 32 digits and on all
1,437 training digits.

The two run alternately in one process, round after round (the order rotates), and the medians
are compared, so that a busy machine slows both alike. Before timing, the compiled gradient is
checked against the hand-written one.

    python benchmarks/bench_deep.py            # about 20 s
    python benchmarks/bench_deep.py --quick
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import derive
import numeric
from numeric import datasets


def hand_deep(P, X, y, layers):
    """The notes' L-layer network, examples as rows: Z = A·W + b, dZ = dA ⊙ g′(Z),
    dW = Aᵀ·dZ / m, db = Σ dZ / m, dA = dZ·Wᵀ."""
    m = X.shape[0]
    caches, A = [], X
    for l in range(1, layers + 1):
        Z = A @ P[f"W{l}"] + P[f"b{l}"]
        caches.append((A, Z))
        A = np.maximum(Z, 0) if l < layers else Z
    e = np.exp(A - A.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    p[np.arange(m), y] -= 1
    dZ, grads = p / m, {}
    for l in range(layers, 0, -1):
        A_prev, _ = caches[l - 1]
        grads[f"W{l}"] = A_prev.T @ dZ
        grads[f"b{l}"] = dZ.sum(axis=0)
        if l > 1:
            dZ = (dZ @ P[f"W{l}"].T) * (caches[l - 2][1] > 0)
    return grads


def median_times(fns, rounds):
    times = {name: [] for name in fns}
    names = list(fns)
    for r in range(rounds):
        for name in names[r % len(names):] + names[: r % len(names)]:
            t = time.perf_counter()
            fns[name]()
            times[name].append(time.perf_counter() - t)
    return {name: statistics.median(v) for name, v in times.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    model = derive.model("deep")
    cm = numeric.compile_model(model)
    layers = len(model.network().layers)
    P = cm.init_params(0)
    data = datasets.digits()
    for label, X, y, rounds in (("batch of 32", data.X[:32], data.y[:32], 2000),
                                ("1,437 digits", data.X, data.y, 200)):
        X, y = np.ascontiguousarray(X), np.asarray(y).astype(np.intp)
        ours, theirs = cm.grad(P, X, y), hand_deep(P, X, y, layers)
        for k in theirs:
            np.testing.assert_allclose(ours[k], theirs[k], rtol=1e-9, atol=1e-12)
        t = median_times({"compiled": lambda: cm.grad(P, X, y), "hand NumPy": lambda: hand_deep(P, X, y, layers)},
                         rounds // (10 if args.quick else 1))
        print(f"deep 64-32-16-10, {label}: compiled {t['compiled'] * 1e6:8.1f} µs   "
              f"hand NumPy {t['hand NumPy'] * 1e6:8.1f} µs   ratio {t['compiled'] / t['hand NumPy']:.2f}")


if __name__ == "__main__":
    main()
