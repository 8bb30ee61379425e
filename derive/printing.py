"""Printers in the notes' notation: one-line Unicode for the terminal, LaTeX for notes.

Both keep the order in which a derivation built a product (``x1·dz``, as the notes write it), print
derivatives of named quantities as ∂L/∂z, the named functions as σ, ReLU, …, and the kink
indicator ``Heaviside(z, 0)`` as the Iverson bracket [z > 0].
"""

from __future__ import annotations

import re
import unicodedata
from functools import wraps

import sympy as sp
from sympy.core.basic import _args_sortkey
from sympy.core.parameters import distribute, global_parameters
from sympy.printing.latex import LatexPrinter
from sympy.printing.str import StrPrinter

from . import functions as F

_SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
_SUP = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")
_GREEK = {
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "eta": "η",
    "theta": "θ", "lambda": "λ", "lamda": "λ", "mu": "μ", "sigma": "σ", "tau": "τ", "phi": "φ",
    "omega": "ω", "rho": "ρ", "pi": "π", "xi": "ξ", "nu": "ν", "kappa": "κ", "zeta": "ζ",
    "psi": "ψ", "chi": "χ", "Sigma": "Σ", "Theta": "Θ", "Delta": "Δ", "ell": "ℓ",
    "Lcal": "ℒ",     # a loss where L counts layers, as Ng writes it (SymPy's LaTeX: \mathcal{L})
}
_HATS = {"hat": "\u0302", "bar": "\u0304", "tilde": "\u0303"}
_TEXT_FUNCS = {
    "sigmoid": "σ", "relu": "ReLU", "softplus": "softplus", "hard_sigmoid": "HardSigmoid",
    "leaky_relu": "LeakyReLU", "log": "log",
}


def unicode_name(name: str) -> str:
    """``w1`` → ``w₁``, ``yhat`` → ``ŷ``, ``sigma2`` → ``σ₂``, ``x_j`` → ``x_j``,
    ``sigma^2`` → ``σ²`` (a variance as one symbol)."""
    if "^" in name:
        head, sup = name.split("^", 1)
        if sup.startswith("["):     # a layer, as the notes write it: W^[l] → W[l], a^[l-1] → a[l−1]
            return unicode_name(head) + sup.replace("-", "−")
        if sup.startswith("<") and sup.endswith(">"):   # a time step: a^<t-1> → a⟨t−1⟩
            return unicode_name(head) + "⟨" + sup[1:-1].replace("-", "−") + "⟩"
        return unicode_name(head) + sup.translate(_SUP)
    for suffix, mark in _HATS.items():
        if name.endswith(suffix) and len(name) > len(suffix):
            # composed where Unicode has the letter (ŷ, ŵ, x̄ stays two characters), as prose types it
            return unicodedata.normalize("NFC", unicode_name(name[: -len(suffix)].rstrip("_")) + mark)
    m = re.fullmatch(r"([A-Za-z]+?)_?(\d+)", name)
    if m:
        head = _GREEK.get(m.group(1), m.group(1))
        return head + m.group(2).translate(_SUB)
    return _GREEK.get(name, name)


# The example marker: an ``IndexedBase`` whose label ends with it is a per-example quantity and
# prints its index as the notes' superscript, y⁽ⁱ⁾ (``models._notation.example`` builds one).
EXAMPLE = "^()"
_SUP_INDEX = str.maketrans("0123456789in", "⁰¹²³⁴⁵⁶⁷⁸⁹ⁱⁿ")


def example_label(expr) -> str | None:
    """The name of an example-indexed ``expr`` (y for y⁽ⁱ⁾), else None."""
    if isinstance(expr, sp.Indexed) and len(expr.indices) == 1 and expr.base.label.name.endswith(EXAMPLE):
        return expr.base.label.name[: -len(EXAMPLE)]
    return None


def _superscripted(expr) -> bool:
    """Whether ``expr`` is an indexed name that already carries a superscript (y⁽ⁱ⁾, W[1]_ji in
    LaTeX): a power of it is bracketed."""
    return isinstance(expr, sp.Indexed) and "^" in expr.base.label.name


def _factor_rank(f) -> int:
    """Numbers, then symbols (and their absolute values), then polynomial groups, then
    functions, then groups holding a function, then derivatives: 4·x·(3·x² + 2)³,
    (1 − y)·log(1 − a), σ(z)·(1 − σ(z)), |x|·√(x² − 1)."""
    if f.is_Number:
        return 0
    if isinstance(f, sp.Derivative):
        return 5
    base = f.base if isinstance(f, sp.Pow) else f
    if isinstance(base, sp.Abs) and base.args[0].is_Symbol:
        return 1
    if isinstance(base, sp.Add):
        return 4 if base.atoms(sp.Function) else 2
    return 3 if isinstance(base, sp.Function) else 1


# The reciprocal function a derivative table writes first in a product with its partner:
# d/dx[csc x] = −csc x·cot x and d/dx[sec x] = sec x·tan x (Stewart §3.3), csch before coth
# (§3.11); SymPy's order is alphabetical (cot·csc, coth·csch).
_TABLE_FIRST = {sp.cot: sp.csc, sp.coth: sp.csch, sp.tan: sp.sec, sp.tanh: sp.sech}


def _table_rank(f, factors) -> int:
    """1 for a cot (coth, tan, tanh) whose reciprocal partner of the same argument is another
    of ``factors``, so that a stable sort writes csc(x)·cot(x); else 0."""
    base = f.base if isinstance(f, sp.Pow) else f
    partner = _TABLE_FIRST.get(type(base))
    return int(partner is not None and any(
        isinstance(g.base if isinstance(g, sp.Pow) else g, partner)
        and (g.base if isinstance(g, sp.Pow) else g).args == base.args for g in factors))


# The data a model is given (x, y) and what it predicts from them (a, ŷ), by the stem of a name:
# a product of both is written data first, as the notes multiply out −y·(1 − ŷ) to −y + y·ŷ.
_DATA = {"x", "y", "X", "Y"}
_PREDICTED = {"a", "yhat", "A", "Yhat"}


def _stem(f) -> str:
    """The letters a factor's name starts from: ``y`` for y₁, y_k and y⁽ⁱ⁾, ``a`` for a[1]_j."""
    base = f.base if isinstance(f, sp.Pow) else f
    if isinstance(base, sp.Indexed):
        base = base.base.label
    if not isinstance(base, (sp.Symbol, sp.MatrixSymbol)):
        return ""
    return re.match(r"[A-Za-z]*", base.name.split("^")[0].split("_")[0]).group()


def _data_first(factors: list) -> list:
    """``factors`` with the data factors moved before the predicted ones, the others in place:
    a·y is y·a, ŷ·w·y is y·w·ŷ."""
    places = [i for i, f in enumerate(factors) if _stem(f) in _DATA | _PREDICTED]
    moved = sorted((factors[i] for i in places), key=lambda f: _stem(f) in _PREDICTED)
    out = list(factors)
    for i, f in zip(places, moved):
        out[i] = f
    return out


def _in_denominator(f) -> bool:
    return isinstance(f, sp.Pow) and f.exp.is_number and f.exp.is_negative


_MEMO_KEPT = 1 << 15


def _memo(fn):
    """``fn`` (of one SymPy expression, pure) remembering its answers: a line's sums are ordered
    when the next line is added, when the line is printed, and in every format. What SymPy
    builds depends on its ``evaluate`` and ``distribute`` switches, so they are part of the key;
    a list answer is handed out as a copy."""
    answers: dict = {}

    @wraps(fn)
    def remembered(expr):
        key = (expr, global_parameters.evaluate, global_parameters.distribute)
        try:
            out = answers[key]
        except KeyError:
            if len(answers) > _MEMO_KEPT:
                answers.clear()
            out = answers[key] = fn(expr)
        return list(out) if isinstance(out, list) else out

    return remembered


# canon's answers, a tree's sub-trees included (emptied past _MEMO_KEPT)
_canons: dict = {}


def canon(expr):
    """The evaluated (canonical) form of an arranged tree: the key under which a display order
    is remembered. Derivatives stay unevaluated."""
    if expr.is_Atom or not expr.args or not isinstance(expr, sp.Basic):
        return expr
    if (known := _canons.get(expr)) is not None:
        return known
    if len(_canons) > _MEMO_KEPT:
        _canons.clear()
    # switching SymPy's ``distribute`` empties SymPy's whole cache: once for a tree, not per node
    with distribute(False):  # 2·(ŷ − y) stays a product, as the engine builds it
        return _canon(expr)


