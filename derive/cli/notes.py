"""`derive notes`: every derivation in one document; and the `--graph` option of model commands."""

from __future__ import annotations

import click

from ..cache import cached_text
from ..errors import said
from .output import emit, long_lived, output_format, write_file

GRAPH_KINDS = ("dot", "png", "tikz")


@click.command(name="notes")
@click.option("--format", "fmt", type=click.Choice(["latex", "markdown", "html"]), default="latex",
              help="LaTeX (compiles with pdflatex; xelatex for --lang zh), Markdown (KaTeX, Jupyter) "
                   "or HTML (one web page that opens offline).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write to FILE (atomically).")
@click.option("--lang", type=click.Choice(["en", "zh"]), default="en", help="Language of the words.")
@click.option("--models", help="Comma-separated model names (default: all, in the notes' order).")
@click.option("--show-steps/--results-only", default=True, help="Every step (default), or only the results.")
def notes_command(fmt, output, lang, models, show_steps):
    """Notes for students: every derivation, in the order the course teaches them, with a table
    of contents and the computation graphs.

    \b
      derive notes -o notes.tex && pdflatex notes.tex && pdflatex notes.tex
      derive notes --lang zh -o notes-zh.tex && xelatex notes-zh.tex && xelatex notes-zh.tex
      derive notes --format markdown --models chain-rule,logistic -o notes.md
      derive notes -o notes.html
    """
    from .. import notes

    long_lived()   # SymPy is imported
    fmt = output_format(fmt, output, choices=("latex", "markdown", "html"))
    names = notes.select(models)
    key = {"command": "notes", "format": fmt, "lang": lang, "models": names, "steps": show_steps}
    emit(cached_text(key, lambda: notes.build(fmt, lang, names, show_steps).text), output)


def graph_option() -> click.Option:
    """The `--graph` option of a model command."""
    return click.Option(
        ["--graph", "graph"], type=click.Choice(GRAPH_KINDS), default=None,
        help="The computation graph at a point instead: dot (Graphviz source), png (needs -o and "
             "Graphviz), tikz (the LaTeX derivation with a TikZ picture).",
    )


def emit_graph(model, kind: str, output, *, lang: str = "en", standalone: bool = False,
               show_steps: bool = False) -> None:
    """Print or write the computation graph of ``model`` as ``kind`` (see ``graph_option``)."""
    from ..graph import graph_for

    if kind == "png" and not output:
        raise said("--graph png writes an image: give the file with -o FILE",
                   "--graph png 写出的是图像：请用 -o 文件名 给出文件")
    g = graph_for(model)
    if kind == "dot":
        emit(g.to_dot(lang), output)
    elif kind == "png":
        write_file(output, g.png())
    else:
        d = model.derivation()
        emit(d.render("latex", show_steps=show_steps, lang=lang, standalone=standalone,
                      figure=g.to_tikz(lang)), output)
