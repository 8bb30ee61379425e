"""Every displayed line is an equality; this module proves it before the line is shown.

A line's two sides may use the model's intermediates (a, z), gradient names (dz) and unevaluated
derivatives (∂L/∂a). ``realize`` rewrites a side with SymPy built-ins only; ``check_equal`` then
tries a cheap exact test (the difference cancels to zero) and otherwise compares the sides at
seeded random points. A line that fails is a bug in a model or in the engine.

What is proved once is not proved again on every run: a line that holds is remembered in the
cache folder (``derive.cache``) under a digest of its exact claim (the ``srepr`` of both sides,
and the digest of the ``srepr`` of every definition in force, in order), within an entry named by the digest of the code
that proves a claim and gives its functions their meaning (``CHECKED_BY``) and SymPy's version.
A claim whose sides are worked out only when needed (``Deferred``) is named by what they are
computed from and by the digest of the file holding the code that computes them. So a proof
survives changes to the rest of the package (wording, rendering, another model), and the models
and the notes share it. The cache stays honest because

- only positive results are stored, with how they were established; a line that fails is
  never stored, so it fails again on every run;
- a changed line, definition or SymPy, or a change to the code that proves or computes a
  claim, is a different claim or a different entry, so it is proved from scratch;
- an entry whose text does not match its own digest (damaged, edited, planted) is ignored and
  the lines are proved again;
- ``DERIVE_NO_CACHE=1`` turns the remembered proofs off (every line is proved in the run),
  ``derive cache clear`` forgets them, and ``Derivation.verify`` always proves afresh.
"""

from __future__ import annotations

import atexit
import math
import random
from functools import lru_cache

import sympy as sp
from sympy import Derivative

from . import cache
from .functions import hard_sigmoid, relu, to_elementary


# The files (relative to the package) whose code decides whether a claim holds: the proof itself,
# the meaning of derive's own functions (σ, ReLU, their derivatives), the derivative objects of
# the rules, and the code that works out deferred sides (results, concrete instances, points).
CHECKED_BY = ("verify.py", "functions.py", "rules.py", "steps.py", "models/_concrete.py",
              "models/_points.py", "models/_notation.py", "matrix/lines.py")


class VerificationError(AssertionError):
    """A displayed line is not an equality."""


def expand_defs(expr, defs: dict, keep=()) -> sp.Expr:
    """Substitute definitions (intermediates, gradient names) until none is left, except ``keep``."""
    active = {k: v for k, v in defs.items() if k not in keep}
    if not active:
        return expr
    for _ in range(64):
        new = expr.xreplace(active)
        if new == expr:
            return new
        expr = new
    raise VerificationError(f"definitions are circular near {expr}")


def _realize_derivative(d: Derivative, defs: dict):
    variables = tuple(v for v, _ in d.variable_count)
    of = realize(d.expr, defs, keep=variables)
    return _diff(of, tuple(d.variable_count))


@lru_cache(maxsize=1024)
def _diff(of, variable_count: tuple):
    """``sympy.diff``, remembered: every line of a derivation realizes the same d/dx[f] on its
    left-hand side, and a sub-derivative stays on the lines until a rule works it out."""
    return sp.diff(of, *variable_count)


def realize(expr, defs: dict | None = None, keep=()):
    """``expr`` with every derivative worked out and every definition substituted (except
    ``keep``), written with SymPy's built-in functions only. Works elementwise on matrices.

    A sum over a symbolic size (Σ_{i=1..n}) is left as it is: SymPy cannot write it out, and
    ``Sum.doit`` is slow trying to find a closed form. Such lines are checked at a concrete
    size instead (``derive.models._concrete``)."""
    defs = defs or {}
    if isinstance(expr, sp.MatrixBase):
        return expr.applyfunc(lambda e: realize(e, defs, keep))
    expr = sp.sympify(expr)
    active = {k: v for k, v in defs.items() if k not in keep}
    for _ in range(64):
        # one substitution pass at a time: a definition may bring in a derivative (dz = ∂L/∂z)
        # that must be worked out before its variable is substituted away
        new = expr.replace(
            lambda e: isinstance(e, Derivative), lambda e: _realize_derivative(e, defs)
        )
        new = new.xreplace(active)
        if new == expr:
            break
        expr = new
    if expr.has(sp.UnevaluatedExpr):
        # a power shown as the rule gives it, ½·x^(−1/2), is the power's value
        expr = expr.replace(lambda e: isinstance(e, sp.UnevaluatedExpr), lambda e: e.args[0])
    return to_elementary(expr.doit() if expr.has(sp.Derivative) or _has_concrete_sum(expr) else expr)