def _canon(expr):
    if expr.is_Atom or not expr.args or not isinstance(expr, sp.Basic):
        return expr
    if (known := _canons.get(expr)) is not None:
        return known
    args = [_canon(a) if isinstance(a, sp.Basic) else a for a in expr.args]
    if isinstance(expr, sp.Derivative):
        out = sp.Derivative(args[0], *expr.variable_count, evaluate=False)
    else:
        try:
            out = expr.func(*args)
        except (TypeError, ValueError):
            out = expr
    _canons[expr] = out
    return out


@_memo
def _author_ordered(expr) -> bool:
    """A sum or product built unevaluated in an order that is not SymPy's own. A sum whose
    terms stand sorted as SymPy sorts them is not (the engine keeps cos(x) + cos(x) apart for a
    line, in no order of its own); a product keeps the order its author built it in."""
    if tuple(expr.func(*expr.args, evaluate=True).args) == tuple(expr.args):
        return False
    return not isinstance(expr, sp.Add) or list(expr.args) != sorted(expr.args, key=_args_sortkey)


@_memo
def _default_terms(expr) -> list:
    """A sum's terms as the notes write a fresh formula: SymPy's reading order with the positive
    terms first (ŷ − y, 1 − a); a polynomial by descending degree, constant last (8·x⁴ − 9·x² + 1,
    w·x + b)."""
    terms = list(expr.as_ordered_terms())
    terms = [t for t in terms if not t.could_extract_minus_sign()] + [
        t for t in terms if t.could_extract_minus_sign()]
    polynomial = all(t.is_polynomial() and not t.has(sp.Sum, sp.Product) for t in terms)
    # by degree: a polynomial in one variable (but a difference of two stays 1 − x), or a sum of
    # positive terms in several (w₁·x₁ + w₂·x₂ + b; y − b − w·x stays as it reads)
    if polynomial and (len(expr.free_symbols) == 1 or not any(t.could_extract_minus_sign() for t in terms)):
        by_degree = sorted(terms, key=lambda t: -sp.total_degree(t) if t.free_symbols else 0)
        if len(terms) > 2 or not by_degree[0].could_extract_minus_sign():
            terms = by_degree
    return terms


@_memo
def _by_degree(expr) -> bool:
    """Whether the sum ``expr`` is a polynomial of three terms or more in one symbol, which a
    textbook writes by descending degree."""
    return (len(expr.args) > 2 and len(expr.free_symbols) == 1 and not expr.has(sp.Derivative)
            and expr.is_polynomial())


@_memo
def _linear_in_one(term) -> bool:
    """Whether ``term`` is c·s for one symbol s (5·w, −b)."""
    return (term.is_commutative and len(term.free_symbols) == 1 and term.is_polynomial()
            and sp.total_degree(term) == 1)


def _in_shown_order(terms: list, shown: list) -> list:
    """``terms`` of the form c·s with the symbols in the order they were ``shown`` (5·w + 3·b
    after w + b − 2), the numbers last, the first positive term in front; ``terms`` as they
    are when a term is of another form or its symbol was never shown."""
    rank = {s: i for i, s in enumerate(shown)}
    linear = [t for t in terms if not t.is_Number]
    if len(linear) < 2 or not all(_linear_in_one(t) and t.free_symbols <= rank.keys() for t in linear):
        return terms
    ordered = sorted(linear, key=lambda t: rank[next(iter(t.free_symbols))])
    return _positive_first(ordered) + [t for t in terms if t.is_Number]


def _positive_first(terms: list) -> list:
    """``terms`` with the first positive one moved to the front when the first is negative."""
    if terms[0].could_extract_minus_sign():
        first = next((t for t in terms if not t.could_extract_minus_sign()), None)
        if first is not None:
            terms.remove(first)
            terms.insert(0, first)
    return terms


def preorder(expr):
    """The sub-expressions of ``expr`` in reading order (a derivative's bracket included)."""
    yield expr
    if isinstance(expr, sp.Basic) and not expr.is_Atom:
        for a in expr.args:
            if isinstance(a, sp.Basic):
                yield from preorder(a)


def _ends_in_one(term) -> bool:
    """Whether ``term`` is the engine's g·1: the 1 a derivative d/dx[x] became, kept in its
    product for a line."""
    return isinstance(term, sp.Mul) and len(term.args) > 1 and term.args[-1] == 1


def _times_one(term) -> bool:
    """Whether ``term`` is the engine's g·1 or −g·1."""
    inner = term.args[-1] if isinstance(term, sp.Mul) and term.args[0] == -1 and len(term.args) == 2 else term
    return _ends_in_one(inner)


@_memo
def _known_key(expr):
    """The key ``Order.known`` holds the order of the sum or product ``expr`` under: its
    canonical form; but a sum or product the engine keeps apart for a line, which SymPy would
    collect (x³ − x³ + 4·x³·log(x) is 4·x³·log(x), (log(x) + x·(1/x))·(log(x) + 1) a square),
    by its terms as written, not under what it collects into (whose order is another thing)."""
    c = canon(expr)
    if isinstance(expr, (sp.Add, sp.Mul)) and _collects(expr, c):
        return (expr.func.__name__, tuple(sorted(map(_written, expr.args), key=str)))
    return c


def _collects(expr, c) -> bool:
    """Whether the sum or product ``expr``, whose canonical form is ``c``, is written apart
    from it: SymPy merges some of its terms or factors."""
    return not isinstance(c, expr.func) or sorted(map(canon, expr.args), key=sp.default_sort_key) != sorted(
        c.args, key=sp.default_sort_key)


def _written(term):
    """``term`` as written, in no order: x·(1/x) is not the 1 it makes."""
    if isinstance(term, (sp.Add, sp.Mul)):
        return (term.func.__name__, tuple(sorted(map(_written, term.args), key=str)))
    return canon(term)


def _shown_key(term):
    """The key a sum remembers ``term`` by: its canonical form, but the engine's cos(x)·1 is
    not the cos(x) beside it."""
    return canon(term) * _ONE_SHOWN if _times_one(term) else canon(term)


# a term that stands for nothing of the line before: ranked where the derivative rewritten stood
# (a Symbol, not a Dummy: a stored derivation's orders must equal a fresh build's in another process,
# and no input can name it)
_ONE_SHOWN = sp.Symbol("·1 shown")


def index_form(base, exponent):
    """``base`` to the power ``exponent`` written with its exponent, x^(−1/2), not as the root or
    fraction it prints as (1/√(x)): the rewrite a textbook makes before the power rule. The
    exponent is held as 1·exponent, unevaluated; it evaluates to the ordinary power."""
    return sp.Pow(base, sp.Mul(sp.S.One, exponent, evaluate=False), evaluate=False)


def _index_exponent(e):
    """The exponent of an ``index_form``, else None."""
    if isinstance(e, sp.Mul) and len(e.args) == 2 and e.args[0] == 1 and e.args[1].is_Rational:
        return e.args[1]
    return None


