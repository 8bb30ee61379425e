"""How often terms change place between consecutive lines of a derivation.

Every problem of a corpus (one SymPy expression in x per line; by default
``benchmarks/term_order_corpus.txt``, 121 textbook exercises) goes through
``derive expr PROBLEM --show-steps --format json``, run in this process through the command-line
group. A derivation "reorders" when two consecutive lines of the derivative share two terms of a
term at any depth of brackets and print them in opposite orders (``d/dx[8·x⁴ + 9·x² − 1]``
followed by ``d/dx[9·x²] + d/dx[8·x⁴]``), or when a term rewritten in place moves past a finished
one (``−y·d/da[log(a)] − t`` followed by ``−t − y/a``); a term's last factor 1 (the
``(x² + 1)·1`` that d/dx[x] = 1 leaves for one line) is not part of it. The share is taken over the derivations of
more than one line.

    python benchmarks/bench_term_order.py               # the share, and each reordering derivation
    python benchmarks/bench_term_order.py --corpus FILE
"""

from __future__ import annotations

import argparse
from collections import Counter
import json
import pathlib
import sys

from click.testing import CliRunner

from derive.cli.app import cli

CORPUS = pathlib.Path(__file__).with_name("term_order_corpus.txt")
OPEN, CLOSE = "([{", ")]}"


def pieces(text: str) -> list[str]:
    """The terms of ``text`` (a printed right-hand side) in reading order: every term of every
    sum and every bracket's content, at every depth, each without its sign. A term is followed by
    its text alone, not by how deep in brackets it sits: a rule that opens ``d/dx[x²+1]`` into
    ``d/dx[x²] + d/dx[1]`` puts ``x²`` one bracket deeper without moving it. Lone numbers and
    one-letter symbols are left out: they stand in too many places to follow."""
    found: list[tuple[int, str]] = []     # (start, text)
    starts = [0]                            # per open bracket: where its current term starts
    terms: list[list[tuple[int, str]]] = [[]]

    def close(term_start: int, end: int) -> list[tuple[int, str]]:
        inner = terms.pop() + [(term_start, text[term_start:end])]
        # a sum's whole text sorts just before its first term
        return inner + [(inner[0][0] - 0.5, text[inner[0][0]:end])] if len(inner) > 1 else inner

    i = 0
    while i < len(text):
        if text[i] in OPEN:
            starts.append(i + 1)
            terms.append([])
        elif text[i] in CLOSE and len(starts) > 1:
            found += close(starts.pop(), i)
        elif text.startswith((" + ", " − "), i):
            terms[-1].append((starts[-1], text[starts[-1]:i]))
            starts[-1] = i + 3
            i += 3
            continue
        i += 1
    found += close(starts[0], len(text))
    out = []
    for _, t in sorted(found):
        t = _without_one(t.strip().lstrip("−"))
        if len(t) > 1 and not t.replace(".", "").isdigit():
            out.append(t)
    return out


def kept_in_order(first: list, second: list) -> int:
    """The length of the longest common subsequence: how many pieces keep their order."""
    row = [0] * (len(second) + 1)
    for a in first:
        prev_diag = 0
        for j, b in enumerate(second):
            prev_diag, row[j + 1] = row[j + 1], (prev_diag + 1 if a == b else max(row[j + 1], row[j]))
    return row[-1]


def top_terms(text: str) -> list[str]:
    """The terms of ``text``'s outermost sum, in order, each without its sign."""
    depth, start, out = 0, 0, []
    for i, ch in enumerate(text):
        depth += (ch in OPEN) - (ch in CLOSE)
        if depth == 0 and text.startswith((" + ", " − "), i):
            out.append(text[start:i])
            start = i + 3
    return [_without_one(t.strip().lstrip("−")) for t in out + [text[start:]]]


def _without_one(term: str) -> str:
    """``term`` without a last factor 1: the (x² + 1)·1 that d/dx[x] = 1 leaves for one line is
    the term (x² + 1) the next line prints, not a term that moved."""
    return term[:-2] if term.endswith("·1") else term


def terms_moved(before: str, after: str) -> bool:
    """Whether the terms common to two printed lines change their relative order: the longest
    common subsequence of the lines' pieces is shorter than their multiset intersection (a term
    printed twice may be matched with either of its places)."""
    first, second = pieces(before), pieces(after)
    return kept_in_order(first, second) < sum((Counter(first) & Counter(second)).values())


def moved(before: str, after: str) -> bool:
    """Whether a term changed place: the terms both lines print (at any depth of brackets; a
    repeated term as often as both print it) do not all keep their order; or a term of the outermost sum that both
    lines print is passed by a rewritten term (the term replacing one before it comes after it,
    or the other way round). A term dropped (d/dx[1] = 0) moves nothing."""
    if terms_moved(before, after):
        return True
    a, b = top_terms(before), top_terms(after)
    for t in set(a) & set(b):
        gone_before = any(u not in b for u in a[:a.index(t)])
        gone_after = any(u not in b for u in a[a.index(t) + 1:])
        new_before = any(u not in a for u in b[:b.index(t)])
        new_after = any(u not in a for u in b[b.index(t) + 1:])
        if (gone_before and new_after and not new_before) or (gone_after and new_before and not new_after):
            return True
    return False


def derivation_lines(problem: str) -> list[str]:
    """The right-hand sides of the derivative's lines (from d/dx[…] to the result)."""
    result = CliRunner().invoke(cli, ["expr", "--show-steps", "--format", "json", "--", problem])
    if result.exit_code != 0:
        raise RuntimeError(f"{problem}: {result.output.strip()}")
    steps = [s["text"] for s in json.loads(result.output)["steps"] if s["kind"] == "equation"]
    return [s.split(" = ", 1)[1] for s in steps[1:]]     # steps[0] is the definition f = …


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=pathlib.Path, default=CORPUS)
    args = parser.parse_args(argv)
    problems = [line.strip() for line in args.corpus.read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    multi = reordered = 0
    for problem in problems:
        lines = derivation_lines(problem)
        if len(lines) < 2:
            continue
        multi += 1
        pairs = [(a, b) for a, b in zip(lines, lines[1:]) if moved(a, b)]
        if pairs:
            reordered += 1
            a, b = pairs[0]
            print(f"{problem}:\n    {a}\n  → {b}")
    share = reordered / multi if multi else 0.0
    print(f"\n{reordered} of {multi} multi-line derivations reorder terms between consecutive "
          f"lines: {share:.0%} ({len(problems)} problems)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
