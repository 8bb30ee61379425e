"""`derive check-steps`: a suite of student derivations, each with the verdict a teacher gives it.

The expected verdicts, first wrong lines and mistakes below were written by hand from the files
in tests/check_steps_cases/ (the oracle is the person who planted the mistake); the generated
cases use ``sympy.diff`` as the oracle.
"""

from __future__ import annotations

import csv
import io
import json
import time
from pathlib import Path

import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import run
from derive.check_steps import HINT_KINDS, check_file, check_steps
from derive.errors import DeriveError

CASES = Path(__file__).parent / "check_steps_cases"
EXAMPLES = Path(__file__).parent.parent / "examples"

# file -> (every row holds, first wrong line, the mistake it shows)
EXPECTED = {
    "ok_block.md": (True, None, None),
    "ok_chain_h.tex": (True, None, None),
    "ok_dz_plain.txt": (True, None, None),
    "ok_dz_skip.md": (True, None, None),
    "ok_graph_J.md": (True, None, None),
    "ok_mle_skip.tex": (True, None, None),
    "ok_mse.txt": (True, None, None),
    "ok_product.txt": (True, None, None),
    "ok_quotient.md": (True, None, None),
    "ok_sigmoid_notation.md": (True, None, None),
    "ok_sigmoid_prime.md": (True, None, None),
    "ok_tanh.txt": (True, None, None),
    "bad_chain_dz.txt": (False, 4, "chain"),
    "bad_chain_h.md": (False, 2, "chain"),
    "bad_chain_sin.tex": (False, 2, "chain"),
    "bad_dropped.txt": (False, 1, "dropped"),
    "bad_dropped_algebra.md": (False, 2, "dropped"),
    "bad_factor_half.txt": (False, 2, "factor"),
    "bad_factor_m.md": (False, 2, "factor"),
    "bad_factor_mse.tex": (False, 3, "factor"),
    "bad_later.md": (False, 8, "sign"),
    "bad_logexp_exp.txt": (False, 1, "logexp"),
    "bad_logexp_log.md": (False, 1, "logexp"),
    "bad_power.tex": (False, 2, "power"),
    "bad_product.txt": (False, 2, "product"),
    "bad_product_both.md": (False, 1, "product"),
    "bad_quotient.md": (False, 1, "quotient"),
    "bad_sigmoid.md": (False, 2, "sigmoid"),
    "bad_sigmoid_prime.tex": (False, 2, "sigmoid"),
    "bad_sign_algebra.txt": (False, 4, "sign"),
    "bad_sign_chain_exp.md": (False, 1, "sign"),
    "bad_sign_da.md": (False, 3, "sign"),
    # matrix rows, shapes declared in a comment line
    "ok_matrix_ls.txt": (True, None, None),
    "ok_matrix_ridge.tex": (True, None, None),
    "ok_matrix_sum.md": (True, None, None),
    "bad_matrix_factor.txt": (False, 3, "factor"),
    "bad_transpose_missing.tex": (False, 6, "transpose"),
    "bad_transpose_order.md": (False, 11, "transpose"),
}


def test_the_suite_is_complete():
    assert sorted(p.name for p in CASES.iterdir()) == sorted(EXPECTED)
    assert {hint for _, _, hint in EXPECTED.values() if hint} == set(HINT_KINDS)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_verdict_line_and_hint(name):
    ok, line, hint = EXPECTED[name]
    start = time.process_time()
    report = check_file(str(CASES / name))
    assert time.process_time() - start < 3
    assert report.ok is ok
    first = report.first_wrong
    assert (first and first.line) == line
    assert (first and first.hint) == hint
    if not ok:
        # one mistake is one ✗: the rows after it are judged against it
        assert [r.line for r in report.rows if not r.ok] == [line]
        # the point shown is a real counterexample (a matrix row whose shapes differ from the
        # truth's has no entry to compare: its transpose is the mistake)
        if first.point is not None or first.hint != "transpose":
            assert first.point is not None and abs(first.values[0] - first.values[1]) > 1e-6