class Order:
    """How to order a line's sums and products. ``known`` maps a sum or product (canonical) to
    its terms or factors in the order they were shown; ``ranks`` maps each sub-expression of
    the line before to its reading position (``line_order``), so that a term keeps its place
    and a rewritten term takes the place of what it came from."""

    def __init__(self, known: dict | None = None, ranks: dict | None = None):
        self.known = known or {}
        self.ranks = ranks or {}
        self.rewritten = self.rewritten_end = float("inf")
        self.present: set = set()
        self._symbols: list | None = None
        # (expr, SymPy's switches) -> its arrangement under this order without ranks (``arrange``):
        # a line is arranged when the next line is added and again by every renderer. Like
        # ``symbols``, it holds as long as ``known`` is not changed, which no caller does once an
        # Order is made
        self._arranged: dict = {}

    @property
    def symbols(self) -> list:
        """The symbols in the order the sums shown so far first held them as a term c·s."""
        if self._symbols is None:
            seen = dict.fromkeys(next(iter(t.free_symbols)) for key, terms in self.known.items()
                                 if isinstance(key, sp.Add) for t in terms if _linear_in_one(t))
            self._symbols = list(seen)
        return self._symbols

    def start(self, expr) -> None:
        """Note where the line before was rewritten: its first derivative that ``expr`` no
        longer has (a rule works out one d/dx[…] per line)."""
        if not self.ranks:
            return
        self.present = {canon(s) for s in preorder(expr)}
        gone = [(r, s) for s, r in self.ranks.items() if isinstance(s, sp.Derivative) and s not in self.present]
        self.rewritten, rewritten = min(gone, key=lambda g: g[0], default=(float("inf"), None))
        # where the derivative rewritten ends: what stood inside it stands before
        self.rewritten_end = self.rewritten + sum(1 for _ in preorder(rewritten)) if gone else self.rewritten

    def as_term(self, term, container=None, kind: str = "term", in_sums: bool = True,
                grown: bool = False):
        """Where ``term`` stood as a term of a sum (or a factor of a product) on the line
        before, or None. Of its places: one in this same sum ``container``; else one in a sum
        that shares other terms with it; else one in a sum this line rewrote; never one in a
        sum that stands unchanged elsewhere (the x² of a denominator is not the x² a
        numerator's d/dx[x²] became). Without ``in_sums``, only its places as a factor. With
        ``grown`` (the place of what a new term grew from), not a factor of a product that held
        the derivative this line rewrote: the 2·x that d/dx[x²] became in
        (d/dx[x²] + d/dx[−2·x])·x did not grow from that product's x."""
        every = set(map(canon, container.args)) - {term} if container is not None else set()
        siblings = {s for s in every if not s.is_Number}   # a −1 joins anything
        # a sum opened into this one brings its number along (1 − x² into 1 − x² − x·…)
        # (of two that share as much, one in the sum or product this line rewrote: the
        # (1 − 2·σ(z)) of σ(z)·d/dz[1 − σ(z)]·(1 − 2·σ(z)), not of a finished term before it)
        places = [(parent == container, len(others & siblings), parent not in self.present, -i)
                  for i, parent, others in self.ranks.get((kind, term), ())
                  if in_sums or not isinstance(parent, sp.Add)
                  if not (grown and isinstance(parent, sp.Mul) and self._holds_rewritten(parent))
                  if parent == container or parent not in self.present or others & siblings
                  or (isinstance(parent, sp.Add) and others - {term} <= every)]
        return -max(places)[3] if places else None

    def _holds_rewritten(self, node) -> bool:
        """Whether ``node`` of the line before held the derivative this line rewrote."""
        at = self.ranks.get(node)
        return at is not None and at <= self.rewritten < at + sum(1 for _ in preorder(node))

    def _inside_rewritten(self, expr, anywhere: bool = True):
        """Where ``expr`` stood inside the derivative this line rewrote (the sum rule's d/dx[t]
        stands where t stood in d/dx[… + t + …]), else (``anywhere``) anywhere on the line
        before, or None."""
        # a symbol by its places as a term (x in d/dx[5·x⁵ − 3·x³ + x − 7] is not the x of x⁵)
        at = ([i for i, _, _ in self.ranks.get(("term", expr), ())] if expr.is_Atom
              else self.ranks.get(("at", expr), ()))
        inside = [i for i in at if i > self.rewritten]
        return min(inside) if inside else self._place(expr) if anywhere else None

    def _grown_from(self, expr):
        """Where the sum that ``expr`` was rewritten from stood: a sum of the line before, no
        longer there, that held one of its terms (3·x² + 2 from 3·x² + 2·d/dx[x]), or None."""
        places = [self.ranks[parent] for t in expr.args if not t.is_Number
                  for _, parent, _ in self.ranks.get(("term", canon(t)), ())
                  if isinstance(parent, sp.Add) and parent not in self.present]
        return min(places, default=None)

    def _within(self, expr):
        """Where ``expr``, or its reciprocal (the g of a quotient f/g), stood inside the
        derivative this line rewrote, else anywhere on the line before, or None."""
        at = self._inside_rewritten(expr)
        return self._inside_rewritten(canon(1 / expr)) if at is None else at

    def _place(self, expr):
        """The reading position of ``expr`` on the line before (a number or a symbol only as a
        term of a sum), or None."""
        if expr.is_Atom:
            return self.as_term(expr)
        return self.ranks.get(expr)

    def rank(self, term, container=None) -> tuple:
        """Where ``term`` stood on the line before: its own place as a term of a sum; the place
        of what it is the derivative of (the sum rule); else, for a term the rewrite made, the
        place of the derivative rewritten, then of the derivative it holds (the product rule's
        f′·g before f·g′); else nowhere (infinity)."""
        # the term, else the term it grew from (2·cos(x) where cos(x) + d/dx[sin(x)] stood; a
        # term whose sign flipped, −x² from x² − 2·x², is a new one: 1 − x², not −x² + 1)
        coeff, rest = term.as_coeff_Mul()
        for was in (term, *([rest] if coeff > 0 else [])):
            if (place := self.as_term(was, container, grown=was is not term)) is not None:
                return place, 0
        if isinstance(term, sp.Derivative) and (place := self._inside_rewritten(term.expr)) is not None:
            return place, 0
        # the function a derivative holds as it stood inside the derivative rewritten, not the
        # same function in a finished term before it (−x²·d/dx[sin(x)] after −d/dx[x²]·sin(x)
        # though 2·(cos(x) − x·sin(x)) stands first)
        inner = [at for s in preorder(term) if isinstance(s, sp.Derivative)
                 and (at := self._within(s.expr)) is not None]
        if self.rewritten != float("inf"):
            return self.rewritten, min(inner, default=float("inf"))
        return float("inf"), 0

    def _as_known(self, expr) -> list:
        """The arguments of ``expr`` in the order this sum or product was shown before."""
        key = _known_key(expr)
        shown, as_key = self.known[key], (_shown_key if isinstance(key, sp.Basic) else _written)
        places: dict = {}
        for i, t in enumerate(shown):
            places.setdefault(t, []).append(i)
        # a term shown twice (cos(x) + cos(x) before they are collected) takes its places in turn;
        # a power of a factor shown (σ² from σ·σ) takes that factor's first place
        def key(t):
            k = as_key(t)
            if places.get(k):
                return places[k].pop(0)
            base = canon(t.base) if isinstance(t, sp.Pow) else None
            return min(i for i, s in enumerate(shown) if s == base) if base in shown else len(shown)

        keys = [key(t) for t in expr.args]
        return [t for _, t in sorted(zip(keys, expr.args), key=lambda kt: kt[0])]

    def factors(self, expr) -> list:
        """The factors of the product ``expr`` in display order: the author's, else numbers
        first and the factors in the order they stood on the line before (a derivative where
        its function stood: d/dx[f]·g + f·d/dx[g]), else by ``_factor_rank``."""
        if _author_ordered(expr):
            return list(expr.args)
        if _known_key(expr) in self.known:
            return self._as_known(expr)
        # the denominator after the numerator, as it is read: f/g keeps f's place before g's
        factors = _data_first(sorted(expr.args, key=lambda f: (_in_denominator(f), _factor_rank(f),
                                                                 _table_rank(f, expr.args))))
        if not self.ranks:
            return factors

        whole = canon(expr)
        finished = not expr.has(sp.Derivative) and any(
            _factor_rank(f) == 3 and not _in_denominator(f) for f in expr.args)

        def place(f):
            # a simplification writes a product as the notes do, its numbers and symbols first
            # (24·x·(3·x² + 2)³ from 4·(3·x² + 2)³·6·x); its other factors keep their places
            # and so does a product a rewrite has just finished: a symbol before the function
            # the derivative became (x·cos(x) from d/dx[sin(x)]·x, 2·x·sin(x) from sin(x)·d/dx[x²])
            if f.is_Number or ((self.rewritten == float("inf") or finished) and _factor_rank(f) == 1
                               and not _in_denominator(f)):
                return float("-inf")
            if self.rewritten == float("inf") and _in_denominator(f):
                return float("inf")     # and a denominator as the notes write one: √(x² + 1)·(x + 5)⁴
            # the factor itself, else what it grew from: g where the quotient rule's f/g held
            # 1/g, x² where x·d/dx[x²] held x
            # (while a derivative is worked out, a factor it made, sec(x) of x·sec(x)·tan(x),
            # is not the finished term sec(x) standing before it: x keeps its place first; a
            # derivative left of a sum, d/dx[2·x] of (d/dx[2·x] + d/dx[1])·(x − 3), is its term)
            in_sums = self.rewritten == float("inf") or isinstance(f, sp.Derivative)
            # a sum a rule's value was just written into, log(x) + x·(1/x), is not the finished
            # log(x) + 1 it equals beside it: it stands where the sum it came from stood
            if (isinstance(f, sp.Add) and any(canon(t) != t for t in f.args)
                    and (at := self._grown_from(f)) is not None):
                return at
            for was in (f, 1 / f):
                if (at := self.as_term(canon(was), whole, in_sums=in_sums)) is not None:
                    return at
            # a power merged in this very product (sin(x)⁴ from sin(x)³·(−sin(x))) stands where
            # the power of its base stood in it, not where the lone factor did
            if f.is_Pow and f.exp.is_Integer and (at := self.as_term(canon(f.base), whole, "base")) is not None:
                return at
            for was in ([f.base] if f.is_Pow and f.exp.is_Integer else []):
                if (at := self.as_term(canon(was), whole, in_sums=in_sums)) is not None:
                    return at
            if isinstance(f, sp.Derivative) and (at := self._within(f.expr)) is not None:
                return at
            # a power merged from two (sin(x)⁴ from sin(x)³·d/dx[cos(x)] worked out, x² from
            # x·2·x) stands where a factor of its base stood
            if (at := self.as_term(canon(f.as_base_exp()[0]), whole, "base")) is not None:
                return at
            if isinstance(f, sp.Add) and (at := self._grown_from(f)) is not None:
                return at
            if f in self.ranks and not f.is_Atom:
                # a factor the rewrite made (cos(x) from d/dx[sin(x)]) is not the one that
                # stands in a finished term before it: it stays where the derivative stood
                return self.ranks[f] if self.rewritten == float("inf") else (
                    self._inside_rewritten(f, anywhere=False) or float("inf"))
            # a group or function the rewrite made, the power rule's (x − 1)² from
            # d/dx[(x − 1)³], stands with the factors that came out of the derivative (None):
            # 3·sin(x)²·d/dx[sin(x)]·cos(x)², σ(z)·(1 − σ(z)); a number or a symbol goes to the
            # front with the numbers, as the notes write a fresh product (24·x·(3·x² + 2)³), and
            # a new denominator is written in the notes' order, x·√(x² − 1)
            if f.has(sp.Derivative):
                return self.rewritten       # a sum of derivatives: where the derivative stood
            if self.rewritten != float("inf") and _factor_rank(f) > 1 and not _in_denominator(f):
                return None
            return float("inf")

        # a factor with no place stays beside the one before it; first of all, it stands where
        # the derivative rewritten stood (2·x + 3 from 2·x + d/dx[3·x] keeps its place after
        # exp(x² + 3·x)); one the rewrite made, before the next factor that came out of the
        # derivative rewritten, else after all of them (σ(z)·(1 − σ(z)), −sin(x)·(1 + x²))
        first = self.rewritten if self.rewritten != float("inf") else float("-inf")
        places = [place(f) for f in factors]
        keys, last = [], None
        for k, (f, p) in enumerate(zip(factors, places)):
            if p is None:
                p = next((q for q in places[k + 1:] if q is not None and self.rewritten <= q < self.rewritten_end),
                         self.rewritten_end - 0.5)
            last = p if p != float("inf") else (first if last is None else last)
            keys.append((_in_denominator(f), last))
        return [f for _, f in sorted(zip(keys, factors), key=lambda kf: kf[0])]

    def terms(self, expr) -> list:
        """The terms of the sum ``expr`` in display order."""
        key = canon(expr)
        # a line goes on from the line before when it keeps one of that line's terms; else a
        # sum shown before is shown the same way again
        if _author_ordered(expr):
            return list(expr.args)
        continues = any(self.as_term(canon(t), key) is not None for t in expr.args)
        if _known_key(expr) in self.known and not continues:
            return self._as_known(expr)
        default = {t: i for i, t in enumerate(_in_shown_order(_default_terms(key), self.symbols))}
        terms = sorted(expr.args, key=lambda t: default.get(canon(t), len(default)))
        if not self.ranks or (self.rewritten == float("inf") and _by_degree(key)):
            # a polynomial a simplification collects is written by degree: x³ + 3·x² + 2·x + 2
            return terms
        nowhere = float("inf")
        # a number in a sum a simplification makes is not the −1 of a product before it: it
        # goes where the notes put it (cos(x) − 1); a sum that stood before keeps its own
        made = self.rewritten == nowhere and key not in self.ranks
        # a term equal to a finished one stands beside it, to be collected on the next line
        # (cos(x) + cos(x) − x·sin(x) from cos(x) − x·sin(x) + d/dx[sin(x)])
        ranks = [self.rank(_ONE_SHOWN, key) if _times_one(t) else
                 (nowhere, 0) if t.is_Number and made and all(
            isinstance(p, sp.Mul) for _, p, _ in self.ranks.get(("term", canon(t)), ())) else self.rank(canon(t), key)
            for t in terms]
        if self.rewritten == nowhere and all(r[0] == nowhere for r in ranks) and canon(-expr) in self.ranks:
            # a simplification that takes the minus out of a sum of the line before keeps its
            # terms' order: −(sin(x)·(1 + x²) + 2·x·cos(x)) from −sin(x)·(1 + x²) − 2·x·cos(x)
            negated = [self.rank(canon(-t), canon(-expr)) for t in terms]
            if all(r[0] != nowhere for r in negated):
                ranks = negated
        # a term a simplification made stands where a term it no longer has stood (sin(x) where
        # cos(x)·tan(x) stood); any other term with no place on the line before (a constant)
        # stays beside its neighbour
        gaps = self._gaps(terms) if self.rewritten == nowhere else []
        keys, last = [], (float("-inf"), 0)
        for t, r in zip(terms, ranks):
            if r[0] == nowhere and gaps:
                r = (gaps.pop(0), 0)
            last = r if r[0] != nowhere else last
            keys.append(last)
        return [t for _, t in sorted(zip(keys, terms), key=lambda kt: kt[0])]

    def _gaps(self, terms) -> list:
        """Where the terms stood, in order, of the sum of the line before that these ``terms``
        go on from and no longer hold: the places a simplification's new terms take."""
        mine = set(map(canon, terms))
        for t in mine:
            for _, parent, others in self.ranks.get(("term", t), ()):
                if isinstance(parent, sp.Add) and parent not in self.present:
                    return sorted(i for u in others - mine for i, p, _ in self.ranks.get(("term", u), ())
                                  if p == parent)
        return []


