"""Notes for students: every derivation in one document, in the order the course notes teach them.

``build(fmt, lang, models, show_steps)`` returns the document (LaTeX that compiles with pdflatex,
or with xelatex + ctex for Chinese; or Markdown whose mathematics KaTeX and Jupyter render) with a
title, a table of contents, each derivation with its steps and rule annotations, and, for the
models that have one, the computation graph at a point (a TikZ picture in LaTeX, a table of forward
values and gradients in Markdown).

>>> doc = build("markdown", models=["logistic"])      # doctest: +SKIP
>>> doc.text.startswith("# ")                          # doctest: +SKIP
True
"""

from __future__ import annotations

from dataclasses import dataclass

from . import printing
from .errors import said
from .graph import format_number, graph_for, has_graph
from .messages import Msg
from .render.latex import LatexRenderer, latex_words, preamble
from .render.markdown import MarkdownRenderer, markdown_words

TITLE = Msg("Gradient derivations, step by step", "梯度推导笔记:一步一步推导")
SUBTITLE = Msg(
    "Derivatives and the chain rule, logistic regression, the sum of sigmoids, least squares and "
    "maximum likelihood, softmax and the multilayer perceptron",
    "导数与链式法则、逻辑回归、sigmoid 函数之和、最小二乘法与最大似然估计、softmax 与多层感知机",
)
INTRO = Msg(
    "Every line below was checked by the program before it was printed: its two sides are equal, "
    "symbolically or at random points. The rule that justifies a line is named on its right. The "
    "computation graphs show each node's value after the forward pass and its gradient after the "
    "backward pass.",
    "下面的每一行在输出之前都经过程序验证:等号两边相等(符号化简,或在随机点上数值核对)。每一行右侧注明"
    "所用的求导法则。计算图中标出前向传播得到的各节点的值,以及反向传播得到的梯度。",
)
CONTENTS = Msg("Contents", "目录")
RESULTS_ONLY = Msg("Results only (run with --show-steps for every step).",
                   "只列出结果(加 --show-steps 可显示每一步)。")
GRAPH_TABLE = Msg("Computation graph at {point}", "计算图({point} 处)")
GRAPH_TABLE_LEAVES = Msg("Computation graph (the point: the values of its inputs and parameters)",
                         "计算图(所取的点即各输入与参数的值)")
NODE, DEFINITION, VALUE, GRADIENT, INPUT = (
    Msg("node", "节点"), Msg("definition", "定义"), Msg("forward value", "前向值"),
    Msg("gradient", "梯度"), Msg("input", "输入"),
)


@dataclass(frozen=True)
class Notes:
    """A built document: its ``text`` and the models it contains."""

    text: str
    models: tuple


def select(models=None) -> list[str]:
    """The requested model names (all when None), each once, in the notes' teaching order."""
    from .models import registry

    names = registry.names()
    if models is None:
        return names
    wanted = [m.strip() for m in (models.split(",") if isinstance(models, str) else models) if m.strip()]
    if not wanted:
        raise said("--models is empty; models: " + ", ".join(names), "--models 为空；模型有：" + ", ".join(names))
    for m in wanted:
        registry.get(m)  # one-line error naming the models
    return [n for n in names if n in wanted]


def collect(names) -> list:
    """(model, derivation) for each name."""
    from .models import registry

    models = [registry.get(name)() for name in names]
    return [(model, model.derivation()) for model in models]


@dataclass(frozen=True)
class Material:
    """What a document is written from: (model, derivation, graph or None) per model. Build it
    once to write several formats or languages."""

    items: tuple


def prepare(models=None, graphs: bool = True) -> Material:
    """Build the derivations (and the computation graphs) of ``models``, all by default."""
    built = collect(select(models))
    # the graph is drawn from the derivation just built (a model's graph_for would build it again)
    return Material(tuple((m, d, graph_for(m, derivation=d) if graphs and has_graph(m) else None)
                          for m, d in built))


