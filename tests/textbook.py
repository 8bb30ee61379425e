"""The textbook corpora (tests/data/textbook_derivatives*.txt) and how one problem is judged:
shared by tests/test_expr_textbook.py and benchmarks/bench_textbook.py."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import sympy as sp

from derive.errors import DeriveError
from derive.expr import expr_derivation
from derive.functions import to_elementary
from derive.verify import numerically_equal

PATH = Path(__file__).parent / "data" / "textbook_derivatives.txt"


@dataclass(frozen=True)
class Problem:
    """One problem: ``wrt`` names the variables differentiated with respect to, in the order
    they are applied, separated by spaces ("x" for f′, "x x" for f″, "x y" for ∂²f/∂y∂x)."""

    wrt: str
    text: str
    latex: bool

    @property
    def sequence(self) -> list[str]:
        return self.wrt.split()


def load(path: Path = PATH) -> tuple[Problem, ...]:
    """The problems of the corpus file ``path``, in order."""
    problems = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        wrt, text = (part.strip() for part in line.split("|", 1))
        latex = text.startswith("latex:")
        problems.append(Problem(wrt, text.removeprefix("latex:").strip(), latex))
    return tuple(problems)


CORPUS = load()
# the second corpus, written after the first and judged the same way
CORPUS2 = load(PATH.with_name("textbook_derivatives2.txt"))


def derivation(problem: Problem):
    """derive expr's derivation of ``problem`` (every line verified); DeriveError if refused.
    A higher derivative is asked for as on the command line: --wrt x --order 2, --mixed x,y."""
    names = problem.sequence
    if len(set(names)) == 1:
        return expr_derivation(problem.text, names[:1], from_latex=problem.latex, order=len(names))
    return expr_derivation(problem.text, from_latex=problem.latex, mixed=names)


def solve(problem: Problem) -> str | None:
    """None when derive's answer equals ``sympy.diff`` of the parsed expression; otherwise why
    not (refused, or a wrong answer)."""
    try:
        d = derivation(problem)
    except DeriveError as err:
        return f"refused: {err}"
    return judge(d, problem)


def judge(d, problem: Problem) -> str | None:
    """None when the derivation's answer (its last result) equals ``sympy.diff`` of its
    definition along the problem's variables, else why not."""
    result = d.results[-1]
    f = to_elementary(d.lines[0].rhs)
    by_name = {s.name: s for s in f.free_symbols}
    expected = sp.diff(f, *(by_name.get(n, sp.Symbol(n, real=True)) for n in problem.sequence))
    got = to_elementary(result.value)
    if sp.simplify(got - expected) == 0 if sp.count_ops(got - expected) < 60 else False:
        return None
    return None if numerically_equal(got, expected, points=6) else f"wrong: {result.display}"
