"""How derive expr does on the textbook corpus (tests/data/textbook_derivatives.txt).

Each problem is differentiated in-process the way ``derive expr --show-steps`` does it
(every line verified) and compared with ``sympy.diff``; a higher derivative (its variables
listed: ``x x | …`` is f″, ``x y | …`` is ∂²f/∂y∂x) as ``--order 2`` or ``--mixed x,y`` asks
for it, compared with ``sympy.diff(f, x, x)`` or ``sympy.diff(f, x, y)``. Prints the share solved, the median,
90th percentile and largest times (wall and CPU: the CPU time is what a busy machine does not
inflate), and a problem refused or wrong is listed.

It also measures how often terms change place between consecutive lines. The lines of a
derivation are the right-hand sides of its equations as ``--format json`` prints them, from the
definition ``f = …`` to the result. Two consecutive lines *move a term* when the additive terms
common to both do not keep their relative order. The additive terms of a line are every term of
every sum at every depth of brackets, each without its sign, compared as printed strings
(not by depth: a term a rule puts one bracket deeper has not moved) (so a term counts only while it is unchanged); lone numbers and one-letter
symbols are left out (``bench_term_order.pieces``). The terms common to both lines are their
multiset intersection; they keep their order when the longest common subsequence of the two
lines' terms is as long as that intersection. A term dropped (``d/dx[1] = 0``) or rewritten moves
nothing. The share is over the derivations of more than two lines (the definition, d/dx[f], and
at least one rule). The figure by ``bench_term_order.moved``'s stricter rule (which also counts a
rewritten term passing a finished one) is printed beside it.

    python benchmarks/bench_textbook.py            # figures, failures, and each derivation that moves a term
    python benchmarks/bench_textbook.py --quiet    # figures and failures only
    python benchmarks/bench_textbook.py --corpus tests/data/textbook_derivatives2.txt   # another corpus
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "benchmarks")]

from bench_term_order import moved, terms_moved  # noqa: E402
from textbook import CORPUS, derivation, judge, load  # noqa: E402

from derive.errors import DeriveError  # noqa: E402
from derive.render.json import as_dict  # noqa: E402


def printed_lines(d) -> list[str]:
    """The right-hand sides of ``d``'s equations as ``--format json`` prints them."""
    return [s["text"].split(" = ", 1)[1] for s in as_dict(d)["steps"] if s["kind"] == "equation"]


def _spread(times: list[float]) -> str:
    return (f"median {statistics.median(times):.3f} s, 90th percentile "
            f"{sorted(times)[int(0.9 * len(times))]:.3f} s, max {max(times):.3f} s")


def main(argv=None) -> int:
    args = sys.argv[1:] if argv is None else argv
    quiet = "--quiet" in args
    corpus = load(args[args.index("--corpus") + 1]) if "--corpus" in args else CORPUS
    wall, cpu, failures, moves, strict, multi = [], [], [], [], 0, 0
    for problem in corpus:
        start, start_cpu = time.perf_counter(), time.process_time()
        try:
            d = derivation(problem)
        except DeriveError as err:
            d, outcome = None, f"refused: {err}"
        else:
            outcome = judge(d, problem)
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
        if outcome is not None:
            failures.append((problem, outcome))
        if d is None:
            continue
        lines = printed_lines(d)
        if len(lines) > 2:      # the definition, d/dx[f], and at least one more
            multi += 1
            pair = next(((a, b) for a, b in zip(lines, lines[1:]) if terms_moved(a, b)), None)
            if pair is not None:
                moves.append((problem, pair))
            strict += any(moved(a, b) for a, b in zip(lines, lines[1:]))
    solved = len(corpus) - len(failures)
    print(f"problems: {len(corpus)}")
    print(f"solved and equal to sympy.diff: {solved} ({100 * solved / len(corpus):.1f}%)")
    print(f"wrong: {sum(o.startswith('wrong') for _, o in failures)}, "
          f"refused: {sum(o.startswith('refused') for _, o in failures)}")
    print(f"time per problem (wall): {_spread(wall)}")
    print(f"time per problem (CPU):  {_spread(cpu)}")
    slowest = max(range(len(cpu)), key=cpu.__getitem__)
    print(f"slowest (CPU): {corpus[slowest].text!r} ({cpu[slowest]:.3f} s)")
    print(f"terms change place between consecutive lines: {len(moves)} of {multi} multi-line "
          f"derivations ({100 * len(moves) / max(multi, 1):.1f}%); by bench_term_order's stricter "
          f"rule {strict} ({100 * strict / max(multi, 1):.1f}%)")
    for problem, outcome in failures:
        print(f"FAILED {problem.text!r} wrt {problem.wrt}: {outcome}")
    if not quiet:
        for problem, (a, b) in moves:
            print(f"MOVES {problem.text!r}:\n    {a}\n  → {b}")
    return 0 if not failures else 1


if __name__ == "__main__":
    raise SystemExit(main())
