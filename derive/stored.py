"""The built-in models' default derivations and computation graphs, shipped with the package
(``derive/derivations.pickle``), so that a first run with an empty cache renders them instead of
building them.

A model's derivation with its default options is a pure function of this package's source,
SymPy's version and Python's: ``python -m derive.shipped`` builds every model with the cache
turned off (each line proved afresh) and writes each derivation, and each computation graph,
under the digest of the package's whole source (``derive.cache``, which covers SymPy's version)
and Python's version. At run time, with the cache on, ``Model.derivation`` and ``graph_for``
take a model's from this file when, and only when:

- the file's key is the current one (any changed ``.py`` file, another SymPy or Python: built);
- the model is a built-in one with its default options (any other option: built);
- the cache is on (``DERIVE_NO_CACHE=1``, as in the suite, builds and verifies everything).

The file is read only from the installed package, beside its ``.py`` files and as trusted as
they are; never from the user's cache folder. Everything the renderers read is in it (a
result's checkable forms and the sides of a deferred check are worked out before storing), so
every format and language is rendered from one stored derivation. Beside each derivation and
graph is what ``printing.text`` and ``printing.latex`` printed of its formulas when the file was
written, in every format and language (``with_printed``; most of a render's time, most of all
the notes'): printed by the same source and SymPy (the file's key), and given back only for the
very objects read with it (``printing._PRINTED``). The suite
(tests/test_stored_derivations.py) renders every stored derivation and graph in every format and
language and compares the bytes with a fresh build's.

The file is one text line (magic, key), one JSON line (the index: name → offset and length of
its pickle) and the pickles (protocol 5; SymPy supports no text protocol), not compressed: git
deltas it against its previous version and compresses it itself, as a wheel does. SymPy pickles an
object as its class and arguments and runs its constructor again when loading it, which
evaluates (2·3 written unevaluated would come back as 6) and even under ``evaluate(False)``
rewrites some (a Sum of x comes back as a Sum of 1·x): an object is stored instead as its class,
arguments and slots and rebuilt from them without its constructor, and only when that gives it
back equal (else as SymPy does, loaded under ``evaluate(False)``, again only when equal).
"""

from __future__ import annotations

import dataclasses
import json
import pickle
import sys
from functools import lru_cache
from pathlib import Path

from . import cache

FILE = "derivations.pickle"
_MAGIC = "derive-derivations 2"
# the kinds stored with what was printed of their formulas (``with_printed``)
PRINTED = ("derivation", "graph")


def key() -> str:
    """What the stored objects were computed from: the package's source with SymPy's version,
    and Python's feature version (the pickles' classes and the language's semantics)."""
    return f"{cache._source_digest()} python{sys.version_info[0]}.{sys.version_info[1]}"


def path() -> Path:
    """The file, beside this module in the installed package."""
    return Path(__file__).with_name(FILE)


def _index(raw: bytes) -> tuple[str, dict, int]:
    """The file's key, its index, and where the pickles start."""
    header, _, rest = raw.partition(b"\n")
    if not header.startswith(f"{_MAGIC} ".encode("ascii")):
        return "", {}, 0
    line, _, _ = rest.partition(b"\n")
    return header[len(_MAGIC) + 1:].decode("ascii"), json.loads(line), len(header) + len(line) + 2


@lru_cache(maxsize=1)
def _file() -> tuple[bytes, dict, int] | None:
    """The file's bytes, index and data offset when its key is the current one, else None."""
    try:
        raw = path().read_bytes()
        stored_key, index, start = _index(raw)
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    return (raw, index, start) if stored_key == key() else None


@lru_cache(maxsize=None)
def read(kind: str, name: str):
    """The stored ``kind`` ("derivation", "prose" or "graph") of model ``name``, or None when the file
    is missing, has another key, or does not hold it. Objects are shared: they are frozen."""
    import sympy

    found = _file()
    if found is None or f"{kind} {name}" not in found[1]:
        return None
    raw, index, start = found
    offset, length = index[f"{kind} {name}"]
    with sympy.evaluate(False):
        obj = pickle.loads(raw[start + offset:start + offset + length])
    if kind in PRINTED:
        from . import printing

        obj, printed = obj
        printing.remember_printed(printed)
    return obj


def holds_graph(model) -> bool | None:
    """Whether the store holds a computation graph of ``model``, when the store may be used for
    it and holds its derivation (it was written with a graph for exactly the models that have
    one); None when it cannot say."""
    if cache.folder() is None or not _defaults(model):
        return None
    found = _file()
    if found is None or f"derivation {model.name}" not in found[1]:
        return None
    return f"graph {model.name}" in found[1]


def _defaults(model) -> bool:
    """Whether ``model`` is a built-in model with its default options."""
    from .errors import DeriveError
    from .models import registry

    try:
        cls = registry.get(model.name)
    except DeriveError:   # a model of the user's own, under a name the package does not know
        return False
    return type(model) is cls and model.values == cls().values


def derivation(model):
    """The stored derivation of ``model``, when the store may be used for it (see the module's
    docstring), else None; the display order of the formulas in its prose is remembered from the
    store as well (``prose_orders``)."""
    if cache.folder() is None or not _defaults(model):
        return None
    found = read("derivation", model.name)
    if found is not None:
        _remember(read("prose", model.name) or {})
    return found


def _remember(arranged: dict) -> None:
    """Stored arrangements of formulas shown on their own, added to the memo ``printing.arrange``
    keeps for them (one it has worked out itself is kept)."""
    from . import printing

    memo = printing._NO_ORDER._arranged
    for key, value in arranged.items():
        memo.setdefault(key, value)


