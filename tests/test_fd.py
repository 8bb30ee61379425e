"""Finite differences against independent oracles: sympy.diff evaluated, closed-form derivatives."""

import warnings

import numpy as np
import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from numeric import fd

x_sym, y_sym = sp.symbols("x y", real=True)

# Smooth building blocks whose values stay moderate on [-2, 2]: the property is about the error
# estimate, not about overflow.
UNARY = [sp.sin, sp.cos, sp.tanh, lambda e: sp.exp(sp.sin(e)), lambda e: sp.log(1 + e ** 2),
         lambda e: sp.sqrt(1 + e ** 2), lambda e: e ** 2, lambda e: e ** 3 / 3, lambda e: sp.atan(e)]


@st.composite
def smooth_expr(draw, variables, depth=3):
    if depth == 0 or draw(st.integers(0, 3)) == 0:
        leaf = draw(st.sampled_from(variables))
        return draw(st.sampled_from([1, 2, -1, sp.Rational(1, 2)])) * leaf + draw(st.sampled_from([0, 1, -sp.Rational(1, 3)]))
    kind = draw(st.integers(0, 2))
    if kind == 0:
        return draw(st.sampled_from(UNARY))(draw(smooth_expr(variables, depth - 1)))
    left = draw(smooth_expr(variables, depth - 1))
    right = draw(smooth_expr(variables, depth - 1))
    return left + right if kind == 1 else left * right


def _as_function(expr, variables):
    f = sp.lambdify(variables, expr, modules="numpy")
    return lambda v: float(f(*v))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expr=smooth_expr([x_sym]), x0=st.floats(-2, 2))
def test_central_error_estimate_brackets_the_true_derivative_univariate(expr, x0):
    f = _as_function(expr, [x_sym])
    true = float(sp.diff(expr, x_sym).subs(x_sym, x0).evalf(30))
    r = fd.central(f, np.array([x0]))
    scale = max(1.0, abs(true), abs(f(np.array([x0]))))
    assert abs(r.value[0] - true) <= max(10 * r.error[0], 1e-8 * scale)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expr=smooth_expr([x_sym, y_sym]), x0=st.floats(-2, 2), y0=st.floats(-2, 2))
def test_central_error_estimate_brackets_the_true_gradient_multivariate(expr, x0, y0):
    f = _as_function(expr, [x_sym, y_sym])
    point = {x_sym: x0, y_sym: y0}
    true = np.array([float(sp.diff(expr, s).subs(point).evalf(30)) for s in (x_sym, y_sym)])
    r = fd.central(f, np.array([x0, y0]))
    scale = max(1.0, float(np.max(np.abs(true))), abs(f(np.array([x0, y0]))))
    assert np.all(np.abs(r.value - true) <= np.maximum(10 * r.error, 1e-8 * scale))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expr=smooth_expr([x_sym]), x0=st.floats(-2, 2))
def test_richardson_error_estimate_brackets_the_true_derivative(expr, x0):
    f = _as_function(expr, [x_sym])
    true = float(sp.diff(expr, x_sym).subs(x_sym, x0).evalf(30))
    r = fd.richardson(f, np.array([x0]))
    scale = max(1.0, abs(true), abs(f(np.array([x0]))))
    assert abs(r.value[0] - true) <= max(10 * r.error[0], 1e-10 * scale)


def test_relative_step_is_cube_root_of_eps_times_magnitude():
    h = fd.relative_step(np.array([0.0, 0.5, -300.0]))
    c = np.finfo(float).eps ** (1 / 3)
    np.testing.assert_allclose(h, [c, c, 300 * c])


def test_central_two_call_form_uses_the_third_derivative_bound():
    # f = x³: D(h) − f' = h² exactly (f''' = 6), so the truncation bound 6·h²/6 is attained.
    f = lambda v: float(v[0] ** 3)
    h = 1e-3
    r = fd.central(f, np.array([1.0]), h=h, third=6.0)
    assert abs(r.value[0] - 3.0) == pytest.approx(h ** 2, rel=1e-6)
    assert r.error[0] >= abs(r.value[0] - 3.0)


def test_restores_the_point_even_when_f_raises():
    x = np.array([1.0, 2.0, 3.0])
    calls = []

    def f(v):
        calls.append(v.copy())
        if len(calls) == 3:
            raise RuntimeError("boom")
        return float(v.sum())

    with pytest.raises(RuntimeError):
        fd.central(f, x)
    np.testing.assert_array_equal(x, [1.0, 2.0, 3.0])


def test_batch_evaluation_matches_the_loop():
    A = np.array([[2.0, 0.5], [0.5, 1.0]])
    f = lambda v: float(np.sin(v) @ A @ np.sin(v))
    batch = lambda P: np.einsum("ri,ij,rj->r", np.sin(P), A, np.sin(P))
    x = np.array([0.3, -0.7])
    loop = fd.richardson(f, x)
    vec = fd.richardson(f, x, batch=batch)
    np.testing.assert_allclose(loop.value, vec.value, rtol=0, atol=1e-12)
    true = 2 * np.cos(x) * (A @ np.sin(x))
    np.testing.assert_allclose(vec.value, true, rtol=1e-10)


