"""A cache of rendered derivations, so that a repeated `derive NAME` does not redo the algebra.

The key covers everything the output depends on: the source of this package, the SymPy version,
the model's options and the rendering options. A derivation is verified when it is first built;
the cache only replays bytes a verified build printed. ``DERIVE_NO_CACHE=1`` turns it off;
``DERIVE_CACHE_DIR`` moves it (default: ``$XDG_CACHE_HOME/derive`` or ``~/.cache/derive``).
"""

from __future__ import annotations

import hashlib
import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Callable

from .io import write_atomic


def _folder() -> Path | None:
    if os.environ.get("DERIVE_NO_CACHE") == "1":
        return None
    if os.environ.get("DERIVE_CACHE_DIR"):
        return Path(os.environ["DERIVE_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "derive"


@lru_cache(maxsize=1)
def _source_digest() -> str:
    import sympy

    h = hashlib.sha256(sympy.__version__.encode())
    root = Path(__file__).parent
    for path in sorted(root.rglob("*.py")):
        h.update(str(path.relative_to(root)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def cached_text(parts: dict, build: Callable[[], str]) -> str:
    """``build()``'s text, from the cache when the same ``parts`` were rendered before."""
    folder = _folder()
    if folder is None:
        return build()
    key = hashlib.sha256(
        (_source_digest() + json.dumps(parts, sort_keys=True, default=str)).encode()
    ).hexdigest()
    path = folder / f"{key}.txt"
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        pass
    text = build()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        write_atomic(path, text)
    except Exception:  # a cache that cannot be written is only a slower run
        pass
    return text
