"""The gradient checker on planted bugs: each bug class caught with the right hint, correct
gradients passing, kinks accepted, bad files refused with one line. Oracles: the bugs planted in
tests/checkgrad_cases (their constants), hand-written NumPy gradients, sympy.diff."""

import json
import os
import runpy
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import run
from derive.errors import DeriveError
from numeric.check import check_builtin, check_grad, check_model_file

ROOT = Path(__file__).resolve().parent.parent
CASES = ROOT / "tests" / "checkgrad_cases"
EXAMPLES = ROOT / "examples"


def case(name):
    return str(CASES / f"{name}.py")


def module(name):
    return runpy.run_path(case(name))


def blocks(report, comparison=0):
    return {b.name: b for b in report.comparisons[comparison].blocks}


# --------------------------------------------------------------------------------------------
# Each planted bug is caught, in its block only, with the hint that names it


def test_sign_flip():
    r = check_model_file(case("sign_flip"))
    b = blocks(r)
    assert not r.ok
    assert b["w"].verdict == "fail" and b["w"].cause == "sign-flip"
    assert b["b"].verdict == "pass"


def test_missing_one_over_m_reports_the_factor():
    m = module("missing_mean")["M"]
    r = check_model_file(case("missing_mean"))
    w = blocks(r)["w"]
    assert w.cause == "factor"
    assert w.detail["ratio"] == pytest.approx(m, rel=1e-6)
    assert f"1/{m}" in w.hint
    assert blocks(r)["b"].verdict == "pass"


def test_transpose():
    r = check_model_file(case("transpose"))
    assert blocks(r)["W1"].cause == "transpose"
    assert blocks(r)["w2"].verdict == "pass"


def test_missing_regularization_term_reports_lambda():
    lam = module("missing_l2")["LAMBDA"]
    r = check_model_file(case("missing_l2"))
    W = blocks(r)["W"]
    assert W.cause == "regularization"
    assert W.detail["lambda"] == pytest.approx(lam, rel=1e-4)
    assert blocks(r)["b"].verdict == "pass"


def test_one_wrong_entry_among_5110_is_found_and_named():
    ns = module("one_wrong_entry")
    r = check_model_file(case("one_wrong_entry"))
    assert r.n_params == 5110 and r.n_checked == 5110
    b = blocks(r)
    W1 = b["W1"]
    assert W1.verdict == "fail" and W1.n_fail == 1 and W1.cause == "few-entries"
    assert W1.detail["entries"] == [list(ns["BAD"])]
    true = ns["correct_grad"](**ns["params"])["W1"][ns["BAD"]]
    assert W1.failures[0].numeric == pytest.approx(true, rel=1e-7)
    # The norm-wise error alone is far too small to see it.
    assert W1.rel_error < 1e-2
    assert all(b[n].verdict == "pass" for n in ("b1", "W2", "b2"))


def test_wrong_bias_block_in_a_large_model():
    r = check_model_file(case("large_bias"), sample_size=200)
    assert r.n_params == 200_500 and r.n_checked < 1_000
    b = blocks(r)
    assert b["b"].verdict == "fail" and b["b"].cause == "sign-flip"
    assert b["b"].checked == 500                   # a small block is checked entirely
    assert b["W"].verdict == "pass" and b["W"].checked < b["W"].size
    assert b["W"].directional is not None and b["W"].directional["ok"]
    assert any("seed 0" in note for note in r.notes)


def test_swapped_blocks():
    r = check_model_file(case("swapped"))
    b = blocks(r)
    assert b["W1"].cause == "swapped" and b["W1"].detail["swapped_with"] == "W2"
    assert b["W2"].cause == "swapped" and b["W2"].detail["swapped_with"] == "W1"


def test_forgotten_activation_derivative_is_located_between_layers():
    r = check_model_file(EXAMPLES / "buggy_backprop.py")
    b = blocks(r)
    assert [b[n].verdict for n in ("W1", "b1", "W2", "b2")] == ["fail", "fail", "pass", "pass"]
    assert b["W1"].cause == "backprop-step"
    assert "activation derivative" in b["W1"].hint


def test_missing_l1_term_is_found_even_in_complex_mode():
    rng = np.random.default_rng(5)
    X, y, lam = rng.standard_normal((20, 4)), rng.standard_normal(20), 0.1

    def loss(v):
        return np.mean((X @ v - y) ** 2) + lam * np.sum(np.abs(v))   # abs: no complex step

    def grad(v):
        return {"v": 2 * X.T @ (X @ v - y) / 20}                     # L1 term forgotten

    r = check_grad(loss, grad, {"v": rng.standard_normal(4)}, mode="complex")
    v = blocks(r)["v"]
    assert v.cause == "regularization" and v.detail["lambda_l1"] == pytest.approx(lam, rel=1e-5)
    assert any("complex step unsafe" in n for n in r.notes)


