"""Markdown view: ``$$`` blocks (KaTeX and Jupyter render them), rules as ``\\text`` columns."""

from __future__ import annotations

from .. import printing
from ..messages import Msg
from . import Renderer

_RESULTS = Msg("Results", "结果")


def _katex_text(s: str) -> str:
    """Text inside \\text{…}: escape braces and backslashes that are not mathematics."""
    out, math = [], False
    for ch in s:
        if ch == "$":
            math = not math
            out.append(ch)
        elif not math and ch in "{}_&%#":
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out)


class MarkdownRenderer(Renderer):
    def math(self, expr) -> str:
        return printing.latex(expr, partial=self.d.partial)

    def inline(self, expr) -> str:
        return f"${self.math(expr)}$"

    def _block(self, rows) -> str:
        return "$$\n\\begin{aligned}\n" + " \\\\\n".join(rows) + "\n\\end{aligned}\n$$"

    def _equations(self, steps) -> str:
        rows = []
        for s in steps:
            lhs = "" if s.continued else self.math(s.lhs)
            rule = _katex_text(self.rule_text(s))
            rows.append(rf"{lhs} &= {self.math(s.rhs)} && \text{{{rule}}}")
        return self._block(rows)

    def _table(self, step) -> str:
        head = "| " + " | ".join(self.words(c) for c in step.table.columns) + " |"
        sep = "|" + "---|" * len(step.table.columns)
        rows = [
            "| " + " | ".join(c if isinstance(c, str) else f"${self.math(c)}$" for c in row) + " |"
            for row in step.table.rows
        ]
        return "\n".join([head, sep, *rows])

    def _results(self) -> str:
        rows = []
        for r in self.d.results:
            lhs = self.math(r.lhs) if r.lhs is not None else r.name
            note = self.words(r.note)
            tail = rf" && \text{{{_katex_text(note)}}}" if note else ""
            rows.append(rf"{lhs} &= {self.math(r.display)}{tail}")
        return self._block(rows)

    def body(self, level: int = 2) -> str:
        h = "#" * level
        out = [f"{h} {self.words(self.d.title)}"]
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
                    out.append(f"{h}# {self.words(s.note)}")
                elif s.kind == "note":
                    out.append(self.words(s.note))
                elif s.kind == "table":
                    out.append(self._table(s))
            if run:
                out.append(self._equations(run))
            out.append(f"{h}# {self.words(_RESULTS)}")
        out.append(self._results())
        return "\n\n".join(out) + "\n"

    def render(self) -> str:
        return self.body()
