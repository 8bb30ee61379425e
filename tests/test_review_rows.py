"""The review rows of derivative-intuition, activations, softmax, perceptron and mle-gaussian:
the forms the notes write appear in the output, the forms the review named do not."""

from __future__ import annotations

import pytest
import sympy as sp

from conftest import run
from derive.models.activations import Cases

pytestmark = pytest.mark.usefixtures("shared_derivations")


@pytest.fixture(scope="module")
def text():
    """name → `derive NAME --show-steps` in English."""
    return {name: run(name, "--show-steps").out
            for name in ("derivative-intuition", "activations", "softmax", "mle-gaussian")}


def test_derivative_intuition_shows_the_constant_multiple_step(text):
    out = text["derivative-intuition"]
    assert "f₁" not in out and "f₂" not in out          # f, as the notes name both functions
    lines = [line.split()[1] for line in out.splitlines() if line.strip().startswith("=")]
    assert lines[:3] == ["4·d/da[a]", "4·1", "4"]
    assert "lim_(Δa→0)" in out


def test_relu_and_leaky_relu_are_written_case_by_case(text):
    out = text["activations"]
    assert "max(α·z, z)" in out and "[z > 0]       ReLU derivative" not in out
    for form in ("{0, z < 0; z, z ≥ 0}", "{0, z < 0; 1, z > 0}", "{α, z < 0; 1, z > 0}", "{α, z ≤ 0; 1, z > 0}"):
        assert form in out, form
    assert "reciprocal rule" in out


@pytest.mark.parametrize("low, high, below, above", [
    (0, 1, "le", "gt"), (sp.Symbol("alpha"), 1, "lt", "ge"), (0, sp.Symbol("z"), "lt", "gt")])
def test_cases_as_one_formula_agree_with_sympy_piecewise(low, high, below, above):
    # the JSON's form of a two-piece function against SymPy's own Piecewise, kink included
    z = sp.Symbol("z")
    rel = {"le": sp.Le, "lt": sp.Lt, "gt": sp.Gt, "ge": sp.Ge}
    pieces = ((low, rel[below](z, 0)), (high, rel[above](z, 0)))
    step = Cases(*pieces, evaluate=False).as_step()
    for point in (-2, -sp.Rational(1, 3), 0, sp.Rational(1, 5), 3):
        truth = sp.Piecewise(*pieces).subs({z: point, sp.Symbol("alpha"): sp.Rational(1, 100)})
        got = step.subs({z: point, sp.Symbol("alpha"): sp.Rational(1, 100)})
        assert got == (truth if truth is not sp.nan else sp.S.Half * (low + high).subs(
            {z: point, sp.Symbol("alpha"): sp.Rational(1, 100)})), point


def test_softmax_opens_the_algebra(text):
    out = " ".join(text["softmax"].split())             # the folded lines joined
    assert "e^(2·z_k)" not in out and "e^(z_k)·e^(z_k)" in out
    assert "= e^(z_k)/(s + e^(z_k))·s/(s + e^(z_k))" in out
    assert "z_k = Σ_{l=1..n} W_kl·x_l + b_k" in out and "S = s + e^(z_k)" in out


def test_mle_gaussian_density_and_hessian_as_the_notes_write_them(text):
    out = " ".join(text["mle-gaussian"].split())
    assert "L = Π_{i=1..n} (1/√(2·π·σ²)·e^(−(x_i − μ)²/(2·σ²)))" in out
    assert "H(μ̂, σ̂²) = diag(−n/σ̂², −n/(2·(σ̂²)²))" in out and "[[" not in out
    tex = run("mle-gaussian", "--show-steps", "--format", "latex").out
    assert r"\exp\left(" in tex and r"\begin{matrix}" in tex
