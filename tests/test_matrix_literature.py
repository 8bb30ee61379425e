"""Matrix calculus against the second list, ``tests/data/matrix_literature.txt`` (more of the
Matrix Cookbook, CS229's linear-algebra review, matrixcalculus.org's kinds of example, the course's
losses in matrix form), judged as ``test_matrix_cookbook`` judges its list: JSON ``numpy`` code
against central finite differences at seeded random arrays, shapes, displayed forms. The suite
runs a fixed sample; ``benchmarks/bench_matrix.py --corpus tests/data/matrix_literature.txt``
runs every entry through the command and times each cold.

Also the refusals: a table of bad matrix input, each one line on stderr and exit status 2.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import sympy as sp

from conftest import run
from derive.matrix import tree as t
from test_matrix_cookbook import ENTRIES as COOKBOOK
from test_matrix_cookbook import check_entry, load

LITERATURE = load(Path(__file__).resolve().parent / "data" / "matrix_literature.txt")
# A sample of the kinds the engine had to learn for this list (the benchmark runs them all): the
# 0/1 logistic loss written with inner products, a transposed power, a transposed scalar multiple,
# a symmetric inverse, equal sums, a 1 × 1 factor in a Hessian, a one-hot vector, rearranged
# products in the Cookbook's order; and the Cookbook's (107) from the first list.
SAMPLE = [("-(y.T @ log(sigmoid(X@w)) + (1-y).T @ log(1-sigmoid(X@w)))", "w"), ("trace(X @ X @ X)", "X"),
          ("det(X.T)", "X"), ("log(det(X.T @ X))", "X"), ("trace((X - A).T @ (X - A))", "X"),
          ("sum((X @ w - y)**2) + lam * w.T @ w", "w"), ("-y.T @ log(softmax(W @ x, axis=0))", "W"),
          ("trace(A @ B @ A.T @ C)", "A"), ("trace(X @ X @ B)", "X")]
PICKED = [e for e in LITERATURE + COOKBOOK if (e.text, e.wrt) in SAMPLE]


def test_the_list_is_new_and_well_formed():
    assert len(LITERATURE) >= 60 and all(e.source for e in LITERATURE)
    keys = [(e.text, e.wrt, e.signs) for e in LITERATURE]
    assert len(set(keys)) == len(keys)
    assert not set(keys) & {(e.text, e.wrt, e.signs) for e in COOKBOOK}
    assert len(PICKED) == len(SAMPLE)


@pytest.mark.parametrize("entry", PICKED, ids=lambda e: f"{e.text} d/d{e.wrt}")
def test_entry_agrees_with_its_source_and_finite_differences(entry):
    d = entry.derivation()
    assert not d.failed
    assert check_entry(entry, d.to_json()["results"], seed=len(entry.text)) == []


def test_rearranged_products_are_ordered_by_their_names_then_fewer_transposes():
    # the Cookbook's (80), ∂ bᵀXᵀDXc/∂X = Dᵀ·X·b·cᵀ + D·X·c·bᵀ, whichever term comes first
    n = sp.Symbol("n", integer=True, positive=True)
    X, D = t.var("X", (n, n)), t.var("D", (n, n))
    b, c = t.var("b", (n, 1)), t.var("c", (n, 1))
    first = t.matmul_of([D, X, c, t.transpose(b)])
    second = t.matmul_of([t.transpose(D), X, b, t.transpose(c)])
    for terms in ((first, second), (second, first)):
        assert t.text(t.add(*terms)) == "Dᵀ·X·b·cᵀ + D·X·c·bᵀ"
    # a sum of different factors keeps the order it was given in
    assert t.text(t.add(c, b)) == "c + b"


def test_an_inner_product_is_one_elementwise_region():
    # −(yᵀ·log σ(z) + (1 − y)ᵀ·log(1 − σ(z))) is differentiated as one Σ, so that it simplifies whole
    from derive.matrix.grad import inner_products
    from derive.matrix.parse import parse_matrix_expression, parse_shapes

    f = parse_matrix_expression("-(y.T @ log(sigmoid(X@w)) + (1-y).T @ log(1-sigmoid(X@w)))",
                                parse_shapes(["X=m,n", "w=n", "y=m"]))
    g = inner_products(f)
    assert g.op == "sum" and not any(n.op == "sum" for n in _nodes(g.args[0]))
    assert t.text(g) == "sum(−y ⊙ log(σ(X·w)) − (1 − y) ⊙ log(1 − σ(X·w)))"
    assert t.text(f) == "−yᵀ·log(σ(X·w)) − (1 − yᵀ)·log(1 − σ(X·w))"      # the input as shown is kept


def _nodes(n: t.Node) -> list:
    return [n, *(m for a in n.args for m in _nodes(a))]


SHAPES = {"X": "m,n", "Y": "k,n", "w": "n", "S": "n,n"}


@pytest.mark.parametrize("argv,message", [
    (["sum(X - Y)", "--wrt", "X"], "-: shapes m × n and k × n do not match"),
    (["sum(X * Y)", "--wrt", "X"], "*: shapes m × n and k × n do not match"),
    (["sum(X / Y)", "--wrt", "X"], "/: shapes m × n and k × n do not match"),
    (["sum(X.T @ Y)", "--wrt", "X"], "@: shapes n × m and k × n do not match (m ≠ k)"),
    (["w.T @ S @ X", "--wrt", "w"], "@: shapes 1 × n and m × n do not match"),
    (["det(X)", "--wrt", "X"], "det: the matrix is m × n, not square"),
    (["sum(inv(X))", "--wrt", "X"], "inv: the matrix is m × n, not square"),
    (["trace(X)", "--wrt", "X"], "trace: the matrix is m × n, not square"),
    (["sum(diag(X))", "--wrt", "X"], "diag: the matrix is m × n, neither a vector nor square"),
    (["sum(logsumexp(X))", "--wrt", "X"], "logsumexp: state the axis"),
    (["sum(softmax(X, axis=2))", "--wrt", "X"], "axis must be 0 or 1"),
    (["sum(foo(X))", "--wrt", "X"], "unknown function 'foo'"),
    (["sum(Z @ X)", "--wrt", "X"], "@: Z has no shape"),
    (["sum(Z.T)", "--wrt", "X"], ".T: Z has no shape"),
    (["trace(Z)", "--wrt", "X"], "trace: Z has no shape"),
    (["norm(X)", "--wrt", "X", "--shape", "T=m,n,k"], "at most two dimensions"),
    (["sum(X)", "--wrt", "X", "--shape", "T=0,2"], "a size must be a positive number or a name, not 0"),
    (["sum(T)", "--wrt", "T", "--shape", "T=99999999,2"], "too large (at most 1000000)"),
    (["sum(T)", "--wrt", "T", "--shape", "T=1000000,1000000"], "too many to check numerically"),
    (["sum(X ** w)", "--wrt", "X"], "the exponent must be a number"),
])
def test_bad_matrix_input_is_one_line_and_exit_2(argv, message):
    shapes = [f"--shape={name}={dims}" for name, dims in SHAPES.items() if name in argv[0] or name == argv[2]]
    out = run("expr", *argv, *shapes)
    assert out.code == 2, out
    assert message in out.err and out.err.count("\n") == 1 and "Traceback" not in out.err


@pytest.mark.parametrize("text,what", [("trace(X @ A)", "trace(…)"), ("X @ w", "@ (the matrix product)"),
                                       ("norm(X)", "norm(…)"), ("X.T", ".T (the transpose)")])
def test_matrix_syntax_without_shapes_asks_for_them(text, what):
    out = run("expr", text, "--wrt", "X")
    assert out.code == 2 and out.err.count("\n") == 1
    assert f"{what} is matrix calculus: give each matrix and vector its shape" in out.err


def test_a_scalar_expression_is_not_taken_for_a_matrix_one():
    out = run("expr", "log(sigmoid(x)) + exp(x)", "--wrt", "x")
    assert out.code == 0 and "df/dx" in out.out
