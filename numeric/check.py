"""Gradient checking: compare an analytic gradient with finite differences, block by block.

``check_grad(loss, grad, params)`` returns a ``Report``; ``check_model_file(path)`` does the same
for a model file (the ``derive check-grad`` command); ``check_builtin(name)`` checks a built-in
model's compiled gradient on random data.

Model files
-----------
A model file is a Python file that ``derive check-grad`` runs (it is your own code: running it is
the point). It defines module-level names in one of two forms.

NumPy form::

    params = {"w": np.array([0.5, -1.0]), "b": 0.1}   # name -> float or array: the point to check
    def loss(w, b): ...                               # loss(**params) -> float
    def grad(w, b): ...                               # -> {"w": ..., "b": ...}, same names and shapes
                                                      #    (a tuple in the order of params works too)

SymPy form::

    from derive.functions import sigmoid
    w1, w2, b, x1, x2, y = sympy.symbols("w1 w2 b x1 x2 y")
    loss = -(y * log(sigmoid(w1*x1 + w2*x2 + b)) + (1 - y) * log(1 - sigmoid(w1*x1 + w2*x2 + b)))
    params = {"w1": 0.5, "w2": -0.3, "b": 0.1}        # symbol name -> value: the point
    data = {"x1": [1.0, 2.0], "x2": [0.5, -1.0], "y": [1, 0]}   # the other symbols (optional)

``loss`` is a SymPy expression. ``data`` gives the values of its other free symbols; arrays of
equal length m make the loss the mean over the m examples. The gradient is derived with the
engine, compiled to NumPy and checked against finite differences. If the file also has a
hand-written ``grad`` (a dict of SymPy expressions, per example like ``loss``, or a NumPy
function as in the NumPy form), it is checked against both the finite differences and the derived
gradient, and all comparisons are reported.

Built-in models need no file: ``derive check-grad --model mlp --hidden 16`` checks the compiled
gradient of a model of the notes on random data (the seed is printed).

Usage::

    derive check-grad model.py [--json] [--mode auto|central|complex|richardson] [--seed N]
                               [--max-coords N]
    derive check-grad --model NAME [--features N] [--hidden N] [--classes N] [--activation G]

Results go to stdout (a table, plain text when piped or with ``NO_COLOR``; ``--json`` for
machines), notes and progress to stderr. Exit codes: 0 every block passes (kinks accepted), 1 a
block fails, 2 a bad file or usage (syntax error, no ``loss``, no ``grad`` in NumPy form, ``grad``
with wrong names or shapes, a ``loss`` that raises or is not a finite scalar, missing or
non-numeric ``params``, a loss that is not deterministic), with one line on stderr.

How the check works
-------------------
* Every coordinate is differentiated numerically, one call of the loss at a time: central
  differences with a step tuned per block from the measured rounding noise of the loss and a
  sampled third derivative (two calls per coordinate), Richardson extrapolation (six calls; the
  default up to 1,000 parameters), or the complex step where a probe shows that the loss carries
  imaginary parts through (``mode``). Models with more parameters than ``max_coords`` are
  checked on a stratified sample of coordinates in every block (blocks of up to 2,048 entries
  entirely) plus one directional derivative per block along a random direction; the seed is
  reported.
* Each entry is judged against the finite difference's own error estimate and the block's
  scale: ``|a − n| ≤ 4·err + rtol·max(|a|, |n|) + atol·max|n_block| + floor``. This passes
  correct gradients whose small entries are pure rounding noise, and still fails one wrong entry
  among thousands, which a norm-wise error cannot see. The norm-wise relative error
  ``‖a − n‖ / max(‖a‖, ‖n‖)`` is reported too.
* Entries that fail are re-checked with Richardson extrapolation and with one-sided differences
  at small steps. Where the forward and backward derivatives disagree at every step, the
  function has a kink there (ReLU at 0, max, |·|): any analytic value between the two one-sided
  derivatives is a valid subgradient and is accepted ("kink-accepted").
* A failing block gets a hint naming the likely bug: a sign flip, a constant factor (a missing
  1/m), a transpose, a left-out regularization term (with the fitted λ), a few wrong entries
  (listed), or gradients swapped between blocks.
* float32 parameters are cast to float64. A loss that computes in float32 anyway gets larger
  steps and wider tolerances, and the report says so.
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
import warnings
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np

from derive.errors import DeriveError

from . import fd

__all__ = [
    "check_grad",
    "check_model_file",
    "check_builtin",
    "Report",
    "Comparison",
    "BlockResult",
    "Entry",
    "render_text",
    "MODES",
]

MODES = ("auto", "central", "complex", "richardson")
EPS = fd.EPS
EPS32 = float(np.finfo(np.float32).eps)

K_ERR = 4.0              # multiples of the finite-difference error estimate an entry may be off
RTOL = 1e-6
ATOL = 1e-8              # relative to the block's largest numeric entry
SMALL_BLOCK = 2048       # blocks up to this size are checked entirely even when sampling
RICHARDSON_ALL = 1000    # "auto" uses Richardson for every coordinate up to this many
REFINE_BATCH = 32
MAX_LISTED = 5


# --------------------------------------------------------------------------------------------
# Results


@dataclass
class Entry:
    """One entry of a block: where it is and the two values compared."""

    index: tuple
    analytic: float
    numeric: float
    error: float = 0.0           # the numeric value's error estimate

    def label(self, name: str) -> str:
        return f"{name}[{', '.join(map(str, self.index))}]" if self.index else name

    def to_dict(self) -> dict:
        return {
            "index": list(self.index),
            "analytic": _num(self.analytic),
            "numeric": _num(self.numeric),
            "error_estimate": _num(self.error),
        }


@dataclass
class BlockResult:
    """The verdict on one parameter block.

    Attributes
    ----------
    name : str
    shape : tuple
    size : int
        Entries in the block.
    checked : int
        Entries compared one by one (all of them unless the model was sampled).
    rel_error : float
        ``‖a − n‖ / max(‖a‖, ‖n‖)`` over the checked entries.
    verdict : str
        One of {"pass", "fail", "kink-accepted"}.
    hint : str or None
        The likely bug (failing blocks) or what was accepted (kinks).
    detail : dict
        Numbers behind the hint: "ratio", "lambda", "lambda_l1", "entries" (indices),
        "swapped_with", "count".
    cause : str or None
        The hint as a key: one of {"sign-flip", "factor", "transpose", "regularization",
        "few-entries", "swapped", "backprop-step", "kink", "zero-analytic", "unused-parameter", "directional",
        "nonfinite-analytic", "nonfinite-numeric", "unknown"} for failing blocks,
        "kink-accepted" for accepted kinks.
    worst : Entry or None
        The entry farthest outside (or closest to) its tolerance.
    failures : list of Entry
        Failing entries (at most a few listed; ``n_fail`` counts them all).
    kinks : list of dict
        Kink-accepted entries with their one-sided derivatives (at most a few listed).
    directional : dict or None
        For sampled blocks: the analytic and numeric derivative along a random direction.
    method : str
        How the numeric values were computed.
    """

    name: str
    shape: tuple
    size: int
    checked: int
    rel_error: float
    verdict: str
    hint: Optional[str]
    worst: Optional[Entry]
    n_fail: int = 0
    n_kink: int = 0
    failures: list = field(default_factory=list)
    kinks: list = field(default_factory=list)
    directional: Optional[dict] = None
    method: str = ""
    cause: Optional[str] = None
    detail: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.verdict != "fail"

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "shape": list(self.shape),
            "size": self.size,
            "checked": self.checked,
            "rel_error": _num(self.rel_error),
            "verdict": self.verdict,
            "hint": self.hint,
            "cause": self.cause,
            "detail": {k: (_num(v) if isinstance(v, float) else v) for k, v in self.detail.items()},
            "n_fail": self.n_fail,
            "n_kink": self.n_kink,
            "worst": self.worst.to_dict() if self.worst else None,
            "failures": [e.to_dict() for e in self.failures],
            "kinks": [{k: (_num(v) if isinstance(v, float) else v) for k, v in d.items()} for d in self.kinks],
            "directional": None
            if self.directional is None
            else {k: (_num(v) if isinstance(v, float) else v) for k, v in self.directional.items()},
            "method": self.method,
        }


@dataclass
class Comparison:
    """One gradient compared with one reference (finite differences or another gradient)."""

    title: str
    blocks: list
    diagnosis: Optional[str] = None

    @property
    def ok(self) -> bool:
        return all(b.ok for b in self.blocks)

    def to_dict(self) -> dict:
        return {
            "title": self.title,
            "ok": self.ok,
            "diagnosis": self.diagnosis,
            "blocks": [b.to_dict() for b in self.blocks],
        }


@dataclass
class Report:
    """The result of a gradient check.

    Attributes
    ----------
    source : str
        What was checked (a file name or a model).
    comparisons : list of Comparison
        Usually one ("grad vs finite differences"); three for a SymPy file with a hand-written
        gradient.
    mode : str
        The requested mode, one of {"auto", "central", "complex", "richardson"}.
    seed : int
    n_params, n_checked : int
        Parameters in the model and coordinates differentiated one by one.
    notes : list of str
        What the checker adapted (float32, sampling, complex-step fallback, random data).
    """

    source: str
    comparisons: list
    mode: str
    seed: int
    n_params: int
    n_checked: int
    notes: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every block of every comparison passes (kinks accepted)."""
        return all(c.ok for c in self.comparisons)

    @property
    def blocks(self) -> list:
        """The blocks of the first comparison (the one against finite differences)."""
        return self.comparisons[0].blocks if self.comparisons else []

    def to_dict(self) -> dict:
        return {
            "source": self.source,
            "ok": self.ok,
            "mode": self.mode,
            "seed": self.seed,
            "n_params": self.n_params,
            "n_checked": self.n_checked,
            "notes": list(self.notes),
            "comparisons": [c.to_dict() for c in self.comparisons],
        }

    def to_json(self) -> str:
        """The report as JSON (stable key order; NaN and infinities as strings)."""
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)

    def __rich__(self):
        return render_rich(self)

    def __str__(self):
        return render_text(self)