def graph(model, d) -> object | None:
    """The stored computation graph of ``model`` drawn from derivation ``d`` (None: the
    model's own), when the store may be used for it, else None."""
    if cache.folder() is None or not _defaults(model):
        return None
    if d is not None and d is not read("derivation", model.name):
        return None   # drawn from another derivation
    return read("graph", model.name)


def settled(d):
    """``d`` with everything a renderer or ``verify`` reads worked out: results' checkable
    forms (``Later``s) and deferred check pairs, which hold closures and cannot be stored."""
    from .verify import Deferred

    def pair(check):
        return tuple(check) if isinstance(check, Deferred) else check

    results = []
    for r in d.results:
        # reading a Later field works it out
        results.append(dataclasses.replace(r, value=r.value, of=r.of, check=pair(r.check)))
    steps = tuple(dataclasses.replace(s, check=pair(s.check)) for s in d.steps)
    return dataclasses.replace(d, steps=steps, results=tuple(results))


def prose_orders(d) -> dict:
    """Renders ``d`` once in every format and language, and gives the arrangements of the
    formulas shown without a line's ``Order`` (those of its sentences, left-hand sides).

    The display order of each formula of a line (``printing.arrange``, a function of the formula
    alone under a derivation's ``Order``) is then remembered in the Orders stored with ``d``, and
    not worked out again by a run that renders it. The others are remembered in one module-level
    Order without ranks, where the arrangement is a function of the formula alone (and of SymPy's
    switches, in its key): they are stored beside ``d`` and given back to that memo when ``d`` is
    read. They are worked out here in a fresh Order, so that they are all of ``d``'s and only
    ``d``'s."""
    from . import printing

    kept, printing._NO_ORDER = printing._NO_ORDER, printing.Order()
    try:
        for fmt in ("text", "latex", "markdown", "json", "html"):
            for lang in ("en", "zh"):
                d.render(fmt, lang=lang, show_steps=True, verbose=True)
        return dict(printing._NO_ORDER._arranged)
    finally:
        printing._NO_ORDER = kept


def with_printed(obj, render) -> tuple:
    """``obj`` (a derivation or a graph) and what ``render(obj)`` printed of its own formulas
    (``printing.text`` and ``printing.latex``), stored together so that the formulas read back
    are the very objects the printed text belongs to (``printing._PRINTED``). A formula
    ``render`` made on the way is not kept: it is not part of ``obj``."""
    import io

    from . import printing

    printing._recording = seen = []
    try:
        render(obj)
    finally:
        printing._recording = None
    pickler = _Parts(io.BytesIO(), protocol=5)
    pickler.dump(obj)
    mine = pickler.parts
    kept = {(kind, id(expr), partial, id(order), switches): (kind, expr, partial, order, switches, out)
            for kind, expr, partial, order, switches, out in seen
            if id(expr) in mine and (order is None or id(order) in mine)}
    return obj, list(kept.values())


def _raw(cls, args: tuple, slots: dict | None = None):
    """An instance of SymPy class ``cls`` with arguments ``args`` and the values ``slots`` of its
    own slots, its constructor not run."""
    import sympy

    obj = sympy.Basic.__new__(cls, *args)
    for name, value in (slots or {}).items():
        setattr(obj, name, value)
    return obj


def _slots(obj) -> dict:
    """The values of the slots ``obj``'s classes add to ``sympy.Basic``'s (Sum's is_commutative)."""
    import sympy

    basic = set(sympy.Basic.__slots__)
    names = {n for c in type(obj).__mro__ for n in getattr(c, "__slots__", ()) if n not in basic}
    return {n: getattr(obj, n) for n in sorted(names) if hasattr(obj, n)}


class _Pickler(pickle.Pickler):
    """Pickles a SymPy object as its class, arguments and slots, rebuilt without running its
    constructor (which would rewrite some: a Sum of x comes back as a Sum of 1·x; and costs
    twice the time), when that gives it back equal; else as SymPy does (its constructor run
    again when loading, under ``evaluate(False)``), when that gives it back equal; else not."""

    def reducer_override(self, obj):
        import sympy

        if not isinstance(obj, sympy.Basic) or obj.is_Atom:
            return NotImplemented
        slots = _slots(obj)
        # all of such an object must be in its arguments and slots: no attributes besides
        if not getattr(obj, "__dict__", None) and _raw(type(obj), obj.args, slots) == obj:
            return _raw, (type(obj), obj.args, *([slots] if slots else []))
        with sympy.evaluate(False):
            again = type(obj)(*obj.args)
        if type(again) is type(obj) and again == obj:
            return NotImplemented
        raise ValueError(f"cannot store {sympy.srepr(obj)}: its arguments do not make it again")


class _Parts(_Pickler):
    """Notes the id of every object it stores (a SymPy object, an Order) in ``parts``."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.parts: set = set()

    def reducer_override(self, obj):
        self.parts.add(id(obj))
        return super().reducer_override(obj)


def text(objects: dict) -> bytes:
    """The file's bytes for ``objects``: (kind, name) → object."""
    import io

    blobs, index, offset = [], {}, 0
    for (kind, name), obj in objects.items():
        out = io.BytesIO()
        _Pickler(out, protocol=5).dump(obj)
        blob = out.getvalue()
        index[f"{kind} {name}"] = [offset, len(blob)]
        blobs.append(blob)
        offset += len(blob)
    head = f"{_MAGIC} {key()}\n{json.dumps(index, sort_keys=True)}\n".encode("ascii")
    return head + b"".join(blobs)