# the order of a formula shown on its own (nothing shown before it): one, so that its
# arrangements are remembered across the formulas of the prose
_NO_ORDER = Order()


def arrange(expr, order: Order | None = None):
    """``expr`` as an unevaluated tree in display order: the author's order where a sum or
    product was built unevaluated, the order a sum was shown in before (``order``), else the
    notes' default (``_default_terms``, ``_factor_rank``). Printed without re-sorting."""
    if order is None:
        order = _NO_ORDER
    if order.ranks:
        order.start(expr)
        return _arrange(expr, order)
    # without ranks, ``start`` notes nothing and the arrangement depends on ``expr`` alone, and
    # on SymPy's switches, as for ``_memo``
    key = (expr, global_parameters.evaluate, global_parameters.distribute)
    try:
        return order._arranged[key]
    except KeyError:
        if len(order._arranged) > _MEMO_KEPT:
            order._arranged.clear()
        arranged = order._arranged[key] = _arrange(expr, order)
    except TypeError:   # a mutable matrix
        return _arrange(expr, order)
    return arranged


def _arrange(expr, order: Order):
    if not isinstance(expr, sp.Basic) or expr.is_Atom or not expr.args:
        return expr
    if isinstance(expr, sp.MatrixBase):
        return expr.applyfunc(lambda e: _arrange(e, order))
    if isinstance(expr, sp.MatrixSymbol):
        return expr
    if isinstance(expr, sp.MatAdd):
        # positive terms first, a lone matrix (a bias) after the products: W·x + b, y − X·θ
        args = sorted(expr.args, key=lambda t: (t.could_extract_minus_sign(), isinstance(t, sp.MatrixSymbol)))
        return sp.MatAdd(*(_arrange(a, order) for a in args), evaluate=False)
    if isinstance(expr, sp.MatrixExpr):
        args = [_arrange(a, order) for a in expr.args]
        try:
            return expr.func(*args, evaluate=False)
        except TypeError:
            return expr.func(*args)
    if not expr.is_commutative:
        return expr
    if isinstance(expr, sp.Add):
        return sp.Add(*(_arrange(t, order) for t in order.terms(expr)), evaluate=False)
    if isinstance(expr, sp.Mul):
        return sp.Mul(*(_arrange(f, order) for f in order.factors(expr)), evaluate=False)
    if isinstance(expr, sp.Pow):
        return sp.Pow(_arrange(expr.base, order), _arrange(expr.exp, order), evaluate=False)
    if isinstance(expr, sp.Derivative):
        return sp.Derivative(_arrange(expr.expr, order), *expr.variable_count, evaluate=False)
    if isinstance(expr, (sp.Sum, sp.Product)):
        return expr.func(_arrange(expr.function, order), *expr.limits)
    if isinstance(expr, (sp.Function, sp.Max, sp.Min, sp.Tuple, sp.Rel)):
        args = [_arrange(a, order) for a in expr.args]
        try:
            return expr.func(*args, evaluate=False)
        except TypeError:
            return expr.func(*args)
    return expr


