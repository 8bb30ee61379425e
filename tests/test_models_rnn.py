"""The recurrent network ``rnn``: its derivation against sympy.diff, its network's loss against
the derivation's written-out instance, its compiled gradient against back-propagation through time
written by hand in NumPy (itself checked by central differences), training on the shipped text to
the stated loss, gradient clipping, bad options, and the planted BPTT bug caught by the checker."""

import math
import runpy
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

import derive
import numeric
from conftest import run
from derive.network import TEXT_ALPHABET, Dense, Network, Param, Recurrent, Training
from derive.verify import numerically_equal
from numeric.check import check_grad, check_model_file
from numeric.training import train, train_model
from test_network import _Described

pytestmark = pytest.mark.usefixtures("shared_derivations")  # each derivation built once

CASE = Path(__file__).parent / "checkgrad_cases" / "rnn_carry_dropped.py"


@lru_cache(maxsize=None)
def derivation():
    return derive.model("rnn").derivation()


def test_results_are_sympy_diff_of_the_loss():
    # (every line and result is re-checked by verify() in test_models, for every model)
    assert len(derivation().results) == 10
    for r in derivation().results:
        assert numerically_equal(sp.diff(r.of, r.wrt), r.value), r.name


def test_the_lines_read_as_the_notes_bptt():
    text = str(derivation())
    # the scalar line keeps the order of the chain rule above it (∂L/∂o⟨t⟩·∂o⟨t⟩/∂a⟨t⟩ + …)
    for line in ("z⟨t⟩ = w_aa·a⟨t−1⟩ + w_ax·x⟨t⟩ + b_a", "= do⟨t⟩·w_ya + dz⟨t+1⟩·w_aa",
                 "∂L/∂w_aa = dz⟨2⟩·a⟨1⟩ + dz⟨3⟩·a⟨2⟩", "da⟨t⟩ = W_yaᵀ·do⟨t⟩ + W_aaᵀ·dz⟨t+1⟩",
                 "dW_aa = Σ_{t=1..T} dz⟨t⟩·a⟨t−1⟩ᵀ"):
        assert line in text, line
    # the carried term is written out as the notes write it; the program's name stays in the code
    assert "da_next" not in text


# ---------------------------------------------------------------------------------------------
# The compiled gradient


def small_network(units=3, vocabulary=4, steps=5):
    cell = Recurrent(units, Param("W_aa", "W_aa_{o}_{i}"), Param("W_ax", "W_ax_{o}_{i}"), Param("b_a", "b_a_{o}"),
                     inputs=vocabulary)
    out = Dense(vocabulary, Param("W_ya", "W_ya_{o}_{i}"), Param("b_y", "b_y_{o}"), layout="out,in")
    return Network(steps, (cell, out), "softmax-cross-entropy", Training("text", lr=0.1, epochs=1, optimizer="sgd"))


def hand_bptt(P, X, y):
    """The notes' BPTT, one sequence at a time, as a student writes it (a⟨0⟩ = 0; the mean
    per character over the rows)."""
    m, T = X.shape
    targets = np.concatenate([X[:, 1:], y[:, None]], axis=1)
    grads = {k: np.zeros_like(v) for k, v in P.items()}
    total = 0.0
    for i in range(m):
        acts, probs = [np.zeros(P["W_aa"].shape[0])], []
        for t in range(T):
            acts.append(np.tanh(P["W_aa"] @ acts[-1] + P["W_ax"][:, X[i, t]] + P["b_a"]))
            o = P["W_ya"] @ acts[-1] + P["b_y"]
            p = np.exp(o - o.max())
            probs.append(p / p.sum())
            total -= math.log(probs[-1][targets[i, t]])
        da_next = np.zeros_like(acts[0])
        for t in reversed(range(T)):
            dy = probs[t].copy()
            dy[targets[i, t]] -= 1
            grads["W_ya"] += np.outer(dy, acts[t + 1])
            grads["b_y"] += dy
            dz = (P["W_ya"].T @ dy + da_next) * (1 - acts[t + 1] ** 2)
            grads["W_aa"] += np.outer(dz, acts[t])
            grads["W_ax"][:, X[i, t]] += dz
            grads["b_a"] += dz
            da_next = P["W_aa"].T @ dz
    return total / (m * T), {k: g / (m * T) for k, g in grads.items()}


