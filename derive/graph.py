"""Computation graphs, as the notes draw them: forward values left to right, gradients right to left.

A graph is built from a derivation's definitions (``u = bc``, ``v = a + u``, ``J = 3v``): each
defined symbol is a node whose inputs are the free symbols of its definition; symbols without a
definition are leaves (inputs and parameters). At a point the graph carries

* each node's forward value,
* each node's gradient ∂J/∂node, worked out from the definitions by ``verify.realize`` after the
  whole graph is known (and cross-checked against the chain rule along the edges),
* on each edge u → v the local derivative ∂v/∂u, symbolic and at the point.

``Graph.to_dot()`` is Graphviz source, ``Graph.to_tikz()`` a TikZ picture of the same graph.

>>> g = graph_for(model("chain-rule"))        # doctest: +SKIP
>>> g.value("J"), g.grad("b")                  # doctest: +SKIP
(33, 6)
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from fractions import Fraction

import sympy as sp
from sympy import Derivative, Symbol

from . import printing
from .errors import said
from .functions import to_elementary
from .messages import Msg
from .verify import VerificationError

_WORDS = {
    "title": Msg("Computation graph at {point}", "计算图({point} 处)"),
    "title_leaves": Msg("Computation graph (the point: the values in its leaves)",
                        "计算图(所取的点即各叶节点中的值)"),
    "legend": Msg("forward values left to right; gradients {grad} right to left",
                  "前向传播从左到右计算各节点的值;反向传播从右到左计算梯度 {grad}"),
    "legend_down": Msg("forward values top to bottom; gradients {grad} bottom to top; a box holds a layer's "
                        "vector (a weight matrix), and the table below gives each unit",
                        "前向传播从上到下计算各节点的值;反向传播从下到上计算梯度 {grad};每个方框是一层的向量"
                        "(权重为矩阵),下表列出每个分量"),
    "edges": Msg("each arrow $u → v$ carries the local derivative {local}",
                 "每条边 $u → v$ 上标出局部导数 {local}"),
}


# The notes' line width (A4, 2 cm margins) in cm: a picture this wide is drawn at its natural size.
TIKZ_WIDTH = 17.0
# A unit of a layer vector: its name and its index (x1, b^{[1]}_{2}, W^{[1]}_{12}).
_UNIT = re.compile(r"(.+?)_?\{?(\d+)\}?")
_TIKZ_STYLE = (
    r"\begin{tikzpicture}[>=Stealth, x=1cm, y=1cm,",
    r"  every node/.style={font=\footnotesize}, gbox/.style={draw=black!60, rounded corners=2pt,"
    r" fill=blue!4, align=center, inner sep=2pt},",
    r"  gleaf/.style={gbox, fill=white, rounded corners=6pt}, gout/.style={gbox, double},",
    r"  glbl/.style={font=\scriptsize, fill=white, fill opacity=0.85, text opacity=1, inner sep=1pt,"
    r" align=center}]",
)


@dataclass(frozen=True)
class Node:
    """A node: its symbol, its definition (None for a leaf), forward value and gradient."""

    symbol: Symbol
    definition: sp.Expr | None
    value: sp.Expr
    grad: sp.Expr
    layer: int = 0
    row: float = 0.0

    @property
    def leaf(self) -> bool:
        return self.definition is None


@dataclass(frozen=True)
class Edge:
    """``source → target`` with the local derivative ∂target/∂source (symbolic, and its value)."""

    source: Symbol
    target: Symbol
    local: sp.Expr
    value: sp.Expr


@dataclass(frozen=True)
class Graph:
    """A computation graph evaluated at a point (see the module's docstring)."""

    name: str
    output: Symbol
    nodes: tuple
    edges: tuple
    point: tuple              # ((Symbol, value), …) of the leaves, in the order given
    partial: bool = True
    # leaves that are data (a label y): training never moves them, so no gradient is drawn for them
    data: frozenset = frozenset()

    def node(self, name) -> Node:
        for n in self.nodes:
            if n.symbol == name or n.symbol.name == str(name):
                return n
        raise KeyError(name)

    def value(self, name):
        """The forward value of node ``name``."""
        return self.node(name).value

    def grad(self, name):
        """∂output/∂(node ``name``) at the point."""
        return self.node(name).grad

    # Views -----------------------------------------------------------------------------------
    def _d(self, of, wrt, tex: bool) -> str:
        d = ("\\partial " if tex else "∂") if self.partial else "d"
        name = _tex_name if tex else _text_name
        return f"{d}{name(of)}/{d}{name(wrt)}"

    def point_text(self, tex: bool = False) -> str:
        name = _tex_name if tex else _text_name
        num = _num_tex if tex else _num
        return ", ".join(f"{name(s)} = {num(v)}" for s, v in self.point)

    @property
    def big(self) -> bool:
        """Too many nodes to write definitions and full edge labels into a picture."""
        return len(self.nodes) > 12

    def gradient_name(self, tex: bool = False) -> str:
        """∂J/∂· — the gradient of the output with respect to a node, as the legends write it."""
        return self._d(self.output, "·", tex).replace("·", r"\cdot" if tex else "·")

    def heading(self, lang: str = "en", tex: bool = False, vectors: bool = False) -> tuple[str, str]:
        """The graph's title (with its point) and its legend, in ``lang``, as text or as LaTeX;
        ``vectors``: the legend of the picture drawn one box per layer vector."""
        from .render.latex import latex_words

        values = {"grad": self.gradient_name(tex), "local": self._d("v", "u", tex), "point": self.point_text(tex)}

        def words(key):
            return latex_words(_WORDS[key], lang, values) if tex else _WORDS[key].render(lang, values)

        title = words("title_leaves" if len(self.point) > 6 else "title")
        if vectors:
            return title, words("legend_down")
        legend = words("legend")
        if self.big:
            legend += ("; " if lang != "zh" else ";") + words("edges")
        return title, legend

    def to_dot(self, lang: str = "en", caption: bool = True) -> str:
        """Graphviz source: one box per node (definition, value, gradient), one labelled arrow per
        edge (local derivative and its value); the title and legend above when ``caption``."""
        ids = {n.symbol: f"n{i}" for i, n in enumerate(self.nodes)}
        heading = "\n".join(self.heading(lang))
        label = f', label="{_dot_escape(heading)}"' if caption else ""
        lines = [
            f"digraph {_dot_id(self.name)} {{",
            f'  graph [rankdir=LR, labelloc=t, fontname="DejaVu Sans", fontsize=12, '
            f'nodesep=0.3, ranksep=0.9{label}];',
            '  node [shape=box, style="rounded,filled", fillcolor="#f4f6fb", fontname="DejaVu Sans", fontsize=11];',
            '  edge [fontname="DejaVu Sans", fontsize=9, color="#555555"];',
        ]
        for n in self.nodes:
            attrs = [f'label="{_dot_escape(chr(10).join(self._node_lines(n)))}"']
            if n.leaf:
                attrs += ["shape=ellipse", 'fillcolor="#ffffff"']
            if n.symbol == self.output:
                attrs.append("peripheries=2")
            lines.append(f"  {ids[n.symbol]} [{', '.join(attrs)}];")
        for e in self.edges:
            lines.append(f'  {ids[e.source]} -> {ids[e.target]} [label="{_dot_escape(self._edge_text(e))}"];')
        lines.append("}")
        return "\n".join(lines) + "\n"

    def vector_view(self) -> bool:
        """Whether pictures draw this graph one box per layer vector (a big graph of units)."""
        return self.big and self._vectors() is not None

    def picture_dot(self, lang: str = "en") -> str:
        """Graphviz source of the picture a page shows, without a caption: ``to_dot``, or for a
        graph drawn by vectors (``vector_view``) one box per vector, top to bottom, as in
        ``to_tikz`` (a vector as (…), a weight matrix as [[…], […]] by rows)."""
        if not self.vector_view():
            return self.to_dot(lang, caption=False)
        groups = self._vectors()
        home = {n.symbol: key for key, members in groups.items() for _, n in members}
        ids = {key: f"v{i}" for i, key in enumerate(groups)}
        lines = [
            f"digraph {_dot_id(self.name)} {{",
            '  graph [rankdir=TB, fontname="DejaVu Sans", nodesep=0.3, ranksep=0.4];',
            '  node [shape=box, style="rounded,filled", fillcolor="#f4f6fb", fontname="DejaVu Sans", fontsize=11];',
            '  edge [color="#555555"];',
        ]
        for key, members in groups.items():
            name = re.sub(r"\^\{\[(\d+)\]\}", r"[\1]", key)
            label = (f"{name} = {_text_matrix(members, lambda n: n.value)}\n"
                     f"{self._d(self.output, name, False)} = {_text_matrix(members, lambda n: n.grad)}")
            attrs = [f'label="{_dot_escape(label)}"']
            if members[0][1].leaf:   # white like the other leaves, but a box: the labels are wide
                attrs.append('fillcolor="#ffffff"')
            if key == home[self.output]:
                attrs.append("peripheries=2")
            lines.append(f"  {ids[key]} [{', '.join(attrs)}];")
        pairs = dict.fromkeys((home[e.source], home[e.target]) for e in self.edges)
        lines += [f"  {ids[a]} -> {ids[b]};" for a, b in pairs]
        lines.append("}")
        return "\n".join(lines) + "\n"

    def _node_lines(self, n: Node, tex: bool = False) -> list[str]:
        """A node's label lines (definition, forward value, gradient), as text or as TeX."""
        name, expr, num = (_tex_name, _tex, _num_tex) if tex else (_text_name, _text, _num)
        out = []
        if not n.leaf:
            out.append(f"{name(n.symbol)} = {expr(n.definition)}")
        out.append(f"{name(n.symbol)} = {num(n.value)}")
        if n.symbol not in self.data:
            out.append(f"{self._d(self.output, n.symbol, tex)} = {num(n.grad)}")
        return out

    def _edge_text(self, e: Edge, tex: bool = False) -> str:
        """An edge's label: the symbolic local derivative and, unless it is a number, its value
        (on a second line in TeX); none on an arrow from data."""
        if e.source in self.data:
            return ""
        expr, num, sep = (_tex, _num_tex, r" \\ = ") if tex else (_text, _num, " = ")
        head = f"{self._d(e.target, e.source, tex)} = {expr(e.local)}"
        return head if e.local.is_Number else f"{head}{sep}{num(e.value)}"

    def to_tikz(self, lang: str = "en", caption: bool = True) -> str:
        """A ``tikzpicture`` (centred, with a caption below when ``caption``) of the graph, at its
        natural size when it fits the notes' line width: a big graph whose nodes are the units of
        layer vectors (an MLP) is drawn one box per vector, top to bottom, with a table of the
        units below; arrow labels too wide for the line are broken. Scaled down to the line width
        only when still wider (a narrower page). Needs ``\\usepackage{tikz}``."""
        groups = self._vectors() if self.vector_view() else None
        if groups is not None:
            body = self._tikz_vectors(groups)
        else:
            body, width = self._tikz_columns(broken=False)
            if width > TIKZ_WIDTH:
                body, _ = self._tikz_columns(broken=True)
        scaled = "\\resizebox{\\ifdim\\width>\\linewidth\\linewidth\\else\\width\\fi}{!}{%\n" + body + "%\n}"
        if not caption:
            return scaled + "\n"
        title, legend = self.heading(lang, tex=True, vectors=groups is not None)
        cap = title + ("：" if lang == "zh" else ": ") + legend
        # not a float: the picture stays beside the derivation it illustrates
        figure = ("\\begin{center}\n\\begin{minipage}{\\linewidth}\n\\centering\n" + scaled
                  + f"\n\n\\smallskip{{\\small {cap}\\par}}\n\\end{{minipage}}\n\\end{{center}}\n")
        return figure if groups is None else figure + self._unit_table(lang)

    def _tikz_columns(self, broken: bool) -> tuple[str, float]:
        """The picture in columns, left to right, and its estimated width in cm; ``broken`` puts
        the derivative of each long arrow label on a line of its own (a narrower gap)."""
        from .render.latex import math_width

        ids = {n.symbol: f"n{i}" for i, n in enumerate(self.nodes)}
        # A definition too long for a box (any, in a big graph) is left to the derivation's lines;
        # a big graph's arrows carry the local derivative alone (the legend says so).
        texts = {n.symbol: self._node_lines(n, tex=True) for n in self.nodes}
        texts = {k: v[-2:] if self.big or math_width(v[0]) > 15 else v for k, v in texts.items()}
        labels = [_tex(e.local) if self.big and e.source not in self.data else self._edge_text(e, tex=True)
                  for e in self.edges]
        if broken:
            # the long derivatives only: a short label broken in three lines would crowd its neighbours
            labels = [label.replace(" = ", r" \\ = ", 1) if math_width(label.split(r" \\ ")[0]) > 7 else label
                      for label in labels]
        # Sizes in cm: node text is \footnotesize (1 em ≈ 0.32 cm), edge labels \scriptsize
        # (1 em ≈ 0.28 cm); columns are as wide as their widest node, gaps as their widest label.
        width = {k: max(math_width(t) for t in lines) * 0.32 + 0.35 for k, lines in texts.items()}
        height = max(len(lines) * 0.42 + 0.2 * sum(r"\frac" in t for t in lines)
                     for lines in texts.values()) + 0.35
        if broken:
            # three-line labels of neighbouring arrows need the rows further apart; the gaps are
            # cut to the labels' own width
            height += 0.5
        layer = {n.symbol: n.layer for n in self.nodes}
        cols = sorted(set(layer.values()))
        col_w = {c: max(width[k] for k in layer if layer[k] == c) for c in cols}
        gap = {c: 1.0 for c in cols}
        for e, label in zip(self.edges, labels):
            c = layer[e.source]
            widest = max(math_width(part) for part in label.split(r" \\ "))
            gap[c] = max(gap[c], widest * 0.28 / (1.0 if broken else 0.85) + 0.4)
        x, left = {}, 0.0
        for c in cols:
            x[c] = left + col_w[c] / 2
            left += col_w[c] + gap[c]
        pic = [*_TIKZ_STYLE]
        for n in self.nodes:
            style = "gleaf" if n.leaf else ("gout" if n.symbol == self.output else "gbox")
            text = r" \\ ".join(f"${line}$" for line in texts[n.symbol])
            pic.append(rf"  \node[{style}] ({ids[n.symbol]}) at ({x[n.layer]:.2f}, {-n.row * height:.2f}) {{{text}}};")
        for e, label in zip(self.edges, labels):
            # labels nearer the source, where converging edges are still apart
            text = " \\\\ ".join(f"${part}$" for part in label.split(r" \\ "))
            mark = rf"node[glbl, pos=0.45] {{{text}}} " if label else ""
            pic.append(rf"  \draw[->] ({ids[e.source]}) -- {mark}({ids[e.target]});")
        pic.append(r"\end{tikzpicture}")
        return "\n".join(pic), left - gap[cols[-1]]

    def _vectors(self) -> dict | None:
        """The nodes gathered by layer vector — ``{name: [(index, node), …]}``, ``W^{[1]}`` from
        ``W^{[1]}_{11}`` … ``W^{[1]}_{22}``, ``x`` from ``x1``, ``x2`` — or None when that would
        gather nothing or mix inputs with computed nodes."""
        groups: dict = {}
        for n in self.nodes:
            m = _UNIT.fullmatch(n.symbol.name)
            key, index = (m.group(1), m.group(2)) if m else (n.symbol.name, "")
            groups.setdefault(key, []).append((index, n))
        if len(groups) == len(self.nodes):
            return None
        for members in groups.values():
            if len({n.leaf for _, n in members}) > 1 or len({len(i) for i, _ in members}) > 1:
                return None
        return groups

    def _tikz_vectors(self, groups: dict) -> str:
        """One box per layer vector (its values and its gradient, as column vectors; a weight
        matrix as a matrix), forward from top to bottom, an arrow wherever a unit feeds a unit."""
        from .render.latex import math_width

        home = {n.symbol: key for key, members in groups.items() for _, n in members}
        inputs = {key: [] for key in groups}
        for e in self.edges:
            if home[e.source] not in inputs[home[e.target]]:
                inputs[home[e.target]].append(home[e.source])
        leaves = [k for k, members in groups.items() if members[0][1].leaf]
        inner = [k for k in groups if k not in leaves]
        layers = _layers(leaves, _topological(inner, inputs), inputs)
        ids = {key: f"v{i}" for i, key in enumerate(groups)}
        boxes = {}
        for key, members in groups.items():
            name = printing.latex(Symbol(key))
            value, rows_v, w_v = _tex_matrix(members, lambda n: n.value)
            grad, _, w_g = _tex_matrix(members, lambda n: n.grad)
            d = self._d(self.output, Symbol(key), True)
            # width in cm: \footnotesize, 1 em ≈ 0.32 cm; a matrix row is ~0.42 cm high
            w = max(math_width(name) + w_v, math_width(d) + w_g) * 0.32 + 0.4
            boxes[key] = (f"${name} = {value}$ \\\\ ${d} = {grad}$", w, rows_v * 0.84 + 0.5)
        pic, y = [*_TIKZ_STYLE], 0.0
        for layer in sorted(set(layers.values())):
            # the computed node in the middle, the inputs that join it alternately left and right
            row: list = []
            for i, key in enumerate([k for k in inner if layers[k] == layer] + [k for k in leaves if layers[k] == layer]):
                row.insert(0, key) if i % 2 else row.append(key)
            total = sum(boxes[k][1] for k in row) + 0.6 * (len(row) - 1)
            tall = max(boxes[k][2] for k in row)
            left = -total / 2
            for key in row:
                text, w, _ = boxes[key]
                style = "gleaf" if key in leaves else ("gout" if key == home[self.output] else "gbox")
                pic.append(rf"  \node[{style}] ({ids[key]}) at ({left + w / 2:.2f}, {y - tall / 2:.2f}) {{{text}}};")
                left += w + 0.6
            y -= tall + 0.9
        for target, sources in inputs.items():
            for source in sources:
                pic.append(rf"  \draw[->] ({ids[source]}) -- ({ids[target]});")
        pic.append(r"\end{tikzpicture}")
        return "\n".join(pic)

    def _unit_table(self, lang: str) -> str:
        """The units of a graph drawn by vectors, one row each: definition, value, gradient."""
        from .notes import DEFINITION, GRADIENT, INPUT, NODE, VALUE
        from .render.latex import latex_words

        head = [latex_words(m, lang) for m in (NODE, DEFINITION, VALUE, GRADIENT)]
        head[-1] += f" ${self.gradient_name(tex=True)}$"
        rows = []
        leaves = [self.node(s) for s, _ in self.point]
        for n in [*leaves, *(n for n in self.nodes if n not in leaves)]:
            name = _tex_name(n.symbol)
            definition = latex_words(INPUT, lang) if n.leaf else f"${name} = {_tex(n.definition)}$"
            rows.append(f"${name}$ & {definition} & ${_num_tex(n.value)}$ & ${_num_tex(n.grad)}$ \\\\")
        return ("\\begin{center}\n\\small\\renewcommand{\\arraystretch}{1.3}\n\\begin{tabular}{llrr}\n\\toprule\n" + " & ".join(head)
                + " \\\\\n\\midrule\n" + "\n".join(rows) + "\n\\bottomrule\n\\end{tabular}\n\\end{center}\n")

    def png(self) -> bytes:
        """The graph drawn by Graphviz (``dot -Tpng``); DeriveError when Graphviz is missing."""
        return run_dot(self.to_dot(), "png")


def run_dot(source: str, fmt: str) -> bytes:
    """``dot -T<fmt>`` on ``source``; one-line DeriveError if Graphviz is missing or refuses it."""
    exe = shutil.which("dot")
    if exe is None:
        raise said("Graphviz is not installed (the `dot` program is needed for --graph png)",
                   "没有安装 Graphviz（--graph png 需要 `dot` 程序）")
    proc = subprocess.run([exe, f"-T{fmt}"], input=source.encode(), capture_output=True, timeout=60)
    if proc.returncode != 0:
        why = proc.stderr.decode(errors="replace").strip().splitlines()[-1:]
        raise said(f"dot failed: {why}", f"dot 运行失败：{why}")
    return proc.stdout


# Building ------------------------------------------------------------------------------------------

def graph_defs(defs: dict) -> dict:
    """The definitions that are nodes: scalar symbols defined by an expression that is not a
    derivative (gradient names such as dz = ∂L/∂z are not nodes)."""
    return {
        k: v for k, v in defs.items()
        if isinstance(k, Symbol) and isinstance(v, sp.Expr) and not isinstance(v, sp.MatrixExpr)
        and not v.has(Derivative) and v.free_symbols
    }


def _ancestors(node, defs) -> set:
    seen, stack = set(), [node]
    while stack:
        n = stack.pop()
        if n in seen:
            continue
        seen.add(n)
        if n in defs:
            stack.extend(defs[n].free_symbols)
    return seen


def _exact_or_float(v, exact: bool):
    return v if exact or not v.is_Rational or v.is_Integer else sp.Float(v, 30)


def _evaluate(expr, values: dict):
    """``expr`` at ``values``: exact when it is a rational number there, else a 30-digit float."""
    expr = to_elementary(expr)
    exact = not expr.has(sp.Function)
    v = expr.xreplace({s: _exact_or_float(x, exact) for s, x in values.items()})
    if v.is_Rational:
        return v
    v = v.evalf(30)
    if not v.is_number or not v.is_real:
        raise said(f"the graph cannot be evaluated at this point ({printing.text(expr)} is not a real number)",
                   f"计算图在这个点上无法求值（{printing.text(expr)} 不是实数）")
    return v


def from_defs(defs: dict, point: dict, *, name: str = "graph", output: Symbol | None = None,
              partial: bool = True, data=()) -> Graph:
    """The computation graph of ``defs`` (symbol → definition) at ``point`` (leaf → number);
    the leaves in ``data`` are shown without a gradient.

    The output is the node nobody consumes whose leaves all have a value in ``point`` (the
    largest such, when several)."""
    defs = graph_defs(defs)
    point = {k: sp.nsimplify(v) if isinstance(v, float) else sp.sympify(v) for k, v in point.items()}
    if output is None:
        consumed = {s for v in defs.values() for s in v.free_symbols}
        sinks = [k for k in defs if k not in consumed]
        ok = [s for s in sinks if all(a in defs or a in point for a in _ancestors(s, defs))]
        if not ok:
            raise said("no node of the graph can be evaluated at the given point", "计算图没有一个节点能在给定的点上求值")
        output = max(ok, key=lambda s: (len(_ancestors(s, defs)), list(defs).index(s)))
    keep = _ancestors(output, defs)
    inner = [k for k in defs if k in keep]                                # definition order
    leaves = []
    for k in inner:
        for s in sorted(defs[k].free_symbols, key=lambda s: s.name):
            if s not in defs and s not in leaves:
                leaves.append(s)
    missing = [s.name for s in leaves if s not in point]
    if missing:
        raise said(f"the point gives no value to {', '.join(missing)}", f"这个点没有给出 {', '.join(missing)} 的值")
    leaves.sort(key=list(point).index)                   # as the caller lists them: x1, x2, w1, …
    sub = {k: defs[k] for k in inner}

    values = {s: point[s] for s in leaves}
    for k in inner:
        values[k] = _evaluate(sub[k], values)

    back = {v: k for k, v in sub.items() if not v.is_Atom}
    edges, local_values = [], {}
    for k in inner:
        for s in sorted(sub[k].free_symbols, key=lambda s: ([*leaves, *inner].index(s))):
            local = _local(sub[k], s)
            shown = _with_ratios(local.xreplace(back), sub)
            val = _evaluate(local, values)
            local_values[(s, k)] = val
            edges.append(Edge(s, k, shown, val))

    # Gradients by the chain rule along the edges (right to left, as the notes draw them), then
    # cross-checked against the definitions alone: a central difference of the output, the graph
    # recomputed in floats from the definitions with the node moved (no derivative involved).
    grads = {output: sp.S.One}
    for n in reversed([*leaves, *inner]):
        if n != output:
            grads[n] = sum((grads[t] * local_values[(s, t)] for (s, t) in local_values if s == n), sp.S.Zero)
    floats = {k: to_elementary(v) for k, v in sub.items()}
    for n, g in grads.items():
        if n == output:
            continue
        h = 1e-6 * (1 + abs(float(values[n])))
        slope = (_forward(floats, inner, values, output, n, h)
                 - _forward(floats, inner, values, output, n, -h)) / (2 * h)
        if abs(slope - float(g)) > 1e-4 * (1 + abs(slope)):
            raise VerificationError(f"graph of {name}: ∂{output}/∂{n} = {g} along the edges, "
                                    f"{slope:.6g} by a difference of the definitions")

    layers = _layers(leaves, inner, {k: v.free_symbols for k, v in sub.items()})
    rows = _rows(layers, sub, output)
    nodes = tuple(
        Node(n, sub.get(n), values[n], grads[n], layers[n], rows[n]) for n in [*leaves, *inner]
    )
    shown_point = tuple((s, point[s]) for s in point if s in leaves)   # the caller's order
    return Graph(name, output, nodes, tuple(edges), shown_point, partial, frozenset(data))


def _local(definition, s):
    """∂definition/∂s as an edge shows it: the engine's textbook form, or SymPy's own derivative
    when that is one symbol or number (a weight or an input of a sum of products, the most edges
    of a layer): then there is no form to choose, and the engine's rules cost a millisecond an
    edge."""
    if all(t.is_Atom or (t.is_Mul and all(f.is_Atom for f in t.args)) for t in sp.Add.make_args(definition)):
        quick = sp.diff(definition, s)
        if quick.is_Atom:
            return quick
    from . import engine  # only when a graph is built: a stored graph needs no engine

    return engine.derivative(definition, s)


def _forward(floats: dict, inner: list, values: dict, output, moved, step: float) -> float:
    """``output`` computed in floats from the definitions ``floats`` (``inner`` in an order where
    inputs come first), with node ``moved`` at its value + ``step``."""
    from .matrix.lines import evaluate  # only when a graph is built, as above

    at = {s: float(v) for s, v in values.items()}
    at[moved] += step
    for k in inner:
        if k != moved:
            try:
                at[k] = evaluate(floats[k], at)
            except KeyError:   # a function or constant the float walk does not know (π)
                at[k] = float(floats[k].xreplace({s: sp.Float(v) for s, v in at.items()}).evalf())
    return at[output]


def _with_ratios(expr, defs: dict):
    """Local derivatives written with the nodes that are ratios over one sum (softmax:
    a_k = e^(z_k)/Σ e^(z_i)), so ∂a₁/∂z₂ reads −a₁·a₂ rather than a quotient of exponentials."""
    groups: dict = {}
    for node, value in defs.items():
        num, den = sp.fraction(value)
        if den != 1 and isinstance(den, sp.Add):
            groups.setdefault(den, []).append((num, node))
    for den, pairs in groups.items():
        if not expr.has(den):
            continue
        total = sp.Dummy("S")
        rewritten = sp.cancel(expr.xreplace({den: total}).xreplace({n: k * total for n, k in pairs}))
        if not rewritten.has(total):
            expr = sp.factor(rewritten)
    return expr


def _layers(leaves, inner, inputs) -> dict:
    """Columns: a defined node one right of its last input; a leaf just left of its first user.
    ``inner`` in an order where inputs come first; ``inputs`` maps a defined node to its inputs."""
    layer = {s: 0 for s in leaves}
    for k in inner:
        layer[k] = 1 + max(layer[s] for s in inputs[k])
    for s in leaves:
        users = [layer[k] for k in inner if s in inputs[k]]
        layer[s] = min(users) - 1
    low = min(layer.values())
    return {k: v - low for k, v in layer.items()}


def _topological(inner, inputs) -> list:
    """``inner`` reordered so that each node comes after the nodes it reads."""
    done: list = []
    while len(done) < len(inner):
        done += [k for k in inner if k not in done and all(s in done or s not in inner for s in inputs[k])]
    return done


def _tex_matrix(members, number) -> tuple[str, int, float]:
    """The numbers of a layer vector's units (``number(node)``) as TeX: a column vector for one
    index, a matrix for two (row, column), the number itself for a lone node; with its number of
    rows and its estimated width in em."""
    if len(members) == 1 and not members[0][0]:
        text = _num_tex(number(members[0][1]))
        return text, 1, len(text) * 0.5
    by_row: dict = {}
    for index, n in sorted(members, key=lambda m: m[0]):
        by_row.setdefault(index[:-1] if len(index) > 1 else index, []).append(_num_tex(number(n)))
    cells = [c for row in by_row.values() for c in row]
    cols = max(len(row) for row in by_row.values())
    tex = r"\begin{pmatrix}" + r" \\ ".join(" & ".join(row) for row in by_row.values()) + r"\end{pmatrix}"
    return tex, len(by_row), cols * (max(len(c) for c in cells) * 0.5 + 1.0) + 0.8


def _text_matrix(members, number) -> str:
    """A layer vector's numbers as text: (0.5, −1) for one index, [[…], […]] by rows for two."""
    if len(members) == 1 and not members[0][0]:
        return _num(number(members[0][1]))
    by_row: dict = {}
    for index, n in sorted(members, key=lambda m: m[0]):
        by_row.setdefault(index[:-1] if len(index) > 1 else "", []).append(_num(number(n)))
    rows = [", ".join(row) for row in by_row.values()]
    return f"({rows[0]})" if len(rows) == 1 else "[" + ", ".join(f"[{r}]" for r in rows) + "]"


def _rows(layers, defs, output) -> dict:
    """Vertical positions: right to left, each node at the mean height of its users (a stable
    order within a column), spaced one unit apart and centred."""
    order = list(layers)
    users = {n: [k for k in defs if n in defs[k].free_symbols] for n in order}
    row: dict = {}
    for col in sorted(set(layers.values()), reverse=True):
        members = [n for n in order if layers[n] == col]
        wish = {n: (sum(row[u] for u in users[n] if u in row) / max(1, sum(u in row for u in users[n]))
                    if any(u in row for u in users[n]) else 0.0) for n in members}
        members.sort(key=lambda n: (wish[n], order.index(n)))
        start = -(len(members) - 1) / 2
        for i, n in enumerate(members):
            row[n] = start + i
    return row


# Models --------------------------------------------------------------------------------------------

def has_graph(model) -> bool:
    """Whether ``model`` (a Model, or a name) has a computation graph to draw: it names a point
    to draw it at."""
    from .models import registry

    from .stored import holds_graph

    model = registry.get(model)() if isinstance(model, str) else model
    known = holds_graph(model)   # the store knows without working out a point (mlp's builds a network)
    return known if known is not None else model.point() is not None


def graph_models(names) -> list[str]:
    return [n for n in names if has_graph(n)]


def parse_point(text: str) -> dict:
    """``"a=5, b=3, c=2"`` → {"a": 5, "b": 3, "c": 2} (exact rationals for decimals)."""
    point = {}
    for part in filter(None, (p.strip() for p in str(text).split(","))):
        name, sep, value = part.partition("=")
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name.strip()):
            raise said(f"--at expects name=value pairs separated by commas, not {part!r}",
                       f"--at 需要用逗号分隔的 name=value 对，而不是 {part!r}")
        try:
            point[name.strip()] = sp.Rational(str(Fraction(value.strip())))
        except (ValueError, ZeroDivisionError):
            raise said(f"--at: {value.strip()!r} is not a number", f"--at：{value.strip()!r} 不是数") from None
    return point


