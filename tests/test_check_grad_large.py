"""The directional path of the gradient checker (models above ``directional_above`` parameters):
correct ReLU nets pass with few loss calls, a wrong entry and a wrong factor are located with
today's hints, kinks on the line are no bug. A 5,560-parameter net (100-50-10) stands in for the
154,160-parameter one of tests/checkgrad_cases/relu_net.py, with the threshold lowered to 1,000.
Oracles: the net's hand-written NumPy gradient without the planted bug, and the per-entry count
of loss calls (two per coordinate) the path must stay far below."""

import runpy
from pathlib import Path

import numpy as np
import pytest

from numeric.check import check_grad

NET = runpy.run_path(str(Path(__file__).resolve().parent / "checkgrad_cases" / "relu_net.py"))
SIZE = dict(features=100, hidden=50)
N_PARAMS = 100 * 50 + 50 + 50 * 10 + 10
ABOVE = 1_000


def checked(bug=None, **size):
    """The report and the number of loss calls it took."""
    loss, grad, params = NET["make"](bug=bug, **(size or SIZE))
    calls = [0]

    def counted(**kw):
        calls[0] += 1
        return loss(**kw)

    return check_grad(counted, grad, params, directional_above=ABOVE), calls[0]


@pytest.fixture(scope="module")
def correct():
    return checked()


def blocks(report):
    return {b.name: b for b in report.blocks}


def test_correct_net_passes_without_per_entry_differences(correct):
    report, calls = correct
    assert report.ok and report.n_params == N_PARAMS
    assert report.n_checked == 0
    assert all(b.directional["ok"] and b.directional["directions"] >= 2 for b in report.blocks)
    # Far fewer calls than the two per coordinate of central differences.
    assert calls < N_PARAMS / 10
    assert any(f"more than {ABOVE:,}" in note for note in report.notes)


def test_one_wrong_entry_is_located():
    report, calls = checked("entry")
    b = blocks(report)
    assert [name for name, r in b.items() if r.verdict == "fail"] == ["W1"]
    assert b["W1"].cause == "few-entries"
    bad = NET["bad_entry"](SIZE["features"], SIZE["hidden"])
    assert [f.index for f in b["W1"].failures] == [bad]
    loss, right, params = NET["make"](**SIZE)
    assert b["W1"].failures[0].numeric == pytest.approx(right(**params)["W1"][bad], rel=1e-6)
    assert b["W1"].checked < 64 and calls < N_PARAMS / 4


def test_wrong_factor_in_a_small_block_is_named():
    report, _ = checked("factor")
    b = blocks(report)
    assert [name for name, r in b.items() if r.verdict == "fail"] == ["W2"]
    assert b["W2"].cause == "factor" and "2 ×" in b["W2"].hint
    assert b["W2"].checked == b["W2"].size == 500


def test_kink_on_every_line_is_no_bug():
    """Examples that are all zeros put their pre-activations exactly at ReLU's kink wherever b1
    is zero: the loss has a kink at the point along every direction that moves b1."""
    loss, grad, params = NET["make"](**SIZE, zero_rows=3)
    params["b1"][:20] = 0.0
    report = check_grad(loss, grad, params, directional_above=ABOVE)
    b = blocks(report)
    assert report.ok
    assert b["b1"].verdict == "kink-accepted" and b["b1"].n_fail == 0
    # The per-entry re-check is what decided: at least one kink entry was found and accepted.
    assert b["b1"].n_kink > 0 and not b["b1"].directional["ok"]
    assert np.isfinite(b["b1"].directional["numeric"])


def test_a_disagreeing_direction_no_entry_explains_is_inconclusive_not_a_pass(monkeypatch):
    """When the directions disagree but every entry they lead to agrees (and none is at a kink),
    the block is neither a pass nor a located bug. The gradient here is right, so its entries
    agree; the directions' disagreement is planted in the summary ``group.locate`` returns."""
    from numeric.check import group

    real = group.locate

    def disagreeing(checker, analytic, b, sample):
        coords, summary = real(checker, analytic, b, sample)
        if checker.point.names[b] == "W2":
            return sample, {**summary, "ok": False, "located": "sample"}
        return coords, summary

    monkeypatch.setattr(group, "locate", disagreeing)
    report, _ = checked()
    b = blocks(report)
    assert b["W2"].verdict == "inconclusive" and b["W2"].cause == "unlocated" and b["W2"].n_fail == 0
    assert all(r.verdict == "pass" for name, r in b.items() if name != "W2")
