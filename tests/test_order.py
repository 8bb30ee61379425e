"""The author's order, kept: definitions print as the notes write them and each line of a
derivation keeps the order of the line before (issue 11). The oracle is the notes' own forms."""

from __future__ import annotations

import pytest

import derive
from derive.expr import expr_derivation

pytestmark = pytest.mark.usefixtures("shared_derivations")  # each derivation built once


YHAT = "y\u0302"   # ŷ as the printer writes it: y and a combining circumflex


def _text(name: str) -> str:
    return derive.derivation(name).render("text", width=200).replace(YHAT, "ŷ")


def test_sum_rule_keeps_term_order_and_shows_the_constant():
    out = expr_derivation("8*x**4 + 9*x**2 - 1", []).render("text", width=200)
    assert "d/dx[8·x⁴] + d/dx[9·x²] + d/dx[−1]" in out
    assert "constant rule: d/dx[−1] = 0" in out
    assert "= 32·x³ + 18·x" in out


def test_a_sum_term_shows_the_derivative_of_the_variable_itself():
    out = expr_derivation("3*x**2 + 5*x - 7", []).render("text", width=200)
    assert "= 6·x + 5·d/dx[x]" in out and "d/dx[x] = 1" in out and "= 6·x + 5" in out
    # a lone c·x is one step, the constant multiple rule's: d/dx[5·x] = 5
    lone = expr_derivation("5*x", []).render("text", width=200)
    assert "d/dx[x]" not in lone.split("differentiate both sides", 1)[1]


@pytest.mark.parametrize("name, pieces, absent", [
    ("logistic", ["z = w₁·x₁ + w₂·x₂ + b", "L = −(y·log(a) + (1 − y)·log(1 − a))",
                  "da = ∂L/∂a = −y/a + (1 − y)/(1 − a)", "= −y/a − (1 − y)·∂/∂a[log(1 − a)]",
                  # ∂z/∂w₁ = x₁·∂w₁/∂w₁ = x₁ as the notes write it; dz multiplied out data first
                  "= ∂w₁/∂w₁·x₁", "∂w₁/∂w₁ = 1", "−y + y·a + a − y·a"], ["a·y", "∂/∂w₁[w₁]"]),
    ("cross-entropy", ["−(y·log(ŷ) + (1 − y)·log(1 − ŷ))", "−y + y·ŷ + ŷ − y·ŷ"], ["log(1 − ŷ)·(1 − y)", "ŷ·y"]),
    ("linear", ["2·(ŷ − y)"], ["2·ŷ − 2·y"]),
    ("mle-binomial", ["log(C(n, k)) + k·log(p) + (n − k)·log(1 − p)", "−k/p² − (n − k)/(1 − p)²",
                      "d/dp[log(C(n, k))] = 0"], ["(k − n)", "(−n + k)"]),
])
def test_models_read_in_the_notes_order(name, pieces, absent):
    out = _text(name)
    for piece in pieces:
        assert piece in out
    for piece in absent:
        assert piece not in out


def test_a_finished_term_never_moves():
    """In ∂L/∂a of logistic, −y/a stays the first term from the line it appears on."""
    out = _text("logistic").splitlines()
    start = next(i for i, line in enumerate(out) if "logarithm rule" in line)
    block = []
    for line in out[start:]:
        if "∂a/∂z" in line:
            break
        block.append(line.split("=", 1)[1].strip())
    assert block and all(rhs.startswith("−y/a") for rhs in block)


def test_every_line_still_verifies():
    for name in ("logistic", "linear", "mle-binomial", "cross-entropy"):
        assert derive.derivation(name).verify() > 0


@pytest.mark.usefixtures("shared_derivations")
@pytest.mark.parametrize("name, pieces, absent", [
    # the review's mlp row: W x + b in index form as in matrix form
    ("mlp", ["z[1]_j = Σ_{i=1..n_x} W[1]_ji·x_i + b[1]_j", "z[2]_k = Σ_{j=1..n_h} W[2]_kj·a[1]_j + b[2]_k"],
     ["= b[1]_j +", "derive softmax", "`"]),
    ("deep", ["z[l]_j = Σ_{k=1..n[l−1]} W[l]_jk·a[l−1]_k + b[l]_j", "db[l] = (1/m)·Σ_{i=1..m} dz[l]⁽ⁱ⁾"],
     ["= b[l]_j +", "dZ[l]_i", "X[:, i]", "derive softmax"]),
    # the notes' convolution: the window at (i, j) reads X at i + u − 1; the output size ⌊…⌋ + 1
    ("conv", ["W_kcuv·X_{c,i + u − 1,j + v − 1} + b_k", "W_{k,c,f − u + 1,f − v + 1}", "⌊(n + 2·p − f)/s⌋ + 1"],
     ["−1 + i", "1 + f − u", "floor("]),
])
def test_layers_read_in_the_notes_order(name, pieces, absent):
    test_models_read_in_the_notes_order(name, pieces, absent)


@pytest.mark.parametrize("index", ["i + u - 1", "p - u + 1", "f + 1 - v", "2 - k", "i + 1", "-1 + j"])
def test_an_index_prints_with_its_number_last_and_means_what_it_did(index):
    import sympy as sp

    from derive.printing import TextPrinter

    X = sp.IndexedBase("X")
    text = TextPrinter().doprint(X[sp.Symbol("c"), sp.sympify(index)])
    inner = text.removeprefix("X_{c,").removesuffix("}").replace("−", "-")
    terms = inner.replace(" - ", " + -").split(" + ")
    assert len(terms) == len(sp.Add.make_args(sp.sympify(index)))
    numbers = [t for t in terms if t.lstrip("-").isdigit()]
    # the number last (i + u − 1), or first before a subtracted name (2 − k)
    assert terms[-1] in numbers or (terms[0] in numbers and terms[1].startswith("-"))
    assert sp.sympify(inner) == sp.sympify(index)                        # the same index


@pytest.mark.parametrize("alpha, shown", [("", "0.01"), (", 0.2", "0.2"), (", 1/3", "1/3"), (", 3/40", "0.075")])
def test_a_leaky_relu_slope_prints_as_the_notes_write_it(alpha, shown):
    import sympy as sp

    from derive.parse import parse_expression

    expr = parse_expression(f"leaky_relu(x{alpha})")
    out = expr_derivation(f"leaky_relu(x{alpha})", []).render("text", width=200)
    assert f"LeakyReLU_{shown}(x)" in out
    assert sp.nsimplify(shown) == expr.args[1]                      # the slope it stands for
