"""Judging a gradient against its reference, entry by entry and block by block.

``compare_fd`` judges an analytic gradient against the checker's finite differences; entries
outside the tolerance are re-checked (Richardson over a wide range of steps, then one-sided
differences: at a kink any analytic value between the two one-sided derivatives is accepted).
``compare_exact`` judges one gradient against another. Every failing block is explained by
``hints``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import hints
from .checker import Checker
from .hints import Evidence
from .report import MAX_LISTED, BlockResult, Comparison
from .tolerance import ATOL, EPS, EPS32, K_ERR, RTOL, Tol, cap

REFINE_BATCH = 32        # failing entries re-checked at a time; one confirmed batch ends the re-checks


@dataclass
class _Judged:
    """Every compared entry: coordinate, values, tolerance and status (0 pass, 1 fail, 2 kink-accepted,
    3 inconclusive: near a kink the loss's precision cannot resolve)."""

    coords: np.ndarray
    analytic: np.ndarray
    reference: np.ndarray
    tol: Tol
    status: np.ndarray
    kinks: dict              # position in coords -> (backward, forward), for entries found at a kink
    reference_kind: str      # "numeric" or "derived"


def _block_scales(checker: Checker, coords, n) -> np.ndarray:
    """Per entry: the largest |reference| in its block."""
    p = checker.point
    blk = p.block_index(coords)
    scales = np.array([float(np.max(np.abs(n[blk == b]), initial=0.0)) for b in range(len(p.names))])
    return scales[blk]


def _rel_error(a, n) -> float:
    denom = max(np.linalg.norm(a), np.linalg.norm(n), 1e-300)
    return float(np.linalg.norm(a - n) / denom) if a.size else 0.0


def compare_fd(checker: Checker, analytic: np.ndarray, title: str, analytic_low: bool,
               directional: dict | None = None) -> Comparison:
    """Judge ``analytic`` (flat, all parameters) against the checker's finite differences.

    ``directional`` (block -> dict, from ``Checker.locate``) holds the directional checks of a
    large model; its blocks are judged by the entries those checks led to."""
    p = checker.point
    num = checker.numeric
    rtol, atol = checker.rtol, checker.atol
    if analytic_low:
        rtol, atol = max(rtol, 1e3 * EPS32), max(atol, 1e3 * EPS32)
    coords = checker.coords
    n = num.value[coords].copy()
    err = cap(num.error[coords], n, num.rounding[coords])
    a = analytic[coords]
    G = float(np.max(np.abs(n), initial=0.0))
    floor = 100 * EPS * (G + abs(checker.f0) / np.maximum(1.0, np.abs(p.x[coords])))
    # ``tol`` holds ``err`` itself: the re-checks below improve the estimates it judges with.
    tol = Tol(err, _block_scales(checker, coords, n), floor, rtol, atol)
    status = np.where(tol.ok(a, n), 0, 1)
    kinks = {}

    # Re-check the failures: Richardson over a wide range of steps, then one-sided differences,
    # then one-sided differences on a ladder of steps (a kink closer than the step). A block with
    # a batch of confirmed failures is wrong; its other failures stay failing unchecked.
    bad = np.flatnonzero(status == 1)
    order = np.random.default_rng([checker.seed, 3]).permutation(bad) if bad.size else bad
    block = p.block_index(coords)
    confirmed = np.zeros(len(p.names), dtype=int)
    while order.size:
        j = np.sort(order[:REFINE_BATCH])
        order = order[REFINE_BATCH:]
        c = coords[j]
        checker.progress(f"re-checking {j.size:,} of the {j.size + order.size:,} entries that disagree")
        rv, re_ = checker.refine(c)
        re_ = cap(re_, rv, num.rounding[c])
        better = np.isfinite(rv) & ((re_ < err[j]) | ~np.isfinite(n[j]))
        n[j] = np.where(better, rv, n[j])
        err[j] = np.where(better, re_, err[j])
        passed = tol.sub(j).ok(a[j], n[j], err[j])
        status[j[passed]] = 0
        j = j[~passed]
        c = coords[j]
        if not j.size:
            continue
        fwd, bwd, kerr, is_kink, cen, cen_err = checker.kinks(c)
        cen_err = cap(cen_err, cen, kerr)
        smooth_ok = ~is_kink & tol.sub(j).ok(a[j], cen, cen_err)
        lo, hi = np.minimum(fwd, bwd), np.maximum(fwd, bwd)
        slack = tol.sub(j).bound(lo, hi, kerr)
        inside = is_kink & (a[j] >= lo - slack) & (a[j] <= hi + slack)
        status[j[smooth_ok]] = 0
        n[j[smooth_ok]] = cen[smooth_ok]
        err[j[smooth_ok]] = cen_err[smooth_ok]
        status[j[inside]] = 2
        # An accepted subgradient is compared with the nearest point of [backward, forward].
        n[j[inside]] = np.clip(a[j[inside]], lo[inside], hi[inside])
        err[j[inside]] = kerr[inside]
        for k in np.flatnonzero(is_kink):
            kinks[int(j[k])] = (float(bwd[k]), float(fwd[k]))
            if not inside[k]:
                n[j[k]] = (fwd[k] + bwd[k]) / 2
        rest = np.flatnonzero(~smooth_ok & ~inside)
        if rest.size:
            _near_kink(checker, j[rest], a, n, err, tol, status, kinks)
        np.add.at(confirmed, block[j], status[j] == 1)
        if order.size:
            order = order[confirmed[block[order]] < REFINE_BATCH]

    judged = _Judged(coords, a, n, tol, status, kinks, "numeric")
    return _comparison(checker, title, judged, analytic, num.value, directional)


def _near_kink(checker: Checker, j, a, n, err, tol: Tol, status, kinks) -> None:
    """Decide the entries ``j`` that neither Richardson nor the kink test could, from one-sided
    differences on a ladder of steps (``Checker.one_sided``).

    A side whose difference stays the same when its step shrinks has no kink within the step: its
    value is the derivative at the point, whatever lies on the other side. An analytic value that
    matches such a side passes; one that lies between two such sides that differ is a
    subgradient at a kink; one that matches no such side while one exists fails. When no side is
    stable at a step the loss's precision resolves (kinks closer than the smallest useful step,
    as in float32), the entry is inconclusive (status 3): not a located bug.
    """
    fw, bw, rounding = checker.one_sided(checker.coords[j])
    aj, t = a[j], tol.sub(j)
    best = {}
    rows = np.arange(len(j))
    for side, S in (("forward", fw), ("backward", bw)):
        value, e = S[:, 1:], np.abs(np.diff(S, axis=1)) / 3 + rounding[:, 1:]
        big = np.maximum(np.abs(aj)[:, None], np.abs(value))
        resolved = e <= 0.05 * big + (0.01 * t.scale)[:, None]
        bound = K_ERR * e + t.rtol * big + (t.atol * t.scale + t.floor)[:, None]
        with np.errstate(invalid="ignore"):
            agree = resolved & (np.abs(aj[:, None] - value) <= bound)
        # The most precise resolved level stands for the side.
        e_r = np.where(resolved, e, np.inf)
        level = np.argmin(e_r, axis=1)
        # An agreeing side stands for itself at the level it agrees.
        level = np.where(agree.any(axis=1), np.argmax(agree, axis=1), level)
        best[side] = (value[rows, level], e[rows, level], np.isfinite(e_r[rows, level]), agree.any(axis=1))
    (fv, fe, fres, fagree), (bv, be, bres, bagree) = best["forward"], best["backward"]
    lo, hi = np.minimum(fv, bv), np.maximum(fv, bv)
    between = fres & bres & (aj >= lo - t.bound(lo, hi, fe + be)) & (aj <= hi + t.bound(lo, hi, fe + be))
    passed = fagree | bagree
    at_kink = ~passed & between
    status[j] = np.where(passed, 0, np.where(at_kink, 2, np.where(fres | bres, 1, 3)))
    # A passing entry is compared with the side it matches; a failing one keeps its Richardson
    # value, more accurate than a one-sided difference where the loss is smooth.
    n[j] = np.where(passed, np.where(fagree, fv, bv), n[j])
    err[j] = np.where(passed, np.where(fagree, fe, be), err[j])
    n[j[at_kink]] = np.clip(aj[at_kink], lo[at_kink], hi[at_kink])
    for k in np.flatnonzero(at_kink):
        kinks[int(j[k])] = (float(bv[k]), float(fv[k]))


def compare_exact(checker: Checker, analytic: np.ndarray, reference: np.ndarray, title: str,
                  low: bool) -> Comparison:
    """Judge one analytic gradient against another (no finite-difference error)."""
    p = checker.point
    coords = np.arange(p.n)
    a, n = analytic.copy(), reference.copy()
    rtol, atol = (max(RTOL, 1e3 * EPS32), max(ATOL, 1e3 * EPS32)) if low else (RTOL, ATOL)
    G = float(np.max(np.abs(n), initial=0.0))
    tol = Tol(np.zeros(p.n), _block_scales(checker, coords, n), np.full(p.n, 100 * EPS * G), rtol, atol)
    judged = _Judged(coords, a, n, tol, np.where(tol.ok(a, n), 0, 1), {}, "derived")
    return _comparison(checker, title, judged, analytic, reference)


def _comparison(checker: Checker, title: str, judged: _Judged, analytic, screened,
                directional: dict | None = None) -> Comparison:
    """The blocks of one comparison with their hints, including those across blocks.

    ``analytic`` and ``screened`` are flat over all parameters: the gradient under test and the
    reference as first computed (before the re-checks)."""
    p = checker.point
    blk = p.block_index(judged.coords)
    results, evidence, first = [], [], []
    for b in range(len(p.names)):
        sel = np.flatnonzero(blk == b)
        result, ev = _block_result(checker, b, sel, judged, analytic, directional)
        results.append(result)
        evidence.append(ev)
        first.append(screened[judged.coords[sel]])
    hints.swapped(results, evidence, first)
    hints.recurrent_carry(results)
    hints.normalized_bias(results)
    return Comparison(title, results, hints.layer_diagnosis(results))


def _directional(checker: Checker, b: int, analytic, tol: Tol):
    """For a sampled block: the analytic derivative along the checker's random direction, judged
    against the finite difference along it."""
    p = checker.point
    d, value, derr = checker.direction_values[b]
    sl = p.block_of(b)
    ad = float(analytic[sl] @ d[sl])
    bound = K_ERR * derr + tol.rtol * float(np.sum(np.abs(analytic[sl] * d[sl]))) \
        + tol.atol * float(np.max(tol.scale, initial=0.0)) * float(np.linalg.norm(d[sl]))
    return {"analytic": ad, "numeric": value, "error_estimate": derr, "ok": bool(abs(ad - value) <= bound)}


def _block_result(checker: Checker, b: int, sel, judged: _Judged, analytic, found: dict | None = None):
    """The verdict, worst entry, failures, kinks, directional check and hint of block ``b``
    (``sel`` indexes its entries in ``judged``), and the evidence the hint was found from.

    With ``found`` (the directional path) the entries the directions led to decide: a direction
    that disagrees while every entry it led to agrees crossed kinks of the loss, not a bug."""
    p = checker.point
    name = p.names[b]
    ab, nb, st, tol = judged.analytic[sel], judged.reference[sel], judged.status[sel], judged.tol.sub(sel)
    fails = np.flatnonzero(st == 1)
    kinks = np.flatnonzero(st == 2)
    undecided = np.flatnonzero(st == 3)
    directional = None
    if found is not None:
        directional = found[b]
    elif judged.reference_kind == "numeric" and b in checker.direction_values:
        directional = _directional(checker, b, analytic, tol)
    ev = Evidence(
        name=name, shape=tuple(p.shapes[b]), local=judged.coords[sel] - p.offsets[b], analytic=ab, reference=nb,
        failing=fails, tol=tol, params=p.x0[judged.coords[sel]],
        kinks={k: judged.kinks[s] for k, s in enumerate(sel.tolist()) if s in judged.kinks},
        directional=directional, reference_kind=judged.reference_kind, block_analytic=analytic[p.block_of(b)],
    )
    ratio = np.abs(ab - nb) / np.maximum(tol.bound(ab, nb), 1e-300)
    ratio = np.where(np.isfinite(ratio), ratio, np.inf)
    worst = None
    if st.size:
        w = fails[np.argmax(ratio[fails])] if fails.size else np.argmax(np.where(st >= 2, -1, ratio))
        worst = ev.entry(int(w))
    kink_list = []
    for k in kinks[:MAX_LISTED]:
        bwd, fwd = ev.kinks.get(int(k), (float("nan"), float("nan")))
        kink_list.append({"index": list(ev.index(int(k))), "analytic": float(ab[k]), "backward": bwd, "forward": fwd})
    # on the directional path, a disagreeing direction that no entry explains is not a pass
    unlocated = found is not None and directional is not None and not directional["ok"] and not kinks.size
    if fails.size or (found is None and directional is not None and not directional["ok"]):
        verdict = "fail"
    else:
        verdict = ("inconclusive" if undecided.size or unlocated else "kink-accepted" if kinks.size
                   else "pass")
    result = BlockResult(
        name=name, shape=ev.shape, size=p.sizes[b], checked=int(sel.size), rel_error=_rel_error(ab, nb),
        verdict=verdict, hint=None, worst=worst, n_fail=int(fails.size), n_kink=int(kinks.size),
        n_inconclusive=int(undecided.size),
        failures=[ev.entry(int(k)) for k in fails[np.argsort(-ratio[fails], kind="stable")][:MAX_LISTED]],
        kinks=kink_list, directional=directional,
        method=checker.methods.get(b, "") if judged.reference_kind == "numeric" else "",
    )
    if verdict == "fail":
        hints.attach(result, hints.explain(ev))
    elif undecided.size:
        hints.attach(result, hints.inconclusive(ev, undecided, checker.low_precision))
    elif unlocated:
        hints.attach(result, hints.unlocated(name, directional))
    elif kinks.size:
        hints.attach(result, hints.kink_accepted(name, int(kinks.size), kink_list[0]))
    return result, ev
