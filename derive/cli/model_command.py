"""`derive list` and `derive NAME`: a model's derivation in every format."""

from __future__ import annotations

import os

import click

from ..cache import cached_text
from ..models import registry
from .notes import emit_graph, graph_option
from .output import FORMATS, color_wanted, emit, given, long_lived, model_option, output_format


@click.command(name="list")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", help="Output format.")
@click.option("--lang", type=click.Choice(["en", "zh"]), default="en",
              help="Language of the titles (zh: each model's Chinese title, as its derivation shows it).")
def list_models(fmt, lang):
    """List the models, one line each.

    \b
      derive list
      derive list --format json
      derive list --lang zh
    """
    models = [registry.info(n) for n in registry.names()]
    # the Chinese is the title of each model's derivation (shipped, so nothing is derived here);
    # the catalogue, which keeps the plain `derive list` from importing the models, is English
    titles = {m.name: zh_title(m.name) for m in models} if lang == "zh" else {}
    if fmt == "json":
        import json

        rows = [
            {"name": m.name, "title": titles.get(m.name, m.title), "summary": titles.get(m.name, m.summary),
             "trainable": m.trainable, "options": {o.name: o.default for o in m.options}}
            for m in models
        ]
        emit(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    width = max(len(m.name) for m in models)
    emit("\n".join(f"{m.name:<{width}}  {titles.get(m.name, m.summary)}" for m in models))


def zh_title(name: str) -> str:
    """The Chinese title of model ``name`` with its default options: its derivation's title as
    plain text."""
    from .. import model

    return model(name).derivation().title.render("zh")


def page_figure(model, fmt: str, lang: str) -> dict:
    """A web page shows the model's computation graph under its title (when it has one)."""
    if fmt != "html":
        return {}   # derive.graph (and the matrix engine it imports) only where a page draws it
    from ..graph import graph_for, has_graph

    if not has_graph(model):
        return {}
    from ..render.html import graph_html

    return {"figure": graph_html(graph_for(model), lang, f"derive-{model.name}")}


def _render(model, fmt: str, render: dict) -> str:
    long_lived()   # SymPy and the model are imported
    return model.derivation().render(fmt, **render, **page_figure(model, fmt, render["lang"]))


def model_command(name: str) -> click.Command:
    """The click command for one model, with that model's own options."""
    info = registry.info(name)
    params = [
        click.Option(["--show-steps"], is_flag=True, help="Show every step, not just the results."),
        click.Option(["--format", "fmt"], type=click.Choice(FORMATS), default="text", help="Output format."),
        click.Option(["-o", "--output"], type=click.Path(dir_okay=False), help="Write to FILE (atomically)."),
        click.Option(["--standalone"], is_flag=True, help="LaTeX: a complete document."),
        click.Option(["--lang"], type=click.Choice(["en", "zh"]), default="en", help="Language of the words."),
        click.Option(["--verbose"], is_flag=True,
                     help="Also say where and how each line was verified (sizes, points, checkable forms)."),
        graph_option(),
    ]
    params += [model_option(opt) for opt in info.options]

    def callback(show_steps, fmt, output, standalone, lang, verbose, graph, **options):
        options = given(options)
        values = info.values(options)  # each option checked before any cached output is used
        if graph:
            return emit_graph(registry.get(name)(**options), graph, output, lang=lang, standalone=standalone,
                              show_steps=show_steps)
        fmt = output_format(fmt, output)
        render = dict(show_steps=show_steps, lang=lang, standalone=standalone, verbose=verbose,
                      color=color_wanted(output) and fmt == "text")
        # the text view's width follows COLUMNS, so the cached bytes depend on it too
        text = cached_text(
            {"model": name, "options": values, "format": fmt, "columns": os.environ.get("COLUMNS"),
             **render},
            lambda: _render(registry.get(name)(**options), fmt, render),
        )
        emit(text, output)

    return click.Command(name, params=params, callback=callback, help=info.summary)