def _num(v):
    if v is None:
        return None
    v = float(v)
    if math.isfinite(v):
        return v
    return str(v)


# --------------------------------------------------------------------------------------------
# The point and the user's functions


def _user_error(what: str, exc: BaseException, source: Optional[str]) -> DeriveError:
    """A one-line DeriveError for an exception raised by the user's code."""
    line = ""
    if source:
        tb = exc.__traceback__
        lineno = None
        while tb is not None:
            if _same_file(tb.tb_frame.f_code.co_filename, source):
                lineno = tb.tb_lineno
            tb = tb.tb_next
        if lineno is not None:
            line = f" (line {lineno})"
    msg = " ".join(str(exc).split())
    extra = ""
    if isinstance(exc, ValueError) and "read-only" in msg:
        extra = ": it must not change its arguments in place"
    elif isinstance(exc, TypeError) and ("keyword argument" in msg or "positional argument" in msg):
        extra = f" ({what} is called as {what}(**params), one argument per name in params)"
    prefix = f"{_display(source)}: " if source else ""
    return DeriveError(f"{prefix}{what} raised {type(exc).__name__}{line}: {msg}{extra}" if msg else
                       f"{prefix}{what} raised {type(exc).__name__}{line}{extra}")


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _display(source: Optional[str]) -> str:
    return os.path.basename(source) if source else "model"


class _Point:
    """The parameters as one flat float64 vector, with read-only views per block."""

    def __init__(self, params, source: Optional[str] = None):
        where = f"{_display(source)}: " if source else ""
        if not isinstance(params, dict) or not params:
            raise DeriveError(f"{where}params must be a non-empty dict name -> value (the point to check at)")
        self.names = []
        arrays = []
        self.float32 = []
        for name, value in params.items():
            if not isinstance(name, str):
                name = str(name)
            if isinstance(value, (bool, np.bool_)) or value is None or isinstance(value, (str, bytes)):
                raise DeriveError(f"{where}params[{name!r}] is {type(value).__name__}, not a number or array")
            try:
                arr = np.asarray(value)
            except Exception:
                raise DeriveError(f"{where}params[{name!r}] is not a number or array") from None
            if arr.dtype.kind not in "fiu":
                kind = "complex" if arr.dtype.kind == "c" else arr.dtype.name
                raise DeriveError(f"{where}params[{name!r}] has dtype {kind}; expected real numbers")
            if arr.dtype.kind == "f" and arr.dtype.itemsize < 8:
                self.float32.append(name)
            arr = arr.astype(np.float64)
            if not np.all(np.isfinite(arr)):
                raise DeriveError(f"{where}params[{name!r}] contains nan or inf")
            if arr.size == 0:
                raise DeriveError(f"{where}params[{name!r}] is empty")
            self.names.append(name)
            arrays.append(arr)
        self.shapes = [a.shape for a in arrays]
        self.sizes = [a.size for a in arrays]
        self.offsets = np.concatenate([[0], np.cumsum(self.sizes)]).astype(int)
        self.n = int(self.offsets[-1])
        self.x = np.concatenate([a.ravel() for a in arrays]).astype(np.float64)
        self.x0 = self.x.copy()
        self.views = self._views(self.x)
        self._complex = None

    def _views(self, buf):
        views = {}
        for name, shape, o, s in zip(self.names, self.shapes, self.offsets, self.sizes):
            v = buf[o:o + s].reshape(shape)
            v.flags.writeable = False
            views[name] = v
        return views

    def complex_views(self):
        if self._complex is None:
            self.xc = self.x.astype(np.complex128)
            self._complex = self._views(self.xc)
        self.xc[:] = self.x
        return self.xc, self._complex

    def block_of(self, b: int) -> slice:
        return slice(int(self.offsets[b]), int(self.offsets[b + 1]))

    def block_index(self, flat) -> np.ndarray:
        return np.searchsorted(self.offsets, flat, side="right") - 1

    def unravel(self, b: int, local: int) -> tuple:
        shape = self.shapes[b]
        return tuple(int(i) for i in np.unravel_index(local, shape)) if shape else ()


