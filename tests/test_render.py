"""The renderers: formulas in the words are marked (``$a = σ(z)$``) and only the marked spans are
set as mathematics; one walk over the steps, one ``_render_<kind>`` per kind and format."""

from __future__ import annotations

import ast
import itertools
import re
import unicodedata
from pathlib import Path

import pytest
import sympy as sp

import derive
import derive.graph
import derive.notes
from derive.steps import Builder
from derive.messages import RESULTS, RULE_NAMES, RULE_NOTES, Msg
from derive.models import registry
from derive.render.jupyter import JupyterRenderer
from derive.render.latex import LatexRenderer, break_rhs, formula_tex, latex_words, math_width
from derive.render.markdown import MarkdownRenderer, markdown_words
from derive.render.text import TextRenderer

# every derivation built once per worker, shared with the other modules that build them
pytestmark = pytest.mark.usefixtures("shared_derivations")

PACKAGE = Path(derive.__file__).parent

# What only a formula writes: sub- and superscripts, accents (ŷ, x̄), primes, Greek letters,
# operators and relations, and a name with a digit (x1, dZ2).
FORMULA_ONLY = re.compile(
    "[₀-₉ᵢⱼₖₘₙₓₜₐₑₒ⁰¹²³⁴-⁹⁺⁻⁽⁾ⁱⁿᵀᵗ′″∂∇Σ∑∏×·−±≤≥≠≈→←⇒∈∞⊙√½ℓ\u0370-\u03ff=<>^_]"
    r"|\b[A-Za-z]{1,2}\d+\b"
)


def _derivations():
    """Every derivation the program shows: each model with each choice of its options, and
    expressions (one with a kink, one checked against finite differences)."""
    for name in derive.model_names():
        cls = registry.get(name)
        choices = [[(o.name, c) for c in o.choices] for o in cls.options if o.choices]
        for combo in itertools.product(*choices):
            yield cls(**dict(combo)).derivation()
    yield derive.expr_derivation("relu(x)*exp(x)", at="x=0")
    yield derive.expr_derivation("sigmoid(w*x+b)", wrt=["w", "b"], at="w=1,x=2,b=0")


def _messages(d) -> list[Msg]:
    cells = [c for s in d.steps if s.table for c in (*s.table.columns, *itertools.chain(*s.table.rows))]
    found = [d.title, *(s.note for s in d.steps), *(r.note for r in d.results), *cells]
    return [Msg(m) if isinstance(m, str) else m for m in found if isinstance(m, (Msg, str)) and m]


@pytest.fixture(scope="module")
def messages() -> list[Msg]:
    found = [m for d in _derivations() for m in _messages(d)]
    found += [v for v in vars(derive.notes).values() if isinstance(v, Msg)]
    found += list(derive.graph._WORDS.values())
    found += [Msg(en, zh) for en, zh in (*RULE_NAMES.values(), *RULE_NOTES.values())] + [RESULTS]
    unique = {(m.en, m.zh, tuple((k, v) for k, v in m.args if isinstance(v, str))): m for m in found}
    return list(unique.values())


def _unmarked(msg: Msg, lang: str) -> str:
    """The words of ``msg`` outside its formulas and arguments."""
    return "".join(re.sub(r"\{\w+\}", " ", source) for is_formula, source in msg.parts(lang) if not is_formula)


def _formula_only(text: str) -> list[str]:
    text = unicodedata.normalize("NFD", text)                    # ŷ → y + a combining hat
    hits = FORMULA_ONLY.findall(text)
    return hits + re.findall("[\u0302\u0303\u0304\u0307]", text)


def test_no_words_outside_the_marks_are_a_formula(messages):
    assert len(messages) > 250
    unmarked = {(lang, m.template(lang)): _formula_only(_unmarked(m, lang))
                for m in messages for lang in ("en", "zh")}
    assert {k: v for k, v in unmarked.items() if v} == {}


def _template_literals():
    """The string literals written as a message's template in the package's source: the
    arguments of ``Msg``, ``Msg.of``, ``.note``, ``.section`` and the rule tables."""
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                f = node.func
                name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", "")
                if name in ("Msg", "of", "note", "section"):
                    for arg in node.args[:2]:
                        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                            yield path.name, arg.value
            elif isinstance(node, ast.Assign) and any(getattr(t, "id", "") in ("RULE_NAMES", "RULE_NOTES")
                                                      for t in node.targets):
                for pair in node.value.values:
                    yield path.name, pair.elts[0].value
                    yield path.name, pair.elts[1].value


def test_every_template_in_the_source_marks_its_formulas():
    literals = list(_template_literals())
    assert len(literals) > 300
    # a mark cut into a field ({$g$}) would make the argument's name a formula
    bad = [(where, s) for where, s in literals
           if s.count("$") % 2 or "{$" in s or "$}" in s or _formula_only(_unmarked(Msg(s), "en"))]
    assert bad == []