def _named_point(point: dict, known) -> dict:
    known = {s.name: s for s in known}
    out = {}
    for k, v in point.items():
        key = k.name if isinstance(k, Symbol) else str(k)
        if key not in known:
            inputs = ", ".join(sorted(known))
            raise said(f"--at: the graph has no input {key!r} (inputs: {inputs})",
                       f"--at：计算图没有输入 {key!r}（输入有：{inputs}）")
        out[known[key]] = sp.Rational(str(Fraction(str(v)))) if isinstance(v, (str, float)) else sp.sympify(v)
    return out


def graph_for(obj, at=None, derivation=None) -> Graph:
    """The computation graph of a model (a ``Model``, a ``Derivation`` or a model name) at a point.

    The graph is drawn from the model's ``graph_defs()`` (by default its derivation's
    definitions, ``derivation`` when the caller has already built it) at the model's
    ``point()``, with the values in ``at`` (a dict or ``"a=5,b=3"``) put in its place.
    """
    from .steps import Derivation
    from .models import registry
    from .models.base import Model

    if isinstance(obj, Model):
        model, d = obj, derivation
    elif isinstance(obj, Derivation):
        model, d = registry.get(obj.model)(), obj
    else:
        model, d = registry.get(str(obj))(), None
    if not has_graph(model):
        with_one = ", ".join(graph_models(registry.names()))
        raise said(f"model {model.name!r} has no computation graph; models with one: {with_one}",
                   f"模型 {model.name!r} 没有计算图；有计算图的模型：{with_one}")
    if at is None:
        from .stored import graph

        shipped = graph(model, d)
        if shipped is not None:
            return shipped
    at = parse_point(at) if isinstance(at, str) else at
    defs, partial = model.graph_defs(), True
    if defs is None:
        d = d or model.derivation()
        defs, partial = d.defs, d.partial
    symbols = {s for v in graph_defs(defs).values() for s in v.free_symbols} | set(defs)
    point = _named_point(model.point(), symbols)
    point.update(_named_point(at or {}, symbols))
    data = [s for s in symbols if s.name in model.graph_data()]
    return from_defs(defs, point, name=model.name, partial=partial, data=data)