def line_order(expr, order: Order | None = None) -> tuple[dict, dict]:
    """What a shown line fixes for the lines after it: each sum's terms and each product's
    factors in the order shown (canonical → canonical arguments), and each sub-expression's
    reading position: its first under ``expr``, all of them under ``("at", expr)``, and those
    as a term of a sum or a factor of a product under ``("term", expr)``, each with that sum
    or product and its arguments."""
    known, ranks = {}, {}
    position = iter(range(1 << 30))

    def walk(node, within) -> None:
        # ``within``: the canonical sum or product ``node`` is a term or factor of, and its
        # canonical arguments (worked out once for all its arguments), else None
        if isinstance(node, sp.MatrixBase):
            node = sp.ImmutableMatrix(node)   # a table of numbers shown as a line: hashable
        i = next(position)
        c = canon(node)
        ranks.setdefault(c, i)
        ranks.setdefault(("at", c), []).append(i)
        if within is not None:
            ranks.setdefault(("term", c), []).append((i, *within))
            # a factor's place by its base too: where sin(x)³ stood, sin(x)⁴ merged from it stands
            base, exponent = node.as_base_exp() if isinstance(within[0], sp.Mul) else (None, None)
            if exponent is not None and exponent.is_Number:
                ranks.setdefault(("base", canon(base)), []).append((i, *within))
        inner = None
        if isinstance(node, (sp.Add, sp.Mul)):
            shown = tuple(map(_shown_key, node.args))
            # a product shown before SymPy merges its factors (the engine's x·2·x) says nothing
            # of how its merged form, 2·x², is written
            written = _known_key(node)
            if not isinstance(written, sp.Basic):
                known[written] = tuple(map(_written, node.args))
            if not isinstance(node, sp.Mul) or _times_one(node) or set(shown) == set(sp.Mul.make_args(c)):
                known[c] = shown
            inner = (c, frozenset(shown))
        if isinstance(node, sp.Basic) and not node.is_Atom:
            for arg in node.args:
                if isinstance(arg, sp.Basic):
                    walk(arg, inner)

    walk(arrange(expr, order), None)
    return known, ranks


class AsShown(sp.Expr):
    """``expr`` shown exactly as its (arranged, unevaluated) tree stands: a display-only
    wrapper for a formula whose order is already decided, such as a statement in the order the
    student typed it, which ``arrange`` would otherwise take for SymPy's own order where the
    two agree and re-sort."""

    def __new__(cls, expr):
        return sp.Expr.__new__(cls, expr)

    def _derive_text(self, printer):
        return printer._print(self.args[0])

    _latex = _derive_text

    def _sympystr(self, printer):
        return printer._print(self.args[0])


def _power_as_written(expr):
    """The power inside ``expr``, an ``UnevaluatedExpr`` holding a power with a fraction for its
    exponent (the power rule's x^(−1/2) and x^(1/2), which would otherwise print as 1/√x and
    √x), or None."""
    inner = expr.args[0]
    if isinstance(inner, sp.Pow) and inner.exp.is_Rational and not inner.exp.is_Integer:
        return inner
    return None


def _coefficient_and_power(expr):
    """``(c, power)`` for a product c·x^(−1/2) of a fraction and a power kept as written
    (``_power_as_written``): printed (1/2)·x^(−1/2), not x^(−1/2)/2; else None."""
    if len(expr.args) != 2:
        return None
    c, power = expr.args
    if (c.is_Rational and not c.is_Integer and isinstance(power, sp.UnevaluatedExpr)
            and _power_as_written(power) is not None):
        return c, power
    return None


class _Arranged:
    """Mixin: print ``arrange(expr, order)`` as it stands, sums and products unsorted."""

    def __init__(self, settings=None, partial=True, order: Order | None = None):
        super().__init__({**(settings or {}), "order": "none"})
        self.partial = partial
        self.arrangement = order

    def doprint(self, expr):
        return super().doprint(arrange(expr, self.arrangement))

    def _print_index(self, index) -> str:
        """An index in the notes' order, the number last (i + u − 1, p − u + 1): an Indexed keeps
        its indices evaluated (SymPy's −1 + i + u), so they are arranged where they are printed."""
        if isinstance(index, sp.Add) and any(t.is_Number for t in index.args):
            # the terms of an evaluated sum are already canonical: summed again unevaluated they
            # make the same sum, without SymPy importing its tensor module to add them
            rest = arrange(sp.Add(*(t for t in index.args if not t.is_Number), evaluate=False))
            terms = rest.args if isinstance(rest, sp.Add) else (rest,)
            numbers = tuple(t for t in index.args if t.is_Number)
            if terms[0].could_extract_minus_sign():           # 2 − k, not −k + 2
                return self._print(sp.Add(*numbers, *terms, evaluate=False))
            return self._print(sp.Add(*terms, *numbers, evaluate=False))
        return self._print(arrange(index))


# A bracket's relation read off a quadratic in one variable is solved for it: [x − x² > 0] is
# [0 < x < 1]; past degree 2 the roots are rarely what a textbook prints.
_SOLVED_DEGREE = 2

_FLIPPED = {">": "<", "≥": "≤"}


def iverson(arg, at0) -> list:
    """The bracket [arg > 0] (``at0`` = 0) or [arg ≥ 0] (``at0`` = 1) as a chain
    [side, relation, side, …] with a number on one side and positive signs on the other:
    [z > 1] for z − 1, [e^z < 1] for 1 − e^z, [z < 0] for −z, [0 < x < 1] for x − x²
    ([x < 1] when x > 0 is given). Relations are ">", "≥", "<", "≤"."""
    rel = "≥" if at0 == 1 else ">"
    solved = _solved(arg, rel)
    if solved is not None:
        return solved
    # the terms in the order they are shown (``arrange`` leaves the sum unevaluated)
    terms = sp.Add.make_args(arg)
    numbers = [t for t in terms if t.is_Number]
    rest = [t for t in terms if not t.is_Number]
    if len(numbers) > 1 or not rest:
        return [arg, rel, sp.S.Zero]
    number = numbers[0] if numbers else sp.S.Zero
    if all(t.could_extract_minus_sign() for t in rest):
        # −u + n > 0 is u < n
        return [sp.Add(*(-t for t in rest), evaluate=False), _FLIPPED[rel], number]
    return [sp.Add(*rest, evaluate=False), rel, -number]


def _solved(arg, rel):
    """[a < x < b], [x > a] or [x < b] for a quadratic ``arg`` in one symbol x whose solution
    is one interval; None otherwise."""
    symbols = arg.free_symbols
    if len(symbols) != 1 or not isinstance(arg, sp.Add):
        return None
    (x,) = symbols
    if not arg.is_polynomial(x) or sp.degree(arg, x) != _SOLVED_DEGREE:
        return None
    relation = sp.Gt(arg, 0) if rel == ">" else sp.Ge(arg, 0)
    try:
        found = sp.solve_univariate_inequality(relation, x, relational=False)
    except (NotImplementedError, ValueError, TypeError):
        return None
    if not isinstance(found, sp.Interval):
        return None
    low = "<" if found.left_open else "≤"
    high = "<" if found.right_open else "≤"
    given_low = x.is_positive and found.left == 0 or x.is_nonnegative and found.left == 0 and low == "≤"
    bounded_low = found.left.is_finite and not given_low
    if bounded_low and found.right.is_finite:
        return [found.left, low, x, high, found.right]
    if bounded_low:
        return [x, ">" if low == "<" else "≥", found.left]
    if found.right.is_finite:
        return [x, high, found.right]
    return None


# The number of examples, as the notes name it: a product holding 1/m is a mean, (1/m)·…
COUNT = "m"


