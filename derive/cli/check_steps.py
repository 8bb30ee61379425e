"""`derive check-steps`: check a student's own derivation, row by row."""

from __future__ import annotations

import sys

import click

from ..errors import DeriveError

# derive.student.FORMATS, written out so that `derive --help` need not import the reader and
# compile its patterns (tests/test_startup.py checks that the two agree)
FORMATS = ("markdown", "latex", "plain")


def _fail(err: DeriveError, lang: str) -> None:
    """One file's error, when others are still checked: in Chinese under --lang zh when it has one."""
    from .app import PREFIX

    click.echo(f"{PREFIX[lang]}{err.zh if lang == 'zh' and err.zh else err}", err=True)


@click.command(name="check-steps")
@click.argument("files", nargs=-1, required=True, metavar="FILE...")
@click.option("--from", "kind", type=click.Choice(FORMATS),
              help="Read the files as this format (default: from the extension or the content).")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "latex", "markdown"]),
              default="text", help="Output format (latex and markdown: the rows typeset, each marked, as derive notes typesets).")
@click.option("--lang", type=click.Choice(["en", "zh"]), default="en", help="Language of the words.")
@click.option("--summary", type=click.Choice(["table", "csv", "json"]),
              help="One line per file (file, verdict, first wrong line, hint) instead of every row.")
def check_steps(files, kind, fmt, lang, summary):
    """Check a derivation written by hand (Markdown, LaTeX or SymPy-syntax text), row by row.

    Each row is checked against the row before; at a wrong row the report shows where the two
    differ, what the engine would write, and the likely mistake. FILE may be - (standard input).
    Exit status: 0 every row holds, 1 a row does not, 2 a file cannot be read.

    \b
      derive check-steps examples/dz_correct.md
      derive check-steps examples/dz_mistake.md --lang zh
      derive check-steps examples/dz_mistake.md --format latex > checked.tex
      derive check-steps homework/*.md --summary table
    """
    _check_steps(files, kind, fmt, lang, summary)


def _check_steps(files, kind, fmt, lang, summary):
    """``derive check-steps`` once its options are read: exits 0, 1 or 2 as the command says."""
    import json

    from ..check_steps import check_file, read_bounded, render_summary, render_text, report_data, summary_row

    reports, rows, status = [], [], 0
    for name in files:
        data = read_bounded(sys.stdin.buffer, "<stdin>") if name == "-" else None
        try:
            report = check_file(name, data, kind)
        except DeriveError as err:
            if len(files) == 1 and not summary:
                raise
            status = 2
            rows.append(summary_row(name, None, err.zh if lang == "zh" and err.zh else str(err), lang))
            if not summary:
                _fail(err, lang)
            continue
        status = max(status, 0 if report.ok else 1)
        reports.append(report)
        rows.append(summary_row(name, report, lang=lang))
    if summary:
        click.echo(render_summary(rows, summary), nl=False)
    elif fmt in ("latex", "markdown"):
        from ..check_steps_render import render_checked

        click.echo(render_checked(reports, fmt, lang), nl=False)
    elif fmt == "json":
        data = [report_data(r, lang) for r in reports]
        click.echo(json.dumps(data[0] if len(files) == 1 else data, ensure_ascii=False, indent=2))
    else:
        click.echo("\n".join(render_text(r, lang) for r in reports), nl=False)
    raise SystemExit(status)
