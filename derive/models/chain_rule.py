"""The chain rule on the notes' computation graph J(a, b, c) = 3(a + bc), and h(x) = (3x² + 2)⁴."""

from __future__ import annotations

import sympy as sp

from ..messages import Msg
from ..verify import expand_defs
from .base import Model, Option

A, B, C = sp.symbols("a b c")
U, V, J = sp.symbols("u v J")
NOTES_POINT = "a=5,b=3,c=2"


class ChainRule(Model):
    name = "chain-rule"
    title = "The chain rule on a computation graph"
    summary = "Chain rule: J = 3(a + bc) as u = bc, v = a + u, J = 3v; forward/backward table; h(x) = (3x²+2)⁴"
    order = 10
    options = (Option("at", NOTES_POINT, "the point of the forward/backward table, e.g. a=1,b=2,c=3"),)

    def point(self) -> dict:
        """The point of the table as {Symbol: value}; the notes' a=5, b=3, c=2 by default."""
        from ..parse import parse_point

        point = parse_point(self.at, allowed_names=["a", "b", "c"])
        missing = [s.name for s in (A, B, C) if s not in point]
        if missing:
            from ..errors import said

            raise said(f"--at must give a, b and c (missing: {', '.join(missing)})",
                       f"--at 必须给出 a、b 和 c（缺少：{', '.join(missing)}）")
        return point

    def build(self, d) -> None:
        d.partial = False
        d.title = Msg("The chain rule on a computation graph", "计算图上的链式法则")
        point = self.point()

        d.section("Forward pass: $J(a, b, c) = 3(a + bc)$ as a graph", "前向传播:把 $J(a, b, c) = 3(a + bc)$ 画成计算图")
        d.define(U, B * C)
        d.define(V, A + U)
        d.define(J, 3 * V)
        d.note("Computed left to right; derivatives then flow right to left.",
               "从左到右计算出结果,再从右到左计算导数。")

        d.section("Backward pass", "反向传播")
        # in the notes' order, a before u (each after its only consumer v), with the numbers
        grads = d.backward(J, [V, A, U, B, C], style="values", at=point)

        d.section("The forward/backward table at {point}", "在 {point} 处的前向/反向计算表",
                  point=tuple(sp.Eq(k, v, evaluate=False) for k, v in point.items()))
        rows = []
        for node in (A, B, C, U, V, J):
            forward = expand_defs(node, d.defs).xreplace(point)
            grad = grads.get(node, sp.S.One)
            rows.append((node, d.defs.get(node, Msg("input", "输入")), forward, grad, grad.xreplace(point)))
        d.table(
            [Msg("node", "节点"), Msg("definition", "定义"), Msg("forward value", "前向值"),
             Msg("$dJ/d$(node)", "$dJ/d$(节点)"), Msg("backward value", "反向梯度值")],
            rows,
        )

        d.section("A second example: $h(x) = (3x² + 2)⁴$", "第二个例子:$h(x) = (3x² + 2)⁴$")
        x, h = sp.symbols("x h")
        hx = (3 * x**2 + 2) ** 4
        d.define(h, hx)
        dh = self._by_rules(d, h, x)
        self._with_u(d, h, x)

        J_value = rows[-1][2]
        def at_point(expr):
            return expand_defs(expr, d.defs).xreplace(point)

        # the values at the point are checked against J written out: its value, and sympy.diff
        # of J as a function of the node
        where = tuple(sp.Eq(k, v, evaluate=False) for k, v in point.items())
        d.result("J", J_value, lhs=sp.Function("J")(*(point[s] for s in (A, B, C))),
                 check=(at_point(J), J_value),
                 note=Msg.of("forward value at {at}", "在 {at} 处的前向值", at=where))
        for node in (V, A, U, B, C):
            d.result(f"dJ/d{node}", grads[node], of=J, wrt=node)
            # a gradient that depends on the point is followed by its value there, as the notes
            # end the backward pass (dJ/db = 6, dJ/dc = 9); a constant one is its own value
            at = grads[node].xreplace(point)
            d.result(f"dJ/d{node} at the point", at,
                     lhs=sp.Subs(sp.Derivative(J, node), (A, B, C), tuple(point[s] for s in (A, B, C))),
                     check=(at_point(sp.diff(expand_defs(J, d.defs, keep=(node,)), node)), at),
                     note=Msg.of("backward value at {at}", "在 {at} 处的反向梯度值", at=where),
                     audience="student" if grads[node].free_symbols else "check")
        d.result("dh/dx", dh, of=h, wrt=x)

    def _by_rules(self, d, h, x):
        """dh/dx rule by rule, in the notes' order: the outer power rule's 4·u³ stays beside
        du/dx until du/dx = 6x is worked out, and only then are 4 and 6 multiplied (the engine's
        constant multiple rule would merge the 3 of 3x² into the 4 first)."""
        # 3x² + 2 as the notes write it, in every line (SymPy's own sum is 2 + 3x²)
        inner = sp.Add(3 * x**2, 2, evaluate=False)
        lhs = sp.Derivative(h, x, evaluate=False)

        def times(*factors):
            return sp.Mul(4, inner**3, *factors, evaluate=False)

        d.eq(lhs, sp.Derivative(inner**4, x, evaluate=False), "differentiate")
        d.eq(lhs, times(sp.Derivative(inner, x, evaluate=False)), "chain",
             Msg("with $u = 3x² + 2$, $d/du[u⁴] = 4u³$", "令 $u = 3x² + 2$，$d/du[u⁴] = 4u³$"))
        d.eq(lhs, times(sp.Add(sp.Derivative(3 * x**2, x, evaluate=False),
                               sp.Derivative(2, x, evaluate=False), evaluate=False)), "sum")
        d.eq(lhs, times(sp.Derivative(3 * x**2, x, evaluate=False)), "constant",
             Msg("$d/dx[2] = 0$", "$d/dx[2] = 0$"))
        # 6x kept a factor of its own: the product 4·(3x² + 2)³·6x is not yet 24x·(3x² + 2)³
        six_x = times(sp.UnevaluatedExpr(6 * x))
        d.eq(lhs, six_x, "power", Msg("$d/dx[3x²] = 3·2x = 6x$", "$d/dx[3x²] = 3·2x = 6x$"),
             check=(lhs, six_x.doit()))
        return d.eq(lhs, 24 * x * inner**3, "simplify", Msg("$4·6 = 24$", "$4·6 = 24$"))

    def _with_u(self, d, h, x) -> None:
        """h = u⁴ with u = 3x² + 2, as the notes write the chain rule: dh/du·du/dx. This u is a
        symbol of its own (the graph's u = b·c above is another), printed the same."""
        u = sp.Symbol("u", positive=True)
        inner = 3 * x**2 + 2
        d.let(u, inner)
        d.note("The same with the $u$ the chain rule introduces, $h = u⁴$ and $u = 3x² + 2$:",
               "用链式法则引入的 $u$ 再写一遍：$h = u⁴$，$u = 3x² + 2$：")
        dh_du = sp.Derivative(h, u, evaluate=False)
        d.eq(dh_du, 4 * u**3, "power", check=(sp.diff(u**4, u), 4 * u**3))
        du_dx = sp.Derivative(u, x, evaluate=False)
        d.eq(du_dx, 6 * x, "power", Msg("$d/dx[3x²] + d/dx[2] = 6x + 0$", "$d/dx[3x²] + d/dx[2] = 6x + 0$"),
             check=(sp.diff(inner, x), 6 * x))
        dh_dx = sp.Derivative(h, x, evaluate=False)
        chain = sp.Mul(4, u**3, 6, x, evaluate=False)
        d.eq(dh_dx, sp.Mul(dh_du, du_dx, evaluate=False), "chain",
             check=(sp.diff(inner**4, x), sp.Mul(4 * inner**3, 6 * x)))
        d.eq(dh_dx, chain, "substitute", check=(sp.diff(inner**4, x), chain))
        d.eq(dh_dx, 24 * x * inner**3, "substitute",
             Msg("$u = 3x² + 2$", "$u = 3x² + 2$"), check=(sp.diff(inner**4, x), 24 * x * inner**3))

