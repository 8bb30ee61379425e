"""Matrix calculus under renamed letters and other spellings of the same expression.

Every entry of the two lists (``tests/data/matrix_cookbook.txt``, ``matrix_literature.txt``) gives
variants that a reader would call the same identity:

* its letters renamed consistently (matrices to other capitals, vectors to other small letters or
  to Greek names as θ), in several permutations, among them ones that turn the names' alphabetical
  order round (the printed order must follow the expression, not the alphabet);
* its sizes renamed (m, n → N, d, …) or made numbers;
* the same expression spelled otherwise: ``transpose(x)`` for ``x.T``, ``norm(E)**2`` for
  ``sum((E)**2)`` and back, ``norm(E)**2`` for ``(E).T @ (E)``, ``(M @ v).T @ u`` for
  ``u.T @ M @ v``, ``(B.T @ A).T`` for ``A.T @ B``.

A renamed variant must print the entry's form with the same renaming applied; a respelled one the
entry's own form; both must give NumPy code that agrees with finite differences and the shape.
The suite runs a fixed sample; ``benchmarks/bench_matrix.py --variants`` runs them all.
"""

from __future__ import annotations

import dataclasses
import re

import pytest

from derive.printing import unicode_name
from test_matrix import FUNCTIONS
from test_matrix_cookbook import CORPUS, ENTRIES, Entry, check_entry, load

LITERATURE_LIST = CORPUS.parent / "matrix_literature.txt"
WORDS = set(FUNCTIONS) | {"T", "axis", "sigmoid"}
NAME = re.compile(r"\b[A-Za-z_]\w*\b")
# the letters of a displayed form: Latin and Greek runs (ᵀ, ⁻¹ and subscripts are not letters here)
SHOWN = re.compile(r"[A-Za-zα-ωΑ-Ω]+")
UPPER = ["W", "B", "P", "Q", "M", "K", "Z", "G", "H", "U", "R", "V", "L", "C", "D", "E", "N", "S", "Y"]
LOWER = ["v", "t", "u", "z", "c", "g", "r", "s", "a", "b", "f", "x", "w", "y"]
GREEK = ["theta", "beta", "gamma", "alpha", "rho", "tau", "nu", "eta"]
SIZE_NAMES = ["N", "d", "K", "r", "s", "t"]
NUMBERS = {"m": "5", "n": "4", "k": "3", "h": "6", "p": "2", "q": "7"}


def names(entry: Entry) -> list:
    """The entry's names (arrays and scalars), in order of first appearance in the expression."""
    shaped = [o.split("=")[0] for o in entry.shapes]
    seen = [n for n in NAME.findall(entry.text) if n not in WORDS and not n.isdigit()]
    return list(dict.fromkeys(seen + shaped + [entry.wrt]))


def sizes(entry: Entry) -> list:
    return list(dict.fromkeys(s for o in entry.shapes for s in o.split("=")[1].split(",") if not s.isdigit()))


def _renamed(entry: Entry, mapping: dict, how: str) -> Entry:
    """The entry with every name of ``mapping`` replaced, in the input, the shapes and the forms."""
    def text(s):
        return NAME.sub(lambda m: mapping.get(m.group(), m.group()) if m.group() not in WORDS else m.group(), s)
    shown = {unicode_name(k): unicode_name(v) for k, v in mapping.items()}

    def form(s):
        return SHOWN.sub(lambda m: shown.get(m.group(), m.group()), s)

    def shape(s):
        return " × ".join("·".join(mapping.get(w, w) for w in side.split("·")) for side in s.split(" × "))
    shapes = tuple(f"{mapping.get(n, n)}={','.join(mapping.get(s, s) for s in dims.split(','))}"
                   for n, dims in (o.split("=") for o in entry.shapes))
    return dataclasses.replace(
        entry, text=text(entry.text), shapes=shapes, wrt=mapping.get(entry.wrt, entry.wrt),
        onehot=tuple(mapping.get(n, n) for n in entry.onehot), signs=tuple(mapping.get(n, n) for n in entry.signs),
        forms=tuple(form(f) for f in entry.forms), result_shapes=tuple(shape(s) for s in entry.result_shapes),
        source=f"{how}: {entry.source}")