def _scalar_converter(r, what: str, where: str):
    """Check the first result of ``loss`` and return a fast float() for the next ones."""
    if isinstance(r, (bool, np.bool_)):
        raise DeriveError(f"{where}{what} returned a bool, not a number")
    if isinstance(r, (int, float, np.integer, np.floating)):
        return float
    if isinstance(r, (complex, np.complexfloating)) or (isinstance(r, np.ndarray) and r.dtype.kind == "c"):
        raise DeriveError(f"{where}{what} returned a complex number; expected a real scalar")
    if isinstance(r, np.ndarray):
        if r.dtype.kind not in "fiu":
            raise DeriveError(f"{where}{what} returned an array of dtype {r.dtype}; expected a real scalar")
        if r.size != 1:
            raise DeriveError(f"{where}{what} must return a scalar, not an array of shape {r.shape} (sum or average it)")
        if r.ndim == 0:
            return float
        return lambda v: float(v.reshape(-1)[0])
    mod = type(r).__module__ or ""
    if mod.startswith("sympy"):
        raise DeriveError(
            f"{where}{what} returned a SymPy expression; for the SymPy form set loss to the expression itself"
        )
    try:
        float(r)
    except Exception:
        raise DeriveError(f"{where}{what} returned {type(r).__name__}; expected a real scalar") from None
    return float


def _as_gradient(g, point: _Point, what: str, where: str):
    """The user's gradient as a flat float64 vector; DeriveError on wrong names or shapes."""
    names = point.names
    listed = ", ".join(names)
    if isinstance(g, dict):
        keys = [str(k) for k in g]
        missing = [n for n in names if n not in keys]
        extra = [k for k in keys if k not in names]
        if extra:
            raise DeriveError(f"{where}{what} has {extra[0]!r}, which is not in params ({listed})")
        if missing:
            raise DeriveError(f"{where}{what} has no entry for {missing[0]!r} (params: {listed})")
        lookup = {str(k): v for k, v in g.items()}
        values = [lookup[n] for n in names]
    elif isinstance(g, (tuple, list)):
        if len(g) != len(names):
            raise DeriveError(
                f"{where}{what} returned {len(g)} values for {len(names)} params ({listed}); "
                "return a dict, or a tuple in the order of params"
            )
        values = list(g)
    elif len(names) == 1 and not callable(g):
        values = [g]
    else:
        raise DeriveError(f"{where}{what} must return a dict name -> gradient (names: {listed}), not {type(g).__name__}")
    flat = []
    low = False
    for name, shape, v in zip(names, point.shapes, values):
        try:
            arr = np.asarray(v)
        except Exception:
            raise DeriveError(f"{where}{what}[{name!r}] is not a number or array") from None
        if arr.dtype.kind not in "fiu" or isinstance(v, (bool, np.bool_)):
            raise DeriveError(f"{where}{what}[{name!r}] has dtype {arr.dtype}; expected real numbers")
        if arr.dtype.kind == "f" and arr.dtype.itemsize < 8:
            low = True
        size = int(np.prod(shape)) if shape else 1
        if arr.shape != shape and not (arr.size == 1 and size == 1):
            hint = ""
            others = [o for o, s in zip(names, point.shapes) if s == arr.shape and o != name]
            if len(shape) == 2 and arr.shape == shape[::-1]:
                hint = ": the gradient is transposed"
            elif others:
                hint = f": it has the shape of {others[0]!r} (names or tuple order mixed up?)"
            elif arr.size == size:
                hint = " (same number of entries: reshape it)"
            raise DeriveError(
                f"{where}{what}[{name!r}] has shape {arr.shape} but params[{name!r}] has shape {shape}{hint}"
            )
        flat.append(arr.astype(np.float64).ravel())
    return np.concatenate(flat), low


# --------------------------------------------------------------------------------------------
# The checker


@dataclass
class _Numeric:
    """Numeric values for the checked coordinates and how they were obtained."""

    value: np.ndarray
    error: np.ndarray
    rounding: np.ndarray


class _Checker:
    """Finite differences of one loss at one point, shared by every gradient compared to them."""

    def __init__(self, loss, params, *, mode, seed, max_coords, sample_size, rtol, atol, batch,
                 source, progress):
        if mode not in MODES:
            raise DeriveError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
        self.mode = mode
        self.seed = int(seed)
        self.source = source
        self.where = f"{_display(source)}: " if source else ""
        self.progress = progress or (lambda msg: None)
        self.notes: list[str] = []
        self.point = p = _Point(params, source)
        if p.float32:
            self.notes.append(f"params {', '.join(p.float32)} are float32: evaluated in float64 (cast up)")
        self.loss = loss
        self.batch = batch
        self.rtol = RTOL if rtol is None else float(rtol)
        self.atol = ATOL if atol is None else float(atol)
        self._first_evaluation()
        self._choose_coordinates(max_coords, sample_size)
        self._refined: dict = {}
        self._kinked: dict = {}
        self.methods: dict[int, str] = {}

    # evaluating the loss --------------------------------------------------------------------
    def _call(self, kw):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                return self.loss(**kw)
        except DeriveError:
            raise
        except Exception as exc:
            raise _user_error("loss", exc, self.source) from None

    def _first_evaluation(self):
        p = self.point
        r = self._call(p.views)
        conv = _scalar_converter(r, "loss", self.where)
        self.result_float32 = isinstance(r, (np.float32, np.float16)) or (
            isinstance(r, np.ndarray) and r.dtype.itemsize < 8 and r.dtype.kind == "f")
        f0 = conv(r)
        if not math.isfinite(f0):
            raise DeriveError(f"{self.where}loss returned {f0} at params; it must be finite there")
        loss, kw = self.loss, p.views

        def f(_x):
            return conv(loss(**kw))

        self._f_raw = f
        self.f0 = f0
        again = self.evaluate_at_point()
        self._check_same(again)

    def f(self, x):
        return self._f_raw(x)

    def evaluate_at_point(self) -> float:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                return self._f_raw(self.point.x)
        except DeriveError:
            raise
        except Exception as exc:
            raise _user_error("loss", exc, self.source) from None

    def _check_same(self, value):
        eps = EPS32 if self.result_float32 else EPS
        if not (abs(value - self.f0) <= 16 * eps * max(abs(self.f0), 1e-300)):
            raise DeriveError(
                f"{self.where}loss is not deterministic (dropout or unseeded randomness?): "
                f"two calls at the same point gave {self.f0!r} and {value!r}"
            )

    def run_guarded(self, fn, *args, **kwargs):
        """Run a finite-difference routine; user exceptions become one-line DeriveErrors."""
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                return fn(*args, **kwargs)
        except (DeriveError, fd.ComplexStepUnsafe):
            raise
        except Exception as exc:
            raise _user_error("loss", exc, self.source) from None

    # precision and steps --------------------------------------------------------------------
    def calibrate(self):
        """Measure the loss's rounding noise, detect float32 arithmetic, and choose steps."""
        p = self.point
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
                self.numeric = _Numeric(value, error, self.rounding)
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
        self.numeric = _Numeric(value, error, self.rounding)
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
        if not self.sampled:
            return
        p = self.point
        t0 = max(1e-3, 8 * self.eps_f ** 0.2)
        for b in range(len(p.names)):
            d = self._direction(b)
            value, err = self.run_guarded(fd.directional, self.f, p.x, d, t0=t0 / max(1.0, math.sqrt(p.sizes[b]) / 32),
                                          noise=self.sigma)
            self.direction_values[b] = (d, value, err)

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

    def finish(self):
        """Last determinism check: the loss at the point must not have changed."""
        if not np.array_equal(self.point.x, self.point.x0):
            raise DeriveError(f"{self.where}the loss changed its arguments in place")
        self._check_same(self.evaluate_at_point())