# --------------------------------------------------------------------------------------------
# Correct gradients pass: no false alarms


def test_tiny_components_do_not_raise_false_alarms():
    ns = module("tiny_components")
    r = check_model_file(case("tiny_components"))
    assert r.ok, [b.hint for b in r.blocks]
    # The case is hard: a plain central difference of the 1e-12-scale entry is off by far more
    # than any relative tolerance would allow.
    p = dict(ns["params"])
    w = p["w"].copy()
    true = ns["grad"](**p)["w"][1]
    h = 6e-6
    w[1] += h
    fp = ns["loss"](w, p["b"], p["s"])
    w[1] -= 2 * h
    fm = ns["loss"](w, p["b"], p["s"])
    assert abs((fp - fm) / (2 * h) - true) > 1e-3 * abs(true)


@pytest.mark.parametrize("path", ["logistic_numpy.py", "sympy_model.py", "checkgrad_relu_kink.py",
                                  "checkgrad_float32.py"])
def test_correct_examples_pass(path):
    assert check_model_file(EXAMPLES / path).ok


@pytest.mark.parametrize("name, options", [("logistic", {}), ("mlp", {"hidden": 6, "features": 5}),
                                           ("mlp", {"hidden": 4, "features": 3, "activation": "relu"}),
                                           ("softmax", {"features": 4, "classes": 3})])
def test_builtin_models_pass(name, options):
    r = check_builtin(name, options=options, seed=1)
    assert r.ok, [(b.name, b.hint) for b in r.blocks]


def _smooth_problem():
    rng = np.random.default_rng(3)
    X, y = rng.standard_normal((30, 4)), rng.standard_normal(30)

    def loss(W, v, b):
        return np.mean((np.tanh(X @ W) @ v + b - y) ** 2)

    def grad(W, v, b):                      # hand-written backprop: the oracle
        H = np.tanh(X @ W)
        r = 2 * (H @ v + b - y) / 30
        return {"W": X.T @ (np.outer(r, v) * (1 - H ** 2)), "v": H.T @ r, "b": r.sum()}

    params = {"W": rng.standard_normal((4, 5)) * 0.5, "v": rng.standard_normal(5), "b": 0.3}
    return loss, grad, params


@pytest.mark.parametrize("mode, target", [("central", 1e-9), ("richardson", 1e-11), ("complex", 1e-12),
                                          ("auto", 1e-9)])
def test_accuracy_on_a_smooth_model(mode, target):
    loss, grad, params = _smooth_problem()
    r = check_grad(loss, grad, params, mode=mode)
    assert r.ok
    assert max(b.rel_error for b in r.blocks) <= target
    if mode == "complex":
        assert {b.method for b in r.blocks} == {"complex step"}


# --------------------------------------------------------------------------------------------
# Kinks: a subgradient is accepted, anything outside the one-sided derivatives is not

X_KINK = np.array([[1.0, -2.0], [0.5, 1.5], [-1.0, 0.25]])


def _relu_problem(subgradient):
    def loss(w, b):
        return float(np.sum(np.maximum(X_KINK @ w + b, 0.0)))

    def grad(w, b):
        z = X_KINK @ w + b
        d = (z > 0) + subgradient * (z == 0)
        return {"w": X_KINK.T @ d, "b": float(np.sum(d))}

    return loss, grad, {"w": np.array([0.0, 0.0]), "b": 0.0}   # every unit exactly at its kink


@pytest.mark.parametrize("subgradient", [0.0, 1.0])
def test_relu_at_zero_accepts_every_subgradient(subgradient):
    r = check_grad(*_relu_problem(subgradient))
    assert r.ok
    assert {b.verdict for b in r.blocks} == {"kink-accepted"}
    assert "subgradient" in r.blocks[0].hint


def test_relu_at_zero_with_slope_one_half_is_what_central_differences_see():
    r = check_grad(*_relu_problem(0.5))
    assert r.ok and {b.verdict for b in r.blocks} == {"pass"}


@pytest.mark.parametrize("subgradient", [-0.5, 1.5])
def test_relu_at_zero_rejects_a_value_outside_the_one_sided_derivatives(subgradient):
    r = check_grad(*_relu_problem(subgradient))
    assert not r.ok
    assert blocks(r)["b"].cause == "kink"


