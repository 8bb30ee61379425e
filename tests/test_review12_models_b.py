"""review12, rows of gradient-descent, sigmoid-sum, activations, mle-binomial, mle-gaussian and the
text view's rule column: each changed line against an independent oracle (sympy.diff, finite
differences, a search over directions), the notation as a property of the whole output, and the
wrapping of the rule column as a property of the models' own rule texts."""

import math
import re

import numpy as np
import pytest
import sympy as sp
from rich.cells import cell_len

import derive
from derive.functions import sigmoid
from derive.printing import AsShown
from derive.render.text import _NBSP, _WIDE, TextRenderer, wrap_cjk
from derive.verify import realize

pytestmark = pytest.mark.usefixtures("shared_derivations")

MODELS = ("gradient-descent", "sigmoid-sum", "activations", "mle-binomial", "mle-gaussian")


@pytest.fixture(scope="module")
def shown():
    """(model, lang) → the --show-steps text at width 100."""
    return {(name, lang): derive.derivation(name).render("text", lang=lang, width=100)
            for name in MODELS for lang in ("en", "zh")}


def results_of(text: str) -> str:
    return text.split("\nResults\n")[1] if "\nResults\n" in text else text.split("\n结果\n")[1]


def value_at(expr, point: dict, defs=None) -> float:
    return float(sp.N(realize(expr.args[0] if isinstance(expr, AsShown) else expr, defs).subs(point)))


# a formula of a rule text: its spaces are held, and it ends at a space or a Chinese character
FORMULA = re.compile(rf"[^ {_WIDE}]*{_NBSP}[^ {_WIDE}]*")


# -- gradient descent --------------------------------------------------------------------------

W, B = sp.symbols("w b")


def _loss(w, b):
    return ((w + b - 2) ** 2 + (2 * w + b - 3) ** 2) / 2


@pytest.mark.parametrize("name, wrt", [("dL/dw", 0), ("dL/db", 1)])
def test_the_worked_gradient_matches_finite_differences(name, wrt):
    r = derive.derivation("gradient-descent").result(name)
    h = 1e-6
    for w, b in ((0.3, -0.7), (2.0, 1.5), (-1.2, 0.4)):
        step = (h, 0) if wrt == 0 else (0, h)
        numeric = (_loss(w + step[0], b + step[1]) - _loss(w - step[0], b - step[1])) / (2 * h)
        assert float(r.value.subs({W: w, B: b})) == pytest.approx(numeric, abs=1e-6)


def test_the_half_stays_in_front_until_the_chain_rules_two_cancels_it(shown):
    out = shown["gradient-descent", "en"]
    d = derive.derivation("gradient-descent")
    assert "L = ½·((w + b − 2)² + (2·w + b − 3)²)" in out and ")²/2" not in out
    assert "½·(2·(w + b − 2)·1 + 2·(2·w + b − 3)·2)" in out
    assert "(w + b − 2) + 2·(2·w + b − 3)" in out
    # every line of the two gradients equals sympy.diff of the loss, at points
    for s in d.steps:
        if s.kind == "equation" and s.lhs in (sp.Derivative(sp.Symbol("L"), v, evaluate=False) for v in (W, B)):
            v = s.lhs.variables[0]
            truth = sp.diff(sp.expand(2 * _loss(W, B)) / 2, v)
            for point in ({W: 0.5, B: -1.0}, {W: 3.0, B: 2.0}):
                assert value_at(s.rhs, point, d.defs) == pytest.approx(float(truth.subs(point)))


def test_the_results_have_their_names(shown):
    results = results_of(shown["gradient-descent", "en"])
    for line in ("dL/dw = 5·w + 3·b − 8", "dL/db = 3·w + 2·b − 5", "min_{‖u‖=1} ∇f·u = −√(g₁² + g₂²)"):
        assert line in results
    assert "d/dw[" not in results.split("N/B")[0]


