"""A model kept in float32, as on a GPU: what finite differences can and cannot tell you.

    derive check-grad examples/checkgrad_float32.py     # exit 0, with notes on stderr

The parameters are float32 and the loss casts everything to float32 inside, so the loss is only
known to about 7 digits. Finite differences with the float64 step (∛ε ≈ 6e-6) would then be
dominated by rounding — a "relative error" of 1e-2 on a correct gradient. The checker measures
the loss's rounding noise, sees that the loss computes in float32, takes larger steps (∛ε of
float32 ≈ 5e-3) and widens its tolerances to match, and says so on stderr.
"""

import numpy as np

rng = np.random.default_rng(2)
X = rng.standard_normal((64, 4)).astype(np.float32)
y = rng.standard_normal(64).astype(np.float32)
params = {"w": rng.standard_normal(4).astype(np.float32), "b": np.float32(0.1)}


def loss(w, b):
    w, b = np.float32(w) if np.ndim(w) == 0 else w.astype(np.float32), np.float32(b)
    r = np.tanh(X @ w + b) - y
    return np.float32(0.5) * np.mean(r * r)


def grad(w, b):
    w, b = w.astype(np.float32), np.float32(b)
    t = np.tanh(X @ w + b)
    dz = (t - y) * (1 - t * t) / np.float32(len(y))
    return {"w": X.T @ dz, "b": dz.sum()}
