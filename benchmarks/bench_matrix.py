"""Speed of matrix calculus (``derive expr … --shape``), on two counts:

* the time to a verified matrix-form result (the whole derivation: index form, entrywise lines,
  matrix form, every line checked against ``sympy.diff`` at small sizes, and the NumPy code
  against finite differences) for each example of ``tests/test_matrix.py``: its literature list,
  matrix Hessians, one-hot cross-entropy forms and the one-layer MSE; cold: the tests' settings
  turn the cache of proofs off (``DERIVE_NO_CACHE=1``), so every line is proved in the run;
* the emitted NumPy code against hand-written NumPy for the same gradient, on X 100,000 × 100
  (least squares and the logistic loss): both timed alternately, round after round, medians
  compared, so that a noisy machine slows both alike. The two are first checked to agree.

With ``--corpus`` it judges instead every entry of ``tests/data/matrix_cookbook.txt`` (the Matrix
Cookbook's identities and the course's losses; or of the list named after it, as
``tests/data/matrix_literature.txt``, each with the form and shape those print): the
command ``derive expr … --format json`` run as a user runs it must exit 0, its JSON ``numpy`` code
must agree with central finite differences at seeded random arrays (1e-6 relative), its shapes and
displayed forms must be the list's (spaces and the product dot aside), and the derivation must take
under 1 s of CPU cold (in this process, the proof cache off).

    python benchmarks/bench_matrix.py            # full run (about a minute)
    python benchmarks/bench_matrix.py --quick    # fewer rounds
    python benchmarks/bench_matrix.py --corpus   # the list: pass count, failures, times
    python benchmarks/bench_matrix.py --corpus tests/data/matrix_literature.txt   # the other list
    python benchmarks/bench_matrix.py --variants # both lists renamed and respelled (tests/test_matrix_variants.py)

With ``--variants`` every entry of both lists is judged again under renamed letters (several
permutations, Greek names), renamed and numeric sizes, and other spellings of the same expression:
the renamed form (or, for a spelling, the entry's own form), its shape and finite differences.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from derive.errors import DeriveError  # noqa: E402
from derive.matrix import matrix_derivation  # noqa: E402
from numeric.matrix_fd import check_matrix_gradient  # noqa: E402
from test_matrix import LITERATURE, MATRIX_HESSIANS, MSE, MSE_SHAPES, ONEHOT_FORMS  # noqa: E402
from test_matrix_cookbook import CORPUS, check_entry, load  # noqa: E402
from test_matrix_variants import every_variant, judge  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
COLD_LIMIT = 1.0

# every example: the literature list, Hessians of matrices, one-hot cross-entropy forms, the
# one-layer MSE; as (expression, shapes, variable, Hessian?, one-hot names)
EXAMPLES = ([(text, shapes, wrt, hessian, ()) for text, shapes, wrt, hessian in LITERATURE]
            + [(text, shapes, wrt, True, ()) for text, shapes, wrt, _, _ in MATRIX_HESSIANS]
            + [(text, shapes, wrt, False, ("Y",)) for text, shapes, wrt, _ in ONEHOT_FORMS]
            + [(MSE, MSE_SHAPES, "W", False, ())])

HAND = {
    "least squares": ("sum((X @ w - y)**2)", lambda X, w, y: 2 * (X.T @ (X @ w - y))),
    "logistic": ("-sum(y*log(sigmoid(X@w)) + (1-y)*log(1-sigmoid(X@w)))",
                 lambda X, w, y: X.T @ (1 / (1 + np.exp(-(X @ w))) - y)),
    "logistic yᵀ·": ("-(y.T @ log(sigmoid(X@w)) + (1-y).T @ log(1-sigmoid(X@w)))",
                     lambda X, w, y: X.T @ (1 / (1 + np.exp(-(X @ w))) - y)),
}
SHAPES = ["X=m,n", "w=n", "y=m"]


def derivation_times() -> list:
    """CPU seconds to each verified matrix-form result (the first also pays SymPy's warm-up)."""
    out = []
    for text, shapes, wrt, hessian, onehot in EXAMPLES:
        start = time.process_time()
        d = matrix_derivation(text, shapes, [wrt], hessian=hessian, checker=check_matrix_gradient, onehot=onehot)
        out.append((time.process_time() - start, text, str(d.results[0].display)))
    return out


def numpy_ratio(name: str, rounds: int) -> tuple:
    """Median seconds of the emitted and the hand-written gradient, and their ratio."""
    text, hand = HAND[name]
    code = matrix_derivation(text, SHAPES, ["w"]).to_json()["results"][0]["numpy"]
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100_000, 100))
    w = rng.normal(size=(100, 1)) / 10
    y = (rng.uniform(size=(100_000, 1)) > 0.5).astype(float)
    env = {"np": np, "X": X, "w": w, "y": y}
    emitted = eval(compile(code, "<emitted>", "eval"), env)  # noqa: S307  (derive's own output)
    expected = hand(X, w, y)
    assert np.allclose(emitted, expected, rtol=1e-10, atol=1e-8), name
    compiled = compile(code, "<emitted>", "eval")
    times = {"emitted": [], "hand": []}
    for r in range(rounds):
        order = ("emitted", "hand") if r % 2 == 0 else ("hand", "emitted")
        for which in order:
            start = time.perf_counter()
            if which == "emitted":
                eval(compiled, env)  # noqa: S307
            else:
                hand(X, w, y)
            times[which].append(time.perf_counter() - start)
    e, h = statistics.median(times["emitted"]), statistics.median(times["hand"])
    return code, e, h, e / h


