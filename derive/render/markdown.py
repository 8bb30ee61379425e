"""Markdown view: ``$$`` blocks (KaTeX and Jupyter render them), rules as ``\\text`` columns.

Formulas that the models write in Unicode inside sentences (``a = σ(z)``) become ``$…$`` so that a
notebook typesets them like the equations; a long right-hand side is broken at its top-level +
and − signs, since KaTeX has no way to shrink a line.
"""

from __future__ import annotations

import sympy as sp

from .. import printing
from ..messages import Msg
from . import Renderer
from .latex import _opens_with_operator, break_rhs, math_width, text_to_latex, unicode_math

_RESULTS = Msg("Results", "结果")

# Beyond this many em a line scrolls sideways in a notebook cell next to its rule column.
LINE_EM = 30.0


def katex_text(s: str, lang: str = "en") -> str:
    """Words for ``\\text{…}`` inside a KaTeX formula: specials escaped, formulas as ``$…$``."""
    return text_to_latex(s, lang)


def markdown_text(s: str, lang: str = "en") -> str:
    """A sentence for Markdown: formulas as ``$…$``; characters Markdown would take as markup
    (``*``, ``|``, a leading ``#``) escaped outside the formulas."""
    out = text_to_latex(s, lang, specials="")
    pieces = out.split("$")
    for i in range(0, len(pieces), 2):
        pieces[i] = pieces[i].replace("*", r"\*").replace("|", r"\|")
    out = "$".join(pieces)
    return "\\" + out if out.startswith("#") else out


class MarkdownRenderer(Renderer):
    """The derivation as Markdown. Options: ``level`` (heading level of the title, default 2),
    ``anchor`` (an ``id`` placed before the title, for a linked table of contents)."""

    def math(self, expr) -> str:
        return unicode_math(printing.latex(expr, partial=self.d.partial))

    def inline(self, expr) -> str:
        return f"${self.math(expr)}$"

    def text(self, s: str) -> str:
        return markdown_text(s, self.lang)

    def _block(self, rows) -> str:
        return "$$\n\\begin{aligned}\n" + " \\\\\n".join(rows) + "\n\\end{aligned}\n$$"

    def _rows(self, triples) -> list[str]:
        lhs_w = max((math_width(lhs) for lhs, _, _ in triples), default=0.0)
        rows = []
        for lhs, rhs, note in triples:
            lines = break_rhs(rhs, max(LINE_EM - lhs_w, 12.0), scale=False)
            tail = rf" && \text{{{katex_text(note, self.lang)}}}" if note else ""
            rows.append(rf"{lhs} &= {lines[0]}{tail}")
            rows += [rf"&\quad {{}}{line}" if _opens_with_operator(line) else rf"&\quad {line}" for line in lines[1:]]
        return rows

    def _equations(self, steps) -> str:
        return self._block(self._rows([
            ("" if s.continued else self.math(s.lhs), self.math(s.rhs), self.rule_text(s)) for s in steps
        ]))

    def _cell(self, c) -> str:
        if isinstance(c, Msg):
            return self.text(self.words(c))
        if isinstance(c, str):
            return self.text(c)
        return "$" + self.math(c).replace("|", r"\vert ") + "$"

    def _table(self, step) -> str:
        head = "| " + " | ".join(self.text(self.words(c)) for c in step.table.columns) + " |"
        sep = "|" + ":---:|" * len(step.table.columns)
        rows = ["| " + " | ".join(self._cell(c) for c in row) + " |" for row in step.table.rows]
        return "\n".join([head, sep, *rows])

    def _results(self) -> str:
        triples = []
        for r in self.d.results:
            lhs = self.math(r.lhs if r.lhs is not None else sp.Symbol(r.name))
            triples.append((lhs, self.math(r.display), self.words(r.note)))
        return self._block(self._rows(triples))

    def body(self, level: int | None = None) -> str:
        level = level or self.opts.get("level") or 2
        h = "#" * level
        title = f"{h} {self.text(self.words(self.d.title))}"
        if self.opts.get("anchor"):
            title = f'<a id="{self.opts["anchor"]}"></a>\n\n{title}'
        out = [title]
        if self.opts.get("figure"):
            out.append(self.opts["figure"])
        if self.show_steps:
            for kind, item in self.blocks():
                if kind == "equations":
                    out.append(self._equations(item))
                elif kind == "heading":
                    out.append(f"{h}# {self.text(self.words(item.note))}")
                elif kind == "note":
                    out.append(self.text(self.words(item.note)))
                elif kind == "table":
                    out.append(self._table(item))
            if self.d.results:
                out.append(f"{h}# {self.words(_RESULTS)}")
        if self.d.results:
            out.append(self._results())
        return "\n\n".join(out) + "\n"

    def render(self) -> str:
        return self.body()
