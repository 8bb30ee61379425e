"""NumPy broadcasting: the notes' 4×3 + (3,) example, the rules, where the models broadcast
(Z = W·X + b), and why the gradient of a broadcast bias sums dZ over the broadcast axis."""

from __future__ import annotations

import itertools

import sympy as sp
from sympy import Derivative

from ..errors import DeriveError, said
from ..messages import Msg
from ._notation import Ones
from .base import Model

# the notes' example (002): a is 4×3, b has shape (3,); print(a + b)
NOTES_A = ((0, 0, 0), (10, 10, 10), (20, 20, 20), (30, 30, 30))
NOTES_B = (1, 2, 3)
NOTES_PRINTED = ((1, 2, 3), (11, 12, 13), (21, 22, 23), (31, 32, 33))


def broadcast_shape(left: tuple, right: tuple) -> tuple:
    """The shape of ``left + right`` under NumPy's rules: shapes aligned at their last axis, a
    missing leading axis counts as 1, and on each axis the sizes agree or one of them is 1.

    Raises
    ------
    DeriveError
        When on some axis the sizes differ and neither is 1.

    Examples
    --------
    >>> broadcast_shape((4, 3), (3,))
    (4, 3)
    >>> broadcast_shape((2, 1), (1, 5))
    (2, 5)
    """
    out = []
    for p, q in itertools.zip_longest(reversed(left), reversed(right), fillvalue=1):
        if p != q and 1 not in (p, q):
            raise said(f"shapes {left} and {right} do not broadcast: {p} against {q}",
                       f"形状 {left} 和 {right} 不能广播：{p} 对 {q}")
        out.append(max(p, q))
    return tuple(reversed(out))


def _shape_text(shape) -> sp.Symbol:
    return sp.Symbol("(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")")


