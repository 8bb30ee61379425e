"""Scaled dot-product attention O = softmax(Q·Kᵀ/√d_k)·V and its gradients dV, dQ, dK through
the softmax's Jacobian, in matrix form with shapes, checked entry by entry against sympy.diff."""

from __future__ import annotations

from typing import TYPE_CHECKING

import sympy as sp
from sympy import Derivative, IndexedBase, MatrixSymbol, Sum

from ..messages import Msg
from ..verify import Deferred
from .base import Model
from ._notation import DELTA, Hadamard, Ones, mul

if TYPE_CHECKING:
    from ..network import Network

# The instance on which every line is checked: n = 2 queries, m = 2 keys, d_k = d_v = 2.
N_Q, N_K, D_K, D_V = 2, 2, 2, 2

# The network ``derive train attention`` trains: self-attention over the 8 rows of an 8 × 8 digit
# (each row a token of 8 pixels, Q = X·Wq, K = X·Wk, V = X·Wv with this many columns), then a dense
# softmax layer over the 10 classes.
TOKENS, WIDTH, NET_KEY, NET_VALUE, CLASSES = 8, 8, 8, 8, 10


def _concrete(name: str, rows: int, cols: int) -> sp.Matrix:
    return sp.Matrix(rows, cols, lambda a, b: sp.Symbol(f"{name}_{a + 1}_{b + 1}"))


class _Small:
    """Attention at the instance sizes, with plain symbols Q_1_2 …, and the loss
    L = Σ dO_ij·O_ij, whose gradient with respect to O is the upstream dO: the chain rule uses
    nothing else of the real loss."""

    def __init__(self):
        self.Q, self.K = _concrete("Q", N_Q, D_K), _concrete("K", N_K, D_K)
        self.V, self.dO = _concrete("V", N_K, D_V), _concrete("dO", N_Q, D_V)
        self.S = self.Q * self.K.T / sp.sqrt(D_K)
        self.P = self.softmax(self.S)
        self.O = self.P * self.V
        self.L = sum(self.dO[a, b] * self.O[a, b] for a in range(N_Q) for b in range(D_V))
        # the same loss seen from the scores S and from the weights P, as free symbols
        self.Ssym, self.Psym = _concrete("S", N_Q, N_K), _concrete("P", N_Q, N_K)
        self.P_of_S = self.softmax(self.Ssym)
        self.L_of_S = self._loss(self.P_of_S)
        self.L_of_P = self._loss(self.Psym)
        self.dP = self.dO * self.V.T

    @staticmethod
    def softmax(S: sp.Matrix) -> sp.Matrix:
        """Row by row: P_ij = e^(S_ij) / Σ_l e^(S_il)."""
        return sp.Matrix(S.rows, S.cols, lambda a, b: sp.exp(S[a, b]) / sum(sp.exp(S[a, t]) for t in range(S.cols)))

    def _loss(self, P: sp.Matrix):
        O = P * self.V
        return sum(self.dO[a, b] * O[a, b] for a in range(N_Q) for b in range(D_V))

    def gradient(self, of, wrt: sp.Matrix) -> sp.Matrix:
        """∂of/∂wrt entry by entry, by sympy.diff."""
        return wrt.applyfunc(lambda e: sp.diff(of, e))

    def pair(self, of, wrt: sp.Matrix, form: sp.Matrix) -> Deferred:
        """The check pair (``gradient(of, wrt)``, ``form``), the gradient worked out only when the
        proof cache does not already hold the claim."""
        return Deferred(("attention gradient", of, wrt, form), lambda: (self.gradient(of, wrt), form))


# The computation graph (``derive attention --graph``): one query q = (q1, q2) attending to two
# keys k1, k2 (d_k = 2) with scalar values v1, v2, so O = P1·v1 + P2·v2 and the graph's gradients
# are ∂O/∂· (an upstream dO = 1). The query is closer to the second key.
GRAPH_POINT = {"q1": 1, "q2": 2, "k11": 1, "k12": 0, "k21": 0, "k22": 1, "v1": 3, "v2": -1}


