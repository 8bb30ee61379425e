"""`derive expr` and `derive check-steps` on bad input, under --lang zh (issue 11, item 6).

Each case is run twice through the console entry point, in English and in Chinese: both exit with
the same status (2, or 1 for a failed check) and one line on stderr, no traceback; the Chinese line
keeps the numbers (columns, sizes, counts) and the quoted user text of the English line and obeys
the rules of tests/test_zh_all.py: no English word of four letters or more outside code, quoted
text and function names, no half-width , : ; ( ) beside a Chinese character, no "…". The oracle
is the English run of the same input, so the English stays what the error always said.
"""

from __future__ import annotations

import re
from collections import Counter

import pytest

from conftest import run
from derive.matrix.parse import CALLS
from derive.parse import FUNCTION_NAMES
from test_zh_all import HALF_WIDTH, english_words
from test_zh_train import NUMBER

D = "--from-latex"
M = ("--shape", "X=m,n", "--shape", "w=n")

# (argv after `derive expr`): one case for each kind of message of the parsers and the commands
EXPR = [
    ["sin(x"], ["x +* 2"], ["f'(x)"], ["08"], ["x\\"], ["0b12"], ["(x))"], ["(x]"], ["foo(x)"], ["ab(x)"], ["x[1]"], ["x // 2"], ["not x"],
    ["'a'"], ["1j*x"], ["True*x"], ["I*x"], ["oo*x"], ["_a+x"], ["sin + x"], ["print(x)"],
    ["sin(x, y)"], ["max(" + ",".join("x" * 11) + ")"], ["log(x, -2)"], ["x.real"], ["x**1000"],
    ["2**100000"], ["1/0"], ["0**x"], ["sin(x=1)"], ["x if x else 1"], ["x, y"], ["x + é"], [""],
    ["x" * 2001], ["(" * 60 + "x" + ")" * 60], ["1" * 400], ["1e99999"], ["x*y"], ["x*y", "--wrt", "z"],
    ["a*bx", "--wrt", "x"], ["x*sinh2", "--wrt", "h2"], ["x", "--wrt", "x", "--wrt", "x"], ["x", "--wrt", ""],
    ["2+3", "--wrt", "if"], ["x**2", "--at", "x=y"], ["x**2", "--at", "q=1"], ["x**2", "--at", "x"],
    ["x**2", "--at", "x=1,,"], ["x**2", "--at", "pi=1"], ["x**2", "--at", "x=(1"], ["x**2", "--at", "x=I"],
    ["x*y", "--wrt", "x", "--at", "x=1"], ["x**2", "--at", "x=1,x=2"], ["sqrt(x)", "--at", "x=-1"],
    ["log(x)", "--at", "x=0"], ["x", "--order", "9"], ["x*y", "--wrt", "x", "--wrt", "y", "--order", "2"],
    ["x*y", "--mixed", "x"], ["x*y", "--mixed", "x,y", "--wrt", "x"], ["\\sin(x)"],
    [D, "\\frac{1}{"], [D, "\\int x dx"], [D, "\\foo x"], [D, "x^{2}^{3}"], [D, "x = 1"],
    [D, "\\frac{d}{dx} x"], [D, "x_"], [D, "E x"], [D, "\\operatorname{foo}(x)"], [D, "\\max x"],
    [D, "\\sin(x, y)"], [D, "x ` y"], [D, "\\sqrt{x"], [D, "\\frac{1}{2)"], [D, "x!"], [D, "x_{}"],
    [D, "x_12"], [D, "e^-2x"], [D, "\\hat{xy}"], [D, "\\sin"], [D, "()"], [D, "$$ $$"],
    # matrix calculus
    ["X @ w"], ["trace(X)"], ["sum(X @ w)", "--shape", "X=m,n", "--shape", "w=k"],
    ["sum(X + Y)", "--shape", "X=2,3", "--shape", "Y=3,2"], ["X @ w", *M], ["sum(X)", "--shape", "X=m,n", "--shape", "q=2"],
    ["sum(X)", "--shape", "X"], ["sum(X)", "--shape", "X=0"], ["sum(X)", "--shape", "X=99999999"],
    ["sum(X)", "--shape", "X=1,2,3"], ["sum(X)", "--shape", "X=m", "--shape", "X=n"], ["sum(X)", "--shape", "sum=m"],
    ["sum(X)", "--shape", "X=m,_n"], ["trace(X)", "--shape", "X=m,n"], ["det(X)", "--shape", "X=2,3"],
    ["sum(inv(X))", "--shape", "X=2,3"], ["sum(diag(X))", "--shape", "X=2,3"], ["sum(softmax(X))", "--shape", "X=m,n"],
    ["sum(softmax(X, axis=2))", "--shape", "X=m,n"], ["sum(softmax(X, foo=1))", "--shape", "X=m,n"],
    ["sum(X, X)", "--shape", "X=m,n"], ["sum(foo(X))", "--shape", "X=m,n"], ["sum(X**w)", *M],
    ["sum(X**200)", "--shape", "X=m,n"], ["sum(X.R)", "--shape", "X=m,n"], ["sum(X // 2)", "--shape", "X=m,n"],
    ["sum(X @ w", *M], ["sum(X / 0)", "--shape", "X=m,n"], ["sum(X)", "--shape", "X=m,n", "--order", "2"],
    ["sum(X)", "--shape", "X=m,n", "--at", "x=1"], ["x", "--onehot", "Y"], ["x", "--signs", "y"],
    ["sum(X @ w)", *M, "--onehot", "q"], ["sum(X @ w)", *M, "--wrt", "w", "--onehot", "w"],
    ["sum(X @ w)", *M, "--signs", "q"], ["sum(X @ w)", *M, "--wrt", "w", "--signs", "w"],
    ["sum(X @ w)", *M, "--wrt", "X", "--wrt", "w", "--hessian"], ["sum(X @ w)", *M],
    ["sum(X @ w)", *M, "--wrt", "q"], ["sum(X)", "--shape", "X=2000,2000"], ["sum(x.T)", "--shape", "X=m,n"],
]

