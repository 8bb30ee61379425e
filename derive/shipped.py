"""The proofs shipped with the package (``derive/proofs.txt``), so that a first run, with an
empty cache, does not prove the lines every installation would prove the same way.

``python -m derive.shipped`` builds every model with its default options with the cache turned
off, so that each line is proved afresh (none is taken from a cache or from the file it
replaces), and writes the claims they made with how each holds, under the digest of the checking
code (``derive.verify.CHECKED_BY``) and SymPy's version. ``derive.verify`` reads the file only
when that digest is its own, and looks a line up by the digest of its exact claim, so a changed
line or a changed checker is proved afresh. The suite (tests/test_shipped_proofs.py) compares
the file with the claims the current models make, line for line: run this module again after
changing a model, the engine or the checking code.
"""

from __future__ import annotations

import os
from pathlib import Path

from . import verify


def default_claims() -> dict:
    """Claim digest → how it holds, for every line and result of every model built with its
    default options (proved in this process unless the cache is on)."""
    from .models import registry

    proofs: dict = {}
    for name in registry.names():
        proofs.update(registry.get(name)().derivation().claims)
    return proofs


def main() -> None:
    from .io import write_atomic

    # every claim proved in this run: none taken from a cache or from the file being replaced
    os.environ["DERIVE_NO_CACHE"] = "1"
    path = Path(verify.__file__).with_name(verify.SHIPPED)
    proofs = default_claims()
    write_atomic(path, verify.shipped_text(proofs))
    print(f"{path}: {len(proofs)} proofs")


if __name__ == "__main__":
    main()
