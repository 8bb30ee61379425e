"""Rows with matrices: a derivation whose file declares shapes, checked with ``derive.matrix``.

A file declares its matrices and vectors on a line of their own, in the file's comment syntax::

    # shapes: X=m,n w=n y=m            (plain text)
    % shapes: X=m,n w=n y=m            (LaTeX)
    <!-- shapes: X=m,n w=n y=m -->     (Markdown)

(``w=n`` is a column vector; any other name is a scalar.) Its rows are then matrix expressions in
NumPy style (``X.T @ (X @ w - y) / m``, ``sum(r**2)``); a LaTeX row may write ``X^T``, ``X^\\top``,
``\\mathbf{X}`` and ``\\frac{a}{b}``, a product of matrices as ``X \\cdot w``. A row ``r = …``
defines an intermediate with the shape of its right-hand side; ``dL/dw``, ``dw`` (once L is
defined) and ``\\frac{\\partial L}{\\partial w}`` stand for the gradient of L with respect to w.

Every expression is compared with the one before it at the sizes ``derive.matrix`` checks with (3
and 2, so that a transposed factor would not fit), entry by entry at seeded random values; a
gradient is the engine's (``derive.matrix.grad.Gradient``), worked out entry by entry by SymPy as
well. A row whose shapes do not fit, or that equals the truth once a transpose is added, removed,
or the two sides of a product are swapped, is named a transpose mistake.
"""

from __future__ import annotations

import itertools
import random
import re

import sympy as sp

from .check_steps import row_before, undefined_derivative
from .errors import DeriveError, said
from .matrix import tree as t
from .matrix.derivation import Shown, _check_sizes
from .matrix.grad import Gradient
from .matrix.parse import CALLS, parse_matrix_expression, parse_shapes
from .parse import split_top_level

__all__ = ["MatrixChecker"]

_NAME = r"[A-Za-z][A-Za-z0-9_]*"
_OPERAND = rf"(?:{_NAME}|\([^()]*\))(?:\.T)?"
# a product written as \cdot or side by side: a matrix product or a scalar one, as shapes allow
_PRODUCT = "§"
# a bold name is a name of its own: \mathbf{X}\mathbf{w} is X w, not the name Xw
_LATEX = ((re.compile(r"\\(?:mathbf|boldsymbol|bm|mathrm|operatorname)\{([^{}]*)\}"), r" \1 "),
          (re.compile(r"\^\{?\\top\}?|\^\{?T\}?|\^\{?\\intercal\}?|ᵀ"), ".T"),
          (re.compile(r"\\(log|exp|tanh|sigma)\s*([A-Za-z][A-Za-z0-9_]*)"), r"\\\1(\2)"),
          (re.compile(r"\\(log|exp|tanh)\s*"), r"\1"), (re.compile(r"\\sigma\s*"), "sigmoid"),
          # λ by SymPy's spelling: lambda is a Python keyword
          (re.compile(r"\\lambda(?![A-Za-z])"), "lamda"),
          (re.compile(r"\\(alpha|beta|gamma|eta|mu|theta)(?![A-Za-z])"), r"\1"),
          (re.compile(r"\\[dt]?frac\{([^{}]*)\}\{([^{}]*)\}"), r"(\1)/(\2)"),
          (re.compile(r"\^"), "**"), (re.compile(r"\\cdot|\\times"), _PRODUCT),
          (re.compile(r"\\left|\\right|\\[,;!]"), ""), (re.compile(r"\\odot|\\circ"), "*"),
          (re.compile(r"\{|\}"), ""), (re.compile(r"(?<![A-Za-z0-9_])(" + "|".join(CALLS) + r")\s+\("),
                                        r"\1("),
          (re.compile(r"(?<=[0-9])(?=[A-Za-z(])|(?<=[A-Za-z0-9_)T])\s+(?=[A-Za-z(])|(?<=\))(?=[A-Za-z(])"),
           _PRODUCT))
_DERIVATIVE = re.compile(rf"\\[dt]?frac\{{\\partial\s*({_NAME})\}}\{{\\partial\s*({_NAME})\}}"
                         rf"|d({_NAME})\s*/\s*d({_NAME})|d({_NAME})$")