def test_a_wrong_row_is_explained():
    report = check_file(str(EXAMPLES / "dz_mistake.md"))
    row = report.first_wrong
    assert (row.line, row.hint, row.previous_line) == (9, "sign", 9)
    a, y = sp.symbols("a y")
    assert sp.simplify(row.expected - sp.diff(-(y * sp.log(a) + (1 - y) * sp.log(1 - a)), a)) == 0
    # the values at the point are the two sides evaluated there, in the student's names
    point = {s.name: float(v) for s, v in row.point.items()}
    assert set(point) == {"a", "y"}
    true = -point["y"] / point["a"] + (1 - point["y"]) / (1 - point["a"])
    written = -point["y"] / point["a"] - (1 - point["y"]) / (1 - point["a"])
    assert row.values == pytest.approx((true, written))


@settings(max_examples=25, derandomize=True, deadline=None)
@given(coeffs=st.lists(st.integers(-5, 5), min_size=2, max_size=4),
       inner=st.sampled_from(["x", "2*x + 1", "x**2"]),
       outer=st.sampled_from(["sin", "exp", "tanh"]), slip=st.integers(1, 3))
def test_generated_derivatives(coeffs, inner, outer, slip):
    x = sp.Symbol("x")
    f = sum(c * x**k for k, c in enumerate(coeffs)) + getattr(sp, outer)(sp.sympify(inner))
    right = sp.diff(f, x)
    text = f"f(x) = {sp.sstr(f)}\nf'(x) = {sp.sstr(right)}\n"
    assert check_steps(text, "plain").ok
    wrong = check_steps(text + f"= {sp.sstr(right + slip * x)}\n", "plain")
    assert [r.line for r in wrong.rows if not r.ok] == [3]


def test_rows_the_student_defines_are_used_later():
    report = check_steps("u = b*c\nv = a + u\nJ = 3*v\ndJ/dc = 3*b\ndJ/db = 3*b\n", "plain")
    assert [r.ok for r in report.rows] == [True, True, True, True, False]


def test_formats_read_the_same_derivation():
    plain = "a = sigmoid(z)\nL = -(y*log(a) + (1 - y)*log(1 - a))\ndz = a - y\n= a*(1 - y) + y*(a - 1)\n"
    latex = ("\\begin{align*}\na &= \\sigma(z) \\\\\nL &= -(y\\log a + (1-y)\\log(1-a)) \\\\\n"
             "\\frac{\\partial L}{\\partial z} &= a - y \\\\\n&= a(1-y) + y(a-1)\n\\end{align*}\n")
    markdown = "".join(f"$${line}$$\n" for line in latex.splitlines()[1:-1])
    markdown = markdown.replace("&", "").replace("\\\\", "")
    for text, kind in ((plain, "plain"), (latex, "latex"), (markdown, "markdown")):
        report = check_steps(text, kind)
        assert [r.ok for r in report.rows] == [True, True, True, True], kind


@pytest.mark.parametrize("text,kind,where,words", [
    ("$$a = \\frac{1}{2$$\n", "markdown", ":1:", "brace"),
    ("$$a = \\foo{x}$$\n", "markdown", ":1:", "unsupported LaTeX command"),
    ("$$x = 1$$\n$$\\frac{\\partial L}{\\partial w} = 2$$\n", "markdown", ":2:", "not defined"),
    ("= x + 1\n", "plain", ":1:", "needs a row before it"),
    ("\\begin{align}\nx &= 1\n", "latex", ":1:1:", "never closed"),
])
def test_bad_input_names_file_line_and_column(text, kind, where, words):
    with pytest.raises(DeriveError) as err:
        check_steps(text, kind, "hw.md")
    message = str(err.value)
    assert message.startswith("hw.md" + where) and words in message


def test_cli_exit_codes_and_formats(capsys, tmp_path):
    code, out, _ = run("check-steps", EXAMPLES / "dz_correct.md")
    assert code == 0 and "✗" not in out and "all 12 rows hold" in out
    code, out, _ = run("check-steps", EXAMPLES / "dz_mistake.md", "--format", "json")
    data = json.loads(out)
    assert code == 1 and data["first_wrong_line"] == 9
    assert [r["line"] for r in data["rows"] if r["verdict"] == "wrong"] == [9]
    code, out, _ = run("check-steps", EXAMPLES / "dz_mistake.md", "--lang", "zh")
    assert code == 1 and "提示" in out and "丢了一个负号" in out
    code, out, _ = run("check-steps", EXAMPLES / "mle_bernoulli.tex")
    assert code == 0
    binary = tmp_path / "b.md"
    binary.write_bytes(b"$$x$$\n\x00\x01")
    empty = tmp_path / "e.txt"
    empty.write_text("  \n")
    for bad, where in ((binary, ":2:1:"), (empty, ":1:1:")):
        code, out, err = run("check-steps", bad)
        assert code == 2 and out == "" and f"{bad}{where}" in err and len(err.splitlines()) == 1