def judge_corpus(path: Path) -> int:
    """Every entry of the list at ``path`` through the command, then timed cold in this process;
    prints one line per entry, the slowest and the pass count, and returns the number that fail."""
    os.environ["DERIVE_NO_CACHE"] = "1"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    passed = 0
    entries = load(path)
    slowest = (0.0, "")
    for entry in entries:
        run = subprocess.run([sys.executable, "-m", "derive", "expr", *entry.argv(), "--format", "json"],
                             capture_output=True, text=True, env=env, cwd=ROOT)
        problems = [f"exit {run.returncode}: {run.stderr.strip()[:120]}"] if run.returncode else []
        if not problems:
            try:
                problems = check_entry(entry, json.loads(run.stdout)["results"])
            except (ValueError, TypeError, KeyError, NameError, SyntaxError, ArithmeticError) as err:
                problems = [f"the JSON numpy code does not evaluate: {err}"[:160]]
        start = time.process_time()
        try:
            entry.derivation()
        except DeriveError:
            pass     # refused: the command's exit status above says so
        seconds = time.process_time() - start
        slowest = max(slowest, (seconds, f"{entry.text} (∂/∂{entry.wrt})"))
        if seconds >= COLD_LIMIT:
            problems.append(f"{seconds:.2f} s cold")
        passed += not problems
        print(f"  {'ok  ' if not problems else 'FAIL'} {seconds:5.2f} s  {entry.text} (∂/∂{entry.wrt})"
              + "".join(f"\n         {p}" for p in problems), flush=True)
    print(f"slowest {slowest[0]:.2f} s cold: {slowest[1]}")
    print(f"{passed}/{len(entries)} entries of {path.name} pass")
    return len(entries) - passed


def judge_variants() -> int:
    """Every variant of both lists, in this process; prints the failures and the pass count, and
    returns the number that fail."""
    variants = every_variant()
    failed = 0
    for v in variants:
        problems = judge(v)
        if problems:
            failed += 1
            print(f"  FAIL {v.text} (∂/∂{v.wrt}; {' '.join(v.shapes)}) [{v.source.split(':')[0]}]"
                  + "".join(f"\n         {p}" for p in problems), flush=True)
    print(f"{len(variants) - failed}/{len(variants)} variants pass")
    return failed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    parser.add_argument("--corpus", nargs="?", const=CORPUS, type=Path, metavar="FILE",
                        help="judge every entry of a list (default tests/data/matrix_cookbook.txt)")
    parser.add_argument("--variants", action="store_true", help="judge both lists renamed and respelled")
    args = parser.parse_args()
    if args.variants:
        sys.exit(1 if judge_variants() else 0)
    if args.corpus:
        sys.exit(1 if judge_corpus(args.corpus) else 0)
    rounds = 5 if args.quick else 21
    print("time to a verified matrix-form result (CPU seconds)")
    times = derivation_times()
    for seconds, text, display in times:
        print(f"  {seconds:5.2f}  {text:58s} {display}")
    print(f"  max {max(s for s, _, _ in times):.2f} s, median {statistics.median(s for s, _, _ in times):.2f} s")
    print(f"emitted NumPy against hand-written NumPy, X 100,000 × 100, median of {rounds} rounds")
    for name in HAND:
        code, e, h, ratio = numpy_ratio(name, rounds)
        print(f"  {name:14s} emitted {e * 1e3:7.1f} ms  hand {h * 1e3:7.1f} ms  ratio {ratio:.2f}  ({code})")


if __name__ == "__main__":
    main()
