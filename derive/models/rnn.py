"""A vanilla recurrent network and back-propagation through time (BPTT), as note 003 heads it.

The cell a⟨t⟩ = tanh(W_aa·a⟨t−1⟩ + W_ax·x⟨t⟩ + b_a) with the output ŷ⟨t⟩ = softmax(W_ya·a⟨t⟩ + b_y)
and the loss L = Σ_t L⟨t⟩. The backward pass is first worked on the scalar RNN unrolled over T = 3
steps, every line checked at t = 1, 2, 3 against ``sympy.diff`` of its loss; then in matrix form,
every line checked entry by entry against ``sympy.diff`` of the loss of a written-out network with
n_a = n_x = n_y = 2 and T = 3 at seeded random points.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING

import sympy as sp
from sympy import Derivative, MatrixSymbol, Sum

from ..functions import sigmoid
from ..messages import Msg
from ..steps import Later
from ..verify import Deferred, stacked
from ._concrete import Instance
from ._notation import Hadamard, Squared, mul
from .base import Model, Option, hidden_option
from ._points import _Points

if TYPE_CHECKING:
    from ..network import Network

T_CHECK = 3          # the steps over which every line is checked
_SIZE = 2            # n_a = n_x = n_y of the written-out matrix instance
_STEP = re.compile(r"\^<t([+-]1)?>")


def _at(name: str, k: int) -> sp.Symbol:
    return sp.Symbol(f"{name}^<{k}>")


class Rnn(Model):
    name = "rnn"
    title = "A recurrent network and back-propagation through time"
    title_zh = "循环神经网络与随时间反向传播"    # the title of `derive train --lang zh`
    summary = "Vanilla RNN a⟨t⟩ = tanh(W_aa·a⟨t−1⟩ + W_ax·x⟨t⟩ + b_a): BPTT with the carried gradient"
    order = 90
    trainable = True
    options = (
        hidden_option(64),
        Option("seq_length", 25, "sequence length T: the time steps of each training window", minimum=2),
    )
    derivation_sizes = {"hidden": _SIZE, "seq_length": T_CHECK}

    def network(self) -> Network:
        """One tanh recurrent layer over one-hot characters, a softmax output at every step;
        trained on the shipped text with mini-batches of windows, the gradient clipped."""
        from ..network import TEXT_VOCABULARY, Dense, Network, Param, Recurrent, Training

        cell = Recurrent(self.hidden, Param("W_aa", "W_aa_{o}_{i}"), Param("W_ax", "W_ax_{o}_{i}"),
                         Param("b_a", "b_a_{o}"))
        out = Dense(TEXT_VOCABULARY, Param("W_ya", "W_ya_{o}_{i}"), Param("b_y", "b_y_{o}"), layout="out,in")
        return Network(self.seq_length, (cell, out), "softmax-cross-entropy",
                       Training("text", lr=0.01, epochs=10, optimizer="adam", batch_size=32, clip=5.0))

    def build(self, d) -> None:
        d.title = Msg("A recurrent network: back-propagation through time",
                      "循环神经网络:通过时间的反向传播")
        self._cell(d)
        self._scalar(d)
        self._matrix(d)

    # -- the cell ---------------------------------------------------------------------------------
    def _cell(self, d) -> None:
        d.section("The recurrent cell", "循环单元")
        d.note(
            "A sequence $x⟨1⟩, …, x⟨T⟩$ is read one step at a time. The activation $a⟨t⟩$ ($n_a × 1$) carries what the "
            "network has read so far: step $t$ combines it with the input $x⟨t⟩$ ($n_x × 1$) by the same weights at "
            "every step, and outputs $ŷ⟨t⟩$ ($n_y × 1$), a prediction of $y⟨t⟩$. The loop starts at $a⟨0⟩ = 0$; "
            "$W_aa$ is $n_a × n_a$, $W_ax$ is $n_a × n_x$, $W_ya$ is $n_y × n_a$.",
            "序列 $x⟨1⟩, …, x⟨T⟩$ 被逐步读入。激活值 $a⟨t⟩$($n_a × 1$)记住网络到目前为止读到的内容:第 $t$ 步用同一组"
            "权重把它与输入 $x⟨t⟩$($n_x × 1$)结合起来,并输出 $ŷ⟨t⟩$($n_y × 1$),即对 $y⟨t⟩$ 的预测。循环从 "
            "$a⟨0⟩ = 0$ 开始;$W_aa$ 为 $n_a × n_a$,$W_ax$ 为 $n_a × n_x$,$W_ya$ 为 $n_y × n_a$。",
        )

    # -- the scalar RNN over T = 3 ----------------------------------------------------------------------
    def _scalar(self, d) -> None:
        w_aa, w_ax, w_ya, b_a, b_y = sp.symbols("w_aa w_ax w_ya b_a b_y")
        L = sp.Symbol("L")
        steps = range(1, T_CHECK + 1)
        for k in steps:
            carried = w_aa * _at("a", k - 1) if k > 1 else 0
            d.let(_at("z", k), carried + w_ax * _at("x", k) + b_a)
            d.let(_at("a", k), sp.tanh(_at("z", k)))
            d.let(_at("o", k), w_ya * _at("a", k) + b_y)
            d.let(_at("yhat", k), sigmoid(_at("o", k)))
            y, yhat = _at("y", k), _at("yhat", k)
            d.let(_at("L", k), -(y * sp.log(yhat) + (1 - y) * sp.log(1 - yhat)))
        d.let(L, sp.Add(*[_at("L", k) for k in steps]))
        for k in reversed(steps):
            d.let(_at("do", k), _at("yhat", k) - _at("y", k))
            carry = w_aa * _at("dz", k + 1) if k < T_CHECK else 0
            d.let(_at("da", k), w_ya * _at("do", k) + carry)
            d.let(_at("dz", k), _at("da", k) * (1 - _at("a", k) ** 2))
        inst = Instance({}, defs=d.defs)

        def concrete(expr, k):
            """A line about step t at step k: a⟨t−1⟩ → a⟨k−1⟩; a⟨0⟩ and dz⟨T+1⟩ are 0."""
            expr, names = sp.sympify(expr), {}
            for s in expr.atoms(sp.Symbol):     # a derivative's variable too
                m = _STEP.search(s.name)
                if m:
                    at = k + int(m.group(1) or 0)
                    names[s] = 0 if at < 1 or at > T_CHECK else sp.Symbol(_STEP.sub(f"^<{at}>", s.name))
            # a path through a step outside 1..T does not exist: its derivative is 0
            gone = {s for s, v in names.items() if v == 0}
            expr = expr.replace(lambda e: isinstance(e, Derivative) and bool(e.atoms(sp.Symbol) & gone), lambda e: 0)
            return expr.xreplace(names)

        def each_step(lhs, rhs):
            return stacked(inst.pair(concrete(lhs, k), concrete(rhs, k)) for k in steps)

        def D(f, v):
            return Derivative(f, v, evaluate=False)

        def t(name):
            return sp.Symbol(f"{name}^<t>")

        a, a_prev, x, z, o, yhat, y = (t("a"), sp.Symbol("a^<t-1>"), t("x"), t("z"), t("o"), t("yhat"), t("y"))
        do, da, dz_next = t("do"), t("da"), sp.Symbol("dz^<t+1>")
        z_next = sp.Symbol("z^<t+1>")

        d.section("The scalar RNN unrolled over $T = 3$", "展开 $T = 3$ 步的标量 RNN")
        d.note(Msg(
            "With one unit everywhere ($n_a = n_x = 1$) the weights are numbers $w_aa$, $w_ax$, $w_ya$, and one output "
            "unit predicts $y⟨t⟩ ∈ {0, 1}$: the softmax over two classes is then the sigmoid. Unrolled over $T = 3$ "
            "steps the network is an ordinary computation graph in which the three steps share their weights.",
            "各处都只有一个单元($n_a = n_x = 1$)时,权重就是数 $w_aa$、$w_ax$、$w_ya$,一个输出单元预测 "
            "$y⟨t⟩ ∈ {0, 1}$:两类的 softmax 就是 sigmoid。展开 $T = 3$ 步后,网络就是一张普通的计算图,三步共用同一组"
            "权重。",
        ).then(Msg.check(
            "Every line below is written for a step $t$ and checked at $t = 1, 2, 3$ against sympy.diff of $L$.",
            "下面每一行都对第 $t$ 步写出,并在 $t = 1, 2, 3$ 时与 $L$ 的 sympy.diff 核对。",
        )))
        z_def = sp.Add(mul(w_aa, a_prev), mul(w_ax, x), b_a, evaluate=False)
        d.eq(z, z_def, "definition", Msg("$a⟨0⟩ = 0$", "$a⟨0⟩ = 0$"), check=each_step(z, z_def))
        d.eq(a, sp.tanh(z), "definition", check=each_step(a, sp.tanh(z)))
        o_def = sp.Add(mul(w_ya, a), b_y, evaluate=False)
        d.eq(o, o_def, "definition", Msg("the output unit's score", "输出单元的得分"), check=each_step(o, o_def))
        d.eq(yhat, sigmoid(o), "definition", check=each_step(yhat, sigmoid(o)))
        # the cross-entropy section's form: −(y·log(ŷ) + (1 − y)·log(1 − ŷ)), unexpanded
        L_t = sp.Mul(-1, sp.Add(sp.Mul(y, sp.log(yhat), evaluate=False),
                                sp.Mul(1 - y, sp.log(1 - yhat), evaluate=False), evaluate=False), evaluate=False)
        d.eq(t("L"), L_t, "definition", Msg("the loss of step $t$ (the cross-entropy section)", "第 $t$ 步的损失(见交叉熵一节)"),
             check=each_step(t("L"), L_t))
        total = sp.Add(*[_at("L", k) for k in steps], evaluate=False)
        d.eq(L, total, "definition", Msg("every step adds its loss", "每一步都加上自己的损失"), check=(L, total))

        d.section("Back-propagation through time, step by step", "逐步做通过时间的反向传播")
        d.note(
            "Gradients are named after their variable, $do⟨t⟩ = ∂L/∂o⟨t⟩$, $da⟨t⟩ = ∂L/∂a⟨t⟩$, $dz⟨t⟩ = ∂L/∂z⟨t⟩$, "
            "and are computed from $t = T$ down to "
            "$t = 1$. The key step: $a⟨t⟩$ reaches $L$ by two paths, through this step's output $o⟨t⟩$ and through the "
            "next step's $z⟨t+1⟩$; the second path brings the gradient carried back from step $t + 1$. At $t = T$ "
            "there is no next step, so nothing is carried ($dz⟨T+1⟩ = 0$).",
            "梯度以其变量命名,$do⟨t⟩ = ∂L/∂o⟨t⟩$、$da⟨t⟩ = ∂L/∂a⟨t⟩$、$dz⟨t⟩ = ∂L/∂z⟨t⟩$,从 $t = T$ 算到 $t = 1$。关键一步:$a⟨t⟩$ 经两条路径影响 $L$,一条经本步"
            "的输出 $o⟨t⟩$,一条经下一步的 $z⟨t+1⟩$;第二条路径带来从第 $t + 1$ 步传回的梯度。$t = T$ 时没有下一步,"
            "所以没有传回的梯度($dz⟨T+1⟩ = 0$)。",
        )
        lines = (
            (D(L, o), D(t("L"), o), "chain", Msg("only $L⟨t⟩$ holds $o⟨t⟩$", "只有 $L⟨t⟩$ 含有 $o⟨t⟩$")),
            (D(L, o), yhat - y, "substitute", Msg("as in logistic regression, $dz = a − y$",
                                                   "与逻辑回归的 $dz = a − y$ 相同")),
            (D(L, a), D(L, o) * D(o, a) + D(L, z_next) * D(z_next, a), "sum_paths",
             Msg("$a⟨t⟩$ enters $o⟨t⟩$ and $z⟨t+1⟩$", "$a⟨t⟩$ 进入 $o⟨t⟩$ 与 $z⟨t+1⟩$")),
            (D(L, a), sp.Add(mul(do, w_ya), mul(dz_next, w_aa), evaluate=False), "substitute",
             Msg("$do⟨t⟩ = ŷ⟨t⟩ − y⟨t⟩$; the second term is carried from step $t + 1$",
                 "$do⟨t⟩ = ŷ⟨t⟩ − y⟨t⟩$;第二项是从第 $t + 1$ 步传回的")),
            (D(L, z), mul(da, 1 - a ** 2), "chain", Msg("$tanh′(z) = 1 − a²$ (the activations section)",
                                                         "$tanh′(z) = 1 − a²$(见激活函数一节)")),
        )
        for lhs, rhs, rule, note in lines:
            d.eq(lhs, rhs, rule, note, check=each_step(lhs, rhs))

        d.section("The shared weights: a sum over time", "共享的权重:对时间求和")
        d.note(
            "Each weight is used at every step, so its gradient is the sum of what each step contributes "
            "(sum of paths), here written out for $T = 3$; $a⟨0⟩ = 0$ drops the first term of $∂L/∂w_aa$.",
            "每个权重在每一步都被使用,所以它的梯度是各步贡献之和(对各条路径求和),这里对 $T = 3$ 写出;"
            "$a⟨0⟩ = 0$ 使 $∂L/∂w_aa$ 的第一项为 0。",
        )
        dzs, dos, as_, xs = ([_at(n, k) for k in steps] for n in ("dz", "do", "a", "x"))
        sums = (
            ("dw_ya", w_ya, sp.Add(*[mul(do_, a_) for do_, a_ in zip(dos, as_)], evaluate=False)),
            ("db_y", b_y, sp.Add(*dos, evaluate=False)),
            ("dw_aa", w_aa, sp.Add(*[mul(dz_, a_) for dz_, a_ in zip(dzs[1:], as_)], evaluate=False)),
            ("dw_ax", w_ax, sp.Add(*[mul(dz_, x_) for dz_, x_ in zip(dzs, xs)], evaluate=False)),
            ("db_a", b_a, sp.Add(*dzs, evaluate=False)),
        )
        checked = {}
        for name, wrt, rhs in sums:
            checked[name] = inst.pair(D(L, wrt), rhs)
            d.eq(D(L, wrt), rhs, "sum_paths", check=checked[name])
        # said once, beside the first of the five: the lines that follow belong to it
        note = Msg("the scalar RNN unrolled over $T = 3$", "展开 $T = 3$ 步的标量 RNN")
        for n, (name, wrt, rhs) in enumerate(sums):
            d.result(name, rhs, of=L, wrt=wrt, note=note if n == 0 else None, check=checked[name])

    # -- matrix form --------------------------------------------------------------------------------------
    def _matrix(self, d) -> None:
        na, nx, ny = sp.symbols("n_a n_x n_y", integer=True, positive=True)
        t, T = sp.symbols("t T", integer=True, positive=True)
        MS = MatrixSymbol
        Waa, Wax, Wya = MS("W_aa", na, na), MS("W_ax", na, nx), MS("W_ya", ny, na)
        ba, by = MS("b_a", na, 1), MS("b_y", ny, 1)

        def vec(name, rows):
            return MS(name, rows, 1)

        a, a_prev, x = vec("a^<t>", na), vec("a^<t-1>", na), vec("x^<t>", nx)
        z, o, yhat, y = vec("z^<t>", na), vec("o^<t>", ny), vec("yhat^<t>", ny), vec("y^<t>", ny)
        do, da, dz = vec("do^<t>", ny), vec("da^<t>", na), vec("dz^<t>", na)
        dz_next = vec("dz^<t+1>", na)
        s = _stand_ins(_SIZE, T_CHECK)
        at = _Points(s["symbols"])
        K = 2        # the step of the instance at which a line about step t is checked (a carry arrives)
        k = K - 1

        def written(name, sides):
            """The check pair ``sides(e)`` on the written-out network ``e = _explicit()``: named by
            ``name`` and by this file's code (``Deferred``) rather than by the network's
            expressions, so that a remembered proof never builds the network."""
            return Deferred((*at._content, "written-out rnn", _SIZE, T_CHECK, K, name), lambda: sides(_explicit()))

        def same(name, sides):
            """``_Points.same`` of the two matrices ``sides(e)``, deferred as ``written``."""
            return written(name, lambda e: tuple(at.value(M) for M in sides(e)))

        def claim(name, sides):
            """``_Points.claim`` of ``sides(e)`` = (J, M, value), deferred as ``written``."""
            def pair(e):
                J, M, value = sides(e)
                return at.grad(J, M), at.value(value)
            return written(name, pair)

        d.section("$n_a$ units: the matrix form", "$n_a$ 个单元:矩阵形式")
        d.note(Msg(
            "With $n_a$ units the same lines hold for column vectors; $⊙$ is the elementwise product and the output "
            "is a softmax over $n_y$ classes with $y⟨t⟩$ one-hot (the softmax section).",
            "有 $n_a$ 个单元时,同样的式子对列向量成立;$⊙$ 是逐元素乘积,输出是 $n_y$ 个类别上的 softmax,$y⟨t⟩$ 为 "
            "one-hot(见 softmax 一节)。",
        ).then(Msg.check(
            "Each line is checked entry by entry against sympy.diff of $L$ for $n_a = n_x = n_y = 2$, $T = 3$ and "
            "one-hot inputs, at two random points; a line about step $t$ is checked at $t = 2$, which both sends "
            "and receives a carried gradient.",
            "每一行都在 $n_a = n_x = n_y = 2$、$T = 3$、输入为 one-hot 时于两个随机点与 $L$ 的 sympy.diff "
            "逐个元素核对;关于第 $t$ 步的行在 $t = 2$ 处核对,这一步既传出也收到传回的梯度。",
        )))
        d.eq(z, sp.MatAdd(sp.MatMul(Waa, a_prev), sp.MatMul(Wax, x), ba), "definition", Msg("$n_a × 1$", "$n_a × 1$"),
             check=same("z", lambda e: (e["z"][k], e["Waa"] * e["a"][k - 1] + e["Wax"] * e["x"][k] + e["ba"])))
        d.eq(a, sp.tanh(z), "definition", Msg("elementwise", "逐元素"),
             check=same("a", lambda e: (e["a"][k], e["z"][k].applyfunc(sp.tanh))))
        d.eq(o, sp.MatAdd(sp.MatMul(Wya, a), by), "definition", Msg("$n_y × 1$: the scores", "$n_y × 1$:各类的得分"),
             check=same("o", lambda e: (e["o"][k], e["Wya"] * e["a"][k] + e["by"])))
        d.eq(yhat, sp.Function("softmax")(o), "definition",
             check=same("yhat", lambda e: (e["yhat"][k], _softmax(e["o"][k]))))

        do_pair = claim("do", lambda e: (e["L_of_o"], e["o_free"][k], _softmax(e["o_free"][k]) - e["y"][k]))
        d.eq(do, sp.MatAdd(yhat, -y), "chain", Msg("$do⟨t⟩ = ∂L/∂o⟨t⟩$: the softmax result (the softmax section)",
                                                 "$do⟨t⟩ = ∂L/∂o⟨t⟩$:softmax 的结论(见 softmax 一节)"), check=do_pair)
        # the carried term written out, W_aaᵀ·dz⟨t+1⟩, not under a program's name: its own claim (the
        # gradient that reaches a⟨t⟩ through z⟨t+1⟩) is checked beside the whole line's
        carried = claim("da_next", lambda e: (e["L_of_a_next"], e["a_free"][k], e["Waa"].T * e["dz_of_a"][k + 1]))
        da_pair = claim("da", lambda e: (e["L_of_a"], e["a_free"][k], e["da_of_a"][k]))
        d.eq(da, sp.MatAdd(sp.MatMul(Wya.T, do), sp.MatMul(Waa.T, dz_next)), "sum_paths",
             Msg("$a⟨t⟩$ reaches $L$ through $ŷ⟨t⟩$ and through $z⟨t+1⟩$; the second term is the gradient "
                 "carried back from step $t + 1$ through $W_aa$, 0 at $t = T$",
                 "$a⟨t⟩$ 经 $ŷ⟨t⟩$ 与 $z⟨t+1⟩$ 影响 $L$；第二项是从第 $t + 1$ 步经 $W_aa$ 传回的梯度，$t = T$ 时为 0"),
             check=stacked((carried, da_pair)))
        ones = sp.OneMatrix(na, 1)
        dz_pair = claim("dz", lambda e: (e["L_of_z"], e["z_free"][k], e["da_of_z"][k].multiply_elementwise(
            e["z_free"][k].applyfunc(lambda u: 1 - sp.tanh(u) ** 2))))
        d.eq(dz, Hadamard(da, sp.MatAdd(ones, sp.MatMul(-1, Squared(a), evaluate=False), evaluate=False)), "chain",
             Msg("$tanh′ = 1 − a²$ at each unit, the square taken elementwise",
                 "每个单元处 $tanh′ = 1 − a²$，平方逐元素计算"), check=dz_pair)

        d.section("The weight gradients: sums over time", "权重的梯度:对时间求和")
        grads = (
            ("dW_ya", MS("dW_ya", ny, na), Sum(sp.MatMul(do, a.T), (t, 1, T)), "Wya", "$n_y × n_a$"),
            ("db_y", MS("db_y", ny, 1), Sum(do, (t, 1, T)), "by", "$n_y × 1$"),
            ("dW_aa", MS("dW_aa", na, na), Sum(sp.MatMul(dz, a_prev.T), (t, 1, T)), "Waa", "$n_a × n_a$"),
            ("dW_ax", MS("dW_ax", na, nx), Sum(sp.MatMul(dz, x.T), (t, 1, T)), "Wax", "$n_a × n_x$"),
            ("db_a", MS("db_a", na, 1), Sum(dz, (t, 1, T)), "ba", "$n_a × 1$"),
        )
        pairs = {}
        for name, lhs, rhs, param, shape in grads:
            pairs[name] = claim(name, lambda e, param=param: (e["L"], e[param], e["grads"][param]))
            d.eq(lhs, rhs, "sum_paths", Msg(f"{shape}: every step uses the same weights", f"{shape}:每一步都用同一组权重"),
                 check=pairs[name])
        entry = Msg.check("checkable form: entry $(1, 2)$ (a column: entry 2) at $n_a = n_x = n_y = 2$, $T = 3$",
                          "可用 sympy 验证的形式:$n_a = n_x = n_y = 2$、$T = 3$ 时的第 $(1, 2)$ 个元素(列向量取第 2 个)")
        for name, lhs, rhs, param, _ in grads:
            where = (0, 1) if s[param].cols > 1 else (1, 0)
            pair = pairs[name]
            flat = where[0] * s[param].cols + where[1]
            # of and value: the written-out network's, built only when they are read
            def forms(param=param, where=where):
                return _explicit()["L"], _explicit()["grads"][param][where]
            d.result(name, rhs, lhs=lhs, of=Later(forms, 0), wrt=s[param][where], value=Later(forms, 1),
                     check=pair.entry(flat), note=entry)


def _softmax(o: sp.Matrix) -> sp.Matrix:
    return o.applyfunc(sp.exp) / sum(sp.exp(v) for v in o)


def _stand_ins(size: int, steps: int) -> dict:
    """The symbols of the written-out RNN (``_explicit``): its weights and the free stand-ins for
    z⟨t⟩, a⟨t⟩, o⟨t⟩, and all of them in one list (cheap: no expression is built)."""

    def mat(name, rows, cols):
        return sp.Matrix(rows, cols, lambda p, q: sp.Symbol(f"{name}_{p + 1}_{q + 1}" if cols > 1 else f"{name}_{p + 1}"))

    out = dict(Waa=mat("W_aa", size, size), Wax=mat("W_ax", size, size), Wya=mat("W_ya", size, size),
               ba=mat("b_a", size, 1), by=mat("b_y", size, 1),
               z_free=[mat(f"z{t}", size, 1) for t in range(1, steps + 1)],
               a_free=[mat(f"a{t}", size, 1) for t in range(1, steps + 1)],
               o_free=[mat(f"o{t}", size, 1) for t in range(1, steps + 1)])
    out["symbols"] = [*out["Waa"], *out["Wax"], *out["Wya"], *out["ba"], *out["by"],
                      *(s for v in out["z_free"] + out["a_free"] + out["o_free"] for s in v)]
    return out


@lru_cache(maxsize=None)
def _explicit(size: int = _SIZE, steps: int = T_CHECK) -> dict:
    """The RNN with n_a = n_x = n_y = ``size`` written out over ``steps`` steps (a⟨0⟩ = 0, x⟨t⟩ one-hot
    in class (t − 1) mod 2, y⟨t⟩ = x⟨t+1⟩ one-hot in class t mod 2): its loss, its loss seen from free stand-ins for o⟨2⟩, a⟨2⟩, z⟨2⟩, and
    the backward recursion of the notes written out, which the checks compare with sympy.diff.
    Built once per process, and only when a check is not remembered (it is most of rnn's build)."""
    e = _stand_ins(size, steps)
    Waa, Wax, Wya, ba, by = e["Waa"], e["Wax"], e["Wya"], e["ba"], e["by"]
    z_free, a_free, o_free = e["z_free"], e["a_free"], e["o_free"]
    # x⟨t⟩ one-hot, as the characters are (codes 1, 2, 1): W_ax·x⟨t⟩ picks a column of W_ax
    x = [sp.Matrix(size, 1, lambda p, _, t=t: int(p == t % 2)) for t in range(steps)]
    y = [sp.Matrix(size, 1, lambda p, _, t=t: int(p == (t + 1) % size)) for t in range(steps)]

    def step_loss(o, target):
        return sp.log(sum(sp.exp(v) for v in o)) - sum(c * v for c, v in zip(target, o))

    def run(start: int, a_start=None, z_start=None, o_at=None):
        """Forward from step ``start`` (0-based) given a⟨start⟩ (or z⟨start⟩), the loss of every
        step from there on; the steps before are held fixed at their free stand-ins."""
        zs, as_, loss = {}, {}, 0
        prev = a_free[start - 1] if start > 0 else sp.zeros(size, 1)
        for t in range(start, steps):
            if t == start and a_start is not None:
                a = a_start
            else:
                z = z_start if (t == start and z_start is not None) else Waa * prev + Wax * x[t] + ba
                zs[t], a = z, z.applyfunc(sp.tanh)
            as_[t] = a
            o = o_at if (o_at is not None and t == start) else Wya * a + by
            loss += step_loss(o, y[t])
            prev = a
        return zs, as_, loss

    zs, as_, L = run(0)
    os_ = [Wya * as_[t] + by for t in range(steps)]
    # the notes' backward recursion, from t = T down: do, da (with the carried W_aaᵀ·dz⟨t+1⟩), dz
    dos = [_softmax(o) - y[t] for t, o in enumerate(os_)]
    das, dzs = [None] * steps, [None] * steps
    carried = sp.zeros(size, 1)
    for t in range(steps - 1, -1, -1):
        das[t] = Wya.T * dos[t] + carried
        dzs[t] = das[t].multiply_elementwise(as_[t].applyfunc(lambda v: 1 - v ** 2))
        carried = Waa.T * dzs[t]
    grads = {
        "Wya": sum((dos[t] * as_[t].T for t in range(steps)), sp.zeros(size, size)),
        "by": sum(dos, sp.zeros(size, 1)),
        "Waa": sum((dzs[t] * as_[t - 1].T for t in range(1, steps)), sp.zeros(size, size)),
        "Wax": sum((dzs[t] * x[t].T for t in range(steps)), sp.zeros(size, size)),
        "ba": sum(dzs, sp.zeros(size, 1)),
    }
    K = 1        # the 0-based step checked: t = 2
    before = sum(step_loss(os_[t], y[t]) for t in range(K))
    # the loss seen from a free a⟨2⟩ (steps before it fixed), and the recursion at that a⟨2⟩
    _, as_a, L_a = run(K, a_start=a_free[K])
    _, as_z, L_z = run(K, z_start=z_free[K])

    def recursion(as_from):
        """da⟨t⟩ and dz⟨t⟩ for t ≥ K by the recursion, on the activations ``as_from``."""
        da, dz, carry = {}, {}, sp.zeros(size, 1)
        for t in range(steps - 1, K - 1, -1):
            da[t] = Wya.T * (_softmax(Wya * as_from[t] + by) - y[t]) + carry
            dz[t] = da[t].multiply_elementwise(as_from[t].applyfunc(lambda v: 1 - v ** 2))
            carry = Waa.T * dz[t]
        return da, dz

    da_a, dz_a = recursion(as_a)
    da_z, _ = recursion(as_z)
    # the loss of the steps after t = 2 only, as a function of a free a⟨2⟩: what the carry is
    _, _, L_next = run(K + 1, z_start=Waa * a_free[K] + Wax * x[K + 1] + ba)
    o_loss = before + step_loss(o_free[K], y[K]) + sum(step_loss(os_[t], y[t]) for t in range(K + 1, steps))
    return dict(
        e, x=x, y=y, z=zs, a=as_, o=os_, yhat=[_softmax(o) for o in os_],
        L=L, L_of_o=o_loss, L_of_a=before + L_a, L_of_z=before + L_z,
        L_of_a_next=L_next, da_of_a=da_a, dz_of_a=dz_a, da_of_z=da_z, grads=grads,
    )
