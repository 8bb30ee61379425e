"""Reverse-mode matrix calculus on ``tree.Node``: each operation's adjoint rule (the Matrix
Cookbook's identities) gives the gradient in matrix form; a Jacobian for ``--hessian``.

An elementwise region (sums, products, quotients, powers and elementwise functions of the same
operands, as in −Σ y⊙log σ(X·w) + …) is differentiated as one scalar function φ of its operands
by SymPy, entry by entry, and simplified there; the result is written back as a tree. Each such
step is recorded (``Local``) so that the derivation can show it with the engine's named rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache, reduce

import sympy as sp
from sympy.core.parameters import global_parameters

from ..errors import said
from ..functions import relu, sigmoid
from . import tree as t

_SYMPY_FN = {"log": sp.log, "exp": sp.exp, "tanh": sp.tanh, "sigmoid": sigmoid, "relu": relu,
             "step": lambda z: sp.Heaviside(z, 0)}


@dataclass(frozen=True)
class Local:
    """One entrywise derivative: ∂φ/∂u = value, where φ is an elementwise expression of the
    operand ``atom`` (entry symbol ``u``)."""

    phi: sp.Expr
    u: sp.Symbol
    value: sp.Expr
    atom: t.Node
    names: tuple          # (symbol, node) for every operand of φ


@dataclass(frozen=True)
class Rule:
    """One adjoint rule used: its key (messages in ``derivation``) and the node it was used at."""

    key: str
    node: t.Node


class Gradient:
    """∂f/∂``wrt`` of a scalar tree ``f``: ``value`` (a tree), the entrywise derivatives
    (``locals``) and the adjoint rules used (``rules``), in the order used."""

    def __init__(self, f: t.Node, wrt: str):
        if not f.is_scalar:
            raise said(f"the expression is {t.shape_text(f.shape)}, not a scalar: "
                       f"a gradient needs a scalar function (use sum(…) or norm(…))",
                       f"表达式是 {t.shape_text(f.shape)}，不是标量：梯度需要标量函数"
                       f"（用 sum(⋯) 或 norm(⋯)）")
        self.wrt = wrt
        self.locals: list[Local] = []
        self.rules: list[Rule] = []
        self.parts: list[t.Node] = []
        self.back(inner_products(log_softmax(f)), t.const(1))
        shape = t.variables(f)[wrt]
        value = t.add(*self.parts) if self.parts else t.zero()
        if value.is_scalar and shape != t.SCALAR and t.is_const(value, 0):
            value = t.zero()
        # a matrix variable's gradient as the Cookbook folds its transposes: (X·B + B·X)ᵀ
        self.value = t.folded_transposes(value) if 1 not in shape else value

    def rule(self, key: str, node: t.Node) -> None:
        if all(r.key != key for r in self.rules):
            self.rules.append(Rule(key, node))

    def back(self, node: t.Node, g: t.Node) -> None:
        """Send the adjoint ``g`` (∂f/∂node, node's shape) down to the operands of ``node``."""
        if not t.has_var(node, self.wrt):
            return
        a = node.args
        op = node.op
        if op == "var":
            self.parts.append(g)
        elif op in t.ELEMENTWISE:
            self.region(node, g)
        elif op == "matmul":
            self.rule("matmul", node)
            for i, f in enumerate(a):
                if not t.has_var(f, self.wrt):
                    continue
                gi = g
                if i:
                    gi = t.matmul(t.transpose(t.matmul_of(a[:i])), gi)
                if i < len(a) - 1:
                    gi = t.matmul(gi, t.transpose(t.matmul_of(a[i + 1:])))
                self.back(f, gi)
        elif op == "T":
            self.rule("transpose", node)
            self.back(a[0], t.transpose(g))
        elif op == "sum":
            self.rule("sum", node)
            self.back(a[0], t.mul(g, t.ones(a[0])))
        elif op == "trace":
            self.rule("trace", node)
            self.back(a[0], t.mul(g, t.eye(a[0])))
        elif op == "det":
            self.rule("det", node)
            self.back(a[0], t.mul(scalar_product(g, node), t.transpose(t.inverse(a[0]))))
        elif op == "inv":
            self.rule("inv", node)
            c = t.transpose(node)
            self.back(a[0], t.neg(t.matmul(t.matmul(c, g), c)))
        elif op == "norm":
            self.rule("norm", node)
            self.back(a[0], t.mul(scalar_product(g, t.power(node, -1)), a[0]))
        elif op == "softmax":
            self.rule("softmax", node)
            self.back(a[0], t.mul(node, t.sub(g, t.total(t.mul(g, node), node.data))))
        elif op == "logsumexp":
            self.rule("logsumexp", node)
            self.back(a[0], t.mul(g, t.softmax(a[0], node.data)))
        elif op == "diag":
            self.rule("diag", node)
            self.back(a[0], t.diag(g))
        else:
            raise said(f"no derivative rule for {op}", f"{op} 没有求导法则")

    def region(self, node: t.Node, g: t.Node) -> None:
        """The adjoint through an elementwise region: ∂φ/∂u entry by entry for each operand u."""
        names: dict = {}
        phi = to_sympy(node, names, taken=set(t.variables(node)))
        back = {s: n for n, s in names.items()}
        for atom, u in names.items():
            if not t.has_var(atom, self.wrt):
                continue
            value = _entrywise(phi, u, global_parameters.evaluate, global_parameters.distribute)
            self.locals.append(Local(phi, u, value, atom, tuple(back.items())))
            local = as_written(value, phi, back)
            self.back(atom, t.reduce_to(t.mul(g, local), atom.shape))


def as_written(value: sp.Expr, phi: sp.Expr, back: dict) -> t.Node:
    """``value`` as a tree, a difference the way round the expression ``phi`` writes it: the
    derivative of (y − z)² is −2·(y − z), as the notes write −2·Xᵀ·(y − X·w); otherwise the
    prediction first, 2·(z − y) (``from_sympy``)."""
    c, rest = value.as_coeff_Mul()
    if rest.is_Add:
        inner, rest = rest.primitive()
        c *= inner
        written = {a for a in sp.preorder_traversal(phi) if a.is_Add}
        for sign in (1, -1):
            if sign * rest in written and -sign * rest not in written and sign * c < 0:
                return t.scale(sign * c, from_sympy(sign * rest, back))
    return from_sympy(value, back)


def log_softmax(n: t.Node) -> t.Node:
    """log(softmax(A)) written A − logsumexp(A) along the same axis: the same values, and
    the cross-entropy's gradient then reads softmax(A)·… − Y instead of quotients by softmax."""
    args = tuple(log_softmax(a) for a in n.args)
    if n.op == "fn" and n.data == "log" and args[0].op == "softmax":
        inner = args[0]
        return t.sub(inner.args[0], t.logsumexp(inner.args[0], inner.data))
    return t.Node(n.op, args, n.shape, n.data) if args != n.args else n


def inner_products(n: t.Node) -> t.Node:
    """An inner product of two vectors, uᵀ·v, written Σ u ⊙ v: the same value, and the terms of
    −(yᵀ·log σ(X·w) + (1 − y)ᵀ·log(1 − σ(X·w))) then make one elementwise region, whose derivative
    SymPy simplifies as a whole to σ(X·w) − y (two regions would each keep their own quotient).
    Of the two ways round (u ⊙ vᵀ or uᵀ ⊙ v) the one with fewer transposes is taken."""
    args = tuple(inner_products(a) for a in n.args)
    if n.op == "matmul" and len(args) == 2 and n.is_scalar and args[0].shape[1] != 1:
        u, v = args
        ways = [t.mul(t.transpose(u), v), t.mul(u, t.transpose(v))]
        return t.total(min(ways, key=lambda w: t.key(w).count("T[")))
    if args == n.args:
        return n
    # rebuilt by the simplifying constructors, so that Σ(y ⊙ …) + Σ((1 − y) ⊙ …) is one sum
    build = {"add": t.add, "neg": t.neg, "div": t.div, "mul": lambda *f: reduce(t.mul, f)}.get(n.op)
    return build(*args) if build else t.Node(n.op, args, n.shape, n.data)


def scalar_product(a: t.Node, b: t.Node) -> t.Node:
    """a·b for scalars, simplified by SymPy (1/det(X)·det(X) is 1)."""
    names: dict = {}
    expr = tidy(to_sympy(a, names, set()) * to_sympy(b, names, set()))
    return from_sympy(expr, {s: n for n, s in names.items()})


@lru_cache(maxsize=1024)
def _entrywise(phi: sp.Expr, u: sp.Symbol, *switches) -> sp.Expr:
    """∂φ/∂u in its shortest form, remembered: a model's matrix lines each differentiate the
    same cost again (mlp's six gradients go through the same regions, each a SymPy expand,
    factor and cancel). A pure function of φ, u and SymPy's switches (``switches``: its
    ``evaluate`` and ``distribute``, which change what SymPy builds), so a remembered answer is
    the one it would work out again."""
    return tidy(sp.diff(phi, u))


def tidy(expr: sp.Expr, turned: bool = False) -> sp.Expr:
    """The shortest of a few equal forms (σ(z) − y rather than −y·(1 − σ(z)) + (1 − y)·σ(z));
    with ``turned``, also those with σ(−u) written 1 − σ(u) (a Hessian's σ(u)·(1 − σ(u)), where
    a gradient keeps the σ(−u) of the ±1-label logistic loss, −Xᵀ·(y ⊙ σ(−y ⊙ (X·w))))."""
    forms = [expr, sp.expand(expr), sp.factor(expr), sp.cancel(expr)]
    forms += [_sigmoids(f) for f in forms]
    # σ(−u)·(1 − σ(−u)) is σ(u)·(1 − σ(u)): a negated argument is turned round where that is shorter
    forms += [sp.factor(f.replace(lambda e: isinstance(e, sigmoid) and e.args[0].could_extract_minus_sign(),
                                  lambda e: 1 - sigmoid(-e.args[0]))) for f in forms if turned and f.has(sigmoid)]
    return min(forms, key=lambda e: (sp.count_ops(e), _occurrences(e), _turned_brackets(e), e.is_Add, len(str(e))))


def _occurrences(expr: sp.Expr) -> int:
    """How many times operands occur: V ⊙ (1 − tanh(z)²) has V once, V − V ⊙ tanh(z)² twice."""
    return sum(1 for e in sp.preorder_traversal(expr) if e.is_Symbol)


def _turned_brackets(expr: sp.Expr) -> int:
    """Brackets written the other way round from the textbook's 1 − σ and σ − y: those with a
    negative number (σ − 1), or a function subtracted from what has none (y − σ)."""
    def turned(a):
        if any(x.is_Number and x < 0 for x in a.args):
            return True
        plus = [x for x in a.args if not x.could_extract_minus_sign()]
        minus = [x for x in a.args if x.could_extract_minus_sign()]
        return (any(x.has(sp.Function) for x in minus) and bool(plus)
                and not any(x.has(sp.Function) or x.is_Number for x in plus))
    return sum(1 for a in sp.preorder_traversal(expr) if a.is_Add and turned(a))


def _sigmoids(expr: sp.Expr) -> sp.Expr:
    """1/(1 + exp(u)) written σ(−u), as the notes write the logistic loss's derivative."""
    def is_logistic(e):
        return (e.is_Pow and e.exp == -1 and e.base.is_Add and len(e.base.args) == 2
                and 1 in e.base.args and any(a.func == sp.exp for a in e.base.args))

    def as_sigmoid(e):
        u = next(a for a in e.base.args if a.func == sp.exp).args[0]
        return sigmoid(-u)

    def merged(e):
        # e^u·σ(−u) = e^u/(1 + e^u) is σ(u): the softplus's derivative
        for f in e.args:
            if f.func == sp.exp and sigmoid(-f.args[0]) in e.args:
                return e.func(*(a for a in e.args if a not in (f, sigmoid(-f.args[0])))) * sigmoid(f.args[0])
        return e

    return expr.replace(is_logistic, as_sigmoid).replace(lambda e: e.is_Mul, merged)


def to_sympy(node: t.Node, names: dict, taken: set) -> sp.Expr:
    """The elementwise part of ``node`` as a scalar SymPy expression; each operand that is not
    elementwise (a variable, X·w, det(X)) becomes a symbol, recorded in ``names``."""
    op = node.op
    a = node.args
    if op == "const":
        return node.data
    if op == "add":
        return sp.Add(*(to_sympy(x, names, taken) for x in a))
    if op == "neg":
        return -to_sympy(a[0], names, taken)
    if op == "mul":
        return sp.Mul(*(to_sympy(x, names, taken) for x in a))
    if op == "div":
        return to_sympy(a[0], names, taken) / to_sympy(a[1], names, taken)
    if op == "pow":
        return to_sympy(a[0], names, taken) ** node.data
    if op == "fn":
        return _SYMPY_FN[node.data](to_sympy(a[0], names, taken))
    if node not in names:
        if op == "var":
            names[node] = sp.Symbol(node.data, real=True)
        else:
            names[node] = _fresh(names, taken)
    return names[node]


def _fresh(names: dict, taken: set) -> sp.Symbol:
    used = taken | {s.name for s in names.values()}
    for base in ("z", "u", "v", "s"):
        for k in ("", "2", "3", "4", "5", "6"):
            if base + k not in used:
                return sp.Symbol(base + k, real=True)
    raise said("expression has too many operands", "表达式的运算对象太多")


def from_sympy(expr: sp.Expr, back: dict) -> t.Node:
    """A SymPy scalar expression written as a tree, each operand symbol by ``back``."""
    if expr in back:
        return back[expr]
    if expr.is_Number:
        return t.const(expr)
    if expr.is_Mul and expr.as_coeff_Mul()[0] < 0 and expr.as_coeff_Mul()[1].is_Add:
        # 2·(z − y) rather than −2·(y − z): the difference as the notes write an error
        return t.scale(-expr.as_coeff_Mul()[0], from_sympy(-expr.as_coeff_Mul()[1], back))
    num, den = sp.fraction(expr) if expr.is_Mul or expr.is_Pow else (expr, 1)
    if den != 1 and not (expr.is_Mul and _mixed(expr, back)):
        return t.div(from_sympy(num, back), from_sympy(den, back))
    if expr.is_Add:
        # SymPy distributes a number over a sum (2·(z − y) is 2·z − 2·y); the notes factor it out
        c, rest = expr.primitive()
        if c != 1:
            return t.scale(c, from_sympy(rest, back))
        return t.add(*(from_sympy(x, back) for x in expr.args))
    if expr.is_Mul:
        scalars = [a for a in expr.args if all(back[s].is_scalar for s in a.free_symbols if s in back)]
        if scalars and len(scalars) < len(expr.args):
            # the scalar part as one factor (2/m), the rest after it
            rest = [a for a in expr.args if a not in scalars]
            return t.mul(from_sympy(sp.Mul(*scalars), back), from_sympy(sp.Mul(*rest), back))
        out = t.const(1)
        # an error first, then a function before a bracket: (σ(z) − y)·σ(z)·(1 − σ(z)), as the
        # notes write the chain rule's upstream factor before the activation's derivative
        for x in sorted(expr.args, key=lambda a: (not _error(a), a.is_Add)):
            out = t.mul(out, from_sympy(x, back))
        return out
    if expr.is_Pow and expr.exp.is_Number:
        return t.power(from_sympy(expr.base, back), expr.exp)
    for name, f in _SYMPY_FN.items():
        if name != "step" and isinstance(expr, f):
            return t.fn(name, from_sympy(expr.args[0], back))
    if isinstance(expr, sp.Heaviside):
        return t.fn("step", from_sympy(expr.args[0], back))
    if expr.func == sp.exp:
        return t.fn("exp", from_sympy(expr.args[0], back))
    raise said(f"cannot write {expr} in matrix form", f"无法把 {expr} 写成矩阵形式")


def _error(expr: sp.Expr) -> bool:
    """Whether ``expr`` is a difference of a function and an operand, as the error σ(z) − y."""
    def bare(x):
        return x.is_Symbol or (x.is_Mul and any(f.is_Symbol for f in x.args))
    return expr.is_Add and any(x.has(sp.Function) for x in expr.args) and any(bare(x) for x in expr.args)


def _mixed(expr: sp.Mul, back: dict) -> bool:
    """Whether a product has both scalar factors and matrix factors."""
    kinds = {all(back[s].is_scalar for s in a.free_symbols if s in back) for a in expr.args}
    return len(kinds) == 2


def jacobian(g: t.Node, wrt: str, shape) -> t.Node:
    """∂g/∂x for a column vector ``g`` of the column vector ``x`` (named ``wrt``), as a tree:
    the rows of the Hessian when ``g`` is a gradient. Supports products by matrices that do not
    depend on x, sums, and elementwise functions (a diagonal matrix diag(φ′))."""
    if not t.has_var(g, wrt):
        return t.zero()
    op = g.op
    if op == "var":
        return t.eye(g)
    if op == "add":
        return t.add(*(jacobian(x, wrt, shape) for x in g.args))
    if op == "neg":
        return t.neg(jacobian(g.args[0], wrt, shape))
    if op == "matmul" and not t.has_var(t.matmul_of(g.args[:-1]), wrt):
        return t.matmul(t.matmul_of(g.args[:-1]), jacobian(g.args[-1], wrt, shape))
    if op == "div" and g.args[1].is_scalar and not t.has_var(g.args[1], wrt):
        # a mean's divisor stays outside: the Hessian of (1/m)·Σ … is (1/m) times the sum's
        return t.div(jacobian(g.args[0], wrt, shape), g.args[1])
    if op == "mul" and all(f.is_scalar and not t.has_var(f, wrt) for f in g.args[:-1]):
        inner = jacobian(g.args[-1], wrt, shape)
        for f in reversed(g.args[:-1]):
            inner = t.mul(f, inner)
        return inner
    if op in t.ELEMENTWISE:
        names: dict = {}
        phi = to_sympy(g, names, taken=set(t.variables(g)))
        back = {s: n for n, s in names.items()}
        parts = []
        for atom, u in names.items():
            if not t.has_var(atom, wrt):
                continue
            if atom.shape != g.shape:
                break
            # a sign comes out of the diagonal: Xᵀ·diag(σ ⊙ (1 − σ))·X, not −Xᵀ·diag(−σ ⊙ (1 − σ))·X
            local, sign = tidy(sp.diff(phi, u), turned=True), 1
            flips = [a for a in local.args if a.is_Add and any(x.is_Number and x < 0 for x in a.args)
                     and not any(x.as_coeff_Mul()[0] < 0 for x in a.args if not x.is_Number)] if local.is_Mul else []
            if len(flips) == 1:
                # σ ⊙ (σ − 1) is −σ ⊙ (1 − σ): the bracket as the notes write it, its sign outside
                local, sign = sp.Mul(*(-a if a is flips[0] else a for a in local.args)), -1
            c, local = t.split_coeff(from_sympy(local, back))
            parts.append(t.scale(sign * c, t.matmul(t.diag(local), jacobian(atom, wrt, shape))))
        else:
            return t.add(*parts)
    raise said(f"--hessian: no Jacobian rule for {t.text(g)} (a product of matrices "
               f"that do not depend on {wrt}, a sum, or an elementwise function)",
               f"--hessian：{t.text(g)} 没有雅可比矩阵的法则（只有不依赖 {wrt} 的矩阵之积、"
               f"和、逐元素函数才有）")


def linear_parts(g: t.Node, wrt: str):
    """A matrix ``g`` that is linear in the matrix ``wrt`` as its terms ``[(c, A, B)]``, each
    c·A·W·B with a scalar c and matrices A, B that do not depend on W (None: the identity);
    terms without W are left out (their derivative is 0). None when ``g`` is not of that form:
    a transposed W, or W inside a function."""
    if not t.has_var(g, wrt):
        return []
    op, a = g.op, g.args
    if op == "var":
        return [(t.const(1), None, None)]
    if op in ("add", "neg"):
        parts = [linear_parts(x, wrt) for x in a]
        if any(p is None for p in parts):
            return None
        flip = t.neg if op == "neg" else (lambda c: c)
        return [(flip(c), A, B) for p in parts for c, A, B in p]
    if op == "div" and a[1].is_scalar and not t.has_var(a[1], wrt):
        inner = linear_parts(a[0], wrt)
        return None if inner is None else [(t.div(c, a[1]), A, B) for c, A, B in inner]
    if op == "mul":
        matrices = [f for f in a if not f.is_scalar]
        scalars = [f for f in a if f.is_scalar]
        if len(matrices) != 1 or any(t.has_var(f, wrt) for f in scalars):
            return None
        inner = linear_parts(matrices[0], wrt)
        if inner is None:
            return None
        return [(reduce(t.mul, scalars, c), A, B) for c, A, B in inner]
    if op == "matmul":
        at = [i for i, f in enumerate(a) if t.has_var(f, wrt)]
        inner = linear_parts(a[at[0]], wrt) if len(at) == 1 else None
        if inner is None:
            return None
        left = t.matmul_of(a[:at[0]]) if at[0] else None
        right = t.matmul_of(a[at[0] + 1:]) if at[0] < len(a) - 1 else None
        return [(c, _times(left, A), _times(B, right)) for c, A, B in inner]
    return None


def _times(x, y):
    """x·y where None is the identity."""
    if x is None or y is None:
        return y if x is None else x
    return t.matmul(x, y)


def kronecker_hessian(g: t.Node, wrt: str, shape):
    """∂vec(g)/∂vec(W)ᵀ for a gradient ``g`` linear in the p × q matrix W, in Kronecker form:
    vec(A·W·B) = (Bᵀ ⊗ A)·vec(W) (columns stacked), terms with the same B written once with
    the sum of their A's. None when ``g`` has no such form (``linear_parts``)."""
    parts = linear_parts(g, wrt)
    if parts is None:
        return None
    w = t.var(wrt, shape)
    groups: dict = {}
    for c, A, B in parts:
        groups.setdefault(B, []).append((c, A))
    terms = []
    # the plain A first, as the Matrix Cookbook writes Bᵀ ⊗ A + B ⊗ Aᵀ
    for B, members in sorted(groups.items(), key=lambda item: any(A is not None and A.op == "T"
                                                                    for _, A in item[1])):
        right = t.eye(t.transpose(w)) if B is None else t.transpose(B)
        if len(members) == 1:
            c, A = members[0]
            terms.append(t.mul(c, t.kron(right, t.eye(w) if A is None else A)))
        else:
            terms.append(t.kron(right, t.add(*(t.mul(c, t.eye(w) if A is None else A) for c, A in members))))
    return t.add(*terms) if terms else t.zero()
