"""When an analytic value agrees with its reference: the tolerance every comparison uses.

An entry passes when ``|a − n| ≤ 4·err + rtol·max(|a|, |n|) + atol·scale + floor``: ``err`` is
the finite difference's own error estimate, ``scale`` the block's largest reference entry and
``floor`` a few hundred ulps of the loss. This passes correct gradients whose small entries are
pure rounding noise, and still fails one wrong entry among thousands.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import fd

EPS = fd.EPS
EPS32 = float(np.finfo(np.float32).eps)

K_ERR = 4.0              # multiples of the finite-difference error estimate an entry may be off
RTOL = 1e-6
ATOL = 1e-8              # relative to the block's largest numeric entry


@dataclass
class Tol:
    """The tolerance of a set of entries: arrays per entry, tolerances shared."""

    err: np.ndarray          # error estimate per entry (capped so it cannot hide a bug)
    scale: np.ndarray        # per entry: the largest |reference| in its block
    floor: np.ndarray
    rtol: float
    atol: float

    def bound(self, a, n, err=None):
        """How far ``a`` may be from ``n``, entry by entry (``err`` replaces the estimate)."""
        err = self.err if err is None else err
        return K_ERR * err + self.rtol * np.maximum(np.abs(a), np.abs(n)) + self.atol * self.scale + self.floor

    def ok(self, a, n, err=None):
        """Which entries of ``a`` agree with ``n`` (nan never does)."""
        with np.errstate(invalid="ignore"):
            return np.abs(a - n) <= self.bound(a, n, err)

    def sub(self, j) -> "Tol":
        """The tolerance of the entries ``j`` (an index array or mask)."""
        return Tol(self.err[j], self.scale[j], self.floor[j], self.rtol, self.atol)


def cap(err, n, rounding):
    """An error estimate above 1e-4 of the value (beyond rounding) means the finite difference is
    unreliable there; it may not excuse a disagreement, which is then re-checked at small steps."""
    return np.minimum(err, 1e-4 * np.abs(n) + rounding)