def test_an_unmarked_word_is_never_mathematics():
    # "a" is an article here and a variable there: only the mark says which
    msg = Msg.of("nudge $a$ to a point, a change of {d}", "把 $a$ 移到一个点", d=sp.Symbol("a"))
    assert latex_words(msg, "en", {"d": "a"}) == "nudge $a$ to a point, a change of $a$"
    assert markdown_words(Msg("a b c d x y"), "en") == "a b c d x y"


def test_text_drops_the_marks():
    msg = Msg.of("with $a = σ(z)$ and ${u} = 1$", "其中 $a = σ(z)$", u=sp.Symbol("u1"))
    assert msg.render("en", {"u": "u₁"}) == "with a = σ(z) and u₁ = 1"
    assert msg.render("zh") == "其中 a = σ(z)"


def test_an_unbalanced_mark_is_refused():
    with pytest.raises(ValueError, match="unbalanced"):
        Msg("with $a = σ(z)").parts("en")


@pytest.mark.parametrize("source, tex", [
    ("a = σ(z)", r"a = \sigma(z)"),
    ("σ′(z) = a(1 − a)", r"\sigma'(z) = a(1 - a)"),
    ("ŷ⁽ⁱ⁾ − y⁽ⁱ⁾", r"\hat{y}^{(i)} - y^{(i)}"),
    ("X(n_x × m)", r"X(n_{x} \times m)"),
    ("e^(z_k)/(e^(z_k) + s)", r"e^{z_{k}}/(e^{z_{k}} + s)"),
    ("Σ_(j≠k) e^(z_j)", r"\sum_{j\ne k} e^{z_{j}}"),
    ("dz2_k = ∂L/∂z2_k", r"{dz_{2}}_{k} = \partial L/\partial{z_{2}}_{k}"),
    ("det(XᵀX) ≥ 0", r"\det(X^{T}X) \ge 0"),
    ("x₁, …, xₙ ∈ {0, 1}", r"x_{1}, \ldots, x_{n} \in \{0, 1\}"),
    ("n σ̂²", r"n\,\hat{\sigma}^{2}"),
    ("left − right = ½ p", r"\text{left} - \text{right} = \tfrac{1}{2} p"),
    ("左边 − 右边", r"\text{左边} - \text{右边}"),
    ("y = AND(x₁, x₂)", r"y = \operatorname{AND}(x_{1}, x_{2})"),
])
def test_a_unicode_formula_as_latex(source, tex):
    assert formula_tex(source) == tex


def test_arguments_are_mathematics_inside_and_outside_a_formula():
    msg = Msg.of("with ${u} = {g}$ and {p}", "令 ${u} = {g}$", u=sp.Symbol("u1"), g=sp.Symbol("z"),
                 p=(sp.Symbol("a"), sp.Symbol("b")))
    values = {"u": "u_{1}", "g": "z", "p": ("a", "b")}
    assert latex_words(msg, "en", values) == "with $u_{1} = z$ and $a$, $b$"
    assert latex_words(msg, "zh", values) == "令 $u_{1} = z$"


def test_words_are_escaped_for_each_format():
    msg = Msg("100% of #3 & a_b | *x* $a_b$")
    assert latex_words(msg, "en") == r"100\% of \#3 \& a\_b | *x* $a_{b}$"
    assert markdown_words(msg, "en") == r"100% of #3 & a_b \| \*x\* $a_{b}$"
    assert markdown_words(Msg("#1 first"), "en") == r"\#1 first"


# English LaTeX must compile with pdflatex: no mathematics outside math mode, balanced dollars.

def test_english_latex_words_keep_unicode_mathematics_in_math_mode(messages):
    for msg in messages:
        tex = latex_words(msg, "en", {k: ("x", "y") if isinstance(v, tuple) else "x" for k, v in msg.values().items()})
        assert tex.count("$") % 2 == 0, tex
        outside = "".join(re.split(r"\$[^$]*\$", tex))
        assert not _formula_only(re.sub(r"\\[_^]", "", outside)), (msg.en, tex)
        assert all(ord(ch) < 0x370 or ch in "–’“”" for ch in outside), (msg.en, tex)


# One walk over the steps -----------------------------------------------------------------------

def _small():
    class Small:
        name, title = "small", "Small"

    x, y = sp.symbols("x y")
    d = Builder(Small())
    d.section("One", "一")
    d.define(y, x**2, Msg("the square $y = x²$", "平方 $y = x²$"))
    d.note("between the two lines", "两行之间")
    d.eq(sp.Derivative(y, x, evaluate=False), 2 * x, "power")
    d.table([Msg("$x$"), Msg("$y$")], [[sp.Integer(2), sp.Integer(4)]])
    d.result("dy/dx", 2 * x, of=x**2, wrt=x)
    return d.finish()


def test_the_walk_hands_each_block_to_its_method():
    seen = []

    class Recording(TextRenderer):
        def __getattribute__(self, name):
            if name.startswith("_render_"):
                seen.append(name[len("_render_"):])
            return super().__getattribute__(name)

    Recording(_small()).render()
    assert seen == ["title", "heading", "equation", "note", "equation", "table", "heading", "results"]


