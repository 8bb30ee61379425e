"""What every command shares: the output formats, printing or writing a result, and the model
options generated from the models themselves."""

from __future__ import annotations

import gc
import os
import sys
from pathlib import Path

import click
from click.core import ParameterSource

from ..errors import said
from ..io import write_atomic

FORMATS = ("text", "latex", "markdown", "json", "html")
# The format a file name asks for, when --format is not given.
EXTENSIONS = {".txt": "text", ".tex": "latex", ".md": "markdown", ".markdown": "markdown", ".json": "json",
              ".html": "html", ".htm": "html"}


# Whether derive runs as its own process (set by ``main``), not called by a program such as the
# suite, whose objects are its own business.
OWN_PROCESS = False


def long_lived() -> None:
    """In derive's own process, once a command has imported what it works with (SymPy, the
    model), hand every object made so far to ``gc.freeze``: modules, classes and SymPy's caches
    live until the process ends, and each full collection of the run would otherwise walk them
    all again looking for cycles among them. Garbage made from here on is collected as ever."""
    if OWN_PROCESS:
        gc.freeze()


def output_format(fmt: str, output: str | None, choices=FORMATS) -> str:
    """``--format`` when the user gave it; else the format ``-o``'s extension names (a name
    without an extension keeps the default). An extension derive cannot write is an error
    rather than, say, text in a file called ``.pdf``."""
    ctx = click.get_current_context()
    if not output or ctx.get_parameter_source("fmt") is not ParameterSource.DEFAULT:
        return fmt
    suffix = Path(output).suffix.lower()
    if not suffix:
        return fmt
    inferred = EXTENSIONS.get(suffix)
    if inferred not in choices:
        known = ", ".join(f"{ext} ({name})" for ext, name in EXTENSIONS.items() if name in choices)
        pdf = suffix == ".pdf" and "latex" in choices
        hint = "; for a PDF, write .tex and run pdflatex on it" if pdf else ""
        raise said(f"-o {output}: derive cannot write {suffix} files; it writes {known}{hint}",
                   f"-o {output}：derive 不能写 {suffix} 文件；它能写 {known}"
                   + ("；要得到 PDF，请写 .tex 再用 pdflatex 编译" if pdf else ""))
    return inferred


def emit(text: str, output: str | None = None) -> None:
    """Print ``text`` to stdout, or write it atomically to ``output``."""
    if output:
        write_file(output, text if text.endswith("\n") else text + "\n")
    else:
        click.echo(text, nl=not text.endswith("\n"))


def write_file(path, data: str | bytes) -> None:
    """Write ``path`` (atomically, see ``derive.io``) and name it on stderr."""
    write_atomic(path, data)
    wrote(path)


def wrote(path) -> None:
    """Say on stderr which file a command wrote (not for ``-``, which is standard output), in
    the language of the command's ``--lang``."""
    if str(path) != "-":
        ctx = click.get_current_context(silent=True)
        zh = ctx is not None and ctx.params.get("lang") == "zh"
        click.echo(f"derive：已写入 {path}" if zh else f"derive: wrote {path}", err=True)


def format_option(help_: str = "Output format."):
    """``--format text|json`` with ``--json`` kept as its short form, for the commands whose
    output is a report."""

    def decorate(command):
        command = click.option("--json", "json_", is_flag=True, help="Same as --format json.")(command)
        return click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
                            help=help_)(command)

    return decorate


def color_wanted(output) -> bool:
    """Colour only on a terminal, when not writing a file and NO_COLOR is unset."""
    return not output and sys.stdout.isatty() and "NO_COLOR" not in os.environ


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def model_option(option) -> click.Option:
    """A model's ``Option`` as a click option with the model's default and choices."""
    kind = click.Choice(option.choices) if option.choices else type(option.default)
    return click.Option([_flag(option.name), option.name], type=kind, default=option.default, help=option.help)


def model_options(prefix: str = ""):
    """A decorator adding every option that some trainable model has (``--features``,
    ``--hidden`` …), each once, with no default: the model chosen validates what is given, and
    the names come from the models, so a new option needs no edit here."""

    def decorate(command):
        from ..models import registry

        seen: dict = {}   # option name -> [(model name, Option)]
        for name in registry.names():
            model = registry.info(name)
            if model.trainable:
                for option in model.options:
                    seen.setdefault(option.name, []).append((name, option))
        for name, found in reversed(list(seen.items())):
            default = found[0][1].default
            kind = int if isinstance(default, int) and not isinstance(default, bool) else str
            helps = {option.help for _, option in found}
            if len(helps) == 1 and all(option.choices is None for _, option in found):
                text = helps.pop()
            else:
                text = "; ".join(f"{model}: {option.help}" + (f" ({', '.join(option.choices)})" if option.choices else "")
                                 for model, option in found)
            if not prefix:
                text = text[:1].upper() + text[1:]
            command = click.option(_flag(name), name, type=kind, default=None,
                                   help=f"{prefix}{text} (model default).")(command)
        return command

    return decorate


def given(options: dict) -> dict:
    """The model options the user gave (those not left at None)."""
    return {k: v for k, v in options.items() if v is not None}
