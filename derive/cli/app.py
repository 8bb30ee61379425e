"""The `derive` command group and its one error policy.

Every command body parses flags, calls the library, and prints. Errors are handled here once:
bad usage or bad input prints one line on stderr and exits 2; ``--debug`` (or ``DERIVE_DEBUG=1``)
shows the traceback instead.
"""

from __future__ import annotations

import os
import sys
import traceback
from typing import NoReturn

import click

from ..errors import DeriveError
from . import check_grad, check_steps, expr, model_command, notes, train


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
            from ..models import registry

            raise DeriveError(
                f"unknown model or command {name!r}; models: {', '.join(registry.names())}; "
                f"commands: {', '.join(sorted(self.commands))}"
            )
        return super().resolve_command(ctx, args)


@click.group(cls=DeriveGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show the full traceback on errors.")
@click.version_option(package_name="derive-gradients", prog_name="derive")
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
                 check_grad.check_grad, check_steps.check_steps):
    cli.add_command(_command)


def _debug_requested(argv) -> bool:
    return "--debug" in argv or os.environ.get("DERIVE_DEBUG") == "1"


def _fail(message: str, code: int) -> NoReturn:
    message = " ".join(str(message).split()) or "error"
    click.echo(f"derive: error: {message}", err=True)
    sys.exit(code)


def main(argv=None) -> None:
    """Console entry point: run the group under the error policy."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = _debug_requested(argv)
    try:
        rv = cli.main(args=argv, prog_name="derive", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        _fail("aborted", 1)
    except click.ClickException as exc:  # usage errors, bad parameters
        if debug:
            traceback.print_exc()
        _fail(exc.format_message(), 2)
    except DeriveError as exc:
        if debug:
            traceback.print_exc()
        _fail(str(exc), exc.exit_code)
    except KeyboardInterrupt:
        _fail("interrupted", 130)
    except BrokenPipeError:
        sys.exit(0)
    except Exception as exc:  # a bug: still one line unless --debug
        if debug:
            traceback.print_exc()
            sys.exit(1)
        _fail(f"internal error: {type(exc).__name__}: {exc} (run with --debug for the traceback)", 1)
    sys.exit(rv if isinstance(rv, int) else 0)
