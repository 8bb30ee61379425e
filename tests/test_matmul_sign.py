"""derive.printing answers MatMul.could_extract_minus_sign without building −self when the first
factor is no negative number; the answer must be SymPy's own (Mul's method, which builds it)."""

from __future__ import annotations

import sympy as sp

import derive.printing  # noqa: F401  (installs the faster method)

X, Y = sp.MatrixSymbol("X", 3, 3), sp.MatrixSymbol("Y", 3, 3)
m = sp.Symbol("m", positive=True)
a = sp.Symbol("a")


def test_the_sign_of_a_matrix_product_is_sympys():
    products = [
        sp.MatMul(X, Y), sp.MatMul(2, X), sp.MatMul(-2, X, Y), -X * Y, sp.MatMul(1 / m, X, Y.T),
        sp.MatMul(-1 / m, X, evaluate=False), sp.MatMul(a, X), sp.MatMul(-a, X, evaluate=False),
        sp.MatMul(sp.S.Zero, X, evaluate=False), sp.MatMul(sp.zoo, X, evaluate=False),
        sp.MatMul(sp.Rational(-1, 2), X, Y, evaluate=False),
    ]
    answers = [bool(p.could_extract_minus_sign()) for p in products]
    assert answers == [bool(sp.Mul.could_extract_minus_sign(p)) for p in products]
    # both answers occur: the cases are not all one way
    assert True in answers and False in answers


def test_a_negative_product_is_printed_with_its_sign_in_front():
    # the sign is read from could_extract_minus_sign by both printers
    assert (derive.printing.text(-X * Y), derive.printing.latex(-X * Y)) == ("−X·Y", "- X Y")
    assert (derive.printing.text(X * Y), derive.printing.latex(X * Y)) == ("X·Y", "X Y")
