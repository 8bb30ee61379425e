"""Terminal view: rich, Unicode mathematics, each line with its rule; plain when piped."""

from __future__ import annotations

import io
import os

from rich.console import Console, Group
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from .. import printing
from ..messages import VERIFIED
from . import Renderer


def _grid(**first):
    """Four columns: left-hand side (right-aligned), "=", right-hand side, annotation (dim).

    A formula too long for its column folds onto the next line; it is never cut with "…"."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(justify="right", no_wrap=True, overflow="fold", **first)
    grid.add_column()
    grid.add_column(ratio=1, overflow="fold")
    grid.add_column(style="dim", overflow="fold")
    return grid


def _columns() -> int:
    """The width to lay text out in: ``COLUMNS`` when it names one (40 or more), else 110 —
    the same bytes for the same command and environment, on a terminal or piped."""
    try:
        columns = int(os.environ.get("COLUMNS", ""))
    except ValueError:
        return 110
    return columns if columns >= 40 else 110


class TextRenderer(Renderer):
    def math(self, expr, order=None) -> str:
        return printing.text(expr, partial=self.d.partial, order=order)

    def _render_title(self, msg):
        return Text(self.words(msg), style="bold")

    def _render_heading(self, msg):
        return Text("\n" + self.words(msg), style="bold underline")

    def _render_note(self, msg):
        return Padding(Text(self.words(msg)), (0, 0, 0, 2))

    def _render_equation(self, steps):
        grid = _grid()
        for s in steps:
            lhs = "" if s.continued else self.math(s.lhs)
            grid.add_row(Text(lhs), "=", Text(self.math(s.rhs, s.order)), Text(self.rule_text(s)))
        return Padding(grid, (0, 0, 0, 2))

    def _render_table(self, table):
        t = Table(show_edge=False, header_style="bold")
        for c in table.columns:
            t.add_column(Text(self.words(c)), justify="right", overflow="fold")
        for row in table.rows:
            t.add_row(*[Text(self.cell(c)) for c in row])
        return Padding(t, (0, 0, 0, 2))

    def _render_results(self, results):
        grid = _grid(style="bold")
        for r in results:
            middle = self.math(r.display, r.order)
            # the notes' name, or the left-hand side alone; a result's key (its name) is for
            # programs and shown only with verbose
            name = r.name if self.verbose or r.lhs is None else r.label
            if not name:
                name = self.math(r.lhs)
            elif r.lhs is not None and self.math(r.lhs) != name:
                middle = f"{self.math(r.lhs)} = {middle}"
            grid.add_row(Text(name), "=", Text(middle), Text(self.words(r.note)))
        return Padding(grid, (0, 0, 0, 2))

    def sections(self) -> list:
        """The base sections, then (with the steps, not verbose) one line saying that every line
        was verified, in place of the words about where and how."""
        out = super().sections()
        if self.show_steps and not self.verbose:
            out.append(Text("\n" + self.words(VERIFIED), style="dim"))
        return out

    def render(self) -> str:
        color = self.opts.get("color", False)
        width = self.opts.get("width") or _columns()
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
        console.print(Group(*self.sections()))
        return "\n".join(line.rstrip() for line in buf.getvalue().splitlines()) + "\n"

    def __rich__(self):
        return Group(*self.sections())
