"""Check a student's own derivation, row by row, and name the likely mistake at a wrong row.

Each row is a chain ``e0 = e1 = …``; every expression is checked against the one before it (a
row that starts with ``=`` continues the previous row's last expression), exactly or at seeded
random points (``derive.verify``). A row ``name = expression`` whose name is new defines an
intermediate. Derivatives are written as students write them (∂L/∂w₁, d/dx(…), diff(…, x),
f′(x), and the notes' ``dz`` for ∂L/∂z once L is defined); a derivative is checked against the
true derivative of what it names, through the definitions.

What a student claims a derivative to be is remembered, so a row built on a wrong claim is judged
against that claim: one mistake is one ✗. At a ✗ the report gives a point where the two sides
differ, the row the engine would have written, and a hint: the candidate mistakes (the chain
rule's inner derivative left out, a product-rule term missing, …) are each applied once to the
previous row, and the first whose result equals the student's row names the mistake.

Expressions go through the safe parser (``derive.parse``): no user text runs as code.
"""

from __future__ import annotations

import os
import random
import re
import stat
from dataclasses import dataclass, field

import sympy as sp
from sympy import Derivative

from . import functions as F
from . import summary
from .engine import tidy
from .errors import DeriveError, said
from .io import why_zh
from .messages import full_width
from .parse import FUNCTION_NAMES, parse_expression, parse_latex_expression, split_top_level
from .printing import text as show
from .student import Row, read_rows, read_shapes, read_text
from .verify import VerificationError, _sample, _value, equal, expand_defs, realize

__all__ = ["check_steps", "check_file", "StepReport", "StepRow", "HINT_KINDS", "hint_text",
           "render_text", "report_data", "summary_row", "render_summary", "SUMMARY_FORMATS"]

# The mistakes a hint can name, most specific first: when several explain a row, the first wins.
HINT_KINDS = ("chain", "product", "quotient", "power", "logexp", "sigmoid", "sign", "factor",
              "dropped", "transpose")

# Names of the loss whose gradients the notes write as da, dz, dw1 (in this order of preference).
_ROOTS = ("L", "J")
_PLACEHOLDER = "QzQ"
_SIZES = frozenset({"m", "n", "N", "M"})
# names that call something rather than define it: f(x) = … defines f, diff(f, x) = … does not
_CALLS = frozenset(FUNCTION_NAMES) | {"diff", "sigma", "log", "ln", "exp"}
_LATEX_NAME = r"(?:\\hat\{[A-Za-z]\}|\\[A-Za-z]+|[A-Za-z])(?:_\{[A-Za-z0-9]+\}|_[A-Za-z0-9])?"
_PLAIN_NAME = r"[A-Za-z][A-Za-z0-9_]*"
_D = r"(?:d|\\partial|\\(?:mathrm|text|operatorname|mathit)\{d\})\s*"
# the log-likelihood's ℓ, which the parser does not know as a command
_ELL = re.compile(r"\\ell(?![A-Za-z])")
_ORDER = r"(?:\^\{?(\d)\}?)?"


@dataclass
class StepRow:
    """The verdict on one row.

    ``kind`` is "definition", "start" (a chain's first expression) or "step"; ``ok`` is False at a
    ✗, where the other fields say why.
    """

    line: int
    text: str
    kind: str
    ok: bool = True
    previous_line: int | None = None
    previous: str | None = None
    point: dict | None = None
    values: tuple | None = None
    expected: sp.Expr | None = None
    hint: str | None = None
    detail: sp.Expr | None = None
    syntax: str = "plain"
    # what the row's pieces (split at "=") were read as, for typesetting; None for an empty piece
    exprs: tuple = ()
    previous_expr: sp.Expr | None = None


@dataclass
class StepReport:
    """The verdicts on every row of one file."""

    name: str
    rows: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.rows)

    @property
    def first_wrong(self) -> StepRow | None:
        return next((r for r in self.rows if not r.ok), None)


# ----------------------------------------------------------------------------------------
# Reading expressions: derivative notation becomes placeholders, the rest goes to the parser
# ----------------------------------------------------------------------------------------


def _matching(text: str, start: int, opener: str, closer: str) -> int:
    """Index just past the ``closer`` matching the ``opener`` at ``start`` (-1 when none)."""
    depth = 0
    for i in range(start, len(text)):
        if text.startswith(opener, i):
            depth += 1
        elif text.startswith(closer, i):
            depth -= 1
            if depth == 0:
                return i + len(closer)
    return -1


def _brace(text: str, at: int):
    """The ``{…}`` group at ``at`` (after blanks): (content, end), or (None, at)."""
    while at < len(text) and text[at] == " ":
        at += 1
    if at >= len(text) or text[at] != "{":
        return None, at
    end = _matching(text, at, "{", "}")
    return (text[at + 1:end - 1], end) if end > 0 else (None, at)


def _split_equals(text: str) -> list[str]:
    """The expressions of ``a = b = c``, split at ``=`` outside brackets."""
    return split_top_level(text, "=")