def _has_concrete_sum(expr) -> bool:
    return any(all(bound.is_number for _, *bounds in s.limits for bound in bounds)
               for s in expr.atoms(sp.Sum))


def relu_as_max(expr):
    """ReLU(z) as the built-in ``Max(0, z)`` (a hard sigmoid as two of them), left unevaluated:
    evaluating a Max compares its arguments, which is slow for the long arguments of a concrete
    instance (w_1_1·x_1 + …) and changes nothing there."""
    if not expr.has(relu, hard_sigmoid):
        return expr
    expr = expr.replace(lambda t: isinstance(t, hard_sigmoid), lambda t: t.as_relus())
    return expr.replace(lambda t: isinstance(t, relu), lambda t: sp.Max(0, t.args[0], evaluate=False))


# Past this many terms, written out, an expansion is not attempted: ((2x + 1)¹⁰ + 1)¹⁰ expands
# to 100 terms of 90-digit coefficients, and (a + b + c)³⁰ to 496; SymPy's expand, cancel and
# factor take seconds to minutes on such forms.
MAX_EXPANDED_TERMS = 200


# The exact test of a line writes its difference out up to this many terms (a concrete least
# squares instance needs a few hundred); past it the line is checked at sample points.
_MAX_CHECKED_TERMS = 5_000


def expanded_terms(expr, limit: int = MAX_EXPANDED_TERMS) -> int:
    """An upper bound on the number of terms of ``expand(expr)``, counted without expanding and
    capped at ``limit + 1`` (so that the count itself is cheap)."""
    if expr.is_Add:
        return min(limit + 1, sum(expanded_terms(a, limit) for a in expr.args))
    if expr.is_Mul:
        total = 1
        for a in expr.args:
            total = min(limit + 1, total * expanded_terms(a, limit))
        return total
    if expr.is_Pow:
        base, exp = expr.args
        terms = expanded_terms(base, limit)
        if exp.is_Integer and terms > 1:
            # (t₁ + … + t_k)ⁿ has at most C(n + k − 1, k − 1) terms
            n = abs(int(exp))
            return limit + 1 if n > limit else min(limit + 1, math.comb(n + terms - 1, terms - 1))
        return terms
    if expr.args:
        # the argument of a function is expanded too; its terms do not multiply the outer ones
        return max(1, max(expanded_terms(a, limit) for a in expr.args))
    return 1


def expansion_bounded(expr, limit: int = MAX_EXPANDED_TERMS) -> bool:
    """Whether ``expr`` is small enough, written out, for expand/cancel/factor."""
    return expanded_terms(expr, limit) <= limit


def _symbols(expr):
    return sorted(expr.free_symbols, key=lambda s: s.name)


def _sample(symbols, rng: random.Random, signed: bool, scale: float = 1.0) -> dict:
    point = {}
    for s in symbols:
        if s.is_integer:
            point[s] = sp.Integer(rng.randint(2, 7))
        elif signed and not s.is_positive:
            v = rng.uniform(0.15, 1.9) * scale * rng.choice((-1, 1))
            point[s] = sp.Float(v, 30)
        else:
            point[s] = sp.Float(rng.uniform(0.12, 0.88) * scale, 30)
    return point


# Where the first points leave too few at which both sides are real (log(ReLU(x − 2)) needs
# x > 2), the sampling widens by these factors in turn.
_WIDER = (1.0, 4.0, 16.0, 64.0)


def _value(expr, point):
    try:
        v = expr.xreplace(point).evalf(30)
    except (TypeError, ValueError):
        # Heaviside and Max refuse a complex argument (ReLU(log(cos x)) where cos x < 0): the
        # expression is not real there, so the point is skipped like any non-real value
        return None
    if v.has(sp.nan, sp.zoo, sp.oo, -sp.oo):
        return None
    try:
        c = complex(v)
    except (TypeError, ValueError, OverflowError):
        return None
    # exp(exp(1/x)) near x = 0.12 is ~e^4000: beyond double range the comparison below would
    # overflow or compare infinities, so such a point is skipped too
    if not (abs(c.real) < 1e150 and abs(c.imag) < 1e150):
        return None
    return c


# The functions ``_quick_value`` evaluates itself (by name); any other makes it give way to SymPy.
_MPMATH = {"exp": "exp", "log": "log", "tanh": "tanh", "sinh": "sinh", "cosh": "cosh", "sin": "sin",
           "cos": "cos", "tan": "tan", "atan": "atan", "Abs": "fabs"}


