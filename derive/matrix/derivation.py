"""``derive expr EXPR --shape …``: a matrix expression differentiated step by step.

The derivation shows the expression in index form, its entrywise derivative with the Kronecker
deltas and their collapse, the elementwise derivatives worked out by the engine's named rules,
the matrix-calculus rules used, and the result in matrix form with its shape. Every line is
verified at small concrete sizes against ``sympy.diff`` of the expression written out entry by
entry, and the result's NumPy code is compared with central finite differences at random arrays.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

import sympy as sp
from sympy import Derivative, Indexed, IndexedBase

from ..errors import said
from ..messages import RULE_NAMES, Msg
from ..steps import Builder, Derivation
from ..verify import Deferred
from . import tree as t
from .assume import (assume_onehot, assume_signs, check_onehot, check_signs, onehot_axis, onehot_entries, onehot_rule,
                     sign_entries)
from .grad import Gradient, jacobian, kronecker_hessian
from .index import Indices, NoIndexForm, collapse, concrete, entry
from .parse import parse_matrix_expression, parse_shapes
from .shown import Shown

__all__ = ["matrix_derivation", "MatrixDerivation", "Shown"]

# The renderers name a step's rule from derive.messages.RULE_NAMES; the rules of matrix calculus
# are added there from here, so that the shared table is not edited by this package (its lines'
# matrix_form and hessian, which the models' matrix lines use too, are named there, whatever is imported).
MATRIX_RULE_NAMES = {
    "index_form": ("index form", "指标形式"),
    "entrywise": ("differentiate entry by entry", "逐元素求导"),
}
for _key, _names in MATRIX_RULE_NAMES.items():
    RULE_NAMES.setdefault(_key, _names)

# The matrix-calculus identity behind each adjoint rule (G is ∂f/∂ of the operation's value).
ADJOINT_RULES = {
    "matmul": ("matrix product: for $P = A·B$, $∂f/∂A = G·Bᵀ$ and $∂f/∂B = Aᵀ·G$",
               "矩阵乘积:若 $P = A·B$,则 $∂f/∂A = G·Bᵀ$,$∂f/∂B = Aᵀ·G$"),
    "transpose": ("transpose: for $P = Aᵀ$, $∂f/∂A = Gᵀ$", "转置:若 $P = Aᵀ$,则 $∂f/∂A = Gᵀ$"),
    "sum": ("sum of entries: $∂/∂A Σ A = 𝟏$, a matrix of ones", "元素求和:$∂/∂A Σ A = 𝟏$(全一矩阵)"),
    "trace": ("trace: $∂ tr(A)/∂A = I$", "迹:$∂ tr(A)/∂A = I$"),
    "det": ("determinant: $∂ det(A)/∂A = det(A)·A⁻ᵀ$", "行列式:$∂ det(A)/∂A = det(A)·A⁻ᵀ$"),
    "inv": ("inverse: for $P = A⁻¹$, $∂f/∂A = −Pᵀ·G·Pᵀ$", "逆矩阵:若 $P = A⁻¹$,则 $∂f/∂A = −Pᵀ·G·Pᵀ$"),
    "norm": ("norm: $∂‖A‖/∂A = A/‖A‖$", "范数:$∂‖A‖/∂A = A/‖A‖$"),
    "softmax": ("softmax: for $S = softmax(A)$, $∂f/∂A = S ⊙ (G − 𝟏·(𝟏ᵀ·(G ⊙ S)))$ along the axis",
                "$softmax$ 函数:若 $S = softmax(A)$,则沿该轴 $∂f/∂A = S ⊙ (G − 𝟏·(𝟏ᵀ·(G ⊙ S)))$"),
    "logsumexp": ("log-sum-exp: $∂ logsumexp(A)/∂A = softmax(A)$ along the axis",
                  "$logsumexp$ 函数:沿该轴 $∂ logsumexp(A)/∂A = softmax(A)$"),
    "diag": ("diagonal: the adjoint of $diag(v)$ is the diagonal of $G$",
             "对角:$diag(v)$ 的伴随是 $G$ 的对角线"),
}

_CHECK_SIZES = (3, 2)      # the sizes a symbolic dimension takes when lines are checked
_MAX_CHECK_SIZE = 4        # a numeric size up to this is checked as it is
_MAX_FD_ENTRIES = 10**6    # the largest array checked against finite differences at its own size
FD_TOLERANCE = 1e-6
# Past this many operations an entrywise line is not shown (the softmax's quotient rule gives
# about fifty); the matrix-form line, verified the same way, carries the result.
MAX_ENTRYWISE_OPS = 40


@dataclass(frozen=True)
class MatrixResult:
    """What the JSON adds to a result: its shape in words and NumPy code in the input's names."""

    name: str
    shape: str
    numpy: str


