"""Web-page view: one self-contained HTML file that opens offline in any browser.

The mathematics is the LaTeX the Markdown view writes, typeset in the page by KaTeX, which ships
with the package (``katex/``: its minified script and style sheet, its woff2 fonts and its MIT
licence) and is inlined into every page: the script, the style sheet, and the fonts as ``data:``
URLs. KaTeX rather than MathML written in Python, because every formula of derive exists as LaTeX
already (and KaTeX is what the tests check the Markdown with), while MathML would need a second
printer of each formula and renders unevenly across browsers. Nothing is fetched from a network
and nothing runs at build time but Python (and Graphviz's ``dot``, for the computation graphs as
inline SVG, when it is installed; else the graph is a table of its nodes).

Each heading opens a foldable ``<details>`` section. Each equation is a row: the formula, in a box
of its own that scrolls sideways when it is wider than the screen, and the rule that justifies it
(beside it on a wide screen, under it on a phone). The same input gives the same bytes.
"""

from __future__ import annotations

import base64
import html
import re
import shutil
from functools import lru_cache
from pathlib import Path

import sympy as sp

from .. import printing
from ..messages import Msg
from . import Renderer, compose
from .latex import LatexRenderer, _opens_with_operator, break_rhs, formula_tex
from .markdown import LINE_EM, MarkdownRenderer

KATEX = Path(__file__).parent / "katex"

# Typesets every formula of the page; ``throwOnError: false`` leaves a visible ``.katex-error``
# (which the tests look for) rather than stopping at the first bad formula.
_TYPESET = """document.querySelectorAll(".tex").forEach(function (e) {
  katex.render(e.textContent, e, {displayMode: false, throwOnError: false, strict: false});
});"""

_CSS = """*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;padding:0 1rem 3rem;font:16px/1.55 "Source Serif Pro",Georgia,"Times New Roman",serif;color:#1d2330;background:#fff}
:lang(zh) body,body:lang(zh){font-family:"Noto Sans CJK SC","Source Han Sans SC","PingFang SC","Hiragino Sans GB","Microsoft YaHei","WenQuanYi Micro Hei","AR PL SungtiL GB",sans-serif}
main{max-width:60rem;margin:0 auto}
h1,h2,h3{line-height:1.25;overflow-wrap:anywhere}
h1{font-size:1.7rem;margin:1.5rem 0 .5rem}
h2{font-size:1.35rem;margin:2rem 0 .5rem;padding-top:.5rem;border-top:1px solid #d8dce6}
h3{font-size:1.1rem;margin:0;display:inline}
p{overflow-wrap:anywhere}
details{margin:.8rem 0}
summary{cursor:pointer;padding:.2rem 0}
.eqs{margin:.5rem 0 .8rem}
.row{display:grid;grid-template-columns:minmax(0,1fr);gap:0 1.5rem;padding:.35rem 0;border-bottom:1px solid #eef0f5}
.row:last-child{border-bottom:0}
.f{overflow-x:auto;overflow-y:hidden;padding:.15rem 0;min-width:0}
.why{color:#5b6475;font-size:.88rem;padding-left:1rem;overflow-wrap:anywhere;min-width:0}
.results .row{background:#f4f6fb;padding:.4rem .6rem}
.scroll{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;margin:.6rem 0}
th,td{padding:.3rem .7rem;border-bottom:1px solid #d8dce6;text-align:center;white-space:nowrap}
th{border-bottom:2px solid #9aa3b5}
figure{margin:1rem 0}
figcaption,.subtitle{color:#5b6475}
figcaption{font-size:.9rem}
figure svg{display:block;height:auto}
nav ol{padding-left:1.5rem}
a{color:#1f4fbf}
@media (min-width:720px){
.row{grid-template-columns:minmax(0,1fr) minmax(10rem,16rem)}
.why{padding-left:0;align-self:center}
}
"""


@lru_cache(maxsize=1)
def katex_assets() -> tuple[str, str]:
    """KaTeX's style sheet with its woff2 fonts as ``data:`` URLs (the woff and ttf fallbacks
    dropped: every browser that runs KaTeX reads woff2), and its script."""
    css = (KATEX / "katex.min.css").read_text(encoding="utf-8")

    def inline(m):
        font = base64.b64encode((KATEX / "fonts" / f"{m.group(1)}.woff2").read_bytes()).decode()
        return f'src:url(data:font/woff2;base64,{font}) format("woff2")'

    css = re.sub(r'src:url\(fonts/(KaTeX_[\w-]+)\.woff2\) format\("woff2"\)[^;}]*', inline, css)
    return css, (KATEX / "katex.min.js").read_text(encoding="utf-8")


def _escape(text: str) -> str:
    return html.escape(text, quote=False)


