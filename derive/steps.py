"""A derivation is data: ordered steps (headings, notes, verified equations, tables) and results.

Models write derivations with a ``Builder``; renderers (``derive.render``) are views of the
finished ``Derivation`` and never recompute mathematics.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable, Iterable

import sympy as sp
from sympy import Derivative, Expr, Symbol

from . import printing
from .messages import Msg
from .verify import Deferred, VerificationError, check_equal, expand_defs, prove, realize, relu_as_max


@dataclass(frozen=True)
class Table:
    columns: tuple            # of Msg
    rows: tuple               # of tuples of Expr | str


@dataclass(frozen=True)
class Step:
    """One thing shown to a reader. ``kind`` is one of heading, note, equation, table."""

    kind: str
    rule: str = ""
    lhs: Any = None
    rhs: Any = None
    note: Msg | None = None
    verified: str = ""        # "symbolic" | "numeric" | "definition" for equations
    continued: bool = False   # same left-hand side as the equation before: shown as "= rhs"
    table: Table | None = None
    check: tuple | None = None  # what was verified, when not lhs = rhs themselves
    order: Any = field(default=None, compare=False)  # printing.Order: how its sums are shown
    # "check": a line that verifies the student's lines (a checker's expanded form), shown with --verbose
    audience: str = "student"


class Later:
    """Part ``index`` of what ``compute()`` returns, computed once, on first use (shared by the
    parts of one computation)."""

    def __init__(self, compute: Callable, index: int):
        self._compute, self.index = compute, index


def _now(x):
    """``x``, or what it stands for when it is a ``Later``."""
    return x._compute()[x.index] if isinstance(x, Later) else x


class _Checkable:
    """A field of ``Result`` that may hold a ``Later``, replaced by its value when first read."""

    def __set_name__(self, owner, name):
        self.slot = f"_{name}"

    def __get__(self, obj, owner=None):
        if obj is None:
            return None     # the field's default
        value = obj.__dict__[self.slot]
        if isinstance(value, Later):
            value = obj.__dict__[self.slot] = _now(value)
        return value

    def __set__(self, obj, value):
        obj.__dict__[self.slot] = value


@dataclass(frozen=True)
class Result:
    """A result ``lhs = display`` in the notes' form, with ``value``, the display in checkable
    form (SymPy built-ins only), and what re-checks it.

    A derivative names ``of`` and ``wrt`` (checkable forms too), so that anyone can check
    ``sympy.diff(of, wrt) == value``. ``check`` is the pair that proves ``lhs = display`` when
    they cannot be compared as written (an index-form line at small sizes, a sum over n at
    n = 3, a function's value at a point), like ``Step.check``.

    ``value`` and ``of`` may be given as a ``Later``: they are then worked out when first read
    (the JSON view, ``verify``, a proof the cache does not hold), so that a text or LaTeX view of
    a derivation whose proofs are remembered never works them out.
    """

    name: str
    lhs: Any
    display: Expr
    value: Expr = _Checkable()
    of: Expr | None = _Checkable()
    wrt: Symbol | None = None
    note: Msg | None = None
    check: tuple | None = None
    order: Any = field(default=None, compare=False)  # printing.Order: as the derivation showed it
    audience: str = "student"  # "check": a checkable form of another result, shown with --verbose
    label: str = ""  # the notes' name for it (da for ∂L/∂a), shown before lhs; the name is for programs

    def verify(self, defs: dict) -> str:
        """Re-check this result against the derivation's definitions ``defs``; return how
        ("symbolic" or "numeric", the weaker of its checks), or raise VerificationError.

        A derivative: ``sympy.diff(of, wrt) = value``, and its ``check`` pair when it has one.
        Any other result: ``check`` (by default ``lhs = display``), and ``value`` equal to the
        display.
        """
        try:
            if self.of is not None:
                hows = [check_equal(sp.diff(self.of, self.wrt), self.value, remembered=False)]
                if self.check is not None:
                    hows.append(check_equal(*self.check, defs, remembered=False))
            else:
                hows = [check_equal(*(self.check or (self.lhs, self.display)), defs, remembered=False),
                        check_equal(self.value, self.display, defs, remembered=False)]
        except VerificationError as exc:
            raise VerificationError(f"result {self.name}: {exc}") from None
        return "numeric" if "numeric" in hows else "symbolic"


@dataclass(frozen=True)
class Derivation:
    model: str
    title: Msg
    steps: tuple
    results: tuple
    defs: dict = field(default_factory=dict, compare=False)
    partial: bool = True
    # (digest, how) of each claim proved while it was built (derive.verify.prove's ``made``)
    claims: tuple = field(default=(), compare=False, repr=False)

    @property
    def lines(self) -> list[Step]:
        """The equation steps."""
        return [s for s in self.steps if s.kind == "equation"]

    def result(self, name: str) -> Result:
        for r in self.results:
            if r.name == name:
                return r
        raise KeyError(name)

    def verify(self) -> int:
        """Re-verify every equation and every result (the tests call this for every model),
        each proved afresh: the cache of proved lines (``derive.verify``) is not consulted.

        Returns the number of results re-checked (each by ``Result.verify``); raises
        VerificationError at the first result or line that does not hold.
        """
        # results first: a wrong result, what a reader takes away, is found without the lines' work
        checked = 0
        for r in self.results:
            r.verify(self.defs)
            checked += 1
        for s in self.lines:
            lhs, rhs = s.check or (s.lhs, s.rhs)
            check_equal(lhs, rhs, self.defs, remembered=False)
        return checked

    # Views ---------------------------------------------------------------------------------
    def render(self, fmt: str = "text", *, show_steps: bool = True, lang: str = "en", **opts) -> str:
        from .render import render

        return render(self, fmt, show_steps=show_steps, lang=lang, **opts)

    def latex(self, show_steps: bool = True, lang: str = "en", standalone: bool = False) -> str:
        return self.render("latex", show_steps=show_steps, lang=lang, standalone=standalone)

    def markdown(self, show_steps: bool = True, lang: str = "en") -> str:
        return self.render("markdown", show_steps=show_steps, lang=lang)

    def to_json(self, lang: str = "en") -> dict:
        from .render.json import as_dict

        return as_dict(self, lang=lang)

    def _repr_markdown_(self) -> str:
        return self.markdown()

    def _repr_latex_(self) -> str:
        from .render.jupyter import JupyterRenderer

        return JupyterRenderer(self).render()

    def __rich__(self):
        from .render.text import TextRenderer

        return TextRenderer(self)

    def __str__(self) -> str:
        return self.render("text", color=False)


class Builder:
    """What a model's ``build(d)`` writes to. Every equation is verified when it is added."""

    def __init__(self, model, *, partial: bool = True):
        self.model = model
        self.title = Msg(model.title)
        self.partial = partial
        self.defs: dict = {}
        self.steps: list[Step] = []
        self.results: list[Result] = []
        # the display order of every sum shown so far (printing.Order.known): a sum shown once
        # is shown the same way again, in later lines and in the results
        self.shown_sums: dict = {}
        self.claims: list = []

    # Prose ---------------------------------------------------------------------------------
    def section(self, en: str, zh: str | None = None, **args) -> None:
        self.steps.append(Step("heading", note=Msg.of(en, zh, **args)))

    def note(self, en: "str | Msg", zh: str | None = None, **args) -> None:
        """A paragraph: the two templates and their arguments, or a ``Msg`` as it is (one with a
        sentence for the audience "check" following)."""
        self.steps.append(Step("note", note=en if isinstance(en, Msg) else Msg.of(en, zh, **args)))

    def table(self, columns: Iterable, rows: Iterable) -> None:
        cols = tuple(c if isinstance(c, Msg) else Msg(str(c)) for c in columns)
        self.steps.append(Step("table", rule="table", table=Table(cols, tuple(tuple(r) for r in rows))))

    # Equations -----------------------------------------------------------------------------
    def let(self, symbol: Symbol, value) -> Symbol:
        """Register a definition used by verification, without showing a line.

        A symbol means one thing in a derivation (every line is re-verified against the final
        definitions), so a different second definition is refused.
        """
        value = sp.sympify(value)
        if symbol in self.defs and self.defs[symbol] != value:
            raise ValueError(f"{symbol} is already defined as {self.defs[symbol]}")
        self.defs[symbol] = value
        return symbol

    def define(self, symbol: Symbol, value, note: Msg | None = None) -> Symbol:
        """Show and register ``symbol = value`` (an intermediate of the model)."""
        self.let(symbol, value)
        self._append(Step("equation", "definition", symbol, value, note, "definition"))
        return symbol

    def eq(self, lhs, rhs, rule: str, note: Msg | None = None, check: tuple | None = None,
           audience: str = "student") -> Expr:
        """Show ``lhs = rhs`` by ``rule``; verified first (``check`` = the pair to verify instead,
        e.g. concrete matrices for a vectorized line). ``audience`` "check": a line that is there
        to verify the student's lines (shown with ``verbose``, flagged in the JSON)."""
        try:
            how = prove(check if check is not None else (lhs, rhs), self.defs, made=self.claims)
        except VerificationError as exc:
            raise VerificationError(f"{self.model.name}: {exc}") from None
        self._append(Step("equation", rule, lhs, rhs, note, how, check=check, audience=audience))
        return rhs

    def _append(self, step: Step) -> None:
        # a student's line does not continue a check line, which the student does not see
        prev = next((s for s in reversed(self.steps) if s.kind != "note"
                     and (s.audience == "student" or step.audience != "student")), None)
        continued = (prev is not None and prev.kind == "equation" and step.kind == "equation"
                     and prev.lhs == step.lhs)
        # a continued line keeps the order of the line before: its terms stay in place and a
        # rewritten term takes the place of the one it came from; a simplified line too, for
        # the terms and factors that survive it
        if step.kind == "equation":
            ranks = printing.line_order(prev.rhs, prev.order)[1] if continued else None
            known, _ = printing.line_order(step.rhs, printing.Order(self.shown_sums, ranks))
            self.shown_sums.update(known)
            step = Step(**{**step.__dict__, "continued": continued, "order": printing.Order(known)})
        self.steps.append(step)

    def work(self, lhs, expr, wrt: Symbol, names: dict | None = None, note: Msg | None = None,
             simplify: bool = True, finish=None, checked_as=None) -> Expr:
        """Differentiate ``expr`` with respect to ``wrt`` by the engine, one rule per line,
        under the name ``lhs``; returns the final form (without ``simplify``, the form the last
        rule left, for a model that opens the algebra itself; ``finish``: see ``engine.steps``).
        ``checked_as``: the derivative each line is verified as, when it is not ``lhs`` as
        written (a mixed partial is shown ∂²f/∂y∂x and checked as ∂/∂y of ∂f/∂x)."""
        from . import engine  # the rule engine: a derivation read from the store never needs it

        namer = engine.Namer(
            names=dict(names or {}),
            taken={s.name for s in expr.free_symbols} | {s.name for s in self.defs},
        )

        def check(rhs):
            return (checked_as, rhs) if checked_as is not None and checked_as != lhs else None

        # worked out in the order the formulas shown so far print its sums and products
        rule = engine.diff_rule(expr, wrt, namer, printing.Order(dict(self.shown_sums)))
        opened = Derivative(expr, wrt, evaluate=False)
        self.eq(lhs, opened, "differentiate", note, check=check(opened))
        current = None
        for line in engine.steps(rule, simplify, finish, multiply_out=True):
            r = line.rule
            n = None
            if r is not None:
                n = Msg.rule_note(line.key, **{k: v for k, v in r.msg_args().items() if k in ("u", "g", "c", "n")})
            shown = line.rhs if line.shown is None else line.shown
            if line.key == "multiply_out":
                # the products multiplied out where the line before showed them
                prev = self.steps[-1]
                shown = engine.numerator_multiplied_out(printing.arrange(prev.rhs, prev.order))
                if shown is None:
                    continue
            self.eq(lhs, shown, line.key, n, check=check(shown))
            current = line.rhs
        return current

    def local(self, node: Symbol, wrt: Symbol) -> Expr:
        """∂node/∂wrt worked out from the node's definition, then written with the model's
        intermediates (σ(z)(1 − σ(z)) becomes a(1 − a) when a = σ(z))."""
        lhs = Derivative(node, wrt, evaluate=False)
        value = self.work(lhs, self.defs[node], wrt)
        back = {v: k for k, v in self.defs.items() if isinstance(k, Symbol) and not v.is_Atom}
        rewritten = value.xreplace(back)
        if rewritten != value:
            self.eq(lhs, rewritten, "intermediates",
                    Msg.of("with {defs}", "其中 {defs}", defs=_defs_text(back, rewritten)))
        return rewritten

    def backward(self, out: Symbol, order: Iterable[Symbol], *, names: dict | None = None,
                 style: str = "names", opened: dict | None = None, at: dict | None = None) -> dict:
        """Back-propagate ``out`` through the registered graph: for each node in ``order``
        (reverse topological), ∂out/∂v = Σ over consumers c of ∂out/∂c·∂c/∂v.

        ``names`` maps a node to its gradient's name in the notes (z → dz). With
        ``style="names"`` a downstream line keeps an upstream name (dw1 = x1·dz) unless
        substituting its value simplifies (dz = a − y); ``style="values"`` always substitutes.
        ``opened`` maps a node to the lines ``(rhs, rule, note)`` shown between its substituted
        gradient and the simplified one: the algebra the notes show instead of "simplify" (the
        last of them may be the simplified form itself, with its own note).
        ``at`` (with ``style="values"``), a point {input: value}: each chained gradient is shown
        as the product of its upstream and local factors, then with the numbers of the point,
        then as its value there (dJ/db = 3·c = 3·2 = 6, as the notes' backward pass).
        Returns node → displayed gradient (symbolic, not its value at the point).
        """
        names = names or {}
        shown: dict = {out: sp.S.One}
        for v in order:
            consumers = [c for c in self._consumers(v) if c in shown]
            if not consumers:
                raise ValueError(f"{v} does not reach {out}")
            lhs = Derivative(out, v, evaluate=False)
            if consumers == [out]:
                value = self.local(out, v)
            else:
                locals_ = {c: self.local(c, v) for c in consumers}
                chain = sp.Add(*[Derivative(out, c, evaluate=False) * Derivative(c, v, evaluate=False)
                                 if c != out else Derivative(out, v, evaluate=False) for c in consumers])
                self.eq(lhs, chain, "chain" if len(consumers) == 1 else "sum_paths")
                named = sp.Add(*[_mul(locals_[c], names.get(c, shown[c])) for c in consumers])
                by_value = sp.Add(*[_mul(locals_[c], shown[c]) for c in consumers])
                if style == "names" and named != by_value:
                    self.eq(lhs, named, "substitute")
                from . import engine

                simplified = engine.tidy(by_value)
                keep_names = (
                    style == "names"
                    and named != by_value
                    and not simplified.is_Number
                    and sp.count_ops(simplified) >= max(sp.count_ops(shown[c]) for c in consumers)
                )
                if keep_names:
                    value = named
                elif at is not None:
                    value = self._at_point(lhs, [(shown[c], locals_[c]) for c in consumers], at)
                else:
                    if style == "values" or named != by_value:
                        self.eq(lhs, by_value, "substitute")
                    last = by_value
                    for rhs, rule, note in (opened or {}).get(v, ()):
                        last = self.eq(lhs, rhs, rule, note)
                    # opened lines that end at the simplified form need no "simplify" after them
                    if simplified != last:
                        self.eq(lhs, simplified, "simplify")
                    value = simplified
            shown[v] = value
            if v in names:
                self.let(names[v], Derivative(out, v, evaluate=False))
        return shown

    def _at_point(self, lhs, products: list, at: dict) -> Expr:
        """``lhs`` = Σ upstream·local, each product shown factor by factor (3·1, 3·c), then
        with the point's numbers (3·2) and as the number (6); returns the symbolic sum."""
        def shown(pairs):
            return sp.Add(*[sp.Mul(up, local, evaluate=False) for up, local in pairs], evaluate=False)

        value = sp.Add(*[up * local for up, local in products])
        self.eq(lhs, shown(products), "substitute")
        numbers = [(up.xreplace(at), local.xreplace(at)) for up, local in products]
        v = lhs.variables[0]
        # the line holds at the point only: checked against sympy.diff of the output written
        # out, at the point
        exact = sp.diff(expand_defs(lhs.expr, self.defs, keep=(v,)), v).xreplace(at)
        if numbers != products:
            used = sorted(value.free_symbols & set(at), key=lambda s: s.name)
            self.eq(lhs, shown(numbers), "evaluate",
                    Msg.of("at {at}", "在 {at} 处", at=tuple(sp.Eq(s, at[s], evaluate=False) for s in used)),
                    check=(exact, shown(numbers)))
        self.eq(lhs, value.xreplace(at), "simplify", check=(exact, value.xreplace(at)) if value.free_symbols else None)
        return value

    def _consumers(self, v) -> list:
        return [k for k, e in self.defs.items() if isinstance(k, Symbol) and e.has(v)
                and not isinstance(e, Derivative)]

    # Results -------------------------------------------------------------------------------
    def result(self, name: str, display, *, of=None, wrt=None, lhs=None, note: Msg | None = None,
               check: tuple | None = None, keep=(), given: dict | None = None, value=None,
               audience: str = "student", label: str = "") -> Result:
        """Record the result ``lhs = display``, verified first, with what re-checks it
        (``Result.verify``, which ``Derivation.verify`` calls).

        Parameters
        ----------
        name : str
            The result's name (``Derivation.result(name)``).
        display
            The result in the notes' form.
        of, wrt : optional
            For a derivative: the function and the variable. ``sympy.diff(of, wrt) = value`` is
            verified (unless ``check`` is given) and re-checked; ``lhs`` defaults to ∂of/∂wrt.
            With ``check`` and ``lhs`` given, ``of`` (and ``value``) may be a ``Later``: worked
            out only when the checkable forms are read.
        lhs : optional
            The left-hand side shown.
        note : Msg, optional
        check : (left, right), optional
            The pair verified as ``lhs = display``, as in ``eq``, when they cannot be compared
            as written: an index-form result on a concrete instance, a sum over n at n = 3, a
            function's value at a point. Without ``of`` it defaults to ``(lhs, display)``.
        keep : tuple of Symbol
            Symbols left as they are (besides ``wrt``) in the checkable ``of`` and ``value``.
        given : dict, optional
            Facts substituted in the checkable ``of`` and ``value`` after the definitions (a
            one-hot y_3 = 1 − y_1 − y_2).
        value : optional
            For a derivative shown in index or matrix form: its concrete instance (plain
            symbols w_1_2), which ``of`` and ``wrt`` are then written on. By default the value is
            the display with the definitions substituted.
        label : str, optional
            The notes' name for the result (``da`` for ∂L/∂a), shown before ``lhs``; ``name`` is
            the key programs use, shown with ``verbose``.
        audience : {"student", "check"}
            "check" for a result that only restates another in checkable form (at n = 3, at a
            point): the renderers show it with ``verbose``, the JSON flags it.
        """
        display = sp.sympify(display)
        kept = tuple(s for s in (wrt, *keep) if s is not None)
        instance = value is not None
        if instance and of is None:
            raise ValueError(f"result {name}: a concrete value needs of and wrt, which check it")
        # the checkable forms are worked out on the definitions in force now, when first needed
        defs = dict(self.defs)

        def checkable(expr):
            if instance:
                expr = expand_defs(sp.sympify(expr), defs, keep=kept).xreplace(given or {})
                return realize(relu_as_max(expr))
            return realize(expr, defs, keep=kept).xreplace(given or {})

        @lru_cache(maxsize=1)
        def forms():
            # ``of`` and ``value`` may themselves be ``Later``s (a written-out network built
            # only when a proof is not remembered)
            of_b = checkable(_now(of)) if of is not None else None
            if instance:
                # sympy.diff(Max(0, z), z) is Heaviside(z): the checkable value uses sympy's own
                # step, equal to the displayed [z > 0] everywhere but at the kink
                return of_b, checkable(_now(value)).replace(lambda t: isinstance(t, sp.Heaviside) and len(t.args) == 2,
                                                      lambda t: sp.Heaviside(t.args[0]))
            return of_b, checkable(display)

        if of is not None and lhs is None:
            lhs = Derivative(of, wrt, evaluate=False)
        if of is None and lhs is None and check is None:
            raise ValueError(f"result {name}: without of, give lhs or check")
        r = Result(name, lhs, display, Later(forms, 1), Later(forms, 0), wrt, note, check,
                   printing.Order(printing.line_order(display, printing.Order(self.shown_sums))[0]), audience, label)
        try:
            if check is None:
                if of is not None:
                    # the claim is named by what the checkable forms are computed from (with
                    # the definitions, which prove adds), so a remembered one is not worked out
                    content = ("result", of, wrt, display, value, kept, given, instance)
                    prove(Deferred(content, lambda: (sp.diff(r.of, wrt), r.value)), defs, made=self.claims)
                else:
                    check_equal(lhs, display, self.defs, made=self.claims)
            # a pair that a line has already verified (the same object) is not verified twice
            elif not any(s.check is check for s in self.steps):
                prove(check, self.defs, made=self.claims)
        except VerificationError as exc:
            raise VerificationError(f"{self.model.name}: result {name}: {exc}") from None
        self.results.append(r)
        return r

    def finish(self) -> Derivation:
        return Derivation(
            model=self.model.name,
            title=self.title,
            steps=tuple(self.steps),
            results=tuple(self.results),
            defs=dict(self.defs),
            partial=self.partial,
            claims=tuple(self.claims),
        )


def _mul(local, upstream):
    """upstream·local in the notes' order: a one-symbol local factor first (x1·dz), a longer
    one after the upstream gradient (da·a·(1 − a)), as the substituted line after it stands."""
    if local == 1:
        return upstream
    if upstream == 1:
        return local
    if isinstance(upstream, Symbol) and isinstance(local, Symbol):
        return sp.Mul(*sp.Mul.make_args(local), upstream, evaluate=False)
    return sp.Mul(upstream, *sp.Mul.make_args(local), evaluate=False)


def _defs_text(back: dict, expr) -> Any:
    """The definitions ``a = σ(z)`` used by a rewrite, as a tuple of equalities."""
    return tuple(sp.Eq(k, v, evaluate=False) for v, k in sorted(back.items(), key=lambda kv: kv[1].name) if expr.has(k))