@dataclass(frozen=True)
class MatrixDerivation(Derivation):
    """A ``Derivation`` whose JSON results also give ``shape`` and ``numpy``."""

    matrix: tuple = field(default=(), compare=False)
    checks: tuple = ()
    failed: tuple = ()

    def to_json(self, lang: str = "en") -> dict:
        data = super().to_json(lang)
        extra = {m.name: m for m in self.matrix}
        for r in data["results"]:
            if r["name"] in extra:
                # A matrix form is no SymPy expression: srepr would only wrap its text. Its value is
                # the NumPy code (what a tool can evaluate) and its display the text a student reads.
                r["value"] = extra[r["name"]].numpy
                r["display"] = r["text"].split(" = ", 1)[1]
                r["shape"] = extra[r["name"]].shape
                r["numpy"] = extra[r["name"]].numpy
        return data

    def render(self, fmt: str = "text", *, show_steps: bool = True, lang: str = "en", **opts) -> str:
        if fmt == "json":
            return json.dumps(self.to_json(lang), ensure_ascii=False, indent=2) + "\n"
        return super().render(fmt, show_steps=show_steps, lang=lang, **opts)


@dataclass(frozen=True)
class _MatrixModel:
    name: str = "expr"
    title: str = "matrix expression"


def _check_sizes(f: t.Node, shapes: dict) -> dict:
    """A concrete size for each symbolic dimension: 3 and 2 alternately (so that a transposed
    factor would not fit), 2 for the side of a square matrix (det and inv stay cheap)."""
    square = set()

    def walk(n):
        if n.op in ("det", "inv") or (n.op == "trace"):
            square.update(s for s in n.args[0].shape if isinstance(s, sp.Symbol))
        for a in n.args:
            walk(a)

    walk(f)
    sizes, k = {}, 0
    for shape in shapes.values():
        for s in shape:
            if isinstance(s, sp.Symbol) and s not in sizes:
                sizes[s] = sp.Integer(2 if s in square else _CHECK_SIZES[k % 2])
                k += 1
    return sizes


def _stand_ins(shapes: dict) -> tuple:
    """``shapes`` with each numeric size above ``_MAX_CHECK_SIZE`` replaced by a symbol that
    prints as the number (a 100 × 5 X stays 100 × 5 on the page), so that the lines are checked
    at small sizes of the same pattern (equal sizes stay equal); and the numbers by symbol."""
    numbers = {}

    def stand_in(s):
        if s.is_Integer and s > _MAX_CHECK_SIZE:
            numbers.setdefault(sp.Symbol(str(s), integer=True, positive=True), s)
            return sp.Symbol(str(s), integer=True, positive=True)
        return s

    out = {name: tuple(stand_in(s) for s in shape) for name, shape in shapes.items()}
    return out, numbers


def _numeric_shapes(inst: _Instance, names: dict, numbers: dict) -> dict:
    """The arrays' shapes at the sizes the user gave: the numbers as given, a named size at its
    check size. Refused (DeriveError) when an array would be too large to check numerically."""
    out = {}
    for name, shape in names.items():
        dims = tuple(int(numbers.get(s, inst.sizes.get(s, s))) for s in shape)
        if dims[0] * dims[1] > _MAX_FD_ENTRIES:
            raise said(f"--shape: {name} would have {dims[0] * dims[1]} entries, too many to check "
                       f"numerically (at most {_MAX_FD_ENTRIES}); name a size (e.g. --shape X=m,n)",
                       f"--shape：{name} 会有 {dims[0] * dims[1]} 个元素，太多，无法做数值检验"
                       f"（最多 {_MAX_FD_ENTRIES} 个）；请用名字表示大小（例如 --shape X=m,n）")
        out[name] = dims
    return out


