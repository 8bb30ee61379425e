"""How the notes write things, for the models: products in the order given, sums over the
samples, δ_ik, the elementwise product ⊙, a shape in words.

These build displayed expressions only; ``_concrete`` checks the lines written with them.
"""

from __future__ import annotations

import dataclasses

import sympy as sp
from sympy import IndexedBase

from ..functions import hard_sigmoid, leaky_relu
from ..printing import EXAMPLE

i = sp.Symbol("i", integer=True, positive=True)
n = sp.Symbol("n", integer=True, positive=True)     # samples (statistics)
m = sp.Symbol("m", integer=True, positive=True)     # examples (the course's training set)

# δ_ik as a printed name: 1 when i = k, 0 otherwise. An instance replaces it by that number, so
# no KroneckerDelta object is ever built.
DELTA = IndexedBase("delta")


def sigmoid_derived_later(d, start: int) -> None:
    """Name the σ′ lines the engine wrote since step ``start`` as derived in Activation functions:
    the notes use σ′ = σ(1 − σ) in sections before the one that derives it."""
    for index in range(start, len(d.steps)):
        if d.steps[index].rule == "sigmoid":
            d.steps[index] = dataclasses.replace(d.steps[index], rule="sigmoid_derived")


def sample(name: str) -> sp.Indexed:
    """The i-th sample of ``name`` (x_i)."""
    return sp.Indexed(sp.IndexedBase(name), i)


def example(name: str) -> sp.Indexed:
    """The i-th example of ``name``, printed as the course indexes examples: y⁽ⁱ⁾, dZ[1]⁽ⁱ⁾."""
    return sp.Indexed(sp.IndexedBase(name + EXAMPLE), i)


def total(body, upper=n) -> sp.Sum:
    """Σ_{i=1..upper} body (upper is n or m)."""
    return sp.Sum(body, (i, 1, upper))


def times(*factors) -> sp.Expr:
    """A product printed in the given order (n·μ, not μ·n)."""
    return sp.Mul(*factors, evaluate=False)


def mul(*factors):
    """A product printed in the order given (c_k·σ(r_k)·(1 − σ(r_k))·x_l, as the notes write)."""
    flat = []
    for factor in map(sp.sympify, factors):
        # nested products are flattened, a numeric group such as 2/m stays whole
        if isinstance(factor, sp.Mul) and not factor.args[0].is_Number:
            flat.extend(factor.args)
        else:
            flat.append(factor)
    return sp.Mul(*flat, evaluate=False)


def shown_eq(lhs, rhs):
    """``lhs = rhs`` as written, never evaluated (for a note)."""
    return sp.Eq(lhs, rhs, evaluate=False)


def shape_text(rows, cols) -> str:
    """The shape "rows × cols" of a matrix, as words for a note."""
    return f"{rows} × {cols}"


class ExampleColumn(sp.MatrixSymbol):
    """Column i of a matrix of examples, printed as the course writes one example: x⁽ⁱ⁾ (text),
    x^{(i)} (LaTeX). A vector in a line such as z⁽ⁱ⁾ = wᵀ·x⁽ⁱ⁾ + b, where an ``example`` (a
    scalar entry) cannot stand beside wᵀ."""

    def _derive_text(self, printer):
        return printer._print(example(self.name))

    def _latex(self, printer):
        return printer._print(example(self.name))


class Ones(sp.MatrixSymbol):
    """A column (or matrix) of ones, written bold in text as in LaTeX: 𝟏·b, b·𝟏ᵀ, dZ·𝟏. A plain
    1 beside b would read as the number one times b; 1 − A keeps the plain 1 (``sp.OneMatrix``),
    as the notes write it. A symbol, not SymPy's ``OneMatrix``: SymPy would merge 𝟏·𝟏ᵀ into one
    matrix of ones."""

    def __new__(cls, *args):
        # Ones(rows, cols); SymPy rebuilds it from its arguments (name, rows, cols)
        rows, cols = args[-2:]
        return super().__new__(cls, "𝟏", rows, cols)

    def _derive_text(self, printer):
        return "𝟏"

    def _latex(self, printer):
        return r"\mathbf{1}"


