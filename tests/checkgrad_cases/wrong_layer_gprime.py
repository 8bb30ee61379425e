"""Planted bug: an L-layer network (4-5-5-3, tanh, softmax) whose backward pass takes layer 2's
g′ at layer 1's pre-activation, dZ[2] = dA[2] ⊙ g′(Z[1]) instead of g′(Z[2]). The shapes agree,
so nothing fails loudly: W3 and b3 are right, W2 and b2 are wrong, and W1 and b1 inherit it."""
import numpy as np

rng = np.random.default_rng(7)
M, SIZES = 20, (4, 5, 5, 3)
X = rng.standard_normal((M, SIZES[0]))
Y = rng.integers(0, SIZES[-1], M)
params = {}
for l in range(1, len(SIZES)):
    params[f"W{l}"] = rng.standard_normal((SIZES[l - 1], SIZES[l])) * 0.7
    params[f"b{l}"] = rng.standard_normal(SIZES[l]) * 0.1
LAYERS = len(SIZES) - 1
WRONG = 2   # the layer whose g′ is taken at the layer below's Z


def _forward(P):
    A, Zs, As = X, [], [X]
    for l in range(1, LAYERS + 1):
        Z = A @ P[f"W{l}"] + P[f"b{l}"]
        Zs.append(Z)
        A = np.tanh(Z) if l < LAYERS else Z
        As.append(A)
    return Zs, As


def loss(**P):
    Zs, _ = _forward(P)
    z = Zs[-1]
    z = z - z.max(axis=1, keepdims=True)
    return float(np.mean(np.log(np.exp(z).sum(axis=1)) - z[np.arange(M), Y]))


def grad(**P):
    Zs, As = _forward(P)
    z = Zs[-1]
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    p[np.arange(M), Y] -= 1
    dZ, out = p / M, {}
    for l in range(LAYERS, 0, -1):
        out[f"W{l}"], out[f"b{l}"] = As[l - 1].T @ dZ, dZ.sum(axis=0)
        if l > 1:
            dA = dZ @ P[f"W{l}"].T
            at = Zs[l - 3] if l - 1 == WRONG else Zs[l - 2]   # BUG: g′ of the layer below
            dZ = dA * (1 - np.tanh(at) ** 2)
    return out