class _Instance:
    """The expression at concrete sizes: entries as symbols, its value, and derivatives, each
    worked out once, when first needed (a line whose proof is remembered needs none of them)."""

    # the files whose code works out the sides of a claim besides this one (``Deferred``)
    USES = ("matrix/tree.py", "matrix/index.py", "matrix/assume.py")

    def __init__(self, f: t.Node, shapes: dict, sizes: dict):
        self.sizes = sizes
        self.shapes = {name: tuple(s.xreplace(sizes) for s in shape) for name, shape in shapes.items()}
        names = t.variables(f)
        self.env = {name: t.entries(name, self.shapes.get(name, t.SCALAR)) for name in names}
        self.env["__sizes__"] = sizes
        self._node, self._f = f, None
        self._derivatives: dict = {}
        # what the concrete instance is made of: the expression exactly, the names' shapes, the sizes
        self.key = (t.key(f), *sorted(f"{n}={shape}" for n, shape in self.shapes.items()),
                    *sorted(f"{s}={v}" for s, v in sizes.items()))

    @property
    def f(self) -> sp.Expr:
        """f written out at the concrete sizes, in the entries of ``env``."""
        if self._f is None:
            self._f = t.concrete(self._node, self.env)[0, 0]
        return self._f

    def value(self, node: t.Node) -> sp.Matrix:
        return t.concrete(node, self.env)

    def gradient(self, wrt: str) -> sp.Matrix:
        """∂f/∂wrt entry by entry, by sympy.diff of f written out (once per variable)."""
        if ("gradient", wrt) not in self._derivatives:
            self._derivatives["gradient", wrt] = self.env[wrt].applyfunc(lambda e: sp.diff(self.f, e))
        return self._derivatives["gradient", wrt]

    def hessian(self, wrt: str) -> sp.Matrix:
        """∂²f/∂vec(wrt)∂vec(wrt)ᵀ by sympy.diff twice, vec stacking the columns (once)."""
        if ("hessian", wrt) not in self._derivatives:
            x = list(self.env[wrt].T)
            self._derivatives["hessian", wrt] = sp.Matrix(len(x), len(x), lambda i, j: sp.diff(self.f, x[i], x[j]))
        return self._derivatives["hessian", wrt]

    def claim(self, compute, *content) -> Deferred:
        """The pair ``compute()`` returns, deferred and named by ``content`` at this instance."""
        return Deferred(("matrix", *self.key, *content), compute, self.USES)

    def matrix_pair(self, wrt: str, node: t.Node, hessian: bool = False) -> Deferred:
        """(∂f/∂wrt by sympy.diff, ``node`` at the concrete sizes), deferred; a scalar node (0, or
        c for a linear function) stands for every entry, or for c·I in a Hessian."""
        def compute():
            want = self.hessian(wrt) if hessian else self.gradient(wrt)
            if not node.is_scalar:
                return want, self.value(node)
            same = sp.eye(want.rows) if hessian else sp.ones(*want.shape)
            return want, self.value(node)[0, 0] * same

        return self.claim(compute, "hessian" if hessian else "gradient", wrt, t.key(node))


def matrix_derivation(text: str, shape_options, wrt=None, *, hessian: bool = False,
                      checker=None, onehot=(), signs=()) -> MatrixDerivation:
    """The verified step-by-step gradient (or Hessian) of a matrix expression.

    Parameters
    ----------
    text : str
        The expression in NumPy style: ``@``, ``.T``, ``*`` (elementwise), ``+ - /``, ``**`` a
        number, and sum, trace, det, inv, log, exp, sigmoid, tanh, relu, norm, softmax,
        logsumexp (with ``axis=``), diag, transpose.
    shape_options : list of str
        ``NAME=DIMS`` for each matrix or vector (``X=m,n``; ``w=n`` is a column vector); a
        name with no shape is a scalar.
    wrt : list of str, optional
        The variables to differentiate with respect to; by default the expression's only
        variable with a shape.
    hessian : bool
        Also give the Hessian with respect to the one variable: a matrix for a column vector,
        ∂²f/∂vec(X)∂vec(X)ᵀ (columns stacked) in Kronecker form for a matrix or a row vector,
        or entry by entry where it has no such form.
    checker : callable, optional
        ``checker(f_code, gradient_code, wrt, shapes)``: the relative difference between a
        gradient's NumPy code and finite differences at random arrays of the concrete
        ``shapes``, shown as a table (``numeric.matrix_fd.check_matrix_gradient``; ``derive``
        itself does no numerics). With ``onehot`` it is also given ``onehot=`` the names.
    onehot : sequence of str
        Matrices of one-hot labels (``derive expr --onehot Y``), one class per column, or per
        row when the expression's softmax runs along axis 1: their sums along that axis are
        ones and their total the number of examples; every check uses a one-hot matrix.
    signs : sequence of str
        Vectors or matrices whose entries are −1 or 1 (``derive expr --signs y``, the labels of
        the ±1 logistic loss): y ⊙ y = 𝟏 is used in the results, and the checks of those lines
        use ±1 entries.

    Returns
    -------
    MatrixDerivation
        Steps and results (∂f/∂X in matrix form; ∇²f with ``hessian``); its JSON results give
        ``shape`` and ``numpy``.

    Raises
    ------
    DeriveError
        Bad syntax, unknown names or functions, shapes that do not fit, a non-scalar function.
    """
    shapes, numbers = _stand_ins(parse_shapes(shape_options))
    f = parse_matrix_expression(text, shapes)
    # the roles: the names as the input writes them, first appearance first
    written = [n for n in re.findall(r"[A-Za-z_]\w*", text) if n in t.variables(f)]
    with t.roles(dict.fromkeys(written)):
        return _derivation(text, f, shapes, numbers, wrt, hessian, checker, onehot, signs)