def build(fmt: str = "latex", lang: str = "en", models=None, show_steps: bool = True,
          graphs: bool = True, material: Material | None = None) -> Notes:
    """The notes as one document. ``fmt`` is "latex" or "markdown"; ``lang`` "en" or "zh";
    ``models`` a list (or comma-separated string) of model names, all by default; ``material``
    a ``prepare()`` result to reuse (then ``models`` and ``graphs`` are ignored)."""
    if fmt not in ("latex", "markdown", "html"):
        raise said(f"notes are written as latex, markdown or html, not {fmt!r}",
                   f"讲义只能写成 latex、markdown 或 html，而不是 {fmt!r}")
    if lang not in ("en", "zh"):
        raise said(f"--lang must be en or zh, not {lang!r}", f"--lang 必须是 en 或 zh，而不是 {lang!r}")
    material = material or prepare(models, graphs)
    if fmt == "html":
        from .render.html import notes_document as writer
    else:
        writer = latex_document if fmt == "latex" else markdown_document
    text = writer(material.items, lang, show_steps)
    return Notes(text, tuple(m.name for m, _, _ in material.items))


def latex_document(items, lang: str, show_steps: bool) -> str:
    """A complete LaTeX document (``article`` for English, ``ctexart`` for Chinese)."""
    tikz = any(g is not None for _, _, g in items)
    out = [
        preamble(lang, tikz=tikz, hyperref=True).rstrip("\n"),
        r"\setcounter{tocdepth}{1}",
        r"\begin{document}",
        "",
        r"\begin{center}",
        rf"{{\LARGE\bfseries {latex_words(TITLE, lang)}\par}}",
        r"\medskip",
        rf"{{\small {latex_words(SUBTITLE, lang)}\par}}",
        r"\end{center}",
        "",
        latex_words(INTRO, lang) + ("" if show_steps else " " + latex_words(RESULTS_ONLY, lang)),
        "",
        r"\tableofcontents",
        r"\clearpage",
        "",
    ]
    for model, d, g in items:
        figure = g.to_tikz(lang) if g is not None else None
        r = LatexRenderer(d, show_steps=show_steps, lang=lang, numbered=True,
                          label=f"sec:{model.name}", figure=figure, bookmarks=True)
        out.append(r.body())
    out.append(r"\end{document}")
    return "\n".join(out) + "\n"


def markdown_document(items, lang: str, show_steps: bool) -> str:
    """One Markdown document: a linked table of contents, then each derivation under its anchor."""
    out = [f"# {markdown_words(TITLE, lang)}", markdown_words(SUBTITLE, lang)]
    intro = markdown_words(INTRO, lang)
    if not show_steps:
        intro += " " + markdown_words(RESULTS_ONLY, lang)
    out.append(intro)
    out.append(f"## {CONTENTS.render(lang)}")
    sections = []
    for model, d, g in items:
        shown = g is not None and not (show_steps and _tabulated(d, g))
        figure = graph_table(g, lang) if shown else None
        sections.append(MarkdownRenderer(d, show_steps=show_steps, lang=lang, level=2,
                                         anchor=f"derive-{model.name}", figure=figure))
    out.append("\n".join(f"{i}. [{r.words(r.d.title)}](#{r.opts['anchor']})" for i, r in enumerate(sections, 1)))
    out += [r.render().rstrip("\n") for r in sections]
    return "\n\n".join(out) + "\n"


def graph_table(g, lang: str) -> str:
    """A computation graph as a Markdown table: node, definition, forward value, gradient."""
    caption = markdown_words(GRAPH_TABLE_LEAVES if len(g.point) > 6 else GRAPH_TABLE, lang,
                             {"point": g.point_text(True)})
    grad = f"${g.gradient_name(tex=True)}$"
    head = [NODE.render(lang), DEFINITION.render(lang), VALUE.render(lang), f"{GRADIENT.render(lang)} {grad}"]
    rows = [
        "| " + " | ".join(head) + " |",
        "|" + ":---:|" * len(head),
    ]
    leaves = [g.node(s) for s, _ in g.point]
    for n in [*leaves, *(n for n in g.nodes if n not in leaves)]:
        name = printing.latex(n.symbol)
        definition = INPUT.render(lang) if n.leaf else f"${name} = {printing.latex(n.definition)}$"
        rows.append(f"| ${name}$ | {definition.replace('|', chr(92) + 'vert ')} | "
                    f"${format_number(n.value, tex=True)}$ | ${format_number(n.grad, tex=True)}$ |")
    return f"**{caption}**\n\n" + "\n".join(rows)


def _tabulated(d, g) -> bool:
    """Whether the derivation already has a table of the graph's nodes (the chain rule's
    forward/backward table), which a second table would only repeat."""
    nodes = {n.symbol for n in g.nodes}
    return any(s.kind == "table" and nodes <= {row[0] for row in s.table.rows} for s in d.steps)
