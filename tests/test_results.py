"""Every result of every model is re-checked by ``Derivation.verify()``, and a wrong value is caught."""

from dataclasses import replace

import pytest
import sympy as sp

import derive
from derive.steps import Builder
from derive.verify import VerificationError, realize

VARIANTS = [(name, {}) for name in derive.model_names()] + [
    ("sigmoid-sum", {"activation": "relu"}),
    ("mlp", {"activation": "relu"}),
    ("mlp", {"activation": "tanh"}),
]
IDS = ["-".join([name, *options.values()]) for name, options in VARIANTS]
pytestmark = pytest.mark.usefixtures("shared_derivations")  # each derivation built once


def corrupted(value):
    """``value`` + 1, entry by entry for a matrix or a tuple."""
    if isinstance(value, (sp.MatrixBase, sp.MatrixExpr)):
        explicit = sp.Matrix(value)
        return explicit + sp.ones(*explicit.shape)
    if isinstance(value, sp.Tuple):
        return sp.Tuple(*(v + 1 for v in value))
    return value + 1


@pytest.mark.parametrize("name, options", VARIANTS, ids=IDS)
def test_a_corrupted_result_fails_verify(name, options):
    d = derive.derivation(name, **options)
    first, *rest = d.results
    wrong = replace(d, results=(replace(first, value=corrupted(first.value)), *rest))
    with pytest.raises(VerificationError, match="result"):
        wrong.verify()
    for r in d.results:
        with pytest.raises(VerificationError):
            replace(r, value=corrupted(r.value)).verify(d.defs)


def test_expression_results_are_rechecked_too():
    """∂f/∂x (by sympy.diff), ∇f, and the values at a point (by their check pairs)."""
    d = derive.expr_derivation("x**2*y + sin(y)", "x,y", at="x=1, y=2")
    assert len(d.results) == 6
    assert d.verify() == len(d.results)
    for r in d.results:
        with pytest.raises(VerificationError):
            replace(r, value=corrupted(r.value)).verify(d.defs)


class _Model:
    name = "test"
    title = "test"


def test_a_wrong_result_is_refused_when_recorded():
    d = Builder(_Model())
    x, f = sp.symbols("x f")
    d.define(f, x**3)
    d.result("df/dx", 3 * x**2, of=f, wrt=x)
    with pytest.raises(VerificationError, match="df/dx wrong"):
        d.result("df/dx wrong", 2 * x**2, of=f, wrt=x)
    d.result("f(2)", 8, lhs=sp.Function("f")(2), check=(sp.Subs(f, x, 2), 8))
    with pytest.raises(VerificationError, match="f wrong"):
        d.result("f wrong", 9, lhs=sp.Function("f")(2), check=(sp.Subs(f, x, 2), 9))
    assert [r.name for r in d.results] == ["df/dx", "f(2)"]


def test_a_result_must_say_what_checks_it():
    d = Builder(_Model())
    x = sp.Symbol("x")
    with pytest.raises(ValueError, match="lhs or check"):
        d.result("r", x)
    with pytest.raises(ValueError, match="of and wrt"):
        d.result("r", x, lhs=x, value=x)


def test_a_sum_over_a_symbolic_size_is_left_as_written():
    """Sum.doit over a symbolic n is slow and finds nothing to write out: realize keeps the sum."""
    i, n = sp.symbols("i n", integer=True, positive=True)
    total = sp.Sum(sp.IndexedBase("x")[i] ** 2, (i, 1, n))
    assert realize(total) == total
    assert realize(sp.Sum(i**2, (i, 1, 3))) == 14