class _State:
    """What the rows so far have set up: definitions, functions, claimed derivatives."""

    def __init__(self):
        self.defs: dict = {}            # Symbol -> expression
        self.functions: dict = {}       # name -> (parameter Symbol, body)
        self.claims: dict = {}          # Derivative -> the student's last expression for it
        self.values: dict = {}          # placeholder Symbol -> expression, per row

    @property
    def root(self):
        return next((sp.Symbol(n) for n in _ROOTS if sp.Symbol(n) in self.defs), None)

    def known(self) -> set:
        names = set(self.defs)
        for value in self.defs.values():
            names |= value.free_symbols
        return names

    def placeholder(self, value, syntax: str) -> str:
        symbol = sp.Symbol(f"{_PLACEHOLDER}{len(self.values)}")
        self.values[symbol] = value
        return f"{{\\mathrm{{{symbol.name}}}}}" if syntax == "latex" else f"({symbol.name})"

    # -- names -----------------------------------------------------------------------------

    def symbol(self, written: str, syntax: str) -> sp.Symbol:
        written = _ELL.sub(r"\\mathrm{ell}", written)
        value = (parse_latex_expression if syntax == "latex" else parse_expression)(written)
        if not isinstance(value, sp.Symbol):
            raise said(f"expected a variable name, got {written!r}", f"应为变量名，实为 {written!r}")
        return value

    def derivative_of(self, of: sp.Symbol, var: sp.Symbol, order: int = 1):
        if of not in self.defs and of != var:
            raise undefined_derivative(of)
        return Derivative(of, (var, order))

    def by_square(self, expr, base: sp.Symbol, power: int):
        """d expr / d(base^power), with base^power taken as one positive variable."""
        v = sp.Dummy("v", positive=True)
        whole = realize(expr, self.defs).xreplace({base: v ** sp.Rational(1, power)})
        return sp.diff(whole, v).xreplace({v: base ** power})

    def gradient_name(self, base: str, sub: str):
        """The symbol ``dw_1``, ``dw1`` or ``dz`` names the derivative by, or None."""
        root, known = self.root, self.known()
        if root is None:
            return None
        candidates = [f"{base}_{sub}", f"{base}{sub}"] if sub else [base]
        for name in candidates:
            if sp.Symbol(name) in known and sp.Symbol(name) != root:
                return sp.Symbol(name)
        return None

    # -- rewriting -------------------------------------------------------------------------

    def operand(self, text: str, at: int):
        """What d/dx applies to: a bracketed group, or the term up to the next + or −."""
        while at < len(text) and text[at] == " ":
            at += 1
        pairs = (("\\left(", "\\right)"), ("\\left[", "\\right]"), ("\\left\\{", "\\right\\}"),
                 ("(", ")"), ("[", "]"), ("{", "}"))
        for opener, closer in pairs:
            if text.startswith(opener, at):
                if opener.startswith("\\left"):
                    end = _matching(text, at, "\\left", "\\right") + len(closer) - len("\\right")
                else:
                    end = _matching(text, at, opener, closer)
                if end <= 0:
                    raise said(f"unbalanced {opener!r} after a derivative", f"导数后面的 {opener!r} 没有配对")
                return text[at + len(opener):end - len(closer)], end
        depth, end = 0, at
        while end < len(text):
            ch = text[end]
            depth += ch in "([{"
            depth -= ch in ")]}"
            if depth == 0 and ch in "+-" and end > at:
                break
            end += 1
        if not text[at:end].strip():
            raise said("a derivative with nothing to differentiate", "导数后面没有要求导的式子")
        return text[at:end], end

    def applied(self, name: str, primes: int, argument):
        """``f(u)`` or ``f′(u)`` for a defined f (or σ′)."""
        if name in ("sigma", "sigmoid"):
            t, body = sp.Symbol("t"), F.sigmoid(sp.Symbol("t"))
        elif name not in self.functions:
            # f′(x) after f = x²: the derivative of the defined name
            if not isinstance(argument, sp.Symbol):
                raise said(f"write {name}' of a variable, e.g. {name}'(x), after {name} = …",
                           f"{name} = ⋯ 之后，{name}' 要作用于一个变量，例如 {name}'(x)")
            return Derivative(sp.Symbol(name), (argument, primes))
        else:
            t, body = self.functions[name]
        if not primes:
            return body.xreplace({t: argument})
        if isinstance(argument, sp.Symbol):
            return Derivative(body.xreplace({t: argument}), argument)
        return sp.diff(body, t, primes).xreplace({t: argument})

    def callable(self, name: str, primes: int) -> bool:
        """Whether ``name(…)`` (with ``primes`` primes) applies something the rows defined."""
        return name in self.functions or bool(primes) and (
            name in ("sigma", "sigmoid") or sp.Symbol(name) in self.defs)

    def rewrite(self, text: str, syntax: str) -> str:
        out, i = [], 0
        latex = syntax == "latex"
        name = _LATEX_NAME if latex else _PLAIN_NAME
        while i < len(text):
            step = self.rewrite_latex(text, i) if latex else self.rewrite_plain(text, i)
            if step is not None:
                piece, i = step
                out.append(piece)
                continue
            # in LaTeX a digit may come before: x_1dz is x₁·dz
            gradient = re.compile((r"(?<![\\A-Za-z])" if latex else r"(?<![A-Za-z0-9_])") + r"d(" + (
                r"\\hat\{[A-Za-z]\}|\\[A-Za-z]+|[A-Za-z])(?:_\{?([A-Za-z0-9]+)\}?|([0-9]+))?"
                if latex else r"[A-Za-z]+?)_?([0-9]+)?(?![A-Za-z0-9_])")).match(text, i)
            if gradient:
                base = self.symbol(gradient.group(1), syntax).name
                sub = next((g for g in gradient.groups()[1:] if g), "")
                var = self.gradient_name(base, sub)
                if var is not None and sp.Symbol("d" + base + sub) not in self.defs:
                    out.append(self.placeholder(Derivative(self.root, var), syntax))
                    i = gradient.end()
                    continue
            word = re.compile(r"\\[A-Za-z]+" if latex else name).match(text, i)
            if word:
                out.append(_ELL.sub(r"{\\mathrm{ell}}", word.group()))
                i = word.end()
            else:
                out.append(text[i])
                i += 1
        return "".join(out)

    def rewrite_latex(self, text: str, i: int):
        frac = re.compile(r"\\[dt]?frac\s*").match(text, i)
        if frac:
            top, j = _brace(text, frac.end())
            bottom, k = _brace(text, j) if top is not None else (None, j)
            if top is not None and bottom is not None:
                var = re.fullmatch(rf"\s*{_D}({_LATEX_NAME})\s*{_ORDER}\s*", bottom)
                operator = re.fullmatch(rf"\s*{_D}{_ORDER}\s*", top)
                of = re.fullmatch(rf"\s*{_D}{_ORDER}\s*({_LATEX_NAME})\s*", top)
                if var and (operator or of):
                    top_order = (operator or of).group(1)
                    variable = self.symbol(var.group(1), "latex")
                    if operator:
                        what, end = self.operand(text, k)
                        what = self.parse(what, "latex")
                    else:
                        what, end = self.symbol(of.group(2), "latex"), k
                        self.derivative_of(what, variable)
                    if var.group(2) and not top_order:
                        # ∂ℓ/∂σ²: the derivative with respect to the square as one variable
                        value = self.by_square(what, variable, int(var.group(2)))
                    else:
                        value = Derivative(what, (variable, int(var.group(2) or 1)))
                    return self.placeholder(value, "latex"), end
        slash = re.compile(rf"(?<![\\A-Za-z])d\s*/\s*d({_LATEX_NAME})\s*(?=\\left|[(\[])").match(text, i)
        if slash:
            operand, end = self.operand(text, slash.end())
            value = Derivative(self.parse(operand, "latex"), self.symbol(slash.group(1), "latex"))
            return self.placeholder(value, "latex"), end
        inline = re.compile(rf"\\partial\s*({_LATEX_NAME})\s*/\s*\\partial\s*({_LATEX_NAME})"
                            ).match(text, i)
        if inline:
            value = self.derivative_of(self.symbol(inline.group(1), "latex"),
                                       self.symbol(inline.group(2), "latex"))
            return self.placeholder(value, "latex"), inline.end()
        call = re.compile(r"(?<![\\A-Za-z])(\\sigma|[A-Za-z])\s*('*|\^\{?\\prime\}?)\s*(\\left)?\("
                          ).match(text, i)
        if call:
            name = call.group(1).lstrip("\\")
            primes = call.group(2).count("'") + call.group(2).count("prime")
            if self.callable(name, primes):
                start = call.end() - 1 - (len("\\left") if call.group(3) else 0)
                inner, end = self.operand(text, start)
                argument = self.parse(inner, "latex")
                return self.placeholder(self.applied(name, primes, argument), "latex"), end
        return None

    def rewrite_plain(self, text: str, i: int):
        operator = re.compile(rf"(?<![A-Za-z0-9_])d\s*/\s*d({_PLAIN_NAME})\s*(?=\()").match(text, i)
        if operator:
            operand, end = self.operand(text, operator.end())
            value = Derivative(self.parse(operand, "plain"), self.symbol(operator.group(1), "plain"))
            return self.placeholder(value, "plain"), end
        ratio = re.compile(rf"(?<![A-Za-z0-9_])d({_PLAIN_NAME})\s*/\s*d({_PLAIN_NAME})").match(text, i)
        if ratio and sp.Symbol(ratio.group(1)) in self.defs:
            value = self.derivative_of(sp.Symbol(ratio.group(1)), self.symbol(ratio.group(2), "plain"))
            return self.placeholder(value, "plain"), ratio.end()
        call = re.compile(rf"(?<![A-Za-z0-9_])({_PLAIN_NAME})\s*('*)\s*\(").match(text, i)
        if call and (call.group(1) == "diff" or self.callable(call.group(1), len(call.group(2)))):
            inner, end = self.operand(text, call.end() - 1)
            if call.group(1) == "diff":
                args = split_top_level(inner)
                if len(args) < 2:
                    raise said("diff needs an expression and a variable: diff(f, x)",
                               "`diff` 需要一个表达式和一个变量：`diff(f, x)`")
                value = Derivative(self.parse(args[0], "plain"),
                                   *[self.symbol(a.strip(), "plain") for a in args[1:]])
            else:
                value = self.applied(call.group(1), len(call.group(2)), self.parse(inner, "plain"))
            return self.placeholder(value, "plain"), end
        return None

    def parse(self, text: str, syntax: str) -> sp.Expr:
        if _PLACEHOLDER in text:
            raise said(f"the name {_PLACEHOLDER}… is reserved", f"以 {_PLACEHOLDER} 开头的名字是保留的")
        rewritten = self.rewrite(text, syntax)
        expr = (parse_latex_expression if syntax == "latex" else parse_expression)(rewritten)
        for _ in range(len(self.values) + 1):
            new = expr.xreplace(self.values)
            if new == expr:
                break
            expr = new
        return expr