def test_every_format_shows_the_same_steps():
    d = _small()
    text = d.render("text")
    latex = d.render("latex")
    md = d.render("markdown")
    for out in (text, latex, md):
        assert out.count("between the two lines") == 1
        assert "Results" in out and "One" in out
    assert latex.count(r"\begin{align*}") == 3 and md.count(r"\begin{aligned}") == 3
    assert "y = x²" in text and r"$y = x^{2}$" in latex and r"$y = x^{2}$" in md
    assert "结果" in d.render("text", lang="zh") and "结果" in d.render("latex", lang="zh")


def test_jupyter_shows_headings_and_equations_only():
    d = _small()
    tex = d._repr_latex_()
    assert tex == JupyterRenderer(d).render()
    assert "between the two lines" not in tex and "tabular" not in tex
    # the note no longer separates the equations: one block for both, one for the results
    assert tex.count(r"\begin{aligned}") == 2
    assert re.findall(r"\\textbf\{([^}]*)\}", tex) == ["Small", "One", "Results"]
    assert r"\text{\small the square $y = x^{2}$}" in tex


# A long right-hand side broken over several LaTeX lines keeps exactly one operator at each
# break: a product split between its factors continues with one \cdot, never \cdot \cdot.
# a binary operator followed by another, with at most an empty group {} between them
_OP = r"(?:\\(?:cdot|odot|times)(?![A-Za-z])|\+)"
DOUBLED = re.compile(rf"(?:{_OP}|-)\s*(?:\{{\}}\s*)?{_OP}")


def rows(tex: str) -> list[str]:
    """The rows of every align* environment of ``tex``."""
    blocks = re.findall(r"\\begin\{align\*\}(.*?)\\end\{align\*\}", tex, re.S)
    return [row for block in blocks for row in block.split("\\\\\n")]


def test_a_product_broken_at_a_printed_cdot_continues_with_one_cdot():
    # what the printers write for a long product: factors joined by \cdot, as the matrix lines
    factor = r"\left(a_{1} + a_{2} + a_{3} + a_{4} + a_{5} + a_{6}\right)"
    rhs = r" \cdot ".join([factor] * 4)
    lines = break_rhs(rhs, room=math_width(factor) * 2.2, scale=False)
    assert len(lines) > 1
    assert all(line.count(factor) >= 1 for line in lines)
    for line in lines[1:]:
        assert line.startswith(r"\cdot ") and not DOUBLED.search(line), line
    # the lines together are the product as printed, one \cdot between each two factors
    assert " ".join(lines).count(r"\cdot") == rhs.count(r"\cdot")


def test_a_product_of_juxtaposed_factors_gets_its_cdot_at_the_break():
    factor = r"\left(b_{1} + b_{2} + b_{3} + b_{4} + b_{5} + b_{6}\right)"
    lines = break_rhs(" ".join([factor] * 4), room=math_width(factor) * 2.2, scale=False)
    assert len(lines) > 1
    assert all(line.startswith(r"\cdot ") and not DOUBLED.search(line) for line in lines[1:])


def test_no_model_writes_two_operators_in_a_row():
    broken = []
    for name in derive.model_names():
        tex = derive.derivation(name).latex()   # built once per worker (shared_derivations)
        broken += [row for row in rows(tex) if row.lstrip().startswith(r"&\quad")]
        doubled = [row for row in rows(tex) if DOUBLED.search(row)]
        assert not doubled, (name, doubled[:2])
    # the continuation rows are the ones a break made: the models have some
    assert broken


def _over_m(text: str, tex: str) -> list[str]:
    """The quotients by m of a line's text and LaTeX that are not written (c/m)·… with c a
    whole number in front, as the notes write a mean."""
    bad = [text[max(0, i - 12):i + 2] for i in (m.start() for m in re.finditer(r"/m\b", text))
           if not re.search(r"\(\d+$", text[:i])]
    for m in re.finditer(r"\}\{m\}", tex):
        depth, i = 0, m.start()
        while i > 0 and (depth or tex[i] != "{" or not tex[:i].endswith(r"\frac")):
            depth += {"}": 1, "{": -1}.get(tex[i], 0) if i != m.start() else 0
            i -= 1
        if not tex[i + 1:m.start()].isdigit():
            bad.append(tex[max(0, i - 5):m.end()])
    return bad


def test_every_mean_is_written_with_its_fraction_in_front():
    from derive import printing

    for name in derive.model_names():
        d = derive.derivation(name)
        exprs = [(s.rhs, s.order) for s in d.lines] + [(r.display, r.order) for r in d.results]
        bad = [b for e, order in exprs for b in _over_m(printing.text(e, order=order), printing.latex(e, order=order))]
        assert not bad, (name, bad[:3])
    # the printer's rule, not a model's: a quotient by m is a mean, a ratio of two names is not
    m, y, z = sp.symbols("m y z")
    assert printing.text((y - z) / m) == "(1/m)·(y − z)" and printing.latex(2 * y * z / m) == r"\frac{2}{m} y z"
    assert printing.text(y / m) == "y/m"