def tex(source: str) -> str:
    """A formula (LaTeX) for the page: KaTeX typesets it where it stands."""
    return f'<span class="tex">{_escape(source)}</span>'


def html_words(msg: Msg, lang: str, values: dict | None = None) -> str:
    """``msg`` as HTML: its words escaped, each marked formula (and each argument, ``values``
    in LaTeX) as a formula for KaTeX."""
    return compose(msg, lang, values or {}, _escape, lambda source, v: tex(formula_tex(source, v)))


def page(body: str, lang: str, title: str) -> str:
    """A complete HTML document around ``body``: KaTeX and the style sheet inlined."""
    css, js = katex_assets()
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{"zh-Hans" if lang == "zh" else "en"}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_escape(title)}</title>\n<style>{css}</style>\n<style>\n{_CSS}</style>\n</head>\n"
        f"<body>\n<main>\n{body}\n</main>\n<script>{js}</script>\n<script>\n{_TYPESET}\n</script>\n"
        "</body>\n</html>\n"
    )


class HtmlRenderer(Renderer):
    """The derivation as a web page. Options: ``standalone`` (ignored: a page is always whole),
    ``level`` (heading level of the title: 1 alone, 2 in the notes), ``anchor`` (the ``id`` of
    its section), ``figure`` (HTML placed after the title), ``fragment`` (the section only,
    without the document around it)."""

    math = MarkdownRenderer.math
    inline = LatexRenderer.inline

    def write(self, msg: Msg, values: dict) -> str:
        return html_words(msg, self.lang, values)

    @property
    def _level(self) -> int:
        return self.opts.get("level") or 1

    def _rows(self, triples, css: str = "eqs") -> str:
        """``(lhs, rhs, annotation)`` as rows, each formula one ``aligned`` display (a long
        right-hand side broken at its top-level signs)."""
        rows = []
        for lhs, rhs, note in triples:
            lines = break_rhs(rhs, LINE_EM, scale=False)
            rest = "".join(rf" \\ &\quad {{}}{line}" if _opens_with_operator(line) else rf" \\ &\quad {line}"
                           for line in lines[1:])
            formula = rf"\displaystyle {lhs} = {lines[0]}" if not rest else \
                rf"\begin{{aligned}}{lhs} &= {lines[0]}{rest}\end{{aligned}}"
            why = f'<div class="why">{note}</div>' if note else ""
            rows.append(f'<div class="row"><div class="f">{tex(formula)}</div>{why}</div>')
        return f'<div class="{css}">\n' + "\n".join(rows) + "\n</div>"

    def _render_title(self, msg):
        anchor = f' id="{self.opts["anchor"]}"' if self.opts.get("anchor") else ""
        title = f"<h{self._level}{anchor}>{self.words(msg)}</h{self._level}>"
        return ("title", title + ("\n" + self.opts["figure"] if self.opts.get("figure") else ""))

    def _render_heading(self, msg):
        return ("heading", f"<h3>{self.words(msg)}</h3>")

    def _render_note(self, msg):
        return ("block", f"<p>{self.words(msg)}</p>")

    def _render_equation(self, steps):
        return ("block", self._rows([
            ("" if s.continued else self.math(s.lhs), self.math(s.rhs, s.order), self.rule_text(s)) for s in steps
        ]))

    def _render_table(self, table):
        head = "".join(f"<th>{self.words(c)}</th>" for c in table.columns)
        body = "".join("<tr>" + "".join(f"<td>{self._cell(c)}</td>" for c in row) + "</tr>\n" for row in table.rows)
        return ("block", f'<div class="scroll"><table>\n<tr>{head}</tr>\n{body}</table></div>')

    def _cell(self, c) -> str:
        return self.cell(c) if isinstance(c, (Msg, str)) else tex(self.math(c))

    def _render_results(self, results):
        return ("block", self._rows([
            (self.math(r.lhs if r.lhs is not None else sp.Symbol(r.name)), self.math(r.display, r.order),
             self.words(r.note))
            for r in results
        ], "eqs results"))

    def section(self) -> str:
        """The derivation as one ``<section>``: each heading opens a foldable part, open."""
        out, open_ = [], False
        for kind, part in self.sections():
            if kind == "heading":
                out.append("</details>" if open_ else "")
                out.append(f"<details open>\n<summary>{part}</summary>")
                open_ = True
            else:
                out.append(part)
        if open_:
            out.append("</details>")
        return "<section>\n" + "\n".join(p for p in out if p) + "\n</section>"

    def render(self) -> str:
        if self.opts.get("fragment"):
            return self.section() + "\n"
        title = self.d.title.render(self.lang, {k: printing.text(v) for k, v in self.d.title.values().items()})
        return page(self.section(), self.lang, title)


