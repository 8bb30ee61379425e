"""The Chinese output is all Chinese (issue 11, item 6), in every format and at every width.

Every model's ``--lang zh`` output, as text at 40 columns, Markdown, LaTeX and every sentence
(those about verification too, which the JSON and --verbose show), plus the Chinese notes' own
words, is read for: English words (four letters or more) other than the names below; the ellipsis
"…" (Chinese mathematics writes x₁, x₂, ⋯, xₙ); half-width , : ; ( ) ? touching a Chinese
character or ending a Chinese sentence; 凹/凸 without the sign of the second derivative; a sentence
cut short or a line wider than the terminal. Each derivation is built once (``shared_derivations``).
"""

from __future__ import annotations

import re

import pytest
import sympy as sp
from rich.cells import cell_len

import derive
from derive import notes
from derive.render.text import TextRenderer, wrap_cjk

pytestmark = pytest.mark.usefixtures("shared_derivations")

MODELS = derive.model_names()
HAN = "[\u4e00-\u9fff]"

# The program's name (derive), function names and proper names a Chinese mathematics text keeps
# in Latin letters (compared without case: the notes write both "Sigmoid 函数" and "sigmoid").
NAMES = {"derive", "sigmoid", "softmax", "tanh", "relu", "leaky", "leakyrelu", "hard", "hardsigmoid", "logsumexp",
         "diag", "hessian", "sympy", "numpy", "mnist"}
# The English the notes themselves keep beside their Chinese, allowed only as a gloss: in
# full-width brackets right after Chinese, "轮次（epoch）" (note 000: batch, epoch, update).
GLOSSES = {"batch", "epoch", "update", "logits", "valid", "same", "full"}
GLOSS = re.compile(rf"(?<={HAN})（([A-Za-z-]+)）")
# What is typed, not read: a NumPy call (dZ.sum(axis=1, keepdims=True)) or keyword argument
# (softmax(Z, axis=0)), a SymPy function (sympy.diff), an option (--verbose).
CODE = re.compile(r"\b\w+\.\w+\([^()]*\)|\bsympy\.\w+|\b[a-z]+=\w+|--[a-z-]+")
# LaTeX's and Markdown's markup around the words: comments, environments and their column
# specifications, commands, subscripts (W_{kcuv}), HTML tags, links; a word in \text{} is
# unwrapped first, so that dZ.\text{sum}(\text{axis}=1) reads as the code it is.
TEXT = re.compile(r"\\(?:text|mathrm|operatorname)\{([^{}]*)\}")
MARKUP = re.compile(r"(?m)^%.*$|\\(begin|end)\{[^}]*\}(\{[lcr|]+\})?|\\[A-Za-z]+|_\{[^}]*\}|<[^>]*>"
                    r"|\]\(#[\w-]+\)")

HALF_WIDTH = re.compile(rf"{HAN}[,:;()?]|[,:;()?]{HAN}")
# the sign of a second derivative (or of the Hessian) beside 凹 or 凸
SIGN = re.compile(r"小于|大于|为正|为负|为 −\d|[<>≤≥]|半正定|负定|正定")


def english_words(text: str) -> set[str]:
    """The words of four letters or more in ``text`` that are neither names, glosses nor code; a
    name with a subscript or a digit (W_kcuv, da_next, z2) is a symbol of the mathematics."""
    text = GLOSS.sub(lambda m: "" if m.group(1).lower() in GLOSSES else m.group(), text)
    text = CODE.sub(" ", MARKUP.sub(" ", TEXT.sub(r"\1", text)))
    # a hyphen joins words (one-hot is two of three letters)
    tokens = re.findall(r"[A-Za-z][\w'’]*", re.sub("[\u0300-\u036f]", "", text))    # W̃ is a W
    return {t for t in tokens
            if re.fullmatch(r"[A-Za-z'’]{4,}", t) and t.rstrip("'’").lower() not in NAMES}    # ReLU′ is ReLU


def sentences(d) -> str:
    """Every sentence of a derivation in Chinese, one a line, those about verification too (the
    verbose text and the JSON show them): the title, headings, notes, table cells, each line's
    rule and note, each result's label and note."""
    view = TextRenderer(d, lang="zh", verbose=True)
    rows = [view.words(d.title)]
    for step in d.steps:
        if step.kind == "equation":
            rows.append(view.rule_text(step))
        elif step.kind == "table":
            rows += [view.cell(c) for c in step.table.columns]
            rows += [view.cell(c) for row in step.table.rows for c in row if not isinstance(c, sp.Basic)]
        elif step.note is not None:
            rows.append(view.words(step.note))
    for r in d.results:
        rows += [r.label, view.words(r.note)]
    return "\n".join(rows)


def elisions(d, lang: str) -> int:
    """How many "…" or "⋯" the templates of a derivation's messages hold in ``lang``."""
    msgs = [d.title] + [s.note for s in d.steps] + [r.note for r in d.results]
    return sum(m.template(lang).count(mark) for msg in msgs if msg is not None for m in msg.chain()
               for mark in "…⋯")


@pytest.fixture(scope="module")
def outputs():
    """Each model's Chinese output: text at 40 columns, Markdown, LaTeX, and every sentence."""
    out = {}
    for name in MODELS:
        d = derive.derivation(name)
        out[name] = {
            "text40": d.render("text", lang="zh", width=40),
            "markdown": d.render("markdown", lang="zh"),
            "latex": d.render("latex", lang="zh"),
            "sentences": sentences(d),
        }
    return out


