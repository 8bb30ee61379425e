"""Matrix-form lines for a model's derivation: a vectorized gradient derived by the engine
(``derive expr --shape``) and recorded in the model's ``Builder``, then shown equal to the
model's own form in one verified line.

A model states its vectorized gradient as a ``MatrixLine``: the function in NumPy style, the
shapes, the variable, and the model's own form of the result in the same language (its
intermediates, such as ``A = sigmoid(w.T @ X + b)``, given by their expressions). ``show``
records the engine's steps (the entrywise derivatives, the matrix-calculus rules, the matrix
form with its shape), each verified at small concrete sizes against ``sympy.diff`` of the
function written out entry by entry; ``EngineGradient.form_check`` is the pair that verifies
the model's line against the engine's result at the same sizes.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from types import SimpleNamespace

import sympy as sp
from sympy import Derivative

from ..functions import relu, sigmoid
from ..messages import Msg
from ..verify import Deferred
from . import tree as t
from .derivation import ADJOINT_RULES, Shown, _check_sizes, _Instance, _locals, nonlinear_locals
from .grad import Gradient, Local, jacobian
from .parse import parse_matrix_expression, parse_shapes

__all__ = ["MatrixLine", "EngineGradient", "engine_gradient", "show", "show_rules", "show_line", "show_hessian"]


@dataclass(frozen=True)
class MatrixLine:
    """A model's vectorized gradient, as the engine reads it.

    Parameters
    ----------
    expr : str
        The scalar function in NumPy style (``sum((y - X @ theta)**2)``).
    shapes : tuple of str
        ``NAME=DIMS`` for each matrix or vector, as ``derive expr --shape`` takes them.
    wrt : str
        The variable the gradient is taken with respect to.
    form : str
        The model's own form of the gradient in the same language (``-2 * X.T @ (y - X @ theta)``).
    where : tuple of (str, str)
        The model's intermediates used in ``form``, each with its expression in the inputs.
    sizes : tuple of (str, int)
        Concrete sizes for the checks instead of the engine's (3 and 2 alternately).
    names : tuple of (str, str)
        The model's name of a variable where it is not a Python name (``W1`` is ``W^[1]``): the
        lines display it, the NumPy code keeps the expression's.
    times : str
        A size the model's form is multiplied by: the notes' ``dZ = m·∂J/∂Z`` stacks the
        per-example gradients, m times the gradient of the mean ``J``.
    named : tuple of str
        Intermediates from ``where`` that the engine's lines show by name (``e`` for
        ``sigmoid(W @ X + b).T @ c + b_0 - y``, its transpose as ``eᵀ``): the written-out
        error, repeated and with its transpose spread over it, hides the form of the result.
    points : int
        When positive, the checks compare both sides at this many seeded random points (floats,
        by ``evaluate``) instead of symbolically: for a function whose written-out derivatives
        are too large to compare quickly (a network's loss).
    """

    expr: str
    shapes: tuple
    wrt: str
    form: str
    where: tuple = ()
    sizes: tuple = ()
    names: tuple = ()
    times: str = ""
    points: int = 0
    named: tuple = ()


class EngineGradient:
    """∂f/∂``wrt`` by the engine, with its concrete instance and the model's form.

    Attributes
    ----------
    value : tree.Node
        The gradient in matrix form.
    form : tree.Node
        The model's form with its intermediates written out in the inputs.
    shown : Shown
        The gradient as displayed.
    where : dict
        The model's intermediates by name, as trees in the inputs.
    """

    def __init__(self, line: MatrixLine):
        shapes = parse_shapes(line.shapes)
        self.line = line
        self.f = parse_matrix_expression(line.expr, shapes)
        self.names = t.variables(self.f)
        self.shape = self.names[line.wrt]
        self.gradient = Gradient(self.f, line.wrt)
        self.value = self.gradient.value
        self.display = dict(line.names)
        where = {name: parse_matrix_expression(text, shapes) for name, text in line.where}
        self.where = where
        self.named = {}
        for name in line.named:
            self.named[where[name]] = t.var(name, where[name].shape)
            self.named[t.transpose(where[name])] = t.transpose(self.named[where[name]])
        self.shown = self.show(self.value)
        self.shown_f = self.show(self.f)
        form = parse_matrix_expression(line.form, {**shapes, **{n: w.shape for n, w in where.items()}})
        self.form = _substitute(form, where)
        if form.shape != self.value.shape and not self.value.is_scalar:
            raise ValueError(f"{line.form}: shape {t.shape_text(form.shape)}, the gradient is "
                             f"{t.shape_text(self.value.shape)}")
        wanted = dict(line.sizes)
        sizes = {s: sp.Integer(wanted.get(str(s), k)) for s, k in _check_sizes(self.f, self.names).items()}
        self.inst = _Instance(self.f, self.names, sizes)
        # a scalar named as a size (the m of a mean over m examples) is that size
        by_name = {str(s): k for s, k in sizes.items()}
        for name, shape in self.names.items():
            if shape == t.SCALAR and name in by_name:
                self.inst.env[name] = sp.Matrix([[by_name[name]]])

    def show(self, node: t.Node) -> Shown:
        """``node`` as displayed, in the model's names, the ``named`` intermediates by name."""
        return Shown.of(_substitute(_named(node, self.named), {k: t.var(v, shape) for k, v in self.display.items()
                                           for shape in (self.names.get(k, t.SCALAR),)}))

    def shape_text(self) -> str:
        """The gradient's shape, each size in the model's name (``n[l] × n[l−1]``)."""
        return " × ".join(self.display.get(str(k), str(k)) for k in self.shape)

    def _at(self, node: t.Node) -> sp.Matrix:
        value = self.inst.value(node)
        # a scalar result (0, or c for a linear function of a matrix) stands for every entry
        return value[0, 0] * sp.ones(*self.inst.env[self.line.wrt].shape) if node.is_scalar else value

    def check(self) -> Deferred:
        """(``sympy.diff`` of f written out, entry by entry; the engine's matrix form) at the
        concrete sizes: the pair that verifies the matrix-form line, worked out only when the
        proof cache does not hold it (the line's text names it: the engine computes the rest)."""
        return Deferred(("matrix line", repr(self.line), "check"),
                        lambda: self._points(self.inst.gradient(self.line.wrt), self._at(self.value)), _ENGINE)

    def form_check(self) -> Deferred:
        """(the engine's matrix form, times ``line.times`` if given; the model's form) at the
        concrete sizes, deferred like ``check``."""

        def pair():
            times = self.inst.env[self.line.times][0, 0] if self.line.times else 1
            return self._points(times * self._at(self.value), self._at(self.form))

        return Deferred(("matrix line", repr(self.line), "form"), pair, _ENGINE)

    def _points(self, *sides: sp.Matrix) -> tuple:
        """``sides`` as they are, or at ``line.points`` seeded random points, the blocks stacked."""
        if not self.line.points:
            return sides
        symbols = sorted(set().union(*(side.free_symbols for side in sides)), key=str)
        rng = random.Random(0)
        points = [{s: rng.uniform(-1, 1) for s in symbols} for _ in range(self.line.points)]

        def at(side, point):
            memo: dict = {}
            return side.applyfunc(lambda e: sp.Float(evaluate(e, point, memo)))

        return tuple(sp.Matrix.vstack(*(at(side, p) for p in points)) for side in sides)

    def entries(self, name: str) -> sp.Matrix:
        """The concrete matrix of plain symbols standing for the variable ``name``."""
        return self.inst.env[name]

    def value_at(self) -> sp.Expr:
        """The function written out entry by entry at the concrete sizes."""
        return self.inst.f

    def sizes_text(self) -> str:
        """The concrete sizes of the checks in marked words: ``$m = 2$, $n = 3$``."""
        return ", ".join(f"${s} = {k}$" for s, k in sorted(self.inst.sizes.items(), key=str))

    def numpy(self) -> str:
        """NumPy code of the engine's gradient, in the expression's names."""
        return t.numpy(self.value)

    def form_numpy(self) -> str:
        """NumPy code of the model's form, its intermediates written out."""
        return t.numpy(self.form)


# The engine's files, which compute a matrix line's check from its text.
_ENGINE = ("parse.py", *(f"matrix/{m}.py" for m in ("assume", "derivation", "grad", "index", "parse", "tree")))

_FLOAT = {
    sp.exp: math.exp, sp.log: math.log, sp.tanh: math.tanh, sp.Max: max,
    sigmoid: lambda z: 1 / (1 + math.exp(-z)), relu: lambda z: max(z, 0.0),
    sp.Heaviside: lambda z, at0=0.5: 1.0 if z > 0 else (at0 if z == 0 else 0.0),
}


def evaluate(e, point: dict, memo: dict | None = None) -> float:
    """The float value of ``e`` at ``point`` (a plain tree walk: much faster than evalf);
    ``memo`` shares the values of common subexpressions between calls at the same point."""
    memo = {} if memo is None else memo
    key = id(e)
    if key in memo:
        return memo[key]
    if e.is_Number:
        v = float(e)
    elif e.is_Symbol:
        v = point[e]
    else:
        args = [evaluate(a, point, memo) for a in e.args]
        if e.is_Add:
            v = math.fsum(args)
        elif e.is_Mul:
            v = math.prod(args)
        elif e.is_Pow:
            v = args[0] ** args[1]
        else:
            v = _FLOAT[e.func](*args)
    memo[key] = v
    return v


def engine_gradient(line: MatrixLine) -> EngineGradient:
    """The engine's gradient for ``line`` (see ``EngineGradient``)."""
    return EngineGradient(line)


def _substitute(node: t.Node, where: dict) -> t.Node:
    """``node`` with each variable named in ``where`` replaced by its tree."""
    if node.op == "var" and node.data in where:
        return where[node.data]
    args = tuple(_substitute(a, where) for a in node.args)
    return t.Node(node.op, args, node.shape, node.data) if args != node.args else node


def _named(node: t.Node, named: dict) -> t.Node:
    """``node`` with each subtree that is a key of ``named`` replaced by its value."""
    if node in named:
        return named[node]
    args = tuple(_named(a, named) for a in node.args)
    return t.Node(node.op, args, node.shape, node.data) if args != node.args else node


def show(d, grads, lhs: dict, *, work: "bool | Msg" = True) -> None:
    """Record the engine's steps for the gradients ``grads`` of one function in ``d``: the
    entrywise derivatives and matrix-calculus rules (``show_rules``), then each gradient's
    matrix-form line (``show_line``) with the left side ``lhs[wrt]``."""
    show_rules(d, grads, work=work)
    for g in grads:
        show_line(d, g, lhs[g.line.wrt])


def show_rules(d, grads, *, work: "bool | Msg" = True, audience: str = "student") -> None:
    """Record the entrywise derivatives and the rules of matrix calculus behind ``grads``.

    Parameters
    ----------
    d : Builder
        The model's derivation.
    grads : sequence of EngineGradient
        Gradients of the same function; what they share is shown once.
    work : bool or Msg
        True: work out each elementwise derivative rule by rule, as ``derive expr`` does; a
        ``Msg``: one line each, verified against ``sympy.diff``, with this note on the lines of a
        function such as σ (a derivative the model has worked out already); a line of powers
        alone is the power rule and needs no note. These one-line derivatives, of the engine's
        own operands, are the checker's scaffolding: they are shown with ``verbose`` only.
    audience : {"student", "check"}
        Who the list of rules is for: "check" when the student does not see the engine's lines
        that use them.
    """
    seen: dict = {}
    names = _Names(d, grads)
    for g in grads:
        for loc in g.gradient.locals:
            if work is not True and loc.u not in loc.value.free_symbols:
                continue   # a factor (1/m, Y) the matrix rules carry: no line, no operand name
            loc = names.local(loc)
            seen.setdefault((loc.phi, loc.u), loc)
    if work is True:
        _locals(d, SimpleNamespace(locals=list(seen.values())))
    else:
        _compact_locals(d, list(seen.values()), work)
    rules = [ADJOINT_RULES[key] for key in dict.fromkeys(r.key for g in grads for r in g.gradient.rules)]
    if rules:
        # one list, as a textbook lists the identities it is about to use: an item a paragraph, so
        # that a long formula starts its own line (in one Chinese paragraph it ran past the margin)
        d.note(Msg("The rules of matrix calculus used:", "用到的矩阵微积分法则:", audience=audience))
        for k, (en, zh) in enumerate(rules, 1):
            d.note(Msg(en + (";" if k < len(rules) else "."), zh + (";" if k < len(rules) else "。"),
                       audience=audience))


def show_line(d, g: EngineGradient, lhs, audience: str = "student") -> None:
    """Record ``lhs = `` the engine's matrix form of ``g``, with its shape, verified entry by
    entry at the concrete sizes against ``sympy.diff``; ``audience`` "check" when the form is
    written out in the inputs (the student reads the notes' named form, checked against it)."""
    checked = Msg.check("checked entry by entry at {sizes} against sympy.diff",
                        "已在 {sizes} 时逐元素与 sympy.diff 核对", sizes=g.sizes_text())
    d.eq(lhs, g.shown, "matrix_form",
         Msg.of("shape {s}", "形状 {s}", s=f"${g.shape_text()}$").then(checked), check=g.check(), audience=audience)


def show_hessian(d, g: EngineGradient, lhs) -> sp.Matrix:
    """Record ``lhs`` = ∂/∂x of the engine's gradient ``g``, then = its Jacobian by the engine's
    rules in matrix form (the Hessian), both verified at the concrete sizes against ``sympy.diff``
    of f written out, taken twice. Returns the Hessian at the concrete sizes, in the entries of
    ``g.entries``. x (``g.line.wrt``) is a column vector."""
    x = g.line.wrt
    h = jacobian(g.value, x, g.shape)
    value = g.inst.value(h)
    pair = (g.inst.hessian(x), value)
    d.eq(lhs, Derivative(g.shown, sp.Symbol(g.display.get(x, x)), evaluate=False), "hessian", check=pair)
    checked = Msg.check("checked entry by entry at {sizes} against sympy.diff taken twice",
                        "已在 {sizes} 时逐元素与两次 sympy.diff 核对", sizes=g.sizes_text())
    d.eq(lhs, g.show(h), "matrix_form",
         Msg.of("shape {s}", "形状 {s}", s=f"${g.shape[0]} × {g.shape[0]}$").then(checked), check=pair)
    return value


class _Names:
    """One symbol per operand across the engine's elementwise regions (each region names its
    own operands z, u, …), none of them a name the model or the expression already uses: a
    symbol means one thing in a derivation."""

    def __init__(self, d, grads):
        self.taken = {s.name for s in d.defs} | {n for g in grads for n in (*g.names, *g.display.values())}
        self.display = {k: sp.Symbol(v, real=True) for g in grads for k, v in g.display.items()}
        self.nodes = {k: t.var(v, g.names[k]) for g in grads for k, v in g.display.items() if k in g.names}
        self.of: dict = {}

    def local(self, loc: Local) -> Local:
        """``loc`` with its operand symbols renamed."""
        rename = {}
        for s, node in loc.names:
            if node.op == "var":
                if node.data in self.display:
                    rename[s] = self.display[node.data]
                continue
            if node not in self.of:
                name = next(c for c in (s.name, *(b + k for k in ("", "2", "3", "4", "5", "6")
                                                     for b in ("z", "u", "v", "s", "q", "p")))
                            if c not in self.taken)
                self.taken.add(name)
                self.of[node] = sp.Symbol(name, real=True)
            rename[s] = self.of[node]
        return Local(loc.phi.xreplace(rename), rename.get(loc.u, loc.u), loc.value.xreplace(rename),
                     loc.atom, tuple((rename.get(s, s), _substitute(n, self.nodes)) for s, n in loc.names))


def _compact_locals(d, locals_: list, note: Msg) -> None:
    """Each elementwise derivative that is not linear in one line, ∂/∂u[f(u)] = f′(u) with the
    constant factors taken out (2·(b₀ + z − y), as the notes keep it), verified against
    ``sympy.diff``, for the audience "check" (the engine's operands are not the notes' names).
    The operands named for these lines are stated once, before them. No symbol
    is registered: the model's definitions stay its own (its computation graph is drawn from
    them)."""
    found = list(nonlinear_locals(locals_, factors=False))
    ops = tuple(dict.fromkeys(op for _, _, _, operands in found for op in operands))
    if not found:
        return
    d.note(Msg.check("Entry by entry, with {ops}:", "逐元素地,令 {ops}:", ops=ops) if ops else
           Msg.check("Entry by entry:", "逐元素地:"))
    for loc, _, _, _ in found:
        value = sp.factor_terms(loc.value)
        # a function (σ, ReLU, exp) is what the note explains; powers alone are the power rule
        plain = not loc.phi.atoms(sp.Function)
        d.eq(Derivative(loc.phi, loc.u, evaluate=False), value, "power" if plain else "differentiate",
             None if plain else note, check=(sp.diff(loc.phi, loc.u), value), audience="check")
