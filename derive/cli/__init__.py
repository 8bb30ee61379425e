"""Command-line interface: a thin layer over the library (see ``app.py`` for the error policy)."""

from .app import cli, main  # noqa: F401
from .output import emit  # noqa: F401
