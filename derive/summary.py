"""One row per checked file, as an aligned table, CSV or JSON: what ``derive check-steps`` and
``derive check-grad`` print for several files (``--summary``). No SymPy here: a summary is text."""

from __future__ import annotations

import csv
import io
import json
import unicodedata

from .errors import said

FORMATS = ("table", "csv", "json")


def display_width(text: str) -> int:
    """The terminal columns ``text`` takes: a wide or full-width character (Chinese, full-width
    punctuation) takes two, a combining mark (the hat of ŷ) none, any other character one."""
    return sum(0 if unicodedata.combining(ch) else 2 if unicodedata.east_asian_width(ch) in "WF" else 1
               for ch in text)


def aligned(rows: list[list[str]], indent: str = "") -> list[str]:
    """``rows`` of cells as lines of aligned columns, two spaces apart, each line after ``indent``
    with no trailing spaces after its cells; a column is as wide as its widest cell on a terminal
    (``display_width``), so Chinese lines up with English."""
    widths = [max(display_width(r[k]) for r in rows) for k in range(len(rows[0]))]
    return [indent + "  ".join(v + " " * (w - display_width(v)) for v, w in zip(r, widths)).rstrip()
            for r in rows]


def render_rows(rows: list[dict], columns: tuple[str, ...], fmt: str = "table") -> str:
    """``rows`` (each a dict with every one of ``columns``; ``None`` for an empty cell) in ``fmt``:
    "table", aligned columns under a header; "csv", a header row then one row per file; "json",
    the rows themselves as a list."""
    if fmt == "json":
        return json.dumps(rows, ensure_ascii=False, indent=2) + "\n"
    if fmt not in FORMATS:
        raise said(f"summary format must be one of {', '.join(FORMATS)}, not {fmt!r}",
                   f"汇总的格式必须是 {', '.join(FORMATS)} 之一，而不是 {fmt!r}")
    cells = [["" if row[c] is None else str(row[c]) for c in columns] for row in rows]
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(cells)
        return out.getvalue()
    return "\n".join(aligned([list(columns), *cells])) + "\n"