# ----------------------------------------------------------------------------------------
# The mistakes: the derivative worked out once correctly and once per possible slip
# ----------------------------------------------------------------------------------------

_MAX_VARIANTS = 300


def _outer(function, u):
    t = sp.Dummy("t")
    return sp.diff(function.func(t, *function.args[1:]), t).xreplace({t: u})


def _chain_kind(inner_derivative) -> str:
    # leaving out an inner derivative of −1 (log(1 − a)) is the sign students lose
    return "sign" if inner_derivative == -1 else "chain"


def _slips(e, x):
    """d e/dx and every derivative with one slip: (correct, [(kind, wrong, detail), …])."""
    if not e.has(x):
        return sp.S.Zero, []
    if e == x:
        return sp.S.One, []
    if e.is_Add:
        parts = [_slips(t, x) for t in e.args]
        correct = sp.Add(*[d for d, _ in parts])
        wrong = [(k, correct - d + w, why) for d, vs in parts for k, w, why in vs]
        live = [d for d, _ in parts if d != 0]
        if len(live) > 1:
            wrong += [("dropped", correct - d, None) for d in live]
            wrong += [("sign", correct - 2 * d, None) for d in live]
        return correct, wrong
    if e.is_Mul:
        factors = e.args
        parts = [_slips(f, x) for f in factors]
        terms = [d * sp.Mul(*factors[:i], *factors[i + 1:]) for i, (d, _) in enumerate(parts)]
        correct = sp.Add(*terms)
        wrong = []
        for i, (d, vs) in enumerate(parts):
            rest = sp.Mul(*factors[:i], *factors[i + 1:])
            wrong += [(k, correct - terms[i] + w * rest, why) for k, w, why in vs]
        live = [i for i, (d, _) in enumerate(parts) if d != 0]
        if len(live) > 1:
            wrong += [("product", correct - terms[i], None) for i in live]
            wrong.append(("product", sp.Mul(*[parts[i][0] for i in live],
                                            *[f for j, f in enumerate(factors) if j not in live]),
                          None))
            if any(factors[i].is_Pow and factors[i].exp.is_negative for i in live):
                wrong.append(("quotient", -correct, None))
        return correct, wrong
    if e.is_Pow and not e.exp.has(x):
        base, n = e.args
        d, vs = _slips(base, x)
        correct = n * base ** (n - 1) * d
        wrong = [(k, n * base ** (n - 1) * w, why) for k, w, why in vs]
        # the exponent kept, or moved the wrong way (x⁻² → −2x⁻¹)
        wrong += [("power", n * base ** m * d, None) for m in (n, n + 1)]
        if base != x:
            wrong.append((_chain_kind(d), n * base ** (n - 1), d))
        return correct, wrong
    if isinstance(e, sp.Function) and len(e.args) == 1:
        u = e.args[0]
        d, vs = _slips(u, x)
        outer = _outer(e, u)
        correct = outer * d
        wrong = [(k, outer * w, why) for k, w, why in vs]
        if u != x:
            wrong.append((_chain_kind(d), outer, d))
        if isinstance(e, sp.exp):
            wrong += [("logexp", d / u, None), ("logexp", 1 / u, None)]
        elif isinstance(e, sp.log):
            wrong += [("logexp", sp.exp(u) * d, None), ("logexp", sp.exp(u), None),
                      ("logexp", e * d, None)]
        elif isinstance(e, F.sigmoid):
            wrong += [("sigmoid", f * d, None) for f in (e, 1 - e, e * (1 + e), e * (e - 1),
                                                         e * (1 - u), e ** 2)]
        return correct, wrong
    return sp.diff(e, x), []


