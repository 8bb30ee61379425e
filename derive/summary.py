"""One row per checked file, as an aligned table, CSV or JSON: what ``derive check-steps`` and
``derive check-grad`` print for several files (``--summary``). No SymPy here: a summary is text."""

from __future__ import annotations

import csv
import io
import json

from .errors import DeriveError

FORMATS = ("table", "csv", "json")


def render_rows(rows: list[dict], columns: tuple[str, ...], fmt: str = "table") -> str:
    """``rows`` (each a dict with every one of ``columns``; ``None`` for an empty cell) in ``fmt``:
    "table", aligned columns under a header; "csv", a header row then one row per file; "json",
    the rows themselves as a list."""
    if fmt == "json":
        return json.dumps(rows, ensure_ascii=False, indent=2) + "\n"
    if fmt not in FORMATS:
        raise DeriveError(f"summary format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    cells = [["" if row[c] is None else str(row[c]) for c in columns] for row in rows]
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(cells)
        return out.getvalue()
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip() for r in [list(columns), *cells]]
    return "\n".join(lines) + "\n"