def _letters(entry: Entry, arrange) -> dict:
    """Capitals to capitals, small letters to small letters, long names to Greek names: within each
    class the old names in alphabetical order take the new ones in the order ``arrange(k)`` (a
    permutation of range(k)) of their alphabetical order, so that the alphabet's order of the names
    is kept, turned round or rotated."""
    taken = set(names(entry)) | set(sizes(entry))
    mapping = {}
    for kind, pool in (("upper", UPPER), ("lower", LOWER), ("long", GREEK)):
        own = sorted(n for n in names(entry) if (len(n) > 1 and kind == "long")
                     or (len(n) == 1 and n.isupper() == (kind == "upper") and kind != "long"))
        new = sorted(p for p in pool if p not in taken)[:len(own)]
        mapping.update((old, new[i]) for old, i in zip(own, arrange(len(own))))
    return mapping


def _greek_vectors(entry: Entry) -> dict:
    """The brief's own example: X → W, A → B, w → θ, x → v, y → t; others as they fall."""
    wanted = {"X": "W", "A": "B", "w": "theta", "x": "v", "y": "t"}
    own = names(entry) + sizes(entry)
    mapping = {k: v for k, v in wanted.items() if k in own and v not in own}
    rest = [n for n in own if n not in mapping and n in wanted]
    spare = [p for p in GREEK + LOWER if p not in own and p not in mapping.values()]
    mapping.update(zip(rest, spare))
    return mapping


def _sizes(entry: Entry, numeric: bool) -> dict:
    own = sizes(entry)
    if numeric:
        # the mean's m stays a scalar name of the expression when its size becomes a number
        return {s: NUMBERS[s] for s in own}
    free = [s for s in SIZE_NAMES if s not in names(entry) and s not in own]
    return dict(zip(own, free))


def _balanced(text: str, start: int) -> int:
    """The index just past the bracket group opening at ``text[start]``."""
    depth = 0
    for i in range(start, len(text)):
        depth += {"(": 1, ")": -1}.get(text[i], 0)
        if depth == 0:
            return i + 1
    raise ValueError(text)


def _top_level(text: str, chars: str) -> bool:
    """Whether ``text`` has one of ``chars`` outside brackets."""
    depth = 0
    for c in text:
        depth += {"(": 1, ")": -1}.get(c, 0)
        if depth == 0 and c in chars:
            return True
    return False


def spellings(text: str) -> list:
    """Other spellings of the expression ``text``, each as (how, text)."""
    out = []
    if re.search(r"\b\w+\.T\b", text):
        out.append(("transpose()", re.sub(r"\b(\w+)\.T\b", r"transpose(\1)", text)))
    for m in re.finditer(r"sum\(\(", text):
        end = _balanced(text, m.start() + 4)
        if text[end:end + 4] == "**2)":
            out.append(("norm for sum of squares", text[:m.start()] + "norm(" + text[m.start() + 5:end - 1] + ")**2"
                        + text[end + 4:]))
            break
    m = re.search(r"norm\(", text)
    if m and text[_balanced(text, m.end() - 1):].startswith("**2"):
        end = _balanced(text, m.end() - 1)
        out.append(("sum of squares for norm", text[:m.start()] + "sum((" + text[m.end():end - 1] + ")**2)"
                    + text[end + 3:]))
    m = re.match(r"\(([^()]*)\)\.T @ \(\1\)", text)
    if m:
        out.append(("norm for (E)ᵀ(E)", "norm(" + m.group(1) + ")**2" + text[m.end():]))
    m = re.match(r"(\w+)\.T @ (.+)$", text)
    if m and not _top_level(m.group(2), "+-*/") and "@" in m.group(2):
        out.append(("(M·v)ᵀ·u for uᵀ·M·v", f"({m.group(2)}).T @ {m.group(1)}"))
    m = re.search(r"\b(\w+)\.T @ (\w+)\b(?!\.T|\()", text)
    if m and not text.startswith(m.group()):
        out.append(("(Bᵀ·A)ᵀ for Aᵀ·B", text[:m.start()] + f"({m.group(2)}.T @ {m.group(1)}).T" + text[m.end():]))
    return out