@pytest.mark.parametrize("at_zero, ok", [(1.0, True), (-1.0, True), (2.0, False)])
def test_abs_at_zero(at_zero, ok):
    def grad(v):
        g = np.sign(v)
        g[v == 0] = at_zero
        return {"v": g}

    r = check_grad(lambda v: float(np.sum(np.abs(v))), grad, {"v": np.array([0.0, 1.5, -2.0])})
    assert r.ok is ok
    assert blocks(r)["v"].n_kink == (1 if ok else 0)


def test_abs_at_zero_with_sign_zero_passes_outright():
    r = check_grad(lambda v: float(np.sum(np.abs(v))), lambda v: {"v": np.sign(v)}, {"v": np.array([0.0, 1.5])})
    assert r.ok and blocks(r)["v"].verdict == "pass"


def test_kink_example_says_it_accepted_a_kink():
    r = check_model_file(EXAMPLES / "checkgrad_relu_kink.py")
    assert blocks(r)["b1"].verdict == "kink-accepted"
    assert blocks(r)["b1"].kinks[0]["index"] == [0]


# --------------------------------------------------------------------------------------------
# float32


def test_float32_model_passes_and_says_so():
    r = check_model_file(case("float32_model"))
    assert r.ok
    notes = " ".join(r.notes)
    assert "float32" in notes and "cast up" in notes and "widened" in notes


def test_float32_bug_is_still_caught():
    ns = module("float32_model")

    def grad(w, b):
        g = ns["grad"](w, b)
        return {"w": 2 * g["w"], "b": g["b"]}

    r = check_grad(ns["loss"], grad, ns["params"])
    w = blocks(r)["w"]
    assert w.cause == "factor" and w.detail["ratio"] == pytest.approx(2, rel=1e-3)
    assert blocks(r)["b"].verdict == "pass"


# --------------------------------------------------------------------------------------------
# SymPy form


SYMPY_BUGGY = '''
import sympy as sp
from derive.functions import sigmoid
w, b, x, y = sp.symbols("w b x y", real=True)
a = sigmoid(w * x + b)
loss = -(y * sp.log(a) + (1 - y) * sp.log(1 - a))
params = {"w": 0.7, "b": -0.2}
data = {"x": [1.0, -2.0, 0.5, 3.0], "y": [1, 0, 0, 1]}
grad = {"w": (a - y) * x, "b": y - a}       # the b entry has its sign flipped
'''


def test_sympy_form_with_a_buggy_hand_written_gradient(tmp_path):
    path = tmp_path / "model.py"
    path.write_text(SYMPY_BUGGY)
    r = check_model_file(path)
    titles = [c.title for c in r.comparisons]
    assert titles == ["derived gradient vs finite differences", "your grad vs finite differences",
                      "your grad vs derived gradient"]
    derived, yours_fd, yours_derived = r.comparisons
    assert derived.ok
    assert {b.name: b.verdict for b in yours_fd.blocks} == {"w": "pass", "b": "fail"}
    assert {b.name: b.verdict for b in yours_derived.blocks} == {"w": "pass", "b": "fail"}
    assert blocks(r, 1)["b"].cause == "sign-flip" and blocks(r, 2)["b"].cause == "sign-flip"


def test_sympy_form_numbers_match_sympy_diff(tmp_path):
    import sympy as sp

    path = tmp_path / "model.py"
    path.write_text(SYMPY_BUGGY)
    r = check_model_file(path)
    w, b, x, y = sp.symbols("w b x y", real=True)
    loss = sp.log(1 + sp.exp(-(w * x + b))) * y + sp.log(1 + sp.exp(w * x + b)) * (1 - y)
    xs, ys = [1.0, -2.0, 0.5, 3.0], [1, 0, 0, 1]
    for name, sym in (("w", w), ("b", b)):
        true = sum(float(sp.diff(loss, sym).subs({w: 0.7, b: -0.2, x: xi, y: yi})) for xi, yi in zip(xs, ys)) / 4
        entry = blocks(r, 0)[name].worst
        assert entry.analytic == pytest.approx(true, rel=1e-12)
        assert entry.numeric == pytest.approx(true, rel=1e-9)


def test_sympy_form_missing_symbol_is_a_usage_error(tmp_path):
    path = tmp_path / "model.py"
    path.write_text("import sympy as sp\nw, x = sp.symbols('w x')\nloss = (w * x - 1) ** 2\nparams = {'w': 0.5}\n")
    with pytest.raises(DeriveError, match="no value: x"):
        check_model_file(path)


# --------------------------------------------------------------------------------------------
# Bad input: exit 2, one line on stderr, never a traceback


