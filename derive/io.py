"""Writing output files without harming what is there.

A regular file is replaced atomically: a reader never sees half of it, an error or an interrupt
leaves the old file and no temporary file behind, and the file keeps its permission bits (a new
file gets the ones the umask allows). A symlink is followed and its target written; a file with
other hard links is rewritten in place, so that every name still shows the new content; a device,
a FIFO or ``-`` is written as a stream, never replaced.
"""

from __future__ import annotations

import os
import stat
import sys
import tempfile
from pathlib import Path

from .errors import DeriveError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _stream(target, raw: bytes) -> None:
    try:
        if target is None:
            sys.stdout.flush()
            sys.stdout.buffer.write(raw)
            sys.stdout.buffer.flush()
            return
        with open(target, "wb", buffering=0) as fh:
            fh.write(raw)
    except OSError as exc:
        raise DeriveError(f"cannot write {target or 'standard output'}: {exc.strerror}") from None


def write_atomic(path: str | os.PathLike, data: str | bytes) -> None:
    """Write ``data`` to ``path`` (see the module's docstring for what happens to what is there).

    Raises
    ------
    DeriveError
        When the folder is missing or not writable, or ``path`` is a folder; the old file, if
        any, is left as it was.
    """
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if str(path) == "-":
        return _stream(None, raw)
    target = Path(os.path.realpath(path))  # a symlink's target, as a user writing through it means
    try:
        info = target.stat()
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise DeriveError(f"cannot write {path}: {exc.strerror}") from None
    if info is not None and stat.S_ISDIR(info.st_mode):
        raise DeriveError(f"cannot write {path}: it is a folder")
    if info is not None and not stat.S_ISREG(info.st_mode):
        return _stream(target, raw)  # a device or a FIFO: write to it, never replace it
    if info is not None and info.st_nlink > 1:
        return _stream(target, raw)  # keep the other names of this file pointing at it
    folder = target.parent
    if not folder.is_dir():
        raise DeriveError(f"cannot write {path}: folder {Path(path).parent} does not exist")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise DeriveError(f"cannot write {path}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
        os.chmod(tmp, stat.S_IMODE(info.st_mode) if info else 0o666 & ~_umask())
        os.replace(tmp, target)
    except BaseException as exc:  # an error, Ctrl-C or SIGTERM: no temporary file stays behind
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise DeriveError(f"cannot write {path}: {exc.strerror}") from None
        raise
