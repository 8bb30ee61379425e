"""The hint finders of numeric.check, one at a time: each fed a hand-built Evidence where its
diagnosis is true and one where it is not. Oracles: the bug planted in the numbers (the factor,
the λ, the wrong entries), indices worked out by hand."""

import numpy as np
import pytest

from numeric.check import hints
from numeric.check.hints import Evidence
from numeric.check.report import BlockResult
from numeric.check.tolerance import Tol

RNG = np.random.default_rng(42)
N = RNG.standard_normal(6) + np.sign(RNG.standard_normal(6))     # a reference with no entry near 0
W = RNG.standard_normal(6)                                         # the parameter values


def evidence(analytic, reference, *, failing=None, shape=None, local=None, params=None, floor=0.0, **extra):
    """An Evidence with a tight tolerance (rtol 1e-6, no error estimate, ``floor``); by default
    every entry that differs by more than 1e-6 relative fails."""
    a, n = np.asarray(analytic, dtype=float), np.asarray(reference, dtype=float)
    if failing is None:
        with np.errstate(invalid="ignore"):
            failing = np.flatnonzero(~(np.abs(a - n) <= 1e-6 * np.maximum(np.abs(a), np.abs(n))))
    scale = float(np.max(np.abs(n[np.isfinite(n)]), initial=0.0))
    tol = Tol(np.zeros(a.size), np.full(a.size, scale), np.full(a.size, floor), 1e-6, 1e-8)
    return Evidence(name=extra.pop("name", "w"), shape=(a.size,) if shape is None else shape,
                    local=np.arange(a.size) if local is None else np.asarray(local), analytic=a, reference=n,
                    failing=np.asarray(failing, dtype=int), tol=tol,
                    params=W[:a.size] if params is None else np.asarray(params, dtype=float), **extra)


# --------------------------------------------------------------------------------------------
# One finder at a time


def test_nonfinite_analytic_counts_the_bad_entries():
    h = hints.nonfinite_analytic(evidence([1.0, np.nan, np.inf, 2.0], N[:4]))
    assert h.cause == "nonfinite-analytic" and h.detail == {"count": 2}
    assert hints.nonfinite_analytic(evidence(2 * N, N)) is None


def test_nonfinite_reference_counts_the_bad_entries():
    h = hints.nonfinite_reference(evidence(N[:3], [np.nan, 1.0, 2.0]))
    assert h.cause == "nonfinite-numeric" and h.detail == {"count": 1}
    assert hints.nonfinite_reference(evidence(2 * N, N)) is None


def test_zero_analytic_where_the_loss_changes():
    h = hints.zero_analytic(evidence(np.zeros(6), N))
    assert h.cause == "zero-analytic" and "zero everywhere" in h.text
    assert hints.zero_analytic(evidence(np.zeros(6), np.zeros(6))) is None     # nothing to compute
    assert hints.zero_analytic(evidence(-N, N)) is None


def test_unused_parameter_when_the_loss_does_not_change():
    # 1e-12 is rounding noise under a floor of 1e-10: the loss does not change.
    h = hints.unused_parameter(evidence([0.5, -1.0], [0.0, 1e-12], name="b", floor=1e-10))
    assert h.cause == "unused-parameter" and "is b used in the loss?" in h.text
    assert hints.unused_parameter(evidence([0.5, -1.0], [0.0, 1e-12], name="b")) is None
    assert hints.unused_parameter(evidence([0.5, -1.0], N[:2])) is None
    assert hints.unused_parameter(evidence([0.0, 0.0], [0.0, 0.0])) is None


def test_wrong_kink_names_the_one_sided_derivatives():
    # max(w, 0) at w = 0: backward 0, forward 1; an analytic 1.5 lies outside.
    ev = evidence([1.5, 1.0], [0.5, 1.0], kinks={0: (0.0, 1.0)})
    h = hints.wrong_kink(ev)
    assert h.cause == "kink"
    assert "1 entry at a kink" in h.text and "w[0]: analytic 1.5, backward 0, forward 1" in h.text
    # A failing entry away from any kink: not (only) a kink problem.
    assert hints.wrong_kink(evidence([1.5, 3.0], [0.5, 1.0], kinks={0: (0.0, 1.0)})) is None
    assert hints.wrong_kink(evidence([1.5, 1.0], [0.5, 1.0])) is None


def test_sign_flip():
    h = hints.sign_flip(evidence(-N, N))
    assert h.cause == "sign-flip" and h.detail == {"ratio": -1.0}
    assert hints.sign_flip(evidence(-N + 0.1, N)) is None


