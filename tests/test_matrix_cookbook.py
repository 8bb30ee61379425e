"""Matrix calculus against the Matrix Cookbook and the course notes: the list in
``tests/data/matrix_cookbook.txt`` (traces, determinants, inverses, first- and second-order forms,
norms, least squares, ridge, the logistic loss with 0/1 and ±1 labels, softmax cross-entropy, one
layer of an MLP, Hessians), each entry with the matrix form and shape those sources print.

``check_entry`` is the whole judgement of one entry: the command exits 0, the JSON ``numpy`` code
agrees with central finite differences of the expression (evaluated by NumPy here) at seeded random
arrays, the shapes are the stated ones, and the displayed forms are the expected ones (spaces and
the product dot aside). The suite runs a representative subset; ``benchmarks/bench_matrix.py
--corpus`` runs every entry, through the command, and times each cold.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from derive.matrix import matrix_derivation
from numeric.matrix_fd import check_matrix_gradient
from test_matrix import _central, _eval

CORPUS = Path(__file__).resolve().parent / "data" / "matrix_cookbook.txt"
# the sizes of the random arrays; a scalar name (lam, m) gets a value of its own
SIZES = {"m": 5, "n": 4, "k": 3, "h": 3, "p": 2, "q": 3,
         # the renamed sizes of tests/test_matrix_variants.py
         "N": 5, "d": 4, "K": 3, "r": 6, "s": 2, "t": 7}
SCALARS = {"lam": 0.3}
RELATIVE = 1e-6


@dataclass(frozen=True)
class Entry:
    """One line of the list: what is asked and what the Cookbook or the notes print."""

    text: str
    shapes: tuple
    wrt: str
    hessian: bool
    onehot: tuple
    signs: tuple
    forms: tuple       # the gradient's form, then the Hessian's when asked
    result_shapes: tuple
    source: str

    def argv(self) -> list:
        """The ``derive expr`` arguments that ask for this entry."""
        out = [self.text, "--wrt", self.wrt]
        for option in self.shapes:
            out += ["--shape", option]
        out += ["--hessian"] * self.hessian
        for name in self.onehot:
            out += ["--onehot", name]
        for name in self.signs:
            out += ["--signs", name]
        return out

    def derivation(self):
        return matrix_derivation(self.text, list(self.shapes), [self.wrt], hessian=self.hessian,
                                 checker=check_matrix_gradient, onehot=self.onehot, signs=self.signs)


def load(path: Path = CORPUS) -> list:
    """The entries of the list, in file order."""
    entries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        text, shapes, wrt, options, form, shape, h_form, h_shape, source = (f.strip() for f in line.split("|"))
        words = options.split()
        hessian = "hessian" in words
        entries.append(Entry(
            text, tuple(shapes.split()), wrt, hessian,
            tuple(w.split("=")[1] for w in words if w.startswith("onehot=")),
            tuple(w.split("=")[1] for w in words if w.startswith("signs=")),
            (form, h_form) if hessian else (form,), (shape, h_shape) if hessian else (shape,), source))
    return entries


def _same_form(shown: str, expected: str) -> bool:
    def bare(s):
        return s.replace(" ", "").replace("·", "")
    return bare(shown) == bare(expected)


def arrays_for(entry: Entry, seed: int) -> dict:
    """Seeded random arrays for the entry's names: square matrices positive definite (inv and
    log det are defined), labels 0/1, ±1 or one-hot where the expression has them."""
    rng = np.random.default_rng(seed)
    # an unshaped name of the expression is a scalar: a size's value for a size name (the mean's m)
    arrays = {name: float(SIZES[name]) if name in SIZES else SCALARS.get(name, 0.3)
              for name in re.findall(r"\b[A-Za-z_]\w*\b(?!\s*\()", entry.text) if name not in ("axis", entry.wrt)}
    for option in entry.shapes:
        name, dims = option.split("=")
        sizes = [SIZES[s] if s in SIZES else int(s) for s in dims.split(",")]
        shape = (sizes[0], sizes[1] if len(sizes) == 2 else 1)
        a = rng.normal(size=shape)
        if shape[0] == shape[1] and shape[0] > 1:
            a = a @ a.T + shape[0] * np.eye(shape[0])
        arrays[name] = a
    if entry.wrt not in arrays:
        arrays[entry.wrt] = rng.normal(size=(1, 1))     # a scalar variable, as the bias b
    # labels, whatever their name: 0/1 where the text writes (1 − y), ±1 where it writes exp(−y·…)
    for name in re.findall(r"\(1\s*-\s*(\w+)\)", entry.text):
        arrays[name] = (rng.uniform(size=arrays[name].shape) > 0.5).astype(float)
    for name in set(re.findall(r"exp\(-(\w+)\s*\*", entry.text)) | set(entry.signs):
        arrays[name] = np.where(rng.uniform(size=arrays[name].shape) > 0.5, 1.0, -1.0)
    for name in entry.onehot:
        rows, cols = arrays[name].shape
        arrays[name] = (np.eye(cols)[rng.integers(0, cols, rows)] if "axis=1" in entry.text
                        else np.eye(rows)[:, rng.integers(0, rows, cols)])
    return arrays


def _dims(shape: str) -> tuple:
    """"n·k × n·k" → the sizes of SIZES: (12, 12)."""
    def size(word):
        return int(np.prod([SIZES.get(w, 1) if not w.isdigit() else int(w) for w in word.split("·")]))
    rows, cols = shape.split(" × ")
    return size(rows), size(cols)


def check_entry(entry: Entry, results: list, seed: int = 0) -> list:
    """What is wrong with the JSON ``results`` of one entry, in words (empty when nothing)."""
    problems = []
    if len(results) != len(entry.forms):
        return [f"{len(results)} results, expected {len(entry.forms)}"]
    for r, form, shape in zip(results, entry.forms, entry.result_shapes):
        if not _same_form(r["display"], form):
            problems.append(f"form {r['display']!r}, expected {form!r}")
        if r["shape"] != shape:
            problems.append(f"shape {r['shape']!r}, expected {shape!r}")
    arrays = arrays_for(entry, seed)
    x = arrays[entry.wrt]
    gradient = _eval(results[0]["numpy"], arrays) * np.ones_like(x)
    fd = _central(entry.text, entry.wrt, arrays)
    error = np.max(np.abs(gradient - fd)) / max(1.0, np.max(np.abs(fd)))
    if gradient.shape != x.shape or gradient.shape != _dims(entry.result_shapes[0]) or error > RELATIVE:
        problems.append(f"numpy gradient {gradient.shape}, off finite differences by {error:.1e}")
    if entry.hessian:
        # its columns: central differences of the gradient's code, entries of vec(x) stacked by column
        hessian = _eval(results[1]["numpy"], arrays)
        numeric = np.zeros((x.size, x.size))
        for j in range(x.size):
            idx = np.unravel_index(j, x.shape, order="F")
            up, down = dict(arrays), dict(arrays)
            up[entry.wrt], down[entry.wrt] = x.copy(), x.copy()
            up[entry.wrt][idx] += 1e-6
            down[entry.wrt][idx] -= 1e-6
            numeric[:, j] = ((_eval(results[0]["numpy"], up) - _eval(results[0]["numpy"], down)) / 2e-6).ravel(order="F")
        error = np.max(np.abs(hessian - numeric)) / max(1.0, np.max(np.abs(numeric)))
        if hessian.shape != numeric.shape or hessian.shape != _dims(entry.result_shapes[1]) or error > RELATIVE:
            problems.append(f"numpy Hessian {hessian.shape}, off finite differences by {error:.1e}")
    return problems


ENTRIES = load()
# One of each kind (the benchmark runs them all): a trace, an inverse under a trace, a determinant
# of a product, a bilinear form, a norm, a quadratic form whose sign comes outside the bracket,
# least squares written y − X·w, a mean's Hessian, the ±1 logistic mean, two layers' brackets.
SUBSET = ["trace(A @ X.T @ B)", "trace(A @ inv(X) @ B)", "det(A @ X @ B)", "a.T @ X.T @ b", "norm(x - a)",
          "(x - A @ s).T @ W @ (x - A @ s)", "sum((y - X @ w)**2)", "sum((X @ w - y)**2)/m",
          "sum(log(1 + exp(-y*(X@w))))/m", "sum((sigmoid(W @ x + b) - y)**2)", "sum(tanh(W @ X) * V)"]
PICKED = [e for e in ENTRIES if e.text in SUBSET]


@pytest.fixture(scope="module")
def derived():
    """The subset's derivations, each built once when first asked for."""
    cache: dict = {}

    def get(entry):
        if entry not in cache:
            cache[entry] = entry.derivation()
        return cache[entry]
    return get