@pytest.mark.parametrize(
    "name, expected",
    [
        ("bad_syntax", "bad_syntax.py: line 3: SyntaxError"),
        ("bad_no_loss", "no `loss`"),
        ("bad_no_grad", "no `grad`"),
        ("bad_no_params", "no `params`"),
        ("bad_params_text", "params['w']"),
        ("bad_grad_names", "'dw', which is not in params"),
        ("bad_grad_shape", "transposed"),
        ("bad_loss_raises", "loss raised ValueError (line 4)"),
        ("bad_loss_array", "must return a scalar"),
        ("bad_loss_nan", "nan"),
        ("bad_import_raises", "line 3: FileNotFoundError"),
        ("nondeterministic", "loss is not deterministic (dropout or unseeded randomness?)"),
    ],
)
def test_bad_files_exit_2_with_one_line(name, expected):
    code, out, err = run("check-grad", case(name))
    assert code == 2
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("derive: error: ")
    assert expected in lines[0]
    assert "Traceback" not in err


def test_loss_that_changes_its_arguments_is_refused():
    def loss(w):
        w += 1.0
        return float(w.sum())

    with pytest.raises(DeriveError, match="in place"):
        check_grad(loss, lambda w: {"w": np.ones(2)}, {"w": np.zeros(2)})


def test_usage_errors():
    assert run("check-grad")[0] == 2
    assert run("check-grad", EXAMPLES / "logistic_numpy.py", "--model", "mlp")[0] == 2
    assert run("check-grad", "--model", "mlp", "--hidden", "0")[0] == 2
    assert run("check-grad", CASES / "no_such_file.py")[0] == 2


# --------------------------------------------------------------------------------------------
# The command


def test_cli_exit_codes_and_plain_output():
    code, out, err = run("check-grad", EXAMPLES / "logistic_numpy.py")
    assert code == 0 and "OK" in out and "\x1b[" not in out
    code, out, err = run("check-grad", EXAMPLES / "buggy_backprop.py")
    assert code == 1 and "FAIL: 2 of 4 blocks" in out
    for name in ("W1", "b1", "W2", "b2"):                     # never stops at the first failure
        assert f"  {name} " in out


def test_cli_json_is_machine_readable_and_deterministic():
    args = ("check-grad", EXAMPLES / "buggy_backprop.py", "--json", "--seed", "3")
    code, out1, _ = run(*args)
    _, out2, _ = run(*args)
    assert code == 1 and out1 == out2
    data = json.loads(out1)
    assert data["ok"] is False and data["seed"] == 3
    verdicts = {b["name"]: b["verdict"] for b in data["comparisons"][0]["blocks"]}
    assert verdicts == {"W1": "fail", "b1": "fail", "W2": "pass", "b2": "pass"}


def test_cli_builtin_model_prints_the_seed():
    code, out, err = run("check-grad", "--model", "logistic", "--features", "3", "--seed", "7")
    assert code == 0
    assert "seed 7" in out and "seed 7" in err


def test_subprocess_entry_point_never_shows_a_traceback():
    env = {**os.environ, "NO_COLOR": "1"}
    bad = subprocess.run([sys.executable, "-m", "derive", "check-grad", case("bad_syntax")],
                         capture_output=True, text=True, env=env, cwd=ROOT)
    assert bad.returncode == 2 and bad.stdout == ""
    assert len(bad.stderr.splitlines()) == 1 and "Traceback" not in bad.stderr
    buggy = subprocess.run([sys.executable, "-m", "derive", "check-grad", "examples/buggy_backprop.py"],
                           capture_output=True, text=True, env=env, cwd=ROOT)
    assert buggy.returncode == 1 and "activation derivative" in buggy.stdout


# --------------------------------------------------------------------------------------------
# Course-style code (tests/checkgrad_cases): float32 ReLU nets, a char-RNN with a `data` string


def test_float32_relu_net_near_kinks_is_not_a_false_alarm():
    # Many ReLU inputs lie within float32's finite-difference step of zero; a correct gradient
    # must not be reported as a located bug.
    r = check_model_file(case("fc_net_float32"))
    assert r.ok
    assert all(b.verdict in ("pass", "kink-accepted", "inconclusive") for b in r.blocks)
    assert not any(b.cause in ("backprop-step", "few-entries", "unknown") for b in r.blocks)