def _derivative_slips(e, x):
    """``_slips`` plus one slip made everywhere at once: an inner function's derivative left
    out wherever it occurs (dz written as da: ∂a/∂z forgotten in every term)."""
    correct, wrong = _slips(e, x)
    t = sp.Dummy("t")
    inners = {a for f in sp.preorder_traversal(e) if isinstance(f, (sp.Function, sp.Pow))
              for a in f.args[:1] if a.has(x) and a != x}
    for u in sorted(inners, key=sp.default_sort_key):
        replaced = e.xreplace({u: t})
        if not replaced.has(x):
            d = sp.diff(u, x)
            wrong.append((_chain_kind(d), sp.diff(replaced, t).xreplace({t: u}), d))
    return correct, wrong[:_MAX_VARIANTS]


def _algebra_slips(e, realized):
    """Slips of algebra on ``e``: the whole sign, or one term of a sum dropped or negated (a sum
    as written, or of the expanded form: (a + b)² written a² + b² drops 2ab)."""
    wrong = [("sign", -e, None)]
    sums = [a for a in sp.preorder_traversal(e) if a.is_Add][:8]
    if sp.count_ops(realized) <= 40:
        expanded = sp.expand(realized)
        if expanded.is_Add and len(expanded.args) <= 12:
            wrong += [(k, expanded - c * t, None) for t in expanded.args
                      for k, c in (("dropped", 1), ("sign", 2))]
    for s in sums:
        for t in s.args:
            wrong.append(("dropped", e.xreplace({s: s - t}), None))
            wrong.append(("sign", e.xreplace({s: s - 2 * t}), None))
            c = t.as_coeff_Mul()[0]
            # a factor lost on one term: 2(a − y) written 2a − y, or a term doubled or halved
            for scale in {1 / c, sp.S(2), sp.S.Half} - {sp.S.One, sp.S.NegativeOne}:
                wrong.append(("factor", e.xreplace({s: s - t + scale * t}), None))
    return wrong


