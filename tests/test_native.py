"""The affine models' one-pass C loop (numeric.native): the numbers of the textbook NumPy
formulas for every row and feature count it may see, the same bits twice, and the NumPy blocks
whenever it cannot be built."""

import numpy as np
import pytest

import derive
import numeric
from numeric import compiled, native


@pytest.fixture
def every_x_streamed(monkeypatch):
    # every X counts as read from memory, so the compiled models take the C loop
    monkeypatch.setattr(compiled, "_STREAMED_BYTES", 0)


def _problem(name, m, f, scale=1.0):
    rng = np.random.default_rng(1000 * m + f)
    X = rng.standard_normal((m, f)) * scale
    y = (rng.random(m) < 0.5).astype(float) if name == "logistic" else rng.standard_normal(m)
    return {"w": rng.standard_normal(f), "b": np.array(0.3)}, X, y


def _plain(name, P, X, y):
    """Mean loss and gradient by the textbook formulas, all rows at once."""
    z = X @ P["w"] + P["b"]
    if name == "logistic":
        loss = np.mean(y * np.logaddexp(0, -z) + (1 - y) * np.logaddexp(0, z))
        dz = np.exp(-np.logaddexp(0, -z)) - y    # σ(z) − y, with no overflow
    else:
        loss = np.mean((z - y) ** 2)
        dz = 2 * (z - y)
    return loss, {"w": X.T @ dz / len(X), "b": dz.mean()}


# 1 feature (no vector of 8), 9 (one vector and one left), 100 (the benchmark's, 12 vectors and 4)
CASES = [("logistic", 1), ("logistic", 9), ("logistic", 100), ("linear", 13)]


@pytest.mark.parametrize("name,f", CASES)
def test_the_c_loop_gives_the_textbook_gradient_and_the_same_bits_twice(every_x_streamed, name, f):
    cm = numeric.compile_model(derive.model(name, features=f))
    for m in (1, 2, 3, 4, 101):        # fewer rows than one step, whole steps, a short last step
        P, X, y = _problem(name, m, f)
        loss, grad = cm.loss_and_grad(P, X, y)
        assert native.status()["path"] == "native", native.status()
        want_loss, want = _plain(name, P, X, y)
        assert loss == pytest.approx(want_loss, rel=1e-12)
        for key in want:
            np.testing.assert_allclose(grad[key], want[key], rtol=1e-12, atol=1e-14)
        again = cm.grad(P, X, y)
        assert all(np.array_equal(again[key], grad[key]) for key in grad)


def test_the_logistic_loop_stays_finite_where_exp_overflows(every_x_streamed):
    cm = numeric.compile_model(derive.model("logistic", features=9))
    P, X, y = _problem("logistic", 64, 9, scale=300.0)   # |z| up to thousands
    loss, grad = cm.loss_and_grad(P, X, y)
    want_loss, want = _plain("logistic", P, X, y)
    assert np.isfinite(loss) and loss == pytest.approx(want_loss, rel=1e-12)
    for key in want:
        np.testing.assert_allclose(grad[key], want[key], rtol=1e-12, atol=1e-12)


def test_without_a_compiler_the_numpy_blocks_give_the_same_gradient(every_x_streamed, monkeypatch):
    P, X, y = _problem("logistic", 101, 9)
    want_loss, want = _plain("logistic", P, X, y)
    for env, why in (({"DERIVE_NATIVE": "0"}, "DERIVE_NATIVE=0"), ({"CC": "false"}, "the C compiler failed")):
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        cm = numeric.compile_model(derive.model("logistic", features=9))
        loss, grad = cm.loss_and_grad(P, X, y)
        assert native.status()["path"] == "numpy" and native.status()["why"].startswith(why)
        assert loss == pytest.approx(want_loss, rel=1e-12)
        for key in want:
            np.testing.assert_allclose(grad[key], want[key], rtol=1e-12, atol=1e-14)
        for key in env:
            monkeypatch.delenv(key)


def test_a_library_is_named_by_its_source_and_built_once(tmp_path, monkeypatch):
    monkeypatch.setenv("DERIVE_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("DERIVE_NO_CACHE", raising=False)
    monkeypatch.setattr(native, "_folder", lambda: tmp_path / "native")
    rule = compiled.output_rule("squared")
    cc = native._compiler()
    assert cc, "no C compiler on this machine"
    first = native._build(native.affine_source(rule, 3), cc)
    stamp = first.stat().st_mtime_ns
    assert native._build(native.affine_source(rule, 3), cc) == first and first.stat().st_mtime_ns == stamp
    other = native._build(native.affine_source(rule, 4), cc)
    assert other != first
    assert sorted(p.name for p in (tmp_path / "native").iterdir()) == sorted([first.name, other.name])


def test_more_features_than_the_registers_hold_take_the_numpy_blocks():
    rule = compiled.output_rule("squared")
    assert native.affine_gradient(rule, native.MAX_FEATURES + 1) is None
    assert native.status() == {"path": "numpy", "why": f"more than {native.MAX_FEATURES} features"}


def test_a_library_that_does_not_load_is_built_again(tmp_path, monkeypatch):
    monkeypatch.setattr(native, "_folder", lambda: tmp_path / "native")
    rule = compiled.output_rule("squared")
    source, cc = native.affine_source(rule, 2), native._compiler()
    broken = native._build(source, cc)
    broken.write_bytes(b"not a library")
    fn = native._load.__wrapped__(source, cc)
    X = np.array([[1.0, 2.0], [3.0, -1.0]])
    y, w = np.array([0.5, 1.0]), np.array([0.25, -0.5])
    gw, sums = np.empty(2), np.zeros(2)
    fn(X.ctypes.data, y.ctypes.data, w.ctypes.data, 0.1, 2, gw.ctypes.data, sums.ctypes.data, 0)
    dz = 2 * (X @ w + 0.1 - y)                 # the squared error's ∂L/∂z, by hand
    np.testing.assert_allclose(gw, X.T @ dz, rtol=1e-14)
    assert sums[0] == pytest.approx(dz.sum(), rel=1e-14)
