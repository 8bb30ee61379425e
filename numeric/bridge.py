"""Where SymPy meets NumPy: stable printing, ``lambdify``, and generated in-place kernels.

Two ways to turn a SymPy expression into NumPy code live here, and nowhere else:

``lambdify(args, exprs)``
    A drop-in for ``sympy.lambdify`` for any expression NumPy can evaluate. The project's named
    functions print in numerically stable forms and ``log(sigmoid(z))`` patterns are rewritten
    first, so that, for example, the logistic loss stays finite for |z| up to 1000 and beyond.

``Kernel(inputs, exprs, params=...)``
    Elementwise expressions (one value per example, or per example and unit) compiled to NumPy
    source that writes into caller-owned buffers with ``out=``: no temporaries per call, and
    sub-expressions of the small per-unit parameters (``w / 2``) computed once per call instead of
    once per element. The compiled models use it for every local derivative they evaluate.

Stable forms used by both:

========================  ===============================  =======================
expression                ``lambdify``                     ``Kernel``
========================  ===============================  =======================
σ(z)                      ``exp(-logaddexp(0, -z))``       ``tanh(z/2)/2 + 1/2``
log σ(z)                  ``-logaddexp(0, -z)``            −softplus(−z)
log(1 − σ(z))             ``-logaddexp(0, z)``             −softplus(z)
log(1 + eᶻ), softplus(z)  ``logaddexp(0, z)``              ReLU(z) + log1p(e^−|z|)
ReLU(z)                   ``maximum(z, 0)``                same
Heaviside(z, 0)           ``(z > 0)`` as float             same
DiracDelta(z)             0                                same
HardSigmoid(z)            ``clip(z, 0, 1)``                same
========================  ===============================  =======================

The kernel's tanh form of σ is as fast as ``1/(1 + exp(-z))`` and never overflows; its absolute
error is at most 2.3e-16 (so its relative error exceeds 1e-10 only where σ(z) < 3e-7, z < −15),
which is what a gradient, a sum of such terms, needs.
"""

from __future__ import annotations

import keyword
from collections import Counter
from typing import Sequence

import numpy as np
import sympy as sp
from sympy.codegen.cfunctions import log1p
from sympy.core.function import AppliedUndef
from sympy.printing.numpy import NumPyPrinter

from derive.errors import said
from derive.functions import hard_sigmoid, relu, sigmoid, softplus

__all__ = ["lambdify", "stable_rewrite", "Kernel", "StableNumPyPrinter"]


def stable_rewrite(expr: sp.Expr) -> sp.Expr:
    """Rewrite log-of-sigmoid patterns into softplus, which prints without overflow.

    ``log(σ(z)) → −softplus(−z)``, ``log(1 − σ(z)) → −softplus(z)``,
    ``log(1 + exp(z)) → softplus(z)``.
    """
    expr = sp.sympify(expr)

    def is_log_pattern(e):
        if not isinstance(e, sp.log):
            return False
        return _log_replacement(e.args[0]) is not None

    return expr.replace(is_log_pattern, lambda e: _log_replacement(e.args[0]))


def _log_replacement(arg):
    if isinstance(arg, sigmoid):
        return -softplus(-arg.args[0])
    if isinstance(arg, sp.Add) and len(arg.args) == 2 and sp.S.One in arg.args:
        other = arg.args[0] if arg.args[1] is sp.S.One else arg.args[1]
        if isinstance(-other, sigmoid):
            return -softplus((-other).args[0])
        if isinstance(other, sp.exp):
            return softplus(other.args[0])
    return None


