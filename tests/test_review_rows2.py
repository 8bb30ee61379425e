"""The second review's rows of chain-rule, cross-entropy, activations, softmax, linear,
least-squares, gradient-descent and broadcasting: each changed line read back with SymPy and
compared with sympy.diff or the notes' numbers, and the forms the review named gone."""

from __future__ import annotations

import re

import numpy as np
import pytest
import sympy as sp

from conftest import run
import derive
from derive import printing

pytestmark = pytest.mark.usefixtures("shared_derivations")

MODELS = ("chain-rule", "cross-entropy", "activations", "softmax", "linear", "least-squares",
          "gradient-descent", "broadcasting")
SUPERSCRIPTS = str.maketrans({"²": "**2", "³": "**3", "⁴": "**4"})
ZH = ("chain-rule", "cross-entropy", "least-squares", "broadcasting")
SUM = "Σ_{i=1..m} "


@pytest.fixture(scope="module")
def shown():
    """(name, lang) → `derive NAME --show-steps --lang LANG` (in Chinese, the models whose
    changed sentences are checked)."""
    return {(name, lang): run(name, "--show-steps", "--lang", lang).out for name in MODELS for lang in ("en", "zh")
            if lang == "en" or name in ZH}


def parse(text: str) -> sp.Expr:
    """A printed formula back as SymPy: x⁽ⁱ⁾ is x(i), and Σ_{i=1..m} runs to the end of its
    bracket or of the formula (the notes' reading of an unbracketed Σ)."""
    s = (text.replace("·", "*").replace("−", "-").replace("√", "sqrt").replace("ŷ", "yhat")
         .replace("⁽ⁱ⁾", "(i)").replace("₁", "1").replace("₂", "2").translate(SUPERSCRIPTS))
    while (at := s.find(SUM)) >= 0:
        depth, end = 0, at + len(SUM)
        while end < len(s) and depth >= 0:
            depth += {"(": 1, ")": -1}.get(s[end], 0)
            end += 1
        end -= depth < 0                                  # the bracket that closes Σ's own
        s = f"{s[:at]}Sum({s[at + len(SUM):end]}, (i, 1, m)){s[end:]}"
    indexed = {n: sp.Function(n) for n in ("x", "y", "yhat") if f"{n}(i)" in s}
    return sp.sympify(s, locals=indexed | {"m": sp.Symbol("m")})


@pytest.fixture(scope="module")
def equations():
    """name → each equation of the derivation as the JSON view writes it (no LaTeX made)."""
    def line(d, s):
        return f"{printing.text(s.lhs, partial=d.partial)} = {printing.text(s.rhs, partial=d.partial, order=s.order)}"
    return {name: [line(d, s) for s in d.steps if s.kind == "equation"]
            for name in ("chain-rule", "linear", "gradient-descent") if (d := derive.derivation(name))}


def right_sides(equations: list[str], lhs: str) -> list[str]:
    return [e.split(" = ", 1)[1] for e in equations if e.startswith(lhs + " = ")]


def test_chain_rule_keeps_four_u_cubed_beside_du_dx_until_six_x(shown, equations):
    out = shown["chain-rule", "en"]
    x = sp.Symbol("x")
    truth = sp.diff((3 * x**2 + 2) ** 4, x)
    rows = right_sides(equations["chain-rule"], "dh/dx")
    by_rules = rows[:rows.index("dh/du·du/dx")]
    assert by_rules[-2:] == ["4·(3·x² + 2)³·6·x", "24·x·(3·x² + 2)³"]
    assert not any(r.startswith("12·") for r in rows)
    written_out = [r for r in rows if "d/dx" not in r and "u" not in r]
    assert len(written_out) == 3
    for row in written_out:
        assert sp.expand(parse(row) - truth) == 0, row
    # dv/da = d/da[a] + du/da = 1 + 0: the line names both rules and both derivatives
    assert "derivative of the variable itself and constant rule: d/da[a] = 1, du/da = 0" in out
    assert "d/du[u] = 1, da/du = 0" in out
    assert "变量对自身求导与常数法则：d/da[a] = 1、du/da = 0" in shown["chain-rule", "zh"]


@pytest.mark.parametrize("name, lang", [(n, "en") for n in MODELS] + [(n, "zh") for n in ZH])
def test_no_paragraph_ends_on_a_colon_before_a_heading(shown, name, lang):
    lines = shown[name, lang].splitlines()
    for k, line in enumerate(lines[2:], 2):
        if line and not line.startswith(" ") and not lines[k - 1]:
            assert not lines[k - 2].rstrip().endswith((":", "：")), (lines[k - 2], line)


def test_relu_pieces_by_the_identity_and_the_kinks_by_convention(shown):
    out = shown["activations", "en"]
    z = sp.Symbol("z")
    assert "power rule: d/dz[c·z]" not in out and "u₂" not in out and "substitute: at the kink" not in out
    relu = next(line for line in out.splitlines() if "{0, z < 0; 1, z > 0}" in line)
    assert "derivative of the variable itself: d/dz[z] = 1" in relu
    # the pieces' slopes are sympy.diff's on each side of the kink
    assert [sp.diff(sp.Max(0, z), z).subs(z, v) for v in (-2, 2)] == [0, 1]
    assert [sp.diff(sp.Max(z / 100, z), z).subs(z, v) for v in (-2, 2)] == [sp.Rational(1, 100), 1]
    conventions = [line for line in out.splitlines() if "convention:" in line]
    assert len(conventions) == 3 and all("≤" in line or "≥" in line for line in conventions)
    assert "with u = 1 + e^(−z)" in out and "chain rule: with v = −z" in out
    assert "chain rule: with u = z − 1" in out