# --------------------------------------------------------------------------------------------
# Judging


@dataclass
class _Tol:
    err: np.ndarray          # error estimate per entry (capped so it cannot hide a bug)
    scale: float             # block scale: largest |numeric| in the block
    floor: np.ndarray
    rtol: float
    atol: float

    def bound(self, a, n, err=None):
        err = self.err if err is None else err
        return K_ERR * err + self.rtol * np.maximum(np.abs(a), np.abs(n)) + self.atol * self.scale + self.floor

    def ok(self, a, n, err=None):
        with np.errstate(invalid="ignore"):
            return np.abs(a - n) <= self.bound(a, n, err)

    def sub(self, j) -> "_Tol":
        return _Tol(self.err[j], self.scale[j], self.floor[j], self.rtol, self.atol)


def _cap(err, n, rounding):
    """An error estimate above 1e-4 of the value (beyond rounding) means the finite difference is
    unreliable there; it may not excuse a disagreement, which is then re-checked at small steps."""
    return np.minimum(err, 1e-4 * np.abs(n) + rounding)


def _rel_error(a, n) -> float:
    denom = max(np.linalg.norm(a), np.linalg.norm(n), 1e-300)
    return float(np.linalg.norm(a - n) / denom) if a.size else 0.0


def _compare_fd(checker: _Checker, analytic: np.ndarray, title: str, analytic_low: bool) -> Comparison:
    """Judge ``analytic`` (flat, all parameters) against the checker's finite differences."""
    p = checker.point
    num = checker.numeric
    rtol, atol = checker.rtol, checker.atol
    if analytic_low:
        rtol, atol = max(rtol, 1e3 * EPS32), max(atol, 1e3 * EPS32)
    coords = checker.coords
    n = num.value[coords].copy()
    err = _cap(num.error[coords], n, num.rounding[coords])
    a = analytic[coords]
    G = float(np.max(np.abs(n), initial=0.0))
    floor = 100 * EPS * (G + abs(checker.f0) / np.maximum(1.0, np.abs(p.x[coords])))
    blk = p.block_index(coords)
    scales = np.array([float(np.max(np.abs(n[blk == b]), initial=0.0)) for b in range(len(p.names))])
    tol = _Tol(err, scales[blk], floor, rtol, atol)
    status = np.where(tol.ok(a, n), 0, 1)            # 0 pass, 1 fail, 2 kink-accepted
    kink_info = {}

    # Re-check the failures: Richardson over a wide range of steps, then one-sided differences.
    bad = np.flatnonzero(status == 1)
    order = np.random.default_rng([checker.seed, 3]).permutation(bad) if bad.size else bad
    confirmed = 0
    for start in range(0, order.size, REFINE_BATCH):
        if confirmed and start >= REFINE_BATCH:
            break                                    # failures confirmed; the rest stay failing
        j = np.sort(order[start:start + REFINE_BATCH])
        c = coords[j]
        checker.progress(f"re-checking {j.size:,} of the {order.size:,} entries that disagree")
        rv, re_ = checker.refine(c)
        re_ = _cap(re_, rv, num.rounding[c])
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
        cen_err = _cap(cen_err, cen, kerr)
        smooth_ok = ~is_kink & tol.sub(j).ok(a[j], cen, cen_err)
        lo, hi = np.minimum(fwd, bwd), np.maximum(fwd, bwd)
        slack = K_ERR * kerr + rtol * np.maximum(np.abs(lo), np.abs(hi)) + atol * tol.scale[j] + floor[j]
        inside = is_kink & (a[j] >= lo - slack) & (a[j] <= hi + slack)
        status[j[smooth_ok]] = 0
        n[j[smooth_ok]] = cen[smooth_ok]
        err[j[smooth_ok]] = cen_err[smooth_ok]
        status[j[inside]] = 2
        # An accepted subgradient is compared with the nearest point of [backward, forward].
        n[j[inside]] = np.clip(a[j[inside]], lo[inside], hi[inside])
        err[j[inside]] = kerr[inside]
        for k in np.flatnonzero(is_kink):
            kink_info[int(j[k])] = (float(bwd[k]), float(fwd[k]))
            if not inside[k]:
                n[j[k]] = (fwd[k] + bwd[k]) / 2
        confirmed += int(np.count_nonzero(~smooth_ok & ~inside))

    blocks = []
    for b, name in enumerate(p.names):
        sel = np.flatnonzero(blk == b)
        blocks.append(_block_result(checker, b, sel, coords, a, n, err, status, tol, kink_info, analytic))
    comparison = Comparison(title, blocks)
    _cross_block_hints(checker, comparison, coords, analytic, num.value, blk, tol)
    comparison.diagnosis = _layer_diagnosis(blocks)
    return comparison


