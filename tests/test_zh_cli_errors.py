"""Bad command lines under ``--lang zh`` (issue 11, item 6): click's usage errors, the models'
options, output files, data files, the built-in data sets and the compiled networks all answer in
Chinese, by the rules of test_zh_all, with exit 2 and one line, never a traceback; the English
run of the same command line keeps its prefix, its flag and its numbers. Oracles: the English
line of the same input (the same numbers and the same quoted names), and terminal widths counted
here from ``unicodedata.east_asian_width``.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

import pytest

from conftest import run
from derive.cli.output import FORMATS
from derive.errors import DeriveError
from derive.io import write_atomic
from derive.cli.usage_zh import ARGUMENTS, chinese
from derive.models import registry
from derive.summary import aligned, render_rows
from test_zh_all import HALF_WIDTH, english_words
from test_zh_train import NUMBER

# Quoted user text and names ('--bogus', 'logistic'), paths, and the argument metavars click prints
QUOTED = re.compile(r"'[^']*'|/[\w/.-]+|\b[\w-]+\.(?:csv|npz|txt|pdf|jpg|png)\b")
NAMED = re.compile(r"'[^']*'")


def _cases(tmp):
    """(command line, the flag or name its English line must show); files made in ``tmp``."""
    (tmp / "text.csv").write_text("x1,x2,y\n1,2,0\n3,oops,1\n")
    (tmp / "labels.csv").write_text("x1,x2,y\n1,2,0\n3,4,2\n")
    return [
        (["logistic", "--bogus"], "--bogus"),
        (["logistic", "--verbos"], "--verbose"),
        (["logistic", "--format"], "--format"),
        (["logistic", "--format", "pdf"], "--format"),
        (["logistic", "surplus"], "surplus"),
        (["logistic", "one", "two"], "two"),
        (["mlp", "--hidden", "x"], "--hidden"),
        (["train"], "NAME"),
        (["check-grad", "--timeout", "-1"], "--timeout"),
        (["logistic", "-o", str(tmp)], "--output"),
        (["cache", "bogus"], "bogus"),
        (["logisti"], "logistic"),
        (["mlp", "--hidden", "0"], "--hidden"),
        (["softmax", "--classes", "1"], "--classes"),
        (["deep", "--layers", "3"], "--layers"),
        (["deep", "--layers", "3,x"], "--layers"),
        (["deep", "--layers", "3,1"], "--layers"),
        (["deep", "--layers", ","], "--layers"),
        (["conv", "--filter", "9"], "--filter"),
        (["chain-rule", "--at", "a=1"], "--at"),
        (["train", "no-such-model"], "no-such-model"),
        (["notes", "--models", ","], "--models"),
        (["logistic", "--graph", "png"], "--graph"),
        (["linear", "--graph", "dot"], "linear"),
        (["logistic", "-o", "out.pdf"], ".pdf"),
        (["train", "logistic", "--data", "/nonexistent-derive-folder/d.csv"], "d.csv"),
        (["train", "logistic", "--data", str(tmp / "text.csv")], "oops"),
        (["train", "logistic", "--data", str(tmp / "labels.csv")], "labels.csv"),
        (["train", "mlp", "--features", "3"], "--features"),
        (["train", "rnn", "--seq-length", "100000"], "--seq-length"),
        (["train", "logistic", "--plot", "loss.jpg"], "--plot"),
        (["train", "logistic", "--save", "/nonexistent-derive-folder/w.npz"], "w.npz"),
        (["check-grad", "--model", "chain-rule"], "chain-rule"),
    ]


def _line(outcome) -> str:
    assert outcome.code == 2 and outcome.out == "", outcome
    assert "Traceback" not in outcome.err
    lines = outcome.err.splitlines()
    assert len(lines) == 1, outcome.err
    return lines[0]


def test_bad_command_lines_answer_in_chinese(tmp_path):
    names = set(registry.names()) | {"cache", "check-grad", "check-steps", "expr", "list", "notes", "train"}
    names |= set(FORMATS) | {"pdflatex", "matplotlib"}     # --format's values; programs
    for argv, shown in _cases(tmp_path):
        english = _line(run(*argv))
        assert english.startswith("derive: error: ") and shown in english, (argv, english)
        # --lang right after the command, before the error: click stops at the error (cache's
        # group has no --lang, so there it comes after the unknown sub-command)
        at = len(argv) if argv[0] == "cache" else 1
        for spelled in (["--lang", "zh"], ["--lang=zh"]):
            said = _line(run(*argv[:at], *spelled, *argv[at:]))
            assert said.startswith("derive：错误："), (argv, said)
            text = QUOTED.sub(" ", said)
            # names (of models, commands, arguments) and the user's own words are not English to translate
            kept = names | set(ARGUMENTS) | set(argv)
            text = re.sub(r"[\w-]+", lambda m: " " if m.group() in kept else m.group(), text)
            assert not english_words(text), (argv, said, english_words(text))
            assert HALF_WIDTH.search(said) is None, said
            assert "…" not in said
            # the same facts: numbers and quoted names, each as often as in English
            assert Counter(NUMBER.findall(english)) == Counter(NUMBER.findall(said)), (english, said)
            assert Counter(NAMED.findall(english)) == Counter(NAMED.findall(said)), (english, said)


@pytest.mark.parametrize("where", ["/nonexistent-derive-folder/out.txt", "{tmp}"])
def test_files_that_cannot_be_written(tmp_path, where):
    # derive.io itself: on the command line a derivation is rendered before it is written
    path = where.format(tmp=tmp_path)
    with pytest.raises(DeriveError) as caught:
        write_atomic(path, "text")
    english, said = str(caught.value), caught.value.zh
    assert english.startswith(f"cannot write {path}: ") and said.startswith(f"无法写入 {path}：")
    assert not english_words(QUOTED.sub(" ", said)) and HALF_WIDTH.search(said) is None


def test_a_message_no_pattern_knows_stays_english():
    assert chinese("Error: something click says one day") is None
    assert chinese("Invalid value for '--x': 'y' is not a valid boolean.") is None
    assert chinese("Invalid value for '--x': 'y' is not a valid integer.") == "'--x' 的值无效：'y' 不是整数"


def _columns(line: str, starts_at: list[str]) -> list[int]:
    """The terminal column where each of ``starts_at`` begins in ``line``, wide characters taking two."""
    cols = []
    for cell in starts_at:
        before = line[:line.index(cell)]
        cols.append(sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in before))
    return cols


def test_summary_table_lines_up_chinese():
    rows = [{"文件": "作业一.md", "结论": "通过", "说明": "无"},
            {"文件": "b.md", "结论": "第 3 行有误", "说明": "链式法则少了 ∂u/∂x"},
            {"文件": "长文件名（第二版）.md", "结论": "无法读取", "说明": None}]
    columns = ("文件", "结论", "说明")
    lines = render_rows(rows, columns).splitlines()
    cells = [list(columns)] + [[r[c] or "" for c in columns] for r in rows]
    starts = {tuple(_columns(line, [c for c in row if c])[:2]) for line, row in zip(lines, cells)}
    assert len(starts) == 1, lines   # the second and third columns begin at the same column on every line
    assert all(line == line.rstrip() for line in lines)


def test_english_tables_keep_their_bytes():
    rows = [["file", "verdict", "first wrong line"], ["a.md", "ok", ""], ["long-name.md", "wrong", "3"]]
    widths = [max(len(r[k]) for r in rows) for k in range(3)]
    old = ["  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip() for r in rows]
    assert aligned(rows) == old
    assert aligned(rows, indent="  ") == ["  " + line for line in old]
