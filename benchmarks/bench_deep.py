"""Speed of the compiled gradient of ``deep`` (64-32-16-10, ReLU, softmax cross-entropy) against
hand-written NumPy of the notes' L-layer backward pass, and against PyTorch eager on the CPU when
``torch`` can be imported (a measurement-only dependency), on a mini-batch of 32 digits and on
all 1,437 training digits.

The contestants run alternately in one process, round after round (the order cycles through every
permutation; see ``median_times``), and the medians are compared, so that a busy machine slows
each alike. Before timing, the compiled gradient is checked against the hand-written one.

    OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 python benchmarks/bench_deep.py            # about 20 s
    OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 python benchmarks/bench_deep.py --quick
"""

from __future__ import annotations

import argparse
import itertools
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


def torch_deep(P, X, y, layers):
    """The same network in PyTorch eager: forward and backward by autograd."""
    import torch

    t = {k: torch.tensor(v, requires_grad=True) for k, v in P.items()}
    A = torch.from_numpy(X)
    for l in range(1, layers + 1):
        A = A @ t[f"W{l}"] + t[f"b{l}"]
        if l < layers:
            A = torch.relu(A)
    torch.nn.functional.cross_entropy(A, torch.from_numpy(y)).backward()
    return {k: v.grad.numpy() for k, v in t.items()}


def median_times(fns, rounds, burst: int = 5):
    """The median time of one call of each of ``fns``, over ``rounds`` rounds.

    In each round every function runs one untimed call and then ``burst`` timed calls in a row,
    as training calls a gradient: steady state. The first call after another library has run
    finds the processor's caches and branch predictors holding that library's code and data; it
    cost the compiled gradient ~60 µs more after a PyTorch call than after its own (every stage
    slower, the input checks included), and hand NumPy ~30 µs, which a burst of 5 spread over
    its calls but did not remove. The orders of the rounds cycle through every permutation, so
    that each function follows each other equally often: a plain rotation of three made the
    compiled gradient follow PyTorch in two rounds of three, hand NumPy in one."""
    times = {name: [] for name in fns}
    orders = list(itertools.permutations(fns))
    for r in range(rounds):
        for name in orders[r % len(orders)]:
            fn = fns[name]
            fn()
            t = time.perf_counter()
            for _ in range(burst):
                fn()
            times[name].append((time.perf_counter() - t) / burst)
    return {name: statistics.median(v) for name, v in times.items()}


def race(title: str, contestants: dict, rounds: int, rtol: float, atol: float) -> None:
    """Check that every contestant's gradient equals the compiled one (``contestants["compiled"]``),
    then print the median time of each and the compiled one's ratio to each other."""
    ours = contestants["compiled"]()
    for fn in list(contestants.values())[1:]:
        theirs = fn()
        for k in ours:
            np.testing.assert_allclose(ours[k], theirs[k], rtol=rtol, atol=atol, err_msg=k)
    t = median_times(contestants, rounds)
    line = f"{title}: " + "   ".join(f"{k} {v * 1e6:9.1f} µs" for k, v in t.items())
    ratios = "   ".join(f"compiled/{k} {t['compiled'] / v:.2f}" for k, v in t.items() if k != "compiled")
    print(f"{line}   {ratios}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    model = derive.model("deep")
    cm = numeric.compile_model(model)
    layers = len(model.network().layers)
    P = cm.init_params(0)
    data = datasets.digits()
    try:
        import torch
    except ImportError:   # the comparison with PyTorch is optional
        torch = None
        print("PyTorch is not importable: compiled against hand NumPy only")
    else:
        torch.set_num_threads(1)
    for label, X, y, rounds in (("batch of 32", data.X[:32], data.y[:32], 400),
                                ("1,437 digits", data.X, data.y, 40)):
        X, y = np.ascontiguousarray(X), np.asarray(y).astype(np.intp)
        contestants = {"compiled": lambda: cm.grad(P, X, y), "hand NumPy": lambda: hand_deep(P, X, y, layers)}
        if torch is not None:
            contestants["PyTorch"] = lambda: torch_deep(P, X, y, layers)
        race(f"deep 64-32-16-10, {label:12}", contestants, rounds // (10 if args.quick else 1), 1e-9, 1e-12)


if __name__ == "__main__":
    main()