def test_steepest_descent_by_the_angle_and_a_search_over_directions(shown):
    out = shown["gradient-descent", "en"]
    assert "Cauchy–Schwarz" in out and "= ρ·cos(t − α)" in out
    g1, g2 = sp.symbols("g1 g2", real=True)
    least = derive.derivation("gradient-descent").result("∇f·u at u = −∇f/‖∇f‖").value
    angles = np.linspace(0, 2 * np.pi, 20001)
    for a, b in ((3.0, -4.0), (-1.0, 2.5)):
        searched = (a * np.cos(angles) + b * np.sin(angles)).min()
        assert float(least.subs({g1: a, g2: b})) == pytest.approx(searched, abs=1e-6)
    # the lines in α and t equal g₁·cos t + g₂·sin t with g = ρ(cos α, sin α)
    rho, alpha, t = 2.5, 0.7, -1.9
    d = derive.derivation("gradient-descent")
    angle_lines = [s for s in d.steps if s.kind == "equation" and "cos(t)" in str(s.lhs) and s.lhs.has(g1)]
    assert len(angle_lines) == 2
    point = {sp.Symbol("rho", positive=True): rho, sp.Symbol("alpha", real=True): alpha, sp.Symbol("t", real=True): t}
    for s in angle_lines:
        assert value_at(s.rhs, point) == pytest.approx(rho * math.cos(t - alpha))


def test_the_second_derivatives_come_from_the_first(shown):
    """The squared error's first derivative 2σ²(1 − σ) is shown, then differentiated; every line
    of both costs equals sympy.diff at points."""
    out = shown["gradient-descent", "en"]
    assert "= 2·σ(w)²·(1 − σ(w))" in out and "d/dw[2·σ(w)²·(1 − σ(w))]" in out
    w = sp.Symbol("w")
    costs = (sigmoid(w) ** 2, -sp.log(1 - sigmoid(w)))
    checked = 0
    for s in derive.derivation("gradient-descent").steps:
        if s.kind == "equation" and isinstance(s.lhs, sp.Derivative) and s.lhs.expr in costs:
            truth = sp.diff(s.lhs.expr, *s.lhs.variable_count)
            for x in (-1.5, 0.2, 2.0):
                assert value_at(s.rhs, {w: x}) == pytest.approx(float(truth.subs(w, x)))
            checked += 1
    assert checked >= 9


def test_the_limit_is_left_to_derivative_intuition(shown):
    out = " ".join(shown["gradient-descent", "en"].split())
    assert "The derivative as a limit" not in out and "derivatives as slopes" in out
    assert "“导数即斜率”" in shown["gradient-descent", "zh"]


# -- sigmoid-sum ----------------------------------------------------------------------------------


def test_sigmoid_sum_numbers_examples_by_i_and_pieces_by_h(shown):
    for lang in ("en", "zh"):
        out = shown["sigmoid-sum", lang]
        assert "⁽ⁿ⁾" not in out and "_{n=1..m}" not in out
        assert "Σ_{i=1..m} e⁽ⁱ⁾" in out and "Σ_{h=1..H} c_h·a_h" in out and "A_ki" in out
    tex = derive.derivation("sigmoid-sum").render("latex")
    assert "^{(n)}" not in tex and "^{(i)}" in tex


def test_sigmoid_sum_says_its_products_above_them_and_names_b0_by_form(shown):
    out = shown["sigmoid-sum", "en"]
    lines = out.splitlines()
    at = next(k for k, line in enumerate(lines) if "The sums over i are matrix products" in line)
    # the products follow the sentence that announces them
    assert lines[at + 2].lstrip().startswith("∂L/∂b₀ = ")
    header = next(line for line in lines if "index form" in line and "┃" in line)
    assert all(cell.strip() for cell in header.split("┃"))
    # ∂L/∂b₀ twice in the results, its matrix form said to be one (review12 row 8: a result is
    # named by its left side, never a formula)
    named = [line.strip() for line in results_of(out).splitlines() if line.strip().startswith("∂L/∂b₀ =")]
    assert len(named) == 2 and named[1].endswith("in matrix form")