@pytest.mark.parametrize("factor, words", [(3.0, "analytic ≈ 3 × numeric (a missing 1/3"),
                                           (0.5, "analytic ≈ numeric / 2"),
                                           (-4.0, "sign and factor: analytic ≈ -4 × numeric"),
                                           (1.37, "analytic ≈ 1.37 × numeric"),
                                           (1.05, "analytic ≈ 1.05 × numeric")])
def test_constant_factor_fits_the_planted_factor(factor, words):
    h = hints.constant_factor(evidence(factor * N, N))
    assert h.cause == "factor" and words in h.text
    assert h.detail["ratio"] == pytest.approx(factor, rel=1e-12)


def test_constant_factor_does_not_apply():
    assert hints.constant_factor(evidence(N + W, N)) is None          # no common factor
    assert hints.constant_factor(evidence(N * (1 + 1e-4), N)) is None  # within 1e-3 of 1: not a factor
    assert hints.constant_factor(evidence(N, np.zeros(6))) is None


def test_constant_factor_on_one_entry_only_accepts_whole_factors():
    assert hints.constant_factor(evidence([2 * N[0]], [N[0]])).detail["ratio"] == pytest.approx(2.0)
    assert hints.constant_factor(evidence([1.37 * N[0]], [N[0]])) is None   # any two numbers have a ratio


def test_transpose_of_a_square_matrix():
    G = RNG.standard_normal((3, 3))
    h = hints.transpose(evidence(G.T.ravel(), G.ravel(), shape=(3, 3), params=np.ones(9)))
    assert h.cause == "transpose" and "analytic ≈ numericᵀ" in h.text
    assert hints.transpose(evidence(G.ravel()[::-1], G.ravel(), shape=(3, 3), params=np.ones(9))) is None


def test_transpose_reshaped_to_a_rectangle():
    G = RNG.standard_normal((4, 3))
    h = hints.transpose(evidence(G.T.reshape(4, 3).ravel(), G.ravel(), shape=(4, 3), params=np.ones(12)))
    assert h.cause == "transpose" and "the 3×4 transpose reshaped to 4×3" in h.text


def test_transpose_needs_the_whole_matrix():
    G = RNG.standard_normal((3, 3))
    sample = [0, 1, 3, 5, 7]                                       # a sampled block
    ev = evidence(G.T.ravel()[sample], G.ravel()[sample], shape=(3, 3), local=sample, params=np.ones(5))
    assert hints.transpose(ev) is None


@pytest.mark.parametrize("lam, words", [(0.3, "misses a regularization term λ·w with λ ≈ 0.3 that the loss has"),
                                        (-0.3, "has a term λ·w with λ ≈ 0.3 that the loss does not have")])
def test_l2_term_fits_the_planted_lambda(lam, words):
    h = hints.l2_term(evidence(N - lam * W, N))
    assert h.cause == "regularization" and words in h.text
    assert h.detail["lambda"] == pytest.approx(lam, rel=1e-10)


def test_l2_term_does_not_apply():
    assert hints.l2_term(evidence(N - 0.3 * np.sign(W), N)) is None    # an L1 term is not λ·w
    two_fail = evidence(N[:6] - 0.3 * W * (np.arange(6) < 2), N)         # two failures: no fit
    assert two_fail.failing.size == 2 and hints.l2_term(two_fail) is None
    # One entry off by exactly −0.3·w (the other w is 0): a wrong entry, not a pattern.
    one_fail = evidence(N[:2] - 0.3 * np.array([0.0, 1.0]), N[:2], params=[0.0, 1.0])
    assert one_fail.failing.size == 1 and hints.l2_term(one_fail) is None


def test_l1_term_fits_the_planted_lambda():
    h = hints.l1_term(evidence(N - 0.2 * np.sign(W), N))
    assert h.cause == "regularization" and h.detail["lambda_l1"] == pytest.approx(0.2, rel=1e-10)
    assert "misses the L1 term λ·sign(w) with λ ≈ 0.2" in h.text
    assert hints.l1_term(evidence(N + 0.2 * np.sign(W), N)) is None     # λ < 0: not a missing term


def test_few_entries_lists_them_by_index():
    a = np.arange(10.0) + 1
    n = a.copy()
    n[[3, 7]] += 1.0                                                     # flat 3, 7 of a 2×5 block
    h = hints.few_entries(evidence(a, n, shape=(2, 5), params=np.ones(10)))
    assert h.cause == "few-entries" and h.detail == {"entries": [[0, 3], [1, 2]]}
    assert h.text.startswith("2 wrong entries of 10, the rest agree: w[0, 3] (analytic 4, numeric 5)")


def test_few_entries_does_not_apply():
    a = np.arange(10.0) + 1
    assert hints.few_entries(evidence(a, a + (np.arange(10) < 6), params=np.ones(10))) is None   # six: too many
    assert hints.few_entries(evidence(a[:3], a[:3] + 1, params=np.ones(3))) is None              # all of them