def _quick_value(expr, point):
    """``expr`` at ``point`` by mpmath at 40 digits, each distinct subexpression once (a concrete
    matrix line repeats e^(W_1_1·X_1_1 + …) in every entry; SymPy's evalf rebuilds each copy):
    a complex number, or None where this evaluation cannot decide (a function it does not know,
    a division by zero). Used only to accept a point quickly; anything else is left to
    ``_value``."""
    import mpmath

    memo: dict = {}

    def ev(e):
        v = memo.get(e)
        if v is None:
            if e.is_Rational:
                v = mpmath.mpf(e.p) / e.q
            elif e.is_Float:
                v = mpmath.mpf(e._to_mpmath(mpmath.mp.prec))
            elif e.is_Symbol and e in point:
                v = ev(point[e])
            elif e.is_Add:
                v = mpmath.fsum(ev(x) for x in e.args)
            elif e.is_Mul:
                v = mpmath.fprod(ev(x) for x in e.args)
            elif e.is_Pow:
                v = ev(e.args[0]) ** (int(e.args[1]) if e.args[1].is_Integer else ev(e.args[1]))
            elif e.is_Function and type(e).__name__ in _MPMATH and len(e.args) == 1:
                v = getattr(mpmath, _MPMATH[type(e).__name__])(ev(e.args[0]))
            else:
                raise LookupError(e)
            memo[e] = v
        return v

    with mpmath.workdps(40):
        try:
            return complex(ev(expr))
        except (LookupError, ZeroDivisionError, ValueError, OverflowError):
            return None


def _agree(va, vb) -> bool:
    """Two values, both real and finite, equal within the numeric test's tolerance."""
    return (va is not None and vb is not None and abs(va.imag) <= 1e-20 and abs(vb.imag) <= 1e-20
            and abs(va.real) < 1e150 and abs(vb.real) < 1e150
            and abs(va - vb) <= 1e-9 * (1 + abs(va) + abs(vb)))


def numerically_equal(a, b, points: int = 4, seed: int = 0) -> bool:
    """True when ``a`` and ``b`` (built-ins only) agree at ``points`` seeded random points.

    Half the points are in (0.12, 0.88) (where logs of probabilities are defined), half signed
    with |v| in (0.15, 1.9) (where a ReLU's two sides are both tried). Points where either side is
    not a finite real number are skipped; at least two must remain, and while fewer do, the same
    ranges are tried again 4, 16 and 64 times wider (an expression defined only for x > 2).
    """
    diff = a - b
    if diff == 0:
        return True
    # the symbols of both sides: one that cancels in a − b must still get a value
    symbols = _symbols(sp.Tuple(a, b))
    rng = random.Random(seed)
    used = 0
    for scale in _WIDER:
        tried = 0
        while used < points and tried < 4 * points:
            point = _sample(symbols, rng, signed=bool(tried % 2), scale=scale)
            tried += 1
            va, vb = _quick_value(a, point), _quick_value(b, point)
            if not _agree(va, vb):
                # only an agreement is taken from the quick evaluation: SymPy's evalf decides
                # every other point (skipped, or a difference found)
                va, vb = _value(a, point), _value(b, point)
            if va is None or vb is None or abs(va.imag) > 1e-20 or abs(vb.imag) > 1e-20:
                continue
            used += 1
            if abs(va - vb) > 1e-9 * (1 + abs(va) + abs(vb)):
                return False
        if used >= 2:
            break
    return used >= 2


def equal(a, b) -> str | None:
    """How ``a == b`` was established ("symbolic" or "numeric"), or None when it does not hold."""
    if any(isinstance(x, (sp.MatrixBase, sp.MatrixExpr, sp.Tuple)) for x in (a, b)):
        try:
            # entry by entry; a matrix expression such as 2·[[…]] written out, a tuple as a column
            a, b = sp.Matrix(a), sp.Matrix(b)
        except (TypeError, ValueError):
            return None
        if a.shape != b.shape:
            return None
        how = [equal(x, y) for x, y in zip(a, b)]
        if any(h is None for h in how):
            return None
        return "numeric" if "numeric" in how else "symbolic"
    diff = sp.sympify(a - b)
    if diff == 0:
        return "symbolic"
    if sp.count_ops(diff) <= 150:
        # the difference over a common denominator has a numerator that expands to zero: as
        # conclusive as cancel() and much cheaper (no polynomial gcds); a numerator too large
        # to write out ((a + b + c + d)⁹⁹) is left to the numeric test
        try:
            numerator = sp.fraction(sp.together(diff))[0]
            if expansion_bounded(numerator, _MAX_CHECKED_TERMS) and sp.expand(numerator) == 0:
                return "symbolic"
        except (sp.PolynomialError, TypeError, ValueError, NotImplementedError):
            pass
    return "numeric" if numerically_equal(a, b) else None