class StableNumPyPrinter(NumPyPrinter):
    """NumPy printer that knows the project's named functions, in numerically stable forms."""

    def _np(self, name):
        return self._module_format(f"numpy.{name}")

    def _print_sigmoid(self, expr):
        z = self._print(expr.args[0])
        return f"{self._np('exp')}(-{self._np('logaddexp')}(0, -({z})))"

    def _print_softplus(self, expr):
        return f"{self._np('logaddexp')}(0, {self._print(expr.args[0])})"

    def _print_relu(self, expr):
        return f"{self._np('maximum')}({self._print(expr.args[0])}, 0.0)"

    def _print_hard_sigmoid(self, expr):
        return f"{self._np('clip')}({self._print(expr.args[0])}, 0.0, 1.0)"

    def _print_leaky_relu(self, expr):
        z, alpha = (self._print(a) for a in expr.args)
        return f"{self._np('where')}(({z}) > 0, {z}, ({alpha})*({z}))"

    def _print_DiracDelta(self, expr):
        # The derivative of a step is 0 away from the jump; at the jump the kink convention of
        # ``derive.functions`` (one-sided derivatives) gives 0 as well.
        return f"{self._np('zeros')}({self._np('shape')}({self._print(expr.args[0])}))"

    def _print_Heaviside(self, expr):
        z = self._print(expr.args[0])
        h0 = expr.args[1] if len(expr.args) > 1 else sp.S.Half
        if h0 == 0:
            return f"{self._np('greater')}({z}, 0).astype({self._np('float64')})"
        if h0 == 1:
            return f"{self._np('greater_equal')}({z}, 0).astype({self._np('float64')})"
        return f"{self._np('heaviside')}({z}, {self._print(h0)})"


# The printers write every NumPy name in full (``numpy.exp``), so NumPy itself is the whole
# namespace the generated code needs. ``modules="numpy"`` would instead copy NumPy's star-import
# namespace, and the first copy imports numpy.f2py and numpy.testing (~0.1 s of CPU in each run).
_NAMESPACE = {"numpy": np}


def _as_float_array(value):
    arr = np.asarray(value)
    if arr.dtype.kind in "biu":
        return arr.astype(np.float64)
    return arr


def _check_evaluable(args, exprs):
    known = set()
    for a in args:
        known |= sp.sympify(a).free_symbols
    for e in exprs:
        undefined = e.atoms(AppliedUndef)
        if undefined:
            name = sorted(map(str, undefined))[0]
            raise said(f"cannot evaluate the undefined function {name}", f"无法计算未定义的函数 {name}")
        extra = e.free_symbols - known
        if extra:
            names = ", ".join(sorted(map(str, extra)))
            raise said(f"expression uses {names}, which is not among the arguments",
                       f"表达式用到了 {names}，它们不在参数之中")


def lambdify(args, exprs, *, cse: bool = True):
    """Compile SymPy expressions to a vectorized, numerically stable NumPy function.

    Parameters
    ----------
    args : Symbol or sequence of Symbol
        The function's positional arguments, in order (as for ``sympy.lambdify``).
    exprs : Expr, or list/tuple of Expr, or Matrix
        What to evaluate. Any function NumPy knows, plus the project's named functions
        (sigmoid, relu, leaky_relu, softplus, hard_sigmoid) and Heaviside.
    cse : bool, default True
        Share common sub-expressions between and within ``exprs``.

    Returns
    -------
    f : callable
        ``f(*arrays)``: each argument is a scalar or an array; arguments broadcast against each
        other. For a single ``Expr`` it returns an ndarray of the broadcast shape (a constant
        expression is broadcast too); for a list or tuple, a list or tuple of such arrays; for a
        Matrix, what ``sympy.lambdify`` returns. Integer inputs are evaluated as float64.

    Raises
    ------
    DeriveError
        If an expression has a free symbol that is not an argument, or an undefined function.

    Examples
    --------
    >>> import sympy as sp, numpy as np
    >>> from derive.functions import sigmoid
    >>> z, y = sp.symbols("z y")
    >>> loss = -(y * sp.log(sigmoid(z)) + (1 - y) * sp.log(1 - sigmoid(z)))
    >>> f = lambdify([z, y], loss)
    >>> f(np.array([-1000.0, 0.0, 1000.0]), 1.0)
    array([1.00000000e+03, 6.93147181e-01, 0.00000000e+00])
    """
    if isinstance(args, (sp.Basic, str)):
        args = [args]
    args = list(args)
    if isinstance(exprs, sp.MatrixBase):
        matrix = exprs.applyfunc(stable_rewrite)
        _check_evaluable(args, list(matrix))
        return sp.lambdify(args, matrix, modules=_NAMESPACE, printer=StableNumPyPrinter, cse=cse)

    many = isinstance(exprs, (list, tuple))
    container = type(exprs) if many else None
    items = [stable_rewrite(sp.sympify(e)) for e in (exprs if many else [exprs])]
    _check_evaluable(args, items)
    raw = sp.lambdify(args, list(items), modules=_NAMESPACE, printer=StableNumPyPrinter, cse=cse)

    def evaluate(*values):
        if len(values) != len(args):
            raise TypeError(f"expected {len(args)} arguments, got {len(values)}")
        arrays = [_as_float_array(v) for v in values]
        shape = np.broadcast_shapes(*(a.shape for a in arrays)) if arrays else ()
        results = []
        for r in raw(*arrays):
            r = np.asarray(r)
            if r.shape != shape:
                r = np.array(np.broadcast_to(r, shape), dtype=np.result_type(r, np.float64))
            elif r.dtype.kind in "biu":
                r = r.astype(np.float64)
            results.append(r)
        return container(results) if many else results[0]

    evaluate.__doc__ = f"Evaluate {exprs} at ({', '.join(map(str, args))})."
    evaluate.exprs = tuple(items)
    return evaluate


