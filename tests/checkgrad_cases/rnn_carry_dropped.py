"""Planted bug: back-propagation through time that drops the carried gradient. The RNN is the
notes' cell a⟨t⟩ = tanh(W_aa·a⟨t−1⟩ + W_ax·x⟨t⟩ + b_a), ŷ⟨t⟩ = softmax(W_ya·a⟨t⟩ + b_y) on one
sequence of T = 6 one-hot characters, L = Σ_t L⟨t⟩. The backward pass sets da⟨t⟩ = W_yaᵀ·dy⟨t⟩
and forgets + da_next (= W_aaᵀ·dz⟨t+1⟩): W_ya and b_y are right, W_aa, W_ax and b_a are wrong.
``CARRY = True`` is the correct pass."""
import numpy as np

rng = np.random.default_rng(11)
N_A, VOCAB, T = 5, 4, 6
codes = rng.integers(0, VOCAB, T + 1)           # x⟨t⟩ = codes[t], y⟨t⟩ = codes[t + 1]
params = {
    "W_aa": rng.standard_normal((N_A, N_A)) * 0.6,
    "W_ax": rng.standard_normal((N_A, VOCAB)) * 0.6,
    "b_a": rng.standard_normal(N_A) * 0.1,
    "W_ya": rng.standard_normal((VOCAB, N_A)) * 0.6,
    "b_y": rng.standard_normal(VOCAB) * 0.1,
}
CARRY = False   # BUG: the gradient carried back from step t + 1 is dropped


def _forward(P):
    a, acts, probs = np.zeros(N_A), [np.zeros(N_A)], []
    for t in range(T):
        a = np.tanh(P["W_aa"] @ a + P["W_ax"][:, codes[t]] + P["b_a"])
        o = P["W_ya"] @ a + P["b_y"]
        p = np.exp(o - o.max())
        acts.append(a)
        probs.append(p / p.sum())
    return acts, probs


def loss(**P):
    _, probs = _forward(P)
    return float(-sum(np.log(p[codes[t + 1]]) for t, p in enumerate(probs)))


def grad(**P):
    acts, probs = _forward(P)
    g = {k: np.zeros_like(v) for k, v in P.items()}
    da_next = np.zeros(N_A)
    for t in reversed(range(T)):
        dy = probs[t].copy()
        dy[codes[t + 1]] -= 1                          # dy⟨t⟩ = ŷ⟨t⟩ − y⟨t⟩
        g["W_ya"] += np.outer(dy, acts[t + 1])
        g["b_y"] += dy
        da = P["W_ya"].T @ dy + (da_next if CARRY else 0)
        dz = da * (1 - acts[t + 1] ** 2)               # dz⟨t⟩ = da⟨t⟩ ⊙ (1 − a⟨t⟩²)
        g["W_aa"] += np.outer(dz, acts[t])
        g["W_ax"][:, codes[t]] += dz
        g["b_a"] += dz
        da_next = P["W_aa"].T @ dz
    return g