def test_missed_by_sample():
    d = {"analytic": 2.5, "numeric": 3.0, "error_estimate": 1e-9, "ok": False}
    h = hints.missed_by_sample(evidence(N, N, directional=d))
    assert h.cause == "directional" and "(analytic 2.5, numeric 3)" in h.text
    assert hints.missed_by_sample(evidence(N, N, directional={**d, "ok": True})) is None
    assert hints.missed_by_sample(evidence(N, N)) is None
    assert hints.missed_by_sample(evidence(N + W, N, directional=d)) is None    # entries fail: not missed


def test_unknown_says_what_it_can():
    assert hints.unknown(evidence([1.5], [0.5])).text == "analytic 1.5, numeric 0.5"
    h = hints.unknown(evidence([1.0, 2.0, 3.0, 4.0], [1.0, 7.0, -1.0, 0.5], reference_kind="derived"))
    assert h.cause == "unknown" and h.text.startswith("3 of 4 entries disagree")


# --------------------------------------------------------------------------------------------
# The order, and the hints across blocks


def test_explain_tries_the_finders_in_order():
    # −n is also the factor −1: the sign flip is found first.
    assert hints.constant_factor(evidence(-N, N)) is not None
    assert hints.explain(evidence(-N, N)).cause == "sign-flip"
    # Every entry wrong, and no pattern: the last resort.
    assert hints.explain(evidence([1.0, 2.0, 3.0, 4.0], [2.0, 7.0, -1.0, 0.5])).cause == "unknown"


def test_kink_accepted_reports_the_first_kink():
    h = hints.kink_accepted("b1", 2, {"index": [0], "analytic": 0.0, "backward": 0.0, "forward": 1.0})
    assert h.cause == "kink-accepted"
    assert h.text.startswith("2 entries at a kink (ReLU, max or |·|), e.g. b1[0]: analytic 0 lies between")


def _result(name, verdict="fail", cause="unknown"):
    return BlockResult(name=name, shape=(2,), size=2, checked=2, rel_error=1.0, verdict=verdict, hint=None,
                       worst=None, n_fail=2 if verdict == "fail" else 0, cause=cause if verdict == "fail" else None)


def test_swapped_blocks_are_named():
    u, v = np.array([1.0, -2.0]), np.array([0.5, 3.0])              # the true gradients
    results = [_result("u"), _result("v")]
    evs = [evidence(v, u, name="u", params=np.ones(2)), evidence(u, v, name="v", params=np.ones(2))]
    hints.swapped(results, evs, [u, v])
    assert [(r.cause, r.detail) for r in results] == [("swapped", {"swapped_with": "v"}),
                                                      ("swapped", {"swapped_with": "u"})]


def test_swapped_needs_the_other_blocks_values():
    u, v = np.array([1.0, -2.0]), np.array([0.5, 3.0])
    results = [_result("u"), _result("v")]
    evs = [evidence(2 * u, u, name="u", params=np.ones(2)), evidence(v, v, name="v", params=np.ones(2))]
    hints.swapped(results, evs, [u, v])
    assert [r.cause for r in results] == ["unknown", "unknown"]


def test_layer_diagnosis_locates_the_backprop_step():
    results = [_result("W1"), _result("b1"), _result("W2", "pass"), _result("b2", "pass")]
    diagnosis = hints.layer_diagnosis(results)
    assert diagnosis.startswith("layer 2 is right but layer 1 is wrong")
    assert [r.cause for r in results] == ["backprop-step", "backprop-step", None, None]


@pytest.mark.parametrize("results", [
    [_result("W1"), _result("b1"), _result("W2"), _result("b2", "pass")],       # the top layer fails too
    [_result("W1", cause="factor"), _result("W2", "pass")],                     # a finder explained it
    [_result("W1"), _result("b1", cause="factor"), _result("W2", "pass")],      # one block of the layer
    [_result("W"), _result("b2", "pass")],                                      # not layer-numbered
])
def test_layer_diagnosis_does_not_apply(results):
    causes = [r.cause for r in results]
    assert hints.layer_diagnosis(results) is None
    assert [r.cause for r in results] == causes


def test_inconclusive_names_the_first_undecided_entry_and_does_not_blame_a_bug():
    ev = evidence([0.5, 0.25, 2.0], [0.5, 0.3, 2.1], shape=(3,), failing=[])
    h = hints.inconclusive(ev, np.array([1, 2]), low_precision=True)
    assert h.cause == "inconclusive" and h.detail == {"count": 2}
    assert "2 entries" in h.text and "w[1]: analytic 0.25" in h.text and "float32" in h.text
    assert "not a located bug" in h.text