def _derivation(text, f, shapes, numbers, wrt, hessian, checker, onehot, signs) -> MatrixDerivation:
    """``matrix_derivation`` of the parsed ``f``, its names' roles set."""
    names = t.variables(f)
    unknown = sorted(set(shapes) - set(names))
    if unknown:
        raise said(f"--shape {unknown[0]}: {unknown[0]} is not in the expression",
                   f"--shape {unknown[0]}：表达式里没有 {unknown[0]}")
    if not f.is_scalar:
        raise said(f"the expression is {t.shape_text(f.shape)}, not a scalar: a gradient "
                   f"needs a scalar function (wrap it in sum(…), trace(…) or norm(…))",
                   f"表达式是 {t.shape_text(f.shape)}，不是标量：梯度需要标量函数"
                   f"（用 sum(⋯)、trace(⋯) 或 norm(⋯) 包起来）")
    variables = _choose_wrt(names, shapes, wrt)
    if hessian and len(variables) != 1:
        raise said("--hessian: give one variable (e.g. --wrt w)", "--hessian：请只给一个变量（例如 --wrt w）")
    onehot = check_onehot(onehot, names, variables)
    signs = check_signs(signs, names, variables)
    axis = onehot_axis(f) if onehot else 0
    sizes = _check_sizes(f, shapes)
    inst = _Instance(f, {n: names[n] for n in names}, sizes)
    # numeric sizes above the check sizes: the result is also checked numerically at them
    at_size = _numeric_shapes(inst, names, numbers) if numbers else None
    # the assumption's lines are checked with these entries (the others hold for any matrix)
    hot = {s: v for name in onehot for s, v in zip(inst.env[name], onehot_entries(*inst.shapes[name], axis))}
    pm = {s: v for name in signs for s, v in sign_entries(inst.env[name]).items()}

    L = sp.Symbol(next(n for n in ("L", "f", "g", "h", "F") if n not in names))
    d = Builder(_MatrixModel(), partial=True)
    d.title = Msg.of("Matrix derivative of {f}", "{f} 的矩阵导数", f=Shown.of(f))
    d.define(L, Shown.of(f))
    d.note("Shapes: {shapes}; ${L}$ is a scalar.", "形状:{shapes};${L}$ 是标量。",
           shapes=", ".join(f"${t.text(t.var(n, s))}$: ${t.shape_text(s)}$" for n, s in names.items()),
           L=str(L))
    if numbers:
        d.note("The lines are checked entry by entry at small sizes of the same pattern ({sizes}); the "
               "result is also checked against finite differences at the sizes given.",
               "各行在同样模式的小尺寸({sizes})上逐元素核对;结果还在给定尺寸上与有限差分核对。",
               sizes=", ".join(f"${n} → {inst.sizes[s]}$" for s, n in numbers.items()))
    if onehot and axis == 0:
        d.note("Each column of {ys} is one-hot (a 1 in one row, 0 elsewhere), so its column sums are "
               "$𝟏ᵀ$; the lines that use it are checked with a one-hot {ys}.",
               "{ys} 的每一列都是 one-hot(一行为 1,其余为 0),所以其列和为 $𝟏ᵀ$;用到这一点的各行以 one-hot 的 {ys} 核对。",
               ys=", ".join(f"${t.text(t.var(n, names[n]))}$" for n in onehot))
    elif onehot:
        d.note("Each row of {ys} is one-hot (a 1 in one column, 0 elsewhere; the softmax runs along "
               "axis 1), so its row sums are $𝟏$; the lines that use it are checked with a one-hot {ys}.",
               "{ys} 的每一行都是 one-hot(一列为 1,其余为 0;softmax 沿第 1 轴),所以其行和为 $𝟏$;"
               "用到这一点的各行以 one-hot 的 {ys} 核对。",
               ys=", ".join(f"${t.text(t.var(n, names[n]))}$" for n in onehot))
    indices = Indices({n for n in names} | {str(s) for sh in names.values() for s in sh} | {str(L)})
    index_form = _index_form(d, L, f, inst, indices)
    matrix, checks, second = [], [], []
    for x in variables:
        d.section("With respect to {x}", "对 {x} 求导", x=Shown.of(t.var(x, names[x])))
        g = Gradient(f, x)
        if index_form is not None:
            _entrywise(d, L, x, names[x], index_form, inst, indices)
        _locals(d, g)
        for r in g.rules:
            en, zh = ADJOINT_RULES[r.key]
            d.note("Rule of matrix calculus, " + en + ".", "矩阵微积分法则," + zh + "。")
        lhs = Derivative(L, sp.Symbol(x), evaluate=False)
        # a scalar result (0, or c for a linear function of a matrix) stands for every entry
        value = assume_onehot(g.value, onehot, axis)
        pair = inst.matrix_pair(x, g.value)
        d.eq(lhs, Shown.of(g.value), "matrix_form",
             Msg.of("shape {s}", "形状 {s}", s=f"${t.shape_text(names[x])}$"), check=pair)
        if value != g.value:
            pair = inst.claim(lambda x=x, value=value: (inst.gradient(x).xreplace(hot), inst.value(value).xreplace(hot)),
                              "one-hot", x, t.key(value), *onehot, axis)
            d.eq(lhs, Shown.of(value), "simplify",
                 Msg.of("{ys} one-hot: {rule}", "{ys} 为 one-hot:{rule}",
                        ys=", ".join(f"${n}$" for n in onehot),
                        rule=onehot_rule(onehot[0], names[onehot[0]], axis)), check=pair)
        if signs and assume_signs(value, signs) != value:
            value, pair = _signed(d, lhs, inst, x, assume_signs(value, signs), onehot and hot, pm, signs)
        shown = Shown.of(value)
        code = t.numpy(value)
        if checker is not None:
            extra = {"onehot": {n: axis for n in onehot}} if onehot else {}
            extra.update({"signs": signs} if signs else {})
            checks.append((x, inst.shapes[x], checker(t.numpy(f), code, x, inst.shapes, **extra)))
            if at_size:
                checks.append((x, at_size[x], checker(t.numpy(f), code, x, at_size, **extra)))
        name = f"∂{L}/∂{t.text(t.var(x, names[x]))}"
        d.result(name, shown, lhs=lhs, check=pair)
        matrix.append(MatrixResult(name, t.shape_text(names[x]), code))
        if hessian:
            h = _hessian(d, L, g, x, names[x], inst, index_form, indices, signs, pm)
            if h is not None:
                matrix.append(h)
                if checker is not None:
                    second.extend((x, where[x], checker(None, code, x, where, hessian=h.numpy, **extra))
                                  for where in (inst.shapes, at_size) if where)
    if checks:
        _fd_table(d, checks, second, names, L, getattr(checker, "sampled_entries", None))
    failed = tuple((x, err) for x, _, err in checks if not err < FD_TOLERANCE)
    failed += tuple((f"{x} (Hessian)", err) for x, _, err in second if not err < FD_TOLERANCE)
    base = d.finish()
    return MatrixDerivation(**{k: getattr(base, k) for k in ("model", "title", "steps", "results", "defs", "partial")},
                            matrix=tuple(matrix), checks=tuple(checks), failed=failed)