def test_float32_relu_net_with_a_forgotten_relu_derivative_still_fails_in_layer_1():
    ns = module("fc_net_float32")

    def grad(**p):
        g = ns["grad"](**p)
        X, W1 = ns["X"], np.asarray(p["W1"], np.float32)
        h1 = np.maximum(0, X @ W1 + np.asarray(p["b1"], np.float32))
        a2 = h1 @ np.asarray(p["W2"], np.float32) + np.asarray(p["b2"], np.float32)
        _, dscores = ns["softmax_loss"](np.maximum(0, a2) @ np.asarray(p["W3"], np.float32)
                                        + np.asarray(p["b3"], np.float32), ns["y"])
        dh1 = ((dscores @ np.asarray(p["W3"], np.float32).T) * (a2 > 0)) @ np.asarray(p["W2"], np.float32).T
        g["W1"] = X.T @ dh1 + ns["reg"] * W1       # the ReLU derivative of layer 1 is left out
        g["b1"] = dh1.sum(axis=0)
        return g

    r = check_grad(ns["loss"], grad, ns["params"])
    b = blocks(r)
    assert {n for n in b if b[n].verdict == "fail"} == {"W1", "b1"}
    assert "layer 2 is right but layer 1 is wrong" in r.comparisons[0].diagnosis


def test_a_module_level_data_string_does_not_make_a_numpy_file_sympy(capsys):
    code, out, _ = run("check-grad", case("char_rnn_step"))
    assert code == 0 and out.rstrip().endswith("OK: every block passes")


def test_bptt_without_the_carried_gradient_is_named():
    ns = module("char_rnn_step")
    r = check_grad(ns["loss"], lambda **p: ns["loss_fun"](carry=False, **p)[1], ns["params"])
    b = blocks(r)
    assert b["Why"].verdict == "pass" and b["by"].verdict == "pass"     # the output layer has no carry
    for name in ("Wxh", "Whh", "bh"):
        assert b[name].cause == "bptt-carry" and "probably, not certainly" in b[name].hint


def test_bias_summed_over_the_wrong_axis_is_not_called_transposed(tmp_path):
    # Columns are examples (Z = W·X + b, b of shape (n, 1)); with as many examples as units, a sum
    # over axis 0 gives a (1, n) row, the shape of the transpose.
    path = tmp_path / "bias_axis.py"
    path.write_text(
        "import numpy as np\n"
        "X = np.arange(12.0).reshape(3, 4) / 10\n"
        "params = {'W': np.full((4, 3), 0.1), 'b': np.full((4, 1), 0.1)}\n"
        "def loss(W, b):\n    return float(np.sum((W @ X + b) ** 2) / 2)\n"
        "def grad(W, b):\n    dZ = W @ X + b\n"
        "    return {'W': dZ @ X.T, 'b': np.sum(dZ, axis=0, keepdims=True)}\n")
    with pytest.raises(DeriveError, match="summed over the wrong axis") as exc:
        check_model_file(path)
    assert "transposed" not in str(exc.value) and "(1, 4)" in str(exc.value)


def course(name):
    return str(CASES / "course" / f"{name}.py")


def test_course_l_layer_imports_its_folder_and_reads_dW_keys(capsys):
    code, out, err = run("check-grad", course("l_layer"))
    assert code == 0 and out.rstrip().endswith("OK: every block passes")
    assert "ignored: dA0, dA1, dA2, dZ1, dZ2, dZ3" in err


def test_a_sign_error_at_the_output_is_located_at_the_output(monkeypatch):
    monkeypatch.syspath_prepend(str(CASES / "course"))
    ns = runpy.run_path(course("l_layer"))

    def grad(**p):
        AL, caches = ns["forward"](p)
        return ns["backward"](AL, caches, p, sign_at_output=-1)

    r = check_grad(ns["loss"], grad, ns["params"])
    assert {b.cause for b in r.blocks} == {"sign-flip"}
    assert "enters at the output" in r.comparisons[0].diagnosis and "dA3" in r.comparisons[0].diagnosis


def test_loss_returning_loss_and_grads_needs_no_grad():
    r = check_model_file(course("softmax_pair"))
    assert r.ok and [b.name for b in r.blocks] == ["W"]
    ns = runpy.run_path(course("softmax_pair"))
    value, grads = ns["loss"](ns["params"]["W"])
    # An independent oracle: a central difference by hand, its step wide for float32's rounding.
    W = ns["params"]["W"].astype(np.float64)
    E = np.zeros_like(W)
    E[2, 1] = 2e-2
    fd = (ns["loss"](W + E)[0] - ns["loss"](W - E)[0]) / 4e-2
    assert grads["W"][2, 1] == pytest.approx(fd, rel=1e-2)
    assert blocks(r)["W"].worst is not None
