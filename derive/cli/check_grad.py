"""`derive check-grad`: compare a gradient with finite differences."""

from __future__ import annotations

import click

from ..errors import DeriveError
from .output import format_option, given, model_options


def _note(message: str) -> None:
    click.echo(f"derive: {message}", err=True)


@click.command(name="check-grad")
@click.argument("path", required=False, type=click.Path(dir_okay=False))
@click.option("--model", "model_name", metavar="NAME", help="Check a built-in model's compiled gradient instead.")
@model_options(prefix="Built-in model: ")
@click.option("--mode", type=click.Choice(["auto", "central", "complex", "richardson"]), default="auto",
              show_default=True, help="How to take the finite differences.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for sampling, directions and random data.")
@click.option("--max-coords", type=click.IntRange(min=1), default=20_000, show_default=True,
              help="Models with more parameters are checked on a stratified sample.")
@format_option("text: the report; json: the report as JSON.")
def check_grad(path, model_name, mode, seed, max_coords, fmt, json_, **options):
    """Compare a model's gradient with finite differences, block by block.

    Exit status: 0 every block passes, 1 a block fails, 2 a bad file or usage.

    \b
      derive check-grad examples/logistic_numpy.py
      derive check-grad examples/buggy_backprop.py --json
      derive check-grad --model mlp --hidden 16
    """
    from numeric.check import check_builtin, check_model_file, print_report

    opts = dict(mode=mode, seed=seed, max_coords=max_coords, progress=_note)
    if model_name:
        if path:
            raise DeriveError("give a model file or --model NAME, not both")
        report = check_builtin(model_name, options=given(options), **opts)
    elif path:
        if given(options):
            flags = ", ".join("--" + k.replace("_", "-") for k in options)
            raise DeriveError(f"{flags} go with --model")
        report = check_model_file(path, **opts)
    else:
        raise DeriveError("give a model file (derive check-grad model.py) or --model NAME")
    for note in report.notes:
        _note(note)
    print_report(report, json_output=json_ or fmt == "json")
    raise SystemExit(0 if report.ok else 1)
