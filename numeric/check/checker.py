"""Finite differences of one loss at one point: the numbers every gradient is compared with.

``Checker`` calls the loss (never the gradient), measures its rounding noise, chooses the steps
and the coordinates (all, or a stratified sample), screens them by the requested mode, and
re-checks on demand: Richardson extrapolation over a wide range of steps (``refine``) and
one-sided differences that detect kinks (``kinks``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from derive.errors import DeriveError

from .. import fd
from derive.errors import said
from . import group
from .inputs import Point, call_user, display, scalar_converter, where_zh
from .tolerance import ATOL, EPS, EPS32, K_ERR, RTOL

MODES = ("auto", "central", "complex", "richardson")
SMALL_BLOCK = 2048       # blocks up to this size are checked entirely even when sampling
RICHARDSON_ALL = 1000    # "auto" uses Richardson for every coordinate up to this many
DIRECTIONAL_ABOVE = 50_000   # models with more parameters are checked along directions (``group``)


@dataclass
class Numeric:
    """Numeric values for the checked coordinates and how they were obtained."""

    value: np.ndarray
    error: np.ndarray
    rounding: np.ndarray


class Checker:
    """Finite differences of one loss at one point, shared by every gradient compared to them."""

    def __init__(self, loss, params, *, mode, seed, max_coords, sample_size, rtol, atol, batch,
                 source, progress, directional_above=DIRECTIONAL_ABOVE):
        if mode not in MODES:
            raise DeriveError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
        self.mode = mode
        self.seed = int(seed)
        self.source = source
        self.where = f"{display(source)}: " if source else ""
        self.progress = progress or (lambda msg: None)
        self.notes: list[str] = []
        self.point = p = Point(params, source)
        if p.float32:
            self.notes.append(f"params {', '.join(p.float32)} are float32: evaluated in float64 (cast up)")
        self.loss = loss
        self.batch = batch
        self.rtol = RTOL if rtol is None else float(rtol)
        self.atol = ATOL if atol is None else float(atol)
        self._first_evaluation()
        self.directional_above = int(directional_above)
        self.directional = p.n > self.directional_above
        self.directional_results: list[dict] = []
        self._calibrated = False
        self._choose_coordinates(max_coords, sample_size)
        self._refined: dict = {}
        self._kinked: dict = {}
        self.methods: dict[int, str] = {}

    # evaluating the loss --------------------------------------------------------------------
    def _first_evaluation(self):
        p = self.point
        r = self.run_guarded(self.loss, **p.views)
        conv = scalar_converter(r, "loss", self.where)
        self.result_float32 = isinstance(r, (np.float32, np.float16)) or (
            isinstance(r, np.ndarray) and r.dtype.itemsize < 8 and r.dtype.kind == "f")
        f0 = conv(r)
        if not math.isfinite(f0):
            raise said(f"{self.where}loss returned {f0} at params; it must be finite there",
                       f"{where_zh(self.where)}损失函数 loss 在 params 处返回 {f0}；它在那里必须是有限值")
        loss, kw = self.loss, p.views

        # The finite-difference routines perturb the buffer p.x in place; the views read it, so
        # the argument (that same buffer) is not needed.
        def f(_x):
            return conv(loss(**kw))

        self.f = f
        self.f0 = f0
        self._check_same(self.run_guarded(f, p.x))

    def _check_same(self, value):
        eps = EPS32 if self.result_float32 else EPS
        if not (abs(value - self.f0) <= 16 * eps * max(abs(self.f0), 1e-300)):
            raise said(f"{self.where}loss is not deterministic (dropout or unseeded randomness?): "
                       f"two calls at the same point gave {self.f0!r} and {value!r}",
                       f"{where_zh(self.where)}损失函数 loss 不是确定性的（有随机失活，或随机数没有固定种子？）："
                       f"在同一点调用两次，得到 {self.f0!r} 和 {value!r}")

    def run_guarded(self, fn, *args, **kwargs):
        """Run the loss or a finite-difference routine on it; its exceptions become one-line DeriveErrors."""
        return call_user("loss", self.source, fn, *args, **kwargs)

    # precision and steps --------------------------------------------------------------------
    def calibrate(self):
        """Measure the loss's rounding noise, detect float32 arithmetic, and choose steps."""
        p = self.point
        self._calibrated = True
        s1, v1 = self.run_guarded(fd.noise_level, self.f, p.x, seed=self.seed, delta=1e-6, full=True)
        s2, _ = self.run_guarded(fd.noise_level, self.f, p.x, seed=self.seed, delta=1e-5, full=True)
        finite = np.isfinite(s1) and np.isfinite(s2)
        fscale = max(abs(self.f0), float(np.max(np.abs(v1[np.isfinite(v1)]), initial=0.0)), 1e-300)
        eps_dtype = EPS32 if self.result_float32 else EPS
        # Rounding noise does not depend on the spacing; a kink on the probe line, or curvature,
        # grows with it. Only noise that stays the same is believed.
        steady = finite and s2 <= 3 * s1 + eps_dtype * fscale
        sigma = min(s1, s2) if steady else 0.0
        self.sigma = max(sigma, eps_dtype * fscale / 2)
        rel = self.sigma / fscale
        noisy = rel > 1e-10
        self.low_precision = self.result_float32 or (noisy and self._float32_inside())
        if self.result_float32:
            self.notes.append("loss returns float32: steps and tolerances widened to float32 precision")
        elif self.low_precision:
            self.notes.append(
                f"loss computes in float32 inside (rounding noise {rel:.1e} relative): "
                "steps and tolerances widened"
            )
        elif noisy:
            self.notes.append(f"loss is noisy (rounding noise {rel:.1e} relative): steps and tolerances widened")
        self.eps_f = min(max(eps_dtype, rel), 1e-4)
        if self.low_precision or noisy:
            self.rtol = max(self.rtol, 1e3 * self.eps_f)
            self.atol = max(self.atol, 1e3 * self.eps_f)
        base = self.eps_f ** (1 / 3)
        s = np.maximum(1.0, np.abs(p.x))
        self.h = base * s
        self.third = np.zeros(p.n)
        rng = np.random.default_rng([self.seed, 7])
        for b in range(len(p.names)):
            coords = self.coords_by_block[b]
            if coords.size == 0:
                continue
            pick = coords if coords.size <= 4 else np.sort(rng.choice(coords, 4, replace=False))
            hc = max(1e-3, 2 * self.eps_f ** 0.2) * s[pick]
            m3 = self.run_guarded(fd.third_derivative, self.f, p.x, pick, h=hc, batch=self.batch)
            m3 = float(np.max(m3[np.isfinite(m3)], initial=0.0))
            # Optimal step: truncation |f'''| h²/6 against rounding σ/h.
            h_opt = (3 * self.sigma / m3) ** (1 / 3) if m3 > 0 else np.inf
            sl = p.block_of(b)
            self.h[sl] = np.clip(h_opt, 0.25 * base * s[sl], 16 * base * s[sl])
            self.third[sl] = 2 * m3

    def _float32_inside(self) -> bool:
        """Does the loss round its inputs to float32? Then a change below float32's resolution
        (2⁻³⁰ relative) leaves it unchanged, at a point where its gradient is not zero."""
        p = self.point
        rng = np.random.default_rng([self.seed, 5])
        x0 = p.x.copy()
        base = (x0 + 0.01 * rng.standard_normal(p.n) * np.maximum(1.0, np.abs(x0))).astype(np.float32).astype(np.float64)
        try:
            p.x[:] = base
            fa = self.f(p.x)
            p.x[:] = base * (1 + 2.0 ** -30)
            fb = self.f(p.x)
        except Exception:
            return False
        finally:
            p.x[:] = x0
        return math.isfinite(fa) and fa == fb

    # which coordinates ----------------------------------------------------------------------
    def _choose_coordinates(self, max_coords, sample_size):
        p = self.point
        self.sampled = p.n > max_coords
        by_block = []
        if not self.sampled:
            for b in range(len(p.names)):
                sl = p.block_of(b)
                by_block.append(np.arange(sl.start, sl.stop))
        else:
            large = sum(s for s in p.sizes if s > SMALL_BLOCK)
            for b, size in enumerate(p.sizes):
                sl = p.block_of(b)
                if size <= SMALL_BLOCK:
                    by_block.append(np.arange(sl.start, sl.stop))
                    continue
                q = int(min(size, max(256, round(sample_size * size / max(large, 1)))))
                # Stratified: one random entry from each of q equal slices of the block (C order),
                # seeded by the block's size so that blocks of one shape share their sample.
                rng = np.random.default_rng([self.seed, size])
                edges = np.linspace(0, size, q + 1).astype(np.int64)
                local = edges[:-1] + (rng.random(q) * np.maximum(1, edges[1:] - edges[:-1])).astype(np.int64)
                by_block.append(sl.start + np.unique(np.minimum(local, size - 1)))
        if self.directional:
            # What a block is checked on when its directions disagree everywhere; until then
            # every entry is a candidate (the step calibration samples from them).
            self.sample_by_block = by_block
            by_block = [np.arange(p.block_of(b).start, p.block_of(b).stop) for b in range(len(p.names))]
        elif self.sampled:
            self.notes.append(
                f"{p.n:,} parameters: checked a stratified sample of {sum(len(c) for c in by_block):,} "
                f"coordinates (every block of up to {SMALL_BLOCK:,} entries entirely; seed {self.seed}) "
                "plus a directional derivative per block"
            )
        self.coords_by_block = by_block
        self.coords = np.concatenate(by_block) if by_block else np.empty(0, dtype=int)

    # the numeric gradient -------------------------------------------------------------------
    def screen(self):
        """Numeric values for every checked coordinate, by the requested mode."""
        p = self.point
        self.progress(f"finite differences on {self.coords.size:,} coordinates ({self.mode} mode)")
        if not self._calibrated:
            self.calibrate()
        value = np.zeros(p.n)
        error = np.zeros(p.n)
        self.rounding = 2 * self.sigma / self.h
        method = self.mode
        if method == "auto":
            method = "richardson" if p.n <= RICHARDSON_ALL else "central"
        if method == "complex":
            if self.low_precision:
                self.notes.append("complex step skipped: the loss computes in float32; central differences used")
                method = "central"
            else:
                done = self._complex_screen(value, error)
                rest = np.concatenate([c for b, c in enumerate(self.coords_by_block) if b not in done] or [np.empty(0, int)])
                self._central_into(rest, value, error)
                self.numeric = Numeric(value, error, self.rounding)
                self._directionals()
                return
        for b, c in enumerate(self.coords_by_block):
            self.methods[b] = "Richardson extrapolation" if method == "richardson" else "central differences"
        if method == "richardson":
            r = self.run_guarded(fd.richardson, self.f, p.x, self.coords, h0=self._h0(self.coords), levels=3,
                                 f0=self.f0, noise=self.sigma, batch=self.batch)
            value[self.coords], error[self.coords] = r.value, r.error
        else:
            self._central_into(self.coords, value, error)
        self.numeric = Numeric(value, error, self.rounding)
        self._directionals()

    def _h0(self, coords):
        """Richardson's largest step: ε^(1/5) scale, but not far beyond the tuned central step,
        which is small where the loss is strongly curved."""
        return np.minimum(8 * self.eps_f ** 0.2 * np.maximum(1.0, np.abs(self.point.x[coords])), 256 * self.h[coords])

    def _central_into(self, coords, value, error):
        if coords.size == 0:
            return
        for b, c in enumerate(self.coords_by_block):
            self.methods.setdefault(b, "central differences")
        x = self.point.x
        points = None
        if self.low_precision:
            # Points the float32 arithmetic represents exactly, so the step it sees is ours.
            xi = x[coords]
            points = (np.float32(xi + self.h[coords]).astype(np.float64), np.float32(xi - self.h[coords]).astype(np.float64))
        if points is None:
            r = self.run_guarded(fd.central, self.f, x, coords, h=self.h[coords], f0=self.f0,
                                 noise=self.sigma, third=self.third[coords], batch=self.batch)
            value[coords], error[coords] = r.value, r.error
        else:
            F = self.run_guarded(fd.evaluate_axes, self.f, x, coords, np.stack(points, axis=1), self.batch)
            d = points[0] - points[1]
            value[coords] = (F[:, 0] - F[:, 1]) / d
            error[coords] = 2 * self.sigma / d + self.third[coords] * (d / 2) ** 2 / 6

    def _complex_screen(self, value, error) -> set:
        """Complex step for every block whose directional probe agrees with real differences."""
        p = self.point
        xc, views = p.complex_views()
        loss = self.loss

        def fc(_z):
            return loss(**views)

        done = set()
        reason = None
        try:
            for b in range(len(p.names)):
                d = self._direction(b)
                cs = fd.complex_directional(fc, xc, d)
                rd, err = self.run_guarded(fd.directional, self.f, p.x, d, t0=1e-3, noise=self.sigma)
                bound = K_ERR * err + RTOL * max(abs(rd), abs(cs)) + 100 * EPS * abs(self.f0)
                if not abs(cs - rd) <= bound:
                    reason = (f"block {p.names[b]!r}: the complex-step derivative ({cs:.6g}) disagrees with real "
                              f"differences ({rd:.6g}); the loss drops the imaginary part (abs, norm, a cast?)")
                    continue
                coords = self.coords_by_block[b]
                r = fd.complex_step(fc, xc, coords, f0=self.f0)
                value[coords], error[coords] = r.value, r.error
                self.methods[b] = "complex step"
                done.add(b)
        except fd.ComplexStepUnsafe as exc:
            reason = str(exc)
            for b in list(done):
                self.methods.pop(b, None)
            done = set()
        if reason:
            self.notes.append(f"complex step unsafe ({reason}): central differences used for "
                              + ("every block" if not done else ", ".join(n for b, n in enumerate(p.names) if b not in done)))
        return done

    def _direction(self, b):
        p = self.point
        sl = p.block_of(b)
        rng = np.random.default_rng([self.seed, 11, b])
        d = np.zeros(p.n)
        # Gaussian, not ±1: a sum of ±1 terms can cancel exactly and hide a dropped term.
        d[sl] = rng.standard_normal(sl.stop - sl.start) * np.maximum(1.0, np.abs(p.x[sl]))
        return d

    def _directionals(self):
        """For sampled blocks: the derivative along one random direction, by Richardson."""
        self.direction_values = {}
        if not self.sampled or self.directional:
            return
        p = self.point
        t0 = max(1e-3, 8 * self.eps_f ** 0.2)
        for b in range(len(p.names)):
            d = self._direction(b)
            value, err = self.run_guarded(fd.directional, self.f, p.x, d, t0=t0 / max(1.0, math.sqrt(p.sizes[b]) / 32),
                                          noise=self.sigma)
            self.direction_values[b] = (d, value, err)

    def locate(self, gradients):
        """The directional path (more than ``directional_above`` parameters): check each block of
        each flat gradient along random directions, and keep as the coordinates to differentiate
        one by one only those the disagreements lead to (``group.locate``)."""
        p = self.point
        self.calibrate()
        found = [[np.empty(0, dtype=np.intp)] for _ in p.names]
        for flat in gradients:
            results = {}
            for b in range(len(p.names)):
                self.progress(f"block {p.names[b]}: derivatives along random directions")
                coords, results[b] = group.locate(self, flat, b, self.sample_by_block[b])
                found[b].append(coords)
            self.directional_results.append(results)
        self.coords_by_block = [np.unique(np.concatenate(c)) for c in found]
        self.coords = np.concatenate(self.coords_by_block)
        self.notes.append(group.note(self, p.n, self.directional_above))

    def refine(self, coords):
        """Richardson values for coordinates that failed the first test (cached).

        Ten step sizes, from 64 tuned steps down to an eighth of one: where the loss is curved on
        a scale far below max(1, |x|) (unscaled features), the small steps still resolve it."""
        todo = np.array([c for c in coords.tolist() if c not in self._refined], dtype=np.intp)
        if todo.size:
            r = self.run_guarded(fd.richardson, self.f, self.point.x, todo, h0=64 * self.h[todo], levels=10,
                                 f0=self.f0, noise=self.sigma, batch=self.batch)
            for c, v, e in zip(todo.tolist(), r.value.tolist(), r.error.tolist()):
                self._refined[c] = (v, e)
        return np.array([self._refined[c][0] for c in coords.tolist()]), np.array([self._refined[c][1] for c in coords.tolist()])

    def kinks(self, coords):
        """One-sided derivatives at small steps (cached): (forward, backward, err, is_kink, central, central_err)."""
        todo = np.array([c for c in coords.tolist() if c not in self._kinked], dtype=np.intp)
        if todo.size:
            r = self.run_guarded(fd.kinks, self.f, self.point.x, todo, h=self.h[todo] / 4, f0=self.f0,
                                 noise=self.sigma, batch=self.batch)
            for j, c in enumerate(todo.tolist()):
                self._kinked[c] = (r.forward[j], r.backward[j], r.error[j], bool(r.is_kink[j]),
                                   r.central[j], r.central_error[j])
        rows = [self._kinked[c] for c in coords.tolist()]
        return [np.array([row[k] for row in rows]) for k in range(6)]

    def one_sided(self, coords):
        """One-sided differences at five steps from the tuned one down to 1/256 of it, with the
        rounding error of each: (forward, backward, rounding), each of shape (k, 5)."""
        fw, bw, steps = self.run_guarded(fd.one_sided_ladder, self.f, self.point.x, coords, h=self.h[coords],
                                         f0=self.f0, round_to=np.float32 if self.low_precision else None,
                                         batch=self.batch)
        return fw, bw, 2 * self.sigma / np.abs(steps)

    def finish(self):
        """Last determinism check: the loss at the point must not have changed."""
        if not np.array_equal(self.point.x, self.point.x0):
            raise said(f"{self.where}the loss changed its arguments in place",
                       f"{where_zh(self.where)}损失函数原地修改了自己的参数")
        self._check_same(self.run_guarded(self.f, self.point.x))