class Broadcasting(Model):
    name = "broadcasting"
    title = "Broadcasting"
    summary = "NumPy broadcasting: the notes' 4×3 + (3,) example, the rules, Z = W·X + b and the gradient db"
    order = 45

    def build(self, d) -> None:
        d.title = Msg("Broadcasting", "广播")
        self._example(d)
        self._rules(d)
        self._bias(d)

    def _example(self, d) -> None:
        d.section("The notes' example", "笔记中的例子")
        d.note(
            "$a$ is $4 × 3$ and $b$ has shape (3,). They cannot be added as matrices, so NumPy stretches $b$: it is "
            "taken as one row and repeated over the 4 rows of $a$, then the arrays are added entry by entry.",
            "$a$ 是 $4 × 3$,$b$ 的形状是 $(3,)$。按矩阵加法它们不能相加,于是 NumPy 把 $b$ 扩展:当作一行,沿 $a$ 的 4 行复制,"
            "再逐元素相加。",
        )
        a, b = sp.ImmutableMatrix(NOTES_A), sp.ImmutableMatrix([NOTES_B])
        ones = sp.ones(4, 1)
        stretched = sp.ImmutableMatrix(ones * b)
        B = sp.MatrixSymbol("b", 1, 3)
        d.eq(sp.MatMul(Ones(4, 1), B), stretched, "rewrite",
             Msg("$b$ repeated over the rows: a column of ones times the row $b$",
                 "$b$ 沿行复制:一列 1 乘以行向量 $b$"), check=(ones * b, stretched))
        total = sp.ImmutableMatrix(a + stretched)
        # a + b as the notes' print(a + b) writes it, b standing for its stretched 𝟏·b (the
        # printer would put a lone matrix a after the product 1·b, as it puts a bias last)
        notes_sum = sp.Add(sp.Symbol("a"), sp.Symbol("b"), evaluate=False)
        d.eq(notes_sum, total, "evaluate",
             Msg("entry by entry, $b$ stretched to $𝟏·b$", "逐元素相加，$b$ 扩展为 $𝟏·b$"), check=(a + ones * b, total))
        d.result("a + b", total, lhs=notes_sum, check=(a + ones * b, sp.ImmutableMatrix(NOTES_PRINTED)),
                 note=Msg("what the notes' print(a + b) shows", "即笔记中打印出的 $a + b$"))

    def _rules(self, d) -> None:
        d.section("The rules", "规则")
        d.note(
            "Compare the two shapes from their last axis backwards; a shape with fewer axes is padded with 1 in "
            "front. On each axis the sizes must be equal or one of them 1, and an axis of size 1 is stretched to "
            "the other size. The result has the larger size on every axis; otherwise NumPy raises an error.",
            "从最后一个轴开始向前比较两个形状;轴较少的形状在前面补 1。每个轴上两个长度要么相等,要么其中一个为 1,"
            "长度为 1 的轴被拉伸到另一个长度。结果在每个轴上取较大的长度;否则 NumPy 报错。",
        )
        rows = []
        for left, right in (((4, 3), (3,)), ((4, 3), (4, 1)), ((4, 3), (1, 3)), ((2, 1), (1, 5)), ((4, 3), (4,))):
            try:
                result = _shape_text(broadcast_shape(left, right))
            except DeriveError:
                result = Msg("error: 3 against 4", "报错:3 与 4 不匹配")
            rows.append((_shape_text(left), _shape_text(right), result))
        d.table([Msg("shape of $a$", "$a$ 的形状"), Msg("shape of $b$", "$b$ 的形状"),
                 Msg("shape of $a + b$", "$a + b$ 的形状")], rows)

    def _bias(self, d) -> None:
        nh, nx, m = 2, 2, 3
        d.section("Where the models broadcast: $Z = W·X + b$", "模型中的广播:$Z = W·X + b$")
        # the sizes are where the lines are checked, not part of the result: the check audience's
        d.note(Msg(
            "In a layer, $W·X$ is $n_h × m$ (one column per example) and $b$ is $n_h × 1$; NumPy's $W @ X + b$ adds "
            "$b$ to every column: $Z = W·X + b·𝟏ᵀ$ with $𝟏$ a column of $m$ ones.",
            "在一层里 $W·X$ 是 $n_h × m$(每个样本一列),$b$ 是 $n_h × 1$;NumPy 的 $W @ X + b$ 把 $b$ 加到每一列上:"
            "$Z = W·X + b·𝟏ᵀ$,其中 $𝟏$ 是 $m$ 个 1 组成的列。",
        ).then(Msg.check("The lines of this section and the next are checked at $n_h = {nh}$, $n_x = {nx}$, $m = {m}$.",
                         "本节与下一节的各行在 $n_h = {nh}$、$n_x = {nx}$、$m = {m}$ 时核对。",
                         nh=sp.Integer(nh), nx=sp.Integer(nx), m=sp.Integer(m))))

        def mat(name, rows, cols):
            return sp.Matrix(rows, cols, lambda p, q: sp.Symbol(f"{name}_{p + 1}_{q + 1}"))

        W, X = mat("W", nh, nx), mat("X", nx, m)
        b = sp.Matrix(nh, 1, lambda p, _: sp.Symbol(f"b_{p + 1}"))
        T = mat("T", nh, m)
        ones = sp.ones(m, 1)
        Z = W * X + b * ones.T
        Zs = mat("Z", nh, m)
        Wm, Xm, bm, Zm = (sp.MatrixSymbol(s, r, c) for s, r, c in (("W", nh, nx), ("X", nx, m), ("b", nh, 1), ("Z", nh, m)))
        d.eq(Zm, sp.MatAdd(sp.MatMul(Wm, Xm), sp.MatMul(bm, sp.Transpose(Ones(m, 1)))), "rewrite",
             Msg("entry $(j, i)$: $Σ_k W_jk X_ki + b_j$, the same $b_j$ in every column $i$",
                 "第 $(j, i)$ 个元素:$Σ_k W_jk X_ki + b_j$——每一列 $i$ 用的都是同一个 $b_j$"),
             check=(Z, sp.Matrix(nh, m, lambda j, i: sum(W[j, k] * X[k, i] for k in range(nx)) + b[j])))

        d.section("The gradient of a broadcast", "广播的梯度")
        d.note(Msg(
            "Let $J$ depend on $Z$, and $dZ_ji = ∂J/∂Z_ji$. Since $b_j$ was copied into every column, it reaches "
            "$J$ along $m$ paths, one through each $Z_ji$, and $∂Z_ji/∂b_j = 1$; summing over the paths, $db$ sums "
            "$dZ$ over the broadcast axis (the columns).",
            "设 $J$ 依赖于 $Z$,$dZ_ji = ∂J/∂Z_ji$。$b_j$ 被复制到每一列,所以它沿 $m$ 条路径影响 $J$,每条经过一个 $Z_ji$,"
            "且 $∂Z_ji/∂b_j = 1$;对各路径求和,$db$ 就是 $dZ$ 沿广播的轴(各列)求和。",
        ).then(Msg.check("Checked with $J = (1/2) Σ_ji (Z_ji − T_ji)²$, whose $dZ_ji = Z_ji − T_ji$.",
                         "用 $J = (1/2) Σ_ji (Z_ji − T_ji)²$ 核对,其 $dZ_ji = Z_ji − T_ji$。")))
        J_of_Z = sp.Add(*[(Zs[p] - T[p]) ** 2 for p in range(nh * m)]) / 2
        J = J_of_Z.xreplace(dict(zip(Zs, Z)))
        dZ = sp.Matrix(nh, m, lambda p, q: sp.diff(J_of_Z, Zs[p, q])).xreplace(dict(zip(Zs, Z)))
        Jsym, j, i = sp.Symbol("J"), sp.Symbol("j"), sp.Symbol("i")
        Zi, dZi, bi = sp.IndexedBase("Z"), sp.IndexedBase("dZ"), sp.IndexedBase("b")
        paths = sp.Sum(sp.Mul(Derivative(Jsym, Zi[j, i], evaluate=False), Derivative(Zi[j, i], bi[j], evaluate=False),
                              evaluate=False), (i, 1, sp.Symbol("m")))
        chain_rhs = sum(dZ[0, q] * sp.diff(Z[0, q], b[0]) for q in range(m))
        d.eq(Derivative(Jsym, bi[j], evaluate=False), paths, "sum_paths",
             Msg("$b_j$ reaches $J$ through $Z_j1, …, Z_jm$", "$b_j$ 经 $Z_j1, …, Z_jm$ 影响 $J$"),
             check=(sp.diff(J, b[0]), chain_rhs))
        summed = sp.Sum(dZi[j, i], (i, 1, sp.Symbol("m")))
        row_check = (sp.diff(J, b[0]), sum(dZ[0, q] for q in range(m)))
        d.eq(Derivative(Jsym, bi[j], evaluate=False), summed, "substitute",
             Msg("$∂Z_ji/∂b_j = 1$", "$∂Z_ji/∂b_j = 1$"), check=row_check)
        db = dZ * ones
        dbm = sp.MatrixSymbol("db", nh, 1)
        column_check = (sp.Matrix(nh, 1, lambda p, _: sp.diff(J, b[p])), db)
        db_matrix = d.eq(dbm, sp.MatMul(sp.MatrixSymbol("dZ", nh, m), Ones(m, 1)), "vectorize",
             Msg("in NumPy: $db = dZ.sum(axis=1, keepdims=True)$; with the mean cost $(1/m)$ comes in front, "
                 "as in the notes' $db = (1/m) Σ (A − Y)$",
                 "在 NumPy 中:$db = dZ.sum(axis=1, keepdims=True)$;若代价取平均,前面再乘 $(1/m)$,即笔记中的 "
                 "$db = (1/m) Σ (A − Y)$"),
             check=column_check)
        d.note(
            "The same holds for any copy: the notes' $b$ of shape (3,) is repeated over 4 rows, so a gradient "
            "with respect to it sums over those 4 rows (axis 0). Copying forward is summing backward.",
            "任何复制都是如此:笔记中形状为 $(3,)$ 的 $b$ 沿 4 行复制,所以对它的梯度就是沿这 4 行(第 0 轴)求和。"
            "前向复制,反向求和。",
        )
        # the result is the general one, db = dZ·𝟏 (db_j = Σ_i dZ_ji); its entries at the sizes of the
        # check, each against sympy.diff of J, go to the check audience
        d.result("dJ/db_j", summed, lhs=Derivative(Jsym, bi[j], evaluate=False), check=row_check)
        d.result("db", db_matrix, lhs=dbm, of=J, wrt=b[0], value=db[0], check=column_check)
        for p in range(nh):
            # shown as the entries of dZ it adds up; its value, what sympy.diff of J gives, in the JSON
            row = sp.Add(*[dZi[p + 1, q + 1] for q in range(m)], evaluate=False)
            value = sp.Add(*[dZ[p, q] for q in range(m)])
            d.result(f"dJ/db_{p + 1}", row, of=J, wrt=b[p], value=value,
                     check=(row.xreplace({dZi[p + 1, q + 1]: dZ[p, q] for q in range(m)}), value),
                     lhs=Derivative(Jsym, bi[p + 1], evaluate=False), audience="check",
                     note=Msg.of("the sum of row {r} of $dZ$ over the $m = {m}$ columns",
                                 "$dZ$ 第 {r} 行沿 $m = {m}$ 列求和", r=sp.Integer(p + 1), m=sp.Integer(m)))
