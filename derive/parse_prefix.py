"""Textbook function notation in the SymPy-style syntax: ``sin x``, ``sin^2 x``, ``cos^-1 x``.

Textbooks and students write a function without parentheses and its power on the function's
name: ``sin 2x`` is sin(2x), ``sin^2(x)`` and ``sin^2 x`` are (sin x)², ``ln^2 x`` is (ln x)²;
``sin^-1 x`` is arcsin x (and likewise for the other trigonometric and hyperbolic functions),
not 1/sin x. ``rewrite`` turns these forms into calls Python's grammar reads, before the rest of
``derive.parse`` sees the text: ``sin^2 x`` → ``(sin(x))**(2)``, ``cos^-1 x`` → ``acos(x)``.

Without parentheses a function takes what the LaTeX reader gives it, for one rule in both
syntaxes: the following product of factors (numbers, names, bracketed groups, each with its
power) and divisions by numbers. ``sin x + 1`` is sin(x) + 1, ``sin x cos x`` is sin(x)·cos(x),
``sin x/2`` is sin(x/2), ``sin cos x`` is sin(cos(x)). Text in any other form is left as it is,
so whatever the rest of the parser accepted before keeps its meaning.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# A number (as derive.parse reads one), a name, blanks, ``**``, or any other character.
_TOKEN = re.compile(
    r"(?P<num>(?:\d[\d_]*\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)|(?P<name>[A-Za-z_λ][A-Za-z0-9_λ]*)"
    r"|(?P<ws>\s+)|(?P<other>\*\*|.)",
    re.S,
)
_PAIRS = {"(": ")", "{": "}", "[": "]"}


@dataclass(frozen=True)
class Reading:
    """One function written with a power on its name: ``name``, the exponent as typed, and
    whether it means the inverse function (``sin^-1`` is arcsin)."""

    name: str
    exponent: str
    inverse: bool


class _Rewriter:
    def __init__(self, text: str, functions: frozenset, inverses: dict):
        self.tokens = [(m.lastgroup, m.group(), m.start()) for m in _TOKEN.finditer(text)]
        self.functions = functions
        self.inverses = inverses
        self.readings: list[Reading] = []

    # Pieces are (text, column) pairs: the rewritten text and where each piece came from.
    def kind(self, i: int) -> str | None:
        return self.tokens[i][0] if i < len(self.tokens) else None

    def value(self, i: int) -> str | None:
        return self.tokens[i][1] if i < len(self.tokens) else None

    def col(self, i: int) -> int:
        return self.tokens[min(i, len(self.tokens) - 1)][2]

    def skip(self, i: int) -> int:
        while self.kind(i) == "ws":
            i += 1
        return i

    def closing(self, i: int) -> int | None:
        """The index after the bracket closing the one at ``i``, None when it is not closed."""
        depth = 0
        for j in range(i, len(self.tokens)):
            piece = self.value(j)
            depth += (piece in _PAIRS) - (piece in _PAIRS.values())
            if depth == 0:
                return j + 1
        return None

    def copy(self, i: int, end: int) -> list:
        """Tokens ``i`` to ``end`` rewritten."""
        pieces = []
        while i < end:
            i = self.item(i, pieces, end)
        return pieces

    def item(self, i: int, pieces: list, end: int) -> int:
        kind, piece, col = self.tokens[i]
        if kind == "name" and piece in self.functions:
            done = self.function(i, end)
            if done is not None:
                pieces += done[0]
                return done[1]
        pieces.append((piece, col))
        return i + 1

    def group(self, i: int, end: int):
        """The bracketed group at ``i`` as ``(`` … ``)`` and the index after it."""
        after = self.closing(i)
        if after is None or after > end:
            return None
        return [("(", self.col(i)), *self.copy(i + 1, after - 1), (")", self.col(after - 1))], after

    def exponent(self, i: int, end: int):
        """The exponent after ``^`` or ``**`` at ``i``: a bracketed group, or a signed
        number; its pieces, its text and the index after it."""
        j = self.skip(i + 1)
        if self.value(j) in _PAIRS:
            found = self.group(j, end)
            if found is None:
                return None
            pieces, after = found
            return pieces, "".join(p for p, _ in pieces[1:-1]), after
        sign = []
        if self.value(j) in ("-", "+"):
            sign, j = [(self.value(j), self.col(j))], self.skip(j + 1)
        if self.kind(j) != "num" or j >= end:
            return None
        pieces = [("(", self.col(j)), *sign, (self.value(j), self.col(j)), (")", self.col(j))]
        return pieces, "".join(p for p, _ in pieces[1:-1]), j + 1

    def function(self, i: int, end: int):
        """``name^n x``, ``name^n(x)``, ``name x`` or ``name (x)`` at ``i`` as calls; None for
        anything else (a call ``name(x)`` is read by the rest of the parser)."""
        name = self.value(i)
        j = self.skip(i + 1)
        power = None
        if self.value(j) in ("^", "**") and j < end:
            power = self.exponent(j, end)
            if power is None:
                return None
            j = self.skip(power[2])
        if self.value(j) == "(" and j < end:
            if power is None and j == i + 1:
                return None
            found = self.group(j, end)
        elif power is not None or j > i + 1:
            found = self.bare(j, end)
        else:
            return None
        if found is None:
            return None
        argument, after = found
        col = self.col(i)
        if power is None:
            return [(name, col), *argument], after
        inverse = power[1].replace(" ", "") == "-1" and name in self.inverses
        self.readings.append(Reading(name, power[1].strip(), inverse))
        if inverse:
            return [(self.inverses[name], col), *argument], after
        return [("((", col), (name, col), *argument, (")**", col), *power[0], (")", col)], after

    def bare(self, i: int, end: int):
        """The argument of a function written without parentheses, starting at ``i``: a sign,
        then factors with their powers, then divisions by numbers; in parentheses."""
        pieces = []
        if self.value(i) in ("-", "+") and self.kind(i + 1) != "ws" and i < end:
            # sin -x is sin(−x); sin - x stays a subtraction (refused: sin is called without x)
            pieces.append((self.value(i), self.col(i)))
            i += 1
        after = None
        while i < end:
            factor = self.factor(i, end)
            if factor is None or (factor[2] and after is not None):
                # a function after the first factor ends the argument: sin x cos x
                break
            if after is not None:
                pieces += [(" ", self.col(i))]
            pieces += factor[0]
            after = factor[1]
            if factor[2]:       # sin cos x y is sin(cos(x·y)): the inner function took the rest
                break
            i = self.skip(after)
        if after is None:
            return None
        i = self.skip(after)
        while self.value(i) == "/" and self.kind(self.skip(i + 1)) == "num" and i < end:
            number = self.skip(i + 1)
            pieces += [("/", self.col(i)), (self.value(number), self.col(number))]
            after = i = number + 1
            i = self.skip(i)
        return [("(", self.col(after)), *pieces, (")", self.col(after))], after

    def factor(self, i: int, end: int):
        """One factor of a bare argument at ``i``: its pieces, the index after it, and whether
        it was a function; None when no factor starts there."""
        kind, piece = self.kind(i), self.value(i)
        if kind == "name" and piece in self.functions:
            done = self.function(i, end)
            if done is None and self.value(i + 1) == "(":
                done = self.group(i + 1, end)
                done = None if done is None else ([(piece, self.col(i)), *done[0]], done[1])
            return None if done is None else (*done, True)
        if kind in ("num", "name"):
            pieces, after = [(piece, self.col(i))], i + 1
        elif piece == "(":
            found = self.group(i, end)
            if found is None:
                return None
            pieces, after = found
        else:
            return None
        j = self.skip(after)
        if self.value(j) in ("^", "**") and j < end:
            k = self.skip(j + 1)
            if self.kind(k) in ("num", "name") and self.value(k) not in self.functions:
                return [*pieces, ("**", self.col(j)), (self.value(k), self.col(k))], k + 1, False
            power = self.exponent(j, end)
            if power is not None:
                return [*pieces, ("**", self.col(j)), *power[0]], power[2], False
        return pieces, after, False


def rewrite(text: str, functions: frozenset, inverses: dict) -> tuple[str, list[int], list]:
    """``text`` with the textbook forms of ``functions`` written as calls.

    Parameters
    ----------
    text : str
        SymPy-style text.
    functions : frozenset
        The names that take the textbook forms (sin, ln, …).
    inverses : dict
        Name → name of the inverse function, for the names whose power -1 is their inverse.

    Returns
    -------
    tuple
        The new text, for each of its characters the column of ``text`` it came from, and the
        ``Reading`` of each power written on a function's name.
    """
    rewriter = _Rewriter(text, functions, inverses)
    pieces = rewriter.copy(0, len(rewriter.tokens))
    out, cols = [], []
    for piece, col in pieces:
        out.append(piece)
        cols.extend([col] * len(piece))
    return "".join(out), cols, rewriter.readings
