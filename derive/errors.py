"""The project's one error type: bad usage or bad input, reported as one line, exit 2."""


class DeriveError(Exception):
    """Bad usage or bad input. The CLI prints ``str(err)`` on one line and exits with 2."""

    exit_code = 2
