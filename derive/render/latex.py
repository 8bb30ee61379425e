"""LaTeX view: one ``align*`` block per run of equations, each line tagged with its rule."""

from __future__ import annotations

from .. import printing
from ..messages import Msg
from . import Renderer

_RESULTS = Msg("Results", "结果")

PREAMBLE_EN = r"""\documentclass[11pt]{article}
\usepackage[margin=2cm]{geometry}
\usepackage{amsmath,amssymb}
\allowdisplaybreaks
"""
PREAMBLE_ZH = r"""\documentclass[11pt]{ctexart}
\usepackage[margin=2cm]{geometry}
\usepackage{amsmath,amssymb}
\allowdisplaybreaks
"""


def escape_text(s: str) -> str:
    """Escape LaTeX specials in running text, leaving $…$ mathematics alone."""
    out, math = [], False
    for ch in s:
        if ch == "$":
            math = not math
            out.append(ch)
        elif not math and ch in "&%#_{}":
            out.append("\\" + ch)
        elif not math and ch == "~":
            out.append(r"\textasciitilde{}")
        elif not math and ch == "^":
            out.append(r"\textasciicircum{}")
        else:
            out.append(ch)
    return "".join(out)


class LatexRenderer(Renderer):
    def math(self, expr) -> str:
        return printing.latex(expr, partial=self.d.partial)

    def inline(self, expr) -> str:
        return f"${self.math(expr)}$"

    def _tag(self, text: str) -> str:
        return rf"\tag*{{\footnotesize {escape_text(text)}}}" if text else r"\notag"

    def _equations(self, steps) -> str:
        rows = []
        for s in steps:
            lhs = "" if s.continued else self.math(s.lhs)
            rows.append(rf"  {lhs} &= {self.math(s.rhs)} {self._tag(self.rule_text(s))}")
        return "\\begin{align*}\n" + " \\\\\n".join(rows) + "\n\\end{align*}"

    def _table(self, step) -> str:
        cols = step.table.columns
        head = " & ".join(escape_text(self.words(c)) for c in cols)
        body = " \\\\\n".join(
            " & ".join(escape_text(c) if isinstance(c, str) else f"${self.math(c)}$" for c in row)
            for row in step.table.rows
        )
        return (
            "\\begin{center}\n\\begin{tabular}{" + "c" * len(cols) + "}\n\\hline\n"
            + head + " \\\\\n\\hline\n" + body + " \\\\\n\\hline\n\\end{tabular}\n\\end{center}"
        )

    def _results(self) -> str:
        rows = []
        for r in self.d.results:
            parts = [self.math(r.lhs)] if r.lhs is not None else []
            lhs = printing.latex(__import__("sympy").Symbol(r.name)) if not parts else parts[0]
            rows.append(rf"  {lhs} &= {self.math(r.display)} {self._tag(self.words(r.note))}")
        return "\\begin{align*}\n" + " \\\\\n".join(rows) + "\n\\end{align*}"

    def body(self, level: str = "section") -> str:
        out = [rf"\{level}*{{{escape_text(self.words(self.d.title))}}}"]
        sub = "subsection" if level == "section" else "subsubsection"
        if self.show_steps:
            run = []
            for s in self.d.steps:
                if s.kind == "equation":
                    run.append(s)
                    continue
                if run:
                    out.append(self._equations(run))
                    run = []
                if s.kind == "heading":
                    out.append(rf"\{sub}*{{{escape_text(self.words(s.note))}}}")
                elif s.kind == "note":
                    out.append(escape_text(self.words(s.note)))
                elif s.kind == "table":
                    out.append(self._table(s))
            if run:
                out.append(self._equations(run))
            out.append(rf"\{sub}*{{{escape_text(self.words(_RESULTS))}}}")
        out.append(self._results())
        return "\n\n".join(out) + "\n"

    def render(self) -> str:
        if not self.opts.get("standalone"):
            return self.body()
        preamble = PREAMBLE_ZH if self.lang == "zh" else PREAMBLE_EN
        return preamble + "\\begin{document}\n\n" + self.body() + "\n\\end{document}\n"