def test_softmax_log_step_has_one_label(shown):
    out = shown["softmax", "en"]
    assert "chain rule: log rule" not in out
    assert "chain rule: through log ŷ_j, whose derivative is 1/ŷ_j" in out


def test_a_sum_of_products_binds_without_stacked_brackets():
    i, m = sp.symbols("i m")
    x, y, yhat = (sp.Function(n) for n in ("x", "y", "yhat"))
    times_sum = sp.Sum(x(i) * (yhat(i) - y(i)), (i, 1, m))
    assert printing.text(times_sum) == "Σ_{i=1..m} x(i)·(yhat(i) − y(i))"
    assert parse(printing.text(2 * times_sum + 1)) == 2 * times_sum + 1
    # a product binds without brackets (Σ binds it, not the term after it); a negative one keeps them
    assert printing.text(sp.Sum(x(i) * y(i), (i, 1, m)) + 1) == "Σ_{i=1..m} x(i)·y(i) + 1"
    assert printing.text(sp.Sum(-x(i) * (y(i) - 1), (i, 1, m))).startswith("Σ_{i=1..m} (")


def test_linear_and_least_squares_sums_read_as_the_notes_and_equal_sympy_diff(shown, equations):
    w, b, m = sp.symbols("w b m")
    x, y, yhat = (sp.Function(n) for n in ("x", "y", "yhat"))
    i = sp.Symbol("i")
    model = {yhat: sp.Lambda(i, w * x(i) + b)}
    linear = shown["linear", "en"]
    dw = right_sides(equations["linear"], "dw")[-1]
    assert dw == "(2/m)·Σ_{i=1..m} (ŷ⁽ⁱ⁾ − y⁽ⁱ⁾)·x⁽ⁱ⁾"
    cost = sp.Sum((w * x(i) + b - y(i)) ** 2, (i, 1, 3)).doit() / 3
    assert sp.expand(parse(dw).subs(m, 3).doit().subs(model).doit() - sp.diff(cost, w)) == 0
    squares = shown["least-squares", "en"]
    dl = next(line for line in squares.split("Results")[1].splitlines() if "∂L/∂w = " in line).split(" = ", 1)[1]
    assert dl == "−2·(Σ_{i=1..m} (y⁽ⁱ⁾ − (w·x⁽ⁱ⁾ + b))·x⁽ⁱ⁾)"
    loss = sp.Sum((y(i) - (w * x(i) + b)) ** 2, (i, 1, 3)).doit()
    assert sp.expand(parse(dl).subs(m, 3).doit() - sp.diff(loss, w)) == 0
    assert "(x⁽ⁱ⁾·(" not in linear + squares


def test_least_squares_gradient_is_shown_once(shown):
    out = shown["least-squares", "en"]
    assert out.count("= −2·Xᵀ·(y − X·θ)") == 1 and "as the notes write it" not in out
    assert "笔记中的写法" not in shown["least-squares", "zh"]


def test_steepest_descent_sum_has_no_needless_brackets(equations):
    g1, g2, t, rho, alpha = sp.symbols("g1 g2 t rho alpha")
    lines = [e.split(" = ") for e in equations["gradient-descent"] if e.startswith("g₁·cos(t) + g₂·sin(t) = ")]
    assert [line for line, _ in lines] == ["g₁·cos(t) + g₂·sin(t)"] * 2
    # with ∇f = ρ·(cos α, sin α), each right side equals ∇f·u at a few points
    for point in ({rho: 5, alpha: 1, t: 1}, {rho: 2, alpha: -0.5, t: sp.Rational(5, 2)}):
        polar = {g1: rho * sp.cos(alpha), g2: rho * sp.sin(alpha)}
        for line, right in lines:
            assert abs(sp.N((parse(line).subs(polar) - parse(right.replace("ρ", "rho").replace("α", "alpha"))).subs(point))) < 1e-12


def test_broadcasting_adds_a_and_b_in_the_notes_order(shown):
    out = shown["broadcasting", "en"]
    assert "1·b + a" not in out
    lines = out.splitlines()
    start = next(k for k, line in enumerate(lines) if line.strip().startswith("a + b = [["))
    rows = [re.findall(r"-?\d+", line.split("evaluate")[0].split("=")[-1]) for line in lines[start:start + 4]]
    # the notes' print(a + b): a's rows 0, 10, 20, 30 plus b = (1, 2, 3)
    a = np.repeat(np.array([[0], [10], [20], [30]]), 3, axis=1)
    assert np.array_equal(np.array(rows, dtype=int), a + np.array([1, 2, 3]))
    assert "逐元素相加，b 扩展为 𝟏·b" in shown["broadcasting", "zh"]
