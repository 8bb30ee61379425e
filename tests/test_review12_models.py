"""The twelfth review's rows of conv, linear, logistic, rnn, deep, broadcasting,
derivative-intuition, chain-rule, softmax and cross-entropy, and of the LaTeX prose converter:
each mathematical fix checked against an independent oracle (the formula evaluated at its special
cases, finite differences, NumPy), each naming fix as a property of the printed page."""

from __future__ import annotations

import re
from fractions import Fraction

import numpy as np
import pytest
import sympy as sp

from conftest import run
import derive
from derive import printing
from derive.render.latex import formula_tex

pytestmark = pytest.mark.usefixtures("shared_derivations")

class _Pages(dict):
    """(name, "en" | "zh") → `derive NAME --show-steps [--lang zh]` as text, (name, "default") →
    `derive NAME`: each rendered when a test first reads it, once per module."""

    def __missing__(self, key):
        name, how = key
        self[key] = run(name, *(() if how == "default" else ("--show-steps", "--lang", how))).out
        return self[key]


@pytest.fixture(scope="module")
def page():
    return _Pages()


def results(text: str) -> list[str]:
    """The lines of a page's Results block."""
    block = text.split("\nResults\n", 1)[1].split("\n\n", 1)[0]
    return [line.strip() for line in block.splitlines()]


def named(text: str, name: str) -> set[str]:
    """Every derivative that ``name`` is said to be on the page: 'dw = ∂J/∂w' gives '∂J/∂w'."""
    return set(re.findall(rf"(?<![\w∂]){re.escape(name)} = (∂\w+/∂\w+)", text))


# -- conv (A1, C9) ------------------------------------------------------------------------------------

def test_conv_output_sizes_are_separate_lines_each_the_formula_at_its_case(page):
    d = derive.derivation("conv")
    lines = [s for s in d.lines if isinstance(s.lhs, sp.Function) and s.lhs.func.__name__ == "n_Z"
             and not all(a.is_Integer for a in s.lhs.args)]
    assert len(lines) == 3 and not any(s.continued for s in lines)
    n, f, p, s = sp.symbols("n f p s", positive=True, integer=True)
    general = sp.floor((n + 2 * p - f) / s) + 1      # the textbook's formula, written here
    for line in lines[1:]:
        case = dict(zip((n, f, p, s), [a.xreplace({sp.Symbol(x.name, integer=True, positive=True): x
                                                   for x in (n, f)}) for a in line.lhs.args]))
        shown = line.rhs.xreplace({sp.Symbol(x.name, integer=True, positive=True): x for x in (n, f)})
        # evaluated on sizes where the case applies (an odd f for "same"), not only symbolically
        for nv in range(5, 10):
            for fv in (1, 3, 5):
                at = {n: nv, f: fv}
                assert general.xreplace({k: v.xreplace(at) for k, v in case.items()}) == shown.xreplace(at)
    text = page["conv", "en"]
    section = text.split("The output size", 1)[1].split("━", 1)[0]
    assert not any(line.strip().startswith("= ") for line in section.splitlines())   # no chain of "="
    assert "偏置" not in page["conv", "zh"] and "偏差 b_k" in page["conv", "zh"]


# -- linear and logistic (A2, B20, E2) ------------------------------------------------------------------

@pytest.mark.parametrize("name", ["linear", "logistic"])
def test_each_gradient_name_means_one_derivative_on_the_page(page, name):
    text = page[name, "en"]
    for grad in ("dw", "db", "da", "dz", "dw1", "dw₁"):
        assert len(named(text, grad)) <= 1, (grad, named(text, grad))
    assert named(text, "dw") == {"∂J/∂w"} and named(text, "db") == {"∂J/∂b"}
    if name == "logistic":
        # da is defined before a line uses it, and the update and Results spell dw₁ one way
        assert text.index("da = ∂L/∂a") < text.index("da·a·(1 − a)")
        assert "dw1" not in text and "w₁ := w₁ − α·dw₁" in text


