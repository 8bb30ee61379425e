"""Large models: wrong blocks found from a few directional derivatives, wrong entries by bisection.

Above ``Checker.directional_above`` parameters, differentiating every coordinate (or a sample of
them) costs thousands of loss calls and still misses entries outside the sample. Instead, each
block is differentiated along ``DIRECTIONS`` random directions. The derivative along a direction
comes from a ladder of steps (each a quarter of the last): the pair of neighbouring steps whose
central differences agree best gives the value and the error estimate, so steps that straddle
a kink of the loss (ReLU) are passed over for smaller ones that do not. A block whose
directions all agree with the analytic gradient within that error passes with no entry
differentiated on its own. A direction that disagrees is followed down by bisection: the
direction restricted to each half of the entries (C order), then to each half of a half that
disagrees, down to groups of ``LEAF`` entries. Those entries are then checked one by one on
today's per-entry path, with its re-checks at kinks and its hints; so is a sample of the block
when the disagreement is everywhere (a constant factor, a sign), when it spreads over more than
``MAX_NODES`` groups, or when no step resolves the derivative.
"""

from __future__ import annotations

import numpy as np

from .tolerance import EPS, K_ERR

DIRECTIONS = 3           # random directions per block
LADDER = 7               # steps per directional derivative: T0, T0/4, … T0/4⁶
T0 = 1e-2                # largest step along a unit direction
LEAF = 16                # bisection stops at groups of this many entries
MAX_NODES = 4            # more disagreeing groups than this at one level: the bug is everywhere


def _direction(checker, b, k):
    """Random direction ``k`` of block ``b`` (Gaussian, not ±1: a sum of ±1 terms can cancel
    exactly and hide a dropped term), each entry scaled by max(1, |x|) as the per-entry steps are."""
    p = checker.point
    sl = p.block_of(b)
    rng = np.random.default_rng([checker.seed, 13, b, k])
    return rng.standard_normal(sl.stop - sl.start) * np.maximum(1.0, np.abs(p.x[sl]))


def line_derivative(checker, start, d):
    """The loss's derivative at the point along ``d`` (entries ``start…start+len(d)`` of the flat
    parameters), normalised to unit length: (value, error estimate, unit direction).

    Central differences at ``LADDER`` steps; the neighbouring pair that agrees best (their
    distance plus the rounding error of the smaller step) gives the value, the smaller step's.
    Where every pair disagrees, the error estimate says so and the caller does not trust it."""
    u = d / max(float(np.linalg.norm(d)), 1e-300)
    x = checker.point.x
    sl = slice(start, start + u.size)
    x0 = x[sl].copy()
    ts = T0 / 4.0 ** np.arange(LADDER)

    def at(t):
        x[sl] = x0 + t * u
        try:
            return checker.f(x)
        finally:
            x[sl] = x0

    central = np.array([(checker.run_guarded(at, t) - checker.run_guarded(at, -t)) / (2 * t) for t in ts])
    rounding = checker.sigma / ts
    spread = np.abs(np.diff(central)) + rounding[1:]
    k = int(np.argmin(np.where(np.isfinite(spread), spread, np.inf)))
    return float(central[k + 1]), float(spread[k]), u


def probe(checker, analytic, b, lo, hi, d):
    """Judge the analytic gradient of block ``b``, entries ``lo:hi`` (flat in the block), along
    ``d`` restricted to them: a dict with "analytic", "numeric", "error_estimate", "ok" and
    "resolved" (the finite difference is precise enough to decide)."""
    p = checker.point
    start = p.offsets[b] + lo
    value, err, u = line_derivative(checker, start, d[lo:hi])
    g = analytic[start:start + u.size]
    ad = float(g @ u)
    terms = g * u
    # Rounding in a correct analytic gradient is independent from entry to entry: it adds up
    # like a root-sum-square, not like the sum of the worst cases (which would hide one wrong
    # entry among a hundred thousand).
    bound = (K_ERR * err + checker.rtol * float(np.linalg.norm(terms))
             + checker.atol * float(np.max(np.abs(analytic[p.block_of(b)]), initial=0.0))
             + 100 * EPS * (float(np.sum(np.abs(terms))) + abs(checker.f0)))
    resolved = err <= 1e-3 * max(abs(value), abs(ad)) + bound - K_ERR * err
    return {"analytic": ad, "numeric": value, "error_estimate": err,
            "ok": bool(abs(ad - value) <= bound), "resolved": bool(resolved)}


def locate(checker, analytic, b, sample):
    """Check block ``b`` of ``analytic`` along random directions and, where they disagree,
    locate the disagreement by bisection.

    Parameters
    ----------
    checker : Checker
        Calibrated (its rounding noise ``sigma`` is known).
    analytic : ndarray
        The gradient under test, flat over every parameter.
    b : int
        The block.
    sample : ndarray
        Flat coordinates checked one by one when the disagreement is everywhere.

    Returns
    -------
    coords : ndarray
        Flat coordinates to check one by one (none when every direction agrees).
    directional : dict
        The worst direction's "analytic", "numeric", "error_estimate", "ok"; "directions", how
        many; "located", how the entries were chosen ("none", "bisection", "sample").
    """
    p = checker.point
    size = p.sizes[b]
    dirs = [_direction(checker, b, k) for k in range(DIRECTIONS)]
    probes = [probe(checker, analytic, b, 0, size, d) for d in dirs]

    def badness(pr):
        return abs(pr["analytic"] - pr["numeric"]) / max(pr["error_estimate"], 1e-300)

    worst = max(range(DIRECTIONS), key=lambda k: (not probes[k]["ok"], badness(probes[k])))
    summary = {key: probes[worst][key] for key in ("analytic", "numeric", "error_estimate")}
    summary["ok"] = all(pr["ok"] for pr in probes)
    summary["directions"] = DIRECTIONS
    if summary["ok"] and all(pr["resolved"] for pr in probes):
        return np.empty(0, dtype=np.intp), {**summary, "located": "none"}
    if not all(pr["resolved"] for pr in probes):
        return sample, {**summary, "located": "sample"}
    d = dirs[worst]
    nodes, leaves = [(0, size)], []
    while nodes:
        following = []
        for lo, hi in nodes:
            if hi - lo <= LEAF:
                leaves.append((lo, hi, 1))
                continue
            mid = (lo + hi) // 2
            halves = [(a, z) for a, z in ((lo, mid), (mid, hi))
                      if not (pr := probe(checker, analytic, b, a, z, d))["ok"] or not pr["resolved"]]
            # Neither half reproduces the disagreement (a bug spread thin, or a kink on the
            # line): the group's entries speak for themselves, a sample of them.
            following.extend(halves)
            if not halves:
                leaves.append((lo, hi, max(1, (hi - lo) // LEAF)))
        if len(following) > MAX_NODES:
            return sample, {**summary, "located": "sample"}
        nodes = following
    local = np.unique(np.concatenate([np.arange(*leaf) for leaf in leaves]))
    return p.offsets[b] + local, {**summary, "located": "bisection"}


def note(checker, n_directional, threshold) -> str:
    """The report's note on how a large model was checked."""
    return (f"{n_directional:,} parameters, more than {threshold:,}: each block checked along "
            f"{DIRECTIONS} random directions (seed {checker.seed}); disagreeing blocks located by "
            f"bisection over their entries, and the entries found checked one by one "
            f"({checker.coords.size:,} of them)")