def _fd_table(d: Builder, checks: list, second: list, names: dict, L, sampled) -> None:
    """The finite-difference comparisons as a table (gradients, then Hessians), with how they
    were made: which entries of a large variable were compared."""
    d.section("Check against finite differences", "与有限差分核对")
    rows = [[Shown.of(t.var(x, names[x])), " × ".join(str(s) for s in shape), f"{err:.1e}"]
            for x, shape, err in checks]
    rows += [[Shown(f"∂²{L}/∂{x}²", rf"\partial^2 {L}/\partial {x}^2"), " × ".join(str(s) for s in shape),
              f"{err:.1e}"] for x, shape, err in second]
    d.table([Msg("variable", "变量"), Msg("sizes", "尺寸"), Msg("max relative difference", "最大相对差")], rows)
    d.note("The NumPy code of each result, at random arrays (seeded: the same every run), against central "
           "differences ($h = 10⁻⁶$); they agree within a relative $10⁻⁶$.",
           "每个结果的 NumPy 代码在随机数组(固定种子,每次相同)上与中心差分($h = 10⁻⁶$)比较;相对差在 $10⁻⁶$ 之内即为一致。")
    large = [(x, shape) for x, shape, _ in checks + second if sampled and shape[0] * shape[1] > sampled]
    if large:
        x, shape = large[0]
        d.note("At {sizes}, ${x}$ has {n} entries: the differences are taken at {k} of them{columns}, drawn "
               "with a fixed seed, so the same entries every run.",
               "在 {sizes} 时 ${x}$ 有 {n} 个元素:只在其中 {k} 个{columns_zh}上取差分,以固定种子抽取,每次相同。",
               sizes=" × ".join(str(s) for s in shape), x=x, n=str(shape[0] * shape[1]), k=str(sampled),
               columns=f" (a Hessian: {sampled} of its columns)" if second else "",
               columns_zh=f"(Hessian 矩阵:{sampled} 列)" if second else "")


