"""The `derive` command group and its one error policy.

Every command body parses flags, calls the library, and prints. Errors are handled here once:
bad usage or bad input prints one line on stderr and exits 2; an internal error (a bug) prints
one line asking for a report and exits 70; ``--debug`` (or ``DERIVE_DEBUG=1``)
shows the traceback instead.
"""

from __future__ import annotations

import gc
import os
import signal
import sys
import threading
from typing import NoReturn

import click

from .. import __version__
from ..errors import DeriveError, said
from . import cache, check_grad, check_steps, expr, model_command, notes, output, train

# sysexits' EX_SOFTWARE: a bug in derive, distinct from 1 (a check found a problem) and 2 (bad input)
EXIT_INTERNAL_ERROR = 70


class DeriveGroup(click.Group):
    """A group whose unknown sub-command names are looked up as model names."""

    def list_commands(self, ctx):
        return sorted(self.commands)

    def get_command(self, ctx, name):
        command = self.commands.get(name)
        if command is not None:
            return command
        from ..models import registry

        if name in registry.names():
            return model_command.model_command(name)
        return None

    def resolve_command(self, ctx, args):
        name = args[0] if args else None
        if name is not None and not name.startswith("-") and self.get_command(ctx, name) is None:
            import difflib  # this module's imports are paid by every command: error paths load theirs

            from ..models import registry

            known = [*registry.names(), *sorted(self.commands)]
            close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
            guess = f" (did you mean {close[0]!r}?)" if close else ""
            models, commands = ", ".join(registry.names()), ", ".join(sorted(self.commands))
            raise said(f"unknown model or command {name!r}{guess}; models: {models}; commands: {commands}",
                       f"没有模型或命令 {name!r}{f'（是不是要用 {close[0]!r}？）' if close else ''}；"
                       f"模型有：{models}；命令有：{commands}")
        return super().resolve_command(ctx, args)

    def shell_complete(self, ctx, incomplete):
        """The commands (and options) click completes, then the model names: ``derive lo<TAB>``."""
        from click.shell_completion import CompletionItem

        from ..models import registry

        models = [CompletionItem(name, help=registry.info(name).summary)
                  for name in registry.names() if name.startswith(incomplete)]
        return super().shell_complete(ctx, incomplete) + models

    def format_commands(self, ctx, formatter):
        """The commands, then the models (each one is a command too: ``derive NAME``)."""
        super().format_commands(ctx, formatter)
        from ..models import registry

        rows = [(name, registry.info(name).summary) for name in registry.names()]
        with formatter.section("Models (derive NAME --show-steps)"):
            formatter.write_dl(rows)


@click.group(cls=DeriveGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show the full traceback on errors.")
@click.version_option(version=__version__, prog_name="derive")
def cli(debug):
    """Step-by-step, verified gradient derivations for the models of a deep-learning course.

    \b
      derive list
      derive logistic --show-steps
      derive expr "3*(a+b*c)" --wrt a
      derive check-grad examples/logistic_numpy.py
      derive train logistic
    """


for _command in (model_command.list_models, expr.expr, notes.notes_command, train.train,
                 check_grad.check_grad, check_steps.check_steps, cache.cache_group):
    cli.add_command(_command)


def _debug_requested(argv) -> bool:
    return "--debug" in argv or os.environ.get("DERIVE_DEBUG") == "1"


def _print_traceback() -> None:
    import traceback

    traceback.print_exc()


# The prefix of an error's line in the language asked for (``--lang zh`` on the command line).
PREFIX = {"en": "derive: error: ", "zh": "derive：错误："}


def _lang(argv) -> str:
    """The --lang given on the command line, if it is one the error prefix speaks; else English."""
    for k, arg in enumerate(argv):
        value = argv[k + 1] if arg == "--lang" and k + 1 < len(argv) else arg.removeprefix("--lang=")
        if arg.startswith("--lang") and value in PREFIX:
            return value
    return "en"


def _fail(message: str, code: int, lang: str = "en") -> NoReturn:
    message = " ".join(str(message).split()) or "error"
    click.echo(f"{PREFIX[lang]}{message}", err=True)
    sys.exit(code)


def _usage_error(english: str, lang: str) -> NoReturn:
    """click's usage error, in Chinese under ``--lang zh`` when its message is one we know."""
    if lang == "zh":
        from .usage_zh import chinese

        said = chinese(english)
        if said is not None:
            _fail(said, 2, "zh")
    _fail(english, 2)


def main(argv=None) -> None:
    """Console entry point: run the group under the error policy. Without ``argv``, derive is
    its own process (``derive ...``, ``python -m derive ...``): what it has loaded is handed to
    ``gc.freeze`` (``output.long_lived``)."""
    own = argv is None
    output.OWN_PROCESS = own
    try:
        _run(list(sys.argv[1:] if own else argv))
    finally:
        if own:
            # everything is about to go: the interpreter's last collection at exit need not
            # walk every object of SymPy's looking for cycles (about a quarter of `import
            # sympy`'s CPU time)
            gc.freeze()


def _run(argv: list) -> None:
    debug = _debug_requested(argv)
    if threading.current_thread() is threading.main_thread():
        # SIGTERM unwinds like Ctrl-C (a file being written is cleaned up), exit status 143
        signal.signal(signal.SIGTERM, lambda signum, _: sys.exit(128 + signum))
    try:
        rv = cli.main(args=argv, prog_name="derive", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.exceptions.NoArgsIsHelpError as exc:  # bare `derive`: the help, as asked for
        click.echo(exc.ctx.get_help())
        sys.exit(0)
    except click.exceptions.Abort as exc:  # click's form of Ctrl-C (or of end of input)
        _fail("interrupted", 130) if isinstance(exc.__cause__, KeyboardInterrupt) else _fail("aborted", 2)
    except click.ClickException as exc:  # usage errors, bad parameters
        if debug:
            _print_traceback()
        _usage_error(exc.format_message(), _lang(argv))
    except DeriveError as exc:
        if debug:
            _print_traceback()
        lang = _lang(argv)
        _fail(exc.zh if lang == "zh" and exc.zh is not None else str(exc), exc.exit_code, lang)
    except KeyboardInterrupt:
        _fail("interrupted", 130)
    except BrokenPipeError:
        sys.exit(0)
    except Exception as exc:  # a bug: still one line unless --debug, and never "a check failed"
        if debug:
            _print_traceback()
            sys.exit(EXIT_INTERNAL_ERROR)
        import shlex

        _fail(f"internal error: {type(exc).__name__}: {exc}; this is a bug in derive, please "
              f"report it with the command: derive {shlex.join(argv)} (run with --debug for the "
              f"traceback)", EXIT_INTERNAL_ERROR)
    sys.exit(rv if isinstance(rv, int) else 0)