# Computation graphs and the notes ------------------------------------------------------------------

def graph_svg(g, lang: str, prefix: str) -> str | None:
    """The graph drawn by Graphviz as inline SVG (its ids under ``prefix``, so that several graphs
    share a page), or None when Graphviz is not installed."""
    from ..graph import run_dot

    if shutil.which("dot") is None:
        return None
    svg = run_dot(g.picture_dot(lang), "svg").decode("utf-8")
    svg = svg[svg.index("<svg"):]
    # dot's comments name its version; the ids must be unique in the page
    svg = re.sub(r"<!--.*?-->\n?", "", svg, flags=re.S)
    svg = re.sub(r'\bid="', f'id="{prefix}-', svg)
    # a point of dot is a pixel here: the labels stay legible, the picture a quarter narrower
    svg = re.sub(r'^<svg width="([\d.]+)pt" height="([\d.]+)pt"', r'<svg width="\1px" height="\2px"', svg)
    return svg.strip()


def graph_html(g, lang: str, prefix: str, tabulated: bool = False) -> str | None:
    """A computation graph for the page: the Graphviz picture as SVG (a graph drawn by layer
    vectors followed by the table of its units); without Graphviz its nodes as a table (node,
    definition, forward value, gradient), unless the derivation has that table already
    (``tabulated``)."""
    from ..notes import GRAPH_TABLE, GRAPH_TABLE_LEAVES

    svg = graph_svg(g, lang, prefix)
    if svg is not None:
        title, legend = g.heading(lang, vectors=g.vector_view())
        caption = _escape(title + (":" if lang == "zh" else ": ") + legend)
        figure = f'<figure class="graph"><figcaption>{caption}</figcaption><div class="scroll">{svg}</div></figure>'
        return figure + (f'<figure class="graph">{_node_table(g, lang)}</figure>' if g.vector_view() else "")
    if tabulated:
        return None
    caption = html_words(GRAPH_TABLE_LEAVES if len(g.point) > 6 else GRAPH_TABLE, lang, {"point": g.point_text(True)})
    return f'<figure class="graph"><figcaption>{caption}</figcaption>{_node_table(g, lang)}</figure>'


def _node_table(g, lang: str) -> str:
    """The graph's nodes as a table that scrolls sideways: node, definition, forward value,
    gradient."""
    from ..graph import format_number
    from ..notes import DEFINITION, GRADIENT, INPUT, NODE, VALUE

    head = [NODE.render(lang), DEFINITION.render(lang), VALUE.render(lang), GRADIENT.render(lang)]
    rows = ["<tr>" + "".join(f"<th>{_escape(h)}</th>" for h in head[:-1])
            + f"<th>{_escape(head[-1])} {tex(g.gradient_name(tex=True))}</th></tr>"]
    leaves = [g.node(s) for s, _ in g.point]
    for n in [*leaves, *(n for n in g.nodes if n not in leaves)]:
        name = printing.latex(n.symbol)
        definition = _escape(INPUT.render(lang)) if n.leaf else tex(f"{name} = {printing.latex(n.definition)}")
        cells = [tex(name), definition, tex(format_number(n.value, tex=True)), tex(format_number(n.grad, tex=True))]
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return '<div class="scroll"><table>\n' + "\n".join(rows) + "\n</table></div>"


def notes_document(items, lang: str, show_steps: bool) -> str:
    """The notes as one page: title, introduction, a linked table of contents, then each
    derivation in its section with its computation graph."""
    from ..notes import CONTENTS, INTRO, RESULTS_ONLY, SUBTITLE, TITLE, _tabulated

    intro = html_words(INTRO, lang) + ("" if show_steps else " " + html_words(RESULTS_ONLY, lang))
    sections = []
    for model, d, g in items:
        anchor = f"derive-{model.name}"
        figure = graph_html(g, lang, anchor, show_steps and _tabulated(d, g)) if g is not None else None
        sections.append(HtmlRenderer(d, show_steps=show_steps, lang=lang, level=2, anchor=anchor, figure=figure))
    contents = "\n".join(f'<li><a href="#{r.opts["anchor"]}">{r.words(r.d.title)}</a></li>' for r in sections)
    body = "\n".join([
        f"<h1>{html_words(TITLE, lang)}</h1>",
        f'<p class="subtitle">{html_words(SUBTITLE, lang)}</p>',
        f"<p>{intro}</p>",
        f"<nav>\n<h2>{_escape(CONTENTS.render(lang))}</h2>\n<ol>\n{contents}\n</ol>\n</nav>",
        *(r.section() for r in sections),
    ])
    return page(body, lang, TITLE.render(lang))