def test_linear_cost_gradients_equal_finite_differences_of_the_mean_cost():
    d = derive.derivation("linear")
    m = 3
    rng = np.random.default_rng(12)
    xs, ys = rng.normal(size=m), rng.normal(size=m)
    w0, b0 = 0.7, -0.2

    def cost(w, b):
        return np.mean((w * xs + b - ys) ** 2)

    for key, wrt in (("dJ/dw", "w"), ("dJ/db", "b")):
        display = d.result(key).display.xreplace({sp.Symbol("m", integer=True, positive=True): m,
                                                  sp.Symbol("m"): m})
        values = {}
        for k in range(m):
            for base, v in (("x", xs[k]), ("y", ys[k]), ("yhat", w0 * xs[k] + b0)):
                values[sp.Indexed(sp.IndexedBase(base + printing.EXAMPLE), k + 1)] = v
        value = float(display.doit().xreplace(values))
        h = 1e-6
        step = {"w": (h, 0), "b": (0, h)}[wrt]
        fd = (cost(w0 + step[0], b0 + step[1]) - cost(w0 - step[0], b0 - step[1])) / (2 * h)
        assert value == pytest.approx(fd, rel=1e-6)


# -- rnn (A4, B15, E6) ------------------------------------------------------------------------------------

def test_rnn_gradients_are_named_after_a_variable_of_the_page(page):
    text = page["rnn", "en"]
    variables = set(re.findall(r"^\s*(\w)⟨t⟩ = ", text, re.M))        # z, a, o, ŷ (not y: data)
    used = set(re.findall(r"(?<![\w∂])d(\w)⟨", text))
    assert used and used <= variables, used - variables
    assert "do⟨t⟩ = ∂L/∂o⟨t⟩" in text
    assert sum("unrolled over T = 3" in line for line in results(text)) == 1


def test_rnn_step_loss_is_the_cross_entropy_sections_form(page):
    line = next(s for s in derive.derivation("rnn").lines if printing.text(s.lhs) == "L⟨t⟩")
    assert printing.text(line.rhs, order=line.order) == "−(y⟨t⟩·log(ŷ⟨t⟩) + (1 − y⟨t⟩)·log(1 − ŷ⟨t⟩))"
    ce = next(s for s in derive.derivation("cross-entropy").lines if printing.text(s.lhs) == "L"
              and "log(ŷ)" in printing.text(s.rhs))
    y, yhat = sp.symbols("y yhat")

    def plain(expr):        # each side's y and ŷ as the same two symbols
        return expr.xreplace({s: {"y": y, "yhat": yhat}[s.name.split("^")[0]] for s in expr.free_symbols})

    assert sp.expand(plain(line.rhs) - plain(ce.rhs)) == 0


# -- deep (A5, B17, E7) -------------------------------------------------------------------------------------

def test_deep_keeps_L_for_the_layers_and_names_the_loss_otherwise(page):
    text = page["deep", "en"]
    assert not re.search(r"∂L/|^\s*L = |Σ_i L⁽", text, re.M)
    assert re.search(r"^\s*ℒ = −", text, re.M) and "L = 3 layers" in text
    assert "64, 32, 16, 10" in text and "as derive does" not in text
    tex = run("deep", "--show-steps", "--format", "latex").out
    assert r"\partial \mathcal{L}" in tex and r"\partial L" not in tex


def test_deep_results_follow_the_body_order(page):
    d = derive.derivation("deep")
    body = [printing.text(s.lhs) for s in d.lines]
    shown = [printing.text(r.lhs) for r in d.results if r.audience == "student"]
    # for a one-example result, its line; for dW[l], db[l], the line with the matrix name
    firsts = [body.index(lhs) if lhs in body else body.index(lhs.split(" ")[0]) for lhs in shown]
    assert firsts == sorted(firsts)


# -- broadcasting (A9, D1) ------------------------------------------------------------------------------------

def test_broadcasting_result_is_db_equal_dZ_times_ones(page):
    text = page["broadcasting", "default"]
    assert "db = dZ·𝟏" in text and "∂J/∂b_j = Σ_{i=1..m} dZ_ji" in text
    assert "dZ_11" not in text and "Shown at" not in page["broadcasting", "en"]
    # the oracle: NumPy's dZ.sum(axis=1) and the finite-difference gradient of a broadcast layer
    rng = np.random.default_rng(7)
    nh, nx, m = 3, 4, 5
    W, X, b, T = rng.normal(size=(nh, nx)), rng.normal(size=(nx, m)), rng.normal(size=(nh, 1)), rng.normal(size=(nh, m))

    def J(bias):
        return 0.5 * np.sum((W @ X + bias - T) ** 2)

    dZ = W @ X + b - T
    ones = np.ones((m, 1))
    fd = np.array([[(J(b + e) - J(b - e)) / 2e-6] for e in np.eye(nh)[:, :, None] * 1e-6])
    assert np.allclose(dZ @ ones, dZ.sum(axis=1, keepdims=True)) and np.allclose(dZ @ ones, fd.reshape(nh, 1))
    verbose = run("broadcasting", "--verbose").out
    assert "dZ_11 + dZ_12 + dZ_13" in verbose