def check_equal(lhs, rhs, defs: dict | None = None, *, remembered: bool = True, made: list | None = None) -> str:
    """Verify the displayed line ``lhs = rhs``; return how, or raise VerificationError.

    With ``remembered`` (and the cache on), a claim proved by an earlier run is taken from the
    cache of proofs (see the module's docstring); ``remembered=False`` always proves it.
    ``made``: see ``prove``."""
    return prove((lhs, rhs), defs, remembered=remembered, made=made)


class Deferred:
    """A pair of sides to verify, worked out only when it is first needed: a claim that an
    earlier run proved is recognized by ``content`` (everything the sides are computed from)
    without computing them.

    Parameters
    ----------
    content : tuple
        What determines the two sides exactly (expressions, sizes, flags).
    compute : callable
        Returns the pair (left, right).
    uses : tuple of str
        Other files of the package (relative paths) whose code ``compute`` runs; their digest
        is part of the claim too.
    """

    def __init__(self, content: tuple, compute, uses: tuple = ()):
        # the code that computes the sides is part of the claim: its file's digest
        self.content = (*content, _code_of(compute), cache.code_digest(*uses) if uses else "")
        self._compute = compute
        self._sides = None

    def _pair(self) -> tuple:
        if self._sides is None:
            self._sides = tuple(self._compute())
        return self._sides

    def __iter__(self):
        return iter(self._pair())

    def __getitem__(self, i):
        return self._pair()[i]

    def __len__(self) -> int:
        return 2

    def replaced(self, mapping: dict) -> "Deferred":
        """Both sides with ``mapping`` substituted (``xreplace``), deferred too: a remembered
        claim works neither this pair nor the one it comes from out."""
        return Deferred((*self.content, "xreplace", *(x for item in mapping.items() for x in item)),
                        lambda: tuple(side.xreplace(mapping) for side in self))

    def entry(self, index) -> "Deferred":
        """The pair of entries at ``index`` of the two sides (matrices), deferred too."""
        return Deferred((*self.content, "entry", index), lambda: (self[0][index], self[1][index]))


def _code_of(compute) -> str:
    """The digest of the file defining ``compute`` (named relative to the package when it is
    one of its own); when that file cannot be read (code typed at a prompt), a token drawn
    afresh, so that such a claim never matches a remembered one."""
    from pathlib import Path

    path = Path(compute.__code__.co_filename)
    root = Path(__file__).parent
    try:
        name = path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
        return cache.code_digest(name)
    except OSError:
        import os

        return f"unknown code {os.urandom(16).hex()}"


def stacked(pairs) -> Deferred:
    """The pairs ``(left, right)`` as one pair of columns (one entry a pair), deferred: a claim
    made of deferred pairs is named by their contents, so a remembered one works none of them out.
    """
    pairs = tuple(pairs)
    content = ["stacked", len(pairs)]
    for p in pairs:
        part = p.content if isinstance(p, Deferred) else tuple(p)
        # each part's length first, so that two different lists of parts never read the same
        content += [isinstance(p, Deferred), len(part), *part]
    return Deferred(tuple(content), lambda: (sp.Matrix([p[0] for p in pairs]), sp.Matrix([p[1] for p in pairs])))


def prove(pair, defs: dict | None = None, *, remembered: bool = True, made: list | None = None) -> str:
    """``check_equal`` of a pair given whole: (lhs, rhs) or a ``Deferred``, which is worked out
    only when the claim is not already known to hold. ``made``, a list: the claim's digest and
    how it holds are appended to it (a derivation lists the claims it makes, which the suite
    compares with the proofs shipped in the package)."""
    content = ("deferred", *pair.content) if isinstance(pair, Deferred) else ("equal", *pair)
    claim = _PROOFS.claim(content, defs) if remembered or made is not None else None
    how = _PROOFS.known(claim) if remembered else None
    if how is None:
        lhs, rhs = pair
        how = equal(realize(lhs, defs), realize(rhs, defs))
        if how is None:
            raise VerificationError(f"not an equality: {lhs} = {rhs}")
        if remembered:
            _PROOFS.remember(claim, how)
    if made is not None:
        made.append((claim, how))
    return how


