"""`derive check-grad --lang zh` on wrong gradients (issue 11, item 6): every hint on a failing or
kinked block, the several-files table and the checker's notes read in Chinese by the rules of
test_zh_all, with the English run's cause and the very numbers of its English sentence, while the
English stays as it was. Oracles: the bug planted in each case (the factor, the λ, the swapped
block, the layer), and the English sentence the same finder writes."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from conftest import run
from numeric.check import check_model_file, hints
from numeric.check.report import render_text
from test_check_hints import N, RNG, W, _result, evidence
from test_zh_train import NUMBER, chinese_rules

CASES = Path(__file__).parent / "checkgrad_cases"
G = RNG.standard_normal((3, 3))
R = RNG.standard_normal((4, 3))
SAMPLE = np.array([0, 1, 2, 3, 5, 6, 7, 8])      # every off-diagonal entry of a 3×3 block


def _batchnormed():
    """A 3×4 block whose reference is orthogonal to each column (batchnorm after it) and an
    analytic gradient that is not: the normalization hint."""
    w = RNG.standard_normal((3, 4))
    ref = RNG.standard_normal((3, 4))
    ref -= w * np.sum(ref * w, axis=0) / np.sum(w * w, axis=0)
    return evidence((ref + 0.5 * w).ravel(), ref.ravel(), shape=(3, 4), params=w.ravel())


# One call per hint sentence: the finder and the evidence where its diagnosis is true.
HINTS = {
    "nonfinite-analytic": lambda: hints.nonfinite_analytic(evidence([1.0, np.nan, np.inf, 2.0], N[:4])),
    "nonfinite-numeric": lambda: hints.nonfinite_reference(evidence(N[:3], [np.nan, 1.0, 2.0])),
    "zero-analytic": lambda: hints.zero_analytic(evidence(np.zeros(6), N)),
    "unused-parameter": lambda: hints.unused_parameter(evidence([0.5, -1.0], [0.0, 1e-12], name="b", floor=1e-10)),
    "kink": lambda: hints.wrong_kink(evidence([1.5, 1.0], [0.5, 1.0], kinks={0: (0.0, 1.0)})),
    "sign-flip": lambda: hints.sign_flip(evidence(-N, N)),
    "factor 3": lambda: hints.constant_factor(evidence(3 * N, N)),
    "factor 1/2": lambda: hints.constant_factor(evidence(0.5 * N, N)),
    "factor -4": lambda: hints.constant_factor(evidence(-4 * N, N)),
    "factor keep": lambda: hints.constant_factor(evidence(1.37 * N, N)),
    "factor any": lambda: hints.constant_factor(evidence(23.7 * N, N)),
    "factor beside L2": lambda: hints.factor_beside_l2(evidence(3 * (N - 0.2 * W) + 0.2 * W, N - 0.2 * W)),
    "transpose square": lambda: hints.transpose(evidence(G.T.ravel(), G.ravel(), shape=(3, 3), params=np.ones(9))),
    "transpose rectangle": lambda: hints.transpose(
        evidence(R.T.reshape(4, 3).ravel(), R.ravel(), shape=(4, 3), params=np.ones(12))),
    "transpose sampled": lambda: hints.transpose(evidence(
        G.T.ravel()[SAMPLE], G.ravel()[SAMPLE], shape=(3, 3), local=SAMPLE, params=np.ones(8),
        block_analytic=G.T)),
    "transpose unsure": lambda: hints.transpose(evidence(
        G.T.ravel()[[1, 3]], G.ravel()[[1, 3]], shape=(3, 3), local=[1, 3], params=np.ones(2), block_analytic=G.T)),
    "L2 missing": lambda: hints.l2_term(evidence(N - 0.3 * W, N)),
    "L2 extra": lambda: hints.l2_term(evidence(N + 0.3 * W, N)),
    "L1": lambda: hints.l1_term(evidence(N - 0.2 * np.sign(W), N)),
    "normalization": lambda: hints.normalization(_batchnormed()),
    "few-entries": lambda: hints.few_entries(evidence(np.arange(10.0) + 1, np.arange(10.0) + 1 + np.isin(
        np.arange(10), [3, 7]), shape=(2, 5), params=np.ones(10))),
    "directional": lambda: hints.missed_by_sample(
        evidence(N, N, directional={"analytic": 2.5, "numeric": 3.0, "error_estimate": 1e-9, "ok": False})),
    "unknown one": lambda: hints.unknown(evidence([1.5], [0.5])),
    "unknown many": lambda: hints.unknown(evidence([1.0, 2.0, 3.0, 4.0], [1.0, 7.0, -1.0, 0.5],
                                                   reference_kind="derived")),
    "unknown sampled": lambda: hints.unknown(evidence(N[:3], N[:3] + 1, shape=(9,), local=[0, 4, 8])),
    "kink-accepted": lambda: hints.kink_accepted("b1", 2, {"index": [0], "analytic": 0.0, "backward": 0.0,
                                                           "forward": 1.0}),
    "inconclusive": lambda: hints.inconclusive(evidence([0.5, 0.25, 2.0], [0.5, 0.3, 2.1], failing=[]),
                                               np.array([1, 2]), low_precision=True),
    "inconclusive float64": lambda: hints.inconclusive(evidence([0.5, 0.25], [0.5, 0.3], failing=[]),
                                                       np.array([1]), low_precision=False),
    "unlocated": lambda: hints.unlocated("W", {"analytic": 1.25, "numeric": 1.5}),
}


def same_numbers(en: str, zh: str) -> None:
    """The two sentences hold the same numbers, each as often (a Chinese sentence orders them its way)."""
    assert Counter(NUMBER.findall(en)) == Counter(NUMBER.findall(zh)), (en, zh)


@pytest.mark.parametrize("case", HINTS)
def test_each_hint_in_chinese(case):
    h = HINTS[case]()
    assert h is not None and h.zh
    chinese_rules(h.zh)
    same_numbers(h.text, h.zh)
    assert "…" not in h.zh


def _across(results, apply):
    apply(results)
    return [r for r in results if r.hint_zh]


@pytest.mark.parametrize("case, cause", [("swapped", "swapped"), ("layers", "backprop-step"),
                                         ("second error", "backprop-step"), ("rnn", "bptt-carry"),
                                         ("batchnorm bias", "normalization")])
def test_hints_across_blocks_in_chinese(case, cause):
    if case == "swapped":
        u, v = np.array([1.0, -2.0]), np.array([0.5, 3.0])
        results = [_result("u"), _result("v")]
        evs = [evidence(v, u, name="u", params=np.ones(2)), evidence(u, v, name="v", params=np.ones(2))]
        hinted = _across(results, lambda rs: hints.swapped(rs, evs, [u, v]))
    elif case in ("layers", "second error"):
        top = ("pass", "unknown") if case == "layers" else ("fail", "factor")
        results = [_result("W1"), _result("b1"), _result("W2", *top), _result("b2", "pass")]
        hinted = _across(results, hints.layer_diagnosis)
    elif case == "rnn":
        results = [_result("Whh"), _result("Wxh"), _result("Why", "pass")]
        results[0].shape = (2, 2)
        hinted = _across(results, hints.recurrent_carry)
    else:
        results = [_result("W1", cause="normalization"), _result("b1", cause="unused-parameter")]
        hinted = _across(results, hints.normalized_bias)
    assert hinted and all(r.cause == cause for r in hinted)
    for r in hinted:
        chinese_rules(r.hint_zh)
        same_numbers(r.hint, r.hint_zh)


# The course's wrong backprop files, each with the bug its name says, and the cause it must get.
FILES = {"sign_flip.py": "sign-flip", "missing_mean.py": "factor", "transpose.py": "transpose",
         "missing_l2.py": "regularization", "swapped.py": "swapped", "wrong_layer_gprime.py": "backprop-step",
         "rnn_carry_dropped.py": "bptt-carry"}


@pytest.fixture(scope="module")
def reports():
    return {name: check_model_file(CASES / name) for name in FILES}


@pytest.mark.parametrize("name", FILES)
def test_wrong_gradient_files_in_chinese(reports, name):
    report = reports[name]
    failing = [b for b in report.blocks if b.verdict == "fail"]
    assert failing and failing[0].cause == FILES[name]
    en, zh = render_text(report, "en"), render_text(report, "zh")
    chinese_rules(zh.replace(report.source, ""))        # the file's path is the user's
    assert "…" not in zh
    # line by line, the same numbers (the header's and the table's too)
    assert len(en.splitlines()) == len(zh.splitlines())
    for line_en, line_zh in zip(en.splitlines(), zh.splitlines()):
        same_numbers(line_en, line_zh)
    assert all(b.hint_zh in zh for b in failing)


def test_the_cli_in_chinese(monkeypatch):
    # one file: the report and its notes, exit 1 as in English; several: the table and its notes
    monkeypatch.chdir(CASES)                 # the files' names as the user types them
    one = run("check-grad", "missing_l2.py", "--lang", "zh")
    assert one.code == 1 and "正则化项" in one.out
    many = run("check-grad", "sign_flip.py", "tiny_components.py", "--lang", "zh")
    assert many.code == 1
    assert many.out.splitlines()[0].split() == ["文件", "结论", "参数块", "提示"]
    assert "符号相反" in many.out and "2 个文件中有 1 个通过" in many.out
    assert "derive：sign_flip.py：在 5 个坐标上取有限差分" in many.err
    for text in (one.out, one.err, many.out, many.err):
        chinese_rules(re.sub(r"\w+\.py", "", text))


def test_a_built_in_models_header_names_its_options_in_chinese():
    """`check-grad --model` names the model as its page does and its options in words under
    --lang zh (it read `logistic (features=2)：`), and keeps the same header in English."""
    import derive

    zh, en = run("check-grad", "--model", "logistic", "--lang", "zh"), run("check-grad", "--model", "logistic")
    assert zh.code == en.code == 0
    model = derive.model("logistic")
    page = model.title_zh.split("（")[0]
    assert page == "逻辑回归"
    words = model.options_text("zh")
    assert f"梯度检验 {page}（logistic，{words}）：" in zh.out and "=" not in zh.out.splitlines()[0]
    assert f"check-grad logistic ({derive.model('logistic').options_text()}): " in en.out