def _mean_of_sum(expr):
    """``c·(…)/m`` as the notes write a mean, (c, m, the factors after it) for (c/m)·…; None
    unless ``expr`` is a product of a whole number, one symbol's reciprocal and either a Σ or,
    for the count m, any factors but a lone symbol (y/m stays a fraction)."""
    if not isinstance(expr, sp.Mul):
        return None
    below = [f for f in expr.args if _in_denominator(f)]
    if len(below) != 1 or below[0].exp != -1 or not isinstance(below[0].base, sp.Symbol):
        return None
    numbers = [f for f in expr.args if f.is_Number]
    rest = [f for f in expr.args if f not in below and not f.is_Number]
    coefficient = sp.Mul(*numbers)
    if not coefficient.is_Integer or not rest:
        return None
    if any(isinstance(f, sp.Sum) for f in rest) or (
            below[0].base.name == COUNT and not (len(rest) == 1 and rest[0].is_Atom)):
        return coefficient, below[0].base, rest
    return None


# a layer as ``unicode_name`` prints it: W[1], a[l−1]
_LAYER = re.compile(r"\[(?:\d+|[lL](?:[−+]\d+)?)\]")


def _is_named(expr) -> bool:
    return isinstance(expr, (sp.Symbol, sp.Indexed, sp.MatrixSymbol))


def _of_itself(expr, partial: bool) -> bool:
    """A variable's derivative with respect to itself, written d/dx[x] as the power rule's
    textbook case, not dx/dx; a partial one ∂w₁/∂w₁, as the notes write it beside ∂z/∂w₁."""
    return not partial and expr.variable_count == ((expr.expr, 1),)


def _binds_unbracketed(expr) -> bool:
    """Whether Σ's summand is written without brackets of its own: a product, as the notes write
    Σ x⁽ⁱ⁾·dz⁽ⁱ⁾ and Σ W_kl·x_l + b_k (Σ binds a product, not a sum after it). A sum keeps its
    brackets, Σ (a + b), and so does a negative product (Σ (−x⁽ⁱ⁾·…))."""
    f = expr.function
    return isinstance(expr, sp.Sum) and isinstance(f, sp.Mul) and not f.could_extract_minus_sign()


def _matmul_could_extract_minus_sign(self) -> bool:
    """SymPy's ``Mul.could_extract_minus_sign`` for a matrix product, without working out −self
    (a deep ``doit`` of every factor, a quarter of a first render) when the first factor is no
    negative number: SymPy's answer is then false whatever −self is. The printers ask it of
    every product they bracket (``precedence``), and of every term of a sum."""
    c = self.args[0]
    if not (c.is_Number and c.is_extended_negative):
        return False
    return sp.Mul.could_extract_minus_sign(self)


sp.MatMul.could_extract_minus_sign = _matmul_could_extract_minus_sign