# -- activations ----------------------------------------------------------------------------------


def test_the_hard_sigmoid_slope_is_piecewise_and_agrees_with_finite_differences(shown):
    assert "= {0, z ≤ 0; 1, 0 < z < 1; 0, z ≥ 1}" in results_of(shown["activations", "en"])
    slope = derive.derivation("activations").result("hard_sigmoid'").display
    z = sp.Symbol("z")

    def hard(x):
        return max(0.0, x) - max(0.0, x - 1)

    h = 1e-6
    for x in (-2.0, -0.3, 0.2, 0.8, 1.4, 3.0):
        assert float(slope.subs(z, x)) == pytest.approx((hard(x + h) - hard(x - h)) / (2 * h), abs=1e-6)
    # the stated convention at both kinks, in the shown form and in the JSON's step form
    assert slope.subs(z, 0) == slope.subs(z, 1) == 0 == slope.as_step().subs(z, 0) == slope.as_step().subs(z, 1)


def test_activations_use_the_notes_names(shown):
    for lang in ("en", "zh"):
        out = shown["activations", lang]
        assert "LeakyReLU" not in out and "HardSigmoid" not in out
        assert "Leaky ReLU_α(z)" in out and "Hard sigmoid(z)" in out
    assert "硬 sigmoid" in shown["activations", "zh"] and "hard sigmoid" not in shown["activations", "zh"]


# -- the two maximum-likelihood models ----------------------------------------------------------


def test_mle_binomial_says_where_the_second_derivative_is_negative(shown):
    en, zh = shown["mle-binomial", "en"], shown["mle-binomial", "zh"]
    assert "concave at" not in en and "ℓ″(p̂) < 0, so p̂ is a local maximum" in en
    assert "处二阶导数小于 0，是凹函数" not in zh and "ℓ″(p̂) < 0，p̂ 是极大值点" in zh
    # and the claim itself: both terms of ℓ″ are negative on 0 < p < 1 (0 < k < n)
    n, k, p = 10, 3, sp.Symbol("p")
    second = sp.diff(k * sp.log(p) + (n - k) * sp.log(1 - p), p, 2)
    assert all(second.subs(p, x) < 0 for x in (0.01, 0.3, 0.5, 0.99))


def test_mle_gaussian_writes_the_coefficient_first(shown):
    out = shown["mle-gaussian", "en"].replace("\n           ", " ")
    for form in ("−½·log(2·π·σ²)", "−(n/2)·log(2·π·σ²)", "−(n/2)·∂/∂σ²[log(2·π·σ²)]"):
        assert form in out
    assert "log(2·π·σ²)/2" not in out and "]/2" not in out


# -- the rule column's wrapping ---------------------------------------------------------------


def _held_rules(name: str, lang: str) -> list[str]:
    d = derive.derivation(name)
    view = TextRenderer(d, lang=lang)
    return [view.held_rule_text(s) for s in d.steps if s.kind == "equation"]


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_rule_column_never_breaks_inside_a_formula(name, lang):
    for held in _held_rules(name, lang):
        formulas = [f.replace(_NBSP, " ") for f in FORMULA.findall(held)]
        for width in (30, 40, 60, 80, 100):
            lines = wrap_cjk(held, width).splitlines()
            assert all(cell_len(line) <= width for line in lines)
            for formula in formulas:
                if cell_len(formula) <= width:
                    assert any(formula in line for line in lines), (held, width)


def test_the_rendered_rule_column_keeps_short_formulas_whole(shown):
    """End to end at width 100: every short formula of a rule text is printed on one line (the
    review's `1 +` / `e^(−z)` break)."""
    out = shown["activations", "zh"]
    assert "1 + e^(−z)" in out
    for held in _held_rules("activations", "zh") + _held_rules("gradient-descent", "en"):
        for formula in FORMULA.findall(held):
            formula = formula.replace(_NBSP, " ")
            if cell_len(formula) <= 12:
                assert formula in shown["activations", "zh"] + shown["gradient-descent", "en"], formula
