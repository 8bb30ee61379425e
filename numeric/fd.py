"""Finite differences of a black-box scalar function, each value with an error estimate.

The function is ``f(x) -> float`` of a flat float64 vector ``x``. Partial derivatives are taken
one coordinate at a time: ``x[i]`` is changed in place, ``f(x)`` is called, and ``x[i]`` is put
back (also when ``f`` raises). Steps, points and differences are computed with NumPy for all
requested coordinates at once; the only per-coordinate Python work is the assignment and the
call. Where ``f`` can evaluate many points at once, pass ``batch(P) -> values`` for ``P`` of shape
``(k, n)`` and no loop runs at all.

Methods
-------
central      (f(x + h) − f(x − h)) / 2h, h = ∛ε · max(1, |x|); error O(h²) + rounding ε|f|/h.
one_sided    forward (f(x + h) − f(x)) / h or backward; error O(h). Two sides that disagree at
             every step size mark a kink (ReLU, max, |·|), see ``kinks``.
richardson   central differences at h, h/2, h/4, … combined in a Neville tableau (Ridders'
             method); the error estimate is the change between tableau entries.
complex_step Im f(x + ih) / h with h = 1e-20: no subtraction, so no rounding error, but only
             valid when f is analytic in x and keeps the imaginary part all the way. Detected
             failures (a real result, ``ComplexWarning`` such as a write into a float buffer,
             a result without imaginary part, an exception) raise ``ComplexStepUnsafe``.

Every estimate comes with an error: truncation from a second step size (or a given bound on the
third derivative) plus rounding ``noise / h``, where ``noise`` is the size of the rounding error
in one evaluation of ``f`` (``noise_level`` measures it; by default ``ε · |f|``).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

__all__ = [
    "EPS",
    "FDResult",
    "KinkResult",
    "ComplexStepUnsafe",
    "relative_step",
    "evaluate_axes",
    "central",
    "one_sided",
    "richardson",
    "complex_step",
    "kinks",
    "third_derivative",
    "noise_level",
    "directional",
    "complex_directional",
]

EPS = float(np.finfo(np.float64).eps)
# Above this many floats a batched evaluation is split into several calls.
_BATCH_FLOATS = 4_000_000

Function = Callable[[np.ndarray], float]
Batch = Optional[Callable[[np.ndarray], np.ndarray]]


@dataclass
class FDResult:
    """Finite-difference estimates for a set of coordinates.

    Attributes
    ----------
    value : ndarray of shape (k,)
        The derivative estimates.
    error : ndarray of shape (k,)
        Estimated absolute error of each value (truncation plus rounding).
    step : ndarray of shape (k,)
        The step used for each value (the smallest one for Richardson).
    method : str
        One of {"central", "forward", "backward", "richardson", "complex"}.
    """

    value: np.ndarray
    error: np.ndarray
    step: np.ndarray
    method: str


@dataclass
class KinkResult:
    """One-sided derivatives at small steps and whether they reveal a kink.

    Attributes
    ----------
    forward, backward : ndarray of shape (k,)
        One-sided derivative estimates at the smallest step.
    error : ndarray of shape (k,)
        Rounding error of each one-sided estimate.
    is_kink : ndarray of bool, shape (k,)
        True where the two sides disagree by the same amount at two step sizes (a jump in the
        derivative, not curvature, which shrinks with the step).
    central : ndarray of shape (k,)
        Central difference at the smallest step, accurate when the kink is farther than it.
    central_error : ndarray of shape (k,)
        Its error estimate.
    step : ndarray of shape (k,)
        The smallest step.
    """

    forward: np.ndarray
    backward: np.ndarray
    error: np.ndarray
    is_kink: np.ndarray
    central: np.ndarray
    central_error: np.ndarray
    step: np.ndarray


class ComplexStepUnsafe(Exception):
    """The function does not carry the imaginary part through; use real differences."""


def relative_step(x, order: int = 2, eps: float = EPS) -> np.ndarray:
    """The textbook step ``eps**(1/(order+1)) * max(1, |x|)``.

    Parameters
    ----------
    x : ndarray of shape (k,)
        The coordinates' values.
    order : int
        2 for central differences (∛ε ≈ 6e-6), 1 for one-sided ones (√ε ≈ 1.5e-8).
    eps : float
        Relative precision of ``f`` (machine epsilon, or a measured noise level).

    Examples
    --------
    >>> float(relative_step(np.array([100.0]))[0] / 100)  # doctest: +ELLIPSIS
    6.05...e-06
    """
    return eps ** (1.0 / (order + 1)) * np.maximum(1.0, np.abs(np.asarray(x, dtype=np.float64)))


def _indices(x, idx) -> np.ndarray:
    if idx is None:
        return np.arange(x.size)
    return np.asarray(idx, dtype=np.intp).ravel()


def evaluate_axes(f: Function, x: np.ndarray, idx, points, batch: Batch = None) -> np.ndarray:
    """``F[j, l] = f(x with x[idx[j]] = points[j, l])``: the one primitive behind every method.

    Parameters
    ----------
    f : callable
        ``f(x) -> float``; called with ``x`` itself after an in-place change of one coordinate.
    x : ndarray of shape (n,)
        The point (float64 or complex128); restored on return.
    idx : ndarray of int, shape (k,)
    points : ndarray of shape (k, L)
        The values each coordinate takes in turn.
    batch : callable, optional
        ``batch(P) -> ndarray of shape (r,)`` for ``P`` of shape ``(r, n)``; replaces the loop.

    Returns
    -------
    F : ndarray of shape (k, L)
    """
    idx = np.asarray(idx, dtype=np.intp).ravel()
    points = np.asarray(points)
    k, L = points.shape
    if k == 0:
        return np.empty((0, L), dtype=np.result_type(float, points.dtype))
    if batch is not None:
        rows = []
        chunk = max(1, _BATCH_FLOATS // max(1, x.size * L))
        for start in range(0, k, chunk):
            sl = slice(start, start + chunk)
            sub = idx[sl]
            P = np.repeat(x[None, :], sub.size * L, axis=0).astype(np.result_type(x, points))
            P[np.arange(sub.size * L), np.repeat(sub, L)] = points[sl].ravel()
            rows.append(np.asarray(batch(P)).reshape(sub.size, L))
        return np.concatenate(rows, axis=0)
    values = []
    append = values.append
    pts = points.tolist()
    for j, i in enumerate(idx.tolist()):
        xi = x[i]
        try:
            for p in pts[j]:
                x[i] = p
                append(f(x))
        finally:
            x[i] = xi
    return np.array(values).reshape(k, L)


def _noise(noise, f0, F):
    """Rounding error of one evaluation: given, or ε times the largest |f| seen."""
    if noise is not None:
        return np.broadcast_to(np.asarray(noise, dtype=np.float64), F.shape[:1])
    scale = np.max(np.abs(F), axis=1)
    if f0 is not None:
        scale = np.maximum(scale, abs(f0))
    return EPS * np.maximum(scale, np.finfo(np.float64).tiny)


def central(
    f: Function,
    x: np.ndarray,
    idx=None,
    *,
    h=None,
    f0: float | None = None,
    noise=None,
    third=None,
    batch: Batch = None,
) -> FDResult:
    """Central differences ``(f(x + h eᵢ) − f(x − h eᵢ)) / 2h`` with an error estimate.

    Parameters
    ----------
    f : callable
        ``f(x) -> float``.
    x : ndarray of shape (n,)
        The point; changed in place during the call and restored.
    idx : array_like of int, optional
        Coordinates to differentiate (default: all).
    h : float or ndarray of shape (k,), optional
        Steps (default ``relative_step(x[idx])``, ∛ε · max(1, |xᵢ|)).
    f0 : float, optional
        ``f(x)``, used for the rounding scale.
    noise : float or ndarray of shape (k,), optional
        Rounding error of one evaluation of ``f`` (default ε · max |f|).
    third : float or ndarray of shape (k,), optional
        A bound on |∂³f/∂xᵢ³|: the truncation error is then ``third · h² / 6`` and two calls per
        coordinate suffice. Without it, f is also evaluated at ±2h and the truncation error is
        ``|D(h) − D(2h)| / 3`` (four calls per coordinate).
    batch : callable, optional
        Vectorized ``f`` over rows of a matrix (see ``evaluate_axes``).

    Returns
    -------
    FDResult
        ``value`` is D(h); ``error`` is truncation + ``noise / h``.

    Examples
    --------
    >>> r = central(lambda v: float(np.sin(v[0])), np.array([0.5]))
    >>> bool(abs(r.value[0] - np.cos(0.5)) < r.error[0] < 1e-9)
    True
    """
    idx = _indices(x, idx)
    xi = x[idx].astype(np.float64)
    hh = relative_step(xi) if h is None else np.broadcast_to(np.asarray(h, dtype=np.float64), xi.shape)
    if third is None:
        points = np.stack([xi + hh, xi - hh, xi + 2 * hh, xi - 2 * hh], axis=1)
    else:
        points = np.stack([xi + hh, xi - hh], axis=1)
    F = evaluate_axes(f, x, idx, points, batch)
    # The steps actually taken: x + h is rounded, so divide by the difference of the points.
    d1 = points[:, 0] - points[:, 1]
    value = (F[:, 0] - F[:, 1]) / d1
    sigma = _noise(noise, f0, F)
    rounding = 2.0 * sigma / d1
    if third is None:
        value2 = (F[:, 2] - F[:, 3]) / (points[:, 2] - points[:, 3])
        truncation = np.abs(value - value2) / 3.0
    else:
        truncation = np.abs(np.asarray(third, dtype=np.float64)) * (d1 / 2) ** 2 / 6.0
    return FDResult(value, truncation + rounding, d1 / 2, "central")


def one_sided(
    f: Function,
    x: np.ndarray,
    idx=None,
    *,
    side: int = 1,
    h=None,
    f0: float | None = None,
    noise=None,
    batch: Batch = None,
) -> FDResult:
    """Forward (``side=+1``) or backward (``side=-1``) differences with an error estimate.

    The truncation error ``|D(h) − D(2h)|`` comes from a second step (two calls per coordinate,
    plus ``f0``); the rounding error is ``2 noise / h``.

    Parameters
    ----------
    f, x, idx, batch
        As for ``central``.
    side : {1, -1}
    h : float or ndarray of shape (k,), optional
        Default √ε · max(1, |xᵢ|).
    f0 : float, optional
        ``f(x)``; evaluated when not given.
    noise : float or ndarray, optional
        As for ``central``.

    Returns
    -------
    FDResult
    """
    if side not in (1, -1):
        raise ValueError("side must be 1 or -1")
    idx = _indices(x, idx)
    xi = x[idx].astype(np.float64)
    hh = relative_step(xi, order=1) if h is None else np.broadcast_to(np.asarray(h, dtype=np.float64), xi.shape)
    if f0 is None:
        f0 = float(f(x))
    points = np.stack([xi + side * hh, xi + side * 2 * hh], axis=1)
    F = evaluate_axes(f, x, idx, points, batch)
    d1 = points[:, 0] - xi
    d2 = points[:, 1] - xi
    value = (F[:, 0] - f0) / d1
    value2 = (F[:, 1] - f0) / d2
    sigma = _noise(noise, f0, F)
    error = np.abs(value - value2) + 2.0 * sigma / np.abs(d1)
    return FDResult(value, error, np.abs(d1), "forward" if side > 0 else "backward")


def _tableau(D: np.ndarray, steps: np.ndarray, noise: np.ndarray, ratio: float):
    """Neville–Richardson tableau over columns of ``D`` (k, L), steps shrinking by ``ratio``.

    Returns the best value per row and its error: the tableau entry whose distance to its two
    predecessors is smallest (Ridders), plus the rounding error of the step it rests on, grown
    by the extrapolation weights.
    """
    k, L = D.shape
    best = D[:, -1].copy()
    rounding = 2.0 * noise / (2.0 * steps[:, -1])
    best_err = np.full(k, np.inf)
    if L == 1:
        return best, rounding
    prev = D[:, :1].copy()
    for col in range(1, L):
        row = [D[:, col]]
        for j in range(1, col + 1):
            fac = ratio ** (2 * j)
            row.append(row[j - 1] + (row[j - 1] - prev[:, j - 1]) / (fac - 1.0))
        row = np.stack(row, axis=1)
        amplification = np.prod([(ratio ** (2 * j) + 1.0) / (ratio ** (2 * j) - 1.0) for j in range(1, col + 1)])
        round_col = 2.0 * noise / (2.0 * steps[:, col]) * amplification
        for j in range(1, col + 1):
            err = np.maximum(np.abs(row[:, j] - row[:, j - 1]), np.abs(row[:, j] - prev[:, j - 1]))
            err = err + round_col
            better = err < best_err
            best = np.where(better, row[:, j], best)
            best_err = np.where(better, err, best_err)
        prev = row
    return best, best_err


def richardson(
    f: Function,
    x: np.ndarray,
    idx=None,
    *,
    h0=None,
    levels: int = 4,
    ratio: float = 2.0,
    f0: float | None = None,
    noise=None,
    batch: Batch = None,
) -> FDResult:
    """High-accuracy derivatives: Richardson extrapolation of central differences (Ridders).

    Central differences at ``h0, h0/ratio, …`` (``levels`` of them, 2 calls each) are combined
    in a Neville tableau that removes the h², h⁴, … error terms in turn. The error estimate is
    the distance of the chosen entry to its predecessors, so it reflects both truncation and
    rounding; a kink inside the stencil shows up as a large error.

    Parameters
    ----------
    f, x, idx, f0, noise, batch
        As for ``central``.
    h0 : float or ndarray of shape (k,), optional
        Largest step (default ε^(1/5) · 8 · max(1, |xᵢ|) ≈ 6e-3 for float64).
    levels : int
        Number of step sizes (≥ 2).
    ratio : float
        Step reduction factor between levels.

    Returns
    -------
    FDResult
        ``step`` is the smallest step.

    Examples
    --------
    >>> r = richardson(lambda v: float(np.exp(v[0])), np.array([1.0]))
    >>> bool(abs(r.value[0] - np.e) < 1e-12 and r.error[0] < 1e-9)
    True
    """
    if levels < 2:
        raise ValueError("levels must be at least 2")
    idx = _indices(x, idx)
    xi = x[idx].astype(np.float64)
    if h0 is None:
        h0 = 8.0 * EPS ** 0.2 * np.maximum(1.0, np.abs(xi))
    hh = np.broadcast_to(np.asarray(h0, dtype=np.float64), xi.shape)
    hs = hh[:, None] / ratio ** np.arange(levels)[None, :]
    points = np.concatenate([xi[:, None] + hs, xi[:, None] - hs], axis=1)
    F = evaluate_axes(f, x, idx, points, batch)
    steps = (points[:, :levels] - points[:, levels:]) / 2.0
    D = (F[:, :levels] - F[:, levels:]) / (2.0 * steps)
    sigma = _noise(noise, f0, F)
    value, error = _tableau(D, steps, sigma, ratio)
    return FDResult(value, error, steps[:, -1], "richardson")


def complex_step(f: Function, x: np.ndarray, idx=None, *, h: float = 1e-20, f0=None) -> FDResult:
    """Complex-step derivatives ``Im f(x + i h eᵢ) / h``, exact to rounding when they apply.

    ``f`` is called with ``x`` itself when it is a complex128 array (changed in place and
    restored), else with a complex copy of it. Anything that shows the imaginary part is
    lost raises ``ComplexStepUnsafe``: a result that is not complex, a ``ComplexWarning`` (a
    complex value written into a float array, ``astype(float)``), an exception from a function
    without complex support, or a real part that differs from ``f0``. A function that drops the
    imaginary part silently (``abs``, ``np.linalg.norm``) is caught by comparing a directional
    derivative with real differences (``complex_directional`` against ``directional``).

    Parameters
    ----------
    f : callable
        ``f(z) -> complex`` of a complex vector ``z`` of shape (n,).
    x : ndarray of shape (n,)
        The point (its real part when complex).
    idx : array_like of int, optional
    h : float
        Imaginary step; tiny so that the truncation error h²|f'''|/6 vanishes.
    f0 : float, optional
        ``f(x)``: the real parts must match it.

    Returns
    -------
    FDResult
        ``error`` is rounding only: 4ε · |value| plus ε · |f| / max(1, |xᵢ|).

    Raises
    ------
    ComplexStepUnsafe
    """
    idx = _indices(x, idx)
    z = x if x.dtype == np.complex128 else np.asarray(x, dtype=np.complex128).copy()
    xi = z[idx].real
    points = (xi + 1j * h)[:, None]
    with warnings.catch_warnings():
        warnings.simplefilter("error", np.exceptions.ComplexWarning)
        try:
            F = evaluate_axes(_complex_guard(f), z, idx, points)
        except ComplexStepUnsafe:
            raise
        except Exception as exc:  # the function does not accept complex input
            raise ComplexStepUnsafe(f"{type(exc).__name__}: {exc}") from None
    value = F[:, 0].imag / h
    real = F[:, 0].real
    scale = abs(f0) if f0 is not None else float(np.max(np.abs(real), initial=0.0))
    if f0 is not None and np.any(np.abs(real - f0) > 1e-8 * max(1.0, scale)):
        raise ComplexStepUnsafe("the real part of f(x + ih) differs from f(x)")
    error = 4 * EPS * np.abs(value) + EPS * scale / np.maximum(1.0, np.abs(xi))
    return FDResult(value, error, np.full(idx.size, h), "complex")


def _complex_guard(f: Function) -> Function:
    def call(z):
        r = f(z)
        if not np.iscomplexobj(r):
            raise ComplexStepUnsafe("the function returns a real number for a complex input")
        return complex(np.asarray(r).reshape(()))

    return call


def kinks(
    f: Function,
    x: np.ndarray,
    idx=None,
    *,
    h=None,
    f0: float | None = None,
    noise=None,
    batch: Batch = None,
) -> KinkResult:
    """One-sided derivatives at steps h and 2h, and where they reveal a kink.

    For a smooth f the gap between the forward and the backward difference is h·f'' and halves
    with the step; at a kink (ReLU at 0, max, |·|) it is the jump in the derivative and stays.
    A coordinate is a kink when the gap at h is above its rounding error and at least 0.6 times
    the gap at 2h.

    Parameters
    ----------
    f, x, idx, f0, noise, batch
        As for ``central`` (``f0`` is evaluated when not given).
    h : float or ndarray of shape (k,), optional
        Smallest step (default ∛ε · max(1, |xᵢ|) / 4).

    Returns
    -------
    KinkResult

    Examples
    --------
    >>> r = kinks(lambda v: float(abs(v[0])), np.array([0.0]))
    >>> bool(r.is_kink[0]), float(r.backward[0]), float(r.forward[0])
    (True, -1.0, 1.0)
    """
    idx = _indices(x, idx)
    xi = x[idx].astype(np.float64)
    hh = relative_step(xi) / 4.0 if h is None else np.broadcast_to(np.asarray(h, dtype=np.float64), xi.shape)
    if f0 is None:
        f0 = float(f(x))
    points = np.stack([xi + hh, xi - hh, xi + 2 * hh, xi - 2 * hh], axis=1)
    F = evaluate_axes(f, x, idx, points, batch)
    steps = points - xi[:, None]
    slopes = (F - f0) / steps                      # forward h, backward h, forward 2h, backward 2h
    sigma = _noise(noise, f0, F)
    err = 2.0 * sigma / np.abs(steps[:, 0])
    gap1 = slopes[:, 0] - slopes[:, 1]
    gap2 = slopes[:, 2] - slopes[:, 3]
    is_kink = (np.abs(gap1) > 8.0 * err) & (np.abs(gap1) >= 0.6 * np.abs(gap2)) & (gap1 * gap2 > 0)
    central_value = (F[:, 0] - F[:, 1]) / (points[:, 0] - points[:, 1])
    central2 = (F[:, 2] - F[:, 3]) / (points[:, 2] - points[:, 3])
    central_err = np.abs(central_value - central2) / 3.0 + err / 2.0
    return KinkResult(slopes[:, 0], slopes[:, 1], err, is_kink, central_value, central_err, np.abs(steps[:, 0]))


def one_sided_ladder(
    f: Function,
    x: np.ndarray,
    idx,
    *,
    h,
    levels: int = 5,
    ratio: float = 4.0,
    f0: float,
    round_to=None,
    batch: Batch = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Forward and backward differences at the steps h, h/ratio, …, h/ratio^(levels−1).

    Near a kink that is closer than the step (a ReLU input within the step of zero) the central
    difference straddles it, but the one-sided difference on the kink's far side does not: where
    it stays the same when its step shrinks, it is the derivative at x.

    Parameters
    ----------
    f, x, idx, batch
        As for ``central``.
    h : ndarray of shape (k,)
        Largest step per coordinate.
    levels : int
    ratio : float
        Between consecutive steps.
    f0 : float
        ``f(x)``.
    round_to : numpy dtype, optional
        Round the points to this type (float32) so that a loss computing in it sees our steps.

    Returns
    -------
    forward, backward, steps : ndarray of shape (k, levels)
        ``steps`` are the actual (positive) step lengths, backward and forward alike.

    Examples
    --------
    >>> fw, bw, st = one_sided_ladder(lambda v: float(abs(v[0] - 1e-4)), np.array([0.0]), [0],
    ...                               h=np.array([1e-2]), levels=3, f0=1e-4)
    >>> [round(float(v), 6) for v in fw[0]], [round(float(v), 6) for v in bw[0]]
    ([0.98, 0.92, 0.68], [-1.0, -1.0, -1.0])
    """
    idx = _indices(x, idx)
    xi = x[idx].astype(np.float64)
    steps = np.asarray(h, dtype=np.float64)[:, None] / ratio ** np.arange(levels)[None, :]
    up, down = xi[:, None] + steps, xi[:, None] - steps
    if round_to is not None:
        up, down = up.astype(round_to).astype(np.float64), down.astype(round_to).astype(np.float64)
    F = evaluate_axes(f, x, idx, np.concatenate([up, down], axis=1), batch)
    return (F[:, :levels] - f0) / (up - xi[:, None]), (f0 - F[:, levels:]) / (xi[:, None] - down), up - xi[:, None]


def third_derivative(
    f: Function, x: np.ndarray, idx=None, *, h=None, batch: Batch = None
) -> np.ndarray:
    """|∂³f/∂xᵢ³| from ``(f(x+2h) − 2f(x+h) + 2f(x−h) − f(x−2h)) / 2h³``.

    Used to choose the central step: the optimum balances truncation ``|f'''| h²/6`` against
    rounding ``noise/h``.

    Parameters
    ----------
    f, x, idx, batch
        As for ``central``.
    h : float or ndarray of shape (k,), optional
        Default 1e-3 · max(1, |xᵢ|), large enough that the rounding error stays small.

    Returns
    -------
    ndarray of shape (k,)
    """
    idx = _indices(x, idx)
    xi = x[idx].astype(np.float64)
    hh = 1e-3 * np.maximum(1.0, np.abs(xi)) if h is None else np.broadcast_to(np.asarray(h, dtype=np.float64), xi.shape)
    points = np.stack([xi + 2 * hh, xi + hh, xi - hh, xi - 2 * hh], axis=1)
    F = evaluate_axes(f, x, idx, points, batch)
    return np.abs(F[:, 0] - 2 * F[:, 1] + 2 * F[:, 2] - F[:, 3]) / (2 * hh ** 3)


def noise_level(f: Function, x: np.ndarray, *, seed: int = 0, delta: float = 1e-6, points: int = 9,
                full: bool = False):
    """The rounding error of one evaluation of ``f`` near ``x`` (Moré and Wild's ECnoise).

    ``f`` is evaluated at ``points`` equally spaced points ``x + t·d`` (every coordinate moves
    by ``delta`` relative, in a random direction), and the noise is read off the higher-order
    differences of those values, which the smooth part of f hardly reaches:
    σₖ² = γₖ · mean((Δᵏf)²) with γₖ = (k!)² / (2k)!. The smallest σₖ for k = 3…6 is returned.

    Parameters
    ----------
    f : callable
        ``f(x) -> float``.
    x : ndarray of shape (n,)
        Restored on return.
    seed : int
        For the direction.
    delta : float
        Relative spacing; 1e-6 is visible to float32 arithmetic, so a function that rounds to
        float32 inside shows its noise.
    points : int
        At least 8.
    full : bool
        Also return the values of f along the line.

    Returns
    -------
    float, or (float, ndarray of shape (points,)) with ``full``
        Zero when f is exact along the line (e.g. piecewise linear in exact arithmetic). A kink
        on the line also shows up as "noise", of a size proportional to ``delta``: comparing two
        values of ``delta`` tells them apart.

    Examples
    --------
    >>> v = np.array([0.3, -1.2])
    >>> s64 = noise_level(lambda u: float(np.sum(np.sin(u))), v)
    >>> s32 = noise_level(lambda u: float(np.sum(np.sin(u.astype(np.float32)))), v)
    >>> bool(s64 < 1e-15 < 1e-9 < s32)
    True
    """
    rng = np.random.default_rng(seed)
    direction = rng.choice([-1.0, 1.0], size=x.size) * np.maximum(1.0, np.abs(x))
    x0 = x.copy()
    values = []
    try:
        for k in range(points):
            t = (k - (points - 1) / 2) * delta
            x[:] = x0 + t * direction
            values.append(float(f(x)))
    finally:
        x[:] = x0
    values = np.array(values)
    if not np.all(np.isfinite(values)):
        return (float("nan"), values) if full else float("nan")
    sigmas = []
    for k in range(3, 7):
        diff = np.diff(values, k)
        gamma = math.factorial(k) ** 2 / math.factorial(2 * k)
        sigmas.append(math.sqrt(gamma * float(np.mean(diff ** 2))))
    return (min(sigmas), values) if full else min(sigmas)


def directional(
    f: Function,
    x: np.ndarray,
    d: np.ndarray,
    *,
    t0: float = 1e-3,
    levels: int = 4,
    noise: float | None = None,
) -> tuple[float, float]:
    """The directional derivative ∇f(x)·d by Richardson extrapolation along the line x + t·d.

    Parameters
    ----------
    f : callable
        ``f(x) -> float``.
    x : ndarray of shape (n,)
        Restored on return.
    d : ndarray of shape (n,)
        Direction; scale it so that a step ``t0`` is small for every coordinate.
    t0 : float
        Largest step along ``d``.
    levels : int
    noise : float, optional

    Returns
    -------
    value, error : float
    """
    x0 = x.copy()
    ts = t0 / 2.0 ** np.arange(levels)
    fp, fm = [], []
    try:
        for t in ts:
            x[:] = x0 + t * d
            fp.append(float(f(x)))
            x[:] = x0 - t * d
            fm.append(float(f(x)))
    finally:
        x[:] = x0
    fp, fm = np.array(fp), np.array(fm)
    D = ((fp - fm) / (2 * ts))[None, :]
    sigma = np.array([noise if noise is not None else EPS * max(np.max(np.abs(fp)), np.max(np.abs(fm)))])
    value, error = _tableau(D, ts[None, :], sigma, 2.0)
    return float(value[0]), float(error[0])


def complex_directional(f: Function, x: np.ndarray, d: np.ndarray, *, h: float = 1e-20) -> float:
    """``Im f(x + i h d) / h``: the complex-step directional derivative, raising
    ``ComplexStepUnsafe`` as ``complex_step`` does.

    Parameters
    ----------
    f : callable
        ``f(z) -> complex``.
    x : ndarray of shape (n,)
        The point; a complex128 ``x`` is changed in place and restored.
    d : ndarray of shape (n,)

    Returns
    -------
    float
    """
    z = x if x.dtype == np.complex128 else np.asarray(x, dtype=np.complex128).copy()
    z0 = z.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("error", np.exceptions.ComplexWarning)
        try:
            z[:] = z0.real + 1j * h * np.asarray(d, dtype=np.float64)
            r = _complex_guard(f)(z)
        except ComplexStepUnsafe:
            raise
        except Exception as exc:
            raise ComplexStepUnsafe(f"{type(exc).__name__}: {exc}") from None
        finally:
            z[:] = z0
    return r.imag / h


# Agreement of a derivative with its finite difference: within this many error estimates, plus
# a relative floor for the rounding of double-precision evaluation.
_ERROR_FACTOR = 10.0
_RELATIVE_FLOOR = 1e-7


_DIGITS = 60


def _precise_difference(expr, point: dict, s):
    """∂expr/∂s at ``point`` by central differences evaluated with 60 significant digits past
    the size of the point, and an error estimate: steps h and h/2, combined by Richardson's rule.

    Double precision cannot difference sin at x = 10⁶ or 1/x at 10⁻⁸ (the step that beats
    rounding is too coarse for the curve). The step is h = 10⁻²⁵ below |x| = 1 and 10⁻²⁵·|x|
    under it, never relative to a large |x|: sin at x = e²⁰⁰ turns within a length of 1, not of
    e²⁰⁰, so a step of 10⁻²⁵·e²⁰⁰ would span many periods. The working precision grows with
    log₁₀|x|, so that x ± h is held exactly and the rounding stays 10⁻³⁵ of f. None where f is
    not a real number near the point (a kink test in double precision takes over)."""
    import sympy as sp

    x = sp.sympify(point[s])
    magnitude = abs(float(x.evalf(30)))
    digits = _DIGITS + max(0, math.ceil(math.log10(magnitude))) if magnitude > 1 else _DIGITS
    at = {k: sp.Float(v, digits) if getattr(v, "is_Float", False) or isinstance(v, float) else v
          for k, v in point.items()}
    x = sp.Float(x.evalf(digits), digits)
    h = sp.Float("1e-25", digits) * (abs(x) if 0 < magnitude < 1 else 1)

    def f(v):
        value = expr.xreplace({**at, s: v}).evalf(digits)
        if not value.is_number or value.has(sp.nan, sp.zoo, sp.oo, -sp.oo) or not value.is_extended_real:
            raise ValueError
        return value

    try:
        coarse = (f(x + h) - f(x - h)) / (2 * h)
        fine = (f(x + h / 2) - f(x - h / 2)) / h
    except (TypeError, ValueError, ArithmeticError):
        return None
    return float((4 * fine - coarse) / 3), float(abs(fine - coarse)) + 1e-300


def check_derivatives(expr, point: dict, values: dict) -> tuple:
    """Compare derivatives of a SymPy expression with finite differences: central differences
    at 60 significant digits where the expression is smooth and real there, Richardson's
    extrapolation in double precision otherwise.

    Parameters
    ----------
    expr : sympy.Expr
        Written with SymPy's built-in functions (``derive.functions.to_elementary``).
    point : dict of Symbol to number
        A value for every variable of ``expr``.
    values : dict of Symbol to number
        The derivative ∂expr/∂s at ``point`` for each variable s to check.

    Returns
    -------
    tuple of derive.expr.FiniteDifferenceCheck
        One per variable, in the order of ``values``; a disagreement at a kink whose one-sided
        derivative is the value is a "kink", not a failure.
    """
    import sympy as sp

    from derive.expr import FiniteDifferenceCheck

    variables = list(values)
    elementary = expr

    def f(v):
        at = dict(point)
        at.update({s: sp.Float(float(c), 17) for s, c in zip(variables, v)})
        try:
            out = complex(elementary.xreplace(at).evalf(17))
        except (TypeError, ValueError, OverflowError):
            return math.nan
        return out.real if abs(out.imag) <= 1e-12 * max(1.0, abs(out.real)) else math.nan

    x0 = np.array([float(point[s]) for s in variables])
    result = None
    checks = []
    for i, s in enumerate(variables):
        precise = _precise_difference(expr, point, s)
        if precise is None:
            result = result or richardson(f, x0)
            precise = float(result.value[i]), float(result.error[i])
        value, (approx, error) = float(values[s]), precise
        verdict = "agree" if _agree(value, approx, error) else "disagree"
        if verdict == "disagree":
            kink = kinks(f, x0, [i])
            sides = (float(kink.backward[0]), float(kink.forward[0]))
            if bool(kink.is_kink[0]) and any(_agree(value, side, 100 * float(kink.error[0])) for side in sides):
                verdict = "kink"
        checks.append(FiniteDifferenceCheck(s, value, approx, error, verdict, _ERROR_FACTOR))
    return tuple(checks)


def _agree(value: float, approx: float, error: float) -> bool:
    if not (math.isfinite(approx) and math.isfinite(error)):
        return False
    return abs(value - approx) <= _ERROR_FACTOR * error + _RELATIVE_FLOOR * max(1.0, abs(value))