def _block_result(checker, b, sel, coords, a, n, err, status, tol, kink_info, analytic, reference="numeric"):
    """The verdict, worst entry, failures, kinks, directional check and hint of block ``b``
    (``sel`` indexes its entries in ``coords``, ``a``, ``n``, ``err`` and ``status``)."""
    p = checker.point
    name, shape, size = p.names[b], p.shapes[b], p.sizes[b]
    ab, nb = a[sel], n[sel]
    st = status[sel]
    fails = np.flatnonzero(st == 1)
    kinks = np.flatnonzero(st == 2)
    ratio = np.abs(ab - nb) / np.maximum(_bound_sel(tol, sel, ab, nb, err), 1e-300)
    ratio = np.where(np.isfinite(ratio), ratio, np.inf)
    if st.size:
        w = int(fails[np.argmax(ratio[fails])]) if fails.size else int(np.argmax(np.where(st == 2, -1, ratio)))
        worst = _entry(p, b, coords[sel[w]], ab[w], nb[w], err[sel[w]])
    else:
        worst = None
    failures = [_entry(p, b, coords[sel[k]], ab[k], nb[k], err[sel[k]])
                for k in fails[np.argsort(-ratio[fails], kind="stable")][:MAX_LISTED]]
    kink_list = []
    for k in kinks[:MAX_LISTED]:
        bwd, fwd = kink_info.get(int(sel[k]), (float("nan"), float("nan")))
        e = _entry(p, b, coords[sel[k]], ab[k], nb[k])
        kink_list.append({"index": list(e.index), "analytic": float(ab[k]), "backward": bwd, "forward": fwd})
    verdict = "fail" if fails.size else ("kink-accepted" if kinks.size else "pass")
    directional = None
    if reference == "numeric" and b in getattr(checker, "direction_values", {}):
        d, value, derr = checker.direction_values[b]
        sl = p.block_of(b)
        ad = float(analytic[sl] @ d[sl])
        bound = K_ERR * derr + tol.rtol * float(np.sum(np.abs(analytic[sl] * d[sl]))) \
            + tol.atol * float(np.max(tol.scale[sel], initial=0.0)) * float(np.linalg.norm(d[sl]))
        dir_ok = abs(ad - value) <= bound
        directional = {"analytic": ad, "numeric": value, "error_estimate": derr, "ok": bool(dir_ok)}
        if not dir_ok:
            verdict = "fail"
    result = BlockResult(
        name=name, shape=tuple(shape), size=size, checked=int(sel.size), rel_error=_rel_error(ab, nb),
        verdict=verdict, hint=None, worst=worst, n_fail=int(fails.size), n_kink=int(kinks.size),
        failures=failures, kinks=kink_list, directional=directional,
        method=checker.methods.get(b, "") if reference == "numeric" else "",
    )
    if verdict == "fail":
        result.cause, result.hint, result.detail = _hint(checker, b, sel, coords, ab, nb, st, tol, kink_info, directional, reference)
    elif kinks.size:
        k0 = kink_list[0]
        result.cause = "kink-accepted"
        result.hint = (f"{kinks.size} entr{'y' if kinks.size == 1 else 'ies'} at a kink (ReLU, max or |·|), e.g. "
                       f"{_label(name, k0['index'])}: analytic {_fmt(k0['analytic'])} lies between the one-sided "
                       f"derivatives (backward {_fmt(k0['backward'])}, forward {_fmt(k0['forward'])}): "
                       "a valid subgradient, accepted")
    return result


def _bound_sel(tol, sel, a, n, err):
    e = tol.err[sel] if err is None else err[sel]
    return K_ERR * e + tol.rtol * np.maximum(np.abs(a), np.abs(n)) + tol.atol * tol.scale[sel] + tol.floor[sel]


def _entry(p, b, flat, a, n, err=0.0):
    local = int(flat) - int(p.offsets[b])
    return Entry(p.unravel(b, local), float(a), float(n), float(err))


def _label(name, index):
    return f"{name}[{', '.join(map(str, index))}]" if index else name


def _fmt(v):
    return f"{float(v) + 0.0:.6g}"


# --------------------------------------------------------------------------------------------
# Hints


def _explains(tol, sel, candidate, n, fraction=1.0):
    with np.errstate(invalid="ignore", over="ignore"):
        bound = 10 * _bound_sel(tol, sel, candidate, n, None)
        ok = np.abs(candidate - n) <= bound
    return ok.size > 0 and np.count_nonzero(ok) >= fraction * ok.size


def _nice_factor(c: float) -> bool:
    """c is ±k or ±1/k for a whole k: what a dropped 1/m, ½ or sign gives."""
    for v in (c, 1 / c if c else 0.0):
        k = round(v)
        if abs(k) >= 1 and abs(v - k) <= 1e-3 * abs(k):
            return True
    return False


