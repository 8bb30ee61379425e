"""Terminal view: rich, Unicode mathematics, each line with its rule; plain when piped."""

from __future__ import annotations

import io

from rich.console import Console, Group
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from .. import printing
from ..messages import Msg
from . import Renderer

_RESULTS = Msg("Results", "结果")


class TextRenderer(Renderer):
    def math(self, expr) -> str:
        return printing.text(expr, partial=self.d.partial)

    def _equations(self, steps):
        grid = Table.grid(padding=(0, 1))
        grid.add_column(justify="right", no_wrap=True)
        grid.add_column()
        grid.add_column(ratio=1)
        grid.add_column(style="dim")
        for s in steps:
            lhs = "" if s.continued else self.math(s.lhs)
            grid.add_row(Text(lhs), "=", Text(self.math(s.rhs)), Text(self.rule_text(s)))
        return Padding(grid, (0, 0, 0, 2))

    def _table(self, step):
        t = Table(show_edge=False, header_style="bold")
        for c in step.table.columns:
            t.add_column(Text(self.words(c)), justify="right")
        for row in step.table.rows:
            t.add_row(*[Text(self.cell(c)) for c in row])
        return Padding(t, (0, 0, 0, 2))

    def _results(self):
        grid = Table.grid(padding=(0, 1))
        grid.add_column(justify="right", no_wrap=True, style="bold")
        grid.add_column()
        grid.add_column(ratio=1)
        grid.add_column(style="dim")
        for r in self.d.results:
            lhs = r.name
            middle = self.math(r.display)
            if r.lhs is not None and self.math(r.lhs) != r.name:
                middle = f"{self.math(r.lhs)} = {middle}"
            grid.add_row(Text(lhs), "=", Text(middle), Text(self.words(r.note)))
        return Padding(grid, (0, 0, 0, 2))

    def renderables(self):
        out = [Text(self.words(self.d.title), style="bold")]
        if self.show_steps:
            for kind, item in self.blocks():
                if kind == "equations":
                    out.append(self._equations(item))
                elif kind == "heading":
                    out.append(Text("\n" + self.words(item.note), style="bold underline"))
                elif kind == "note":
                    out.append(Padding(Text(self.words(item.note)), (0, 0, 0, 2)))
                elif kind == "table":
                    out.append(self._table(item))
            out.append(Text("\n" + self.words(_RESULTS), style="bold underline"))
        out.append(self._results())
        return out

    def render(self) -> str:
        color = self.opts.get("color", False)
        width = self.opts.get("width") or 110
        buf = io.StringIO()
        console = Console(
            file=buf,
            width=width,
            force_terminal=color,
            no_color=not color,
            color_system="standard" if color else None,
            highlight=False,
            emoji=False,
        )
        console.print(Group(*self.renderables()))
        return "\n".join(line.rstrip() for line in buf.getvalue().splitlines()) + "\n"


def rich_renderable(derivation, show_steps=True, lang="en"):
    return Group(*TextRenderer(derivation, show_steps=show_steps, lang=lang).renderables())