# ----------------------------------------------------------------------------------------
# Comparing a row with what the previous row allows
# ----------------------------------------------------------------------------------------


def _points(symbols, count: int = 5, seed: int = 7):
    """Seeded points with two-decimal values (printable exactly), as ``verify`` samples."""
    rng = random.Random(seed)
    for k in range(6 * count):
        point = _sample(symbols, rng, signed=bool(k % 2))
        yield {s: sp.Rational(round(float(v) * 100), 100) or sp.Rational(1, 7)
               for s, v in point.items()}


class _Matcher:
    """The student's row evaluated at a few points, to test many candidates against cheaply."""

    def __init__(self, row, base, symbols):
        self.points, self.row, self.base = [], [], []
        for point in _points(symbols):
            r, b = _value(row, point), _value(base, point)
            if r is None or b is None or abs(r.imag) > 1e-12 or abs(b.imag) > 1e-12:
                continue
            self.points.append(point)
            self.row.append(r.real)
            self.base.append(b.real)
            if len(self.points) == 4:
                break

    def same(self, candidate) -> bool:
        if len(self.points) < 2:
            return False
        for point, r in zip(self.points, self.row):
            v = _value(candidate, point)
            if v is None or abs(v - r) > 1e-8 * (1 + abs(v) + abs(r)):
                return False
        return True

    def ratio(self):
        """The factor c with row = c·base at every point (c may hold one symbol), or None."""
        if len(self.points) < 3 or any(abs(b) < 1e-12 for b in self.base):
            return None
        ratios = [r / b for r, b in zip(self.row, self.base)]
        # a factor 1/m (or 1/n) of a mean: sizes, never the variables themselves
        symbols = sorted((s for s in self.points[0] if s.name in _SIZES), key=lambda s: s.name)
        for scale in [sp.S.One] + symbols + [1 / s for s in symbols]:
            scaled = [q / float(scale.xreplace(p)) for q, p in zip(ratios, self.points)]
            if all(abs(q - scaled[0]) < 1e-8 * (1 + abs(q)) for q in scaled):
                c = sp.nsimplify(scaled[0], rational=True, tolerance=1e-9)
                if abs(c) < 1000 and (sp.fraction(c)[1] <= 100):
                    return c * scale
        return None


def _hint(previous, row, state: _State):
    """(kind, detail) of the likely mistake that turned ``previous`` into ``row``."""
    defs = state.defs
    base = realize(previous, defs)
    student = realize(row, defs)
    symbols = sorted(base.free_symbols | student.free_symbols, key=lambda s: s.name)
    matcher = _Matcher(student, base, symbols)
    found = []
    for d in sorted(previous.atoms(Derivative), key=sp.default_sort_key):
        variables = tuple(v for v, _ in d.variable_count)
        of = expand_defs(d.expr, defs, keep=variables)
        _, wrong = _derivative_slips(of, variables[0])
        found += [(k, previous.xreplace({d: w}), why) for k, w, why in wrong]
    found += _algebra_slips(previous, base)
    for kind in HINT_KINDS:
        for k, candidate, why in found:
            if k == kind and matcher.same(realize(candidate, defs)):
                return kind, why
        if kind == "factor":
            c = matcher.ratio()
            if c is not None and c not in (1, -1):
                return "factor", c
    return None, None


def _differ(previous, row, defs):
    """A point where the two sides differ, with both values.

    The point is given in the student's own names (a, y rather than w₁, x₁, b) when the two
    sides, derivatives worked out, use no name together with what it is defined from: any
    value of a = σ(z) in (0, 1) can then be chosen freely."""
    sides = [_work_out(e, defs, tidy_up=False) for e in (previous, row)]
    names = set().union(*(e.free_symbols for e in sides))
    sources = set().union(*(realize(n, defs).free_symbols for n in names if n in defs))
    if names & sources:
        sides = [realize(e, defs) for e in (previous, row)]
    sides = [F.to_elementary(e) for e in sides]
    symbols = sorted(sides[0].free_symbols | sides[1].free_symbols, key=lambda s: s.name)
    for point in _points(symbols):
        a, b = (_value(e, point) for e in sides)
        if a is None or b is None or abs(a.imag) > 1e-12 or abs(b.imag) > 1e-12:
            continue
        if abs(a - b) > 1e-9 * (1 + abs(a) + abs(b)):
            return point, (a.real, b.real)
    return None, None