# Printing ------------------------------------------------------------------------------------------

_SUBS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def _text_name(s) -> str:
    if isinstance(s, str):
        return s
    m = re.fullmatch(r"([A-Za-z]+)\^\{\[(\d+)\]\}_\{(\d+)\}", s.name)
    if m:
        return f"{m.group(1)}[{m.group(2)}]{m.group(3).translate(_SUBS)}"
    return printing.text(s)


def _text(expr) -> str:
    layered = {s: Symbol(_text_name(s)) for s in expr.free_symbols if "^{[" in s.name}
    return printing.text(expr.xreplace(layered) if layered else expr)


def _tex_name(s) -> str:
    return s if isinstance(s, str) else printing.latex(s)


def _tex(expr) -> str:
    return printing.latex(expr)


def _rounded(v):
    """A number as shown: exact when short (33, 0.5, −0.3), else 4 significant digits."""
    if v.is_Integer:
        return v
    if v.is_Rational:
        q = v.q
        for p in (2, 5):
            while q % p == 0:
                q //= p
        if q == 1 and len(str(float(v))) <= 8:
            return sp.Float(float(v), 15)
    return sp.Float(float(f"{float(v):.4g}"), 15)


def format_number(v, tex: bool = False) -> str:
    """A node's number as shown: 33, 0.5, −0.3, 0.6931 (exact when short, else 4 significant
    digits; a minus sign in text, a hyphen in LaTeX)."""
    return _num_tex(v) if tex else _num(v)


def _num(v) -> str:
    """Number text for labels: 33, 0.5, −0.3, 0.6931 (a minus sign, not a hyphen)."""
    v = _rounded(v)
    if v.is_Integer:
        s = str(int(v))
    else:
        s = f"{float(v):.4g}"
        if "e" in s:
            s = f"{float(v):.3e}"
    return s.replace("-", "−")


def _num_tex(v) -> str:
    return _num(v).replace("−", "-")


def _dot_escape(s: str) -> str:
    return s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _dot_id(name: str) -> str:
    return '"' + name.replace('"', "") + '"'
