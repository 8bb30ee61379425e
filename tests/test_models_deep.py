"""The L-layer network ``deep``: its options, its derivation's general layer against sympy.diff,
its compiled gradient against hand-written NumPy of the notes' backward pass (itself checked by
central differences), training on the digits against ``mlp``, and a planted L-layer bug caught by
the gradient checker."""

from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

import derive
import numeric
from derive.cli import main
from derive.verify import numerically_equal
from numeric.check import check_grad, check_model_file
from numeric.training import train_model

pytestmark = pytest.mark.usefixtures("shared_derivations")  # each derivation built once

CASE = Path(__file__).parent / "checkgrad_cases" / "wrong_layer_gprime.py"


@lru_cache(maxsize=None)
def derivation(activation="relu"):
    return derive.model("deep", activation=activation).derivation()


def run(capsys, *argv):
    with pytest.raises(SystemExit) as exc:
        main(list(argv))
    out, err = capsys.readouterr()
    return exc.value.code, out, err


@pytest.mark.parametrize("layers", ["", " ", "64,,10", "0,10", "64,-3,10", "a,b", "64,1.5,10", "64", "64,1"])
def test_bad_layers_exit_2_with_one_line(capsys, layers):
    code, out, err = run(capsys, "deep", "--layers", layers)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "--layers" in err and "Traceback" not in err


def test_layers_are_kept_in_normal_form_and_shape_the_network():
    model = derive.model("deep", layers=" 64, 20,10 ")
    assert model.layers == "64,20,10"
    net = model.network()
    assert net.features == 64 and [layer.units for layer in net.layers] == [20, 10]
    assert net.param_shapes() == {"W1": (64, 20), "b1": (20,), "W2": (20, 10), "b2": (10,)}


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_index_form_results_are_sympy_diff_of_the_loss(activation):
    d = derivation(activation)
    assert len(d.results) >= 7   # (verify() re-checks every line and result in test_models)
    for r in d.results:
        assert numerically_equal(sp.diff(r.of, r.wrt), r.value), r.name


def test_the_general_lines_name_the_notes_backward_pass():
    text = str(derivation())
    for line in ("dZ[l] = dA[l] ⊙ D[l]", "dW[l] = (1/m)·dZ[l]·A[l−1]ᵀ", "dA[l−1] = W[l]ᵀ·dZ[l]",
                 "Z[l] = W[l]·A[l−1] + b[l]", "cache[l]: its input A[l−1]"):
        assert line in text, line


def hand_backward(P, X, y, layers):
    """The notes' L-layer backward pass in NumPy (examples as rows, ReLU, softmax)."""
    m = X.shape[0]
    A, caches = X, []
    for l in range(1, layers + 1):
        Z = A @ P[f"W{l}"] + P[f"b{l}"]
        caches.append((A, Z))
        A = np.maximum(Z, 0) if l < layers else Z
    p = np.exp(A - A.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    loss = -np.mean(np.log(p[np.arange(m), y]))
    p[np.arange(m), y] -= 1
    dZ, grads = p / m, {}
    for l in range(layers, 0, -1):
        A_prev, _ = caches[l - 1]
        grads[f"W{l}"], grads[f"b{l}"] = A_prev.T @ dZ, dZ.sum(axis=0)
        if l > 1:
            dZ = (dZ @ P[f"W{l}"].T) * (caches[l - 2][1] > 0)
    return loss, grads


def test_compiled_gradient_is_the_notes_backward_pass():
    cm = numeric.compile_model(derive.model("deep", layers="6,5,4,3"))
    rng = np.random.default_rng(3)
    P = cm.init_params(1)
    X, y = rng.standard_normal((9, 6)), rng.integers(0, 3, 9)
    loss, grads = cm.loss_and_grad(P, X, y)
    hand_loss, hand = hand_backward(P, X, y, 3)
    assert loss == pytest.approx(hand_loss, rel=1e-12)
    for k in hand:
        np.testing.assert_allclose(grads[k], hand[k], rtol=1e-10, atol=1e-13)
    # the hand-written pass itself against central differences of the compiled loss
    h = 1e-6
    for name in ("W1", "b2", "W3"):
        flat = P[name].reshape(-1)
        for i in range(0, flat.size, max(1, flat.size // 4)):
            up, down = {k: v.copy() for k, v in P.items()}, {k: v.copy() for k, v in P.items()}
            up[name].reshape(-1)[i] += h
            down[name].reshape(-1)[i] -= h
            fd = (cm.loss(up, X, y) - cm.loss(down, X, y)) / (2 * h)
            assert hand[name].reshape(-1)[i] == pytest.approx(fd, abs=1e-7)


def test_deep_trains_at_least_as_well_as_mlp_on_the_digits():
    deep, mlp = train_model("deep"), train_model("mlp")
    assert deep.metrics()["val_accuracy"] >= mlp.metrics()["val_accuracy"] >= 0.9


def test_check_grad_of_the_builtin_model_passes(capsys):
    code, out, _ = run(capsys, "check-grad", "--model", "deep", "--layers", "8,6,5,3")
    assert code == 0 and "OK" in out


def test_planted_bug_g_prime_of_the_wrong_layer_is_caught():
    r = check_model_file(str(CASE))
    blocks = {b.name: b for b in r.comparisons[0].blocks}
    assert not r.ok
    assert blocks["W3"].verdict == "pass" and blocks["b3"].verdict == "pass"
    assert all(blocks[k].verdict == "fail" for k in ("W2", "b2", "W1", "b1"))


def test_the_planted_bug_fixed_passes():
    """The case is sharp: with g′ at each layer's own Z the same checker passes it."""
    import runpy

    case = runpy.run_path(str(CASE))
    case["grad"].__globals__["WRONG"] = None
    r = check_grad(case["loss"], case["grad"], case["params"])
    assert r.ok