def _work_out(expr, defs, tidy_up: bool = True):
    """``expr`` with its derivatives worked out, written back with the student's names."""
    def one(d):
        variables = tuple(v for v, _ in d.variable_count)
        return sp.diff(expand_defs(d.expr, defs, keep=variables), *d.variable_count)

    done = _in_names(expr.replace(lambda e: isinstance(e, Derivative), one), defs)
    return tidy(done) if tidy_up else done


def _in_names(expr, defs):
    """``expr`` written with the student's intermediates (σ(z) → a), inside it only: a row
    ``(a + b)²`` after ``f = (a + b)²`` stays as it is."""
    back = {v: k for k, v in defs.items() if not v.is_Symbol and not v.is_number}
    for _ in range(len(back) + 1):
        new = expr.func(*[a.xreplace(back) for a in expr.args]) if expr.args else expr
        if new == expr:
            break
        expr = new
    return expr


def _holds(a, b, state: _State) -> bool:
    for side_a, side_b in ((a, b), (_claimed(a, state), _claimed(b, state))):
        if equal(realize(side_a, state.defs), realize(side_b, state.defs)) is not None:
            return True
    return False


def _claimed(expr, state: _State):
    for _ in range(3):
        expr = expr.xreplace(state.claims)
    return expr


# ----------------------------------------------------------------------------------------
# The check
# ----------------------------------------------------------------------------------------


def _definition(first: str, syntax: str, state: _State):
    """("name", Symbol) or ("function", name, parameter) when ``first`` defines something new."""
    name = _LATEX_NAME if syntax == "latex" else _PLAIN_NAME
    plain = re.fullmatch(rf"\s*({name})\s*", first)
    if plain:
        symbol = state.symbol(plain.group(1), syntax)
        gradient = re.fullmatch(r"d([A-Za-z]+?)_?([0-9]*)", symbol.name)
        if gradient and state.gradient_name(*gradient.groups()) is not None:
            return None
        return ("name", symbol) if symbol not in state.defs else None
    call = re.fullmatch(rf"\s*({name})\s*(?:\\left)?\(\s*([^()]*?)\s*(?:\\right)?\)\s*", first)
    if call and call.group(1).lstrip("\\") not in _CALLS:
        symbol = state.symbol(call.group(1), syntax)
        if symbol in state.defs or symbol.name in state.functions:
            return None
        params = [state.symbol(p.strip(), syntax) for p in call.group(2).split(",")]
        return ("function", symbol, params)
    return None


def _check_row(row: Row, state: _State, chain: dict, report: StepReport) -> None:
    pieces = _split_equals(row.text)
    state.values = {}
    kind = "step"
    if not pieces[0].strip():
        if chain.get("last") is None:
            raise row_before()
        pieces = pieces[1:]
        shown = [None]
    else:
        made = _definition(pieces[0], row.syntax, state) if len(pieces) > 1 else None
        if made:
            body = state.parse(pieces[1], row.syntax)
            state.defs[made[1]] = body
            if made[0] == "function" and len(made[2]) == 1:
                state.functions[made[1].name] = (made[2][0], body)
            kind, written, pieces = "definition", pieces[1], pieces[2:]
            chain.update(head=None)
            shown = [made[1] if made[0] == "name" else sp.Function(made[1].name)(*made[2]), body]
        else:
            body = state.parse(pieces[0], row.syntax)
            written, pieces = pieces[0], pieces[1:]
            chain.update(head=body if isinstance(body, Derivative) else None)
            shown = [body]
            kind = "step" if pieces else "start"
        chain.update(last=body, last_text=written.strip(), last_line=row.line)
    result = StepRow(row.line, row.text, kind, syntax=row.syntax)
    for piece in pieces:
        if not piece.strip():
            raise said("an empty expression between two '='", "两个 '=' 之间的表达式是空的")
        current = state.parse(piece, row.syntax)
        shown.append(current)
        if result.ok and not _holds(chain["last"], current, state):
            result.previous_line, result.previous = chain["last_line"], chain["last_text"]
            result.previous_expr = chain["last"]
            _explain(result, chain["last"], current, state, chain.get("head"))
        chain.update(last=current, last_text=piece.strip(), last_line=row.line)
        if chain.get("head") is not None:
            state.claims[chain["head"]] = current
    result.exprs = tuple(shown)
    report.rows.append(result)


def _explain(result: StepRow, previous, current, state: _State, head) -> None:
    result.ok = False
    if head is not previous:
        previous = _claimed(previous, state)
    current = _claimed(current, state)
    result.hint, result.detail = _hint(previous, current, state)
    if result.detail is not None:
        result.detail = _in_names(result.detail, state.defs)
    result.point, result.values = _differ(previous, current, state.defs)
    # after a derivative the engine works it out; after algebra it multiplies out
    result.expected = _work_out(previous, state.defs) if previous.has(Derivative) \
        else sp.expand(previous) if sp.count_ops(previous) <= 40 else previous


