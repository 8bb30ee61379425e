"""Jupyter's ``text/latex`` view (``Derivation._repr_latex_``): display blocks
``$$\\begin{aligned}…$$`` that MathJax (Jupyter) and KaTeX render, and that compile when nbconvert
pastes them into a LaTeX document. Headings are bold display lines; notes and tables are left to
the Markdown view, so the equations on either side of a note share one block."""

from __future__ import annotations

import sympy as sp

from .latex import LatexRenderer

# A display cannot break across pages: at most this many lines in one block.
ROWS = 14


class JupyterRenderer(LatexRenderer):
    """Headings and equations only, as display blocks."""

    kinds = ("heading", "equation")
    specials = "&%#_{}"          # the words sit in \text and \textbf, where ~ ^ \ are not special

    @staticmethod
    def _row(lhs: str, rhs: str, note: str) -> str:
        return rf"{lhs} &= {rhs}" + (rf" && \text{{\small {note}}}" if note else "")

    @staticmethod
    def _blocks(rows) -> str:
        return "\n\n".join("$$\n\\begin{aligned}\n" + " \\\\\n".join(rows[i:i + ROWS]) + "\n\\end{aligned}\n$$"
                           for i in range(0, len(rows), ROWS))

    def _render_heading(self, msg) -> str:
        return rf"$$\textbf{{{self.words(msg)}}}$$"

    _render_title = _render_heading

    def _render_equation(self, steps) -> str:
        return self._blocks([self._row("" if s.continued else self.math(s.lhs), self.math(s.rhs, s.order), self.rule_text(s))
                             for s in steps])

    def _render_results(self, results) -> str:
        return self._blocks([
            self._row(self.math(r.lhs if r.lhs is not None else sp.Symbol(r.name)), self.math(r.display, r.order),
                      self.words(r.note))
            for r in results
        ])

    def render(self) -> str:
        return "\n\n".join(self.sections()) + "\n"
