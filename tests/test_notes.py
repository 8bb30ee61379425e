"""`derive notes`: the whole document compiles (pdflatex for English, xelatex + ctex for Chinese),
its Markdown renders with KaTeX, it follows the notes' teaching order, and its words are Chinese
when asked; the renderers' text handling and line breaking, checked by the TeX engines."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import sympy as sp

import derive
from conftest import compile_tex, run
from derive import notes
from derive.messages import RULE_NAMES, Msg
from derive.render.jupyter import JupyterRenderer
from derive.render.latex import latex_words, preamble

# every derivation built once per worker, shared with the other modules that build them
pytestmark = pytest.mark.usefixtures("shared_derivations")

TESTS = Path(__file__).parent
# The teaching order a teacher of the course asked for in the review: slopes and the chain rule,
# linear regression and least squares, maximum likelihood, the cross-entropy it gives and logistic
# regression, broadcasting, gradient descent on θ, the sum of sigmoids and the activations, the
# perceptron, softmax, the MLP and the L-layer network, then 003's last chapters.
NOTES_ORDER = [
    "derivative-intuition", "chain-rule", "linear", "least-squares", "mle-binomial", "mle-gaussian",
    "cross-entropy", "logistic", "broadcasting", "gradient-descent", "sigmoid-sum", "activations",
    "perceptron", "softmax", "mlp", "deep",
    "conv", "rnn", "attention",     # 003's last chapters: convolution, recurrent networks, attention
]


@pytest.fixture(scope="module")
def material():
    return notes.prepare()


@pytest.fixture(scope="module")
def docs(material):
    return {
        (fmt, lang): notes.build(fmt, lang, material=material).text
        for fmt in ("latex", "markdown") for lang in ("en", "zh")
    }


def overfull(log: str) -> list[float]:
    """Widths (pt) by which boxes overflow the line."""
    return [float(w) for w in re.findall(r"Overfull \\hbox \(([\d.]+)pt too wide\)", log)]


def katex(*paths) -> subprocess.CompletedProcess:
    node = shutil.which("node")
    has_katex = (TESTS / "node_modules" / "katex").is_dir() or (TESTS.parent / "node_modules" / "katex").is_dir()
    if node is None or not has_katex:
        if os.environ.get("DERIVE_REQUIRE_TEX") == "1":
            pytest.fail("node and the katex package are required (cd tests && npm install)")
        pytest.skip("node or the katex package is not installed (cd tests && npm install)")
    return subprocess.run([node, str(TESTS / "katex_check.js"), *map(str, paths)],
                          capture_output=True, text=True, timeout=120)


# The documents -------------------------------------------------------------------------------------

def test_every_model_is_in_the_notes(material):
    assert [m.name for m, _, _ in material.items] == [n for n in NOTES_ORDER if n in derive.model_names()]


def test_english_latex_compiles_with_pdflatex_and_fits_the_page(docs, tmp_path):
    log = compile_tex("pdflatex", docs["latex", "en"], tmp_path)
    assert not re.search(r"^! ", log, re.M)
    assert max(overfull(log), default=0.0) < 1.0, overfull(log)
    toc = (tmp_path / "doc.toc").read_text()
    assert toc.count(r"\contentsline {section}") == len(derive.model_names())


def test_chinese_latex_compiles_with_xelatex_and_ctex(docs, tmp_path):
    tex = docs["latex", "zh"]
    assert r"{ctexart}" in tex and "fontset=fandol" in tex
    log = compile_tex("xelatex", tex, tmp_path)
    assert "Missing character" not in log            # every glyph is in the fonts
    assert max(overfull(log), default=0.0) < 1.0, overfull(log)
    toc = (tmp_path / "doc.toc").read_text(encoding="utf-8")
    assert toc.count(r"\contentsline {section}") == len(derive.model_names())


def test_markdown_renders_with_katex(docs, tmp_path):
    files = []
    for lang in ("en", "zh"):
        path = tmp_path / f"notes_{lang}.md"
        path.write_text(docs["markdown", lang], encoding="utf-8")
        files.append(path)
    proc = katex(*files)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr
    assert int(re.search(r"(\d+) math spans render", proc.stdout).group(1)) > 500


def test_katex_check_reports_a_broken_formula(tmp_path):
    bad = tmp_path / "bad.md"
    bad.write_text("fine $a^2$ and broken $\\frac{1}{$ here\n\n$$\n\\begin{aligned} x &= \\nosuchmacro \\end{aligned}\n$$\n")
    proc = katex(bad)
    assert proc.returncode == 1
    assert "2 of 3 math spans failed" in proc.stdout


def test_sections_follow_the_notes_order(docs):
    anchors = re.findall(r'<a id="derive-([a-z-]+)"></a>', docs["markdown", "en"])
    assert anchors == [n for n in NOTES_ORDER if n in derive.model_names()]
    labels = re.findall(r"\\label\{sec:([a-z-]+)\}", docs["latex", "zh"])
    assert labels == anchors


def test_markdown_contents_link_to_every_section(docs):
    for lang in ("en", "zh"):
        md = docs["markdown", lang]
        links = re.findall(r"^\d+\. \[.+\]\(#([a-z-]+)\)$", md, re.M)
        targets = re.findall(r'<a id="([a-z-]+)"></a>', md)
        assert links == targets and len(links) == len(derive.model_names())


def test_latex_has_title_contents_and_graph_pictures(docs):
    tex = docs["latex", "en"]
    assert r"\tableofcontents" in tex and "Gradient derivations" in tex
    # one TikZ picture per model with a computation graph: chain rule, logistic regression, MLP,
    # conv and attention
    assert tex.count(r"\begin{tikzpicture}") == 5
    assert r"\usepackage{tikz}" in tex


def test_chinese_document_speaks_the_notes_terms(docs):
    for fmt in ("latex", "markdown"):
        doc = docs[fmt, "zh"]
        for term in ("链式法则", "反向传播", "前向传播", "损失函数", "计算图", "梯度", "最大似然估计"):
            assert term in doc, (fmt, term)
    assert "## 目录" in docs["markdown", "zh"]     # LaTeX's contents heading comes from ctex
    # no English rule name is left in the annotations
    tags = re.findall(r"\\tag\*\{\\footnotesize ([^}]*)", docs["latex", "zh"])
    english = {en for en, _ in RULE_NAMES.values() if " " in en or en.isalpha()} - {"ReLU"}
    assert tags and not [t for t in tags if t.split(":")[0].strip() in english]


def test_results_only_keeps_every_result_and_no_step(material):
    full = notes.build("markdown", "en", material=material, show_steps=True).text
    short = notes.build("markdown", "en", material=material, show_steps=False).text
    assert len(short) < len(full) / 2
    assert "### Backward pass" in full and "### Backward pass" not in short
    logistic = dict((m.name, d) for m, d, _ in material.items)["logistic"]
    for r in logistic.results:
        assert sp.latex(r.wrt) in short


# The command ---------------------------------------------------------------------------------------

def test_notes_command_writes_the_requested_models_in_order(tmp_path):
    out = tmp_path / "n.md"
    code, _, err = run("notes", "--format", "markdown", "--models", "logistic,chain-rule", "-o", str(out))
    assert code == 0, err
    md = out.read_text(encoding="utf-8")
    assert re.findall(r'<a id="derive-([a-z-]+)"></a>', md) == ["chain-rule", "logistic"]


def test_notes_command_unknown_model_is_one_line():
    code, out, err = run("notes", "--models", "logistic,nope")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "nope" in err and "logistic" in err


# Text, line breaking, notebooks -------------------------------------------------------------------

TRICKY = [
    Msg("the prediction $ŷ = a$, 100% of 5 & #3 {x} ~ ^ \\"),
    Msg("$J = (1/m) Σ L(a⁽ⁱ⁾, y⁽ⁱ⁾)$; $X$ is $n_x × m$, $Z = wᵀX + b$, since $e^(−z)/(1 + e^(−z)) = 1 − σ(z)$"),
    Msg("with $a = σ(z)$, $σ′(z) = a(1 − a)$; $max(αz, z)$ for $0 < α < 1$; $dz₂_k = ∂L/∂z₂_k$, $det(XᵀX) ≥ 0$"),
    Msg("代价函数 $J = (1/m) Σ L(a⁽ⁱ⁾, y⁽ⁱ⁾)$,把 $a$ 增加到 2.001,$σ′(z) = a(1 − a)$。"),
]


def _tex(msg):
    return latex_words(msg, "zh" if "代价" in msg.en else "en")


def test_marked_formulas_become_mathematics():
    for msg in TRICKY:
        tex = _tex(msg)
        outside = "".join(re.split(r"\$[^$]*\$", tex))
        assert not re.search(r"[σαŷ⁽ⁱ⁾ᵀ×−′∂≥Σ₂]", outside), tex     # no Unicode mathematics in text
        assert not re.search(r"(?<!\\)[%&#_]", outside), tex          # specials escaped
    assert r"$\hat{y} = a$" in _tex(TRICKY[0])
    assert r"$J = (1/m) \sum L(a^{(i)}, y^{(i)})$" in _tex(TRICKY[1]) and r"$n_{x} \times m$" in _tex(TRICKY[1])


def _long_derivation():
    from derive.steps import Builder

    class Long:
        name, title = "long", "Long"

    x = sp.Symbol("x")
    expr = sp.Add(*[sp.Symbol(f"w{i}") * sp.exp(-(x - sp.Symbol(f"c{i}")) ** 2) for i in range(1, 25)])
    d = Builder(Long())
    d.eq(sp.Derivative(sp.Symbol("f"), x, evaluate=False), sp.diff(expr, x), "simplify", check=(0, 0))
    d.eq(sp.Symbol("g"), sp.Mul(*[1 + sp.Symbol(f"t{i}") for i in range(1, 30)], evaluate=False),
         "rearrange", Msg("a product with no sign to split at, too wide for the page"), check=(0, 0))
    d.eq(sp.Symbol("h"), sp.Add(*[sp.Symbol(f"s{i}") ** 2 for i in range(1, 40)]) / (1 + x),
         "rearrange", Msg("one fraction: nothing to split"), check=(0, 0))
    return d.finish()


def test_long_lines_are_broken_to_fit_the_page(tmp_path):
    d = _long_derivation()
    tex = d.render("latex", standalone=True)
    assert tex.count(r"&\quad {}+") >= 2 and tex.count(r"&\quad {}\cdot") >= 2   # split at signs, factors
    assert tex.count(r"\scalebox") == 1                                # the fraction is shrunk
    log = compile_tex("pdflatex", tex, tmp_path, passes=1)
    assert max(overfull(log), default=0.0) < 1.0, overfull(log)


def test_long_lines_in_markdown_are_broken_and_render(tmp_path):
    md = _long_derivation().render("markdown")
    assert md.count(r"&\quad") >= 2
    (tmp_path / "long.md").write_text(md)
    proc = katex(tmp_path / "long.md")
    assert proc.returncode == 0, proc.stdout


def test_tricky_sentences_compile_in_both_engines(tmp_path):
    body = "\n\n".join(_tex(msg) for msg in TRICKY[:3])
    compile_tex("pdflatex", preamble("en") + "\\begin{document}\n" + body + "\n\\end{document}\n",
                tmp_path, passes=1)
    zh = _tex(TRICKY[3])
    compile_tex("xelatex", preamble("zh") + "\\begin{document}\n" + zh + "\n\\end{document}\n",
                tmp_path, passes=1)


def test_notebook_views_render_and_compile(tmp_path):
    d = derive.derivation("logistic")
    md, tex = d._repr_markdown_(), d._repr_latex_()
    zh = JupyterRenderer(d, lang="zh").render()
    (tmp_path / "repr.md").write_text(md + "\n\n" + tex + "\n\n" + zh, encoding="utf-8")
    proc = katex(tmp_path / "repr.md")
    assert proc.returncode == 0, proc.stdout
    # nbconvert pastes text/latex into a LaTeX document: it must compile there too
    compile_tex("pdflatex", preamble("en") + "\\begin{document}\n" + tex + "\\end{document}\n", tmp_path, passes=1)


def test_notebook_example_has_no_outputs_and_runs(capsys):
    nb = json.loads((TESTS.parent / "examples" / "notebook.ipynb").read_text(encoding="utf-8"))
    assert nb["nbformat"] == 4 and all(c["cell_type"] == "code" for c in nb["cells"])
    assert all(c["outputs"] == [] and c["execution_count"] is None for c in nb["cells"])
    pytest.importorskip("IPython")
    ns: dict = {}
    for cell in nb["cells"]:
        exec(compile("".join(cell["source"]), "notebook", "exec"), ns)
    assert ns["g"].value("J") == 33 and ns["notes"].models == ("chain-rule", "logistic")


def test_the_notes_from_the_shipped_derivations_and_graphs_are_the_fresh_ones(material, docs):
    # what `derive notes` prints with the cache on: every model's derivation and graph taken from
    # derive/derivations.pickle (see tests/test_stored_derivations.py), the same bytes
    from derive import stored

    items = []
    for model, d, g in material.items:
        kept = stored.read("derivation", model.name), g and stored.read("graph", model.name)
        assert kept[0] is not None and (g is None or kept[1] == g), "run `python -m derive.shipped`"
        items.append((model, *kept))
    shipped = notes.Material(tuple(items))
    # both formats and both languages, in two documents (the suite's time)
    for fmt, lang in (("latex", "en"), ("markdown", "zh")):
        assert notes.build(fmt, lang, material=shipped).text == docs[fmt, lang], (fmt, lang)
