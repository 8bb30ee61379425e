"""Speed of the compiled gradient of ``rnn`` (64 tanh units, the 35-character alphabet) against
back-propagation through time written by hand in NumPy, and against PyTorch eager when it is
installed, on sequences of length 25 of the shipped text: a batch of 32 windows and all windows.

The contenders run alternately in one process, round after round (the rounds cycle through every
order of the contenders; each runs a burst of calls per round, see ``bench_deep.median_times``),
and the medians are compared. Before timing, the compiled gradient is checked against the
hand-written one (and PyTorch's, when present).

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_rnn.py            # about 30 s
    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_rnn.py --quick

With several BLAS threads on a busy machine the many small per-step products of both contenders
are dominated by thread hand-offs: one thread measures the algorithms.
"""

from __future__ import annotations

import argparse

import numpy as np

import derive
import numeric
from bench_deep import median_times
from numeric import datasets


def hand_bptt(P, X, y):
    """The notes' BPTT over a batch (rows are sequences): a⟨t⟩ = tanh(W_aa·a⟨t−1⟩ + W_ax·x⟨t⟩ + b_a),
    dy⟨t⟩ = ŷ⟨t⟩ − y⟨t⟩, da⟨t⟩ = W_yaᵀ·dy⟨t⟩ + da_next, dz⟨t⟩ = da⟨t⟩ ⊙ (1 − a⟨t⟩²); the mean per character."""
    m, T = X.shape
    targets = np.concatenate([X[:, 1:], y[:, None]], axis=1)
    a, acts, probs = np.zeros((m, P["W_aa"].shape[0])), [], []
    acts.append(a)
    for t in range(T):
        a = np.tanh(a @ P["W_aa"].T + P["W_ax"][:, X[:, t]].T + P["b_a"])
        o = a @ P["W_ya"].T + P["b_y"]
        e = np.exp(o - o.max(axis=1, keepdims=True))
        acts.append(a)
        probs.append(e / e.sum(axis=1, keepdims=True))
    g = {k: np.zeros_like(v) for k, v in P.items()}
    da_next = np.zeros_like(a)
    rows = np.arange(m)
    for t in reversed(range(T)):
        dy = probs[t].copy()
        dy[rows, targets[:, t]] -= 1
        dy /= m * T
        g["W_ya"] += dy.T @ acts[t + 1]
        g["b_y"] += dy.sum(axis=0)
        dz = (dy @ P["W_ya"] + da_next) * (1 - acts[t + 1] ** 2)
        g["W_aa"] += dz.T @ acts[t]
        np.add.at(g["W_ax"].T, X[:, t], dz)
        g["b_a"] += dz.sum(axis=0)
        da_next = dz @ P["W_aa"]
    return g


def torch_grad(P, X, y):
    """The same loss in PyTorch eager (``None`` when PyTorch is not installed)."""
    try:
        import torch
    except ImportError:
        return None
    W = {k: torch.tensor(v, requires_grad=True) for k, v in P.items()}
    Xt, targets = torch.tensor(X), torch.tensor(np.concatenate([X[:, 1:], y[:, None]], axis=1))

    def run():
        for w in W.values():
            w.grad = None
        a = torch.zeros(X.shape[0], P["W_aa"].shape[0], dtype=torch.float64)
        loss = 0.0
        for t in range(X.shape[1]):
            a = torch.tanh(a @ W["W_aa"].T + W["W_ax"][:, Xt[:, t]].T + W["b_a"])
            loss = loss + torch.nn.functional.cross_entropy(a @ W["W_ya"].T + W["b_y"], targets[:, t], reduction="sum")
        (loss / targets.numel()).backward()
        return {k: w.grad.numpy() for k, w in W.items()}

    return run


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    model = derive.model("rnn")
    cm = numeric.compile_model(model)
    P = cm.init_params(0)
    data = datasets.text(steps=model.seq_length)
    X_all, y_all = data.X.astype(np.intp), data.y.astype(np.intp)
    for label, X, y, rounds in (("batch of 32", X_all[:32], y_all[:32], 80),
                                (f"{len(y_all)} windows", X_all, y_all, 20)):
        X, y = np.ascontiguousarray(X), np.ascontiguousarray(y)
        ours, theirs = cm.grad(P, X, y), hand_bptt(P, X, y)
        for k in theirs:
            np.testing.assert_allclose(ours[k], theirs[k], rtol=1e-9, atol=1e-13)
        fns = {"compiled": lambda: cm.grad(P, X, y), "hand NumPy": lambda: hand_bptt(P, X, y)}
        torch_run = torch_grad(P, X, y)
        if torch_run is not None:
            for k, v in torch_run().items():
                np.testing.assert_allclose(ours[k], v, rtol=1e-9, atol=1e-13)
            fns["PyTorch eager"] = torch_run
        t = median_times(fns, rounds // (10 if args.quick else 1))
        line = (f"rnn 64 units, T = {model.seq_length}, {label}: compiled {t['compiled'] * 1e6:8.1f} µs   "
                f"hand NumPy {t['hand NumPy'] * 1e6:8.1f} µs   ratio {t['compiled'] / t['hand NumPy']:.2f}")
        if "PyTorch eager" in t:
            line += (f"   PyTorch eager {t['PyTorch eager'] * 1e6:8.1f} µs   "
                     f"ratio {t['compiled'] / t['PyTorch eager']:.2f}")
        print(line)
    if torch_grad(P, X_all[:1], y_all[:1]) is None:
        print("PyTorch is not installed: no PyTorch column")


if __name__ == "__main__":
    main()