def _choose_wrt(names: dict, shapes: dict, wrt) -> list:
    wanted = [w.strip() for item in (wrt or []) for w in str(item).split(",") if w.strip()]
    for w in wanted:
        if w not in names:
            raise said(f"--wrt {w}: {w} is not in the expression", f"--wrt {w}：表达式里没有 {w}")
    if wanted:
        return list(dict.fromkeys(wanted))
    shaped = [n for n in names if n in shapes]
    if len(shaped) == 1:
        return shaped
    first = (shaped or list(names))[0]
    raise said(f"choose the variable with --wrt, e.g. --wrt {first}", f"请用 --wrt 选择变量，例如 --wrt {first}")


def _index_form(d: Builder, L, f: t.Node, inst: _Instance, indices: Indices):
    """Show f in index form (verified at the concrete sizes); None when it has none."""
    try:
        expr = entry(f, 1, 1, indices)
    except NoIndexForm as op:
        d.note("${op}$ has no finite index form; the matrix-calculus rules below apply directly.",
               "${op}$ 没有有限的指标形式;直接使用下面的矩阵微积分法则。", op=str(op))
        return None
    d.eq(L, expr, "index_form", Msg("$Σ$ over each repeated index", "对每个重复指标求和 $Σ$"),
         check=inst.claim(lambda: (inst.f, concrete(expr, inst.sizes)), "index form", expr))
    return expr


def _entrywise(d: Builder, L, x: str, shape, expr, inst: _Instance, indices: Indices) -> None:
    """∂L/∂x_kl from the index form: the deltas sympy.diff gives, then their collapse."""
    free = [indices() for s in shape if s != 1]
    target = Indexed(IndexedBase(x), *free) if free else sp.Symbol(x, real=True)
    lhs = Derivative(L, target, evaluate=False)
    raw = sp.diff(expr, target)
    if sp.count_ops(raw) > MAX_ENTRYWISE_OPS:
        d.note("The entrywise derivative is too long to show usefully; the rules below give it "
               "in matrix form.", "逐元素的导数太长,不予展示;下面的法则直接给出矩阵形式。")
        return

    def at(e):
        """The pair (∂f/∂x by sympy.diff, ``e`` at each concrete entry (k, l) of x), deferred."""
        def value(r, c):
            position = [p + 1 for p, size in ((r, shape[0]), (c, shape[1])) if size != 1]
            return concrete(e, inst.sizes, dict(zip(free, position)))
        return inst.claim(lambda: (inst.gradient(x), sp.Matrix(*inst.env[x].shape, value)), "entrywise", x, e)

    d.eq(lhs, raw, "entrywise", Msg.of("{delta}", "{delta}", delta=_delta_rule(x, shape)), check=at(raw))
    collapsed = collapse(raw)
    if collapsed != raw:
        d.eq(lhs, collapsed, "kronecker", Msg("$Σ_j f_j·δ_jk = f_k$", "$Σ_j f_j·δ_jk = f_k$"),
             check=at(collapsed))