_SUM = re.compile(r"\\sum_(?:\{\s*([a-z])\s*(?:=\s*1\s*)?\}|([a-z]))(?:\^\{?[A-Za-z0-9]+\}?)?\s*")


def _summand_end(text: str, at: int) -> int:
    """Where the term after a ``\\sum`` ends: after a bracketed group, else at the next + or −
    outside brackets."""
    for opener, closer in (("\\left(", "\\right)"), ("(", ")")):
        if text.startswith(opener, at):
            depth, i = 0, at
            while i < len(text):
                if text.startswith(opener, i):
                    depth, i = depth + 1, i + len(opener)
                elif text.startswith(closer, i):
                    depth, i = depth - 1, i + len(closer)
                    if depth == 0:
                        # (r_i + y_i)^2: the power belongs to the term
                        power = re.compile(r"\s*\^\s*(?:\{[^{}]*\}|[A-Za-z0-9])").match(text, i)
                        return power.end() if power else i
                else:
                    i += 1
            return len(text)
    depth, i = 0, at
    while i < len(text):
        depth += text[i] in "({[" and 1 or -(text[i] in ")}]")
        if depth < 0 or depth == 0 and text[i] in "+-" and i > at:
            break
        i += 1
    return i


def _sums(text: str) -> str:
    """``\\sum_{i=1}^{m} r_i^2`` (or ``\\sum_i``) as ``sum(r**2)``: a sum over the examples
    of a term whose indexed names are vectors is the sum of the term's entries."""
    while True:
        m = _SUM.search(text)
        if m is None:
            return text
        index = m.group(1) or m.group(2)
        end = _summand_end(text, m.end())
        term = re.sub(rf"_\{{?{index}\}}?(?![A-Za-z0-9])", "", text[m.end():end])
        text = f"{text[:m.start()]}\\mathrm{{sum}}({term}){text[end:]}"


def _plain(text: str, syntax: str) -> str:
    """A row's expression in the NumPy syntax ``derive.matrix`` reads."""
    text = text.strip()
    if syntax == "latex":
        text = _sums(text)
        for pattern, replacement in _LATEX:
            text = pattern.sub(replacement, text)
    return text.strip()


class _MatrixState:
    def __init__(self, shapes: dict):
        self.declared = dict(shapes)
        self.shapes = dict(shapes)
        self.defs: dict = {}              # name -> its expression (text), names inlined
        self.sizes = _check_sizes(t.var("_", t.SCALAR), shapes)
        rng = random.Random(7)
        sizes = {s: v for s, v in self.sizes.items()}
        self.env = {"__sizes__": sizes}
        # a size used as a number (the 1/m of a mean) takes its checking value
        self.env.update({str(s): sp.Matrix([[v]]) for s, v in sizes.items()})
        for name, shape in shapes.items():
            r, c = (int(s.xreplace(sizes)) for s in shape)
            self.env[name] = sp.Matrix(r, c, lambda i, j: sp.Rational(rng.randint(-90, 90), 37))
        self.grad_env = {**self.env}

    def inline(self, text: str) -> str:
        return re.sub(rf"(?<![A-Za-z0-9_.]){_NAME}", lambda m: f"({self.defs[m.group()]})"
                      if m.group() in self.defs else m.group(), text)

    def tree(self, text: str):
        return self.resolve(text)[1]

    def display(self, text: str) -> str:
        """``text`` in LaTeX as written: intermediates kept, as names of their shapes."""
        try:
            return t.latex(self.resolve(text, inline=False)[1])
        except DeriveError:
            # shapes that do not fit: the student's row all the same
            return text.replace(_PRODUCT, " ").replace("@", r"\cdot ").replace(".T", "^{T}") \
                .replace("**", "^")

    def resolve(self, text: str, inline: bool = True):
        """``text`` (with definitions inlined) in NumPy syntax, and its tree: each product
        written as \\cdot or side by side is read as a matrix product where the shapes allow,
        else as a product with a scalar."""
        text = self.inline(text) if inline else text
        shapes = self.declared if inline else self.shapes
        count = text.count(_PRODUCT)
        failure = None
        for ops in itertools.islice(itertools.product("@*", repeat=count), 64):
            written = "".join(a + b for a, b in zip(text.split(_PRODUCT), (*ops, "")))
            try:
                return written, parse_matrix_expression(written, shapes)
            except DeriveError as err:
                failure = failure or err
        raise failure

    def value(self, text: str) -> sp.Matrix:
        tree = self.tree(text)
        return t.concrete(tree, self.scalars(tree, self.env))

    def scalars(self, tree, env: dict) -> dict:
        """``env`` with a seeded value for each scalar of ``tree`` not yet bound (λ, b, …)."""
        env = dict(env)
        for name in sorted(t.variables(tree)):
            if name not in env:
                env[name] = sp.Matrix([[sp.Rational(random.Random(name).randint(-90, 90), 41)]])
        self.env.update({k: v for k, v in env.items() if k not in self.env})
        return env

    def gradient(self, of: str, wrt: str):
        """(the engine's gradient as a tree, its value by SymPy entry by entry)."""
        if of not in self.defs:
            raise undefined_derivative(of)
        if wrt not in self.declared:
            raise said(f"a derivative with respect to {wrt}, which has no shape (declare "
                       f"it on the shapes line)", f"对 {wrt} 求导，但 {wrt} 没有形状（请在 `shapes:` 那一行声明）")
        f = parse_matrix_expression(self.defs[of], self.declared)
        engine = Gradient(f, wrt).value
        r, c = self.env[wrt].shape
        entries = sp.Matrix(r, c, lambda i, j: sp.Symbol(f"_{wrt}_{i}_{j}"))
        env = {**self.scalars(f, self.env), wrt: entries}
        value = t.concrete(f, env)[0, 0]
        truth = entries.applyfunc(lambda e: sp.diff(value, e)).xreplace(
            dict(zip(entries, self.env[wrt])))
        return engine, truth