def _hint(checker, b, sel, coords, a, n, status, tol, kink_info, directional, reference):
    """The likely bug in a failing block: (cause, text, detail)."""
    p = checker.point
    name, shape = p.names[b], p.shapes[b]
    ref = "numeric" if reference == "numeric" else "derived"
    fails = np.flatnonzero(status == 1)
    near_zero = np.abs(n) <= _bound_sel(tol, sel, np.zeros_like(n), n, None)
    if not np.all(np.isfinite(a)):
        count = int(np.count_nonzero(~np.isfinite(a)))
        return "nonfinite-analytic", f"the analytic gradient has nan or inf in {count} entries", {"count": count}
    if not np.all(np.isfinite(n)):
        count = int(np.count_nonzero(~np.isfinite(n)))
        return "nonfinite-numeric", (f"the loss is not finite within a step of the point for {count} entries; "
                                     "finite differences are impossible there"), {"count": count}
    if np.all(a == 0) and not np.all(near_zero):
        return "zero-analytic", f"the analytic gradient of {name} is zero everywhere: never computed, or not accumulated?", {}
    if np.all(near_zero) and not np.all(a == 0):
        return "unused-parameter", (f"the loss does not change with {name} ({ref} gradient ≈ 0) but the analytic one "
                                    f"is not zero: is {name} used in the loss?"), {}
    kink_bad = [k for k in fails if int(sel[k]) in kink_info]
    if kink_bad and len(kink_bad) == fails.size:
        k = kink_bad[0]
        bwd, fwd = kink_info[int(sel[k])]
        e = _entry(p, b, coords[sel[k]], a[k], n[k])
        return "kink", (f"{len(kink_bad)} entr{'y' if len(kink_bad) == 1 else 'ies'} at a kink where the analytic value "
                        f"lies outside the one-sided derivatives, e.g. {e.label(name)}: analytic {_fmt(a[k])}, backward "
                        f"{_fmt(bwd)}, forward {_fmt(fwd)}"), {}
    if _explains(tol, sel, -a, n):
        return "sign-flip", f"sign flip: analytic ≈ −{ref} (e.g. y − a where a − y belongs, or a lost minus sign)", {
            "ratio": -1.0}
    nn = float(n @ n)
    if nn > 0:
        c = float(a @ n) / nn
        if c != 0 and abs(c - 1) > 1e-3 and (sel.size > 1 or _nice_factor(c)) and _explains(tol, sel, a / c, n):
            return "factor", _ratio_hint(c, ref), {"ratio": c}
    if len(shape) == 2 and min(shape) > 1 and sel.size == p.sizes[b] and fails.size:
        full_a = np.empty(shape)
        full_n = np.empty(shape)
        local = coords[sel] - p.offsets[b]
        full_a.flat[local] = a
        full_n.flat[local] = n
        if shape[0] == shape[1] and _explains(tol, sel, full_a.T.ravel(), n):
            return "transpose", f"transpose: analytic ≈ {ref}ᵀ (e.g. dZᵀ·X where Xᵀ·dZ belongs)", {}
        if shape[0] != shape[1] and _explains(tol, sel, full_a.ravel(), full_n.T.reshape(shape).ravel()):
            return "transpose", (f"transpose: the analytic gradient is the {shape[1]}×{shape[0]} transpose reshaped to "
                                 f"{shape[0]}×{shape[1]}; compute it in the parameter's layout instead of reshaping"), {}
    xv = p.x0[coords[sel]]
    xx = float(xv @ xv)
    enough = sel.size >= 2 and fails.size >= min(3, sel.size)
    if xx > 0 and enough:
        lam = -float((a - n) @ xv) / xx
        if lam != 0 and _explains(tol, sel, a + lam * xv, n):
            if lam > 0:
                return "regularization", (f"analytic − {ref} ≈ −{lam:.4g}·{name}: the gradient misses a regularization "
                                          f"term λ·{name} with λ ≈ {lam:.4g} that the loss has"), {"lambda": lam}
            return "regularization", (f"analytic − {ref} ≈ {-lam:.4g}·{name}: the gradient has a term λ·{name} with "
                                      f"λ ≈ {-lam:.4g} that the loss does not have (is the penalty missing from the "
                                      "loss?)"), {"lambda": lam}
    sv = np.sign(xv)
    if np.any(sv != 0) and enough:
        lam = -float((a - n) @ sv) / float(sv @ sv)
        if lam > 0 and _explains(tol, sel, a + lam * sv, n):
            return "regularization", (f"analytic − {ref} ≈ −{lam:.4g}·sign({name}): the gradient misses the L1 term "
                                      f"λ·sign({name}) with λ ≈ {lam:.4g} that the loss has"), {"lambda_l1": lam}
    if 0 < fails.size <= MAX_LISTED and fails.size < sel.size:
        entries = [_entry(p, b, coords[sel[k]], a[k], n[k]) for k in fails]
        listed = "; ".join(f"{e.label(name)} (analytic {_fmt(e.analytic)}, {ref} {_fmt(e.numeric)})" for e in entries)
        return "few-entries", (f"{fails.size} wrong entr{'y' if fails.size == 1 else 'ies'} of {sel.size:,}, the rest "
                               f"agree: {listed}"), {"entries": [list(e.index) for e in entries]}
    if fails.size == 0 and directional is not None and not directional["ok"]:
        return "directional", (f"the sampled entries agree but the derivative along a random direction does not "
                               f"(analytic {_fmt(directional['analytic'])}, numeric {_fmt(directional['numeric'])}): "
                               "the bug is in entries the sample missed"), {}
    if sel.size == 1:
        return "unknown", f"analytic {_fmt(a[0])}, {ref} {_fmt(n[0])}", {}
    return "unknown", (f"{fails.size:,} of {sel.size:,} entries disagree with no simple pattern "
                       "(not a sign, a factor, a transpose or a regularization term)"), {}


def _ratio_hint(c: float, ref: str) -> str:
    k = round(c)
    inv = round(1 / c) if c != 0 else 0
    if k >= 2 and abs(c - k) <= 1e-3 * k:
        return (f"constant factor: analytic ≈ {k} × {ref} (a missing 1/{k}; if {k} is the number of examples, "
                "the 1/m of the mean is missing)")
    if inv >= 2 and abs(1 / c - inv) <= 1e-3 * inv:
        return (f"constant factor: analytic ≈ {ref} / {inv} (divided by {inv} once too often, e.g. 1/m applied "
                "twice, or the 2 of a square left out)")
    if k <= -2 and abs(c - k) <= 1e-3 * abs(k):
        return f"sign and factor: analytic ≈ {k} × {ref} (a lost minus sign and a missing 1/{-k})"
    return f"constant factor: analytic ≈ {c:.6g} × {ref}"


def _cross_block_hints(checker, comparison, coords, analytic, reference, blk, tol):
    """Swapped gradients: block A's analytic values match block B's reference values."""
    p = checker.point
    for b, res in enumerate(comparison.blocks):
        if res.verdict != "fail" or res.cause in ("sign-flip", "factor", "transpose"):
            continue
        sel = np.flatnonzero(blk == b)
        for o, other in enumerate(comparison.blocks):
            if o == b or p.shapes[o] != p.shapes[b]:
                continue
            sel_o = np.flatnonzero(blk == o)
            if sel_o.size != sel.size or not np.array_equal(coords[sel] - p.offsets[b], coords[sel_o] - p.offsets[o]):
                continue
            cand = analytic[coords[sel]]
            ref = reference[coords[sel_o]]
            if np.any(cand != 0) and _explains(tol, sel_o, cand, ref):
                res.cause = "swapped"
                res.detail = {"swapped_with": other.name}
                res.hint = (f"swapped: the analytic gradient given for {res.name!r} is the gradient of "
                            f"{other.name!r} (returned under the wrong name, or a tuple in another order?)")
                break


def _layer_diagnosis(blocks) -> Optional[str]:
    """With layer-numbered names (W1, b1, W2, b2): where does the error enter backprop?"""
    layers = {}
    for res in blocks:
        m = re.fullmatch(r"(.*?)(\d+)", res.name)
        if not m:
            return None
        layers.setdefault(int(m.group(2)), []).append(res)
    if len(layers) < 2:
        return None
    failing = sorted(k for k, rs in layers.items() if any(r.verdict == "fail" for r in rs))
    if not failing:
        return None
    top = max(layers)
    last_bad = max(failing)
    if last_bad >= top or any(r.verdict == "fail" for k, rs in layers.items() if k > last_bad for r in rs):
        return None
    generic = all(r.cause == "unknown" for k in failing for r in layers[k] if r.verdict == "fail")
    if not generic:
        return None
    nxt = min(k for k in layers if k > last_bad)
    diagnosis = (f"layer {nxt} is right but layer {last_bad} is wrong: the error enters where the gradient goes back "
                 f"from layer {nxt} to layer {last_bad}. Check that step: the product with W{nxt}ᵀ and the "
                 f"activation derivative g′(z{last_bad}) (a forgotten g′ is the classic bug)")
    for k in failing:
        for r in layers[k]:
            if r.verdict == "fail":
                r.cause = "backprop-step"
                r.hint = f"{diagnosis} ({r.n_fail:,} of {r.checked:,} entries disagree, with no sign, factor or transpose pattern)"
    return diagnosis