class TextPrinter(_Arranged, StrPrinter):
    """One-line Unicode math: ∂L/∂z = a − y, σ(z)·(1 − σ(z)), x₁·dz."""

    # objects' own ``_sympystr`` (Indexed has one) would bypass the notes' notation below
    printmethod = "_derive_text"


    def _print_Symbol(self, expr):
        return unicode_name(expr.name)

    _print_Dummy = _print_Symbol

    def _print_MatrixSymbol(self, expr):
        return unicode_name(expr.name)

    def _print_Indexed(self, expr):
        name = example_label(expr)
        if name is not None:
            idx = self._print(expr.indices[0])
            sup = idx.translate(_SUP_INDEX)
            return unicode_name(name) + (f"⁽{sup}⁾" if sup != idx or not idx.isalnum() else f"^({idx})")
        base = self._print(expr.base.label)
        idx = [self._print_index(i) for i in expr.indices]
        # W_kj and x_10 run together; X_{c,i + u − 1} and x_{i + 1} need the braces
        if all(len(i) == 1 for i in idx) or (len(idx) == 1 and idx[0].isalnum()):
            return f"{base}_{''.join(idx)}"
        return f"{base}_{{{','.join(idx)}}}"

    def _print_floor(self, expr):
        return f"⌊{self._print(expr.args[0])}⌋"          # as the notes write the output size

    def _print_ceiling(self, expr):
        return f"⌈{self._print(expr.args[0])}⌉"

    def _print_Function(self, expr):
        name = type(expr).__name__
        if isinstance(expr, F.leaky_relu):
            return f"LeakyReLU_{expr.slope(self)}({self._print(expr.args[0])})"
        head = _TEXT_FUNCS.get(name, name)
        return f"{head}({', '.join(self._print(a) for a in expr.args)})"

    def _print_ExpBase(self, expr):
        # e^z, e^2 as the notes write them; a longer exponent is bracketed, e^(−z), e^(z_k):
        # e^z_k and e^x² leave unclear where the exponent ends. Named for ExpBase, as SymPy finds a
        # printing method for a renamed subclass of exp (a model's own) only under that name.
        shown = self._print(expr.args[0])
        bare = (len(unicodedata.normalize("NFC", shown)) == 1 and shown.isalpha()
                or shown.isdigit())
        return f"e^{shown}" if bare else f"e^({shown})"

    def _print_Heaviside(self, expr):
        arg = expr.args[0]
        at0 = expr.args[1] if len(expr.args) > 1 else sp.S.Half
        if at0 not in (0, 1):  # SymPy's own step (½ at 0) is not an Iverson bracket
            return f"H({self._print(arg)})"
        chain = iverson(arg, at0)
        return "[" + " ".join(p if isinstance(p, str) else self._print(p) for p in chain) + "]"

    def _print_Derivative(self, expr):
        d = "∂" if self.partial else "d"
        of = expr.expr
        wrt = "".join(f"{d}{self._print(v if n == 1 else sp.Pow(v, n, evaluate=False))}" for v, n in expr.variable_count)
        order = sum(n for _, n in expr.variable_count)
        top = d + (str(order).translate(_SUP) if order > 1 else "")
        if _is_named(of) and not _of_itself(expr, self.partial):
            return f"{top}{self._print(of)}/{wrt}"
        arg = self._print(of)
        if _LAYER.search(wrt + arg):
            # a layer's bracket beside the derivative's would read as one more index, Z[1][σ(Z[1])]:
            # the argument goes in round brackets, ∂/∂Z[1] (σ(Z[1]))
            return f"{top}/{wrt} ({arg})"
        return f"{top}/{wrt}[{arg}]"

    def _print_Pow(self, expr, rational=False):
        if (index := _index_exponent(expr.exp)) is not None:
            return f"{self.parenthesize(expr.base, sp.printing.precedence.PRECEDENCE['Pow'])}^({index})"
        base, e = expr.as_base_exp()
        if e.is_Integer and e > 1 and (isinstance(base, sp.Symbol) and "^" in base.name
                                       or example_label(base) is not None):
            return f"({self._print(base)})" + str(e).translate(_SUP)  # (σ²)², (x⁽ⁱ⁾)², not σ²², x⁽ⁱ⁾²
        if e.is_Integer and e > 1:
            return self.parenthesize(base, sp.printing.precedence.PRECEDENCE["Pow"]) + str(e).translate(_SUP)
        if e == sp.S.Half:
            return f"√({self._print(base)})"
        if example_label(base) is not None:
            # (ŷ⁽ⁱ⁾)^y⁽ⁱ⁾: two superscripts in a row would read as one
            return f"({self._print(base)})^" + self.parenthesize(e, sp.printing.precedence.PRECEDENCE["Pow"])
        if e == -sp.S.Half:
            return f"1/√({self._print(base)})"  # one notation for roots: not 1/sqrt(…)
        if e.is_Rational and e.is_negative and e != -1:
            # 1/(1 − x)², as a textbook writes a reciprocal power, not (1 − x)^(−2)
            return "1/" + self._print(sp.Pow(base, -e, evaluate=False))
        if not expr.exp.is_Number:
            # SymPy's method would first build −exponent, evaluated, to test it for −1/2: for a sum
            # that costs a flatten (and, on a first run, importing SymPy's tensor module)
            prec = sp.printing.precedence.precedence(expr)
            return (f"{self.parenthesize(expr.base, prec, strict=False)}**"
                    f"{self.parenthesize(expr.exp, prec, strict=False)}")
        return super()._print_Pow(expr, rational)

    def _print_UnevaluatedExpr(self, expr):
        if (power := _power_as_written(expr)) is not None:
            return f"{self.parenthesize(power.base, sp.printing.precedence.PRECEDENCE['Pow'])}^({self._print(power.exp)})"
        return self._print(expr.args[0])

    def _print_Mul(self, expr):
        if len(expr.args) == 2 and expr.args[0] == -1 and isinstance(expr.args[1], sp.Sum):
            # −Σ_k y_k·log(ŷ_k), as the notes negate a lone sum: no brackets round the Σ
            return "-" + self._print(expr.args[1])
        if (written := _coefficient_and_power(expr)) is not None:
            c, power = written
            return f"{'-' if c < 0 else ''}({abs(c)})*{self._print(power)}"
        mean = _mean_of_sum(expr)
        if mean is None and _times_one(expr):
            # the engine's (x² + 1)·1, which SymPy's printer would print without its 1
            if expr.args[0] == -1:
                return f"-{self._print(expr.args[1])}"
            rest = expr.args[:-1]
            shown = (self.parenthesize(rest[0], sp.printing.precedence.PRECEDENCE["Mul"]) if len(rest) == 1
                     else super()._print_Mul(sp.Mul(*rest, evaluate=False)))
            return f"{shown}*1"
        if mean is None:
            return super()._print_Mul(expr)
        c, m, rest = mean
        sign = "-" if c < 0 else ""
        body = (self._print(rest[0]) if len(rest) == 1 and isinstance(rest[0], sp.Sum)
                else "*".join(self.parenthesize(f, sp.printing.precedence.PRECEDENCE["Mul"]) for f in rest))
        return f"{sign}({abs(c)}/{self._print(m)})*{body}"

    def _print_MatMul(self, expr):
        # a fraction before a matrix product in brackets, (1/m)·X·dZᵀ: 1/m·X·dZᵀ reads ambiguously
        head, *rest = expr.args
        if rest and not head.is_Matrix and sp.fraction(head)[1] != 1:
            return f"({self._print(head)})*" + self._print(sp.MatMul(*rest, evaluate=False))
        return super()._print_MatMul(expr)

    def _print_Transpose(self, expr):
        return self.parenthesize(expr.arg, sp.printing.precedence.PRECEDENCE["Pow"]) + "ᵀ"

    def _print_Sum(self, expr):
        body = (self._print(expr.function) if _binds_unbracketed(expr)
                else self.parenthesize(expr.function, sp.printing.precedence.PRECEDENCE["Mul"]))
        lims = ", ".join(
            f"{self._print(i)}={self._print(a)}..{self._print(b)}" for i, a, b in expr.limits
        )
        return f"Σ_{{{lims}}} {body}"

    def _print_Product(self, expr):
        return "Π" + self._print_Sum(expr)[1:]

    def parenthesize(self, item, level, strict=False):
        # a Σ or Π inside a product or power is bracketed: (Σ x_i)², not Σ x_i²
        if isinstance(item, (sp.Sum, sp.Product)) and level >= sp.printing.precedence.PRECEDENCE["Add"]:
            return f"({self._print(item)})"
        # a raised exponential is bracketed, (e^x)², not e^x² (which reads as e^(x²))
        if isinstance(item, sp.exp) and level >= sp.printing.precedence.PRECEDENCE["Pow"]:
            return f"({self._print(item)})"
        # a factor a model holds unevaluated (σ′ split as 1/(1 + e^(−z))·e^(−z)/(1 + e^(−z))) is
        # written as it stands, the notes' way of showing the two fractions side by side
        if isinstance(item, sp.UnevaluatedExpr) and level <= sp.printing.precedence.PRECEDENCE["Mul"]:
            return self._print(item.args[0])
        return super().parenthesize(item, level, strict)

    def _print_Float(self, expr):
        return sp.sstr(expr, full_prec=False)  # 0.5, as the notes write it

    def _print_MatrixBase(self, expr):
        # a row a line, as NumPy prints an array (the notes' print(a + b)): numbers right-aligned
        # to one width, formulas left-aligned in their columns, no commas
        cells = [[_finish(self._print(e)) for e in expr.row(r)] for r in range(expr.rows)]
        widths = [max(_width(row[c]) for row in cells) for c in range(expr.cols)]
        numbers = all(e.is_Number for e in expr)
        if numbers:
            widths = [max(widths)] * expr.cols

        def cell(c, w, last):
            space = " " * (w - _width(c))
            return space + c if numbers else c if last else c + space

        gap = " " if numbers else "  "   # a formula holds spaces of its own: Σ_{i=1..m} x⁽ⁱ⁾  m
        rows = ("[" + gap.join(cell(c, w, k == expr.cols - 1) for k, (c, w) in enumerate(zip(row, widths))) + "]"
                for row in cells)
        return "[" + "\n ".join(rows) + "]"

    def _print_KroneckerDelta(self, expr):
        return f"δ_{''.join(self._print(a) for a in expr.args)}"

    def _print_HadamardProduct(self, expr):
        return " ⊙ ".join(self.parenthesize(a, sp.printing.precedence.PRECEDENCE["Mul"]) for a in expr.args)

    def _print_HadamardPower(self, expr):
        # A[1]^⊙², as the matrix engine writes an elementwise power; a plain power would read as
        # a matrix product
        base = self.parenthesize(expr.base, sp.printing.precedence.PRECEDENCE["Pow"])
        exp = self._print(expr.exp)
        return base + "^⊙" + (exp.translate(_SUP) if expr.exp.is_Integer else f"({exp})")

    def _print_binomial(self, expr):
        return f"C({self._print(expr.args[0])}, {self._print(expr.args[1])})"

    def _print_Subs(self, expr):
        at = ", ".join(f"{self._print(v)}={self._print(p)}" for v, p in zip(expr.variables, expr.point))
        return f"{self._print(expr.expr)}|({at})"

    def _print_Abs(self, expr):
        return f"|{self._print(expr.args[0])}|"

    def _print_Max(self, expr):
        return f"max({', '.join(self._print(a) for a in expr.args)})"

    def _print_Min(self, expr):
        return f"min({', '.join(self._print(a) for a in expr.args)})"

    def _print_Exp1(self, expr):
        return "e"

    def _print_Pi(self, expr):
        return "π"

    def _print_Infinity(self, expr):
        return "∞"

    def _print_Relational(self, expr):
        ops = {"==": "=", "!=": "≠", ">=": "≥", "<=": "≤"}
        return f"{self._print(expr.lhs)} {ops.get(expr.rel_op, expr.rel_op)} {self._print(expr.rhs)}"


def _finish(s: str) -> str:
    """Printed text with the notes' signs: ^ and · for ** and *, a minus sign for a hyphen."""
    s = s.replace("**", "^").replace("*", "·")
    # a minus sign, not a hyphen; keep hyphens inside names untouched (names have none)
    return re.sub(r"(?<![A-Za-z_])-", "−", s)


def _width(s: str) -> int:
    """The columns ``s`` takes on a terminal: a combining mark (the hat of ŷ) takes none."""
    return sum(not unicodedata.combining(ch) for ch in s)


# Formulas printed ahead of time: ``derive.stored`` ships, with each stored derivation and graph,
# what ``text`` and ``latex`` printed of its formulas when the store was written (by this same
# source and SymPy: the store's key), and hands them here when it reads them:
# (kind, id(formula), partial, id(order), SymPy's switches) -> (formula, order, printed). An entry
# is used only for the very objects it was printed from (it holds them, so their ids are not
# reused): a formula and its Order are not changed once made, and what is printed of them is a
# function of them, ``partial`` and the switches alone, as ``arrange``'s memo has it.
_PRINTED: dict = {}
# while ``derive.stored`` writes the store: (kind, formula, partial, order, switches, printed) of
# every formula printed
_recording: list | None = None


def _printed(kind: str, expr, partial, order, make) -> str:
    """``make(expr, partial, order)``, or what the store printed of these same objects."""
    switches = (global_parameters.evaluate, global_parameters.distribute)
    kept = _PRINTED.get((kind, id(expr), partial, id(order), switches))
    if kept is not None and kept[0] is expr and kept[1] is order:
        return kept[2]
    out = make(expr, partial, order)
    if _recording is not None and isinstance(expr, sp.Basic):
        _recording.append((kind, expr, partial, order, switches, out))
    return out


def remember_printed(entries) -> None:
    """Add the store's ``(kind, formula, partial, order, switches, printed)`` to ``_PRINTED``."""
    for kind, expr, partial, order, switches, out in entries:
        _PRINTED[kind, id(expr), partial, id(order), switches] = (expr, order, out)