def check_steps(text: str, kind: str, name: str = "<text>") -> StepReport:
    """Check every row of a derivation written in ``kind`` ("markdown", "latex", "plain").

    Returns
    -------
    StepReport
        One ``StepRow`` per row, in order.

    Raises
    ------
    DeriveError
        ``name:line:column: …`` when a row cannot be read.

    Examples
    --------
    >>> r = check_steps("L = (a - y)**2 + a\\ndL/da = 2*(a - y) + 1\\n= 2*(a - y)", "plain")
    >>> [(row.line, row.ok) for row in r.rows]
    [(1, True), (2, True), (3, False)]
    >>> r.first_wrong.hint
    'dropped'
    """
    state = _State()
    chain: dict = {}
    report = StepReport(name)
    shapes = read_shapes(text)
    if shapes:
        from .check_steps_matrix import MatrixChecker

        matrices = MatrixChecker(shapes, StepRow)
    for row in read_rows(text, kind, name):
        try:
            if shapes:
                matrices.check_row(row, report)
            else:
                _check_row(row, state, chain, report)
        except (DeriveError, VerificationError) as err:
            message = re.sub(r" \((?:line \d+, )?column \d+\)$", "", str(err))
            column = re.search(r"column (\d+)\)?$", str(err))
            at = row.column + int(column.group(1)) - 1 if column and not state.values \
                else row.column
            # the Chinese drops the same place, as parse._place_zh writes it
            zh = getattr(err, "zh", None)
            raise DeriveError(f"{name}:{row.line}:{at}: {message}", zh=zh and re.sub(
                r"（(?:第 \d+ 行)?第 \d+ 列）$", "", f"{name}:{row.line}:{at}：{zh}")) from None
    return report


def undefined_derivative(of) -> DeriveError:
    """The error for a derivative of a name no row defines."""
    return said(f"a derivative of {of}, which is not defined (write {of} = … on a row before)",
                f"{of} 的导数，但 {of} 没有定义（请在前面的行写 {of} = ⋯）")


def row_before() -> DeriveError:
    """The error for a first row that continues (starts with '=')."""
    return said("a row that starts with '=' needs a row before it", "以 '=' 开头的行前面需要有一行")


# A student's derivation is a page or two; past this it is not one (and /dev/zero never ends).
MAX_FILE_BYTES = 1024 * 1024


def read_bounded(handle, name: str) -> bytes:
    """At most ``MAX_FILE_BYTES`` from ``handle``; a DeriveError past them."""
    data = handle.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise said(f"{name}:1:1: more than {MAX_FILE_BYTES:,} bytes; a derivation to check is text "
                   f"of at most that size",
                   f"{name}:1:1：超过 {MAX_FILE_BYTES:,} 字节；要检查的推导是不超过这个大小的文本")
    return data


def check_file(path: str, data: bytes | None = None, kind: str | None = None) -> StepReport:
    """Read ``path`` (or the given bytes, for standard input) and check it."""
    if data is None:
        try:
            if not stat.S_ISREG(os.stat(path).st_mode):
                raise said(f"{path}:1:1: not a regular file (a folder, device or FIFO); "
                           f"a derivation to check is a text file",
                           f"{path}:1:1：不是普通文件（是文件夹、设备或 FIFO）；要检查的推导是文本文件")
            with open(path, "rb") as handle:
                data = read_bounded(handle, path)
        except OSError as err:
            raise said(f"{path}:1:1: cannot read the file ({err.strerror})",
                       f"{path}:1:1：无法读取文件（{why_zh(err)}）") from None
    text, kind = read_text(data, path, kind)
    return check_steps(text, kind, path)


# ----------------------------------------------------------------------------------------
# Reports: text (English or Chinese), JSON, and one row per file
# ----------------------------------------------------------------------------------------

_WORDS = {
    "definition": ("definition", "定义"),
    "previous": ("previous expression (line {line}): {text}", "上一个式子(第 {line} 行):{text}"),
    "differ": ("at {point}: the previous expression is {a}, this row is {b}",
               "在 {point} 处:上一个式子的值为 {a},这一行的值为 {b}"),
    "expected": ("the engine would write next: {expr}", "引擎接下来会写:{expr}"),
    "hint": ("hint: {text}", "提示:{text}"),
    "all": ("{name}: all {n} rows hold", "{name}:全部 {n} 行成立"),
    "some": ("{name}: {k} of {n} rows do not hold; the first is line {line}",
             "{name}:{n} 行中有 {k} 行不成立,第一处在第 {line} 行"),
}

