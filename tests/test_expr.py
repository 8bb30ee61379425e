"""`derive expr`: any expression, derived with verified steps, rendered, evaluated and checked.

Oracles: ``sympy.diff`` of the expression written by hand with SymPy built-ins, the notes' own
forms (24x(3x² + 2)³, σ(z)(1 − σ(z))), and hand-written math-module values at a point.
"""

from __future__ import annotations

import json
import math

import mpmath

import pytest
import sympy as sp

from conftest import run
from derive.errors import DeriveError
from derive.expr import CheckFailed, ExprDerivation, FiniteDifferenceCheck, expr_derivation
from derive.functions import sigmoid, to_elementary
from numeric.fd import check_derivatives

FORMATS = ("text", "latex", "markdown", "json")


def real(*names):
    """The expression's variables are real symbols."""
    out = sp.symbols(names, real=True)
    return out if len(names) > 1 else out[0]


def _sigmoid(t):
    return 1 / (1 + math.exp(-t))


def _assert_all_lines_verified(d):
    assert d.lines, "no equation shown"
    for s in d.lines:
        assert s.verified in ("symbolic", "numeric", "definition"), s
    d.verify()


# (text, from_latex, wrt, hand-written f with built-ins, variables differentiated)
CASES = {
    "linear": ("3*(a+b*c)", False, ["a"], lambda a, b, c: 3 * (a + b * c), "abc"),
    "chain": ("(3*x**2+2)**4", False, [], lambda x: (3 * x**2 + 2) ** 4, "x"),
    "neuron": ("sigmoid(w*x+b)", False, ["w"], lambda b, w, x: 1 / (1 + sp.exp(-(w * x + b))), "bwx"),
    "latex-sigmoid": (r"\frac{1}{1+e^{-z}}", True, ["z"], lambda z: 1 / (1 + sp.exp(-z)), "z"),
    "latex-sigma": (r"\sigma(z)", True, [], lambda z: 1 / (1 + sp.exp(-z)), "z"),
    "latex-product": (r"x^{2}\sin(x)", True, ["x"], lambda x: x**2 * sp.sin(x), "x"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_derivative_equals_sympy_diff_and_every_step_verifies(case):
    text, from_latex, wrt, hand, names = CASES[case]
    symbols = real(*names) if len(names) > 1 else (real(names),)
    f = hand(*symbols)
    d = expr_derivation(text, wrt, from_latex=from_latex)
    _assert_all_lines_verified(d)
    variables = wrt or [names]
    by_name = {s.name: s for s in symbols}
    assert [r.wrt.name for r in d.results if r.wrt is not None] == variables
    for r in d.results:
        x = by_name[r.wrt.name]
        want = sp.diff(f, x)
        assert sp.simplify(to_elementary(r.display) - want) == 0, (case, r.display)
        assert sp.simplify(r.of - f) == 0
        assert sp.simplify(sp.diff(r.of, r.wrt) - r.value) == 0


def test_notes_forms():
    """The results read as the notes write them."""
    x, z, a, b, c = real("x", "z", "a", "b", "c")
    assert expr_derivation("(3*x**2+2)**4").results[0].display == 24 * x * (3 * x**2 + 2) ** 3
    assert expr_derivation("3*(a+b*c)", ["a"]).results[0].display == 3
    s = sigmoid(z)
    assert expr_derivation(r"\sigma(z)", from_latex=True).results[0].display == s * (1 - s)
    w, x_, b_ = real("w", "x", "b")
    got = expr_derivation("sigmoid(w*x+b)", ["w"]).results[0].display
    u = sigmoid(w * x_ + b_)
    assert sp.expand(got - x_ * u * (1 - u)) == 0


def test_single_variable_prints_d_and_several_print_partial():
    assert expr_derivation("x**2").partial is False
    assert "df/dx" in expr_derivation("x**2").render("text")
    d = expr_derivation("x*y", ["x"])
    assert d.partial is True and "∂f/∂x" in d.render("text")


def test_several_wrt_give_the_gradient():
    x, y = real("x", "y")
    f = x * y**2 + sp.sin(x)
    d = expr_derivation("x*y**2 + sin(x)", ["x", "y"])
    _assert_all_lines_verified(d)
    grad = d.results[-1]
    assert grad.of is None and isinstance(grad.display, sp.Tuple)
    assert [sp.simplify(g - sp.diff(f, v)) for g, v in zip(grad.display, (x, y))] == [0, 0]
    # each component keeps its checkable of/wrt
    assert [(r.of, r.wrt) for r in d.results[:2]] == [(f, x), (f, y)]
    # "x,y" in one --wrt is the same request
    assert expr_derivation("x*y**2 + sin(x)", ["x,y"]).results == d.results


def test_wrt_choice_and_errors():
    assert expr_derivation("sin(t)").results[0].wrt.name == "t"
    with pytest.raises(DeriveError, match="--wrt"):
        expr_derivation("x*y")
    with pytest.raises(DeriveError, match="z does not occur"):
        expr_derivation("x*y", ["z"])
    # a constant differentiates to 0, with respect to x unless a variable is named
    constant = expr_derivation("2+3")
    assert constant.results[0].wrt.name == "x" and constant.results[0].value == sp.diff(5, "x")
    assert expr_derivation("pi**2", ["t"]).results[0].wrt.name == "t"
    with pytest.raises(DeriveError, match="forbidden name"):
        expr_derivation("2+3", ["if"])
    with pytest.raises(DeriveError):
        expr_derivation("x*", ["x"])


def test_function_name_avoids_the_expressions_symbols():
    d = expr_derivation("f*x", ["x"])
    assert d.lines[0].lhs.name != "f" and d.lines[0].lhs.name == "g"


def test_values_at_a_point_against_hand_computed_numbers():
    d = expr_derivation("sigmoid(w*x+b)", ["w", "b"], at="w=1,x=2,b=-1/2", checker=check_derivatives)
    assert isinstance(d, ExprDerivation)
    _assert_all_lines_verified(d)
    s = _sigmoid(1 * 2 - 0.5)
    want = {"w": 2 * s * (1 - s), "b": s * (1 - s)}
    values = {r.name: float(r.display) for r in d.results if r.display.is_Number}
    assert len(values) == 2
    for name, v in values.items():
        var = name.split("/∂")[1][0]
        assert v == pytest.approx(want[var], rel=1e-13)
    grad_at = d.results[-1]
    assert [float(v) for v in grad_at.display] == pytest.approx([want["w"], want["b"]], rel=1e-13)
    # finite differences agree with the hand-computed values, within their error estimates
    assert [c.verdict for c in d.checks] == ["agree", "agree"]
    for c in d.checks:
        assert abs(c.fd - want[c.wrt.name]) <= max(10 * c.error, 1e-9)
    assert d.failed == ()
    evaluate = [s for s in d.lines if s.rule == "evaluate"]
    assert len(evaluate) == 4  # exact σ(3/2)(1 − σ(3/2)) forms, then decimals


def test_point_must_bind_every_variable():
    with pytest.raises(DeriveError, match="missing: b, x"):
        expr_derivation("sigmoid(w*x+b)", ["w"], at="w=1")
    with pytest.raises(DeriveError, match="not a variable"):
        expr_derivation("x**2", at="x=1,q=2")
    with pytest.raises(DeriveError):
        expr_derivation("x**2", at="x=abc")
    with pytest.raises(DeriveError, match="not a real number"):
        expr_derivation("log(x)", at="x=-1")
    with pytest.raises(DeriveError, match="not defined"):
        expr_derivation("1/x", at="x=0")


def test_relu_kink_is_reported_not_failed():
    """ReLU′(0) = 0 by convention; the central difference is the average 1/2 of the two sides."""
    d = expr_derivation("relu(x)", at="x=0", checker=check_derivatives)
    (c,) = d.checks
    assert c.value == 0 and c.fd == pytest.approx(0.5) and c.verdict == "kink" and c.ok
    assert d.failed == ()
    d = expr_derivation("relu(x)", at="x=1/2", checker=check_derivatives)
    assert d.checks[0].verdict == "agree" and d.checks[0].value == 1


def test_a_disagreement_exits_1(monkeypatch):
    """A finite difference that disagrees is a check that found a problem: exit status 1, after
    the derivation (with its table) was printed."""
    import numeric.fd as fd

    def wrong(expr, point, values):
        return tuple(FiniteDifferenceCheck(s, float(v), float(v) + 1.0, 1e-10, "disagree")
                     for s, v in values.items())

    monkeypatch.setattr(fd, "check_derivatives", wrong)
    code, out, err = run("expr", "x**2", "--at", "x=3", "--show-steps")
    assert code == 1
    assert "finite difference" in out
    assert err.startswith("derive: error: the derivative disagrees") and err.count("\n") == 1
    assert issubclass(CheckFailed, DeriveError) and CheckFailed.exit_code == 1


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("fmt", FORMATS)
def test_cli_renders_every_format(case, fmt):
    text, from_latex, wrt, hand, names = CASES[case]
    args = ["expr", text, "--show-steps", "--format", fmt]
    args += [a for w in wrt for a in ("--wrt", w)]
    if from_latex:
        args.append("--from-latex")
    code, out, err = run(*args)
    assert code == 0 and err == "", err
    if fmt == "json":
        data = json.loads(out)
        assert data["model"] == "expr"
        symbols = real(*names) if len(names) > 1 else (real(names),)
        f = hand(*symbols)
        for r in data["results"]:
            of, x, value = (sp.sympify(r[k]) for k in ("of", "wrt", "value"))
            assert sp.simplify(of - f) == 0
            assert sp.simplify(sp.diff(f, x) - value) == 0
        assert any(s["rule"] == "definition" for s in data["steps"])
    elif fmt == "latex":
        assert "\\begin{align*}" in out and "\\frac" in out
    elif fmt == "markdown":
        assert "$$" in out and "\\begin{aligned}" in out
    else:
        assert "Results" in out and ("d/d" in out or "∂/∂" in out)


def test_cli_standalone_chinese_output_file_and_at(tmp_path):
    target = tmp_path / "out.tex"
    code, out, err = run("expr", "sigmoid(w*x+b)", "--wrt", "w", "--wrt", "b", "--at", "w=1,x=2,b=0",
                         "--show-steps", "--format", "latex", "--standalone", "--lang", "zh", "-o", target)
    assert code == 0 and out == "", err
    tex = target.read_text(encoding="utf-8")
    assert tex.startswith("\\documentclass") and tex.rstrip().endswith("\\end{document}")
    assert "求导" in tex and "\\nabla f" in tex
    assert [p.name for p in tmp_path.iterdir()] == ["out.tex"]


def test_cli_is_deterministic():
    args = ["expr", "x*y**2 + sigmoid(x)", "--wrt", "x", "--wrt", "y", "--at", "x=1,y=2",
            "--show-steps", "--format", "json"]
    first, second = (run(*args) for _ in range(2))
    assert first.code == 0 and first.out and first == second


def test_without_a_checker_the_values_are_shown_and_nothing_is_compared():
    """derive does no numerics of its own: the finite-difference table comes from the checker."""
    d = expr_derivation("x**3", at="x=2")
    assert d.checks == () and d.results[-1].display == 12


def _cos_of_e_to_the_200() -> float:
    """cos(e²⁰⁰) by mpmath at 1,000 bits (e²⁰⁰ has 87 digits before the point)."""
    with mpmath.workprec(1000):
        return float(mpmath.cos(mpmath.exp(200)))


@pytest.mark.parametrize("text, at, exact", [
    ("sin(x)", "x=1e6", math.cos(1e6)),
    ("1/x", "x=1e-8", -1e16),
    ("sqrt(x)", "x=1e-12", 0.5e6),
    ("tan(x)", "x=1.5707963", 1 / math.cos(1.5707963) ** 2),
    ("exp(exp(x))", "x=3", math.exp(3 + math.exp(3))),
    # far past the precision of a double: the step must follow sin's period, not |x|
    ("sin(x)", "x=exp(200)", _cos_of_e_to_the_200()),
    ("x**3", "x=-1e50", 3e100),
    ("sin(x)", "x=1e-30", 1.0),
])
def test_correct_derivatives_agree_at_large_and_tiny_arguments(text, at, exact):
    """Where a double-precision difference cannot follow the curve, the check still agrees
    (and the derivative equals the value computed here by hand)."""
    d = expr_derivation(text, at=at, checker=check_derivatives)
    (c,) = d.checks
    assert c.verdict == "agree", c
    assert c.value == pytest.approx(exact, rel=1e-6) and c.fd == pytest.approx(exact, rel=1e-6)


def test_a_wrong_value_is_still_caught_at_a_large_argument():
    import sympy as sp

    x = sp.Symbol("x")
    (c,) = check_derivatives(sp.sin(x), {x: sp.Float(1e6)}, {x: math.cos(1e6) * (1 + 1e-5)})
    assert c.verdict == "disagree"
    huge = sp.exp(200)
    right = _cos_of_e_to_the_200()
    (c,) = check_derivatives(sp.sin(x), {x: huge}, {x: right * (1 + 1e-5)})
    assert c.verdict == "disagree"


@pytest.mark.parametrize("text, x", [("log(relu(x-2))", 3.0), ("sqrt(x-5)*log(x-3)", 7.5), ("log(x-20)", 25.0)])
def test_expressions_defined_only_far_from_zero_are_verified(text, x):
    """The verifier widens its sampling when too few points are in the domain; the derivative
    it accepts is sympy.diff's at a point of the domain."""
    import sympy as sp

    d = expr_derivation(text)
    (r,) = d.results
    sym = r.wrt
    f = to_elementary(d.defs[d.lines[0].lhs])
    assert float(to_elementary(r.value).subs(sym, x)) == pytest.approx(float(sp.diff(f, sym).subs(sym, x)), rel=1e-12)
