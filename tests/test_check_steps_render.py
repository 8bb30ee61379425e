"""`derive check-steps --format latex|markdown`: the rows typeset and marked.

The oracles: the hand-written verdicts of tests/test_check_steps.py (which rows are wrong), values
worked out here by hand-written formulas at the point the page prints, and the TeX engines and
KaTeX themselves (the page compiles, every formula renders).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import compile_tex, run
from derive.check_steps import check_file
from derive.check_steps_render import render_checked
from test_check_steps import CASES, EXAMPLES, EXPECTED

TESTS = Path(__file__).parent
# a few files of every reader and most mistakes: the pages stay small enough to compile fast
FILES = [CASES / n for n in ("bad_chain_dz.txt", "bad_quotient.md", "bad_power.tex",
                             "bad_logexp_exp.txt", "ok_mle_skip.tex", "bad_factor_m.md",
                             "bad_transpose_order.md", "bad_matrix_factor.txt")]
FILES += [EXAMPLES / "dz_mistake.md"]


@pytest.fixture(scope="module")
def reports():
    return [check_file(str(p)) for p in FILES]


@pytest.fixture(scope="module")
def pages(reports):
    return {(fmt, lang): render_checked(reports, fmt, lang)
            for fmt in ("latex", "markdown") for lang in ("en", "zh")}


def _sections(page: str, marker: str) -> list[str]:
    return page.split(marker)[1:]


@pytest.mark.parametrize("fmt", ["latex", "markdown"])
def test_marks_stand_at_the_rows_the_teacher_marked_wrong(pages, fmt):
    marker = r"\section*{" if fmt == "latex" else "## "
    for path, section in zip(FILES, _sections(pages[fmt, "en"], marker)):
        crosses = [int(n) for n in re.findall(r"\\times\S* (?:\\text\{)?line (\d+)", section)]
        ticks = [int(n) for n in re.findall(r"\\checkmark\S* (?:\\text\{)?line (\d+)", section)]
        # examples/dz_mistake.md: ∂L/∂a loses the sign of log(1 − a)′ on line 9
        _, first, _ = EXPECTED.get(path.name, (False, 9, None))
        assert (crosses[:1] or [None])[0] == first
        assert all(t < first for t in ticks[:1]) if first else ticks and not crosses


def test_the_point_and_both_values_are_right(pages):
    # bad_chain_dz.txt: dz = a − y, the student wrote −y/a + (1 − y)/(1 − a)
    section = _sections(pages["markdown", "en"], "## ")[0]
    a, y, first, second = map(float, re.search(
        r"at \$a = ([\d.]+), y = ([\d.]+)\$: the previous expression is \$([-\d.]+)\$, "
        r"this row is \$([-\d.]+)\$", section).groups())
    assert first == pytest.approx(a - y, rel=1e-5)
    assert second == pytest.approx(-y / a + (1 - y) / (1 - a), rel=1e-5)
    assert "the engine would write next: $a - y$" in section
    assert r"the inner derivative is $a \left(1 - a\right)$" in section


def test_the_chinese_page_uses_the_chinese_words(pages):
    page = pages["markdown", "zh"]
    assert "提示：链式法则漏乘了内层函数的导数" in page     # full-width beside Chinese
    assert "第 4 行" in page and "line 4" not in page


def test_english_latex_compiles_with_pdflatex(pages, tmp_path):
    log = compile_tex("pdflatex", pages["latex", "en"], tmp_path, passes=1)
    assert not re.search(r"^! ", log, re.M)
    assert "Overfull" not in log


def test_chinese_latex_compiles_with_xelatex(pages, tmp_path):
    log = compile_tex("xelatex", pages["latex", "zh"], tmp_path, passes=1)
    assert "Missing character" not in log
    assert "Overfull" not in log


def test_markdown_renders_in_katex(pages, tmp_path):
    node = shutil.which("node")
    if node is None or not (TESTS / "node_modules" / "katex").is_dir():
        if os.environ.get("DERIVE_REQUIRE_TEX") == "1":
            pytest.fail("node and the katex package are required (cd tests && npm install)")
        pytest.skip("node or the katex package is not installed (cd tests && npm install)")
    paths = []
    for lang in ("en", "zh"):
        paths.append(tmp_path / f"{lang}.md")
        paths[-1].write_text(pages["markdown", lang], encoding="utf-8")
    proc = subprocess.run([node, str(TESTS / "katex_check.js"), *map(str, paths)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-3000:]
    # every row and every formula of the explanations is a span that rendered
    assert int(re.search(r"(\d+) math spans render", proc.stdout).group(1)) > 40


def test_cli_formats_and_exit_status(tmp_path):
    wrong = run("check-steps", str(EXAMPLES / "dz_mistake.md"), "--format", "latex")
    assert wrong.code == 1 and wrong.out.startswith(r"\documentclass")
    right = run("check-steps", str(EXAMPLES / "dz_correct.md"), "--format", "markdown")
    assert right.code == 0 and r"\times" not in right.out and r"\checkmark" in right.out
