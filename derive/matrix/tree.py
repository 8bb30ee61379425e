"""Matrix expressions as a small tree of their own: shapes, simplifying constructors, and the
three ways a tree is written (Unicode text, LaTeX, NumPy) plus its value at concrete sizes.

Every value is a matrix of ``shape = (rows, cols)`` (sizes: SymPy integers or positive integer
symbols); a column vector is ``(n, 1)`` and a scalar ``(1, 1)``. Elementwise operations follow
NumPy's broadcasting (a size-1 dimension stretches).
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import sympy as sp

from ..errors import DeriveError, said
from ..printing import unicode_name

ONE = sp.Integer(1)
SCALAR = (ONE, ONE)

# The names of the expression being differentiated, in the order the input writes them: terms that
# are the same factors rearranged are ordered by these roles, not by the alphabet, so that renaming
# the letters (X → W, A → B) prints the same form. Unset, names order by the alphabet.
_ROLES: ContextVar = ContextVar("matrix_name_roles", default=None)


@contextmanager
def roles(names):
    """Order rearranged terms by ``names`` (the input's variables, first appearance first) within."""
    token = _ROLES.set({name: i for i, name in enumerate(names)})
    try:
        yield
    finally:
        _ROLES.reset(token)


def _role(name: str) -> tuple:
    """The sort key of a name: its place in the input when known, else its spelling."""
    order = _ROLES.get()
    return (order.get(name, len(order)), name) if order is not None else (0, name)

# Elementwise functions: text head, LaTeX head, NumPy template.
FUNCTIONS = {
    "log": ("log", r"\log", "np.log({})"),
    "exp": ("exp", r"\exp", "np.exp({})"),
    "tanh": ("tanh", r"\tanh", "np.tanh({})"),
    "sigmoid": ("σ", r"\sigma", ""),   # NumPy: written by ``_np``, which drops a double minus
    "relu": ("ReLU", r"\operatorname{ReLU}", "np.maximum({}, 0)"),
    "step": ("", "", "np.heaviside({}, 0)"),
}
ELEMENTWISE = {"add", "neg", "mul", "div", "pow", "fn", "const"}

# Binding strength, for brackets: a sum < a product < a prefix minus < a postfix (ᵀ, ⁻¹) < a name.
_ADD, _MUL, _NEG, _POST, _ATOM = 1, 2, 3, 4, 5


@dataclass(frozen=True)
class Node:
    """One operation: ``op`` on ``args`` (Nodes), of ``shape``; ``data`` holds a name, a number,
    a function name or an axis."""

    op: str
    args: tuple = ()
    shape: tuple = SCALAR
    data: Any = None

    @property
    def is_scalar(self) -> bool:
        return self.shape == SCALAR

    def __repr__(self):
        return text(self)


def key(n: Node) -> str:
    """The tree exactly, as text (operations, data, shapes): what names it in a claim of proof,
    where its display would not (two trees may print alike)."""
    return f"{n.op}[{n.data!r}]{n.shape}(" + ",".join(key(a) for a in n.args) + ")"


def shape_text(shape) -> str:
    r, c = shape
    return f"{r} × {c}"


def var(name: str, shape) -> Node:
    return Node("var", (), tuple(sp.sympify(s) for s in shape), name)


def const(value) -> Node:
    return Node("const", (), SCALAR, sp.nsimplify(value))


def is_const(node: Node, value=None) -> bool:
    return node.op == "const" and (value is None or node.data == value)


def ones(like: Node) -> Node:
    """The all-ones matrix of the shape of ``like`` (NumPy: ``np.ones_like``)."""
    return Node("ones", (like,), like.shape)


def eye(like: Node) -> Node:
    """The identity of the size of the rows of ``like``."""
    return Node("eye", (like,), (like.shape[0], like.shape[0]))


def kron(a: Node, b: Node) -> Node:
    """The Kronecker product a ⊗ b; a 1 × 1 identity on either side is dropped (the Hessian of
    a vector's function has no Kronecker factor)."""
    for x, y in ((a, b), (b, a)):
        if x.op == "eye" and x.shape == SCALAR:
            return y
    return Node("kron", (a, b), (a.shape[0] * b.shape[0], a.shape[1] * b.shape[1]))


def size(of: Node, axis: int) -> Node:
    """The number of rows (``axis`` 0) or columns (1) of ``of``: the m of sum(Y) = m."""
    return Node("size", (of,), SCALAR, axis)


def zero() -> Node:
    return const(0)


# Shapes -------------------------------------------------------------------------------------
def broadcast(op: str, a: Node, b: Node) -> tuple:
    """The shape of an elementwise ``op`` of ``a`` and ``b`` (NumPy's rule), or DeriveError."""
    out = []
    for x, y in zip(a.shape, b.shape):
        if x == y or y == 1:
            out.append(x)
        elif x == 1:
            out.append(y)
        else:
            raise said(f"{op}: shapes {shape_text(a.shape)} and {shape_text(b.shape)} do not match",
                       f"{op}：形状 {shape_text(a.shape)} 与 {shape_text(b.shape)} 不匹配")
    return tuple(out)


# Constructors that simplify as they build ---------------------------------------------------
def add(*terms: Node) -> Node:
    """A sum: nested sums flattened, zeros dropped, equal terms counted (A + A = 2·A), and
    P·x + Q·x factored as (P + Q)·x."""
    cores = {split_coeff(t)[1] for t in terms}
    if len(terms) > 1 and len(cores) == 1 and next(iter(cores)).op == "add":
        # equal sums added: (X − A) + (X − A) is 2·(X − A), which flattening would write 2·X − 2·A
        return scale(sum(split_coeff(t)[0] for t in terms), next(iter(cores)))
    flat = []
    for t in terms:
        flat.extend(t.args if t.op == "add" else (t,))
    flat = [t for t in flat if not is_const(t, 0)]
    over = _common_divisor(flat)
    if over is not None:
        # P/m − Y/m is (P − Y)/m, as the notes write a mean
        return div(_transposed_sum(add(*(scale(c, core.args[0]) for c, core in map(split_coeff, flat)))), over)
    counts: dict = {}
    for t in flat:
        c, core = split_coeff(t)
        counts[core] = counts.get(core, 0) + c
    flat = [scale(c, core) for core, c in counts.items() if c != 0]
    flat = _factor_right(flat)
    common = _factor_common(flat)
    if common is not None:
        return common
    if not flat:
        return zero()
    if len(flat) == 1:
        return flat[0]
    shape = flat[0].shape
    for t in flat[1:]:
        shape = broadcast("+", Node("add", (), shape), t)
    consts = [t for t in flat if is_const(t)]
    if len(consts) > 1:
        return add(*(t for t in flat if not is_const(t)), const(sum(t.data for t in consts)))
    # positive terms first, as the notes write a difference: σ(X·w) − y; a matrix before its
    # transpose, A + Aᵀ
    products = any(t.op == "matmul" for t in flat)
    bases = {split_coeff(t)[1] for t in flat}
    flat.sort(key=lambda t: (bool(split_coeff(t)[0] < 0), products and t.op == "var",
                             split_coeff(t)[1].op == "T" and split_coeff(t)[1].args[0] in bases))
    return Node("add", tuple(_rearranged(flat)), shape)


def _rearranged(terms: list) -> list:
    """Terms that are the same factors rearranged, ordered as the Matrix Cookbook prints them: by
    their names read left to right (each name by its place in the input: see ``roles``), then the one with fewer transposes first (Dᵀ·X·b·cᵀ + D·X·c·bᵀ,
    B·X·C + Bᵀ·X·Cᵀ); any other sum keeps its order."""
    def names(n):
        return [x.data for x in _leaves(n)]
    cores = [split_coeff(x)[1] for x in terms]
    if len(terms) < 2 or any(c.op != "matmul" for c in cores) or len({tuple(sorted(names(c))) for c in cores}) != 1:
        return terms
    return sorted(terms, key=lambda x: ([_role(n) for n in names(split_coeff(x)[1])], text(x).count("ᵀ")))


def _leaves(n: Node) -> list:
    """The variables of ``n`` in the order written, repeats included."""
    return [n] if n.op == "var" else [leaf for a in n.args for leaf in _leaves(a)]


def _factor_common(terms: list):
    """A sum whose every term has the same outer factor, written with it once, or None: a sum of
    column sums Σ(P) − Σ(Y) is Σ(P − Y), P·x − P·y is P·(x − y), and Hadamard products that share
    factors, (G ⊙ S) − (H ⊙ S), are (G − H) ⊙ S."""
    if len(terms) < 2:
        return None
    split = [split_coeff(t) for t in terms]
    cores = [core for _, core in split]
    ops = {core.op for core in cores}
    if ops == {"sum"} and len({(core.data, core.args[0].shape) for core in cores}) == 1:
        return total(add(*(scale(c, core.args[0]) for c, core in split)), cores[0].data)
    if ops == {"matmul"} and len({core.args[0] for core in cores}) == 1:
        rests = [matmul_of(core.args[1:]) for core in cores]
        if len({r.shape for r in rests}) == 1:
            # the Matrix Cookbook's order inside the bracket: X·(B + Bᵀ), X·(b·cᵀ + c·bᵀ)
            inner = sorted((scale(c, r) for (c, _), r in zip(split, rests)),
                           key=lambda n: (bool(split_coeff(n)[0] < 0), text(n).count("ᵀ"),
                                          [_role(leaf.data) for leaf in _leaves(n)], text(n)))
            return _sign_out(lambda x: matmul(cores[0].args[0], x), add(*inner))
    if ops == {"mul"}:
        shared = [f for f in cores[0].args if not is_const(f) and all(f in core.args for core in cores[1:])]
        rests = []
        for c, core in split:
            rest = [f for f in core.args if f not in shared]
            if not rest:
                return None
            rests.append(scale(c, rest[0] if len(rest) == 1 else Node("mul", tuple(rest), _broadcast_all(rest))))
        if shared:
            out = add(*rests)
            for f in shared:
                out = mul(out, f)
            return out
    return None


def _common_divisor(terms: list):
    """The scalar that divides every one of two or more ``terms``, or None."""
    cores = [split_coeff(t)[1] for t in terms]
    if len(cores) < 2 or any(c.op != "div" or not c.args[1].is_scalar for c in cores):
        return None
    over = cores[0].args[1]
    return over if all(c.args[1] == over for c in cores) else None


def _transposed_sum(node: Node) -> Node:
    """Pᵀ − Yᵀ written (P − Y)ᵀ, as the notes write dZᵀ."""
    if node.op != "add" or not all(split_coeff(t)[1].op == "T" for t in node.args):
        return node
    inner = add(*(scale(c, core.args[0]) for c, core in map(split_coeff, node.args)))
    return Node("T", (inner,), node.shape) if inner.op == "add" else node


def _over(node: Node):
    """``node`` as (numerator, scalar divisor) when it is a quotient by a scalar, else None."""
    c, core = split_coeff(node)
    if core.op == "div" and core.args[1].is_scalar and not core.is_scalar:
        return scale(c, core.args[0]), core.args[1]
    return None


def _factor_right(terms: list) -> list:
    """P·x + Q·x as (P + Q)·x, the plain factor first: A·x + Aᵀ·x is (A + Aᵀ)·x."""
    groups: dict = {}
    for term in terms:
        c, core = split_coeff(term)
        right = core.args[-1] if core.op == "matmul" else None
        groups.setdefault(right, []).append((c, core, term))
    out = []
    for right, members in groups.items():
        if right is None or len(members) == 1:
            out.extend(term for _, _, term in members)
            continue
        lefts = [scale(c, matmul_of(core.args[:-1])) for c, core, _ in members]
        lefts.sort(key=lambda n: (bool(split_coeff(n)[0] < 0), n.op == "T"))
        out.append(_sign_out(lambda x: matmul(x, right), add(*lefts)))
    return out


def _sign_out(build, inner: Node) -> Node:
    """``build(inner)``, a sum whose every term is negative written with the sign outside:
    −Aᵀ·(W + Wᵀ)·r, not Aᵀ·(−W − Wᵀ)·r."""
    if inner.op == "add" and all(split_coeff(x)[0] < 0 for x in inner.args):
        return neg(build(neg(inner)))
    return build(inner)


def matmul_of(factors) -> Node:
    out = factors[0]
    for f in factors[1:]:
        out = matmul(out, f)
    return out


def split_coeff(node: Node):
    """``node`` as (number, rest): 2·A is (2, A), −A is (−1, A)."""
    if node.op == "neg":
        c, core = split_coeff(node.args[0])
        return -c, core
    if node.op == "mul" and is_const(node.args[0]):
        rest = node.args[1:]
        return node.args[0].data, rest[0] if len(rest) == 1 else Node("mul", rest, node.shape)
    if is_const(node) and node.data != 0:
        return node.data, const(1)
    return sp.Integer(1), node


def scale(c, node: Node) -> Node:
    """The number ``c`` times ``node``."""
    c = sp.nsimplify(c)
    if c == 0:
        return zero()
    if c == 1:
        return node
    if is_const(node):
        return const(c * node.data)
    if c == -1:
        return neg(node)
    if node.op == "mul" and not is_const(node.args[0]):
        return Node("mul", (const(c), *node.args), node.shape)
    return Node("mul", (const(c), node), node.shape)


def neg(a: Node) -> Node:
    if a.op == "neg":
        return a.args[0]
    if is_const(a):
        return const(-a.data)
    c, core = split_coeff(a)
    if c != 1:
        return scale(-c, core)
    if a.op == "add":
        return add(*(neg(t) for t in a.args))
    return Node("neg", (a,), a.shape)


def sub(a: Node, b: Node) -> Node:
    return add(a, neg(b))


def mul(a: Node, b: Node) -> Node:
    """The elementwise (Hadamard) product, a scalar times a matrix included."""
    shape = broadcast("*", a, b)
    for x, y in ((a, b), (b, a)):
        if is_const(x, 0):
            return zero()
        if is_const(x, 1) and y.shape == shape:
            return y
        if x.op == "ones" and y.shape == shape:
            return y
    if is_const(a) and is_const(b):
        return const(a.data * b.data)
    for x, y in ((a, b), (b, a)):
        quotient = _over(x)
        if quotient is not None and not y.is_scalar:
            return div(mul(quotient[0], y), quotient[1])   # (P/m) ⊙ S is (P ⊙ S)/m
        if x.is_scalar and x.op == "div" and is_const(x.args[0], 1):
            return div(y, x.args[1])   # X/‖X‖, not 1/‖X‖·X
        if x.is_scalar and x.op == "div" and is_const(x.args[0]) and not y.is_scalar:
            # (−1/m)·Y is −Y/m, so that a sum of such terms shares its divisor: (S − Y)/m
            return div(scale(x.args[0].data, y), x.args[1])
        if x.op == "div" and x.args[1].is_scalar and split_coeff(x.args[0])[1].op == "ones":
            c, stretch = split_coeff(x.args[0])
            return scale(c, div(mul(stretch, y), x.args[1]))   # (𝟏/m) ⊙ Y is Y/m
    ca, ra = split_coeff(a)
    cb, rb = split_coeff(b)
    if ca != 1 or cb != 1:
        return scale(ca * cb, mul(ra, rb))
    factors = [f for x in (a, b) for f in (x.args if x.op == "mul" else (x,))]
    stretched = [f for f in factors if f.op != "ones"]
    if len(stretched) < len(factors) and stretched and _broadcast_all(stretched) == shape:
        # a matrix of ones only stretched a factor that the others stretch already
        if len(stretched) == 1:
            return stretched[0]
        factors = stretched
    # the scalars first (a number, then scalar expressions), as the notes write 2·x
    factors.sort(key=lambda f: (not is_const(f), not f.is_scalar))
    return Node("mul", tuple(factors), shape)


def _broadcast_all(factors) -> tuple:
    shape = factors[0].shape
    for f in factors[1:]:
        shape = broadcast("*", Node("mul", (), shape), f)
    return shape


def div(a: Node, b: Node) -> Node:
    shape = broadcast("/", a, b)
    if is_const(b, 1):
        return a
    if is_const(b, 0):
        raise said("/: division by zero", "/：除以零")
    if a == b and shape == SCALAR:
        return const(1)
    if a.op == "mul" and b in a.args and shape == SCALAR:
        # a common factor cancels: 2·‖r‖/‖r‖ is 2
        rest = list(a.args)
        rest.remove(b)
        out = rest[0]
        for f in rest[1:]:
            out = mul(out, f)
        return out
    if is_const(b):
        return scale(1 / b.data, a)
    return Node("div", (a, b), shape)


def power(a: Node, k) -> Node:
    k = sp.nsimplify(k)
    if k == 1:
        return a
    if k == 0:
        return const(1)
    if is_const(a):
        return const(a.data ** k)
    return Node("pow", (a,), a.shape, k)


def fn(name: str, a: Node) -> Node:
    return Node("fn", (a,), a.shape, name)


def matmul(a: Node, b: Node) -> Node:
    if a.shape[1] != b.shape[0]:
        raise said(f"@: shapes {shape_text(a.shape)} and {shape_text(b.shape)} do not match "
                   f"({a.shape[1]} ≠ {b.shape[0]})",
                   f"@：形状 {shape_text(a.shape)} 与 {shape_text(b.shape)} 不匹配"
                   f"（{a.shape[1]} ≠ {b.shape[0]}）")
    if is_const(a, 0) or is_const(b, 0):
        return zero()
    if a.op == "eye":
        return b
    if b.op == "eye":
        return a
    # a number is a 1 × 1 matrix: 1·B is B, c·B is a scalar multiple; so is any 1 × 1 factor
    # (w·λ, from the gradient of λ·wᵀ·w, is the scaling λ·w)
    if is_const(a) or is_const(b) or (a.is_scalar != b.is_scalar):
        return mul(a, b)
    ca, ra = split_coeff(a)
    cb, rb = split_coeff(b)
    if ca != 1 or cb != 1:
        return scale(ca * cb, matmul(ra, rb))
    for x, first in ((a, True), (b, False)):
        quotient = _over(x)
        if quotient is not None:
            # a scalar divisor comes out of the product: X·(r/m)ᵀ is X·rᵀ/m
            inner = matmul(quotient[0], b) if first else matmul(a, quotient[0])
            return div(inner, quotient[1])
    for x, first in ((a, True), (b, False)):
        # a scalar factor comes out of the product: Xᵀ·(2/m·r) is 2/m·Xᵀ·r
        if x.op == "mul" and not x.is_scalar and any(f.is_scalar for f in x.args):
            scalars = [f for f in x.args if f.is_scalar]
            rest = [f for f in x.args if not f.is_scalar]
            core = rest[0] if len(rest) == 1 else Node("mul", tuple(rest), x.shape)
            inner = matmul(core, b) if first else matmul(a, core)
            for f in reversed(scalars):
                inner = mul(f, inner)
            return inner
    factors = [f for x in (a, b) for f in (x.args if x.op == "matmul" else (x,))]
    for i in range(len(factors) - 1):
        if _inverses(factors[i], factors[i + 1]):
            # X·X⁻¹ = I, and Xᵀ·X⁻ᵀ: what the inverse of a product leaves (det(A·X·B)·X⁻ᵀ)
            rest = factors[:i] + factors[i + 2:]
            return matmul_of(rest) if rest else eye(factors[i])
    return Node("matmul", tuple(factors), (a.shape[0], b.shape[1]))


def _inverses(x: Node, y: Node) -> bool:
    """Whether the square matrices ``x`` and ``y`` are each other's inverse as written."""
    if x.op == "T" and y.op == "T":
        return _inverses(x.args[0], y.args[0])
    return (y.op == "inv" and y.args[0] == x) or (x.op == "inv" and x.args[0] == y)


def transpose(a: Node) -> Node:
    if a.op == "T":
        return a.args[0]
    # a scalar, the identity and a diagonal matrix are their own transposes
    if a.is_scalar or a.op == "eye" or (a.op == "diag" and a.args[0].shape[1] == 1):
        return a
    if a.op == "ones":
        return ones(transpose(a.args[0]))
    quotient = _over(a)
    if quotient is not None:
        return div(transpose(quotient[0]), quotient[1])
    c, core = split_coeff(a)
    if c != 1:
        return scale(c, transpose(core))
    if a.op == "mul" and any(f.is_scalar for f in a.args):
        # scalar factors are their own transposes: (det(Xᵀ)·X⁻¹)ᵀ is det(Xᵀ)·X⁻ᵀ
        out = transpose(Node("mul", tuple(f for f in a.args if not f.is_scalar), a.shape)
                        if sum(not f.is_scalar for f in a.args) > 1 else next(f for f in a.args if not f.is_scalar))
        for f in reversed([f for f in a.args if f.is_scalar]):
            out = mul(f, out)
        return out
    if a.op == "inv" and transpose(a.args[0]) == a.args[0]:
        return a     # the inverse of a symmetric matrix, (Xᵀ·X)⁻¹, is symmetric
    if a.op == "matmul":
        return matmul_of([transpose(f) for f in reversed(a.args)])
    if a.op == "add":
        # distributed when that simplifies a term (A + Aᵀ); (σ(Z) − Y)ᵀ stays as the notes write dZᵀ
        return _transposed_sum(add(*(transpose(t) for t in a.args)))
    return Node("T", (a,), a.shape[::-1])


def folded_transposes(node: Node) -> Node:
    """A sum of products of transposed matrices written as one transposed sum where the Matrix
    Cookbook writes it so: products of two, (X·B + B·X)ᵀ for Bᵀ·Xᵀ + Xᵀ·Bᵀ (its (107)), and powers
    of one matrix, 3·(X·X)ᵀ for 3·Xᵀ·Xᵀ (its (113)). A single product of two different matrices
    keeps its transposes, Aᵀ·Bᵀ (its (101)), and so do longer products, Aᵀ·Xᵀ·Bᵀ + Bᵀ·Xᵀ·Aᵀ (its
    (114)). Inside the bracket the terms follow the input's names (``roles``) when those are known,
    else they keep their order."""
    terms = [split_coeff(x) for x in (node.args if node.op == "add" else (node,))]
    if not all(core.op == "matmul" and all(f.op == "T" and f.args[0].op == "var" for f in core.args)
               for _, core in terms):
        return node
    names = {f.args[0].data for _, core in terms for f in core.args}
    if not (len(names) == 1 or (len(terms) > 1 and all(len(core.args) == 2 for _, core in terms))):
        return node
    inner = [scale(c, Node("matmul", tuple(f.args[0] for f in reversed(core.args)), core.shape[::-1]))
             for c, core in terms]
    if _ROLES.get() is not None:
        # the bracket read as the input's names come: (X·B + B·X)ᵀ for tr(X·X·B), whatever the letters
        inner = _rearranged(inner)
    common = {c for c, _ in terms}
    if len(common) == 1 and len(inner) == 1:
        c = common.pop()
        return scale(c, Node("T", (split_coeff(inner[0])[1],), node.shape))
    return Node("T", (Node("add", tuple(inner), node.shape[::-1]),), node.shape)


def _not_square(op: str, a: Node) -> DeriveError:
    return said(f"{op}: the matrix is {shape_text(a.shape)}, not square",
                f"{op}：矩阵是 {shape_text(a.shape)}，不是方阵")


def inv(a: Node) -> Node:
    if a.shape[0] != a.shape[1]:
        raise _not_square("inv", a)
    return Node("inv", (a,), a.shape)


def inverse(a: Node) -> Node:
    """a⁻¹ as the Matrix Cookbook simplifies it: (X⁻¹)⁻¹ = X, (Xᵀ)⁻¹ = X⁻ᵀ, and the inverse of a
    product of square matrices the product of their inverses in reverse order (for a determinant's
    gradient, where det ≠ 0 makes every factor invertible)."""
    if a.op == "inv":
        return a.args[0]
    if a.op == "T":
        return transpose(inverse(a.args[0]))
    if a.op == "matmul" and all(f.shape[0] == f.shape[1] for f in a.args):
        return matmul_of([inverse(f) for f in reversed(a.args)])
    c, core = split_coeff(a)
    if c != 1:
        return scale(1 / c, inverse(core))
    return inv(a)


def det(a: Node) -> Node:
    if a.shape[0] != a.shape[1]:
        raise _not_square("det", a)
    return Node("det", (a,), SCALAR)


def trace(a: Node) -> Node:
    if a.shape[0] != a.shape[1]:
        raise _not_square("trace", a)
    return Node("trace", (a,), SCALAR)


def total(a: Node, axis=None) -> Node:
    """Σ of the entries (``axis`` None), of each column (0) or of each row (1), kept 2-D."""
    c, core = split_coeff(a)
    if c != 1:
        return scale(c, total(core, axis))     # Σ 2·r is 2·Σ r
    if axis is None:
        if a.is_scalar:
            return a
        return Node("sum", (a,), SCALAR)
    shape = (ONE, a.shape[1]) if axis == 0 else (a.shape[0], ONE)
    if a.shape == shape:
        return a
    return Node("sum", (a,), shape, axis)


def reduce_to(node: Node, shape) -> Node:
    """``node`` summed over the dimensions that broadcasting stretched from ``shape``."""
    if node.shape == tuple(shape):
        return node
    if tuple(shape) == SCALAR:
        return total(node)
    return total(node, 0 if shape[0] == 1 else 1)


def norm(a: Node) -> Node:
    return Node("norm", (a,), SCALAR)


def softmax(a: Node, axis: int) -> Node:
    return Node("softmax", (a,), a.shape, axis)


def logsumexp(a: Node, axis: int) -> Node:
    shape = (ONE, a.shape[1]) if axis == 0 else (a.shape[0], ONE)
    return Node("logsumexp", (a,), shape, axis)


def diag(a: Node) -> Node:
    """diag(v): the square matrix with ``v`` on its diagonal; diag(A): A's diagonal as a column."""
    if a.shape[1] == 1:
        return Node("diag", (a,), (a.shape[0], a.shape[0]))
    if a.shape[0] != a.shape[1]:
        raise said(f"diag: the matrix is {shape_text(a.shape)}, neither a vector nor square",
                   f"diag：矩阵是 {shape_text(a.shape)}，既不是向量也不是方阵")
    return Node("diag", (a,), (a.shape[0], ONE))


# Writing ------------------------------------------------------------------------------------
def _prec(n: Node) -> int:
    if n.op == "add":
        return _ADD
    if n.op in ("mul", "matmul", "div", "kron") or (n.op == "sum" and n.data in (0, 1)):
        return _MUL     # a sum along an axis is written as a product, 𝟏ᵀ·A or A·𝟏
    if n.op == "neg" or (n.op == "const" and (n.data < 0 or not n.data.is_Integer)):
        return _NEG
    if n.op in ("T", "inv", "pow"):
        return _POST
    return _ATOM


def _hadamard(n: Node) -> bool:
    """Whether ``n`` is an elementwise product of two matrices (not a scaling)."""
    return n.op == "mul" and any(not (x.is_scalar or y.is_scalar) for x, y in zip(n.args, n.args[1:]))


class _Writer:
    """One notation: the tokens that differ between text and LaTeX."""

    def __init__(self, latex: bool):
        self.latex = latex

    def br(self, s: str) -> str:
        return rf"\left({s}\right)" if self.latex else f"({s})"

    def wrap(self, n: Node, level: int) -> str:
        s = self(n)
        # a minus sign after an operator is bracketed: 𝟏ᵀ·(−y), not 𝟏ᵀ·−y; a Kronecker product
        # inside a product too, 2·(I ⊗ Xᵀ·X), as ⊗ and · have no agreed order
        if _prec(n) < level or (n.op == "neg" and level > _ADD) or (n.op == "kron" and level >= _MUL):
            return self.br(s)
        return s

    def base(self, n: Node) -> str:
        """``n`` as the base of a superscript: a name with a superscript of its own (the notes'
        A^{[1]}) is braced, as LaTeX has no double superscript."""
        s = self.wrap(n, _ATOM)
        return "{" + s + "}" if self.latex and n.op == "var" and "^" in s else s

    def mean(self, n: Node):
        """A matrix over a scalar name, c·M/m, as the notes write a mean: ``("(c/m)·", M)``, and
        so a sum of entries over one, (1/m)·sum(…); None for any other node (X/‖X‖_F stays a
        quotient, as the Matrix Cookbook prints it)."""
        if n.op != "div" or n.args[1].op not in ("var", "size") or not n.args[1].is_scalar:
            return None
        c, core = split_coeff(n.args[0])
        if n.is_scalar and not (core.op == "sum" and core.data is None):
            return None
        p, q = sp.fraction(sp.Rational(c))
        m = self(n.args[1])
        sign = ("-" if self.latex else "−") if p < 0 else ""
        if self.latex:
            return sign + rf"\frac{{{abs(p)}}}{{{'' if q == 1 else q}{m}}} \cdot ", core
        return sign + f"({abs(p)}/{m if q == 1 else f'({q}·{m})'})·", core

    def number(self, c) -> str:
        if self.latex:
            return sp.latex(c)
        return str(c).replace("-", "−")

    def __call__(self, n: Node) -> str:
        L = self.latex
        a = n.args
        op = n.op
        if op == "var":
            return sp.latex(sp.Symbol(n.data)) if L else unicode_name(n.data)
        if op == "const":
            return self.number(n.data)
        if op == "add":
            out = self(a[0])
            for t in a[1:]:
                c, core = split_coeff(t)
                if c < 0:
                    out += " - " if L else " − "
                    out += self.wrap(scale(-c, core), _MUL) if scale(-c, core).op != "add" else self.br(self(scale(-c, core)))
                else:
                    out += " + " + (self(t) if t.op == "kron" else self.wrap(t, _ADD + 1))
            return out
        if op == "neg":
            return ("-" if L else "−") + self.wrap(a[0], _MUL)
        if op == "mul" and _hadamard(n):
            # · and ⊙ have no agreed order: a Hadamard product's factors that are products are
            # bracketed, (X·w) ⊙ y, and so is the Hadamard product after a scalar, 2·(A ⊙ B)
            scalars = [f for f in a if f.is_scalar]
            product = (r" \odot " if L else " ⊙ ").join(self.wrap(f, _MUL + 1) for f in a if not f.is_scalar)
            if not scalars:
                return product
            dot = r" \cdot " if L else "·"
            return dot.join(self.wrap(f, _MUL if i == 0 else _MUL + 1) for i, f in enumerate(scalars)) + dot + self.br(product)
        if op == "mul":
            joins = []
            for i, f in enumerate(a):
                if i:
                    hadamard = not (a[i - 1].is_scalar or f.is_scalar)
                    joins.append((r" \odot " if L else " ⊙ ") if hadamard else (r" \cdot " if L else "·"))
                # c·(A·B) is c·A·B; a Hadamard factor that is a product keeps its brackets
                level = _MUL if i == 0 or (a[i - 1].is_scalar and f.op == "matmul") else _MUL + 1
                fraction = (f.op == "div" and f.is_scalar) or (f.op == "const" and f.data > 0 and not f.data.is_Integer)
                if i == 0 and fraction and not self.latex:
                    level = _POST     # (2/m)·Xᵀ·r, (2/5)·Xᵀ·r: 2/m·Xᵀ·r reads as 2/(m·Xᵀ·r)
                joins.append(self.wrap(f, level))
            return "".join(joins)
        if op == "matmul":
            # a Hadamard product is bracketed in a matrix product: (c·eᵀ ⊙ A)·Xᵀ, as the two
            # products have no agreed order
            return (r" \cdot " if L else "·").join(
                self.wrap(f, _MUL + 1 if i or _hadamard(f) else _MUL) for i, f in enumerate(a))
        if op == "div":
            mean = self.mean(n)
            if mean is not None:
                head, core = mean
                return head + self.wrap(core, _MUL + 1 if _hadamard(core) else _MUL)
            if L:
                return rf"\frac{{{self(a[0])}}}{{{self(a[1])}}}"
            slash = "/" if a[1].is_scalar else " ⊘ "
            return self.wrap(a[0], _MUL) + slash + self.wrap(a[1], _POST)
        if op == "pow":
            k = n.data
            hadamard = not n.is_scalar
            if L:
                return self.base(a[0]) + ("^{\\odot " if hadamard else "^{") + sp.latex(k) + "}"
            sup = str(k).translate(str.maketrans("0123456789-/", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻ᐟ"))
            return self.wrap(a[0], _ATOM) + ("^⊙" if hadamard else "") + sup
        if op == "T":
            if a[0].op == "inv":
                return self.base(a[0].args[0]) + ("^{-T}" if L else "⁻ᵀ")
            return self.base(a[0]) + ("^{T}" if L else "ᵀ")
        if op == "inv":
            return self.base(a[0]) + ("^{-1}" if L else "⁻¹")
        if op == "fn":
            if n.data == "step":
                return rf"\left[{self(a[0])} > 0\right]" if L else f"[{self(a[0])} > 0]"
            head = FUNCTIONS[n.data][1 if L else 0]
            return head + self.br(self(a[0]))
        if op == "ones":
            return r"\mathbf{1}" if L else "𝟏"
        if op == "eye":
            return "I"
        if op == "kron":
            return (r" \otimes " if L else " ⊗ ").join(self.wrap(f, _MUL) for f in a)
        if op == "size":
            count = a[0].shape[n.data]
            return sp.latex(count) if L else unicode_name(str(count))
        if op == "sum":
            one = r"\mathbf{1}" if L else "𝟏"
            dot = r" \cdot " if L else "·"
            t = r"^{T}" if L else "ᵀ"
            inner, scale_ = a[0], ""
            if self.mean(inner) is not None:
                # (2/m)·M·𝟏 as the notes write a mean, not 2·M/m·𝟏, which reads as 2·M/(m·𝟏)
                scale_, inner = self.mean(inner)
            if n.data == 0:
                return scale_ + one + t + dot + self.wrap(inner, _MUL + 1)
            if n.data == 1:
                return scale_ + self.wrap(inner, _MUL + 1 if scale_ else _MUL) + dot + one
            return scale_ + (r"\operatorname{sum}" if L else "sum") + self.br(self(inner))
        if op in ("trace", "det", "diag"):
            head = {"trace": "tr", "det": "det", "diag": "diag"}[op]
            return (rf"\operatorname{{{head}}}" if L and op != "det" else (r"\det" if L else head)) + self.br(self(a[0]))
        if op == "norm":
            sub = "" if a[0].shape[1] == 1 else ("_F" if L else "_F")
            return (rf"\left\|{self(a[0])}\right\|{sub}" if L else f"‖{self(a[0])}‖{sub}")
        if op in ("softmax", "logsumexp"):
            head = rf"\operatorname{{{op}}}" if L else op
            axis = rf",\ \text{{axis}}={n.data}" if L else f", axis={n.data}"
            return head + self.br(self(a[0]) + axis)
        raise ValueError(op)


def text(n: Node) -> str:
    """The tree in the notes' Unicode notation: 2·Xᵀ·(X·w − y)."""
    return _Writer(False)(n)


def latex(n: Node) -> str:
    return _Writer(True)(n)


def numpy(n: Node) -> str:
    """A NumPy expression of the tree in the input's names (``np`` is numpy)."""
    return _np(n, 0)


_NP_PREC = {"add": 1, "neg": 3, "mul": 2, "div": 2, "matmul": 2, "pow": 4}


def _np(n: Node, level: int) -> str:
    a = n.args
    op = n.op
    own = _NP_PREC.get(op, 5)
    if op == "const":
        s = str(n.data) if n.data.is_Integer else f"{float(n.data)!r}"
        own = 5 if n.data >= 0 else 3
    elif op == "var":
        s = n.data
    elif op == "add":
        s = _np(a[0], 1)
        for t in a[1:]:
            c, core = split_coeff(t)
            s += f" - {_np(scale(-c, core), 2)}" if c < 0 else f" + {_np(t, 2)}"
    elif op == "neg":
        s = "-" + _np(a[0], 4)
    elif op == "matmul" and _outer_split(a) is not None:
        # a column times a row: np.outer, which gives the same matrix whether the vectors are
        # bound as n × 1 arrays or as 1-D arrays (where a @ b.T would be a scalar)
        p = _outer_split(a)
        s = f"np.outer({_np(matmul_of(a[:p]), 0)}, {_np(matmul_of(a[p:]), 0)})"
        own = 5
    elif op in ("mul", "matmul"):
        sep = " * " if op == "mul" else " @ "
        s = sep.join(_np(f, 2 if i == 0 else 3) for i, f in enumerate(a))
    elif op == "div":
        s = f"{_np(a[0], 2)} / {_np(a[1], 3)}"
    elif op == "pow":
        s = f"{_np(a[0], 5)} ** {_np(const(n.data), 5)}"
    elif op == "T":
        if a[0].op == "inv":
            s = f"np.linalg.inv({_np(a[0].args[0], 0)}).T"
        else:
            s = f"{_np(a[0], 5)}.T"
    elif op == "fn" and n.data == "sigmoid":
        # 1 / (1 + e^(−u)): a negated argument loses its sign instead of gaining a second one
        exponent = _np(a[0].args[0], 0) if a[0].op == "neg" else "-" + _np(a[0], 5)
        s = f"1 / (1 + np.exp({exponent}))"
        own = 2
    elif op == "fn":
        s = FUNCTIONS[n.data][2].format(_np(a[0], 5))
    elif op == "ones":
        s = f"np.ones_like({_np(a[0], 0)})"   # ``ones`` is always shaped like its argument
    elif op == "eye":
        s = f"np.eye(np.shape({_np(a[0], 0)})[0])"
    elif op == "size":
        s = f"np.shape({_np(a[0], 0)})[{n.data}]"
    elif op == "kron":
        s = f"np.kron({_np(a[0], 0)}, {_np(a[1], 0)})"
    elif op == "sum":
        s = f"np.sum({_np(a[0], 0)})" if n.data is None else f"np.sum({_np(a[0], 0)}, axis={n.data}, keepdims=True)"
    elif op == "trace":
        s = f"np.trace({_np(a[0], 0)})"
    elif op == "det":
        s = f"np.linalg.det({_np(a[0], 0)})"
    elif op == "inv":
        s = f"np.linalg.inv({_np(a[0], 0)})"
    elif op == "norm":
        s = f"np.linalg.norm({_np(a[0], 0)})"
    elif op == "softmax":
        inner = _np(a[0], 0)
        s = f"np.exp({inner}) / np.sum(np.exp({inner}), axis={n.data}, keepdims=True)"
        own = 2
    elif op == "logsumexp":
        s = f"np.log(np.sum(np.exp({_np(a[0], 0)}), axis={n.data}, keepdims=True))"
    elif op == "diag":
        s = f"np.diagflat({_np(a[0], 0)})" if a[0].shape[1] == 1 else f"np.diag({_np(a[0], 0)})[:, None]"
    else:
        raise ValueError(op)
    return f"({s})" if own < level else s


def _outer_split(factors) -> int | None:
    """Where a product of factors is a column (k × 1, k ≠ 1) times a row (1 × l), or None."""
    for p in range(1, len(factors)):
        if factors[p - 1].shape[1] == 1 and factors[0].shape[0] != 1 and factors[p].shape[0] == 1:
            return p
    return None


# Values at concrete sizes -------------------------------------------------------------------
def entries(name: str, shape) -> sp.Matrix:
    """The matrix of plain symbols ``X_1_2`` (a vector ``w_2``) for the variable ``name``."""
    r, c = (int(s) for s in shape)
    if (r, c) == (1, 1):
        return sp.Matrix([[sp.Symbol(name, real=True)]])
    if c == 1:
        return sp.Matrix(r, 1, lambda i, _: sp.Symbol(f"{name}_{i + 1}", real=True))
    if r == 1:   # a row vector's entries are w_j too, as its index form writes them
        return sp.Matrix(1, c, lambda _, j: sp.Symbol(f"{name}_{j + 1}", real=True))
    return sp.Matrix(r, c, lambda i, j: sp.Symbol(f"{name}_{i + 1}_{j + 1}", real=True))


def concrete(n: Node, env: dict) -> sp.Matrix:
    """The tree's value with each variable bound to a SymPy matrix (``env``: name → Matrix)."""
    from ..functions import relu, sigmoid

    ev = lambda x: concrete(x, env)  # noqa: E731
    a = n.args
    op = n.op
    if op == "var":
        return env[n.data]
    if op == "const":
        return sp.Matrix([[n.data]])
    if op in ("add", "mul", "div"):
        vals = [ev(x) for x in a]
        out = vals[0]
        for v in vals[1:]:
            out = _elementwise(out, v, {"add": sp.Add, "mul": sp.Mul, "div": lambda p, q: p / q}[op])
        return out
    if op == "neg":
        return -ev(a[0])
    if op == "pow":
        return ev(a[0]).applyfunc(lambda e: e ** n.data)
    if op == "fn":
        f = {"log": sp.log, "exp": sp.exp, "tanh": sp.tanh, "sigmoid": sigmoid, "relu": relu,
             "step": lambda z: sp.Heaviside(z, 0)}[n.data]
        return ev(a[0]).applyfunc(f)
    if op == "matmul":
        out = ev(a[0])
        for x in a[1:]:
            out = out * ev(x)
        return out
    if op == "T":
        return ev(a[0]).T
    if op == "ones":
        r, c = _sizes(n, env)
        return sp.ones(r, c)
    if op == "eye":
        return sp.eye(ev(a[0]).rows)
    if op == "size":
        return sp.Matrix([[ev(a[0]).shape[n.data]]])
    if op == "kron":
        return sp.kronecker_product(ev(a[0]), ev(a[1]))
    if op == "sum":
        v = ev(a[0])
        if n.data is None:
            return sp.Matrix([[sum(v)]])
        return sp.ones(1, v.rows) * v if n.data == 0 else v * sp.ones(v.cols, 1)
    if op == "trace":
        return sp.Matrix([[ev(a[0]).trace()]])
    if op == "det":
        return sp.Matrix([[ev(a[0]).det()]])
    if op == "inv":
        return ev(a[0]).inv()
    if op == "norm":
        return sp.Matrix([[sp.sqrt(sum(e ** 2 for e in ev(a[0])))]])
    if op in ("softmax", "logsumexp"):
        v = ev(a[0]).applyfunc(sp.exp)
        sums = sp.ones(1, v.rows) * v if n.data == 0 else v * sp.ones(v.cols, 1)
        if op == "logsumexp":
            return sums.applyfunc(sp.log)
        return sp.Matrix(v.rows, v.cols, lambda i, j: v[i, j] / (sums[0, j] if n.data == 0 else sums[i, 0]))
    if op == "diag":
        v = ev(a[0])
        return sp.diag(*v) if v.cols == 1 else sp.Matrix([v[i, i] for i in range(v.rows)])
    raise ValueError(op)


def _sizes(n: Node, env: dict):
    sizes = env["__sizes__"]
    return tuple(int(s.xreplace(sizes)) for s in n.shape)


def _elementwise(p: sp.Matrix, q: sp.Matrix, f) -> sp.Matrix:
    r, c = max(p.rows, q.rows), max(p.cols, q.cols)
    at = lambda m, i, j: m[i if m.rows > 1 else 0, j if m.cols > 1 else 0]  # noqa: E731
    return sp.Matrix(r, c, lambda i, j: f(at(p, i, j), at(q, i, j)))


def variables(n: Node) -> dict:
    """The variables of the tree, name → shape, in order of first appearance."""
    out: dict = {}

    def walk(x):
        if x.op == "var":
            out.setdefault(x.data, x.shape)
        for y in x.args:
            walk(y)

    walk(n)
    return out


def has_var(n: Node, name: str) -> bool:
    return name in variables(n)
