"""The project's one error type: bad usage or bad input, reported as one line, exit 2."""

from typing import Optional


class DeriveError(Exception):
    """Bad usage or bad input. The CLI prints ``str(err)`` on one line and exits with 2.

    ``zh`` is the same message in Chinese, in the notes' terms, printed instead under ``--lang zh``
    (``derive.cli.main``); an error without one is printed in English.
    """

    exit_code = 2

    def __init__(self, message: str = "", zh: Optional[str] = None):
        super().__init__(message)
        self.zh = zh


def said(english: str, chinese: str) -> DeriveError:
    """A DeriveError saying ``english``, and ``chinese`` under ``--lang zh``."""
    return DeriveError(english, zh=chinese)
