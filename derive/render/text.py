"""Terminal view: rich, Unicode mathematics, each line with its rule; plain when piped."""

from __future__ import annotations

import io
import os
import re

from rich.cells import cell_len
from rich.console import Console, Group
from rich.measure import Measurement
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from .. import printing
from ..messages import VERIFIED, VERIFIED_RESULTS, fill
from . import Renderer, compose

# Chinese is broken between any two characters, not at spaces; a formula is one unit. Inside a
# composed sentence a formula's spaces are held by a no-break space until the lines are made.
_NBSP = "\u00a0"
_WIDE = "\u2018-\u201d\u3000-\u303f\u4e00-\u9fff\uff00-\uffef"
_UNITS = re.compile(rf" +|[{_WIDE}]|[^ {_WIDE}]+")
# English is broken at spaces only (its quotes and apostrophes are not break points)
_WORDS = re.compile(" +|[^ ]+")
# marks that never begin a line, and those that never end one
_NO_START = set("，。、：；！？）》」』”")
_NO_END = set("（《「『“")


def wrap_cjk(text: str, width: int, units: re.Pattern = _UNITS) -> str:
    """``text`` (words and formulas whose spaces are no-break spaces) broken into lines of at most
    ``width`` cells: between the ``units`` (by default Chinese characters and words between
    spaces; ``_WORDS``: words), never inside a formula (one wider than a line is folded), never
    before a closing or after an opening mark."""
    lines, line = [], []

    def flush():
        lines.append("".join(line).strip())
        line.clear()

    def starts_closing(carry, unit) -> bool:
        """Whether the next line would begin with a closing mark."""
        return next(u for u in (*carry, unit) if u != " ")[0] in _NO_START

    for unit in units.findall(text):
        if unit.startswith(" "):
            if line:
                line.append(" ")
            continue
        if line and cell_len("".join(line) + unit) > width:
            # a closing mark takes the unit before it along (and a run of closing marks, the unit
            # before them all); an opening mark goes down
            carry = []
            while line and (starts_closing(carry, unit) or line[-1] in _NO_END or line[-1] == " "):
                carry.insert(0, line.pop())
            if not "".join(line).strip():
                line.extend(carry)
                carry = []
            flush()
            line.extend(c for c in carry if c != " ")
        while cell_len(unit) > width:    # a formula wider than a line
            cut = max(i for i in range(1, len(unit) + 1) if cell_len(unit[:i]) <= width)
            lines.append(unit[:cut])
            unit = unit[cut:]
        line.append(unit)
    flush()
    return "\n".join(lines).replace(_NBSP, " ")


# Where a formula may be broken, best first: before a sum's or an equation's operator or after a
# list's comma; before the "/" of a bracketed denominator; before a "·".
_BREAK = re.compile(r" (?=[+−=≈] )|(?<=,) ")
_BREAK_QUOTIENT = re.compile(r"(?<=\S)(?=/[(\[])")
_BREAK_PRODUCT = re.compile(r"(?<=\S)(?=·)")
_OPEN, _CLOSE = "([{⟨", ")]}⟩"
# The lines of a broken formula after the first are indented this much.
_HANG = 2


def _groups(text: str) -> list:
    """For each position of ``text``: (depth in brackets, length of the innermost bracketed group
    around it, or 0 outside every group)."""
    spans, stack = [0] * (len(text) + 1), []
    depth = [0] * (len(text) + 1)
    for i, ch in enumerate(text):
        if ch in _OPEN:
            stack.append(i)
        elif ch in _CLOSE and stack:
            opened = stack.pop()
            for k in range(opened + 1, i + 1):
                if not spans[k]:
                    spans[k] = i + 1 - opened
        depth[i + 1] = len(stack)
    return list(zip(depth, spans))


def break_formula(text: str, width: int) -> str:
    """``text``, a formula, in lines of at most ``width`` cells, the lines after the first
    indented by two cells. It is broken before an operator (" + ", " − ", " = "), after a comma,
    before the "/" of a bracketed denominator or before a "·": not inside a bracketed group that
    would fit on a line whole if another place allows, then where the fewest brackets are open,
    then at a sum's operator rather than a quotient's or a product's, then as late as the line
    allows. Without such a place it is broken at a space, and a piece with no space that is still
    too wide is cut where the line ends, as a terminal folds it.

    >>> print(break_formula("(a·(x − 1) − (x² + 1)·b)/(x − 1)²", 24))
    (a·(x − 1) − (x² + 1)·b)
      /(x − 1)²
    """
    if "\n" in text:       # a matrix, a row a line: each row broken alone
        return "\n".join(break_formula(row, width) for row in text.split("\n"))
    lines, indent, done = [], "", 0
    groups = _groups(text)
    kind = {m.start(): 2 for m in _BREAK_PRODUCT.finditer(text)}
    kind.update({m.start(): 1 for m in _BREAK_QUOTIENT.finditer(text)})
    kind.update({m.start(): 0 for m in _BREAK.finditer(text)})
    places = list(kind)
    spaces = [i for i, ch in enumerate(text) if ch == " "]
    while cell_len(indent + text[done:]) > width:
        room = width - len(indent)
        fits = ([at for at in places if done < at and cell_len(text[done:at]) <= room]
                or [at for at in spaces if done < at and cell_len(text[done:at]) <= room])
        if fits:
            def rank(at):
                depth, span = groups[at]
                return (0 < span <= room, depth, kind.get(at, 0), -at)

            cut = min(fits, key=rank)
            lines.append(indent + text[done:cut])
            done = cut + (text[cut] == " ")
        else:
            rest = text[done:]
            cut = max(i for i in range(1, len(rest) + 1) if cell_len(rest[:i]) <= max(room, 1))
            lines.append(indent + rest[:cut])
            done += cut
        indent = " " * _HANG if width > 2 * _HANG else ""
    lines.append(indent + text[done:])
    return "\n".join(lines)


