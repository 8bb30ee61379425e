"""conv and attention against independent oracles: the notes' numbers, a sliding-window count,
NumPy finite differences of a hand-written forward pass, and sympy.diff on the JSON results."""

import json

import numpy as np
import pytest
import sympy as sp
from click.testing import CliRunner

import derive
from conftest import completed
from derive.cli import cli
from derive.models import attention as att
from derive.models import conv
from derive.verify import equal

pytestmark = pytest.mark.usefixtures("shared_derivations")  # each derivation built once

NAMESPACE = {**sp.__dict__}


@pytest.fixture(scope="module")
def conv_d():
    return derive.derivation("conv")


@pytest.fixture(scope="module")
def attention_d():
    return derive.derivation("attention")


def run(*args):
    return CliRunner().invoke(cli, list(args))


def at_random(expr, rng):
    """``expr`` at random values of its symbols, and those values."""
    point = {s: float(rng.uniform(-1, 1)) for s in sorted(expr.free_symbols, key=str)}
    return float(expr.xreplace(point)), point


def values_of(names, point, shape):
    return np.array([point.get(sp.Symbol(nm), 0.0) for nm in names]).reshape(shape)


def test_the_notes_edge_detection_and_sizes(conv_d):
    # the notes print a 4 × 4 output whose middle columns are 30
    assert conv_d.result("Z (valid)").value == sp.Matrix([[0, 30, 30, 0]] * 4)
    # NumPy sliding windows of the same image and filter
    image = np.where(np.arange(6) < 3, 10, 0)[None, :].repeat(6, 0)
    filt = np.array([[1, 0, -1]] * 3)
    windows = np.lib.stride_tricks.sliding_window_view(np.pad(image, 1), (3, 3))
    same = np.einsum("ijuv,uv->ij", windows, filt)
    assert same.tolist() == conv_d.result("Z (same)").value.tolist()
    assert conv_d.result("n_Z(6, 3, 0, 1)").value == 4
    assert conv_d.result("n_Z(6, 3, 1, 1)").value == 6
    assert conv_d.result("n_Z(7, 3, 0, 2)").value == 3


@pytest.mark.parametrize("name", ["conv", "attention"])
def test_json_results_match_sympy_diff(name):
    data = json.loads(run(name, "--format", "json").output)
    derivatives = [r for r in data["results"] if "of" in r]
    assert derivatives
    for r in derivatives:
        of, wrt, value = (eval(r[key], dict(NAMESPACE)) for key in ("of", "wrt", "value"))
        assert equal(sp.diff(of, wrt), value), r["name"]


def conv_forward(Xa, Wa, ba):
    """Valid cross-correlation of Xa (C, n, n) with Wa (K, C, f, f), plus ba (K,)."""
    windows = np.lib.stride_tricks.sliding_window_view(Xa, Wa.shape[2:], axis=(1, 2))
    return np.einsum("cijuv,kcuv->kij", windows, Wa) + ba[:, None, None]


def test_conv_gradients_agree_with_finite_differences(conv_d):
    rng = np.random.default_rng(3)
    for name, entry, kind in (("dL/dX_cpq", (0, 1, 1), "X"), ("dL/dW_kcuv", (0, 1, 0, 1), "W"),
                              ("dL/db_k", (1,), "b")):
        value, point = at_random(conv_d.result(name).value, rng)
        Xa = values_of([f"X_{c}_{p}_{q}" for c in (1, 2) for p in (1, 2, 3) for q in (1, 2, 3)], point, (2, 3, 3))
        Wa = values_of([f"W_{k}_{c}_{u}_{v}" for k in (1, 2) for c in (1, 2) for u in (1, 2) for v in (1, 2)],
                       point, (2, 2, 2, 2))
        ba = values_of(["b_1", "b_2"], point, (2,))
        dZ = values_of([f"dZ_{k}_{i}_{j}" for k in (1, 2) for i in (1, 2) for j in (1, 2)], point, (2, 2, 2))
        arrays = {"X": Xa, "W": Wa, "b": ba}
        h = 1e-6
        plus, minus = {key: a.copy() for key, a in arrays.items()}, {key: a.copy() for key, a in arrays.items()}
        plus[kind][entry] += h
        minus[kind][entry] -= h
        loss = lambda a: float(np.sum(dZ * conv_forward(a["X"], a["W"], a["b"])))  # noqa: E731
        assert value == pytest.approx((loss(plus) - loss(minus)) / (2 * h), abs=1e-6), name


def test_an_unflipped_filter_is_caught():
    small = conv._Small()
    dX = sp.Derivative(conv.L, conv.X[conv.c, conv.p, conv.q], evaluate=False)
    k, c, p, q, u, v, f, K = conv.k, conv.c, conv.p, conv.q, conv.u, conv.v, conv.f, conv.K
    body = conv.dZp[k, p + u - 1, q + v - 1]
    right = sp.Sum(body * conv.Wf[k, c, u, v], (k, 1, K), (u, 1, f), (v, 1, f))
    wrong = sp.Sum(body * conv.W[k, c, u, v], (k, 1, K), (u, 1, f), (v, 1, f))
    assert equal(*small.pair(dX, right, (c, p, q), side=3))
    assert equal(*small.pair(dX, wrong, (c, p, q), side=3)) is None


def attention_loss(Q, K, V, dO):
    S = Q @ K.T / np.sqrt(Q.shape[1])
    P = np.exp(S - S.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    return float(np.sum(dO * (P @ V)))


def test_attention_gradients_agree_with_finite_differences(attention_d):
    rng = np.random.default_rng(5)
    for name, kind in (("dL/dQ", "Q"), ("dL/dK", "K"), ("dL/dV", "V")):
        value, point = at_random(attention_d.result(name).value, rng)
        arrays = {key: values_of([f"{key}_{a}_{b}" for a in (1, 2) for b in (1, 2)], point, (2, 2))
                  for key in ("Q", "K", "V", "dO")}
        h = 1e-6
        plus, minus = {key: a.copy() for key, a in arrays.items()}, {key: a.copy() for key, a in arrays.items()}
        plus[kind][0, 1] += h
        minus[kind][0, 1] -= h
        fd = (attention_loss(**plus) - attention_loss(**minus)) / (2 * h)
        assert value == pytest.approx(fd, abs=1e-6), name


def test_attention_dk_without_the_transpose_is_caught():
    small = att._Small()
    closed = small.gradient(small.L_of_S, small.Ssym).xreplace(dict(zip(small.Ssym, small.S)))
    by_diff = small.gradient(small.L, small.K)
    assert equal(by_diff, closed.T * small.Q / sp.sqrt(2))
    assert equal(by_diff, closed * small.Q / sp.sqrt(2)) is None


@pytest.mark.parametrize("args, message", [
    (["--filter", "9", "--padding", "0"], "larger than the padded image"),
    (["--stride", "0"], "--stride must be at least 1"),
])
def test_bad_conv_sizes_are_one_line_and_exit_2(args, message):
    result = completed("conv", *args)
    assert result.returncode == 2 and not result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0]