def test_compiled_gradient_is_hand_written_bptt():
    cm = numeric.compile_model(_Described(small_network()))
    rng = np.random.default_rng(5)
    P = cm.init_params(2)
    X, y = rng.integers(0, 4, (7, 5)), rng.integers(0, 4, 7)
    loss, grads = cm.loss_and_grad(P, X, y)
    hand_loss, hand = hand_bptt(P, X, y)
    assert loss == pytest.approx(hand_loss, rel=1e-12)
    assert list(grads) == ["W_aa", "W_ax", "b_a", "W_ya", "b_y"]
    for k in hand:
        np.testing.assert_allclose(grads[k], hand[k], rtol=1e-10, atol=1e-14, err_msg=k)
    # the hand-written pass itself against central differences of its own loss
    h = 1e-6
    for name in ("W_aa", "W_ax", "b_a"):
        flat = P[name].reshape(-1)
        for j in range(0, flat.size, 3):
            up, down = ({k: v.copy() for k, v in P.items()} for _ in range(2))
            up[name].reshape(-1)[j] += h
            down[name].reshape(-1)[j] -= h
            fd = (hand_bptt(up, X, y)[0] - hand_bptt(down, X, y)[0]) / (2 * h)
            assert hand[name].reshape(-1)[j] == pytest.approx(fd, abs=1e-8)


def test_network_loss_is_the_derivations_written_out_instance():
    """The network's L (n_a = n_x = n_y = 2, T = 3) equals the loss the derivation's matrix lines
    are checked on, with x⟨t⟩ one-hot; the compiled mean per character is L/T."""
    from derive.models.rnn import _explicit

    e = _explicit()
    net = small_network(units=2, vocabulary=2, steps=3)
    targets = [int((t + 1) % 2) for t in range(3)]     # _explicit's y⟨t⟩: 1, 0, 1
    codes = [0, *targets[:-1]]                         # so that x⟨t+1⟩ = y⟨t⟩, as in the text
    given = {}
    for t, c in enumerate(codes, 1):
        given.update({sp.Symbol(f"x{t}_{i}"): int(i - 1 == c) for i in (1, 2)})
        given.update({sp.Symbol(f"y{t}_{o}"): int(o - 1 == targets[t - 1]) for o in (1, 2)})
    ours = net.loss_expr().xreplace(given)
    theirs = e["L"].xreplace(given)
    assert ours.free_symbols == theirs.free_symbols
    assert numerically_equal(ours, theirs, points=3)
    cm = numeric.compile_model(_Described(net))
    P = cm.init_params(3)
    point = {sp.Symbol(f"{name}_{p + 1}_{q + 1}" if P[name].ndim == 2 else f"{name}_{p + 1}"): float(P[name][p, q] if P[name].ndim == 2 else P[name][p])
             for name in P for p in range(P[name].shape[0]) for q in range(P[name].shape[1] if P[name].ndim == 2 else 1)}
    value = cm.loss(P, np.array([codes]), np.array([targets[-1]]))
    assert float(ours.xreplace(point)) / 3 == pytest.approx(value, rel=1e-12)


def test_check_grad_of_the_builtin_model_passes():
    out = run("check-grad", "--model", "rnn", "--hidden", "4", "--seq-length", "4")
    assert out.code == 0 and "OK: every block passes" in out.out


def test_planted_bug_the_dropped_carry_is_caught_and_named():
    r = check_model_file(str(CASE))
    blocks = {b.name: b for b in r.comparisons[0].blocks}
    assert not r.ok
    assert blocks["W_ya"].verdict == "pass" and blocks["b_y"].verdict == "pass"
    for name in ("W_aa", "W_ax", "b_a"):
        assert blocks[name].cause == "bptt-carry" and "step t+1" in blocks[name].hint


def test_the_planted_bug_fixed_passes():
    case = runpy.run_path(str(CASE))
    case["grad"].__globals__["CARRY"] = True
    assert check_grad(case["loss"], case["grad"], case["params"]).ok