class _Formula:
    """A formula in the formula column, broken at its operators (``break_formula``) when the
    column is too narrow for it. Measured as the plain text would be."""

    def __init__(self, text: str):
        self.text = text

    def __rich_measure__(self, console, options) -> Measurement:
        return Measurement.get(console, options, Text(self.text))

    def __rich_console__(self, console, options):
        yield Text(break_formula(self.text, options.max_width))


class _Held:
    """A rule's annotation (its formulas' spaces held by no-break spaces) that wraps itself to its
    column's width with ``wrap_cjk``: between words or Chinese characters, never inside a formula.
    Measured as the plain text would be, so the table lays its columns out as before."""

    def __init__(self, held: str):
        self.held = held

    def __rich_measure__(self, console, options) -> Measurement:
        return Measurement.get(console, options, Text(self.held.replace(_NBSP, " ")))

    def __rich_console__(self, console, options):
        yield Text(wrap_cjk(self.held, options.max_width))


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


# A left-hand side wider than this share of the line, in a block that does not fit the line, is
# written on a line of its own above its "=": it would push every row right and fold them.
_WIDE_LHS = 0.3


def _cells(note) -> int:
    """The width of a row's annotation on one line (a ``Text`` or a ``_Held``)."""
    return note.cell_len if isinstance(note, Text) else cell_len(note.held)


def _aligned(rows, width: int, **first):
    """``(lhs, rhs, note)`` rows (``Text``) as one grid, its "=" in one column. When a row would
    not fit on its line, each wide left-hand side (``_WIDE_LHS``) goes on the line above its row,
    where the right-hand sides start."""
    limit = max(12, int(width * _WIDE_LHS))
    lhs_w = max((lhs.cell_len for lhs, _, _ in rows), default=0)
    # 2 of indent, 3 spaces and the "=" between the four columns
    folds = any(6 + lhs_w + cell_len(rhs.text) + _cells(note) > width for _, rhs, note in rows)
    grid = _grid(**first)
    for lhs, rhs, note in rows:
        if folds and lhs.cell_len > limit:
            grid.add_row("", "", Text(lhs.plain, style=first.get("style", "")), "")
            lhs = Text("")
        grid.add_row(lhs, "=", rhs, note)
    return grid


class TextRenderer(Renderer):
    def math(self, expr, order=None) -> str:
        return printing.text(expr, partial=self.d.partial, order=order)

    def block(self, msg, indent: int = 0) -> str:
        """A title, heading or note, broken into lines here (``wrap_cjk``), since the terminal's
        own wrapping breaks at any space, inside formulas too, and never between Chinese
        characters."""
        units = _UNITS if self.lang == "zh" else _WORDS
        return wrap_cjk(self.words(msg, write=self._write_held), self._width - indent, units)

    def _write_held(self, msg, values: dict) -> str:
        """``msg`` as ``write`` gives it, with the spaces of its formulas no-break spaces."""
        def formula(source, v):
            return fill(source, v, msg.list_sep(self.lang)).replace(" ", _NBSP)

        return compose(msg, self.lang, values, lambda words: words, formula)

    def _render_title(self, msg):
        return Text(self.block(msg), style="bold")

    def _render_heading(self, msg):
        return Text("\n" + self.block(msg), style="bold underline")

    def _render_note(self, msg):
        return Padding(Text(self.block(msg, indent=2)), (0, 0, 0, 2))

    def _render_equation(self, steps):
        rows = [(Text("" if s.continued else self.math(s.lhs)), _Formula(self.math(s.rhs, s.order)),
                 _Held(self.held_rule_text(s))) for s in steps]
        return Padding(_aligned(rows, self._width), (0, 0, 0, 2))

    def held_rule_text(self, step) -> str:
        """``rule_text`` with the spaces of its formulas held (no-break spaces), for ``wrap_cjk``."""
        return self.rule_text(step, lambda msg: self.words(msg, write=self._write_held))

    def _render_table(self, table):
        t = Table(show_edge=False, header_style="bold")
        for c in table.columns:
            t.add_column(Text(self.words(c)), justify="right", overflow="fold")
        for row in table.rows:
            t.add_row(*[Text(self.cell(c)) for c in row])
        return Padding(t, (0, 0, 0, 2))

    def _render_results(self, results):
        rows = []
        for r in results:
            middle = self.math(r.display, r.order)
            # the notes' name, or the left-hand side alone; a result's key (its name) is for
            # programs and shown only with verbose in English (the keys are English words, and
            # the JSON gives them in every language)
            key = self.verbose and self.lang == "en"
            name = r.name if key or r.lhs is None else r.label
            if not name:
                name = self.math(r.lhs)
            elif r.lhs is not None and self.math(r.lhs) != name:
                middle = f"{self.math(r.lhs)} = {middle}"
            rows.append((Text(name), _Formula(middle), Text(self.words(r.note))))
        return Padding(_aligned(rows, self._width, style="bold"), (0, 0, 0, 2))

    def sections(self) -> list:
        """The base sections, then (not verbose) one line saying that every line was verified, in
        place of the words about where and how."""
        out = super().sections()
        if not self.verbose:
            out.append(Text("\n" + self.words(VERIFIED if self.show_steps else VERIFIED_RESULTS), style="dim"))
        return out

    @property
    def _width(self) -> int:
        """The width of the text, in columns."""
        return self.opts.get("width") or _columns()

    def render(self) -> str:
        color = self.opts.get("color", False)
        width = self._width
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
