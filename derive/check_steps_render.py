"""A checked derivation typeset as ``derive notes`` typesets its own: LaTeX or Markdown.

The student's rows are set as they wrote them (a LaTeX or Markdown row in its own LaTeX; a
plain-text row from what it was read as), aligned at their first ``=``, each marked ✓ or ✗ with its
line in the file. Under a ✗ come the point where the row and the previous expression differ, with
both values, the row the engine would write next, and the hint. The words are those of the text
report (``derive.check_steps``); their formulas become mathematics through the notes' own
helpers (``derive.render.latex``, ``derive.render.markdown``), so the LaTeX compiles with pdflatex
(English) or xelatex (Chinese) and the Markdown renders in KaTeX.
"""

from __future__ import annotations

from . import printing
from .check_steps import StepReport, StepRow, _number, _split_equals, _word, hint_source
from .messages import Msg
from .render.latex import (TEXT_WIDTH_EM, _opens_with_operator, break_rhs, escape, fit, latex_words,
                           math_width, preamble, tag_text, unicode_math)
from .render.markdown import LINE_EM, markdown_words

__all__ = ["render_checked", "CHECKED_FORMATS"]

CHECKED_FORMATS = ("latex", "markdown")

_PAGE = {
    "title": ("Checking {name}", "检查 {name}"),
    "line": ("line {line}", "第 {line} 行"),
    "definition": (" (definition)", "(定义)"),
}
# formula marks the words' sources lack (ᵘ has no LaTeX form in the notes' formula reader)
_TEX_SOURCE = {"ᵘ": "^u"}


def _tex(expr) -> str:
    return unicode_math(printing.latex(expr))


def _pieces(row: StepRow) -> list[str]:
    """The row's expressions in LaTeX, split at ``=`` ("" for the empty piece of ``= …``)."""
    if row.syntax == "latex":
        return [p.strip() for p in _split_equals(row.text)]
    if row.syntax == "matrix":
        return list(row.exprs)
    return ["" if e is None else _tex(e) for e in row.exprs]


def _words(source: str, values: dict, lang: str, fmt: str) -> str:
    """Words with ``$…$``-marked formulas whose ``{name}`` fields are the LaTeX ``values``."""
    for char, tex in _TEX_SOURCE.items():
        source = source.replace(char, tex)
    msg = Msg(source)
    return latex_words(msg, lang, values) if fmt == "latex" else markdown_words(msg, lang, values)


def _explanation(row: StepRow, lang: str, fmt: str) -> list[str]:
    """The sentences under a ✗: the previous expression, the point, the engine's row, the hint."""
    previous = row.previous if row.syntax == "latex" else _tex(row.previous_expr)
    out = [_words(_word("previous", lang, line=row.previous_line, text="${prev}$"),
                  {"prev": previous}, lang, fmt)]
    if row.point is not None:
        point = ", ".join(f"{_tex(s)} = {_number(float(v))}" for s, v in row.point.items())
        out.append(_words(_word("differ", lang, point="${point}$", a="${a}$", b="${b}$"),
                          {"point": point, "a": _number(row.values[0]), "b": _number(row.values[1])},
                          lang, fmt))
    out.append(_words(_word("expected", lang, expr="${expr}$"), {"expr": _tex(row.expected)},
                      lang, fmt))
    hint = hint_source(row.hint, row.detail is not None, lang)
    values = {"expr": _tex(row.detail)} if row.detail is not None else {}
    out.append(_words(_word("hint", lang, text=hint), values, lang, fmt))
    return out


def _mark(row: StepRow, lang: str, words) -> str:
    """``✓ line 3 (definition)`` as LaTeX, the words through ``words``."""
    note = _word("line", lang, _PAGE, line=row.line)
    if row.kind == "definition":
        note += _word("definition", lang, _PAGE)
    return ("$\\checkmark$ " if row.ok else "$\\times$ ") + words(note)


