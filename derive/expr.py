"""Any expression, differentiated step by step: the library side of ``derive expr``.

``expr_derivation("sigmoid(w*x+b)", ["w"])`` parses the text safely (``derive.parse``), works out
each requested derivative one rule per line with the engine (every line verified), and, given a
point, evaluates the derivatives there and checks them against finite differences.

>>> d = expr_derivation("3*(a+b*c)", ["a"])
>>> d.results[0].display
3
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, fields, replace

import mpmath
import sympy as sp
from sympy import Derivative, Symbol
from sympy.core.parameters import distribute

from . import engine, printing
from .steps import Builder, Derivation
from .errors import DeriveError, said
from .final_form import textbook_form
from .functions import hard_sigmoid, leaky_relu, log_base, relu, to_elementary
from .messages import Msg
from .parse import _log10_abs, _name_problem, _number as _literal_value, check_wrt, function_readings, parse_expression, parse_latex_expression, parse_point, validate_expression

__all__ = ["expr_derivation", "ExprDerivation", "FiniteDifferenceCheck", "CheckFailed"]

# Names for the expression itself, the first one the expression does not use.
_F_NAMES = ("f", "g", "h", "F", "G", "H", "phi", "psi")


class CheckFailed(DeriveError):
    """A derivative disagrees with its finite difference (exit status 1: a check found a problem)."""

    exit_code = 1


@dataclass(frozen=True)
class FiniteDifferenceCheck:
    """One derivative at the point against a finite difference (made by ``numeric.fd``).

    ``verdict`` is "agree" (within ``factor`` error estimates, plus a relative 1e-7), "kink"
    (f has a kink there and the value is one of its one-sided derivatives, as the notes'
    convention for ReLU′(0) gives) or "disagree".
    """

    wrt: Symbol
    value: float
    fd: float
    error: float
    verdict: str
    factor: float = 10.0

    @property
    def ok(self) -> bool:
        return self.verdict in ("agree", "kink")


@dataclass(frozen=True)
class ExprDerivation(Derivation):
    """A ``Derivation`` of an expression, with the finite-difference checks made at ``--at``."""

    checks: tuple = ()

    @property
    def failed(self) -> tuple:
        """The checks that found a disagreement."""
        return tuple(c for c in self.checks if not c.ok)


class _Label(sp.Expr):
    """Display-only left-hand sides: ``∇f`` and ``∂f/∂x|(x = 1)``, printed per format.

    ``_text`` serves the notes' text printer (``printmethod`` ``_derive_text``) and ``str``.
    """

    def _text(self, printer):
        raise NotImplementedError

    def _derive_text(self, printer):
        return self._text(printer)

    def _sympystr(self, printer):
        return self._text(printer)


class Gradient(_Label):
    """∇f, the gradient of the function named ``f``."""

    def __new__(cls, f):
        return sp.Expr.__new__(cls, f)

    def _text(self, printer):
        return "∇" + printer._print(self.args[0])

    def _latex(self, printer):
        return r"\nabla " + printer._print(self.args[0])


class Prime(_Label):
    """f″(x), the n-th derivative of the function named ``f`` in Lagrange's notation: primes up
    to the third (f‴), then f⁽⁴⁾(x)."""

    def __new__(cls, f, x, n):
        return sp.Expr.__new__(cls, f, x, sp.Integer(n))

    def _text(self, printer):
        f, x, n = self.args
        marks = ("′", "″", "‴")[n - 1] if n <= 3 else f"⁽{str(n).translate(_SUPERSCRIPT)}⁾"
        return f"{printer._print(f)}{marks}({printer._print(x)})"

    def _latex(self, printer):
        f, x, n = self.args
        marks = "'" * int(n) if n <= 3 else f"^{{({n})}}"
        return rf"{printer._print(f)}{marks}\left({printer._print(x)}\right)"


class At(_Label):
    """``expr`` evaluated at a point given as a tuple of equalities (x = 1, y = 2)."""

    def __new__(cls, expr, point):
        return sp.Expr.__new__(cls, expr, sp.Tuple(*point))

    def _pairs(self, printer, sep):
        return sep.join(f"{printer._print(e.lhs)} = {printer._print(e.rhs)}" for e in self.args[1])

    def _text(self, printer):
        return f"{printer._print(self.args[0])}|({self._pairs(printer, ', ')})"

    def _latex(self, printer):
        pairs = self._pairs(printer, r",\ ")
        return rf"\left.{printer._print(self.args[0])}\right|_{{{pairs}}}"


@dataclass(frozen=True)
class _ExprModel:
    """What the ``Builder`` needs of a model: a name and a title."""

    name: str = "expr"
    title: str = "expression"


def _parse(text, from_latex: bool, evaluate: bool = True) -> sp.Expr:
    """The expression ``text`` (or an expression checked as one), its variables real; with
    ``evaluate`` False, built as written (the student's order of terms), for display only."""
    if isinstance(text, sp.Basic):
        expr = validate_expression(text)
    elif not isinstance(text, str):
        raise said(f"expected an expression as text, not {type(text).__name__}",
                   f"表达式应为文本，不能是 `{type(text).__name__}`")
    elif not from_latex and (command := re.search(r"\\[A-Za-z]+", text)):
        # SymPy syntax has no backslash: a LaTeX command means the text is LaTeX
        raise said(f"{command.group()} at column {command.start() + 1} is LaTeX: read the "
                   "expression as LaTeX with --from-latex",
                   f"第 {command.start() + 1} 列的 {command.group()} 是 LaTeX：请加 --from-latex "
                   "把表达式当作 LaTeX 读")
    else:
        # 2·(x + 1) and 0.5·(1 + tanh(…)) stay products, as the student wrote them
        with distribute(False), sp.evaluate(evaluate):
            expr = parse_latex_expression(text) if from_latex else parse_expression(text)
            expr = _as_decimals(expr, _decimal_values(text))
    # Variables are real numbers: |x|′ = sign(x), not an expression in re(x) and im(x).
    with distribute(False), sp.evaluate(evaluate):
        expr = expr.xreplace({s: Symbol(s.name, real=True) for s in expr.free_symbols})
    _require_real_arguments(expr)
    return expr


def _written_order(text, from_latex: bool) -> dict:
    """Each sum of the expression (evaluated) mapped to its terms in the order the student
    typed them, as ``Builder.shown_sums`` holds the order of a sum already shown: the
    statement and the lines after it keep x⁴ + 9·x − 6·x² as typed."""
    if not isinstance(text, str):
        return {}
    try:
        written = _parse(text, from_latex, evaluate=False)
    except DeriveError:
        return {}
    order = {}
    for node in printing.preorder(written):
        if isinstance(node, (sp.Add, sp.Mul)):
            key = printing.canon(node)
            parts = [printing.canon(t) for t in _flat(node)]
            if isinstance(node, sp.Mul):
                # a number leads its product however it was typed: x³/3, not x³·(1/3)
                parts = [t for t in parts if t.is_Number] + [t for t in parts if not t.is_Number]
            parts = tuple(parts)
            # a sum whose terms merged (x + x), or a product whose factors did (x·x, 2·3), has
            # no typed order left to keep
            if isinstance(key, type(node)) and sorted(map(str, key.args)) == sorted(map(str, parts)):
                order.setdefault(key, parts)
    return order


def _typed_form(text, from_latex: bool, expr, order) -> sp.Expr:
    """The expression as typed, in display order, when SymPy's evaluation for real variables
    changed which functions it holds (√(y²) is |y|, log(eˣ) is x, |x|² is x²), else ``expr``
    itself: the statement shows what the student typed and the next line the rewrite. Second,
    the variables the rewrite takes as real (none for sin(π/2) = 1)."""
    if not isinstance(text, str):
        return expr, ()
    try:
        with distribute(False):
            typed = _rewritten_nodes(_parse(text, from_latex, evaluate=False))
    except DeriveError:
        return expr, ()
    # log(x)/log(5) typed as such stays a quotient; log(x, 5) and \log_5 x are logarithms
    typed = [t for t in typed if not isinstance(t, log_base) or "," in text or "\\log_" in text]
    if not typed:
        return expr, ()
    real = sorted(set().union(*(t.free_symbols for t in typed if not isinstance(t, log_base))),
                  key=lambda v: v.name)
    by_value = {printing.canon(to_elementary(t)): t for t in typed}

    def swap(e):
        if (c := printing.canon(e)) in by_value:
            return by_value[c]
        if e.is_Atom:
            return e
        return e.func(*(swap(a) for a in e.args), evaluate=False)

    return swap(printing.arrange(expr, order)), tuple(real)


def _log_base(e):
    """(u, b) when ``e`` is log(u)/log(b) for a number b, as the parser reads log(u, b)."""
    if isinstance(e, sp.Mul) and len(e.args) == 2:
        logs = [a for a in e.args if isinstance(a, sp.log)]
        inverse = [a for a in e.args if a.is_Pow and a.exp == -1 and isinstance(a.base, sp.log)]
        if len(logs) == 1 and len(inverse) == 1 and inverse[0].base.args[0].is_number:
            return logs[0].args[0], inverse[0].base.args[0]
    return None


def _heads(expr) -> set:
    """The functions of ``expr`` and whether it has a root (a power with a fractional exponent)."""
    roots = any(p.exp.is_Rational and not p.exp.is_Integer for p in expr.atoms(sp.Pow))
    return {type(f) for f in expr.atoms(sp.Function)} | ({"root"} if roots else set())


def _rewritten_nodes(expr) -> list:
    """The nodes of ``expr`` (built unevaluated) whose evaluation changes their functions
    (√(y²) becoming |y|), as typed, outermost ones only; the rest is evaluated around them."""
    kept: dict = {}

    def walk(e):
        """``e`` evaluated (kept nodes as stand-ins) and as typed (1/2 as typed, 2⁻¹)."""
        if e.is_Atom:
            return e, e
        if (base := _log_base(e)) is not None:
            stand_in = sp.Dummy(real=True)
            kept[stand_in] = log_base(*base)
            return stand_in, stand_in
        pairs = [walk(a) for a in e.args]
        evaluated = e.func(*(v for v, _ in pairs))
        with sp.evaluate(False):
            typed = e.func(*(t for _, t in pairs))
        if e.is_Pow and e.base.is_Integer and e.exp == -1:
            return evaluated, typed
        with sp.evaluate(False):
            shown = typed.xreplace(kept)
        if _heads(evaluated.xreplace(kept)) == _heads(shown):
            return evaluated, evaluated
        stand_in = sp.Dummy(real=True)
        kept[stand_in] = shown
        return stand_in, stand_in

    outer = walk(expr)[0].atoms(sp.Dummy)
    return [t for d, t in kept.items() if d in outer]


def _flat(node) -> list:
    """The terms of a typed sum or the factors of a typed product, nested ones of the same
    kind opened in place: −log(x)/x is typed as (−log(x))·x⁻¹, read −1·log(x)·x⁻¹."""
    out = []
    for arg in node.args:
        out += _flat(arg) if type(arg) is type(node) else [arg]
    return out


# A decimal literal: 0.5, .5, 5., 1.5e-3, 1e-3 (not a digit inside a name such as x2).
_DECIMAL_LITERAL = re.compile(r"(?<![\w.])(?:(?:\d+\.\d*|\.\d+)(?:[eE][+-]?\d+)?|\d+[eE][+-]?\d+)")

# Digits a decimal is carried with: those of double precision, so that a decimal the
# derivation computes (2000·log(1.05) = 97.580328338864) is printed as a calculator would.
_DECIMAL_DIGITS = 15


def _decimal_values(text: str) -> dict:
    """The exact values of the decimals typed in ``text`` (and their negatives), each mapped
    to the Float that shows it as a decimal: 0.093 is 93/1000 to the parser."""
    values = {}
    for literal in _DECIMAL_LITERAL.findall(text):
        try:
            value = _literal_value(literal)
        except DeriveError:
            continue
        if not value.is_Integer:
            values[value] = sp.Float(value, _DECIMAL_DIGITS)
            values[-value] = sp.Float(-value, _DECIMAL_DIGITS)
    return values


def _as_decimals(expr, values: dict):
    """``expr`` with the typed decimals written as decimals, so that 5.3·exp(0.093·t²) has the
    derivative 0.9858·t·exp(0.093·t²), not 4929·t·exp(93·t²/1000)/5000. An exponent stays
    exact: √x is x^(1/2) however the rest of the expression is written."""
    if not values or expr.is_Atom:
        return values.get(expr, expr) if expr.is_Rational else expr
    if expr.is_Pow:
        return sp.Pow(_as_decimals(expr.base, values), expr.exp)
    if expr.is_Mul and _rationalized(expr):
        # x/√2 is √2·x/2 to SymPy: its 1/2 was not typed, so it stays exact beside 0.5·x
        return expr.func(*(a if a.is_Rational else _as_decimals(a, values) for a in expr.args))
    return expr.func(*(_as_decimals(a, values) for a in expr.args))


def _rationalized(product) -> bool:
    """Whether ``product``'s number is the denominator SymPy made of a root of a number: x/√2 is
    √2·x/2, x/√3 is √3·x/3 (each prime of the denominator is one of the root's)."""
    coeff = next((a for a in product.args if a.is_Rational), None)
    roots = [a.base for a in product.args if a.is_Pow and a.base.is_Rational and not a.exp.is_Integer]
    if coeff is None or coeff.q == 1 or not roots:
        return False
    primes = set().union(*(sp.primefactors(r.p * r.q) for r in roots))
    return set(sp.primefactors(coeff.q)) <= primes


# Functions defined on the real line only: ReLU and its kin compare their argument with 0.
_REAL_ONLY = (relu, leaky_relu, hard_sigmoid, sp.Heaviside, sp.Max, sp.Min)


def _require_real_arguments(expr) -> None:
    """Refuse ReLU(log(−eˣ)) and the like: an argument that is never a real number has no
    place to compare with 0, so the expression has no value anywhere."""
    for node in sp.preorder_traversal(expr):
        if isinstance(node, _REAL_ONLY) and any(a.is_extended_real is False for a in node.args):
            arg = next(a for a in node.args if a.is_extended_real is False)
            raise said(f"{printing.text(node)} has no value: its argument "
                       f"{printing.text(arg)} is never a real number",
                       f"{printing.text(node)} 没有值：它的参数 {printing.text(arg)} 永远不是实数")


def _choose_wrt(expr, wrt) -> list[Symbol]:
    if isinstance(wrt, str):
        wrt = [wrt]
    names = [n for w in (wrt or []) for n in str(w).split(",")]
    symbols = sorted(expr.free_symbols, key=lambda s: s.name)
    if not symbols:
        # a constant: its derivative is 0 with respect to any variable (x unless one is named)
        return [_constant_wrt(n.strip()) for n in (names or ["x"])]
    if names:
        return check_wrt(expr, names)
    if len(symbols) == 1:
        return symbols
    names = ", ".join(s.name for s in symbols)
    raise said(f"the expression has several variables ({names}): "
               f"choose with --wrt, e.g. --wrt {symbols[0].name}",
               f"表达式有多个变量（{names}）：请用 --wrt 选择，例如 --wrt {symbols[0].name}")


def _constant_wrt(name: str) -> Symbol:
    """The variable a constant is differentiated with respect to: any valid name."""
    problem = _name_problem(name) if name else said("--wrt: empty variable name",
                                                    "--wrt：变量名是空的")
    if problem:
        raise problem
    return Symbol(name, real=True)


def _function_name(expr) -> Symbol:
    """The first of ``_F_NAMES`` the expression does not use, else f₁, f₂, …"""
    taken = {s.name for s in expr.free_symbols}
    numbered = (f"f{i}" for i in range(1, len(taken) + 2))
    return Symbol(next(n for n in (*_F_NAMES, *numbered) if n not in taken))


def _check_size(expr, variables: list) -> None:
    """Refuse a gradient whose derivatives together would repeat the expression past the
    engine's bound: each derivative's sum rule rewrites the whole expression (a sum of 400
    variables, differentiated with respect to each of them, is 400 lines of 400 terms)."""
    budget = engine.MAX_STEP_NODES
    size = engine._nodes(expr, budget)
    if len(variables) > 1 and len(variables) * size > budget:
        raise said(f"too large: {len(variables)} derivatives of this expression would hold "
                   f"more than {budget:,} expression nodes; derive stops at that bound "
                   f"(ask for fewer variables with --wrt)",
                   f"太大：这个表达式的 {len(variables)} 个导数合起来会超过 {budget:,} 个表达式节点，"
                   f"derive 到此为止（用 --wrt 少选几个变量）")


def _point(expr, at: str) -> dict:
    given = parse_point(at, allowed_names=expr.free_symbols)
    by_name = {s.name: s for s in expr.free_symbols}
    missing = sorted(set(by_name) - {s.name for s in given})
    if missing:
        raise said(f"--at: give a value for every variable; missing: {', '.join(missing)}",
                   f"--at：每个变量都要给值；缺少：{', '.join(missing)}")
    return {by_name[s.name]: v for s, v in given.items()}


def _shown(value):
    """A point coordinate as displayed: exact values as they are, decimals to 10 digits."""
    return value if value.is_Rational else sp.Float(value, 10)


def expr_derivation(text, wrt=None, *, from_latex: bool = False, at: str | None = None,
                    checker=None, order: int = 1, mixed=None) -> ExprDerivation:
    """The verified step-by-step derivatives of an expression.

    Parameters
    ----------
    text : str or sympy.Expr
        The expression, in SymPy syntax (``3*(a+b*c)``, ``sigmoid(w*x+b)``) or, with
        ``from_latex``, in LaTeX (``\\frac{1}{1+e^{-z}}``). Parsed safely: see ``derive.parse``.
    wrt : list of str, optional
        The variables to differentiate with respect to, in order (a string may list several,
        separated by commas). Default: the expression's only variable.
    from_latex : bool
        Read ``text`` as LaTeX.
    at : str, optional
        A point binding every variable, e.g. ``"x=1,y=2"``: each derivative is evaluated there.
    checker : callable, optional
        With ``at``: ``checker(expr, point, values)`` compares each value with a finite
        difference and returns ``FiniteDifferenceCheck``s, shown as a table
        (``numeric.fd.check_derivatives``; ``derive`` itself does no numerics).
    order : int
        With one variable: the derivative of this order (1 to ``MAX_ORDER``), each derivative
        worked out from the one before by the same rules: f″ = d²f/dx² is d/dx[f′].
    mixed : list of str, optional
        A mixed partial derivative: the variables in the order they are applied (a string may
        separate them by commas). ``["x", "y"]`` is ∂²f/∂y∂x = ∂/∂y[∂f/∂x] (f_xy); no ``wrt``
        or ``order`` beside it.

    Returns
    -------
    ExprDerivation
        Steps: f = …, then per variable the engine's rule-by-rule derivative, then (with ``at``)
        the values and a finite-difference table. Results: ∂f/∂x per variable (with ``of`` and
        ``wrt``, checkable with ``sympy.diff``), ∇f for several variables, and the values at
        the point. A higher derivative records each order in turn; d^nf/dx^n has ``of`` f and
        ``wrt`` (x, n), a mixed one ``of`` the derivative before it (∂f/∂x) and ``wrt`` y, so
        that ``sympy.diff(of, wrt)`` is its value either way. ``checks`` holds the finite-difference comparisons; ``failed`` those that
        disagree.

    Raises
    ------
    DeriveError
        For input that does not parse, a ``wrt`` name not in the expression, or a bad point.
    """
    try:
        return _expr_derivation(text, wrt, from_latex, at, checker, order, mixed)
    except RecursionError:
        raise said("too large: the expression is nested too deeply to work out step by step",
                   "太大：表达式嵌套太深，无法一步步推导") from None
    except MemoryError:
        raise said("too large: working out this derivative ran out of memory",
                   "太大：推导这个导数时内存不够") from None


def _expr_derivation(text, wrt, from_latex: bool, at, checker, order=1, mixed=None) -> ExprDerivation:
    expr = _parse(text, from_latex)
    sequence = _sequence(expr, wrt, order, mixed)
    variables = sequence[:1] if sequence else _choose_wrt(expr, wrt)
    _check_size(expr, variables)
    point = _point(expr, at) if at is not None else None

    f = _function_name(expr)
    d = Builder(_ExprModel(), partial=len(expr.free_symbols | set(sequence)) > 1)
    written = _written_order(text, from_latex)
    d.shown_sums.update(written)
    typed, real = _typed_form(text, from_latex, expr, printing.Order(dict(written)))
    d.title = Msg.of("Derivative of {f}", "{f} 的导数", f=printing.AsShown(printing.arrange(typed, printing.Order(dict(written)))))
    d.define(f, typed, _readings_note(text, from_latex))
    # the rewritten line in the typed order too (its terms are not the statement's to follow)
    as_typed = printing.arrange(expr, printing.Order(dict(written)))
    if typed.has(log_base):
        d.eq(f, as_typed, "rewrite", Msg.of("change of base, $log_b(u) = log(u)/log(b)$",
                                         "换底公式 $log_b(u) = log(u)/log(b)$"))
    elif real:
        d.eq(f, as_typed, "real_variables", Msg.of("for real {v}", "{v} 为实数", v=real))
    elif typed is not expr:
        d.eq(f, as_typed, "evaluate")
    if sequence:
        derivatives, fd_of = _higher(d, f, expr, sequence)
    else:
        derivatives, fd_of = {}, expr
        for x in variables:
            if len(variables) > 1:
                d.section("With respect to {x}", "对 {x} 求导", x=x)
            lhs = Derivative(f, x, evaluate=False)
            derivatives[lhs] = d.work(lhs, expr, x, finish=lambda e: textbook_form(e, expr))
            _answer_by_degree(d, derivatives[lhs])
            d.result(printing.text(lhs, partial=d.partial), derivatives[lhs], of=f, wrt=x)
    if len(derivatives) > 1:
        gradient = sp.Tuple(*derivatives.values())
        d.result(printing.text(Gradient(f)), gradient, lhs=Gradient(f),
                 check=(sp.Tuple(*derivatives), gradient))

    checks = ()
    if point is not None:
        checks = _at_point(d, f, expr, derivatives, point, checker, fd_of)
    return _finish(d, checks)


# The highest derivative derive expr works out: each order differentiates the whole answer of
# the one before, which may double in size.
MAX_ORDER = 5

_ORDINALS = (("First", "一"), ("Second", "二"), ("Third", "三"), ("Fourth", "四"), ("Fifth", "五"))


def _sequence(expr, wrt, order, mixed) -> list[Symbol]:
    """The variables a higher derivative applies, in order ([x, x] for d²f/dx², [x, y] for
    ∂²f/∂y∂x), or [] for first derivatives (one per ``wrt`` variable, as today)."""
    if isinstance(order, bool) or not isinstance(order, int) or order < 1:
        raise said(f"--order: expected a whole number from 1 to {MAX_ORDER}, not {order!r}",
                   f"--order：应为 1 到 {MAX_ORDER} 的整数，不能是 {order!r}")
    if mixed:
        if wrt or order != 1:
            raise said("--mixed names every variable of the derivative: give it without "
                       "--wrt and --order (--mixed x,y is ∂²f/∂y∂x)",
                       "--mixed 已列出导数的每个变量：不要再给 --wrt 和 --order"
                       "（--mixed x,y 即 ∂²f/∂y∂x）")
        names = [n.strip() for m in ([mixed] if isinstance(mixed, str) else mixed) for n in str(m).split(",")]
        if len(names) < 2:
            raise said("--mixed: name at least two variables, in the order they are applied "
                       "(--mixed x,y); for one, use --wrt x",
                       "--mixed：按求导的先后顺序至少列出两个变量（--mixed x,y）；只有一个变量时用 --wrt x")
        # a variable may come back (f_xxy): each name is checked on its own
        sequence = [check_wrt(expr, [n])[0] if expr.free_symbols else _constant_wrt(n) for n in names]
    elif order == 1:
        return []
    else:
        variables = _choose_wrt(expr, wrt)
        if len(variables) > 1:
            raise said("--order takes one variable (--wrt x --order 2); for a mixed partial "
                       "derivative name its variables with --mixed x,y",
                       "--order 只对一个变量（--wrt x --order 2）；混合偏导数请用 --mixed x,y 列出变量")
        sequence = variables * order
    if len(sequence) > MAX_ORDER:
        raise said(f"too large: derivatives of order {len(sequence)}; derive works out "
                   f"orders up to {MAX_ORDER}",
                   f"太大：{len(sequence)} 阶导数；derive 最多推导 {MAX_ORDER} 阶")
    return sequence


def _higher(d: Builder, f, expr, sequence: list) -> tuple[dict, sp.Expr]:
    """The derivatives of ``expr`` along ``sequence``, each worked out from the one before by the
    engine's rules, one section per order, each recorded as a result. Returns the last one
    (its displayed left-hand side → its final form) and the derivative it was worked out from,
    whose finite differences check it at a point."""
    current = previous = expr
    pure = len(set(sequence)) == 1
    lhs = None
    for k, x in enumerate(sequence, 1):
        before = lhs
        # ∂²f/∂y∂x is ∂/∂y[∂f/∂x]: the last variable applied stands first, as textbooks write it
        lhs = Derivative(f, *reversed(sequence[:k]), evaluate=False)
        applied = Derivative(f, *sequence[:k], evaluate=False)
        heading = sp.Eq(Prime(f, x, k), lhs, evaluate=False) if pure and not d.partial else lhs
        if k == 1:
            d.section("First derivative {d}", "一阶导数 {d}", d=heading)
        else:
            en, zh = _ORDINALS[k - 1]
            d.section(f"{en} derivative {{d}}: the derivative of {{b}} with respect to {{x}}",
                      f"{zh}阶导数 {{d}}:{{b}} 对 {{x}} 求导", d=heading, b=before, x=x)
        # the sums of the statement and of every derivative before keep their signs: 1 − σ(z)
        previous, current = current, d.work(lhs, current, x, checked_as=applied,
                                             finish=lambda e, t=sp.Tuple(expr, current): textbook_form(e, t))
        _answer_by_degree(d, current)
        name = printing.text(lhs, partial=d.partial)
        if pure or k == 1:
            d.result(name, current, of=f, wrt=sp.Tuple(x, k) if k > 1 else x, lhs=lhs)
        else:
            d.result(name, current, of=Derivative(f, *sequence[:k - 1], evaluate=False), wrt=x, lhs=lhs)
    return {lhs: current}, previous


_SUPERSCRIPT = str.maketrans("0123456789-+", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺")


def _readings_note(text, from_latex: bool) -> Msg | None:
    """The statement's note on powers written on functions' names, read as textbooks mean them:
    ``sin^2 x`` is (sin x)², ``cos^-1 x`` is acos x (not 1/cos x)."""
    if not isinstance(text, str):
        return None
    shown = []
    for r in function_readings(text, from_latex):
        power = r.exponent.translate(_SUPERSCRIPT) if re.fullmatch(r"[-+]?\d+", r.exponent) \
            else f"^({r.exponent})"
        meaning = f"a{r.name}(u)" if r.inverse else f"({r.name} u){power}"
        form = f"${r.name}{power}(u) = {meaning}$"
        if form not in shown:
            shown.append(form)
    if not shown:
        return None
    forms = ", ".join(shown)
    return Msg.of(f"as textbooks write it, {forms}", f"按教科书的记法,{forms}")


def _answer_by_degree(d: Builder, final) -> None:
    """Let the results show the polynomials of ``final`` by descending degree, as a textbook
    answer is written (12·x³ − 6·x² + 9), whatever order the lines kept from the statement. A
    sum of several variables keeps the order it was shown in: y − w·x − b, as typed."""
    for node in printing.preorder(final):
        # a binomial keeps the order the last line showed (1 + x², 3 − 5·sin(x)²): the answer
        # reads as the line it repeats
        if not isinstance(node, sp.Add) or len(node.args) < 3:
            continue
        if node.is_polynomial() and len(node.free_symbols) == 1:
            d.shown_sums.pop(printing.canon(node), None)
        elif (g := _generator(node)) is not None and sp.degree(node, g) > 1:
            # a polynomial in σ(z) is written by degree too: 6·σ(z)² − 6·σ(z) + 1 (and 1 − σ(z)
            # as the notes write it)
            terms = sorted(node.args, key=lambda t: -sp.degree(t, g))
            d.shown_sums[printing.canon(node)] = tuple(printing.canon(t) for t in terms)


def _generator(node):
    """The function g(x) that the sum ``node`` is a polynomial of, if it is one."""
    heads = {a for t in node.args for a in sp.Mul.make_args(t) if not a.is_Number}
    bases = {h.as_base_exp()[0] for h in heads}
    if len(bases) != 1 or not isinstance(g := bases.pop(), sp.Function):
        return None
    return g if all(h.as_base_exp()[1].is_Integer and h.as_base_exp()[1] > 0 for h in heads) else None


def _at_point(d: Builder, f, expr, derivatives: dict, point: dict, checker, fd_of) -> tuple:
    """Evaluate each derivative (its displayed left-hand side → its final form) at ``point``
    (shown and recorded), then compare with finite differences (``checker``) of ``fd_of``, the
    function each is the derivative of (f itself, or the derivative before a higher one), in
    a table."""
    shown = [sp.Eq(s, _shown(v), evaluate=False) for s, v in sorted(point.items(), key=lambda kv: kv[0].name)]
    where = Msg.of("at {p}", "在 {p} 处", p=tuple(shown))
    d.section("At the point {p}", "在点 {p} 处", p=tuple(shown))
    at_text = ", ".join(printing.text(e) for e in shown)
    # the function itself must be a real number there (log(x) at x = −1 is not, although its
    # derivative −1/x would evaluate)
    _number(_substitute(to_elementary(expr), point, printing.text(f), at_text), printing.text(f), at_text)
    values, exacts = {}, []
    by_variable = {}
    for derivative, final in derivatives.items():
        # the variable applied last: ∂²f/∂y∂x is the finite difference of ∂f/∂x in y
        x = derivative.variable_count[0][0]
        by_variable[x] = derivative
        lhs = At(derivative, shown)
        name = printing.text(derivative, partial=d.partial)
        exact = _substitute(final, point, name, at_text)
        exacts.append(exact)
        approx = _number(exact, name, at_text)
        # the exact value when it says more than the decimal (σ(1)·(1 − σ(1)), 3/4), then the
        # decimal unless the exact value is a plain rational
        lines = [] if exact.is_Float else [exact]
        if not exact.is_Rational:
            lines.append(approx)
        for i, rhs in enumerate(lines):
            d.eq(lhs, rhs, "evaluate", where if i == 0 else None, check=(exact, rhs))
        values[x] = exact if exact.is_Rational else approx
        d.result(printing.text(lhs, partial=d.partial), values[x], lhs=lhs, check=(exact, values[x]))
    if len(derivatives) > 1:
        lhs = At(Gradient(f), shown)
        gradient = sp.Tuple(*values.values())
        d.result(printing.text(lhs, partial=d.partial), gradient, lhs=lhs, check=(sp.Tuple(*exacts), gradient))

    if checker is None:
        return ()
    checks = tuple(checker(to_elementary(fd_of), point, values))
    d.section("Check against finite differences", "与有限差分核对")
    d.table(
        [Msg("derivative", "导数"), Msg("value", "值"), Msg("finite difference", "有限差分"),
         Msg("error estimate", "误差估计"), Msg("|difference|", "|差|")],
        [[by_variable[c.wrt], f"{c.value:.12g}", f"{c.fd:.12g}", f"{c.error:.1e}",
          f"{abs(c.value - c.fd):.1e}"] for c in checks],
    )
    d.note(
        "Finite differences: central differences computed with 60 significant digits (where "
        "the function is not real on both sides, Richardson extrapolation in double precision); "
        "a value agrees when it is within {k} error estimates (plus a relative $10⁻⁷$) of "
        "the difference.",
        "有限差分:以 60 位有效数字计算的中心差分(若函数在该点两侧不都是实数,则改用双精度的 "
        "Richardson 外推);两值之差在 {k} 倍误差估计(另加相对 $10⁻⁷$)之内即为一致。",
        k=sp.Integer(int(checks[0].factor)),
    )
    for c in checks:
        lhs = by_variable[c.wrt]
        if c.verdict == "kink":
            d.note("{d}: $f$ has a kink here; the value is a one-sided derivative (the convention "
                   "$ReLU′(0) = 0$), the central difference averages the two sides.",
                   "{d}:$f$ 在此处有折点;所给值是单侧导数(约定 $ReLU′(0) = 0$),中心差分是两侧的平均。",
                   d=lhs)
        elif c.verdict == "disagree":
            d.note("{d} DISAGREES with the finite difference.", "{d} 与有限差分不一致。", d=lhs)
    if all(c.verdict == "agree" for c in checks):
        d.note("Every derivative agrees with its finite difference.", "每个导数都与有限差分一致。")
    return checks


# A power of two numbers with more digits than this is not computed at a point (x^(x^x) at
# x = 100 has 10²⁰⁰ digits): double precision, which the check uses, ends at 10³⁰⁸.
_MAX_POINT_DIGITS = 400


def _substitute(expr, point: dict, name: str, where: str) -> sp.Expr:
    """``expr`` at ``point``; a DeriveError when a function refuses the value there (Max and
    Heaviside refuse log(0) = −∞: ReLU(log(log 1)) has no value at all) or when a power of
    numbers there would be too large to compute."""
    try:
        return _bounded_at(expr, point, name, where)
    except (TypeError, ValueError):
        raise said(f"{name} is not defined at {where}", f"{name} 在 {where} 处无定义") from None


def _bounded_at(expr, point: dict, name: str, where: str) -> sp.Expr:
    """``expr.xreplace(point)`` built from the leaves up, each power of two rationals (which
    SymPy computes exactly) estimated, its number of digits, before it is computed."""
    if expr in point:
        return point[expr]
    if not expr.args or not expr.has(*point):
        return expr
    args = [_bounded_at(a, point, name, where) for a in expr.args]
    if expr.is_Pow and all(a.is_Rational for a in args):
        base, exponent = _log10_abs(args[0]), _log10_abs(args[1])
        if base is not None and exponent is not None and mpmath.isfinite(base):
            digits = abs(base) * mpmath.power(10, exponent)
            if digits > _MAX_POINT_DIGITS:
                shown = mpmath.nstr(digits, 3)
                raise said(f"too large: {name} at {where} holds a power of about {shown} "
                           f"digits; derive stops at {_MAX_POINT_DIGITS}",
                           f"太大：{name} 在 {where} 处含有一个约 {shown} 位的幂；"
                           f"derive 最多处理 {_MAX_POINT_DIGITS} 位")
    return expr.func(*args)


def _number(exact, name: str, where: str) -> sp.Expr:
    """``exact`` as a 15-digit Float; a DeriveError when it is not a finite real number that
    double precision (and so the finite-difference check) can hold."""
    if exact.has(sp.nan, sp.zoo, sp.oo, -sp.oo):
        raise said(f"{name} is not defined at {where} (division by zero or a pole)",
                   f"{name} 在 {where} 处无定义（除以零或极点）")
    _check_growth(exact, name, where)
    try:
        value = complex(exact.evalf(30))
    except (TypeError, ValueError):
        raise said(f"{name} cannot be evaluated at {where}", f"{name} 在 {where} 处无法求值") from None
    except OverflowError:
        value = complex(math.inf)
    if abs(value.imag) > 1e-12 * max(1.0, abs(value.real)):
        raise said(f"{name} is not a real number at {where}", f"{name} 在 {where} 处不是实数")
    if not abs(value.real) < 1e300:
        raise said(f"{name} at {where} is too large to check in double precision",
                   f"{name} 在 {where} 处太大，无法用双精度检验")
    return sp.Float(exact.evalf(15).as_real_imag()[0], 15)


# The largest argument of exp, sinh or cosh (or exponent times log of a base) evaluated at a
# point: e^10000 has 4,343 digits, and a sine of it needs as many to be evaluated;
# sin(exp(exp(100))) would need 10⁴³.
_MAX_GROWTH_ARGUMENT = 10_000


def _check_growth(exact, name: str, where: str) -> None:
    """Refuse a value whose exponentials have arguments past ``_MAX_GROWTH_ARGUMENT``, inner
    ones first (each argument is evaluated only once its own exponentials are known small)."""
    for node in sp.postorder_traversal(exact):
        if isinstance(node, (sp.exp, sp.sinh, sp.cosh)):
            argument = node.args[0]
        elif node.is_Pow and node.is_number:
            argument = node.exp * sp.log(abs(node.base))   # bᵉ = exp(e·log b), in size
        else:
            continue
        try:
            size = abs(complex(argument.evalf(15)).real)
        except (TypeError, ValueError, OverflowError):
            continue
        if size > _MAX_GROWTH_ARGUMENT:
            raise said(f"too large: {name} at {where} holds an exponential of about e^{size:.3g}; "
                       f"derive stops at e^{_MAX_GROWTH_ARGUMENT:,}",
                       f"太大：{name} 在 {where} 处含有约 e^{size:.3g} 的指数；"
                       f"derive 最多处理 e^{_MAX_GROWTH_ARGUMENT:,}")


def _finish(d: Builder, checks: tuple) -> ExprDerivation:
    _notes_as_shown(d)
    base = d.finish()
    return ExprDerivation(**{fl.name: getattr(base, fl.name) for fl in fields(Derivation)}, checks=checks)


def _notes_as_shown(d: Builder) -> None:
    """The chain rule's u = g(x) in the order the lines show g(x): with u₁ = x + √x for
    √(x + √x), not √x + x."""
    order = printing.Order(d.shown_sums)
    for n, step in enumerate(d.steps):
        note = step.note
        if step.rule != "chain" or note is None or not any(k == "g" for k, _ in note.args):
            continue
        args = tuple((k, printing.AsShown(printing.arrange(v, order)) if k == "g" and isinstance(v, sp.Add)
                      else v) for k, v in note.args)
        d.steps[n] = replace(step, note=replace(note, args=args))


def check_message(d: ExprDerivation) -> tuple[str, str]:
    """One line naming the derivatives that disagree with their finite differences, in English
    and in Chinese."""
    parts = [
        f"∂/∂{c.wrt.name}: derived {c.value:.12g}, finite difference {c.fd:.12g} ± {c.error:.1e}"
        for c in d.failed
    ]
    parts_zh = [f"∂/∂{c.wrt.name}：推导值 {c.value:.12g}，有限差分 {c.fd:.12g} ± {c.error:.1e}"
                for c in d.failed]
    return ("the derivative disagrees with finite differences: " + "; ".join(parts),
            "导数与有限差分不符：" + "；".join(parts_zh))