def _delta_rule(x: str, shape) -> str:
    """∂x_j/∂x_k = δ_jk (a vector), ∂X_ij/∂X_kl = δ_ik·δ_jl (a matrix), as marked words."""
    name = t.text(t.var(x, shape))
    if shape == t.SCALAR:
        return f"${name}$ is the variable"
    if shape[1] == 1 or shape[0] == 1:
        return f"${name}_j/∂{name}_k = δ_jk$".replace("$", "$∂", 1)
    return f"$∂{name}_ij/∂{name}_kl = δ_ik·δ_jl$"


def nonlinear_locals(locals_, *, factors: bool = True):
    """The elementwise derivatives ∂φ/∂u worth a line (a linear one is a constant factor, already
    plain in the index form), each as ``(loc, phi, first, operands)``: ``phi`` the name it is
    given (φ, φ2, … one per distinct function), ``first`` whether this is its first use, and
    ``operands`` the equations naming its matrix operands. Without ``factors``, a derivative
    that does not depend on its operand u (1/m, Y: a factor the matrix rules carry) is left out
    too."""
    named: dict = {}
    for loc in locals_:
        if not loc.value.free_symbols & {s for s, _ in loc.names}:
            continue
        if not factors and loc.u not in loc.value.free_symbols:
            continue
        first = loc.phi not in named
        if first:
            named[loc.phi] = sp.Symbol("phi" if not named else f"phi{len(named) + 1}")
        operands = tuple(sp.Eq(s, Shown.of(n), evaluate=False) for s, n in loc.names if n.op != "var")
        yield loc, named[loc.phi], first, operands


def _locals(d: Builder, g: Gradient) -> None:
    """Each elementwise derivative ∂φ/∂u that is not linear, by the engine, rule by rule
    (verified)."""
    for loc, phi, first, operands in nonlinear_locals(g.locals):
        if first:
            if operands:
                d.note("Entry by entry, with {ops}:", "逐元素地,令 {ops}:", ops=operands)
            d.let(phi, loc.phi)
            d.eq(phi, loc.phi, "definition")
        final = d.work(Derivative(phi, loc.u, evaluate=False), loc.phi, loc.u)
        if sp.count_ops(loc.value) < sp.count_ops(final):
            d.eq(Derivative(phi, loc.u, evaluate=False), loc.value, "simplify")


def _vec_size(shape) -> str:
    """The length of vec(X) in words: n for a vector, n·k for an n × k matrix."""
    return "·".join(str(s) for s in shape if s != 1) or "1"


def _signed(d: Builder, lhs, inst: _Instance, x: str, after: t.Node, hot, pm: dict, signs,
            hessian: bool = False) -> tuple:
    """The line that uses ±1 entries (y ⊙ y = 𝟏), checked with such entries at the concrete
    sizes (and one-hot ones, ``hot``, when there are); returns the new form and its pair."""
    given = {**(hot or {}), **pm}

    def compute():
        want = inst.hessian(x) if hessian else inst.gradient(x)
        return want.xreplace(given), inst.value(after).xreplace(given)

    pair = inst.claim(compute, "signs", x, hessian, t.key(after), *sorted(map(str, given.items())))
    ys = ", ".join(f"${n}$" for n in signs)
    d.eq(lhs, Shown.of(after), "simplify",
         Msg.of("every entry of {ys} is $±1$: {rule}", "{ys} 的每个元素都是 $±1$:{rule}", ys=ys,
                rule=", ".join(f"${n} ⊙ {n} = 𝟏$" for n in signs)), check=pair)
    return after, pair