HINTS = {
    "chain": ("the chain rule's inner derivative is left out{detail}",
              "链式法则漏乘了内层函数的导数{detail}"),
    "product": ("a product-rule term is missing: $(uv)′ = u′v + uv′$",
                "乘积法则少了一项:$(uv)′ = u′v + uv′$"),
    "quotient": ("the quotient rule's numerator is in the wrong order: $(u/v)′ = (u′v − uv′)/v²$",
                 "商法则分子的顺序写反了:$(u/v)′ = (u′v − uv′)/v²$"),
    "power": ("the power rule's exponent was not lowered: $(xⁿ)′ = n·xⁿ⁻¹$",
              "幂法则的指数没有减一:$(xⁿ)′ = n·xⁿ⁻¹$"),
    "logexp": ("the derivatives of log and exp are confused: $(log u)′ = u′/u$, $(eᵘ)′ = eᵘ·u′$",
               "把 log 和 exp 的导数弄混了:$(log u)′ = u′/u$,$(eᵘ)′ = eᵘ·u′$"),
    "sigmoid": ("$σ′$ is written wrongly: $σ′(z) = σ(z)(1 − σ(z))$",
                "$σ′$ 写错了:$σ′(z) = σ(z)(1 − σ(z))$"),
    "sign": ("a sign is lost", "丢了一个负号"),
    "factor": ("a constant factor is lost or doubled{detail}", "丢了或多乘了一个常数因子{detail}"),
    "dropped": ("a term is dropped from a sum", "和式中漏掉了一项"),
    "transpose": ("a transpose is wrong: a factor lacks one or has one too many, or a product's "
                  "factors are in the wrong order; $(A·B)ᵀ = Bᵀ·Aᵀ$",
                  "转置出错:某个因子少了或多了转置,或乘积的顺序写反了;$(A·B)ᵀ = Bᵀ·Aᵀ$"),
    None: ("no single common mistake explains the difference", "无法归结为某个常见错误"),
}
_DETAILS = {"chain": (" (the inner derivative is ${expr}$)", "(内层导数为 ${expr}$)"),
            "factor": (" (this row is ${expr}$ × the expected)", "(这一行是应有值的 ${expr}$ 倍)")}


def _word(key: str, lang: str, table=_WORDS, **kwargs) -> str:
    # a Chinese template's punctuation is made full-width before the student's text goes in
    template = table[key][lang == "zh"]
    return (full_width(template) if lang == "zh" else template).format(**kwargs)


def hint_source(kind, detail: bool, lang: str = "en") -> str:
    """The hint for a mistake ``kind`` in ``lang`` with its formulas marked (``$…$``, as in
    ``derive.messages``); with ``detail`` a ``{expr}`` field stands for the detail."""
    extra = _DETAILS[kind][lang == "zh"] if detail and kind in _DETAILS else ""
    extra = full_width(extra) if lang == "zh" else extra
    return _word(kind, lang, HINTS, detail=extra)


def hint_text(kind, detail=None, lang: str = "en") -> str:
    """The hint for a mistake ``kind`` (one of ``HINT_KINDS`` or None), in ``lang``, as text."""
    source = hint_source(kind, detail is not None, lang)
    return source.replace("{expr}", "" if detail is None else show(detail)).replace("$", "")


def _number(v: float) -> str:
    return f"{v:.6g}"


def _show_point(point: dict) -> str:
    return ", ".join(f"{show(s)} = {_number(float(v))}" for s, v in point.items())


def render_text(report: StepReport, lang: str = "en") -> str:
    """The report as text: one line per row, and the explanation under a ✗."""
    lines = []
    for r in report.rows:
        note = f"   ({_word('definition', lang)})" if r.kind == "definition" else ""
        written = " ".join(r.text.split())
        lines.append(f"{'✓' if r.ok else '✗'} {r.line:>4}  {written}{note}")
        if r.ok:
            continue
        pad = " " * 8
        lines.append(pad + _word("previous", lang, line=r.previous_line, text=r.previous))
        if r.point is not None:
            lines.append(pad + _word("differ", lang, point=_show_point(r.point),
                                     a=_number(r.values[0]), b=_number(r.values[1])))
        lines.append(pad + _word("expected", lang, expr=show(r.expected)))
        lines.append(pad + _word("hint", lang, text=hint_text(r.hint, r.detail, lang)))
    wrong = [r for r in report.rows if not r.ok]
    lines.append(_word("some", lang, name=report.name, k=len(wrong), n=len(report.rows),
                       line=wrong[0].line) if wrong
                 else _word("all", lang, name=report.name, n=len(report.rows)))
    return "\n".join(lines) + "\n"


def report_data(report: StepReport, lang: str = "en") -> dict:
    """The report as plain data (for JSON): per row its line, verdict, values and hint."""
    rows = []
    for r in report.rows:
        row = {"line": r.line, "verdict": "ok" if r.ok else "wrong", "kind": r.kind, "text": r.text}
        if not r.ok:
            row.update(previous_line=r.previous_line, previous=r.previous,
                       point=None if r.point is None else {s.name: float(v) for s, v in r.point.items()},
                       values=None if r.values is None else {"previous": r.values[0], "row": r.values[1]},
                       expected=show(r.expected), hint=r.hint,
                       hint_text=hint_text(r.hint, r.detail, lang))
        rows.append(row)
    first = report.first_wrong
    return {"file": report.name, "ok": report.ok, "first_wrong_line": first and first.line,
            "rows": rows}


def summary_row(name: str, report: StepReport | None, error: str | None = None,
                lang: str = "en") -> dict:
    """One file's line in a summary: file, verdict, first wrong line, hint (or the error)."""
    if report is None:
        return {"file": name, "verdict": "unreadable", "line": None, "hint": error}
    first = report.first_wrong
    return {"file": name, "verdict": "ok" if first is None else "wrong",
            "line": first and first.line,
            "hint": first and hint_text(first.hint, first.detail, lang)}


SUMMARY_FORMATS = summary.FORMATS
_COLUMNS = ("file", "verdict", "line", "hint")


def render_summary(rows: list, fmt: str = "table") -> str:
    """Rows from ``summary_row`` as an aligned table, CSV or JSON."""
    return summary.render_rows(rows, _COLUMNS, fmt)
