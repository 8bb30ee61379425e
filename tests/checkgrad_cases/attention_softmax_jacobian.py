"""Planted bug: scaled dot-product attention O = softmax(Q·Kᵀ/√d_k)·V on a small random problem
(3 queries, 4 keys, d_k = 2, d_v = 3, a squared-error loss against a target T) whose backward pass
takes the softmax's Jacobian as its diagonal only: dS = P ⊙ dP, without the row sums
Σ_l P_il dP_il that every row's weights share. dV does not pass through the softmax and is right;
dQ and dK are wrong."""
import numpy as np

rng = np.random.default_rng(4)
N, M, DK, DV = 3, 4, 2, 3
T = rng.standard_normal((N, DV))
params = {"Q": rng.standard_normal((N, DK)), "K": rng.standard_normal((M, DK)), "V": rng.standard_normal((M, DV))}


def _forward(Q, K, V):
    S = Q @ K.T / np.sqrt(DK)
    P = np.exp(S - S.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    return P, P @ V


def loss(Q, K, V):
    _, O = _forward(Q, K, V)
    return float(np.mean((O - T) ** 2))


def grad(Q, K, V):
    P, O = _forward(Q, K, V)
    dO = 2 * (O - T) / O.size
    dP = dO @ V.T
    dS = P * dP   # BUG: P * (dP - (P * dP).sum(axis=1, keepdims=True))
    return {"Q": dS @ K / np.sqrt(DK), "K": dS.T @ Q / np.sqrt(DK), "V": P.T @ dO}