def _hessian(d: Builder, L, g: Gradient, x: str, shape, inst: _Instance, index_form, indices: Indices,
             signs=(), pm=None):
    """∇²f = ∂vec(∇f)/∂vec(x)ᵀ, from the gradient in matrix form, verified against sympy.diff
    twice: the Jacobian of a column vector's gradient, Kronecker products for a matrix or a row
    vector, and the entries ∂²f/∂X_ij∂X_kl where the gradient has no such form. Returns the
    result, or None for an entrywise Hessian (it has no NumPy code)."""
    d.section("Hessian with respect to {x}", "对 {x} 的 Hessian 矩阵", x=Shown.of(t.var(x, shape)))
    lhs = Derivative(L, (sp.Symbol(x), 2), evaluate=False)
    if shape[1] == 1:
        h = jacobian(g.value, x, shape)
    else:
        v = t.text(t.var(x, shape))
        d.note("$vec({v})$ stacks the columns of ${v}$ (so $vec(A·{v}·B) = (Bᵀ ⊗ A)·vec({v})$); the Hessian is "
               "$∂²{L}/∂vec({v})∂vec({v})ᵀ$, of size ${n} × {n}$.",
               "$vec({v})$ 把 ${v}$ 的各列依次叠起(故 $vec(A·{v}·B) = (Bᵀ ⊗ A)·vec({v})$);Hessian 矩阵为 "
               "$∂²{L}/∂vec({v})∂vec({v})ᵀ$,大小 ${n} × {n}$。", v=v, L=str(L), n=_vec_size(shape))
        h = kronecker_hessian(g.value, x, shape)
        if h is None:
            _hessian_entries(d, L, x, shape, index_form, inst, indices)
            return None
    n = _vec_size(shape)
    pair = inst.matrix_pair(x, h, hessian=True)
    if h.is_scalar and not t.is_const(h, 0) and shape != t.SCALAR:
        h = t.mul(h, t.eye(t.var(x, shape)))
    shown = Shown.of(h)
    d.eq(lhs, Derivative(Shown.of(g.value), sp.Symbol(x), evaluate=False), "hessian", check=pair)
    d.eq(lhs, shown, "matrix_form", Msg.of("shape {s}", "形状 {s}", s=f"${n} × {n}$"), check=pair)
    if signs and assume_signs(h, signs) != h:
        h, pair = _signed(d, lhs, inst, x, assume_signs(h, signs), None, pm, signs, hessian=True)
        shown = Shown.of(h)
    name = f"∂²{L}/∂{x}²"
    d.result(name, shown, lhs=lhs, check=pair)
    return MatrixResult(name, f"{n} × {n}", t.numpy(h))


def _hessian_entries(d: Builder, L, x: str, shape, index_form, inst: _Instance, indices: Indices) -> None:
    """∂²f/∂X_ij∂X_kl from the index form, shown and verified entry by entry against
    sympy.diff twice, when the gradient is no sum of terms A·X·B (X inside a function, or Xᵀ)."""
    v = t.text(t.var(x, shape))
    if index_form is None:
        raise said(f"--hessian: the gradient in {v} has no compact matrix form (no sum of terms "
                   f"A·{v}·B) and the expression no finite index form to give it entry by entry",
                   f"--hessian：对 {v} 的梯度没有简洁的矩阵形式（不是形如 A·{v}·B 的项之和），"
                   f"表达式也没有有限的下标形式可以逐元素给出")
    d.note("The gradient is not a sum of terms $A·{v}·B$ with $A$, $B$ free of ${v}$, so the Hessian has no "
           "compact matrix form here; it is given entry by entry.",
           "梯度不是形如 $A·{v}·B$($A$、$B$ 不含 ${v}$)的项之和,故此处 Hessian 没有简洁的矩阵形式;下面逐元素给出。",
           v=v)
    first, second = ([indices() for s in shape if s != 1] for _ in range(2))
    targets = [Indexed(IndexedBase(x), *free) for free in (first, second)]
    raw = collapse(sp.diff(index_form, *targets))
    rows = shape[0].xreplace(inst.sizes)

    def position(k):
        """The (row, column) of entry k of vec(X), columns stacked, as 1-based indices."""
        return [p + 1 for p, size in ((k % rows, shape[0]), (k // rows, shape[1])) if size != 1]

    def compute():
        want = inst.hessian(x)
        return want, sp.Matrix(*want.shape, lambda a, b: concrete(raw, inst.sizes, {
            **dict(zip(first, position(a))), **dict(zip(second, position(b)))}))

    pair = inst.claim(compute, "hessian entries", x, raw)
    lhs = Derivative(L, *targets, evaluate=False)
    d.eq(lhs, raw, "hessian", check=pair)
    indexed = "∂".join(f"{x}_{''.join(map(str, free))}" for free in (first, second))
    d.result(f"∂²{L}/∂{indexed}", raw, lhs=lhs, check=pair,
             note=Msg("entry by entry: no compact matrix form", "逐元素:没有简洁的矩阵形式"))