# -- derivative-intuition (A12) ----------------------------------------------------------------------------

def test_nudge_is_the_slope_times_the_step(page):
    a = sp.Symbol("a")
    functions = {"4·a": 4 * a, "a²": a**2}
    found = re.findall(r"^\s*At a = (\d+): f = (\d+); nudge a to ([\d.]+) and f = [\d.]+, a change of "
                       r"([\d.]+) ([=≈]) (\d+) × 0\.001 = f′\((\d+)\)·Δa\.", page["derivative-intuition", "en"], re.M)
    assert len(found) == 3
    sections = iter(["4·a", "a²", "a²"])
    for p, fp, p2, change, rel, k, p_again in found:
        f = functions[next(sections)]
        assert p == p_again and int(fp) == f.subs(a, int(p))
        assert int(k) == sp.diff(f, a).subs(a, int(p))                   # the slope itself
        exact = Fraction(change) == int(k) * Fraction("0.001")
        assert Fraction(change) == Fraction(str(f.subs(a, sp.Rational(p2)) - f.subs(a, int(p))))
        assert (rel == "=") == exact
    zh = page["derivative-intuition", "zh"]
    assert "恰为 0.001 的 4 倍" in zh and "约为 0.001 的 4 倍" in zh and "4.001 倍" not in zh


# -- chain-rule (B3, D4) -------------------------------------------------------------------------------------

def test_chain_rule_results_give_the_notes_numbers_at_the_point(page):
    text = page["chain-rule", "default"]
    point = dict(a=5.0, b=3.0, c=2.0)

    def J(**kw):
        v = {**point, **kw}
        return 3 * (v["a"] + v["b"] * v["c"])

    for var in ("b", "c"):
        value = re.search(rf"dJ/d{var}\|\(a=5, b=3, c=2\) = (\d+)", text)
        assert value, var
        h = 1e-5
        fd = (J(**{var: point[var] + h}) - J(**{var: point[var] - h})) / (2 * h)
        assert int(value.group(1)) == pytest.approx(fd)
    assert "at the point" not in text and "at a = 5, b = 3, c = 2" in text


# -- softmax (A7, A8) -----------------------------------------------------------------------------------------

def test_softmax_names_one_examples_loss_C_and_substitutes_what_it_says(page):
    text = page["softmax", "en"]
    one_example = text.split("m examples:", 1)[0]
    assert "∂L/" not in one_example and not re.search(r"^\s*L = ", one_example, re.M)
    assert "L = Σ_n Cⁿ" in text
    rule = re.search(r"∂C/∂W_kl = ∂C/∂z_k·∂z_k/∂W_kl.*\n\s*= x_l·\(ŷ_k − y_k\)\s+substitute: (.*)", text).group(1)
    assert "∂C/∂z_k = ŷ_k − y_k" in rule and "Σ_j y_j = 1" not in rule
    # the local derivative the rule names, against sympy.diff of z_k = Σ_l W_kl x_l + b_k
    W, x, b = sp.IndexedBase("W"), sp.IndexedBase("x"), sp.IndexedBase("b")
    z2 = sum(W[2, q] * x[q] for q in (1, 2, 3)) + b[2]
    claimed = re.search(r"∂z_k/∂W_kl = (\w+)", rule).group(1)
    assert claimed == "x_l" and sp.diff(z2, W[2, 1]) == x[1]


# -- cross-entropy (E9) ----------------------------------------------------------------------------------------

def test_cross_entropy_spaces_the_probability_as_its_prose(page):
    text = page["cross-entropy", "en"]
    assert "P(y = 1 | x) = ŷ" in text and "P(y=1|x)" not in text


# -- the LaTeX prose converter (A14) ------------------------------------------------------------------------------

@pytest.mark.parametrize("prose, tex", [
    ("f′(a) = lim_(Δa→0) (f(a + Δa) − f(a))/Δa", r"\lim_{\Delta a\to0}"),
    ("f(x) = 1/√(2πσ²)·e^(−(x − μ)²/(2σ²))", r"1/\sqrt{2\pi\sigma^{2}}"),
    ("O = softmax(Q·Kᵀ/√d_k)·V", r"/\sqrt{d_{k}})"),
])
def test_prose_limits_and_roots_are_latex_commands(prose, tex):
    out = formula_tex(prose)
    assert tex in out and r"\surd" not in out and r"\text{lim}" not in out
    assert out.count("{") == out.count("}")