class Hadamard(sp.HadamardProduct):
    """The elementwise product A ⊙ B of the notes, shown in a line; a class of its own so that a
    serialized display (JSON ``display``) names it ``Hadamard``."""


class Squared(sp.HadamardPower):
    """A matrix squared entry by entry, written A² as the notes write tanh′ = 1 − a² (the page
    says the square is elementwise): the engine's A^⊙² is not the course's notation."""

    def __new__(cls, base, exp=2):
        return sp.HadamardPower.__new__(cls, base, sp.sympify(exp))

    def _derive_text(self, printer):
        from sympy.printing.precedence import PRECEDENCE

        return printer.parenthesize(self.base, PRECEDENCE["Pow"]) + "²"

    def _latex(self, printer):
        base = printer._print(self.base)
        # a base with its own superscript (A^{[1]}, a^{⟨t⟩}) in brackets: no double superscript
        return (rf"\left({base}\right)" if "^" in base else base) + "^{2}"



def opened_dz(a, y) -> list:
    """The lines from (−y/a + (1 − y)/(1 − a))·a(1 − a) to a − y, as the notes work them:
    a(1 − a) times each term, then multiplied out, where the two y·a cancel. ``(rhs, rule,
    note)`` each. The multiplied-out sum stands in the note: a line −y + y·a + a − y·a would fix
    the order −y, a for the a − y after it."""
    from ..messages import Msg

    each = sp.Add(mul(-1, y, 1 - a), mul(1 - y, a), evaluate=False)
    # a·y as the printer orders data and prediction: y·a, as −y·(1 − a) multiplies out
    out = sp.Add(-y, a * y, a, -a * y, evaluate=False)
    return [
        (each, "rearrange", Msg.of("{f} times each term", "{f} 乘以每一项", f=mul(a, 1 - a))),
        (a - y, "simplify", Msg.of("multiply out, {s}: the two {t} cancel", "展开得 {s}：两个 {t} 相消",
                                   s=out, t=a * y)),
    ]


class Written(sp.Symbol):
    """A name shown as the notes write it: ``TEXT`` in text, ``TEX`` in LaTeX (a subclass says
    which). A symbol, so that a model can give it a value with ``d.let`` for verification."""

    TEXT = TEX = ""

    def __new__(cls, name=None):
        return super().__new__(cls, name or cls.TEXT)

    def _derive_text(self, printer) -> str:
        return self.TEXT

    def _latex(self, printer) -> str:
        return self.TEX


class Half(Written):
    """The factor ½ written before what it multiplies, as the notes write ½·(…): the printer
    folds a rational coefficient into a trailing /2, where the constant multiple rule's ½ would
    seem to vanish. A model registers its value 1/2 with ``d.let`` so that verification
    substitutes it."""

    TEXT, TEX = "½", r"\frac{1}{2}"


class HalfN(Written):
    """n/2 written before what it multiplies, −(n/2)·log(2πσ²), for the reason ``Half`` gives."""

    TEXT, TEX = "(n/2)", r"\frac{n}{2}"


def _tex_call(head: str, printer, arg, exp=None) -> str:
    """``head(arg)`` in LaTeX, raised to ``exp`` when given (a function's square)."""
    raised = rf"{head}^{{{exp}}}" if exp else head
    return rf"{raised}\left({printer._print(arg)}\right)"


class NotesLeakyReLU(leaky_relu):
    """Leaky ReLU under the notes' name, Leaky ReLU_α(z) (the printer's LeakyReLU is the name
    ``derive expr`` reads back)."""

    def _derive_text(self, printer) -> str:
        return f"Leaky ReLU_{self.slope(printer)}({printer._print(self.args[0])})"

    def _latex(self, printer, exp=None) -> str:
        return _tex_call(rf"\operatorname{{Leaky\ ReLU}}_{{{self.slope(printer)}}}", printer, self.args[0], exp)


class NotesHardSigmoid(hard_sigmoid):
    """The hard sigmoid under the notes' name, Hard sigmoid(z) (the printer's HardSigmoid is the
    name ``derive expr`` reads back)."""

    def _derive_text(self, printer) -> str:
        return f"Hard sigmoid({printer._print(self.args[0])})"

    def _latex(self, printer, exp=None) -> str:
        return _tex_call(r"\operatorname{Hard\ sigmoid}", printer, self.args[0], exp)