def graph_attention() -> dict:
    """The definitions of the graph: the scores S_j = q·k_j/√d_k, the weights P_j (the softmax
    over the two scores) and the output O."""
    S = sp.Symbol
    q = [S("q1"), S("q2")]
    keys = [[S("k11"), S("k12")], [S("k21"), S("k22")]]
    scores, weights = [S("S1"), S("S2")], [S("P1"), S("P2")]
    defs = {}
    for score, key in zip(scores, keys):
        defs[score] = (q[0] * key[0] + q[1] * key[1]) / sp.sqrt(2)
    for weight, score in zip(weights, scores):
        defs[weight] = sp.exp(score) / (sp.exp(scores[0]) + sp.exp(scores[1]))
    defs[S("O")] = weights[0] * S("v1") + weights[1] * S("v2")
    return defs


class Attention(Model):
    name = "attention"
    title = "Scaled dot-product attention and its gradients"
    title_zh = "缩放点积注意力及其梯度"    # the title of `derive train --lang zh`
    summary = "Attention O = softmax(Q·Kᵀ/√d_k)·V: dV = Pᵀ·dO, dS through the softmax Jacobian, dQ, dK"
    order = 95
    trainable = True

    def graph_defs(self) -> dict:
        """The derivation is in matrix form; the graph is of one query and two keys
        (``graph_attention``)."""
        return graph_attention()

    def point(self) -> dict:
        return dict(GRAPH_POINT)

    def network(self) -> Network:
        """O = softmax(Q·Kᵀ/√d_k)·V over the rows of a digit, Q, K, V projections of the rows, then
        a dense softmax layer; trained on the 8 × 8 digits."""
        from ..network import Attention as AttentionLayer, Dense, Network, Param, Training

        layer = AttentionLayer(TOKENS, WIDTH, NET_KEY, NET_VALUE, Param("Wq", "Wq_{i}_{o}"), Param("Wk", "Wk_{i}_{o}"),
                               Param("Wv", "Wv_{i}_{o}"))
        out = Dense(CLASSES, Param("W", "W_{o}_{i}"), Param("b", "b_{o}"))
        return Network(TOKENS * WIDTH, (layer, out), "softmax-cross-entropy",
                       Training("digits", lr=0.03, epochs=30, optimizer="adam", batch_size=32), target="y_{o}")

    def build(self, d) -> None:
        small = _Small()
        n, m, dk, dv = sp.symbols("n m d_k d_v", integer=True, positive=True)
        Q, K, V = MatrixSymbol("Q", n, dk), MatrixSymbol("K", m, dk), MatrixSymbol("V", m, dv)
        S, P, O = MatrixSymbol("S", n, m), MatrixSymbol("P", n, m), MatrixSymbol("O", n, dv)
        dO, dP, dS = MatrixSymbol("dO", n, dv), MatrixSymbol("dP", n, m), MatrixSymbol("dS", n, m)
        L = sp.Symbol("L")
        root = sp.sqrt(dk)
        Pc = small.P

        d.title = Msg("Scaled dot-product attention: $O = softmax(Q·Kᵀ/√d_k)·V$ and its gradients",
                      "缩放点积注意力:$O = softmax(Q·Kᵀ/√d_k)·V$ 及其梯度")
        d.section("Attention", "注意力")
        d.note(Msg(
            "The notes end with the heading “attention model”; this is the form used today. $n$ queries "
            "(the rows of $Q$, $n × d_k$) are compared with $m$ keys (the rows of $K$, $m × d_k$) by dot "
            "products, scaled by $√d_k$ so that their spread does not grow with $d_k$; a softmax along each "
            "row turns the scores into weights, and each output row is the weighted mean of the values "
            "(the rows of $V$, $m × d_v$).",
            "笔记以“注意力模型”这一标题结束;这里是今天通用的形式。$n$ 个查询($Q$ 的行,$n × d_k$)与 $m$ 个键"
            "($K$ 的行,$m × d_k$)做点积,再除以 $√d_k$,使其离散程度不随 $d_k$ 增大;对每一行做 softmax,"
            "把得分变成权重;每个输出行是各个值($V$ 的行,$m × d_v$)的加权平均。",
        ).then(Msg.check("Every line is checked entry by entry at $n = m = d_k = d_v = 2$.",
                         "每一行都在 $n = m = d_k = d_v = 2$ 时逐个元素核对。")))
        scores = sp.MatMul(Q, K.T) / root
        d.eq(S, scores, "definition", Msg("scores, $n × m$", "得分,$n × m$"),
             check=(small.S, small.Q * small.K.T / sp.sqrt(D_K)))
        Pi, Si = IndexedBase("P"), IndexedBase("S")
        i, j, l = sp.symbols("i j l", integer=True, positive=True)
        row = sp.exp(Si[i, j]) / Sum(sp.exp(Si[i, l]), (l, 1, m))
        d.eq(Pi[i, j], row, "definition",
             Msg("softmax along row $i$: $P$ is $n × m$, each row sums to 1", "沿第 $i$ 行做 softmax:$P$ 为 $n × m$,每行之和为 1"),
             check=(small.P_of_S, small.softmax(small.Ssym)))
        d.eq(O, sp.MatMul(P, V), "definition", Msg("$n × d_v$", "$n × d_v$"), check=(small.O, Pc * small.V))
        d.note(
            "Back-propagation hands the layer $dO = ∂L/∂O$ ($n × d_v$); the gradients have the shapes of "
            "what they belong to.",
            "反向传播从上游传来 $dO = ∂L/∂O$($n × d_v$);每个梯度的形状与对应的量相同。",
        )

        d.section("The values and the weights", "值与权重的梯度")
        dV_form = Pc.T * small.dO
        dV_pair = small.pair(small.L, small.V, dV_form)
        d.eq(Derivative(L, V, evaluate=False), sp.MatMul(P.T, dO), "chain",
             Msg("$m × d_v$: $O_ij = Σ_l P_il V_lj$, so $V_lj$ reaches $L$ through column $j$ of $O$, weighted by $P_il$",
                 "$m × d_v$:$O_ij = Σ_l P_il V_lj$,所以 $V_lj$ 经 $O$ 的第 $j$ 列影响 $L$,权重为 $P_il$"),
             check=dV_pair)
        dP_pair = small.pair(small.L_of_P, small.Psym, small.dO * small.V.T)
        d.eq(dP, sp.MatMul(dO, V.T), "chain", Msg("$n × m$", "$n × m$"), check=dP_pair)

        d.section("Through the softmax", "穿过 softmax")
        jac = Derivative(Pi[i, l], Si[i, j], evaluate=False)
        jac_form = mul(Pi[i, l], DELTA[l, j] - Pi[i, j])
        jac_lhs = sp.Matrix([[sp.diff(small.P_of_S[0, 0], small.Ssym[0, 0])],
                             [sp.diff(small.P_of_S[0, 1], small.Ssym[0, 0])]])
        jac_rhs = sp.Matrix([[small.P_of_S[0, 0] * (1 - small.P_of_S[0, 0])],
                             [-small.P_of_S[0, 1] * small.P_of_S[0, 0]]])
        d.eq(jac, jac_form, "kronecker",
             Msg("the softmax's Jacobian (rows do not mix)", "softmax 的雅可比矩阵(各行互不影响)").then(
                 Msg.check("checked at $l = j$ and $l ≠ j$", "已在 $l = j$ 与 $l ≠ j$ 上核对")),
             check=(jac_lhs, jac_rhs))
        dPi = IndexedBase("dP")
        dS_ij = Derivative(L, Si[i, j], evaluate=False)
        # the Jacobian first and dP after it, as dS = P ⊙ (dP − (P ⊙ dP)·u·uᵀ) multiplies them
        by_l = Sum(mul(Pi[i, l], DELTA[l, j] - Pi[i, j], dPi[i, l]), (l, 1, m))
        r = Sum(mul(Pi[i, l], dPi[i, l]), (l, 1, m))
        dS_form = mul(Pi[i, j], dPi[i, j] - r)
        Ps = small.P_of_S
        dP_of_S = small.dO * small.V.T
        at_l = sp.Matrix(N_Q, N_K, lambda a, b: sum(dP_of_S[a, t] * Ps[a, t] * (int(t == b) - Ps[a, b])
                                                     for t in range(N_K)))
        d.eq(dS_ij, by_l, "chain", Msg("$S_ij$ reaches $L$ through every $P_il$ of its row",
                                         "$S_ij$ 经其所在行的每个 $P_il$ 影响 $L$"),
             check=small.pair(small.L_of_S, small.Ssym, at_l))
        closed = sp.Matrix(N_Q, N_K, lambda a, b: Ps[a, b] * (dP_of_S[a, b] - sum(dP_of_S[a, t] * Ps[a, t]
                                                                               for t in range(N_K))))
        dS_pair = small.pair(small.L_of_S, small.Ssym, closed)
        d.eq(dS_ij, dS_form, "kronecker", Msg("$δ_lj$ selects $l = j$", "$δ_lj$ 选出 $l = j$"), check=dS_pair)
        ones = Ones(m, 1)
        # unevaluated: SymPy would merge 𝟏·𝟏ᵀ into one matrix of ones
        dS_matrix = Hadamard(P, sp.MatAdd(dP, sp.MatMul(-1, Hadamard(P, dP), ones, sp.Transpose(ones), evaluate=False),
                                          evaluate=False))
        d.eq(dS, dS_matrix, "rearrange",
             Msg("$n × m$; $𝟏$ is the column of $m$ ones, so $(P ⊙ dP)·𝟏$ holds the row sums $Σ_l P_il dP_il$",
                 "$n × m$;$𝟏$ 是 $m$ 个 1 组成的列向量,所以 $(P ⊙ dP)·𝟏$ 是各行之和 $Σ_l P_il dP_il$"),
             check=small.pair(small.L_of_S, small.Ssym, Ps.multiply_elementwise(
                 dP_of_S - Ps.multiply_elementwise(dP_of_S) * sp.ones(N_K, 1) * sp.ones(1, N_K))))

        d.section("The queries and the keys", "查询与键的梯度")
        # the closed form of dS (not sympy.diff's), at S = Q·Kᵀ/√d_k
        dSc = closed.xreplace(dict(zip(small.Ssym, small.S)))
        dQ_form = dSc * small.K / sp.sqrt(D_K)
        dQ_pair = small.pair(small.L, small.Q, dQ_form)
        d.eq(Derivative(L, Q, evaluate=False), sp.MatMul(dS, K) / root, "chain",
             Msg("$n × d_k$: $S_ij = Σ_t Q_it K_jt/√d_k$", "$n × d_k$:$S_ij = Σ_t Q_it K_jt/√d_k$"), check=dQ_pair)
        dK_form = dSc.T * small.Q / sp.sqrt(D_K)
        dK_pair = small.pair(small.L, small.K, dK_form)
        d.eq(Derivative(L, K, evaluate=False), sp.MatMul(dS.T, Q) / root, "chain",
             Msg("$m × d_k$: key $j$ meets every query $i$ through $S_ij$",
                 "$m × d_k$:键 $j$ 经 $S_ij$ 与每个查询 $i$ 做点积"), check=dK_pair)

        # -- results: each at one entry of the instance, the whole matrix checked by its line --
        entry = Msg.check("checkable form: entry $(1, 2)$ at $n = m = d_k = d_v = 2$",
                          "可用 sympy 验证的形式:$n = m = d_k = d_v = 2$ 时的第 $(1, 2)$ 个元素")
        for name, lhs, display, of, wrt, pair, form in (
            ("dL/dV", Derivative(L, V, evaluate=False), sp.MatMul(P.T, dO), small.L, small.V, dV_pair, dV_form),
            ("dL/dS_ij", dS_ij, dS_form, small.L_of_S, small.Ssym, dS_pair, closed),
            ("dL/dQ", Derivative(L, Q, evaluate=False), sp.MatMul(dS, K) / root, small.L, small.Q, dQ_pair, dQ_form),
            ("dL/dK", Derivative(L, K, evaluate=False), sp.MatMul(dS.T, Q) / root, small.L, small.K, dK_pair, dK_form),
        ):
            d.result(name, display, lhs=lhs, of=of, wrt=wrt[0, 1], value=form[1] if form.cols == 1 else
                     form[0, 1], check=pair, note=entry)