def _same(a: sp.Matrix, b: sp.Matrix) -> bool:
    if a.shape == (1, 1) and b.shape != (1, 1):
        a = a[0, 0] * sp.ones(*b.shape)
    if b.shape == (1, 1) and a.shape != (1, 1):
        b = b[0, 0] * sp.ones(*a.shape)
    return a.shape == b.shape and all(sp.simplify(x - y) == 0 for x, y in zip(a, b))


def _transposed(text: str):
    """``text`` with one transpose changed: a ``.T`` removed or added, or a product's operands
    swapped."""
    yield f"({text}).T"
    for m in re.finditer(r"\.T", text):
        yield text[:m.start()] + text[m.end():]
    for m in re.finditer(rf"(?<![A-Za-z0-9_.]){_NAME}(?!\.T|[A-Za-z0-9_(])", text):
        yield text[:m.end()] + ".T" + text[m.end():]
    for m in re.finditer(rf"({_OPERAND})\s*([@{_PRODUCT}])\s*({_OPERAND})", text):
        yield text[:m.start()] + f"{m.group(3)} {m.group(2)} {m.group(1)}" + text[m.end():]


def _transpose_slip(state: _MatrixState, text: str, truth: sp.Matrix) -> bool:
    for variant in _transposed(text):
        try:
            if _same(state.value(variant), truth):
                return True
        except DeriveError:
            continue
    return False


