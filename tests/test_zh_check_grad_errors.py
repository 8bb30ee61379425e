"""`derive check-grad --lang zh` on files it cannot check (issue 11, item 6): every bad-input case of
the English tests (tests/checkgrad_cases) fails as in English, exit 2 and one line, now in Chinese
by the rules of test_zh_all, with the same numbers and the same quoted names as the English
sentence of the same error. Oracles: the English message each case's own test expects, and the
English and Chinese of one and the same exception (so even a random number must match)."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from conftest import run
from derive.cli.check_grad import _note_zh
from derive.errors import DeriveError
from numeric.check import check_grad, check_model_file
from test_zh_all import HALF_WIDTH, english_words
from test_zh_train import NUMBER

CASES = Path(__file__).parent / "checkgrad_cases"
HOSTILE = CASES / "hostile"
# The names a model file defines by the protocol, and Python, are the user's code: kept in Latin letters.
PROTOCOL = {"loss", "grad", "grads", "params", "data", "python"}
# What is not the message's own words: quotations (an exception's words, NumPy's or the user's), code
# in backticks (exception classes, signals, types), file names.
QUOTED = re.compile(r"“[^”]*”|`[^`]*`|[\w/.-]+\.py\b")
# The names an English message quotes ('dw', params['w']) and its shapes
NAMED = re.compile(r"'[^']*'|\([\d, ]*\)")


def zh_rules(text: str) -> None:
    found = {w for w in english_words(QUOTED.sub(" ", text)) if w.lower() not in PROTOCOL}
    assert not found, (sorted(found), text)
    bad = HALF_WIDTH.search(text)
    assert bad is None, text
    assert "…" not in text


def same_facts(en: str, zh: str) -> None:
    """The same numbers, each as often, and the same quoted names and shapes."""
    assert Counter(NUMBER.findall(en)) == Counter(NUMBER.findall(zh)), (en, zh)
    assert Counter(NAMED.findall(en)) == Counter(NAMED.findall(zh)), (en, zh)


def one_chinese_line(outcome) -> str:
    """The error line of a run that must end in exit 2 (progress notes may come first)."""
    assert outcome.code == 2 and outcome.out == ""
    lines = outcome.err.splitlines()
    assert lines[-1].startswith("derive：错误：") and not any(line.startswith("derive：错误：") for line in lines[:-1])
    assert "Traceback" not in outcome.err and "derive: error" not in outcome.err
    return lines[-1].removeprefix("derive：错误：")


# The bad files of tests/test_check_grad.py, with the English each must still say
BAD = {"bad_syntax": "bad_syntax.py: line 3: SyntaxError", "bad_no_loss": "no `loss`", "bad_no_grad": "no `grad`",
       "bad_no_params": "no `params`", "bad_params_text": "params['w']", "bad_grad_names": "'dw', which is not in params",
       "bad_grad_shape": "transposed", "bad_loss_raises": "loss raised ValueError (line 4)",
       "bad_loss_array": "must return a scalar", "bad_loss_nan": "nan", "bad_import_raises": "line 3: FileNotFoundError",
       "nondeterministic": "loss is not deterministic (dropout or unseeded randomness?)"}


@pytest.fixture(scope="module")
def errors():
    """Each bad file's error, raised in this process: its English and its Chinese."""
    found = {}
    for name in BAD:
        with pytest.raises(DeriveError) as info:
            check_model_file(CASES / f"{name}.py")
        found[name] = info.value
    return found


@pytest.mark.parametrize("name", BAD)
def test_each_bad_file_in_chinese(errors, name):
    error = errors[name]
    assert BAD[name] in str(error)
    zh_rules(error.zh)
    same_facts(str(error), error.zh)


@pytest.mark.parametrize("name", ["bad_syntax", "bad_grad_shape", "bad_loss_raises", "bad_loss_nan"])
def test_the_command_says_it_in_chinese(errors, monkeypatch, name):
    # through the child process and the error policy: one line, exit 2, the very Chinese of the error
    monkeypatch.chdir(CASES)
    assert one_chinese_line(run("check-grad", f"{name}.py", "--lang", "zh")) == errors[name].zh


@pytest.mark.parametrize("name, numbers", [
    ("sys_exit_in_grad", ["14", "0"]), ("os_exit_at_top", ["0"]), ("keyboard_interrupt_in_loss", ["8"]),
    ("base_exception_at_top", ["8"]), ("segfault", []), ("stray_thread", []), ("sleep_in_loss", ["0.5"])])
def test_a_misbehaving_file_in_chinese(name, numbers):
    # the numbers the English of tests/test_check_grad_isolation.py gives (line, exit status, seconds)
    # a short time limit for the file that sleeps only: the others must not run into it on a busy machine
    timeout = "0.5" if name == "sleep_in_loss" else "60"
    zh = one_chinese_line(run("check-grad", HOSTILE / f"{name}.py", "--lang", "zh", "--timeout", timeout))
    assert zh.startswith(f"{name}.py：")
    zh_rules(zh)
    assert Counter(NUMBER.findall(zh)) == Counter(numbers), zh


def test_what_cannot_be_a_model_file_in_chinese(tmp_path):
    huge = tmp_path / "huge.py"
    with open(huge, "wb") as f:
        f.truncate(17 * 2 ** 20)
    for path, fact in ((tmp_path / "missing.py", "没有这个文件"), ("/dev/zero", "不是普通文件"), (huge, "17,825,792 字节")):
        zh = one_chinese_line(run("check-grad", path, "--lang", "zh"))
        assert zh.startswith(f"{path}：") and fact in zh
        zh_rules(zh.removeprefix(str(path)))            # the path is the user's


@pytest.mark.parametrize("args", [(), ("model.py", "--model", "mlp"), ("model.py", "--hidden", "3")])
def test_usage_errors_in_chinese(args):
    zh = one_chinese_line(run("check-grad", *args, "--lang", "zh"))
    en = run("check-grad", *args)
    assert en.code == 2 and en.err.startswith("derive: error: ")
    zh_rules(zh)
    assert ("--model" in zh) and ("--hidden" in zh) == ("--hidden" in en.err)


def test_the_table_shows_bad_files_in_chinese(monkeypatch):
    monkeypatch.chdir(CASES)
    outcome = run("check-grad", "bad_syntax.py", "bad_grad_names.py", "--lang", "zh")
    assert outcome.code == 1
    rows = outcome.out.splitlines()
    assert rows[0].split() == ["文件", "结论", "参数块", "提示"]
    assert "文件有误" in rows[1] and "第 3 行" in rows[1] and "它不在 params 中" in rows[2]
    for text in (outcome.out, outcome.err):
        zh_rules(text)


def test_complex_step_unsafe_note_in_chinese():
    # a loss through abs() loses the imaginary part: the checker finds the complex step unsafe
    def loss(w):
        return float(np.sum(np.abs(w) ** 2))

    report = check_grad(loss, lambda w: {"w": 2 * w}, {"w": np.array([0.5, -1.5])}, mode="complex")
    notes = [n for n in report.notes if n.startswith("complex step unsafe")]
    assert notes
    for note in notes:
        zh = _note_zh(note)
        assert zh.startswith("复步长法不安全")
        zh_rules(zh)
        same_facts(note, zh)