# (file name, contents) given to `derive check-steps`
STEPS = [
    ("a.txt", "L = (a - y)**2\ndL/da = 2*(a - y\n"), ("b.txt", "= x\n"), ("c.txt", "L = x = = x\n"),
    ("d.md", "$$L = x$$\n$$\\partial M/\\partial x = 1$$\n"), ("e.md", "$$ L = x^2\n"), ("f.tex", "\\begin{align} x\n"), ("g.tex", "\\[ { x \\]\n"),
    ("h.tex", "\\[ x } \\]\n"), ("i.txt", ""), ("j.txt", "L = x\0"), ("k.txt", b"L = \xff"), ("l.md", "only words\n"),
    ("m.txt", "L = QzQ + 1\n"), ("n.txt", "L = x\ndiff(L) = 1\n"), ("o.txt", "L = x\nf'(2*x) = 1\n"),
    ("p.txt", "L = x\ndL/d(x+1) = 1\n"), ("q.txt", "# shapes: X=m,n w=n\nL = sum(X @ w)\ndL/dq = X\n"),
    ("r.txt", "# shapes: X=m,n w=n\n= sum(X)\n"), ("s.txt", "# shapes: X=m,n w=n\ndM/dw = X\n"),
    ("t.txt", "L = foo(x)\n"),
]

# The English words a Chinese error keeps: the functions the user may call, and proper names.
KEPT = {n.lower() for n in (*FUNCTION_NAMES, *CALLS)} | {"latex", "ascii", "python", "fifo", "axis"}
# What is not the message's own words: quotations (the user's text, Python's, SymPy's or the
# system's words), code in backticks, file names and LaTeX commands.
QUOTED = re.compile(r"“[^”]*”|`[^`]*`|'[^']*'|[\w/.-]+\.(?:txt|md|tex)\b|\\[A-Za-z]+(?:\{\w+\})?")


def one_line(outcome, prefix: str) -> str:
    assert outcome.code in (1, 2) and "Traceback" not in outcome.err
    lines = outcome.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(prefix), outcome.err
    return lines[0].removeprefix(prefix)


def same_line_both_ways(argv: list) -> None:
    en, zh = run(*argv), run(*argv, "--lang", "zh")
    assert en.code == zh.code and en.out == zh.out == ""
    english, chinese = one_line(en, "derive: error: "), one_line(zh, "derive：错误：")
    assert chinese != english and re.search("[\u4e00-\u9fff]", chinese), (english, chinese)
    words = {w for w in english_words(QUOTED.sub(" ", chinese)) if w.lower() not in KEPT}
    assert not words, (sorted(words), chinese)
    assert HALF_WIDTH.search(chinese) is None and "…" not in chinese, chinese
    # the same numbers, each as often, and the same quoted user text
    assert Counter(NUMBER.findall(english)) == Counter(NUMBER.findall(chinese)), (english, chinese)
    for quoted in re.findall(r"'([^']*)'", english):
        assert quoted in chinese, (english, chinese)


@pytest.mark.parametrize("argv", EXPR, ids=lambda a: " ".join(a)[:40])
def test_expr_error_in_chinese(argv):
    same_line_both_ways(["expr", *argv])


@pytest.mark.parametrize("name,content", STEPS, ids=[n for n, _ in STEPS])
def test_check_steps_error_in_chinese(tmp_path, name, content, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / name).write_bytes(content if isinstance(content, bytes) else content.encode())
    same_line_both_ways(["check-steps", name])


def test_check_steps_unreadable_paths_in_chinese(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "folder.md").mkdir()
    same_line_both_ways(["check-steps", "folder.md"])
    same_line_both_ways(["check-steps", "missing.txt"])


def test_check_steps_several_files_report_each_error_in_chinese(tmp_path, monkeypatch):
    """With several files each unreadable one gets its line, and the summary its hint, in Chinese."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ok.txt").write_text("L = x**2\ndL/dx = 2*x\n")
    (tmp_path / "bad.txt").write_text("L = (x\n")
    outcome = run("check-steps", "ok.txt", "bad.txt", "--lang", "zh")
    assert outcome.code == 2
    lines = outcome.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("derive：错误：bad.txt:1:") and "没有闭合" in lines[0]
    summary = run("check-steps", "ok.txt", "bad.txt", "--lang", "zh", "--summary", "csv")
    english = run("check-steps", "ok.txt", "bad.txt", "--summary", "csv")
    row, row_en = summary.out.splitlines()[-1], english.out.splitlines()[-1]
    assert "bad.txt" in row and "没有闭合" in row and "was never closed" in row_en
    assert Counter(NUMBER.findall(row)) == Counter(NUMBER.findall(row_en))
