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

From the same builds it writes the derivations and computation graphs themselves
(``derive/derivations.pickle``, see ``derive.stored``), keyed by the digest of the package's
whole source: run it again after changing any of the package's ``.py`` files
(tests/test_stored_derivations.py says when).
"""

from __future__ import annotations

import os
from pathlib import Path

from . import stored, verify


def default_models() -> dict:
    """Model name → the model with its default options, every model."""
    from .models import registry

    return {name: registry.get(name)() for name in registry.names()}


def default_claims(derivations=None) -> dict:
    """Claim digest → how it holds, for every line and result of every model built with its
    default options (proved in this process unless the cache is on), or of ``derivations``."""
    proofs: dict = {}
    for d in derivations or (m.derivation() for m in default_models().values()):
        proofs.update(d.claims)
    return proofs


def _render_derivation(d) -> None:
    """``d`` in every format and language, with its steps (and the words on checking) and
    without: every formula a command or the notes print of it."""
    for fmt in ("text", "latex", "markdown", "json", "html"):
        for lang in ("en", "zh"):
            d.render(fmt, lang=lang, show_steps=True, verbose=True)
            d.render(fmt, lang=lang)


def _render_graph(g) -> None:
    """``g`` in every form a command or the notes draw it, in every language."""
    from .notes import graph_table
    from .render.html import graph_html

    for lang in ("en", "zh"):
        g.to_tikz(lang)
        g.to_dot(lang)
        graph_table(g, lang)
        graph_html(g, lang, "derive")


def main() -> None:
    from .graph import graph_for, has_graph
    from .io import write_atomic

    # every claim proved in this run: none taken from a cache or from the files being replaced
    os.environ["DERIVE_NO_CACHE"] = "1"
    models = default_models()
    built = {name: stored.settled(m.derivation()) for name, m in models.items()}
    path = Path(verify.__file__).with_name(verify.SHIPPED)
    proofs = default_claims(built.values())
    write_atomic(path, verify.shipped_text(proofs))
    print(f"{path}: {len(proofs)} proofs")
    objects = {}
    for name, m in models.items():
        objects["derivation", name] = stored.with_printed(built[name], _render_derivation)
        objects["prose", name] = stored.prose_orders(built[name])
        if has_graph(m):
            objects["graph", name] = stored.with_printed(graph_for(m, derivation=built[name]), _render_graph)
    write_atomic(stored.path(), stored.text(objects))
    print(f"{stored.path()}: {len(objects)} derivations and graphs, {stored.path().stat().st_size} bytes")


if __name__ == "__main__":
    main()
