"""`--format latex` without `--standalone` is pasted into a document derive did not write: its
leading comment names the preamble lines it needs, and with exactly those in a default `article`
it compiles and nothing runs into the margin (TeX's log is the judge)."""

from __future__ import annotations

import re

import pytest

from conftest import compile_tex, run
from derive.render.latex import requirements

pytestmark = pytest.mark.usefixtures("shared_derivations")


def stated(fragment: str) -> list[str]:
    """The preamble lines the fragment's leading comment names."""
    head = re.match(r"(?:%[^\n]*\n)+", fragment).group()
    return re.findall(r"^%\s+(\\use(?:package|tikzlibrary)\{[^}]*\})\s*$", head, re.M)


def in_default_article(fragment: str) -> str:
    return "\\documentclass{article}\n" + "\n".join(stated(fragment)) + "\n\\begin{document}\n" \
        + fragment + "\\end{document}\n"


def overfull(log: str) -> list[float]:
    return [float(w) for w in re.findall(r"Overfull \\hbox \(([\d.]+)pt too wide\)", log)]


# the longest titles, sums and notes, and a TikZ picture
@pytest.mark.parametrize("args", [
    ("attention", "--show-steps"),
    ("mlp", "--show-steps"),
    ("logistic", "--graph", "tikz", "--show-steps"),
])
def test_fragment_compiles_in_a_default_article_with_what_it_states(args, tmp_path):
    out = run(*args, "--format", "latex") if "--graph" not in args else run(*args)
    assert out.code == 0, out.err
    log = compile_tex("pdflatex", in_default_article(out.out), tmp_path, passes=1)
    assert max(overfull(log), default=0.0) < 1.0, overfull(log)
    if "tikz" in args:
        assert r"\usepackage{tikz}" in stated(out.out)


def test_chinese_fragment_states_ctex_and_compiles_with_xelatex(tmp_path):
    out = run("logistic", "--graph", "tikz", "--lang", "zh", "--show-steps")
    assert r"\usepackage{ctex}" in stated(out.out) and "xelatex" in out.out.split("\\section")[0]
    log = compile_tex("xelatex", in_default_article(out.out), tmp_path, passes=1)
    assert "Missing character" not in log
    assert max(overfull(log), default=0.0) < 1.0, overfull(log)


def test_a_package_is_stated_only_when_used():
    plain = requirements(r"\begin{align*} a &= b \end{align*}")
    assert plain == [r"\usepackage{amsmath,amssymb}"]
    pic = requirements(r"\resizebox{1cm}{!}{\begin{tikzpicture}[>=Stealth] \end{tikzpicture}}")
    assert pic[1:] == [r"\usepackage{graphicx}", r"\usepackage{tikz}", r"\usetikzlibrary{arrows.meta}"]
    assert r"\usetikzlibrary{arrows.meta}" not in requirements(r"\begin{tikzpicture}[>=stealth]\end{tikzpicture}")


def test_a_standalone_document_has_no_such_comment():
    out = run("chain-rule", "--format", "latex", "--standalone")
    assert out.out.startswith("\\documentclass")
