"""Command-line interface: a thin layer over the library (see ``app.py`` for the error policy)."""

from .app import cli, emit, main  # noqa: F401

# Each module adds its commands to ``cli`` when imported.
from . import commands  # noqa: F401,E402
