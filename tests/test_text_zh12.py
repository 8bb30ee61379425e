"""The text view's notes, `derive list --lang zh`, train's Chinese title and epoch lines, and the
LaTeX graph captions (review rows C4, C5, C6, E4, E8).

A note's line never breaks inside one of its formulas: the formulas are taken from the note's
``Msg`` parts (and its arguments), not from the output, and each formula narrower than the line
must not be split between a line's end and the next line's start. Each derivation is built once
(``shared_derivations``).
"""

from __future__ import annotations

import re

import pytest
from conftest import run
from rich.cells import cell_len
from rich.console import Console

import derive
from derive.graph import graph_for, has_graph
from derive.messages import fill
from derive.render import compose
from derive.render.text import TextRenderer

pytestmark = pytest.mark.usefixtures("shared_derivations")

MODELS = derive.model_names()
HAN = "[\u4e00-\u9fff]"


def note_formulas(view: TextRenderer, msg) -> list[str]:
    """The formulas of the note ``msg`` as the view writes them: its marked formulas and its
    arguments, each filled with the view's values."""
    found = []
    for m in msg.chain():
        if view.shows(m):
            def formula(source, values, m=m):
                found.append(fill(source, values, m.list_sep(view.lang)))
                return ""

            compose(m, view.lang, view.values(m), lambda words: words, formula)
    return found


def split_formulas(lines: list[str], formulas: list[str], width: int) -> list[str]:
    """The formulas (at most ``width`` cells) that end one line and begin the next in part."""
    split = []
    for f in formulas:
        if cell_len(f) > width:
            continue
        for k in (k for k, ch in enumerate(f) if ch == " "):
            head, tail = f[:k], f[k + 1:]
            if any(a.rstrip().endswith(head) and b.lstrip().startswith(tail) for a, b in zip(lines, lines[1:])):
                split.append(f)
    return split


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_notes_never_break_inside_a_formula(lang):
    broken = []
    for name in MODELS:
        d = derive.derivation(name)
        for width in (50, 80, 100):
            view = TextRenderer(d, lang=lang, width=width)
            console = Console(width=width, no_color=True, highlight=False, emoji=False)
            for kind, msg in view.blocks():
                if kind != "note":
                    continue
                with console.capture() as cap:
                    console.print(view._render_note(msg))
                lines = cap.get().splitlines()
                broken += [(name, width, f) for f in split_formulas(lines, note_formulas(view, msg), width - 2)]
    assert not broken


def test_the_checker_sees_a_formula_broken_by_the_terminal():
    """The oracle itself: a note wrapped at any space, as rich wraps plain text, is caught."""
    formula = "0 < p < 1"
    lines = ["  the slope is negative on 0 <", "  p < 1, so the log-likelihood is concave"]
    assert split_formulas(lines, [formula], 48) == [formula]
    assert split_formulas(["  negative on", "  0 < p < 1, so"], [formula], 48) == []


def test_list_in_chinese():
    """Every model's Chinese title (its derivation's), and no English word beside the names."""
    out = run("list", "--lang", "zh")
    assert out.code == 0, out.err
    rows = dict(line.split(None, 1) for line in out.out.splitlines())
    assert list(rows) == MODELS
    for name, title in rows.items():
        assert title == derive.derivation(name).title.render("zh")
        assert re.search(HAN, title)
        words = {w.lower() for w in re.findall(r"[A-Za-z]{4,}", title)}
        assert words <= {"sigmoid", "softmax", "relu"}, (name, words)
    keys = [sorted(row) for row in __import__("json").loads(run("list", "--format", "json", "--lang", "zh").out)]
    assert keys == [sorted(row) for row in __import__("json").loads(run("list", "--format", "json").out)]


def test_train_title_and_epoch_lines():
    """The Chinese title writes its options in words (no "="), the English keeps ``name=value``;
    every epoch line's losses have four decimals, so they stand in columns."""
    options = {"features": 1, "hidden": 3, "activation": "sigmoid"}
    zh = run("train", "sigmoid-sum", "--lang", "zh", "--epochs", "4")
    en = run("train", "sigmoid-sum", "--epochs", "4")
    title = zh.out.splitlines()[0]
    assert "=" not in title and "：" not in title
    assert all(str(v) in title for v in options.values())
    assert en.out.splitlines()[0] == f"{derive.model('sigmoid-sum').title} (features=1, hidden=3, activation=sigmoid)"
    logistic = run("train", "logistic", "--epochs", "4")
    for out in (zh, en, logistic):
        epochs = [line for line in out.err.splitlines() if re.match(r"(epoch|轮次) ", line)]
        assert len(epochs) == 4
        fields = [re.findall(r"(?:loss|损失) (\S+)", line) for line in epochs]
        assert all(re.fullmatch(r"\d+\.\d{4}", f) for row in fields for f in row), fields
        assert len({tuple(map(len, row)) for row in fields}) == 1


def test_graph_captions_full_width_in_chinese():
    for name in (n for n in MODELS if has_graph(derive.model(n))):
        tikz = graph_for(derive.model(name)).to_tikz("zh", caption=True)
        assert not re.search(rf"{HAN}[\)）]?:|:{HAN}", tikz), name
