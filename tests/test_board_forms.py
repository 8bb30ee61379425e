"""Forms a teacher writes on the board: tanh′ by the quotient rule from its exp definition, and
softmax over m examples (dZ = Ŷ − Y, dW = (1/m)·dZ·Xᵀ, db = (1/m)·Σ dz⁽ⁱ⁾), each against an
oracle of its own (finite differences, hand-written NumPy, sympy.diff)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import sympy as sp

import derive

from conftest import load, run

pytestmark = pytest.mark.usefixtures("shared_derivations")


@pytest.fixture(scope="module")
def tanh_lines():
    """The equation lines of the tanh section of `derive activations --show-steps`."""
    out = run("activations", "--show-steps").out
    return out[out.index("\ntanh\n"):out.index("\nReLU\n")]


def test_tanh_is_derived_by_the_quotient_rule_in_few_lines(tanh_lines):
    for form in ("u = e^z − e^(−z)", "v = e^z + e^(−z)", "du/dz = e^z + e^(−z)",
                 "dv/dz = e^z − e^(−z)", "(du/dz·v − u·dv/dz)/v²", "1 − tanh(z)²", "= 1 − a²"):
        assert form in tanh_lines, form
    # no rule-by-rule expansion of the quotient: the engine's sum/chain lines are gone
    assert "sum rule" not in tanh_lines and "constant multiple rule" not in tanh_lines
    starts = [line.split()[0] for line in tanh_lines.splitlines() if line.strip()]
    assert starts.count("=") <= 6


def test_each_tanh_line_is_the_derivative_by_finite_differences():
    d = derive.derivation("activations")
    z = sp.Symbol("z")
    u, v = sp.symbols("u v")
    at, h = 0.37, 1e-6
    slope = (math.tanh(at + h) - math.tanh(at - h)) / (2 * h)
    lines = [s for s in d.lines if s.lhs == sp.Derivative(sp.tanh(z), z, evaluate=False)]
    assert len(lines) == 7
    back = {u: sp.exp(z) - sp.exp(-z), v: sp.exp(z) + sp.exp(-z), sp.Symbol("a"): sp.tanh(z)}
    for line in lines:
        rhs = line.rhs.xreplace(back).doit()
        assert abs(float(rhs.subs(z, at)) - slope) < 1e-8, line.rhs


@pytest.fixture(scope="module")
def softmax_out():
    return run("softmax", "--show-steps").out, json.loads(run("softmax", "--format", "json").out)


def test_softmax_over_m_examples_is_written_as_the_course_writes_it(softmax_out):
    text = softmax_out[0]
    for form in ("L = Σ_n Cⁿ", "J = (1/m) Σ_i C⁽ⁱ⁾", "dZ = Ŷ − Y", "dW = (1/m)·dZ·Xᵀ",
                 "db = (1/m)·Σ_{i=1..m} dz⁽ⁱ⁾"):
        assert form in text, form
    # the checker's expanded matrix form is verified but kept out of the student's text
    assert "axis=0" not in text


def _mean_cross_entropy(W, X, b, Y):
    Z = W @ X + b[:, None]
    logp = Z - np.log(np.exp(Z).sum(axis=0))
    return -(Y * logp).sum() / X.shape[1]


@pytest.mark.parametrize("name, entry", [("dW", ("W", 1, 0)), ("db", ("b", 1))])
def test_softmax_vectorized_results_are_sympy_diff_and_finite_differences(softmax_out, name, entry):
    _, data = softmax_out
    r = next(r for r in data["results"] if r["name"] == name)
    of, wrt, value = load(r["of"]), load(r["wrt"]), load(r["value"])
    rng = np.random.default_rng(3)
    W, X, b = rng.normal(size=(3, 2)), rng.normal(size=(2, 2)), rng.normal(size=3)
    Y = np.eye(3)[:, :2]                         # example i in class i
    point = {sp.Symbol(f"W_{p + 1}_{q + 1}", real=True): W[p, q] for p in range(3) for q in range(2)}
    point |= {sp.Symbol(f"X_{p + 1}_{q + 1}", real=True): X[p, q] for p in range(2) for q in range(2)}
    point |= {sp.Symbol(f"b_{p + 1}", real=True): b[p] for p in range(3)}
    at = float(value.xreplace(point))
    assert abs(float(sp.diff(of, wrt).xreplace(point)) - at) < 1e-12
    h, arrays = 1e-6, {"W": W, "b": b}
    shifted = [arrays[entry[0]].copy() for _ in range(2)]
    shifted[0][entry[1:]] += h
    shifted[1][entry[1:]] -= h
    with_ = [dict(arrays, **{entry[0]: s}) for s in shifted]
    fd = (_mean_cross_entropy(with_[0]["W"], X, with_[0]["b"], Y)
          - _mean_cross_entropy(with_[1]["W"], X, with_[1]["b"], Y)) / (2 * h)
    assert abs(fd - at) < 1e-7


def test_an_inline_formula_loses_only_its_unbreakable_outer_brackets():
    from derive.render.latex import inline_breakable

    tex = r"\frac{1}{m} \left(- Y \log{\left(\sigma\left(u\right) \right)} - \left(1 - Y\right)\right)"
    assert inline_breakable(tex) == r"\frac{1}{m} (- Y \log{\left(\sigma\left(u\right) \right)} - (1 - Y))"
    assert inline_breakable(r"\left[a\right] \left|b\right|") == r"\left[a\right] \left|b\right|"