# --------------------------------------------------------------------------------------------
# In-place kernels

_UFUNC_OF = {
    sp.exp: "exp",
    sp.log: "log",
    sp.sin: "sin",
    sp.cos: "cos",
    sp.tan: "tan",
    sp.tanh: "tanh",
    sp.sinh: "sinh",
    sp.cosh: "cosh",
    sp.asin: "arcsin",
    sp.acos: "arccos",
    sp.atan: "arctan",
    sp.asinh: "arcsinh",
    sp.acosh: "arccosh",
    sp.atanh: "arctanh",
    sp.Abs: "absolute",
    sp.sign: "sign",
    sp.floor: "floor",
    sp.ceiling: "ceil",
    log1p: "log1p",
}


def _kernel_form(expr: sp.Expr) -> sp.Expr:
    """The form a kernel evaluates: stable logs, σ(u) as tanh(u/2)/2 + 1/2, and softplus(u) as
    ReLU(u) + log1p(exp(−|u|)) (exact, and several times faster than ``logaddexp``; softplus(u)
    and softplus(−u) then share their log1p term)."""
    expr = stable_rewrite(expr)
    expr = expr.replace(lambda e: isinstance(e, sigmoid), lambda e: sp.tanh(e.args[0] / 2) / 2 + sp.S.Half)
    return expr.replace(
        lambda e: isinstance(e, softplus),
        lambda e: relu(e.args[0]) + log1p(sp.exp(-sp.Abs(e.args[0]))),
    )


def _identifier(name: str, taken: set, fallback: str) -> str:
    ok = name.isidentifier() and not keyword.iskeyword(name) and not name.startswith("_")
    ok = ok and name not in {"np", "prepare", "run"} and not name.startswith("out")
    return name if ok and name not in taken else fallback