class MatrixChecker:
    """Checks the rows of a file whose shapes line declares ``shapes`` (``["X=m,n", …]``), one
    at a time, in order, appending a ``StepRow`` per row to a report."""

    def __init__(self, shapes: list, step_row):
        self.state = _MatrixState(parse_shapes(shapes))
        self.step_row = step_row
        # the chain's last expression: (text, value, line, as shown, as the engine writes it)
        self.last = None
        # the value of the gradient the chain started from: a row after a wrong row holds when
        # it follows from the wrong row or equals this truth
        self.truth = None

    def check_row(self, row, report) -> None:
        state = self.state
        written = split_top_level(row.text, "=")
        pieces = [_plain(p, row.syntax) for p in written]
        # a LaTeX row is shown as written; a plain one from what it was read as
        result = self.step_row(row.line, row.text, "step",
                               syntax="latex" if row.syntax == "latex" else "matrix")
        raw = dict(zip(pieces, (w.strip() for w in written)))
        shown = []
        head = pieces[0]
        pattern, _ = _LATEX[0]
        derivative = _DERIVATIVE.fullmatch(pattern.sub(r"\1", written[0].strip()))
        if not head:
            if self.last is None:
                raise row_before()
            shown.append("")
        elif derivative and (derivative.group(5) is None or "L" in state.defs) and \
                (derivative.group(5) or "") not in state.defs:
            groups = [g for g in derivative.groups() if g]
            of, wrt = groups if len(groups) == 2 else ("L", groups[0])
            engine, truth = state.gradient(of, wrt)
            self.truth = truth
            self.last = (raw[head], truth, row.line, sp.Derivative(sp.Symbol(of), sp.Symbol(wrt)),
                         Shown.of(engine))
            shown.append(rf"\frac{{\partial {of}}}{{\partial {wrt}}}")
        elif re.fullmatch(_NAME, head) and head not in state.declared and head not in \
                state.defs and len(pieces) > 1:
            state.defs[head], tree = state.resolve(pieces[1])
            result.kind = "definition"
            shown += [head, state.display(pieces[1])]
            state.shapes[head] = tree.shape
            self.truth = None
            # a row "= …" after a definition continues from its right-hand side
            self.last = (raw[pieces[1]], state.value(pieces[1]), row.line, Shown.of(tree),
                         Shown.of(tree))
            pieces = []
        else:
            tree = state.tree(head)
            self.truth = None
            self.last = (raw[head], state.value(head), row.line, Shown.of(tree), Shown.of(tree))
            shown.append(state.display(head))
            result.kind = "step" if len(pieces) > 1 else "start"
        for piece in pieces[1:]:
            shown.append(state.display(piece))
            _compare(state, piece, self.last, result, self.truth)
            self.last = _latest(state, piece, raw[piece], row.line, self.last)
        result.exprs = tuple(shown)
        report.rows.append(result)


def _latest(state, piece, written, line, last):
    """The chain's last expression after ``piece`` (the one before when its shapes do not fit)."""
    try:
        shown = Shown.of(state.tree(piece))
        return (written, state.value(piece), line, shown, shown)
    except DeriveError:
        return last


def _compare(state: _MatrixState, piece: str, last, result, truth) -> None:
    try:
        value = state.value(piece)
        ok = _same(last[1], value) or truth is not None and _same(truth, value)
    except DeriveError:
        # shapes that do not fit: a wrong row, not an unreadable one
        ok = False
    if ok or not result.ok:
        return
    result.ok = False
    result.previous_line, result.previous = last[2], last[0]
    result.point, result.values = _differ(state, piece, last[1])
    result.previous_expr, result.expected = last[3], last[4]
    if _transpose_slip(state, piece, last[1]):
        result.hint = "transpose"
        return
    try:
        ratio = _ratio(state.value(piece), last[1])
    except DeriveError:
        return
    if ratio == -1:
        result.hint = "sign"
    elif ratio is not None:
        result.hint, result.detail = "factor", ratio


def _differ(state: _MatrixState, piece: str, truth: sp.Matrix):
    """(the sizes, the two values of the first entry that differs), or (None, None) when the
    shapes differ: the entries are the seeded random values the rows are compared at."""
    try:
        row = state.value(piece)
    except DeriveError:
        return None, None
    if row.shape != truth.shape:
        return None, None
    for a, b in zip(truth, row):
        if sp.simplify(a - b) != 0:
            return dict(state.sizes), (float(a), float(b))
    return None, None


def _ratio(row: sp.Matrix, truth: sp.Matrix):
    """The constant c with row = c·truth entry by entry, or None."""
    if row.shape != truth.shape or any(e == 0 for e in truth):
        return None
    ratios = {sp.nsimplify(sp.simplify(a / b)) for a, b in zip(row, truth)}
    c = ratios.pop() if len(ratios) == 1 else None
    # a factor a student loses or doubles is small (2, 1/2, 1/m at m = 3), not a coincidence
    return c if c is not None and abs(c) < 100 and sp.fraction(c)[1] <= 12 else None