def test_the_list_is_the_literature_and_the_course():
    assert len(ENTRIES) >= 50 and len({(e.text, e.wrt, e.signs) for e in ENTRIES}) == len(ENTRIES)
    assert all(e.source for e in ENTRIES) and len(PICKED) == len(SUBSET)


@pytest.mark.parametrize("entry", PICKED, ids=lambda e: e.text)
def test_entry_agrees_with_the_cookbook_and_finite_differences(derived, entry):
    d = derived(entry)
    assert not d.failed
    assert check_entry(entry, d.to_json()["results"], seed=len(entry.text)) == []


def test_a_mean_of_a_sum_reads_one_over_m_times_the_sum(derived):
    entry = next(e for e in PICKED if e.text == "sum(log(1 + exp(-y*(X@w))))/m")
    d = derived(entry)
    assert "(1/m)·sum(log(1 + exp(−y ⊙ (X·w))))" in d.render("text", color=False).splitlines()[0]
    assert r"\frac{1}{m} \cdot \operatorname{sum}" in d.render("latex")


def test_the_judge_catches_a_wrong_form_shape_or_gradient():
    entry = next(e for e in ENTRIES if e.text == "trace(A @ X @ B)")
    right = [{"display": "Aᵀ·Bᵀ", "shape": "m × n", "numpy": "A.T @ B.T"}]
    assert check_entry(entry, right) == []
    for wrong in ({"display": "B·A"}, {"shape": "n × m"}, {"numpy": "A.T @ B.T * 1.001"}):
        assert len(check_entry(entry, [{**right[0], **wrong}])) == 1
