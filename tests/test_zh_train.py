"""`derive train --lang zh` and `derive check-grad --lang zh` speak Chinese (issue 11, item 6): the
report, the per-epoch lines, the
terminal pictures and the error a failed run ends with, read by the rules of test_zh_all (no
English word of four letters or more but names, glosses and options; no half-width punctuation
beside Chinese); and the Chinese run reports the very numbers of the English one."""

from __future__ import annotations

import re

import pytest

from conftest import run
from test_zh_all import HALF_WIDTH, english_words

# small runs of the models whose pictures differ: a decision boundary, a fitted line, a sum of
# pieces (and the closed form of least squares)
RUNS = {"logistic": ("--epochs", "3"), "least-squares": ("--epochs", "3"), "sigmoid-sum": ("--epochs", "3")}
NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e[+-]?\d+)?%?")
# names: the optimizer Adam, Richardson's extrapolation, the model checked
NAMES = {"adam", "richardson", "logistic"}


@pytest.fixture(scope="module")
def runs():
    return {(name, lang): run("train", name, *args, "--lang", lang) for name, args in RUNS.items() for lang in ("en", "zh")}


def chinese_rules(text: str) -> None:
    found = {w for w in english_words(text) if w.lower() not in NAMES}
    assert not found, sorted(found)
    bad = HALF_WIDTH.search(text)
    assert bad is None, text[max(0, bad.start() - 30):bad.end() + 30]


@pytest.mark.parametrize("name", RUNS)
def test_train_in_chinese(runs, name):
    zh = runs[name, "zh"]
    assert zh.code == 0
    for text in (zh.out, zh.err):
        chinese_rules(text)
    assert "学习率" in zh.out and "损失" in zh.out and "轮次" in zh.err


@pytest.mark.parametrize("name", RUNS)
def test_the_chinese_report_has_the_english_numbers(runs, name):
    # the same run in two languages: every number of the report and of the epoch lines, in order
    # (the title's options and the data set's names aside)
    en, zh = runs[name, "en"], runs[name, "zh"]
    for part in ("out", "err"):
        body = [line for line in getattr(en, part).splitlines()[1:] if not line.startswith("data")]
        body_zh = [line for line in getattr(zh, part).splitlines()[1:] if not line.startswith("数据")]
        numbers = [NUMBER.findall(line) for line in body]
        assert numbers == [NUMBER.findall(line) for line in body_zh]
        assert any(numbers)


def test_a_failed_run_says_why_in_chinese():
    out = run("train", "linear", "--lr", "5", "--epochs", "3", "-q", "--lang", "zh")
    assert out.code == 1
    message = out.err.removeprefix("derive：错误：")
    assert message.startswith("训练发散") and "--lr 0.5" in message
    chinese_rules(message)


def test_english_stays_english(runs):
    en = runs["logistic", "en"]
    assert "loss      train" in en.out and "epoch 3/3  loss" in en.err
    assert not re.search("[\u4e00-\u9fff]", en.out + en.err)


def test_check_grad_in_chinese():
    # the report of a passing check, and its notes: the same numbers as in English, in Chinese
    en, zh = (run("check-grad", "--model", "logistic", "--lang", lang) for lang in ("en", "zh"))
    assert zh.code == en.code == 0
    for text in (zh.out, zh.err):
        chinese_rules(text)
    assert zh.out.startswith("梯度检验 逻辑回归（logistic") and "通过：每个参数块都通过" in zh.out
    assert [NUMBER.findall(line) for line in en.out.splitlines()[1:]] == \
        [NUMBER.findall(line) for line in zh.out.splitlines()[1:]]
    assert [NUMBER.findall(line) for line in en.err.splitlines()] == [NUMBER.findall(line) for line in zh.err.splitlines()]


@pytest.mark.parametrize("args, words", [(("--lr", "-1"), "学习率（--lr）必须是正数"),
                                         (("--epochs", "0"), "轮次数（--epochs）必须是正整数"),
                                         (("--holdout", "0.2"), "--holdout 只用于 --data")])
def test_bad_input_to_training_in_chinese(args, words):
    # the same refusal as in English (exit 2, the value echoed), in Chinese after a Chinese prefix
    zh, en = (run("train", "linear", *args, "-q", "--lang", lang) for lang in ("zh", "en"))
    assert zh.code == en.code == 2
    assert zh.err.startswith("derive：错误：" + words)
    assert en.err.startswith("derive: error: ") and not re.search("[\u4e00-\u9fff]", en.err)
    assert NUMBER.findall(zh.err) == NUMBER.findall(en.err)
    chinese_rules(zh.err)
