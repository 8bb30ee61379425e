"""Planted bug: two convolution layers (1 → 2 → 2 channels, 3 × 3 filters, tanh between them,
a squared-error loss) whose backward pass takes ∂L/∂A1 as the full convolution of dZ2 with W2 as
it is, not turned by 180°. The shapes agree and a symmetric filter would even be right, so nothing
fails loudly: W2 and b2 are right, W1 and b1 inherit the wrong ∂L/∂A1."""
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

rng = np.random.default_rng(11)
M, N, F = 4, 6, 3
X = rng.standard_normal((M, 1, N, N))
T = rng.standard_normal((M, 2, N - 2 * (F - 1), N - 2 * (F - 1)))
params = {
    "W1": rng.standard_normal((2, 1, F, F)) * 0.5, "b1": rng.standard_normal(2) * 0.1,
    "W2": rng.standard_normal((2, 2, F, F)) * 0.5, "b2": rng.standard_normal(2) * 0.1,
}


def _correlate(A, W):
    """Valid cross-correlation: A (m, C, n, n), W (K, C, f, f) -> (m, K, n − f + 1, n − f + 1)."""
    windows = sliding_window_view(A, W.shape[2:], axis=(2, 3))
    return np.einsum("mcijuv,kcuv->mkij", windows, W)


def _forward(P):
    Z1 = _correlate(X, P["W1"]) + P["b1"][:, None, None]
    A1 = np.tanh(Z1)
    Z2 = _correlate(A1, P["W2"]) + P["b2"][:, None, None]
    return A1, Z2


def loss(**P):
    _, Z2 = _forward(P)
    return float(np.mean((Z2 - T) ** 2))


def grad(**P):
    A1, Z2 = _forward(P)
    dZ2 = 2 * (Z2 - T) / Z2.size
    out = {
        "W2": np.einsum("mkij,mcijuv->kcuv", dZ2, sliding_window_view(A1, (F, F), axis=(2, 3))),
        "b2": dZ2.sum(axis=(0, 2, 3)),
    }
    padded = np.pad(dZ2, ((0, 0), (0, 0), (F - 1, F - 1), (F - 1, F - 1)))
    windows = sliding_window_view(padded, (F, F), axis=(2, 3))
    dA1 = np.einsum("mkpquv,kcuv->mcpq", windows, P["W2"])   # BUG: W2[:, :, ::-1, ::-1]
    dZ1 = dA1 * (1 - A1 ** 2)
    out["W1"] = np.einsum("mkij,mcijuv->kcuv", dZ1, sliding_window_view(X, (F, F), axis=(2, 3)))
    out["b1"] = dZ1.sum(axis=(0, 2, 3))
    return out