class _Emitter:
    """Turns the CSE form of a few expressions into straight-line in-place NumPy code.

    Values are names: inputs and outputs (never overwritten but for outputs), prepared small
    values (computed once per call, outside the per-element code), pooled scratch buffers of the
    full shape (reused once dead), and fresh arrays from the fallback printer.
    """

    def __init__(self, big_names: dict, small_names: dict):
        self.big_names = big_names            # Symbol -> name, full-shape inputs
        self.small_names = small_names        # Symbol -> name, per-unit / scalar inputs
        self.prep_lines: list[str] = []
        self.prepared: list[str] = []
        self.lines: list[str] = []
        self.kind: dict[str, str] = {}        # name -> "pool" | "fresh" | "out"
        self.free: list[str] = []
        self.n_scratch = 0
        self.n_fresh = 0
        self.bound: dict = {}                 # big CSE symbol -> name
        self.uses: Counter = Counter()
        self.held: Counter = Counter()        # name -> pending operations that still read it
        self.orphans: set = set()             # dead CSE buffers to free once no longer held
        self.big_syms = set(big_names)
        self.printer = StableNumPyPrinter()
        self._small_cache: dict = {}

    # names -------------------------------------------------------------------------------
    def alloc(self) -> str:
        if self.free:
            return self.free.pop()
        name = f"_b{self.n_scratch}"
        self.n_scratch += 1
        self.kind[name] = "pool"
        return name

    def release(self, name):
        if self.kind.get(name) == "pool" and name not in self.free:
            self.free.append(name)

    def is_big(self, expr) -> bool:
        return bool(expr.free_symbols & self.big_syms)

    def small(self, expr) -> str:
        """Name or literal of a value that has no per-element symbol."""
        if expr.is_Number:
            return repr(float(expr))
        if expr in self._small_cache:
            return self._small_cache[expr]
        if isinstance(expr, sp.Symbol) and expr in self.small_names:
            name = self.small_names[expr]
            if name not in self.prepared:
                self.prepared.append(name)
            return name
        name = f"_s{len(self.prepared)}"
        code = self.printer.doprint(expr.xreplace({s: sp.Symbol(n) for s, n in self.small_names.items()}))
        self.prep_lines.append(f"{name} = {code}")
        self.prepared.append(name)
        self._small_cache[expr] = name
        return name

    def emit(self, line):
        self.lines.append(line)

    # evaluation --------------------------------------------------------------------------
    def value(self, expr, dst=None):
        """Evaluate ``expr``; return (name, owned). ``owned`` means the caller may overwrite it.

        With ``dst`` the result is in ``dst`` (and owned)."""
        if not self.is_big(expr):
            name = self.small(expr)
            if dst is None:
                return name, False
            self.emit(f"np.copyto({dst}, {name})")
            return dst, True
        if isinstance(expr, sp.Symbol):
            name, owned = self.read(expr)
            if dst is None:
                return name, owned
            self.emit(f"np.copyto({dst}, {name})")
            if owned:
                self.release(name)
            return dst, True
        if isinstance(expr, sp.Add):
            return self.add(expr, dst)
        if isinstance(expr, sp.Mul):
            return self.mul(expr, dst)
        if isinstance(expr, sp.Pow):
            return self.power(expr, dst)
        return self.function(expr, dst)

    def read(self, sym):
        if sym in self.big_names:
            return self.big_names[sym], False
        name = self.bound[sym]
        self.uses[sym] -= 1
        owned = self.uses[sym] == 0 and self.kind.get(name) in ("pool", "fresh")
        if owned and self.held[name]:
            # An earlier operand of a pending operation still reads this buffer.
            self.orphans.add(name)
            owned = False
        return name, owned

    def hold(self, operand):
        if not operand[1]:
            self.held[operand[0]] += 1

    def unhold(self, operand):
        if not operand[1]:
            name = operand[0]
            self.held[name] -= 1
            if self.held[name] == 0 and name in self.orphans:
                self.orphans.discard(name)
                self.release(name)

    def target(self, dst, operands):
        """Where a new result goes: dst, else a dying pooled operand, else a new buffer."""
        if dst is not None:
            return dst
        for name, owned in operands:
            if owned and self.kind.get(name) == "pool":
                return name
        return self.alloc()

    def done(self, operands, keep):
        for name, owned in operands:
            if owned and name != keep:
                self.release(name)

    def ufunc(self, fn, args, dst):
        """``np.fn(*args, out=target)``; args are (name, owned) pairs or literals."""
        target = self.target(dst, args)
        names = ", ".join(a[0] for a in args)
        self.emit(f"np.{fn}({names}, out={target})")
        self.done(args, target)
        return target, True

    def fold(self, start, steps, dst):
        """Apply ``steps`` (ufunc name, expr) to ``start`` (name, owned) left to right."""
        acc = start
        for fn, term in steps:
            self.hold(acc)
            operand = self.value(term)
            self.unhold(acc)
            if dst is not None:
                target = dst
            elif acc[1] and self.kind.get(acc[0]) == "pool":
                target = acc[0]
            else:
                target = self.target(None, [operand])
            self.emit(f"np.{fn}({acc[0]}, {operand[0]}, out={target})")
            self.done([acc, operand], target)
            acc = (target, True)
        return self.finish(acc, dst)

    def finish(self, acc, dst):
        if dst is not None and acc[0] != dst:
            self.emit(f"np.copyto({dst}, {acc[0]})")
            self.done([acc], dst)
            return dst, True
        return acc

    def start(self, term, dst):
        """Evaluate the first term of a sum or product (into ``dst`` if it is computed)."""
        if isinstance(term, sp.Symbol) or not self.is_big(term):
            return self.value(term)
        return self.value(term, dst)

    def add(self, expr, dst):
        small = [t for t in expr.args if not self.is_big(t)]
        pos, neg = [], []
        for t in expr.args:
            if not self.is_big(t):
                continue
            coeff, rest = t.as_coeff_Mul()
            if coeff.is_negative:
                neg.append(-t)
            else:
                pos.append(t)
        pos.sort(key=lambda t: isinstance(t, sp.Symbol))   # computed terms first: reuse their buffer
        neg.sort(key=lambda t: isinstance(t, sp.Symbol))
        steps = [("add", t) for t in pos[1:]] + [("subtract", t) for t in neg]
        const = sp.Add(*small)
        if pos:
            acc = self.start(pos[0], dst)
        else:
            steps = [("subtract", t) for t in neg[1:]]
            operand = self.value(neg[0])
            if const != 0:
                acc = self.ufunc("subtract", [(self.small(const), False), operand], dst)
                const = sp.S.Zero
            else:
                acc = self.ufunc("negative", [operand], dst)
        if const != 0:
            steps.append(("add", const))
        return self.fold(acc, steps, dst)

    def mul(self, expr, dst):
        small = [f for f in expr.args if not self.is_big(f)]
        num, den = [], []
        for f in expr.args:
            if not self.is_big(f):
                continue
            if isinstance(f, sp.Pow) and f.exp.is_Integer and f.exp < 0:
                den.append(f.base if f.exp == -1 else sp.Pow(f.base, -f.exp))
            else:
                num.append(f)
        num.sort(key=lambda t: isinstance(t, sp.Symbol))
        const = sp.Mul(*small)
        if num:
            acc = self.start(num[0], dst)
            steps = [("multiply", f) for f in num[1:]]
        else:
            operand = self.value(den[0])
            acc = self.ufunc("divide", [(self.small(const), False), operand], dst)
            const, den = sp.S.One, den[1:]
            steps = []
        steps += [("divide", f) for f in den]
        if const != 1:
            steps.append(("multiply", const))
        return self.fold(acc, steps, dst)

    def power(self, expr, dst):
        base, e = expr.args
        if not self.is_big(e):
            operand = self.value(base) if e.is_Integer and 2 < e <= 4 else self.start(base, dst)
            if e == 2:
                return self.ufunc("square", [operand], dst)
            if e == -1:
                return self.ufunc("reciprocal", [operand], dst)
            if e == sp.S.Half:
                return self.ufunc("sqrt", [operand], dst)
            if e == -sp.S.Half:
                name = self.ufunc("sqrt", [operand], dst)
                return self.ufunc("reciprocal", [name], dst)
            if e.is_Integer and 2 < e <= 4:
                target = self.target(dst, [])
                self.emit(f"np.square({operand[0]}, out={target})")
                if e == 4:
                    self.emit(f"np.square({target}, out={target})")
                else:
                    self.emit(f"np.multiply({target}, {operand[0]}, out={target})")
                self.done([operand], target)
                return target, True
            return self.ufunc("power", [operand, (self.small(e), False)], dst)
        if base == sp.E:
            return self.ufunc("exp", [self.start(e, dst)], dst)
        operand = self.value(base)
        self.hold(operand)
        exponent = self.value(e)
        self.unhold(operand)
        return self.ufunc("power", [operand, exponent], dst)

    def function(self, expr, dst):
        head = type(expr)
        args = expr.args
        if head in _UFUNC_OF and len(args) == 1:
            return self.ufunc(_UFUNC_OF[head], [self.start(args[0], dst)], dst)
        if head is relu:
            return self.ufunc("maximum", [self.start(args[0], dst), ("0.0", False)], dst)
        if head is softplus:
            return self.ufunc("logaddexp", [self.start(args[0], dst), ("0.0", False)], dst)
        if head is hard_sigmoid:
            return self.ufunc("clip", [self.start(args[0], dst), ("0.0", False), ("1.0", False)], dst)
        if head is sp.Heaviside and not self.is_big(sp.Tuple(*args[1:])):
            h0 = args[1] if len(args) > 1 else sp.S.Half
            operand = self.start(args[0], dst)
            if h0 == 0:
                return self.ufunc("greater", [operand, ("0.0", False)], dst)
            if h0 == 1:
                return self.ufunc("greater_equal", [operand, ("0.0", False)], dst)
            return self.ufunc("heaviside", [operand, (self.small(h0), False)], dst)
        if head is sigmoid:
            return self.value(_kernel_form(expr), dst)
        return self.fallback(expr, dst)

    def fallback(self, expr, dst):
        """Anything else: print it with the stable printer on the names of its symbols."""
        names = {}
        for sym in expr.free_symbols:
            if sym in self.big_names:
                names[sym] = sp.Symbol(self.big_names[sym])
            elif sym in self.bound:
                names[sym] = sp.Symbol(self.bound[sym])
            elif sym in self.small_names:
                names[sym] = sp.Symbol(self.small(sym))
        dying = []
        for sym in expr.free_symbols & set(self.bound):
            count = _occurrences(expr, sym)
            self.uses[sym] -= count
            if self.uses[sym] == 0:
                dying.append(self.bound[sym])
        code = self.printer.doprint(expr.xreplace(names))
        if dst is not None:
            self.emit(f"np.copyto({dst}, {code})")
            result = dst
        else:
            result = f"_f{self.n_fresh}"
            self.n_fresh += 1
            self.kind[result] = "fresh"
            self.emit(f"{result} = {code}")
        for name in dying:
            self.release(name)
        return result, True