def test_cli_reads_standard_input():
    code, out, _ = run("check-steps", "-", input=b"f = x**3\ndiff(f, x) = 3*x**3\n")
    assert code == 1 and "the power rule" in out


def test_cli_summary_of_several_files(capsys, tmp_path):
    broken = tmp_path / "broken.tex"
    broken.write_text("\\begin{align}\nx &= \\frac{1}{\n\\end{align}\n")
    files = [CASES / "ok_dz_skip.md", CASES / "bad_power.tex", broken]
    code, out, _ = run("check-steps", *files, "--summary", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 2
    assert [(r["verdict"], r["line"]) for r in rows] == [("ok", ""), ("wrong", "2"),
                                                          ("unreadable", "")]
    assert "power rule" in rows[1]["hint"] and "brace" in rows[2]["hint"]
    code, out, _ = run("check-steps", *files[:2], "--summary", "json")
    assert code == 1 and [r["verdict"] for r in json.loads(out)] == ["ok", "wrong"]
    code, out, _ = run("check-steps", *files[:2], "--summary", "table")
    assert code == 1 and out.splitlines()[0].split() == ["file", "verdict", "line", "hint"]


# Ways of writing the same correct derivative; each is followed by a wrong last row, which must be
# the only ✗ (so the notation is read, not skipped).
NOTATIONS = [
    ("$$y = x^3$$\n$$\\frac{\\mathrm{d}y}{\\mathrm{d}x} = 3x^2$$\n", "markdown"),
    ("$$d/dx(x^3) = 3x^2$$\n", "markdown"),
    ("$$y = x^3$$\n$$\\Rightarrow y'(x) = 3x^2$$\n", "markdown"),
    ("Work:\n\\begin{align*}\ny &= x^3 \\\\\n\\frac{dy}{dx} &= 3x^2\n\\end{align*}\n", "markdown"),
    ("$x$ is the input and $y$ the output\n$$y = x^3$$\n$$\\frac{dy}{dx} = 3x^2$$\n", "markdown"),
    ("f = x**3\nf'(x) = 3*x**2\n", "plain"),
    ("y = x**3\ndy/dx = 3*x**2\n", "plain"),
    ("\\[ \\frac{\\partial}{\\partial x}\\left[x^{3}\\right] = 3x^{2} \\]\n", "latex"),
]


@pytest.mark.parametrize("text,kind", NOTATIONS)
def test_notations(text, kind):
    report = check_steps(text, kind)
    assert report.ok and report.rows[-1].kind == "step"
    wrong = check_steps(text + ("= 3*x\n" if kind == "plain" else "$$= 3x$$\n" if kind == "markdown"
                                else "\\[ = 3x \\]\n"), kind)
    assert [r.ok for r in wrong.rows] == [True] * len(report.rows) + [False]


def test_derivative_with_respect_to_a_variance():
    text = ("\\begin{align*}\n"
            "\\ell &= -\\frac{1}{2}\\log(2\\pi\\sigma^2) - \\frac{(x-\\mu)^2}{2\\sigma^2} \\\\\n"
            "\\frac{\\partial \\ell}{\\partial \\sigma^2} &= "
            "-\\frac{1}{2\\sigma^2} + \\frac{(x-\\mu)^2}{2\\sigma^4} \\\\\n"
            "\\frac{\\partial^2 \\ell}{\\partial \\mu^2} &= -\\frac{1}{\\sigma^2}\n\\end{align*}\n")
    assert check_steps(text, "latex").ok
    wrong = check_steps(text.replace("{2\\sigma^4}", "{\\sigma^4}"), "latex")
    assert [r.line for r in wrong.rows if not r.ok] == [3]
    assert wrong.first_wrong.hint == "factor"


def test_gradient_names_after_a_subscript():
    text = ("$$z = w_1x_1 + b$$\n$$a = \\sigma(z)$$\n$$L = -[y\\log a + (1-y)\\log(1-a)]$$\n"
            "$$dz = a - y$$\n$$dw_1 = x_1dz$$\n")
    assert check_steps(text, "markdown").ok
    wrong = check_steps(text + "$$db = x_1dz$$\n", "markdown")
    assert [r.line for r in wrong.rows if not r.ok] == [6]
