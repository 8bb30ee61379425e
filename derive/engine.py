"""The rule-tree differentiation engine.

``diff_rule(expr, x)`` builds the tree of rules that explains d/dx[expr]; ``steps`` turns it into
the lines a reader sees, one rule per line; ``derivative`` is the answer in the notes' form.

>>> import sympy as sp
>>> x = sp.Symbol("x")
>>> derivative((3*x**2 + 2)**4, x)
24*x*(3*x**2 + 2)**3
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Iterable

import sympy as sp
from sympy import Add, Expr, Mul, Pow, Symbol
from sympy.core.basic import _args_sortkey
from sympy.core.parameters import distribute

from . import functions as F
from .errors import DeriveError
from . import printing
from . import rules as R
from .rules import D
from .verify import expansion_bounded

# One-argument functions whose derivative SymPy (or our Function) knows in closed form, besides
# those the notes name (``rules.NAMED_DERIVATIVES``).
_KNOWN = (F.softplus, F.hard_sigmoid, F.leaky_relu, *R.TEXTBOOK_DERIVATIVES)


@dataclass
class Namer:
    """Deterministic names for chain-rule intermediates: the model's own names first, else a
    placeholder that ``name_intermediates`` writes as the notes do once the tree is built."""

    names: dict = field(default_factory=dict)       # Expr -> Symbol, the model's intermediates
    taken: set = field(default_factory=set)         # symbol names already in use
    made: dict = field(default_factory=dict)        # Expr -> placeholder Dummy, named later

    def __call__(self, inner: Expr) -> Symbol:
        if inner in self.names:
            return self.names[inner]
        return self.made.setdefault(inner, sp.Dummy("u"))

    def fresh(self, name: str) -> str:
        """``name`` (u, u1, …), else the first of u1, u2, … with its number at least ``name``'s
        that no symbol of the expression uses."""
        number = int(name[1:] or 0)
        while name in self.taken:
            number += 1
            name = f"u{number}"
        return name


def name_intermediates(rule: R.Rule, namer: Namer) -> R.Rule:
    """``rule`` with each placeholder intermediate named as a textbook names it: u for a chain
    rule with no other chain rule inside it or around it (h = u⁴, u = 3x² + 2), and u₁, u₂, … by
    depth where chains are nested, so that two intermediates alive at once differ (sin(cos(x²)):
    u₁ = cos(x²), then u₂ = x²)."""
    made = set(namer.made.values())

    def depth(r) -> int:
        inner = max((depth(c) for c in r.children()), default=0)
        return inner + (isinstance(r, R.ChainRule) and r.u in made)

    names: dict = {}

    def walk(r, level: int, nested: bool) -> None:
        if isinstance(r, R.ChainRule) and r.u in made and r.u not in names:
            names[r.u] = Symbol(namer.fresh(f"u{level + 1}" if nested else "u"))
        for c in r.children():
            walk(c, level + (isinstance(r, R.ChainRule) and r.u in made), nested)

    def visit(r) -> None:
        if isinstance(r, R.ChainRule) and r.u in made:
            walk(r, 0, depth(r) > 1)
        else:
            for c in r.children():
                visit(c)

    visit(rule)
    return _renamed(rule, names) if names else rule


def _renamed(rule: R.Rule, names: dict) -> R.Rule:
    """``rule`` with the symbols of ``names`` replaced in every field."""
    def swap(value):
        if isinstance(value, R.Rule):
            return _renamed(value, names)
        if isinstance(value, tuple):
            return tuple(swap(v) for v in value)
        if isinstance(value, sp.Basic):
            return value.xreplace(names)
        return value

    return replace(rule, **{f.name: swap(getattr(rule, f.name)) for f in fields(rule)})


def diff_rule(expr, x: Symbol, namer: Namer | None = None, order: printing.Order | None = None) -> R.Rule:
    """The rule tree for d/dx[expr], its sums and products worked out left to right as
    ``order`` shows them (the order of the formulas shown before; by default the notes')."""
    expr = sp.sympify(expr)
    if namer is None:
        namer = Namer(taken={s.name for s in expr.free_symbols})
    with distribute(False):  # a constant −(n − k) comes out as it is written, not as k − n
        rule = name_intermediates(_build(expr, x, namer, order or printing.Order()), namer)
    _check_product_sizes(rule)
    return rule


def _too_large(x) -> DeriveError:
    return DeriveError(f"too large: the steps of d/d{x}[…] would hold more than "
                       f"{MAX_STEP_NODES:,} expression nodes; derive stops at that bound")


def _check_product_sizes(rule: R.Rule) -> None:
    """Refuse a tree whose product rules alone would write more than ``MAX_STEP_NODES`` nodes
    on their first line (k factors: k copies of the product), before any line is built or
    verified: d/dx of a product of 199 binomials is refused at once."""
    budget = MAX_STEP_NODES
    for r in all_rules(rule):
        if isinstance(r, R.ProductRule):
            budget -= len(r.children()) * _nodes(r.expr, budget)
            if budget < 0:
                raise _too_large(rule.var)


def _build(expr, x, namer, order) -> R.Rule:
    if not expr.has(x):
        return R.ConstantRule(expr, x)
    if expr == x:
        return R.IdentityRule(expr, x)
    if isinstance(expr, Add):
        # the terms in the order they are shown, so that they are worked out left to right
        return R.SumRule(expr, x, tuple(_build(t, x, namer, order) for t in order.terms(expr)))
    if isinstance(expr, Mul):
        coeff, rest = expr.as_independent(x, as_Add=False)
        if coeff != 1:
            return R.ConstantMultipleRule(expr, x, coeff, _build(rest, x, namer, order))
        num, den = sp.fraction(expr, exact=True)
        if den != 1 and den.has(x) and num != 1:
            return R.QuotientRule(expr, x, _build(num, x, namer, order), _build(den, x, namer, order))
        # the factors in the order they are shown, so that f′·g is worked out before f·g′
        return R.ProductRule(expr, x, tuple(_build(f, x, namer, order) for f in order.factors(expr)))
    if isinstance(expr, Pow):
        base, exponent = expr.args
        if not exponent.has(x):
            if base == x and exponent.is_Rational and not exponent.is_Integer and (
                    exponent.is_negative or exponent == sp.S.Half):
                # a root written as a power first, 1/√x = x^(−1/2), as Stewart §3.1 does (x^(3/2)
                # is printed so already)
                rewritten = printing.index_form(x, exponent)
                return R.RewriteRule(expr, x, rewritten, R.PowerRule(rewritten, x, exponent))
            if base == x:
                return R.PowerRule(expr, x, exponent)
            u = namer(base)
            return R.ChainRule(expr, x, R.PowerRule(u**exponent, u, exponent), _build(base, x, namer, order), u)
        if not base.has(x):
            if exponent == x:
                return R.ExponentialRule(expr, x, base)
            u = namer(exponent)
            return R.ChainRule(expr, x, R.ExponentialRule(base**u, u, base), _build(exponent, x, namer, order), u)
        rewritten = sp.exp(exponent * sp.log(base))
        return R.RewriteRule(expr, x, rewritten, _build(rewritten, x, namer, order))
    if isinstance(expr, (sp.Max, sp.Min)):
        return R.MaxMinRule(expr, x, tuple(_build(a, x, namer, order) for a in expr.args))
    if isinstance(expr, sp.Function):
        func = expr.func
        arg, rest = expr.args[0], expr.args[1:]
        if any(a.has(x) for a in rest) or (func is sp.log and rest):
            return R.DontKnowRule(expr, x)
        if func not in R.NAMED_DERIVATIVES and func not in _KNOWN:
            return R.DontKnowRule(expr, x)
        if arg == x:
            return R.ElementaryRule(expr, x, func)
        u = namer(arg)
        outer = R.ElementaryRule(func(u, *rest), u, func)
        return R.ChainRule(expr, x, outer, _build(arg, x, namer, order), u)
    return R.DontKnowRule(expr, x)


@dataclass(frozen=True)
class SimpleTerms:
    """The line after a sum rule that works out its constant terms (d/dx[c] = 0) and its
    d/dx[x] = 1 together."""

    terms: tuple
    var: Symbol

    @property
    def constants(self) -> tuple:
        return tuple(t.expr for t in self.terms if isinstance(t, R.ConstantRule))

    @property
    def key(self) -> str:
        if not self.constants:
            return "identity"
        # two rules at once, as a textbook writes d/da[a] + du/da = 1 + 0: both named
        return "identity_constant" if len(self.constants) < len(self.terms) else "constant"

    def msg_args(self) -> dict:
        # every derivative the line works out, the variable's own (d/da[a] = 1) first
        shown = sorted(self.terms, key=lambda t: isinstance(t, R.ConstantRule))
        return {"c": tuple(sp.Eq(D(t.expr, self.var), t.eval(), evaluate=False) for t in shown)}


@dataclass(frozen=True)
class Line:
    """One line of a derivative worked out: ``= rhs`` by ``rule``."""

    rhs: Expr
    rule: R.Rule | None      # None for the closing simplification
    key: str
    # the line as a textbook shows it, when that is not SymPy's evaluated ``rhs``: the 1 of
    # d/dx[x] = 1 left in its product, (x² + 1)·1, and a term the rule made beside the equal
    # term it is collected with on the next line, cos(x) + cos(x)
    shown: Expr | None = None
    # whether ``shown`` holds terms or factors SymPy collects (x·2·x), not only an order of its own
    collects: bool = False


# The lines of one derivative together may hold at most this many expression nodes (each is
# written, verified and printed). The largest textbook problem and the largest model need under
# 700; a product of 199 binomials would need millions (each of its 400 lines holds 199 products
# of 198 factors).
MAX_STEP_NODES = 5_000


def _nodes(expr, limit: int) -> int:
    """The number of nodes of ``expr``'s tree, counted up to ``limit + 1``."""
    count = 0
    for _ in sp.preorder_traversal(expr):
        count += 1
        if count > limit:
            break
    return count


def steps(rule: R.Rule, simplify: bool = True, finish=None, multiply_out: bool = False) -> list[Line]:
    """The lines d/dx[expr] = … = result, one rule applied per line (constants and d/dx x = 1
    are resolved in the line of their parent). ``finish``, given, writes the simplified result
    in a caller's final form (``derive.final_form`` for ``derive expr``). With ``multiply_out``,
    a quotient of polynomials whose numerator holds products of sums gets a line "multiply_out"
    before it is simplified (its value unchanged; the caller writes it with
    ``numerator_multiplied_out`` from the line before as shown).

    Raises
    ------
    DeriveError
        "too large: …" when the lines together would exceed ``MAX_STEP_NODES`` nodes.
    """
    x = rule.var
    current = D(rule.expr, x)
    lines: list[Line] = []
    budget = MAX_STEP_NODES
    stack = [(rule, None)]
    places = _reading_places(rule)
    while stack:
        if lines and (budget := budget - _nodes(lines[-1].rhs, budget)) < 0:
            raise _too_large(x)
        r, parent = stack.pop()
        atom = D(r.expr, x)
        if not current.has(atom):
            continue  # an identical sub-derivative was already worked out
        simple = [c for c in r.children() if isinstance(c, (R.ConstantRule, R.IdentityRule))]
        # a number times a sum stays a product (2·(ŷ − y)): the line rewrites one derivative
        # in place and leaves the rest as it stood
        # a sum's term c·x: its d/dx[x] = 1 on a line of its own, as the notes write
        # ∂z/∂w₁ = x₁·∂w₁/∂w₁ = x₁ (a lone c·x, −x, or c·x inside a product stays one line)
        own_line = (isinstance(r, R.ConstantMultipleRule) and isinstance(parent, R.SumRule)
                    and r.constant != -1)
        with distribute(False):
            if isinstance(r, (R.SumRule, R.ProductRule, R.QuotientRule)) and simple or own_line and simple:
                # the sum rule shows d/dx[c] and d/dx[x] of its terms, then resolves them on a
                # line of their own (d/dx[1] = 0 is shown before the term is dropped); the
                # product and quotient rules too, so that f′·g stays before f·g′ when f′ is 1
                before, current = current, _whole_numbers(current.xreplace({atom: r.expand()}))
                # a constant that comes out beside another that cancels it: 2·d/dx[x]/(2·√(1 + 2·x))
                lines.append(Line(current, r, r.key, *_shown(before, {atom: r.expand()}, current, False, places)))
                worked = {D(c.expr, x): c.eval() for c in simple}
                before, current = current, _whole_numbers(current.xreplace(worked))
                resolved = SimpleTerms(tuple(simple), x)
                ones = isinstance(r, (R.ProductRule, R.QuotientRule))
                lines.append(Line(current, resolved, resolved.key, *_shown(before, worked, current, ones, places)))
            else:
                trivial = {D(c.expr, x): c.eval() for c in simple}
                made = {atom: r.expand().xreplace(trivial)}
                before, current = current, _whole_numbers(_open_minus(current.xreplace(made)))
                line = Line(current, r, r.key, *_shown(before, made, current, False, places))
                if before == atom and line.shown is None and (power := _fractional_power(r)) is not None:
                    # the line is the power rule's alone: n·x^(n − 1) as the rule gives it,
                    # ½·x^(−1/2), and the next line the quotient the notes print, 1/(2·√x)
                    line = Line(current, r, r.key, power)
                lines.append(line)
        stack.extend(reversed([(c, r) for c in r.children() if c not in simple]))
    if lines and lines[-1].shown is not None and not simplify:
        # the 1 or the two equal terms a line shows are gone on the line after it
        lines.append(Line(current, None, "simplify"))
    if simplify:
        back = {r.rewritten: r.expr for r in all_rules(rule) if isinstance(r, R.RewriteRule)}
        final = _whole_numbers(tidy(current.xreplace(back)))
        final = finish(final) if finish is not None else final
        if lines and lines[-1].collects and final != current:
            # the terms the last line showed collected first, then the final form
            # (24·((3·x² + 2)³ + 18·x²·(3·x² + 2)²), then 24·(3·x² + 2)²·(21·x² + 2))
            lines.append(Line(current, None, "simplify"))
        elif multiply_out and lines and _multiplies_out(current, final, x):
            lines.append(Line(current, None, "multiply_out"))
        if final != current or lines and lines[-1].shown is not None:
            lines.append(Line(final, None, "simplify"))
    return lines


def _fractional_power(r) -> Expr | None:
    """The power rule's n·x^(n − 1) kept as written, when n is a fraction (the printer would
    write x^(−1/2) as 1/√x and x^(1/2) as √x at once); else None."""
    if not isinstance(r, R.PowerRule):
        return None
    n = r.exponent
    if not (n.is_Rational and not n.is_Integer):
        return None
    return Mul(n, sp.UnevaluatedExpr(Pow(r.var, n - 1)), evaluate=False)


def _product_of_a_sum(term) -> bool:
    """Whether ``term`` multiplies a sum by something: 2·x·(x − 1), 3·(x² − 4), (x² − 1)², not
    −(x² + 1)."""
    coeff, rest = term.as_coeff_Mul()
    factors = Mul.make_args(rest)
    powers = any(isinstance(f, Pow) and isinstance(f.base, Add) and f.exp.is_Integer and f.exp > 1 for f in factors)
    return powers or (len(factors) > 1 or abs(coeff) != 1) and any(
        isinstance(f, Add) or isinstance(f, Pow) and isinstance(f.base, Add) for f in factors)


def _multiplies_out(current, final, x) -> bool:
    """Whether ``current`` is a quotient of polynomials whose numerator holds a product of a
    sum, on its way to a ``final`` form whose numerator is multiplied out (Stewart's quotient
    rule examples: the products are multiplied out, then the terms collected)."""
    # of one variable: with letters for numbers the brackets read worse than the quotient rule's
    # own line (a·c·x + a·d − (a·c·x + b·c))
    if (not isinstance(current, Mul) or current.free_symbols != {x} or not current.is_rational_function(x)
            or not expansion_bounded(current)):
        return False
    numerator, denominator = current.as_numer_denom()
    if denominator.is_number or not isinstance(numerator, Add):
        return False
    # over the same denominator (no factor cancelled: then the book factors instead), its
    # numerator multiplied out; a sign in front of it, −(3·x² + 2·x + 12), is still multiplied out
    final_numerator, final_denominator = sp.fraction(sp.together(final))
    final_numerator = final_numerator.as_coeff_Mul()[1]
    return (final_denominator == denominator and final_numerator == sp.expand(final_numerator)
            and any(map(_product_of_a_sum, numerator.args)))


def numerator_multiplied_out(shown):
    """``shown``, a quotient as the line before printed it (``printing.arrange``: its terms in
    display order), with each product of a sum in its numerator multiplied out in a bracket of its
    own: ((x³ + 6)·(2·x + 1) − (x² + x − 2)·3·x²)/(x³ + 6)² is written
    ((2·x⁴ + x³ + 12·x + 6) − (3·x⁴ + 3·x³ − 6·x²))/(x³ + 6)². None when it is not such a
    quotient."""
    if not isinstance(shown, Mul):
        return None
    sums = [f for f in shown.args if isinstance(f, Add)]
    rest = [f for f in shown.args if not isinstance(f, Add)]
    if len(sums) != 1 or not all(isinstance(f, Pow) and f.exp.is_negative for f in rest):
        return None
    terms = []
    for k, t in enumerate(sums[0].args):
        negative = t.as_coeff_Mul()[0] < 0
        if k == 0 and negative:
            return None     # the notes' printer would not start with it: the order would move
        if not _product_of_a_sum(t):
            terms.append(t)
            continue
        opened = sp.expand(-t if negative else t)
        if negative and _leads_negative(opened):
            return None     # −(−4·x² + 4·x + 3) reads worse than the product it came from
        terms.append(Mul(-1, opened, evaluate=False) if negative else opened)
    return Mul(Add(*terms, evaluate=False), *rest, evaluate=False)


def _leads_negative(poly) -> bool:
    """Whether the polynomial ``poly``'s term of highest degree has a negative coefficient."""
    x = next(iter(poly.free_symbols), None)
    return x is not None and sp.Poly(poly, x).LC() < 0


def _reading_places(rule: R.Rule) -> dict:
    """Where each expression the rule tree differentiates stands when it is read (canonical form
    → position; the terms and factors in the order the rules work them out, which is the order
    they are shown), so that a derivative's value can stand where its function stood:
    d/dx[x²]·(x + 1) before (x + 1), x·d/dx[x²] after x."""
    places: dict = {}
    for r in all_rules(rule):
        places.setdefault(printing.canon(r.expr), len(places))
    return places


def _in_reading_order(factors: tuple, places: dict) -> list:
    """``factors`` of a product in the order they are read: numbers first, then each where the
    expression it is or it differentiates stood (a derivative after the factor it came from with,
    as the chain rule writes f′(g)·g′), a factor of unknown place first among the rest."""
    def place(f):
        if f.is_Number:
            return (0, 0)
        if isinstance(f, sp.Derivative):
            return (1, places.get(printing.canon(f.expr), -1) + 0.5)
        # a power the rule made stands where its base stood: (3·x² + 2)² of (3·x² + 2)³
        return (1, places.get(printing.canon(f), places.get(printing.canon(f.as_base_exp()[0]), -1)))

    return sorted(factors, key=place)


def _shown(before, replaced: dict, after, ones: bool, places: dict):
    """``before`` with ``replaced`` substituted as a textbook writes the substitution, or None
    when that is ``after`` as SymPy evaluates it, and whether it holds terms or factors SymPy
    collects (x·2·x, cos(x) + cos(x)): with ``ones``, a derivative worked out to 1
    stays a factor of its product, (x² + 1)·1; a sum that would collect a term the substitution
    made with an equal term keeps both, cos(x) − x·sin(x) + cos(x). Only the sums and products
    that hold a substituted derivative are kept unevaluated; the line after shows ``after``."""
    kept = collects = False
    made: set = set()   # the products written with a derivative's value where it stood

    def rebuild(e):
        nonlocal kept, collects
        if e in replaced:
            return replaced[e]
        if not isinstance(e, sp.Basic) or e.is_Atom or not e.args:
            return e
        args = [rebuild(a) for a in e.args]
        if args == list(e.args):
            return e
        if (ones and isinstance(e, Mul) and len(args) > 1 and not any(a == 0 for a in args)
                and any(replaced.get(a) == 1 for a in e.args)):
            kept = True
            coeff, rest = Mul(*(a for a, was in zip(args, e.args) if replaced.get(was) != 1)).as_coeff_Mul()
            # the 1 last, as Stewart writes (x² + 1)·1; the rest as SymPy orders it, its sign before
            times_one = Mul(*(rest.args if isinstance(rest, Mul) else (rest,)), sp.S.One, evaluate=False)
            return times_one if coeff == 1 else Mul(coeff, times_one, evaluate=False)
        if isinstance(e, Mul) and not any(a == 0 for a in args):
            # in the order the product is printed, so that a value stands where its derivative stood
            rebuilt = dict(zip(e.args, args))
            shown_order = _in_reading_order(e.args, places)
            opened, hidden, merged = _opened_product(shown_order, [rebuilt[f] for f in shown_order], replaced, made)
            if opened is not None:
                made.add(opened)
                collects = collects or merged
                # kept as written only where SymPy would hide the substitution, or where a sum
                # around it is kept (the equal terms it collects: −2·sin(x)·cos(x))
                kept = kept or hidden
                return opened
        if isinstance(e, Add):
            terms = [a for a in args if a != 0]
            collected = Add(*map(printing.canon, terms))
            # two equal terms that make one, −2·sin(x)·cos(x) − 2·sin(x)·cos(x), or a sum that
            # loses terms
            collapses = len(terms) == 2 and not isinstance(collected, Add) or (
                isinstance(collected, Add) and len(collected.args) < len(terms))
            if len(terms) > 1 and not any(isinstance(t, Add) for t in terms) and (kept or collapses):
                collects = collects or collapses
                kept = True
                # sorted as SymPy sorts a sum, so that the printer places the terms as it
                # places any line's (``printing._author_ordered``)
                return Add(*sorted(terms, key=_args_sortkey), evaluate=False)
        return e.func(*args)

    with distribute(False):
        shown = _whole_numbers(rebuild(before))
    # shown only where it is ``after`` written out: nothing but SymPy's evaluation tells them apart
    return (shown, collects) if kept and printing.canon(shown) == after else (None, False)


def _opened_product(was: tuple, args: list, replaced: dict, made: set):
    """The product ``was`` with its derivatives replaced by ``args``, written unevaluated with
    each derivative's value standing where the derivative stood (None when no derivative of it
    was replaced by more than a 1), whether SymPy's evaluation would hide that substitution, and
    whether it merges (the first of the two reasons):
    the value merges with another factor (x·2·x is 2·x², x³·(1/x) is x²), or its number or
    symbol would move in front of a finished sum ((2·x + 1)·2·x, not 2·x·(2·x + 1))."""
    spliced, moved, made_here = [], False, False
    for i, (a, old) in enumerate(zip(args, was)):
        if a in made:
            # a product opened inside this one (−1·(2·sin(x)·cos(x))): one product, −2·sin(x)·cos(x)
            made_here = True
            spliced.extend(f for g in a.args for f in (g.args if isinstance(g, Mul) else (g,)))
            continue
        if old not in replaced or a == 1:
            spliced.append(a)
            continue
        if isinstance(a, Mul) and any(f.is_Pow and f.exp.is_negative for f in a.args):
            # a fraction the quotient rule made stays whole on its line, as before
            return None, False, False
        made_here = True
        # a positive product's factors join the product (x·2·x); a negative one stays one
        # factor, 2·cos(x)·(−sin(x)), and so does a reciprocal, x³·(1/x)
        inner = list(a.args) if isinstance(a, Mul) and not a.could_extract_minus_sign() else [
            Mul(sp.S.One, a, evaluate=False) if spliced and a.is_Pow and a.exp.is_negative else a]
        # (a lone number that came out goes in front, as a coefficient: 2·(x² − 3))
        moved = moved or (i > 0 and isinstance(a, Mul) and any(f.is_Symbol for f in inner)
                          and any(isinstance(f, Add) for f in spliced))
        spliced.extend(inner)
    others = [f for f, w in zip(args, was) if w not in replaced and f not in made and not f.is_Number]
    if not made_here or len(spliced) < 2 or len(others) > 1 and any(isinstance(f, Add) for f in others):
        # beside two factors or more, one a sum, where the value stands is not sure enough to show
        return None, False, False
    plain = sorted((g for f in spliced for g in Mul.make_args(f) if not g.is_Number), key=sp.default_sort_key)
    merged = plain != sorted((f for f in Mul.make_args(Mul(*args)) if not f.is_Number), key=sp.default_sort_key)
    # a number that comes out beside a fraction it cancels (2·d/dx[x]·(1/2)): not two whole
    # numbers multiplied (3·2·x is 6·x at once)
    numbers = [g for f in spliced for g in Mul.make_args(f) if g.is_Number]
    # and a sign that comes out beside another, −e^(−z)·(−1): the two signs cancel
    merged = merged or len(numbers) > 1 and (sum(not n.is_Integer for n in numbers) == 1
                                             or sum(n.is_negative for n in numbers) > 1)
    spliced = _over_its_denominator(spliced)
    # the numbers before the first other factor are one coefficient, as the notes write −x·2·x
    lead = 0
    while lead < len(spliced) and spliced[lead].is_Number:
        lead += 1
    coeff, rest = sp.prod(spliced[:lead], start=sp.S.One), spliced[lead:]
    if coeff == -1 and len(rest) > 1:    # −x·2·x: the sign before the product
        return Mul(coeff, Mul(*rest, evaluate=False), evaluate=False), merged or moved, merged
    factors = rest if coeff == 1 else [coeff, *rest]
    return (Mul(*factors, evaluate=False) if len(factors) > 1 else factors[0]), merged or moved, merged


def _over_its_denominator(factors: list) -> list:
    """``factors`` with a fraction p/q written p and 1/q, the q beside the product's other
    denominator: 2·d/dx[x]/(2·√(1 + 2·x)), where the 2 that came out cancels the 2 below."""
    below = next((i for i, f in enumerate(factors) if f.is_Pow and f.exp.is_negative), None)
    fractions = [f for f in factors if f.is_Rational and not f.is_Integer]
    if below is None or len(fractions) != 1:
        return factors
    p, q = fractions[0].p, fractions[0].q
    out = [f for f in factors[:below] if f is not fractions[0]]
    out = ([sp.Integer(p)] if p != 1 else []) + out
    rest = [f for f in factors[below:] if f is not fractions[0]]
    return out + [Pow(sp.Integer(q), -1, evaluate=False)] + rest


def _whole_numbers(expr):
    """Decimals that are whole numbers written as integers: 2·0.5·x is x, not 1.0·x, and
    0.05·100 is 5."""
    whole = {f: sp.Integer(int(f)) for f in expr.atoms(sp.Float) if abs(f) < 2**53 and float(f).is_integer()}
    return expr.xreplace(whole) if whole else expr


def _open_minus(expr):
    """−(f + g) written −f − g, as the notes do once the sum rule has split it (a sum of
    derivatives); any other number times a sum stays a product (2·(ŷ − y)), and so does a
    difference's subtracted sum, −(x² − 2·x + 5), which no rule has split."""
    return expr.replace(
        lambda e: (isinstance(e, Mul) and len(e.args) == 2 and e.args[0] == -1 and isinstance(e.args[1], Add)
                   and e.args[1].has(sp.Derivative)),
        lambda e: Add(*(-t for t in e.args[1].args)),
    )


def derivative(expr, x: Symbol) -> Expr:
    """d/dx[expr] recomputed from the rule tree and written in the notes' form."""
    return tidy(diff_rule(expr, x).eval())


def _positive_factors(expr):
    """−c·σ·(σ − 1) → c·σ·(1 − σ): one negated group instead of a leading minus."""
    if isinstance(expr, Mul):
        coeff, rest = expr.as_coeff_Mul()
        groups = [f for f in Mul.make_args(rest) if isinstance(f, Add)]
        if coeff < 0 and len(groups) == 1:
            others = [f for f in Mul.make_args(rest) if f is not groups[0]]
            return Mul(-coeff, *others, -groups[0])
    return expr


def _sigmoid_form(expr):
    """``expr`` written with σ(u) when it is built from 1 + e^(−u) (or e^u + 1), the sigmoid's
    signature: e^(−u) = (1 − σ(u))/σ(u). None when it is not such an expression."""
    exps = expr.atoms(sp.exp)
    args = {(-e.args[0] if e.args[0].could_extract_minus_sign() else e.args[0]) for e in exps}
    if len(args) != 1:
        return None
    u = args.pop()
    if not (expr.has(1 + sp.exp(-u)) or expr.has(sp.exp(u) + 1)):
        return None
    s = F.sigmoid(u)
    form = sp.factor(sp.cancel(expr.xreplace({sp.exp(-u): (1 - s) / s, sp.exp(u): s / (1 - s)})))
    return None if form.has(sp.exp) else _positive_factors(form)


# tan, cot, sec and csc written with sin and cos, for the Pythagorean identity below.
_IN_SIN_COS = {sp.tan: lambda u: sp.sin(u) / sp.cos(u), sp.cot: lambda u: sp.cos(u) / sp.sin(u),
               sp.sec: lambda u: 1 / sp.cos(u), sp.csc: lambda u: 1 / sp.sin(u)}

# Past this many operations the trigonometric and denominator forms are not tried (each is a
# cancel and a factor; a textbook answer they shorten is far smaller).
_IDENTITY_OPS = 60


# A quotient past ``expansion_bounded``'s bound is still factored up to this many expanded terms
# (factor works on each polynomial apart; the degree-99 chain-rule exercise is far past it).
_FACTORED_TERMS = 2_000


def _trig_forms(expr) -> list:
    """``expr`` rewritten with sin²u + cos²u = 1 both ways (tan, cot, sec, csc in sin and cos
    first), each over a common denominator: (1 − sin²θ)·sin θ/cos²θ − 2·sin θ becomes −sin θ,
    cos θ·sec²θ − sin θ·tan θ becomes cos θ."""
    # over one denominator first, so that each square stands where the identity can meet it
    plain = sp.cancel(expr.replace(lambda t: t.func in _IN_SIN_COS, lambda t: _IN_SIN_COS[t.func](t.args[0])))
    forms = []
    for u in sorted({t.args[0] for t in plain.atoms(sp.sin, sp.cos)}, key=sp.default_sort_key):
        for a, b in ((sp.sin(u), sp.cos(u)), (sp.cos(u), sp.sin(u))):
            # below the bar too: −(1 + cos x)/sin²x is −1/(1 − cos x)
            squared = plain.replace(lambda t: t.is_Pow and t.base == a and t.exp.is_Integer and abs(t.exp) >= 2,
                                    lambda t: (a ** (abs(t.exp) % 2) * (1 - b**2) ** (abs(t.exp) // 2))
                                    ** sp.sign(t.exp))
            forms.append(sp.factor(sp.cancel(squared)))
    return forms


def _over_denominator(expr):
    """``expr`` over its common denominator as the derivation built it, the numerator
    multiplied out: the quotient rule's (2x(x² − 4) − 2x(x² + 4))/(x² − 4)² becomes
    −16·x/(x² − 4)², as a textbook factors it, not −16·x/(x⁴ − 8·x² + 16)."""
    num, den = sp.fraction(sp.together(expr))
    return sp.factor_terms(sp.expand(num)) / den


def _abs_form(expr):
    """``expr`` with each even power of u written with |u| (u real: u² = |u|²) and cancelled:
    x²/|x| + |x| becomes 2·|x|, 3·x³/|x| becomes 3·x·|x|. None when ``expr`` has no |u|."""
    if not expr.has(sp.Abs):
        return None
    forms = {}
    # |√u| is √u wherever √u is real
    expr = expr.xreplace({a: a.args[0] for a in expr.atoms(sp.Abs)
                          if a.args[0].is_Pow and a.args[0].exp == sp.S.Half})
    for a in sorted(expr.atoms(sp.Abs), key=sp.default_sort_key):
        u = a.args[0]
        if u.is_extended_real:
            forms[a] = (u, sp.Dummy(positive=True))
    plain = expr.xreplace({a: d for a, (_, d) in forms.items()})
    for u, d in forms.values():
        plain = plain.replace(lambda t: t.is_Pow and t.base == u and t.exp.is_even,
                              lambda t, d=d: d**t.exp)
        plain = plain.replace(lambda t: t.is_Pow and t.base == u and t.exp.is_odd and t.exp > 1,
                              lambda t, d=d, u=u: u * d**(t.exp - 1))
    return sp.cancel(plain).xreplace({d: a for a, (_, d) in forms.items()})


def _ratio_forms(expr) -> list:
    """``expr`` with sin u/cos u written tan u, cos u/sin u written cot u (and sinh/cosh as
    tanh, coth), one direction per form, as the tables print the derivatives of log(cos u),
    log(sin u) and log(cosh u)."""
    forms = []
    for num, den, ratio in ((sp.sin, sp.cos, sp.tan), (sp.cos, sp.sin, sp.cot),
                            (sp.sinh, sp.cosh, sp.tanh), (sp.cosh, sp.sinh, sp.coth)):
        swap = {f: ratio(f.args[0]) * den(f.args[0]) for f in expr.atoms(num) if expr.has(den(f.args[0]))}
        if swap:
            forms.append(sp.cancel(expr.xreplace(swap)))
    return forms


def _compound(expr) -> bool:
    """Whether ``expr`` has a fraction inside a denominator."""
    return any(p.exp.is_negative and any(q.is_Rational and not q.is_Integer or q.is_Pow and q.exp.is_negative
                                         for q in sp.preorder_traversal(p.base))
               for p in sp.preorder_traversal(expr) if p.is_Pow)


def _score(e) -> tuple:
    text = str(e)
    return (sp.count_ops(e), text.count("exp"), len(text), text)


def tidy(expr, candidates: Iterable = (), sigmoid: bool = True) -> Expr:
    """The simplest of a few equivalent forms of ``expr``, never a cosh or exp-ratio rewrite.

    Named functions (σ, ReLU, …) stay atoms, so σ′ stays σ(z)(1 − σ(z)). With ``sigmoid``
    false no σ is written where the expression has none (2·e^x/(e^x + 1)², not 2·σ(x)·(1 − σ(x))).
    """
    expr = sp.sympify(expr)
    if isinstance(expr, sp.MatrixBase):
        return expr.applyfunc(lambda e: tidy(e, sigmoid=sigmoid))
    ops = sp.count_ops(expr)
    if ops < 2 and not candidates:
        return expr  # nothing can be two operations shorter (see below)
    forms = [expr, *candidates]
    if not expansion_bounded(expr):
        # the rewrites below expand: past the bound the derivation's own form stays, but for
        # a factored form of a moderate quotient (logarithmic differentiation's
        # √(x² + 1)·(x − 3)⁴/(x + 5)³ has a 700-term numerator, factored in milliseconds)
        if ops <= 200 and expansion_bounded(expr, _FACTORED_TERMS):
            factored = sp.factor(expr)
            if sp.count_ops(factored) + 1 < ops:
                forms.append(factored)
        return min(forms, key=_score)
    if sigmoid and ops <= 200 and expr.has(sp.exp):
        sigmoid_form = _sigmoid_form(expr)
        if sigmoid_form is not None:
            forms.append(sigmoid_form)
    if ops <= 200:
        # over every model these three reach each form that factor_terms or together would
        rewrites = [sp.cancel, sp.factor, sp.expand]
        if ops <= _IDENTITY_OPS:
            rewrites.append(_over_denominator)
        for f in rewrites:
            try:
                forms.append(f(expr))
            except (sp.PolynomialError, TypeError, ValueError, NotImplementedError):
                pass
        if ops <= _IDENTITY_OPS:
            forms.extend(f for f in (_abs_form(expr), *_ratio_forms(expr)) if f is not None)
        if ops <= _IDENTITY_OPS and expr.has(sp.sin, sp.cos, *_IN_SIN_COS):
            # an identity is worth leaving csc and cot for sin and cos only when it at least
            # halves the answer: −sin θ, not (sin²x − 2)/sin³x for −csc³x − cot²x·csc x; in
            # sin and cos alone any shorter form is worth it
            halves = expr.has(*_IN_SIN_COS)
            forms.extend(f for f in _trig_forms(expr) if not halves or 2 * sp.count_ops(f) <= ops)
    best = min(forms, key=_score)
    # keep the form the derivation reached unless another is clearly shorter: the reader can
    # follow an unchanged line, and hand-derived forms are what the notes print
    if ops <= sp.count_ops(best) + 1:
        best = expr
    if _compound(best):
        # a fraction inside a denominator, 1/(2·(1 − x²/4)), is one a textbook clears: 2/(4 − x²)
        simple = [f for f in forms if not _compound(f) and sp.count_ops(f) <= sp.count_ops(best) + 1]
        best = min(simple, key=_score, default=best)
    if expr.is_polynomial(*expr.free_symbols) and not isinstance(expr, sp.MatrixBase):
        # a polynomial multiplied out as soon as that is shorter: 4·(x + 1) − 3 is 4·x + 1
        expanded = sp.expand(expr)
        if sp.count_ops(expanded) < sp.count_ops(best):
            best = expanded
    return best


def all_rules(rule: R.Rule) -> Iterable[R.Rule]:
    """Every rule of the tree, pre-order."""
    yield rule
    for child in rule.children():
        yield from all_rules(child)