def _compare_exact(checker: _Checker, analytic: np.ndarray, reference: np.ndarray, title: str,
                   low: bool) -> Comparison:
    """Judge one analytic gradient against another (no finite-difference error)."""
    p = checker.point
    coords = np.arange(p.n)
    a, n = analytic.copy(), reference.copy()
    rtol, atol = (max(RTOL, 1e3 * EPS32), max(ATOL, 1e3 * EPS32)) if low else (RTOL, ATOL)
    G = float(np.max(np.abs(n), initial=0.0))
    floor = np.full(p.n, 100 * EPS * G)
    blk = p.block_index(coords)
    scales = np.array([float(np.max(np.abs(n[blk == b]), initial=0.0)) for b in range(len(p.names))])
    tol = _Tol(np.zeros(p.n), scales[blk], floor, rtol, atol)
    status = np.where(tol.ok(a, n), 0, 1)
    blocks = [
        _block_result(checker, b, np.flatnonzero(blk == b), coords, a, n, np.zeros(p.n), status, tol, {}, analytic,
                      reference="derived")
        for b in range(len(p.names))
    ]
    comparison = Comparison(title, blocks)
    _cross_block_hints(checker, comparison, coords, analytic, reference, blk, tol)
    comparison.diagnosis = _layer_diagnosis(blocks)
    return comparison


# --------------------------------------------------------------------------------------------
# Public API


def _gradient_values(grad, point: _Point, what: str, source, where: str):
    """Call (or read) a gradient; return the flat vector and whether it was float32."""
    if callable(grad):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                g = grad(**point.views)
                g2 = grad(**point.views)
        except DeriveError:
            raise
        except Exception as exc:
            raise _user_error(what, exc, source) from None
        flat, low = _as_gradient(g, point, what, where)
        flat2, _ = _as_gradient(g2, point, what, where)
        if not np.array_equal(flat, flat2, equal_nan=True):
            raise DeriveError(f"{where}{what} is not deterministic: two calls at the same point differ")
        return flat, low
    return _as_gradient(grad, point, what, where)


def _run(loss, grads: dict, params, *, mode="auto", seed=0, max_coords=20_000, sample_size=2_000,
         rtol=None, atol=None, batch=None, source=None, label=None, progress=None, exact_pairs=(),
         notes=()) -> Report:
    """Check every gradient in ``grads`` (title -> grad) against one set of finite differences,
    and each pair in ``exact_pairs`` (title_a, title_b) against each other."""
    checker = _Checker(loss, params, mode=mode, seed=seed, max_coords=int(max_coords),
                       sample_size=int(sample_size), rtol=rtol, atol=atol, batch=batch, source=source,
                       progress=progress)
    checker.notes[:0] = list(notes)
    values = {}
    for title, (grad, what) in grads.items():
        values[title] = _gradient_values(grad, checker.point, what, source, checker.where)
        if values[title][1]:
            checker.notes.append(f"{what} returns float32: its tolerance is widened to float32 precision")
    checker.screen()
    comparisons = [
        _compare_fd(checker, flat, f"{title} vs finite differences", low) for title, (flat, low) in values.items()
    ]
    for ta, tb in exact_pairs:
        (fa, la), (fb, lb) = values[ta], values[tb]
        comparisons.append(_compare_exact(checker, fa, fb, f"{ta} vs {tb}", la or lb))
    checker.finish()
    return Report(
        source=label or (_display(source) if source else "gradient"),
        comparisons=comparisons,
        mode=mode,
        seed=int(seed),
        n_params=checker.point.n,
        n_checked=int(checker.coords.size),
        notes=checker.notes,
    )


def check_grad(
    loss: Callable,
    grad,
    params: dict,
    *,
    mode: str = "auto",
    seed: int = 0,
    max_coords: int = 20_000,
    sample_size: int = 2_000,
    rtol: float | None = None,
    atol: float | None = None,
    progress: Callable[[str], None] | None = None,
) -> Report:
    """Compare an analytic gradient with finite differences, block by block.

    Parameters
    ----------
    loss : callable
        ``loss(**params) -> float``. Called with read-only float64 arrays (0-d for scalars).
    grad : callable or dict
        ``grad(**params)`` returning a dict with the names and shapes of ``params`` (or a tuple
        in their order), or such a dict directly.
    params : dict of str to float or ndarray
        The point to check at. float32 values are cast to float64.
    mode : {"auto", "central", "complex", "richardson"}
        "central": central differences with a step tuned per block. "richardson": Richardson
        extrapolation for every coordinate (about 10× more accurate, 4× the calls). "complex":
        the complex step where a probe shows the loss keeps imaginary parts (exact to rounding),
        else central. "auto": Richardson for up to 1,000 parameters, central beyond. In every
        mode entries that disagree are re-checked (Richardson, one-sided differences, kinks).
    seed : int
        Seeds the sampled coordinates, the random directions and the noise probe.
    max_coords : int
        Models with more parameters are checked on a stratified sample.
    sample_size : int
        About how many coordinates the sample has in the blocks larger than 2,048 entries.
    rtol, atol : float, optional
        Relative tolerance per entry (default 1e-6) and absolute tolerance relative to the
        block's largest entry (default 1e-8); widened automatically for float32.
    progress : callable, optional
        Called with short progress messages.

    Returns
    -------
    Report
        ``report.ok``, ``report.blocks``, ``report.to_json()``; printing it shows a table.

    Raises
    ------
    DeriveError
        Bad params, a loss that raises, is not a finite scalar or is not deterministic, a
        gradient with wrong names or shapes.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[1.0, 2.0], [3.0, -1.0], [0.5, 0.5]]); y = np.array([1.0, 0.0, 2.0])
    >>> loss = lambda w: float(np.mean((X @ w - y) ** 2))
    >>> grad = lambda w: {"w": 2 * X.T @ (X @ w - y) / len(y)}
    >>> check_grad(loss, grad, {"w": np.array([0.1, -0.2])}).ok
    True
    >>> bad = lambda w: {"w": 2 * X.T @ (X @ w - y)}          # the 1/m is missing
    >>> r = check_grad(loss, bad, {"w": np.array([0.1, -0.2])})
    >>> r.ok, r.blocks[0].hint.split(":")[0]
    (False, 'constant factor')
    """
    return _run(loss, {"grad": (grad, "grad")}, params, mode=mode, seed=seed, max_coords=max_coords,
                sample_size=sample_size, rtol=rtol, atol=atol, progress=progress)


def check_model_file(path, *, mode: str = "auto", seed: int = 0, max_coords: int = 20_000,
                     sample_size: int = 2_000, progress: Callable[[str], None] | None = None) -> Report:
    """Check the gradient(s) of a model file (see the module docstring for the two forms).

    Parameters
    ----------
    path : str or path-like
        The model file. It is executed (``runpy.run_path``) in a fresh namespace.
    mode, seed, max_coords, sample_size, progress
        As for ``check_grad``.

    Returns
    -------
    Report

    Raises
    ------
    DeriveError
        A file that does not load or does not follow the protocol (one line, naming the file and
        the line where the problem is).
    """
    from . import modelfile

    spec = modelfile.load_model_file(path)
    opts = dict(mode=mode, seed=seed, max_coords=max_coords, sample_size=sample_size, source=spec.path,
                label=str(path), progress=progress)
    with modelfile.user_output_to_stderr():
        if spec.form == "numpy":
            return _run(spec.loss, {"grad": (spec.grad, "grad")}, spec.params, **opts)
        problem = modelfile.sympy_problem(spec)
        grads = {"derived gradient": (problem.derived, "derived gradient")}
        pairs = ()
        if problem.handwritten is not None:
            grads["your grad"] = (problem.handwritten, "grad")
            pairs = (("your grad", "derived gradient"),)
        return _run(problem.loss, grads, problem.params, batch=problem.batch, exact_pairs=pairs,
                    notes=problem.notes, **opts)


