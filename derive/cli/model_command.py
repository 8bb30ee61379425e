"""`derive list` and `derive NAME`: a model's derivation in every format."""

from __future__ import annotations

import json
import os

import click

from ..cache import cached_text
from ..models import registry
from .notes import emit_graph, graph_option
from .output import FORMATS, color_wanted, emit, model_option, output_format


@click.command(name="list")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", help="Output format.")
def list_models(fmt):
    """List the models, one line each.

    \b
      derive list
      derive list --format json
    """
    models = [registry.get(n) for n in registry.names()]
    if fmt == "json":
        rows = [
            {"name": m.name, "title": m.title, "summary": m.summary, "trainable": m.trainable,
             "options": {o.name: o.default for o in m.options}}
            for m in models
        ]
        emit(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    width = max(len(m.name) for m in models)
    emit("\n".join(f"{m.name:<{width}}  {m.summary}" for m in models))


def model_command(name: str) -> click.Command:
    """The click command for one model, with that model's own options."""
    model_cls = registry.get(name)
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
    params += [model_option(opt) for opt in model_cls.options]

    def callback(show_steps, fmt, output, standalone, lang, verbose, graph, **options):
        options = {k: v for k, v in options.items() if v is not None}
        model = model_cls(**options)  # validates options before any cached output is used
        if graph:
            return emit_graph(model, graph, output, lang=lang, standalone=standalone, show_steps=show_steps)
        fmt = output_format(fmt, output)
        render = dict(show_steps=show_steps, lang=lang, standalone=standalone, verbose=verbose,
                      color=color_wanted(output) and fmt == "text")
        # the text view's width follows COLUMNS, so the cached bytes depend on it too
        text = cached_text(
            {"model": name, "options": model.values, "format": fmt, "columns": os.environ.get("COLUMNS"),
             **render},
            lambda: model.derivation().render(fmt, **render),
        )
        emit(text, output)

    return click.Command(name, params=params, callback=callback, help=model_cls.summary)


