"""Markdown view: ``$$`` blocks (KaTeX and Jupyter render them), rules as ``\\text`` columns.

The marked formulas of the words become ``$…$`` so that a notebook typesets them like the
equations; a long right-hand side is broken at its top-level + and − signs, since KaTeX has no way
to shrink a line.
"""

from __future__ import annotations

import sympy as sp

from .. import printing
from ..messages import Msg
from . import Renderer, compose
from .latex import (LatexRenderer, _opens_with_operator, break_rhs, formula_tex, latex_words, math_width,
                    unicode_math)

# Beyond this many em a line scrolls sideways in a notebook cell next to its rule column.
LINE_EM = 30.0


def _escape(text: str) -> str:
    """Words for Markdown: ``*`` and ``|`` would be emphasis and table cells."""
    return text.replace("*", r"\*").replace("|", r"\|")


def markdown_words(msg: Msg, lang: str, values: dict | None = None) -> str:
    """``msg`` as a Markdown sentence: marked formulas (and arguments) as ``$…$`` with
    ``values`` the arguments in LaTeX, the words escaped where Markdown would read markup (a
    leading ``#`` included)."""
    out = compose(msg, lang, values or {}, _escape, lambda source, v: f"${formula_tex(source, v)}$")
    return "\\" + out if out.startswith("#") else out


class MarkdownRenderer(Renderer):
    """The derivation as Markdown. Options: ``level`` (heading level of the title, default 2),
    ``anchor`` (an ``id`` placed before the title, for a linked table of contents), ``figure``
    (Markdown placed after the title)."""

    def math(self, expr, order=None) -> str:
        return unicode_math(printing.latex(expr, partial=self.d.partial, order=order))

    # an argument of a sentence breaks at its top-level signs in KaTeX, as in LaTeX and HTML
    inline = LatexRenderer.inline

    def write(self, msg: Msg, values: dict) -> str:
        return markdown_words(msg, self.lang, values)

    def _tex_words(self, msg: Msg | None) -> str:
        """Words inside a KaTeX ``\\text{…}``: LaTeX's escapes, not Markdown's."""
        return self.words(msg, write=lambda m, values: latex_words(m, self.lang, values))

    @property
    def _level(self) -> str:
        return "#" * (self.opts.get("level") or 2)

    def _block(self, rows) -> str:
        return "$$\n\\begin{aligned}\n" + " \\\\\n".join(rows) + "\n\\end{aligned}\n$$"

    def _rows(self, triples) -> list[str]:
        lhs_w = max((math_width(lhs) for lhs, _, _ in triples), default=0.0)
        rows = []
        for lhs, rhs, note in triples:
            lines = break_rhs(rhs, max(LINE_EM - lhs_w, 12.0), scale=False)
            tail = rf" && \text{{{note}}}" if note else ""
            rows.append(rf"{lhs} &= {lines[0]}{tail}")
            rows += [rf"&\quad {{}}{line}" if _opens_with_operator(line) else rf"&\quad {line}" for line in lines[1:]]
        return rows

    def _render_title(self, msg) -> str:
        title = f"{self._level} {self.words(msg)}"
        if self.opts.get("anchor"):
            title = f'<a id="{self.opts["anchor"]}"></a>\n\n{title}'
        if self.opts.get("figure"):
            title += "\n\n" + self.opts["figure"]
        return title

    def _render_heading(self, msg) -> str:
        return f"{self._level}# {self.words(msg)}"

    def _render_note(self, msg) -> str:
        return self.words(msg)

    def _render_equation(self, steps) -> str:
        return self._block(self._rows([
            ("" if s.continued else self.math(s.lhs), self.math(s.rhs, s.order), self.rule_text(s, self._tex_words))
            for s in steps
        ]))

    def _cell(self, c) -> str:
        if isinstance(c, (Msg, str)):
            return self.cell(c)
        return "$" + self.math(c).replace("|", r"\vert ") + "$"

    def _render_table(self, table) -> str:
        head = "| " + " | ".join(self.words(c) for c in table.columns) + " |"
        sep = "|" + ":---:|" * len(table.columns)
        rows = ["| " + " | ".join(self._cell(c) for c in row) + " |" for row in table.rows]
        return "\n".join([head, sep, *rows])

    def _render_results(self, results) -> str:
        return self._block(self._rows([
            (self.math(r.lhs if r.lhs is not None else sp.Symbol(r.name)), self.math(r.display, r.order),
             self._tex_words(r.note))
            for r in results
        ]))

    def render(self) -> str:
        return "\n\n".join(self.sections()) + "\n"