def text(expr, partial=True, order: Order | None = None) -> str:
    """Unicode text of ``expr``, its sums in ``order`` (see ``arrange``): one line, but for a
    matrix, a row a line, each row under the first."""
    return _printed("text", expr, partial, order, _text)


def _text(expr, partial, order) -> str:
    first, *rows = _finish(TextPrinter(partial=partial, order=order).doprint(expr)).split("\n")
    indent = " " * _width(first[:first.find("[[")])
    return "\n".join([first, *(indent + row for row in rows)])


# Subscripts that are words, set upright in LaTeX (the padding of a convolution, a pooling).
_WORD_SUBSCRIPTS = frozenset({"same", "valid", "full", "max", "avg", "min"})


class NotesLatexPrinter(_Arranged, LatexPrinter):
    """LaTeX as the notes write it: \\frac{\\partial L}{\\partial z}, \\sigma(z), Iverson brackets."""

    def _print_Symbol(self, expr, style="plain"):
        # a time step a^<t-1> as the course writes it, a^{\langle t-1\rangle}
        head, sep, sup = expr.name.partition("^<")
        if sep and sup.endswith(">"):
            return rf"{super()._print_Symbol(sp.Symbol(head), style)}^{{\langle {sup[:-1]}\rangle}}"
        # a subscript that is a word (Z_same, A_max), not a product of indices: upright
        head, sep, word = expr.name.partition("_")
        if sep and word in _WORD_SUBSCRIPTS:
            return rf"{super()._print_Symbol(sp.Symbol(head), style)}_{{\text{{{word}}}}}"
        return super()._print_Symbol(expr, style)

    def _print_Derivative(self, expr):
        d = r"\partial" if self.partial else "d"
        of = expr.expr
        order = sum(n for _, n in expr.variable_count)
        top = d if order == 1 else f"{d}^{{{order}}}"
        wrt = " ".join(
            f"{d} {self._print(v if n == 1 else sp.Pow(v, n, evaluate=False))}" for v, n in expr.variable_count
        )
        if _is_named(of) and not _of_itself(expr, self.partial):
            return rf"\frac{{{top} {self._print(of)}}}{{{wrt}}}"
        return rf"\frac{{{top}}}{{{wrt}}}\left[{self._print(of)}\right]"

    def _print_Heaviside(self, expr, exp=None):
        if exp is not None:
            return rf"{self._print_Heaviside(expr)}^{{{exp}}}"
        arg = expr.args[0]
        at0 = expr.args[1] if len(expr.args) > 1 else sp.S.Half
        if at0 not in (0, 1):  # SymPy's own step (½ at 0) is not an Iverson bracket
            return rf"H\left({self._print(arg)}\right)"
        rels = {">": ">", "≥": r"\ge", "<": "<", "≤": r"\le"}
        chain = iverson(arg, at0)
        return rf"\left[{' '.join(rels[p] if isinstance(p, str) else self._print(p) for p in chain)}\right]"

    def _print_KroneckerDelta(self, expr, exp=None):
        return r"\delta_{" + " ".join(self._print(a) for a in expr.args) + "}"

    def _print_binomial(self, expr, exp=None):
        return rf"\binom{{{self._print(expr.args[0])}}}{{{self._print(expr.args[1])}}}"

    def _print_Indexed(self, expr):
        # w_{ij} as the notes write it; w_{i,10} when an index is longer than one character
        idx = [self._print_index(i) for i in expr.indices]
        name = example_label(expr)
        if name is not None:
            base = self._print(sp.Symbol(name))
            layered = re.fullmatch(r"(.*)\^\{([^{}]*)\}", base)
            if layered:         # example i of layer 2, as the course writes it: a^{[2](i)}
                return rf"{layered.group(1)}^{{{layered.group(2)}({idx[0]})}}"
            return rf"{base}^{{({idx[0]})}}"
        sep = "" if all(len(i) == 1 for i in idx) else ","
        base = self._print(expr.base.label)
        if re.fullmatch(r"[A-Za-z]+\^\{\[[^{}]*\]\}", base):
            # a layer superscript and the unit subscript on one letter: z^{[1]}_{j}, as the notes
            return f"{base}_{{{sep.join(idx)}}}"
        return f"{{{base}}}_{{{sep.join(idx)}}}"

    def _print_Transpose(self, expr):
        # a layer's matrix transposed as the course writes it: A^{[1]T}, not (A^{[1]})^{T}
        if isinstance(expr.arg, sp.OneMatrix):         # 𝟏ᵀ, not (𝟏)ᵀ
            return r"\mathbf{1}^{T}"
        if isinstance(expr.arg, sp.MatrixSymbol):
            layered = re.fullmatch(r"(.*)\^\{(\[[^{}]*\])\}", self._print(expr.arg))
            if layered:
                return f"{layered.group(1)}^{{{layered.group(2)}T}}"
        return super()._print_Transpose(expr)

    def _print_Pow(self, expr):
        e = expr.exp
        if (index := _index_exponent(e)) is not None:
            return f"{self.parenthesize(expr.base, sp.printing.precedence.PRECEDENCE['Pow'])}^{{{self._print(index)}}}"
        if _superscripted(expr.base) and not (e.is_Rational and (e.is_negative or e.q != 1)):
            # (a^{[1]}_{j})^{2}, (\hat{y}^{(i)})^{y^{(i)}}: not a double superscript
            return rf"\left({self._print(expr.base)}\right)^{{{self._print(e)}}}"
        return super()._print_Pow(expr)

    def _print_UnevaluatedExpr(self, expr):
        if (power := _power_as_written(expr)) is not None:
            return f"{self.parenthesize(power.base, sp.printing.precedence.PRECEDENCE['Pow'])}^{{{self._print(power.exp)}}}"
        return self._print(expr.args[0])

    def _print_Mul(self, expr):
        if (written := _coefficient_and_power(expr)) is not None:
            c, power = written
            return rf"{self._print(c)} {self._print(power)}"
        mean = _mean_of_sum(expr)
        if mean is None and _ends_in_one(expr):
            # the engine's (x² + 1)·1: the 1 that d/dx[x] became, not run into the bracket
            rest = expr.args[:-1]
            shown = (self.parenthesize(rest[0], sp.printing.precedence.PRECEDENCE["Mul"]) if len(rest) == 1
                     else self._print(sp.Mul(*rest, evaluate=False)))
            return rf"{shown} \cdot 1"
        if mean is None:
            return self._spaced_differentials(expr, super()._print_Mul(expr))
        c, m, rest = mean
        sign = "-" if c < 0 else ""
        # the Σ last needs no brackets: nothing follows it into its body
        body = " ".join(self._print(f) if f is rest[-1] and isinstance(f, sp.Sum)
                        else self.parenthesize(f, sp.printing.precedence.PRECEDENCE["Mul"]) for f in rest)
        return rf"{sign}\frac{{{abs(c)}}}{{{self._print(m)}}} {body}"

    def _spaced_differentials(self, expr, out: str) -> str:
        """``out`` with a thin space before each gradient name it multiplies: x_{1}\\, dz, which
        would read as a differential x_1dz run together."""
        for f in expr.args[1:]:
            tex = self._print(f) if isinstance(f, sp.Symbol) and re.fullmatch(r"d[A-Za-z]\w*", f.name) else ""
            if tex and not tex.startswith("\\"):
                out = out.replace(" " + tex, r"\, " + tex)
        return out

    def _print_HadamardProduct(self, expr):
        prec = sp.printing.precedence.PRECEDENCE["Mul"]
        return r" \odot ".join(self.parenthesize(a, prec, strict=False) for a in expr.args)

    def _print_OneMatrix(self, expr):
        return r"\mathbf{1}"

    def _print_HadamardPower(self, expr):
        # a base with its own superscript (A^{[l]}, a^{⟨t⟩}) in brackets: no double superscript
        # ⊙ for the elementwise power too, as for the elementwise product (SymPy writes ∘)
        out = super()._print_HadamardPower(expr).replace(r"^{\circ ", r"^{\odot ")
        base = self.parenthesize(expr.base, sp.printing.precedence.PRECEDENCE["Mul"])
        if "^" in base and out.startswith(base):
            out = rf"\left({base}\right)" + out[len(base):]
        return out


def latex(expr, partial=True, order: Order | None = None) -> str:
    """LaTeX of ``expr`` in the notes' notation, its sums in ``order`` (see ``arrange``)."""
    return _printed("latex", expr, partial, order, _latex)


def _latex(expr, partial, order) -> str:
    return NotesLatexPrinter(partial=partial, order=order).doprint(expr)