def check_builtin(name: str, *, options: dict | None = None, mode: str = "auto", seed: int = 0,
                  examples: int = 32, max_coords: int = 20_000, sample_size: int = 2_000,
                  progress: Callable[[str], None] | None = None) -> Report:
    """Check a built-in model's compiled gradient on random data.

    Parameters
    ----------
    name : str
        A trainable model (``derive.model_names()``).
    options : dict, optional
        Model options (``features``, ``hidden``, ``classes``, ``activation``).
    mode, seed, max_coords, sample_size, progress
        As for ``check_grad``; ``seed`` also draws the parameters and the data.
    examples : int
        Rows of random data: X ~ N(0, 1) of shape (examples, features); y integer labels for
        classifiers ({0, 1} for logistic), N(0, 1) targets otherwise.

    Returns
    -------
    Report
    """
    import derive

    from .compiled import compile_model

    model = derive.model(name, **(options or {}))
    compiled = compile_model(model)
    params = compiled.init_params(seed)
    rng = np.random.default_rng([seed, 1])
    features = model.values.get("features")
    if features is None:
        raise DeriveError(f"model {name!r} has no features option; it cannot be checked on random data")
    X = rng.standard_normal((examples, features))
    classes = model.values.get("classes")
    if classes is not None:
        y = rng.integers(0, classes, examples)
    elif getattr(compiled, "classifier", False):
        y = rng.integers(0, 2, examples).astype(np.float64)
    else:
        y = rng.standard_normal(examples)
    names = list(params)

    def loss(**kw):
        return compiled.loss(kw, X, y)

    def grad(**kw):
        return compiled.grad(kw, X, y)

    opts = ", ".join(f"{k}={v}" for k, v in model.values.items())
    note = f"random data: {examples} examples, parameters and data drawn with seed {seed}"
    return _run(loss, {f"compiled {name} gradient": (grad, "grad")}, {n: params[n] for n in names}, mode=mode,
                seed=seed, max_coords=max_coords, sample_size=sample_size,
                label=f"{name} ({opts})" if opts else name, progress=progress, notes=[note])


# --------------------------------------------------------------------------------------------
# Rendering


def _shape_text(shape) -> str:
    return "()" if not shape else "(" + ", ".join(map(str, shape)) + (",)" if len(shape) == 1 else ")")


def _rows(comparison: Comparison):
    rows = []
    for r in comparison.blocks:
        worst = ""
        if r.worst is not None:
            worst = f"{_label(r.name, r.worst.index)}: {_fmt(r.worst.analytic)} vs {_fmt(r.worst.numeric)}"
        checked = f"{r.checked:,}" if r.checked == r.size else f"{r.checked:,} of {r.size:,}"
        rows.append([r.name, _shape_text(r.shape), checked, f"{r.rel_error:.1e}", worst, r.verdict])
    return rows


HEADERS = ["block", "shape", "checked", "rel. error", "worst entry (analytic vs reference)", "verdict"]


def _summary(report: Report) -> str:
    failing = [(c, b) for c in report.comparisons for b in c.blocks if b.verdict == "fail"]
    total = sum(len(c.blocks) for c in report.comparisons)
    if not failing:
        kinks = sum(b.n_kink for c in report.comparisons for b in c.blocks)
        extra = f" ({kinks} entr{'y' if kinks == 1 else 'ies'} at kinks accepted as subgradients)" if kinks else ""
        return f"OK: every block passes{extra}"
    return f"FAIL: {len(failing)} of {total} blocks disagree"


def _comparison_lines(c: Comparison) -> list[str]:
    lines = []
    for b in c.blocks:
        if b.hint:
            lines.append(f"{b.name}: {b.hint}")
        if b.directional is not None:
            d = b.directional
            lines.append(f"{b.name}: along a random direction: analytic {_fmt(d['analytic'])}, numeric "
                         f"{_fmt(d['numeric'])} ± {d['error_estimate']:.1e} ({'agree' if d['ok'] else 'DISAGREE'})")
    return lines


def _header(report: Report) -> str:
    return (f"check-grad {report.source}: {report.n_checked:,} of {report.n_params:,} coordinates, "
            f"mode {report.mode}, seed {report.seed}")


def render_text(report: Report) -> str:
    """The report as plain text (for pipes, files and ``NO_COLOR``)."""
    out = [_header(report)]
    for c in report.comparisons:
        methods = sorted({b.method for b in c.blocks if b.method})
        out.append("")
        out.append(c.title + (f" ({', '.join(methods)})" if methods else ""))
        rows = [HEADERS] + _rows(c)
        widths = [max(len(r[k]) for r in rows) for k in range(len(HEADERS))]
        for r in rows:
            out.append("  " + "  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip())
        for line in _comparison_lines(c):
            out.append("  " + line)
    out.append("")
    out.append(_summary(report))
    return "\n".join(out) + "\n"


def render_rich(report: Report):
    """The report as rich renderables: one table per comparison, hints, and the verdict."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    style = {"pass": "green", "kink-accepted": "yellow", "fail": "bold red"}
    parts = [Text(_header(report), style="bold")]
    for c in report.comparisons:
        methods = sorted({b.method for b in c.blocks if b.method})
        table = Table(title=c.title + (f" ({', '.join(methods)})" if methods else ""), title_justify="left")
        for h in HEADERS:
            table.add_column(h, justify="right" if h in ("checked", "rel. error") else "left")
        for row, b in zip(_rows(c), c.blocks):
            table.add_row(*row[:-1], Text(row[-1], style=style[b.verdict]))
        parts.append(table)
        for line in _comparison_lines(c):
            parts.append(Text("  " + line))
    parts.append(Text(_summary(report), style="bold green" if report.ok else "bold red"))
    return Group(*parts)


def print_report(report: Report, *, json_output: bool = False, file=None) -> None:
    """Print ``report`` to ``file`` (stdout): JSON, a rich table on a color terminal, else plain text."""
    file = file or sys.stdout
    if json_output:
        file.write(report.to_json() + "\n")
        return
    if file.isatty() and "NO_COLOR" not in os.environ:
        from rich.console import Console

        Console(file=file).print(render_rich(report))
        return
    file.write(render_text(report))
