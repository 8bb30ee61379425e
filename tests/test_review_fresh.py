"""What a second teacher's review of the outputs asked for: one spelling of ŷ on a page, a graph
input that is not called "the constant", Markdown sentences whose formulas can wrap, and the
displays of a standalone PDF starting at one place on the page (TeX's own output is the judge)."""

from __future__ import annotations

import re
import shutil
import subprocess
import unicodedata

import pytest
import sympy as sp

import derive
from derive.printing import unicode_name
from conftest import compile_tex, require_tool

pytestmark = pytest.mark.usefixtures("shared_derivations")


@pytest.mark.parametrize("name", ["yhat", "what", "Yhat", "ybar", "xbar", "w1hat", "sigma2hat"])
def test_a_printed_name_is_spelled_as_prose_types_it(name):
    printed = unicode_name(name)
    assert printed == unicodedata.normalize("NFC", printed)


@pytest.mark.parametrize("name", ["linear", "softmax"])
def test_a_page_spells_y_hat_one_way(name):
    d = derive.derivation(name)
    for fmt in ("text", "markdown", "json"):
        out = d.render(fmt)
        assert out == unicodedata.normalize("NFC", out), fmt
    assert "ŷ" in d.render("text")


_COMES_OUT = re.compile(r"the constant (.+?) comes out")


@pytest.mark.parametrize("name", ["chain-rule", "logistic", "mle-binomial"])
def test_only_a_number_is_called_the_constant(name):
    text = derive.derivation(name).render("text", width=400)
    said = _COMES_OUT.findall(text)
    assert said and all(not sp.sympify(c.replace("−", "-")).free_symbols for c in said), said
    if name == "chain-rule":
        assert "c is held constant and comes out" in text
        assert "把 c 视为常数，提到求导符号外面" in derive.derivation(name).render("text", lang="zh", width=400)


def _top_level_left_paren(tex: str) -> bool:
    """Whether ``tex`` has a ``\\left(`` outside every brace group (one unbreakable box)."""
    depth = 0
    for i, ch in enumerate(tex):
        if ch == "{" and tex[i - 1:i] != "\\":
            depth += 1
        elif ch == "}" and tex[i - 1:i] != "\\":
            depth -= 1
        elif depth == 0 and tex.startswith(r"\left(", i):
            return True
    return False


def test_a_markdown_sentence_can_wrap_inside_its_formulas():
    """A formula given to a sentence (a mean of a sum, as the notes write (1/m)·(…)) has no
    top-level ``\\left(`` in Markdown, while its display form has one: KaTeX can break it."""
    from derive.render.markdown import MarkdownRenderer

    a, y, m = sp.symbols("a y m")
    mean = sp.Mul(1 / m, a - y, evaluate=False)
    md = MarkdownRenderer(derive.derivation("logistic"))
    assert _top_level_left_paren(md.math(mean))     # the display form: one box
    assert r"\frac{1}{m}" in md.inline(mean) and not _top_level_left_paren(md.inline(mean))


def test_the_displays_of_one_page_start_at_one_place(tmp_path):
    """derivative-intuition's two blocks begin with the same ``df/da =``: in TeX's output its
    equals signs stand at one x, and nothing is overfull."""
    require_tool("pdflatex")
    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext is not installed")
    tex = derive.derivation("derivative-intuition").render("latex", standalone=True)
    log = compile_tex("pdflatex", tex, tmp_path, passes=1)
    assert "Overfull" not in log
    html = subprocess.run(["pdftotext", "-bbox", str(tmp_path / "doc.pdf"), "-"],
                          capture_output=True, text=True, check=True).stdout
    words = [(float(x), float(y), w) for x, y, w in
             re.findall(r'<word xMin="([\d.]+)" yMin="([\d.]+)"[^>]*>([^<]*)</word>', html)]

    def opens_its_line(x, y):
        return not any(abs(y2 - y) < 2 and x2 < x for x2, y2, _ in words)

    # each block's first row, f = 4a and f = a²: an "f" that opens its line, then its "="
    rows = [(x, nxt[0]) for (x, y, w), nxt in zip(words, words[1:])
            if w == "f" and nxt[2] == "=" and opens_its_line(x, y)]
    assert len(rows) == 2, words[:40]
    (f1, eq1), (f2, eq2) = rows
    assert abs(f1 - f2) < 0.5 and abs(eq1 - eq2) < 0.5


def test_a_wide_left_side_does_not_push_its_block_right():
    """least-squares' determinant row has a left side of ~45 columns: written above its "=", the
    other rows of the convexity block keep their left sides near the margin and fit the line."""
    text = derive.derivation("least-squares").render("text", width=110)
    lines = text.splitlines()
    start = lines.index(next(x for x in lines if x.strip().startswith("∂²L/∂θ² =")))
    assert lines[start].startswith("  ∂²L/∂θ² = ")
    wide = next(i for i, x in enumerate(lines) if x.strip() == "m·(Σ_{i=1..m} (x⁽ⁱ⁾)²) − (Σ_{i=1..m} x⁽ⁱ⁾)²")
    below = lines[wide + 1]
    assert below.lstrip().startswith("= m·(Σ_{i=1..m} (x⁽ⁱ⁾ − x̄)²)")
    assert below.index("=") == lines[start].index("=")
    # a block that fits its lines keeps each left side beside its "="
    assert any(x.startswith("  w·(Σ_{i=1..m} (x⁽ⁱ⁾)²) + b·(Σ_{i=1..m} x⁽ⁱ⁾) = ") for x in lines)


def test_the_words_spell_an_index_as_the_formulas_beside_them():
    """mle-gaussian's formulas print x_i: its rule notes say x_i too, never xᵢ; gradient-descent
    names mlp's parameters as mlp's own lines print them, and its g₁, g₂ as its formulas do."""
    gauss = derive.derivation("mle-gaussian").render("text", width=400)
    assert "Σ_{i=1..n} (x_i − μ)" in gauss and "Σ (x_i − μ)/σ²" in gauss and "xᵢ" not in gauss
    gd = derive.derivation("gradient-descent").render("text", width=400)
    mlp = derive.derivation("mlp").render("text", width=400)
    for name in ("W[1]", "b[1]", "W[2]", "b[2]"):
        assert name in mlp and name in gd
    assert "W1" not in gd and "(g₁, g₂)" in gd and "g₁·(−g₁" in gd