# ---------------------------------------------------------------------------------------------
# Training


@lru_cache(maxsize=None)
def trained():
    return train_model("rnn", epochs=5, hidden=32)


def test_five_epochs_bring_the_loss_per_character_below_2_4():
    """The stated level: after 5 epochs (32 units) the mean loss per character on the text is below
    2.4 nats, two thirds of log 35 = 3.56, the loss of a uniform guess over the alphabet."""
    r = trained()
    assert r.history.initial_loss == pytest.approx(math.log(len(TEXT_ALPHABET)), abs=0.1)
    assert r.metrics()["loss"] < 2.4
    assert r.metrics()["val_loss"] < 2.6


def test_the_report_states_the_clipping_and_prints_a_deterministic_sample():
    r = trained()
    report = r.report()
    assert "gradient clipped to norm 5" in report
    sample = next(line for line in report.splitlines() if line.startswith("sample"))
    assert sample.startswith("sample    'first citizen: ") and len(sample) > 120
    assert set(sample[11:-1]) <= set(TEXT_ALPHABET)
    assert r.compiled.sample(r.params, "first citizen: ", 120) in sample


def test_clipping_scales_a_large_gradient_to_the_stated_norm():
    class Quadratic:                 # L = ½‖θ‖², gradient θ: norm 5 at θ = (3, 4)
        def loss(self, p, X, y):
            return float(0.5 * p["t"] @ p["t"])

        def grad(self, p, X, y):
            return {"t": p["t"].copy()}

    X, y = np.zeros((2, 1)), np.zeros(2)
    h = train(Quadratic(), {"t": np.array([3.0, 4.0])}, X, y, lr=0.1, epochs=1, clip=1.0)
    np.testing.assert_allclose(h.params["t"], [3.0 - 0.1 * 0.6, 4.0 - 0.1 * 0.8])
    assert h.settings["clip"] == 1.0
    h = train(Quadratic(), {"t": np.array([0.3, 0.4])}, X, y, lr=0.1, epochs=1, clip=1.0)
    np.testing.assert_allclose(h.params["t"], [0.27, 0.36])      # norm 0.5: left as it is


@pytest.mark.parametrize("argv", [("rnn", "--seq-length", "1"), ("train", "rnn", "--seq-length", "1"),
                                  ("rnn", "--hidden", "0"), ("train", "rnn", "--hidden", "0"),
                                  ("check-grad", "--model", "rnn", "--seq-length", "0")])
def test_bad_sizes_exit_2_with_one_line(argv):
    out = run(*argv)
    assert out.code == 2 and out.out == ""
    assert out.err.count("\n") == 1 and "Traceback" not in out.err
    assert ("--seq-length must be at least 2" in out.err) or ("--hidden must be at least 1" in out.err)


def test_the_pictures_of_a_character_model_are_its_text_and_its_guesses():
    """Not a 35 × 35 confusion matrix of codes: samples, and the next-character guesses on held-out
    windows, each guess the argmax of a hand-written forward pass, and as many marked right as the
    accuracy counts."""
    from numeric import plots

    r = trained()
    P = r.params
    X, y = r.data.X_val[:3].astype(int), r.data.y_val[:3].astype(int)
    pairs = plots.guesses(r)
    right = 0
    for (text, guess), row, last in zip(pairs, X, y):
        a, expected = np.zeros(P["b_a"].shape), ""
        for code in row:
            a = np.tanh(P["W_aa"] @ a + P["W_ax"][:, code] + P["b_a"])
            expected += TEXT_ALPHABET[int(np.argmax(P["W_ya"] @ a + P["b_y"]))]
        assert guess == expected
        assert text == "".join(TEXT_ALPHABET[c] for c in (*row, last))
        right += sum(g == t for g, t in zip(guess, text[1:]))
    assert right / (3 * X.shape[1]) == pytest.approx(r.compiled.accuracy(P, X, y))
    before, after = plots.samples(r)
    assert before.startswith("first citizen: ") and after in r.report() and before != after
    shown = plots.terminal(r)
    assert "confusion" not in shown and all(f"text   {text}" in shown for text, _ in pairs)
    assert f"{right} of {3 * X.shape[1]} right" in shown