class _Proofs:
    """The claims proved by earlier runs, read from the cache once per process, and those
    proved in this one, written back when the process ends."""

    _PARTS = {"kind": "proofs", "format": 1}
    _HOWS = ("symbolic", "numeric")

    def __init__(self):
        self._old: dict | None = None
        self._new: dict = {}
        self._texts: dict = {}
        self._defs: dict = {}

    def claim(self, content: tuple, defs) -> str:
        """The digest of the claim ``content`` under ``defs``."""
        import hashlib

        h = hashlib.sha256()
        for part in content:
            h.update(self._text(part).encode())
            h.update(b"\0")
        h.update(self._defs_digest(tuple(x for item in (defs or {}).items() for x in item)).encode())
        return h.hexdigest()

    def _defs_digest(self, parts: tuple) -> str:
        # the definitions in force, symbol and expression in turn, digested once per process for
        # each sequence of objects (a derivation's lines mostly share theirs), by identity as in
        # _text, the objects kept so that their identities stay theirs
        import hashlib

        key = tuple(map(id, parts))
        seen = self._defs.get(key)
        if seen is None:
            h = hashlib.sha256()
            for part in parts:
                h.update(self._text(part).encode())
                h.update(b"\0")
            seen = self._defs[key] = (parts, h.hexdigest())
        return seen[1]

    def _text(self, expr) -> str:
        # a definition is written out once per process; by identity, since two objects that
        # compare equal may still print differently (Floats of different precision). The terms
        # are written in SymPy's own order (order="none"), which is canonical for evaluated sums
        # and products: sorting them for display, as srepr does by default, costs most of the time
        seen = self._texts.get(id(expr))
        if seen is None or seen[0] is not expr:
            seen = self._texts[id(expr)] = (expr, sp.srepr(expr, order="none"))
        return seen[1]

    def _stored(self) -> dict:
        text = cache.load(self._PARTS, cache.code_digest(*CHECKED_BY)) or ""
        pairs = (line.split(" ") for line in text.splitlines())
        return {p[0]: p[1] for p in pairs if len(p) == 2 and p[1] in self._HOWS}

    def known(self, claim: str | None) -> str | None:
        """How ``claim`` was proved, when this run, an earlier one or the package's shipped
        proofs proved it; None when none did or the cache is off."""
        if claim is None or cache.folder() is None:
            return None
        if self._old is None:
            self._old = {**shipped(), **self._stored()}
        return self._new.get(claim) or self._old.get(claim)

    def remember(self, claim: str | None, how: str) -> None:
        if claim is None or cache.folder() is None:
            return
        if not self._new:
            atexit.register(self.save)
        self._new[claim] = how

    def save(self) -> None:
        """Add this run's proofs to the stored ones (read again: another run may have added
        some meanwhile)."""
        merged = {**self._stored(), **self._new}
        cache.store(self._PARTS, "".join(f"{k} {v}\n" for k, v in sorted(merged.items())),
                    cache.code_digest(*CHECKED_BY))


_PROOFS = _Proofs()

# The proofs shipped with the package: every claim the models make with their default options,
# proved by ``python -m derive.shipped`` (which proves each afresh) under the checking code
# named on the file's first line.
SHIPPED = "proofs.txt"
_SHIPPED_HEADER = "derive-proofs 1"


def shipped() -> dict:
    """The shipped proofs (claim digest → how), or none when they were proved by other checking
    code or another SymPy than this one's (``CHECKED_BY``): a file made by an older checker is
    not trusted."""
    from pathlib import Path

    try:
        header, _, body = (Path(__file__).parent / SHIPPED).read_text(encoding="ascii").partition("\n")
    except (OSError, UnicodeDecodeError):
        return {}
    if header != f"{_SHIPPED_HEADER} {cache.code_digest(*CHECKED_BY)}":
        return {}
    pairs = (line.split(" ") for line in body.splitlines())
    return {p[0]: p[1] for p in pairs if len(p) == 2 and p[1] in _Proofs._HOWS}


def shipped_text(proofs: dict) -> str:
    """The text of the shipped proofs ``proofs`` (claim digest → how) for this checking code."""
    lines = "".join(f"{k} {v}\n" for k, v in sorted(proofs.items()))
    return f"{_SHIPPED_HEADER} {cache.code_digest(*CHECKED_BY)}\n{lines}"
