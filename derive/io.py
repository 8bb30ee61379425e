"""Atomic file output: a reader never sees a half-written file, a failure leaves nothing behind."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .errors import DeriveError


def write_atomic(path: str | os.PathLike, data: str | bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and ``os.replace``.

    Raises
    ------
    DeriveError
        When the folder is missing or not writable; no partial file is left.
    """
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise DeriveError(f"cannot write {target}: folder {folder} does not exist")
    if target.is_dir():
        raise DeriveError(f"cannot write {target}: it is a folder")
    raw = data.encode("utf-8") if isinstance(data, str) else data
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise DeriveError(f"cannot write {target}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
        os.replace(tmp, target)
    except OSError as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise DeriveError(f"cannot write {target}: {exc.strerror}") from None