def variants(entry: Entry) -> list:
    """Every variant of ``entry``: renamed letters (three ways), renamed and numeric sizes, spellings."""
    out = [
        _renamed(entry, _letters(entry, lambda k: range(k)), "letters, order kept"),
        _renamed(entry, _letters(entry, lambda k: range(k - 1, -1, -1)), "letters, order reversed"),
        _renamed(entry, _letters(entry, lambda k: [*range(1, k), 0][:k]), "letters, order rotated"),
        _renamed(entry, _greek_vectors(entry), "X→W, A→B, w→θ, x→v, y→t"),
        _renamed(entry, _sizes(entry, numeric=False), "sizes renamed"),
    ]
    if all(s in NUMBERS for s in sizes(entry)):
        out.append(_renamed(entry, _sizes(entry, numeric=True), "sizes numeric"))
    for how, text in spellings(entry.text):
        out.append(dataclasses.replace(entry, text=text, source=f"{how}: {entry.source}"))
    # a renaming that changes nothing is no variant, nor one that another gave already
    unique = {(v.text, v.shapes, v.wrt): v for v in reversed(out) if v.text != entry.text or v.shapes != entry.shapes}
    return list(reversed(unique.values()))


def every_variant() -> list:
    return [v for path in (CORPUS, LITERATURE_LIST) for e in load(path) for v in variants(e)]


def judge(variant: Entry) -> list:
    """What is wrong with the variant's derivation, in words (empty when nothing)."""
    from derive.errors import DeriveError
    try:
        d = variant.derivation()
    except DeriveError as err:
        return [f"refused: {err}"]
    if d.failed:
        return ["a line failed its check"]
    return check_entry(variant, d.to_json()["results"], seed=len(variant.text))


# A fixed sample: Cookbook (107) with its letters' alphabetical order turned round (the bracket
# must still read (X·B + B·X)ᵀ in the new names), a mean over numeric sizes ((2/5)·…, bracketed as
# (2/m)·…), and two respellings.
SAMPLE = [
    ("trace(X @ X @ B)", "letters, order reversed"),
    ("norm(X @ w - y)**2 / m", "sizes numeric"),
    ("x.T @ A @ x", "(M·v)ᵀ·u for uᵀ·M·v"),
    ("trace(A @ X.T @ B)", "transpose()"),
]


def _sample() -> list:
    everything = ENTRIES + load(LITERATURE_LIST)
    out = []
    for text, how in SAMPLE:
        entry = next(e for e in everything if e.text == text)
        out.append(next(v for v in variants(entry) if v.source.startswith(how + ":")))
    return out


def test_a_renaming_maps_input_shapes_and_forms_alike():
    entry = next(e for e in ENTRIES if e.text == "sum((X @ w - y)**2)/m")
    v = _renamed(entry, {"X": "W", "w": "theta", "y": "t", "m": "N", "n": "d"}, "test")
    assert (v.text, v.shapes, v.wrt) == ("sum((W @ theta - t)**2)/N", ("W=N,d", "theta=d", "t=N"), "theta")
    assert v.forms == ("(2/N)·Wᵀ·(W·θ − t)", "(2/N)·Wᵀ·W") and v.result_shapes == ("d × 1", "d × d")


@pytest.mark.parametrize("variant", _sample(), ids=lambda v: f"{v.text} [{v.source.split(':')[0]}]")
def test_variant_prints_the_renamed_form_and_agrees_with_finite_differences(variant):
    assert judge(variant) == []
