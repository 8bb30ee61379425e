"""A cache of rendered derivations, so that a repeated `derive NAME` does not redo the algebra.

The key covers everything the output depends on: the source of this package, the SymPy version,
the model's options and the rendering options. A derivation is verified when it is first built;
the cache only replays bytes a verified build printed, and only when they are whole: each entry
stores the digest of its text and the key it belongs to, and anything else (a truncated, edited
or planted entry, something that is not a regular file) is rebuilt. Entries are written
atomically, so runs sharing the cache never see half an entry. The folder is kept under
``LIMIT_BYTES`` by removing the entries used least recently.

``DERIVE_NO_CACHE=1`` turns it off; ``DERIVE_CACHE_DIR`` moves it (default: the platform's cache
folder: ``$XDG_CACHE_HOME/derive`` or ``~/.cache/derive``, ``~/Library/Caches/derive`` on macOS,
``%LOCALAPPDATA%\\derive\\cache`` on Windows). ``derive cache clear`` empties it.
"""

from __future__ import annotations

import os
import stat
import sys
from functools import lru_cache
from pathlib import Path
from typing import Callable

from .io import write_atomic

LIMIT_BYTES = 64 * 2**20
_MAGIC = "derive-cache 1"


def folder() -> Path | None:
    """Where the cache lives, or None when it is turned off."""
    if os.environ.get("DERIVE_NO_CACHE") == "1":
        return None
    if os.environ.get("DERIVE_CACHE_DIR"):
        return Path(os.environ["DERIVE_CACHE_DIR"])
    home = Path(os.path.expanduser("~"))
    if sys.platform == "darwin":
        return home / "Library" / "Caches" / "derive"
    if sys.platform == "win32" and os.environ.get("LOCALAPPDATA"):
        return Path(os.environ["LOCALAPPDATA"]) / "derive" / "cache"
    return Path(os.environ.get("XDG_CACHE_HOME") or home / ".cache") / "derive"


def entries(where: Path | None = None) -> list[Path]:
    """The cache's entry files, oldest use first."""
    where = where or folder()
    if where is None or not where.is_dir():
        return []
    found = [p for p in where.glob("*.txt") if p.is_file() and not p.is_symlink()]
    return sorted(found, key=lambda p: (p.stat().st_atime, p.name))


def clear() -> tuple[int, int]:
    """Remove every entry, and the C libraries numeric.native built in the folder; returns
    (files removed, bytes freed)."""
    count = size = 0
    where = folder()
    built = sorted((where / "native").glob("*.so")) if where is not None else []
    for path in entries() + [p for p in built if p.is_file() and not p.is_symlink()]:
        try:
            size += path.stat().st_size
            path.unlink()
            count += 1
        except OSError:
            pass
    return count, size


def _sha256(*chunks: bytes) -> str:
    import hashlib  # loading OpenSSL's hashes is left to the commands that use the cache

    h = hashlib.sha256()
    for chunk in chunks:
        h.update(chunk)
    return h.hexdigest()


@lru_cache(maxsize=1)
def _source_digest() -> str:
    root = Path(__file__).parent
    files = sorted(root.rglob("*.py"))
    return _sha256(_sympy_release(),
                   *(part for path in files for part in (str(path.relative_to(root)).encode(), path.read_bytes())))


def _digest(text: str) -> str:
    return _sha256(text.encode("utf-8"))


def _read(path: Path, key: str) -> str | None:
    """The entry's text when it is a whole entry for ``key``, else None."""
    try:
        info = path.lstat()
        if not stat.S_ISREG(info.st_mode) or info.st_size > LIMIT_BYTES:
            return None   # a FIFO, a device, a link or something huge is never read
        raw = path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    header, sep, text = raw.partition("\n")
    if not sep or header != f"{_MAGIC} {key} {_digest(text)}":
        return None
    return text


def _keep_under_limit(where: Path) -> None:
    files = entries(where)
    total = sum(p.stat().st_size for p in files)
    for path in files:
        if total <= LIMIT_BYTES:
            break
        try:
            total -= path.stat().st_size
            path.unlink()
        except OSError:
            pass


def _sympy_release() -> bytes:
    # SymPy's version is read from its release.py, found without importing SymPy (a replay must
    # not pay for that) nor reading package metadata (importlib.metadata alone costs ~50 ms)
    from importlib.util import find_spec

    return Path(find_spec("sympy").origin).with_name("release.py").read_bytes()


@lru_cache(maxsize=None)
def code_digest(*paths: str) -> str:
    """The digest of SymPy's version and of the named files (paths relative to this package,
    or absolute): what a result computed by that code alone depends on."""
    root = Path(__file__).parent
    return _sha256(_sympy_release(), *(part for path in paths for part in (path.encode(), (root / path).read_bytes())))


def _key(parts: dict, code: str | None) -> str:
    import json

    return _sha256(((code or _source_digest()) + json.dumps(parts, sort_keys=True, default=str)).encode())


def load(parts: dict, code: str | None = None) -> str | None:
    """The text stored for ``parts`` (with ``code``: by default the digest of this package's
    source and SymPy's version), when a whole entry is there; None when there is none, it is
    damaged, or the cache is off."""
    where = folder()
    if where is None:
        return None
    key = _key(parts, code)
    return _read(where / f"{key}.txt", key)


def store(parts: dict, text: str, code: str | None = None) -> None:
    """Write ``text`` as the entry for ``parts`` (and ``code``, as ``load``), atomically; a
    cache that cannot be written only makes later runs slower, so a failure is ignored."""
    where = folder()
    if where is None:
        return
    key = _key(parts, code)
    path = where / f"{key}.txt"
    try:
        where.mkdir(parents=True, exist_ok=True)
        if path.is_symlink() or (path.exists() and not path.is_file()):
            path.unlink()   # never write through something planted in the cache
        write_atomic(path, f"{_MAGIC} {key} {_digest(text)}\n{text}")
        _keep_under_limit(where)
    except Exception:
        pass


def cached_text(parts: dict, build: Callable[[], str]) -> str:
    """``build()``'s text, from the cache when the same ``parts`` were rendered before."""
    if folder() is None:
        return build()
    text = load(parts)
    if text is None:
        text = build()
        store(parts, text)
    return text