FORMATS = ("text40", "sentences", "markdown", "latex")


@pytest.mark.parametrize("name", MODELS)
def test_no_english_words(outputs, name):
    # (at 40 columns a long name folds in two: its words are read at 2000)
    for fmt in FORMATS[1:]:
        found = english_words(outputs[name][fmt])
        assert not found, (fmt, sorted(found))


@pytest.mark.parametrize("name", MODELS)
def test_no_half_width_punctuation_beside_chinese(outputs, name):
    for fmt in FORMATS:
        bad = HALF_WIDTH.search(outputs[name][fmt])
        text = outputs[name][fmt]
        assert bad is None, (fmt, bad and text[bad.start() - 30:bad.end() + 30])
    # nor ending a Chinese sentence ("令 z = X·w:")
    for line in outputs[name]["sentences"].splitlines():
        assert not (re.search(HAN, line) and line.endswith((",", ":", ";"))), line


@pytest.mark.parametrize("name", MODELS)
def test_lists_are_elided_with_the_centred_dots(outputs, name):
    """No "…" (nor LaTeX's \\ldots) in Chinese; where the English elides a list, the Chinese
    elides it too, with ⋯ (\\cdots)."""
    for fmt in FORMATS:
        assert "…" not in outputs[name][fmt] and "\\ldots" not in outputs[name][fmt], fmt
    d = derive.derivation(name)
    assert elisions(d, "zh") == elisions(d, "en")


def test_some_list_is_elided(outputs):
    """The ellipsis check above looks at real lists: four models elide one in their notes."""
    assert sum("⋯" in outputs[name]["sentences"] and elisions(derive.derivation(name), "en") > 0
               for name in MODELS) >= 4


@pytest.mark.parametrize("name", MODELS)
def test_concave_and_convex_say_the_sign(outputs, name):
    """凹 and 凸 mean opposite things in different Chinese textbooks, so each is said with the sign
    of the second derivative (or the definiteness of the Hessian) in the same sentence."""
    for sentence in re.split(r"[。\n]", outputs[name]["sentences"]):
        if "凹" in sentence or "凸" in sentence:
            assert SIGN.search(sentence), sentence


@pytest.mark.parametrize("name", MODELS)
def test_narrow_terminal_wraps_and_cuts_nothing(outputs, name):
    """At 40 columns no line is wider than the terminal, and every note, heading and the title
    is there in full (whitespace aside)."""
    text = outputs[name]["text40"]
    assert max(map(cell_len, text.splitlines())) <= 40
    flat = re.sub(r"\s+", "", text)
    view = TextRenderer(derive.derivation(name), lang="zh")
    words = [view.words(msg) for kind, msg in view.blocks() if kind in ("heading", "note")]
    for sentence in [view.words(derive.derivation(name).title)] + words:
        assert re.sub(r"\s+", "", sentence) in flat, sentence


def test_the_notes_in_chinese(outputs):
    """The Chinese notes' own words (title, contents, introductions) follow the same rules, and
    the models speak the course notes' own terms."""
    doc = notes.build("markdown", "zh", models="chain-rule,linear", graphs=False).text
    assert not english_words(doc), sorted(english_words(doc))
    bad = HALF_WIDTH.search(doc)
    assert bad is None, doc[bad.start() - 30:bad.end() + 30]
    assert "…" not in doc and "\\ldots" not in doc
    every = "".join(outputs[name]["sentences"] for name in MODELS)
    for term in ("神经网络", "学习率", "偏差", "二分类", "广播", "得分", "蓝色函数"):
        assert term in every, term


# A sentence as the text view composes it before breaking lines: each formula's spaces no-break.
HELD = "序列 $x⟨1⟩, ⋯, x⟨T⟩$ 被逐步读入。激活值 $a⟨t⟩$（$n_a × 1$）记住网络读到的内容，“与”门在 $x₁ = x₂ = 1$ 时输出 1；" \
       "$W_aa$ 为 $n_a × n_a$。"


@pytest.mark.parametrize("width", [12, 17, 23, 30, 41, 60])
def test_chinese_lines_break_between_characters_not_inside_formulas(width):
    formulas = re.findall(r"\$([^$]*)\$", HELD)
    text = re.sub(r"\$([^$]*)\$", lambda m: m.group(1).replace(" ", "\u00a0"), HELD)
    lines = wrap_cjk(text, width).splitlines()
    assert re.sub(r"\s", "", "".join(lines)) == re.sub(r"[\s$]", "", HELD)    # nothing lost
    assert max(map(cell_len, lines)) <= width
    assert not [line for line in lines if line[0] in "，。、：；）”"]
    assert not [line for line in lines if line[-1] in "（“"]
    for f in formulas:
        if cell_len(f) <= width:
            assert any(f in line for line in lines), (f, lines)
    # a line is broken only where the next unit (a formula, or a character and the mark after
    # it) would not fit: every line but the last is full to within one unit
    unit = max([cell_len(f) for f in formulas if cell_len(f) <= width] + [2]) + 2
    assert all(cell_len(line) > width - unit for line in lines[:-1]), lines
