"""How derive expr does on the textbook corpus (tests/data/textbook_derivatives.txt).

Each problem is differentiated in-process the way ``derive expr --show-steps`` does it
(every line verified) and compared with ``sympy.diff``. Prints the share solved and the median
and largest times; a problem refused or wrong is listed.

    python benchmarks/bench_textbook.py
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parents[1] / "tests")]

from textbook import CORPUS, solve  # noqa: E402


def main() -> int:
    times, failures = [], []
    for problem in CORPUS:
        start = time.perf_counter()
        outcome = solve(problem)
        times.append(time.perf_counter() - start)
        if outcome is not None:
            failures.append((problem, outcome))
    solved = len(CORPUS) - len(failures)
    print(f"problems: {len(CORPUS)}")
    print(f"solved and equal to sympy.diff: {solved} ({100 * solved / len(CORPUS):.1f}%)")
    print(f"time per problem: median {statistics.median(times):.3f} s, "
          f"90th percentile {sorted(times)[int(0.9 * len(times))]:.3f} s, max {max(times):.3f} s")
    slowest = max(range(len(times)), key=times.__getitem__)
    print(f"slowest: {CORPUS[slowest].text!r} ({times[slowest]:.3f} s)")
    for problem, outcome in failures:
        print(f"FAILED {problem.text!r} wrt {problem.wrt}: {outcome}")
    return 0 if not failures else 1


if __name__ == "__main__":
    raise SystemExit(main())