def test_one_sided_differences_are_first_order_with_honest_errors():
    f = lambda v: float(np.exp(v[0]))
    for side in (1, -1):
        r = fd.one_sided(f, np.array([0.5]), side=side, h=1e-4)
        true = np.exp(0.5)
        assert r.error[0] / 2 <= abs(r.value[0] - true) <= 2 * r.error[0]  # the estimate is the error to first order
        # First order: the error is about h·f''/2.
        assert abs(r.value[0] - true) == pytest.approx(1e-4 * np.exp(0.5) / 2, rel=0.01)
        assert np.sign(r.value[0] - true) == side


def test_complex_step_is_exact_to_rounding():
    f = lambda z: np.exp(z[0]) * np.sin(z[1]) / (1 + z[0] ** 2)
    x = np.array([0.4, 1.1])
    a, b = sp.symbols("a b")
    e = sp.exp(a) * sp.sin(b) / (1 + a ** 2)
    true = [float(sp.diff(e, s).subs({a: 0.4, b: 1.1})) for s in (a, b)]
    r = fd.complex_step(f, x)
    np.testing.assert_allclose(r.value, true, rtol=1e-14)


@pytest.mark.parametrize(
    "loss",
    [
        lambda z: float(np.sum(z ** 2)),                                # float() of a complex
        lambda z: np.sum(np.asarray(z, dtype=np.float64) ** 2),        # dtype coercion
        lambda z: np.sum(np.abs(z)),                                   # abs: real result
        lambda z: _write_into_float_buffer(z),                         # ComplexWarning
    ],
    ids=["float", "asarray-float", "abs", "buffer"],
)
def test_complex_step_detects_lost_imaginary_parts(loss):
    with pytest.raises(fd.ComplexStepUnsafe):
        fd.complex_step(loss, np.array([0.5, -1.0]), f0=float(np.sum(np.array([0.5, -1.0]) ** 2)))


def _write_into_float_buffer(z):
    out = np.zeros(z.shape)
    out[:] = z ** 2
    return out.sum()


def test_silent_imaginary_loss_shows_in_the_directional_derivative():
    # ‖z‖² written as z·conj(z) has a zero imaginary part for complex z: the complex step sees a
    # zero derivative, real differences see 2·x·d.
    f = lambda z: np.sum(z * np.conj(z))
    x = np.array([0.5, -1.0, 2.0])
    d = np.array([1.0, 1.0, -1.0])
    cs = fd.complex_directional(f, x, d)
    real, err = fd.directional(lambda v: float(np.sum(v * v)), x, d)
    assert abs(real - 2 * x @ d) <= max(10 * err, 1e-10)
    assert abs(cs - real) > 1.0


@pytest.mark.parametrize(
    "f, x0, backward, forward",
    [
        (lambda v: float(abs(v[0])), 0.0, -1.0, 1.0),
        (lambda v: float(max(v[0], 0.0)), 0.0, 0.0, 1.0),
        (lambda v: float(max(2 * v[0] - 1, -v[0] + 0.5)), 0.5, -1.0, 2.0),
    ],
    ids=["abs", "relu", "max"],
)
def test_kinks_are_found_with_their_one_sided_derivatives(f, x0, backward, forward):
    r = fd.kinks(f, np.array([x0]))
    assert r.is_kink[0]
    assert r.backward[0] == pytest.approx(backward, abs=1e-6)
    assert r.forward[0] == pytest.approx(forward, abs=1e-6)


@pytest.mark.parametrize("x0", [0.3, 1.0, -2.0])
def test_curvature_is_not_a_kink(x0):
    r = fd.kinks(lambda v: float(np.exp(3 * v[0]) + v[0] ** 2), np.array([x0]))
    assert not r.is_kink[0]
    true = 3 * np.exp(3 * x0) + 2 * x0
    assert abs(r.central[0] - true) <= 10 * r.central_error[0] + 1e-9 * abs(true)


def test_noise_level_tells_float64_from_float32():
    v = np.array([0.3, -1.2, 2.5])
    f64 = lambda u: float(np.sum(np.sin(u) * np.cosh(u)))
    f32 = lambda u: float(np.sum(np.sin(u.astype(np.float32)) * np.cosh(u.astype(np.float32))))
    scale = abs(f64(v))
    s64 = fd.noise_level(f64, v)
    s32 = fd.noise_level(f32, v)
    assert s64 <= 8 * np.finfo(np.float64).eps * scale
    assert 0.05 * np.finfo(np.float32).eps * scale <= s32 <= 8 * np.finfo(np.float32).eps * scale


def test_complex_step_leaves_no_warning_filter_behind():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(fd.ComplexStepUnsafe):
            fd.complex_step(_write_into_float_buffer, np.array([1.0]))
        np.zeros(1)[:] = np.array([1 + 1j])  # a ComplexWarning outside: a warning again, not an error
    assert any(issubclass(w.category, np.exceptions.ComplexWarning) for w in caught)