def _layout(row: StepRow, room: float, scale: bool) -> list[str]:
    """The row as aligned lines: ``lhs &= rhs`` (the right-hand side broken to ``room`` em),
    ``&= rhs`` for a row that continues the chain, ``lhs &`` for an expression alone."""
    pieces = _pieces(row)
    lhs, rest = pieces[0], pieces[1:]
    if math_width(lhs) > room / 2 and scale:
        lhs = fit(lhs, room / 2)
    if not rest:
        return [f"{lhs} &"]
    lines = break_rhs(" = ".join(rest), room - min(math_width(lhs), room / 2), scale=scale)
    more = [rf"&\quad {{}}{line}" if _opens_with_operator(line) else rf"&\quad {line}"
            for line in lines[1:]]
    return [f"{lhs} &= {lines[0]}", *more]


def _path_words(text: str) -> str:
    """Words for LaTeX in which a long path may break after each ``/``."""
    return escape(text).replace("/", "/\\allowbreak{}")


def _latex_body(report: StepReport, lang: str) -> str:
    words = escape
    rows = []
    for row in report.rows:
        lines = _layout(row, TEXT_WIDTH_EM * 0.8, scale=True)
        lines[0] += " " + tag_text(_mark(row, lang, words))
        rows += ["  " + line for line in lines]
        if not row.ok:
            items = "".join(f"\\item {s}\n" for s in _explanation(row, lang, "latex"))
            rows.append("  \\intertext{\\begin{itemize}\n" + items + "\\end{itemize}}")
    title = _path_words(_word("title", lang, _PAGE, name=report.name))
    summary = _summary(report, lang)
    return (f"\\section*{{\\raggedright {title}}}\n\\begin{{align*}}\n" + " \\\\\n".join(rows)
            + f"\n\\end{{align*}}\n\n{_path_words(summary)}\n")


def _markdown_body(report: StepReport, lang: str) -> str:
    def words(text):
        return rf"\text{{{escape(text)}}}"

    blocks, rows = [], []

    def close():
        if rows:
            blocks.append("$$\n\\begin{aligned}\n" + " \\\\\n".join(rows) + "\n\\end{aligned}\n$$")
            rows.clear()

    for row in report.rows:
        lines = _layout(row, LINE_EM, scale=False)
        lines[0] += " && " + _mark(row, lang, words).replace("$", "").replace(" ", r"\; ", 1)
        rows.extend(lines)
        if not row.ok:
            close()
            blocks.append("\n".join(f"- {s}" for s in _explanation(row, lang, "markdown")))
    close()
    title = _word("title", lang, _PAGE, name=f"`{report.name}`")
    return f"## {title}\n\n" + "\n\n".join(blocks) + f"\n\n{_summary(report, lang)}\n"


def _summary(report: StepReport, lang: str) -> str:
    wrong = [r for r in report.rows if not r.ok]
    if wrong:
        return _word("some", lang, name=report.name, k=len(wrong), n=len(report.rows),
                     line=wrong[0].line)
    return _word("all", lang, name=report.name, n=len(report.rows))


def render_checked(reports: list, fmt: str, lang: str = "en") -> str:
    """Checked files (``StepReport``) as one LaTeX document or one Markdown page.

    Parameters
    ----------
    reports : list of StepReport
        One per file, in order; each becomes a section.
    fmt : {"latex", "markdown"}
    lang : {"en", "zh"}
        LaTeX in Chinese compiles with xelatex (ctex), in English with pdflatex.

    Examples
    --------
    >>> from derive.check_steps import check_steps
    >>> page = render_checked([check_steps("f = x**2\\ndf/dx = x", "plain", "a.txt")], "markdown")
    >>> print(page.splitlines()[4])
    f &= x^{2} && \\checkmark\\; \\text{line 1 (definition)} \\\\
    >>> print(page.splitlines()[5])
    \\frac{\\partial f}{\\partial x} &= x && \\times\\; \\text{line 2}
    """
    if fmt == "latex":
        body = "\n".join(_latex_body(r, lang) for r in reports)
        return preamble(lang) + "\\begin{document}\n\n" + body + "\n\\end{document}\n"
    if fmt == "markdown":
        return "\n".join(_markdown_body(r, lang) for r in reports)
    raise ValueError(f"format {fmt!r}; one of {', '.join(CHECKED_FORMATS)}")