def _occurrences(expr, sym) -> int:
    if expr == sym:
        return 1
    return sum(_occurrences(a, sym) for a in expr.args)


class Kernel:
    """Elementwise SymPy expressions compiled to in-place NumPy code.

    Parameters
    ----------
    inputs : sequence of Symbol
        Per-element arguments: arrays that broadcast to the kernel's full shape (e.g. ``(m, H)``
        arrays and ``(m, 1)`` columns).
    exprs : sequence of Expr
        The outputs. Written into caller-provided arrays of the full shape.
    params : sequence of Symbol, optional
        Small arguments (scalars or per-unit rows such as ``(H,)``): every sub-expression that
        depends on them only is computed once per call by ``prepare``, not per element.

    Attributes
    ----------
    source : str
        The generated Python source (``prepare`` and ``run``).
    n_scratch : int
        How many scratch arrays of the full shape ``run`` needs.
    prepare : callable
        ``prepare(*params) -> tuple`` of prepared small values.
    run : callable
        ``run(*inputs, *prepared, *outs, *scratch)``: writes every output; returns None.
        ``outs`` and ``scratch`` must be distinct float64 arrays of the full shape that alias no
        input.

    Examples
    --------
    >>> import sympy as sp, numpy as np
    >>> from derive.functions import sigmoid
    >>> u, c = sp.symbols("u c")
    >>> k = Kernel([u], [sigmoid(u) * (1 - sigmoid(u))])
    >>> out = np.empty(3)
    >>> k(np.array([-1000.0, 0.0, 1000.0]), out=[out])[0]
    array([0.  , 0.25, 0.  ])
    """

    def __init__(self, inputs: Sequence[sp.Symbol], exprs: Sequence[sp.Expr], params: Sequence[sp.Symbol] = ()):
        self.inputs = tuple(inputs)
        self.params = tuple(params)
        self.exprs = tuple(sp.sympify(e) for e in exprs)
        taken: set = set()
        big_names, small_names = {}, {}
        for k, s in enumerate(self.inputs):
            big_names[s] = _identifier(s.name, taken, f"_i{k}")
            taken.add(big_names[s])
        for k, s in enumerate(self.params):
            small_names[s] = _identifier(s.name, taken, f"_p{k}")
            taken.add(small_names[s])
        known = set(self.inputs) | set(self.params)
        for e in self.exprs:
            extra = e.free_symbols - known
            if extra:
                names = sorted(map(str, extra))
                raise said(f"kernel expression uses unknown symbols {names}", f"核表达式用到了未知的符号 {names}")

        forms = [_kernel_form(e) for e in self.exprs]
        replacements, reduced = sp.cse(forms, symbols=sp.numbered_symbols("_e"))
        em = _Emitter(big_names, small_names)
        outs = [f"out{k}" for k in range(len(forms))]
        for name in outs:
            em.kind[name] = "out"
        for sym, _ in replacements:
            em.uses[sym] = sum(_occurrences(e, sym) for _, e in replacements) + sum(
                _occurrences(e, sym) for e in reduced
            )
        # An output that is exactly a CSE symbol is computed straight into its output array.
        defined = dict(replacements)
        direct = {}
        for k, e in enumerate(reduced):
            if e in defined and e not in direct:
                direct[e] = outs[k]
        for sym, definition in replacements:
            if not em.is_big(definition):
                em.small_names[sym] = em.small(definition)
                direct.pop(sym, None)
                continue
            em.big_syms.add(sym)
            if sym in direct:
                name, _ = em.value(definition, direct[sym])
                em.kind[name] = "out"
            else:
                name, owned = em.value(definition)
            em.bound[sym] = name
            if em.uses[sym] == 0:
                em.release(name)
        for k, e in enumerate(reduced):
            if direct.get(e) == outs[k]:
                continue
            name, owned = em.value(e, outs[k])

        big_args = [big_names[s] for s in self.inputs]
        scratch = [f"_b{k}" for k in range(em.n_scratch)]
        run_args = big_args + em.prepared + outs + scratch
        prep_args = [small_names[s] for s in self.params]
        lines = [f"def prepare({', '.join(prep_args)}):"]
        lines += [f"    {ln}" for ln in em.prep_lines]
        lines.append(f"    return ({''.join(p + ', ' for p in em.prepared)})")
        lines.append("")
        lines.append(f"def run({', '.join(run_args)}):")
        lines += [f"    {ln}" for ln in em.lines] or ["    pass"]
        self.source = "\n".join(lines) + "\n"
        self.n_scratch = em.n_scratch
        self.n_outputs = len(outs)
        namespace = {"np": np, "numpy": np}
        exec(compile(self.source, "<derive kernel>", "exec"), namespace)
        self.prepare = namespace["prepare"]
        self.run = namespace["run"]

    def scratch(self, shape) -> list:
        """Fresh scratch arrays for ``run`` at the full ``shape``."""
        return [np.empty(shape) for _ in range(self.n_scratch)]

    def __call__(self, *inputs, params=(), out=None):
        """Evaluate once, allocating what is needed; returns the list of outputs."""
        arrays = [np.asarray(a, dtype=np.float64) for a in inputs]
        shape = np.broadcast_shapes(*(a.shape for a in arrays), *(np.shape(p) for p in params))
        if out is None:
            out = [np.empty(shape) for _ in range(self.n_outputs)]
        self.run(*arrays, *self.prepare(*params), *out, *self.scratch(shape))
        return list(out)

    def __repr__(self):
        return f"Kernel({list(self.inputs)}, {list(self.exprs)}, params={list(self.params)})"
