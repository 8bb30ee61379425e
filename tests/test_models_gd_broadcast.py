"""``gradient-descent`` and ``broadcasting`` against independent oracles: NumPy (broadcasting,
an update computed by finite differences, a search over directions), the numbers printed in the
course notes, and sympy.diff."""

from functools import lru_cache
from itertools import product

import numpy as np
import pytest
import sympy as sp

import derive
from derive.errors import DeriveError
from derive.models.broadcasting import broadcast_shape
from derive.verify import numerically_equal


@lru_cache(maxsize=None)
def derivation(name):
    return derive.model(name).derivation()


@pytest.mark.parametrize("name", ["gradient-descent", "broadcasting"])
def test_every_line_and_result_reverifies(name):
    d = derivation(name)
    assert d.verify() == len(d.results) >= 3
    for r in d.results:
        if r.of is not None:
            assert numerically_equal(sp.diff(r.of, r.wrt), r.value), r.name


# -- gradient descent ---------------------------------------------------------------------------


def _number(name):
    return derivation("gradient-descent").result(name).value


def test_the_notes_updates_per_epoch():
    assert _number("updates per epoch") == 10_000 // 10 == 1000
    assert "N/B = 1000" in str(derivation("gradient-descent"))


def test_the_worked_update_matches_finite_differences():
    data = np.array([[1.0, 2.0], [2.0, 3.0]])

    def loss(theta):
        w, b = theta
        return np.mean((w * data[:, 0] + b - data[:, 1]) ** 2)

    theta0, h = np.zeros(2), 1e-6
    g = np.array([(loss(theta0 + h * e) - loss(theta0 - h * e)) / (2 * h) for e in np.eye(2)])
    theta1 = theta0 - 0.1 * g
    assert float(_number("w after one update")) == pytest.approx(theta1[0], abs=1e-8)
    assert float(_number("b after one update")) == pytest.approx(theta1[1], abs=1e-8)
    assert float(_number("L after one update")) == pytest.approx(loss(theta1), abs=1e-8)
    assert loss(theta1) < loss(theta0)


def test_the_steepest_direction_is_minus_the_gradient():
    """Over 3,600 unit directions the least ∇f·u is at u = −∇f/‖∇f‖, with value −‖∇f‖."""
    g = np.array([3.0, -4.0])
    t = np.linspace(0, 2 * np.pi, 3600, endpoint=False)
    u = np.stack([np.cos(t), np.sin(t)], axis=1)
    best = u[np.argmin(u @ g)]
    np.testing.assert_allclose(best, -g / np.linalg.norm(g), atol=2e-3)
    g1, g2 = sp.symbols("g1 g2", real=True)
    value = _number("∇f·u at u = −∇f/‖∇f‖").xreplace({g1: 3, g2: -4})
    assert float(value) == pytest.approx((u @ g).min(), abs=1e-5) == pytest.approx(-5.0, abs=1e-5)


def test_squared_error_is_not_convex_and_cross_entropy_is():
    """Second differences of the two costs of σ(w) for y = 0 on a grid of w."""
    w = np.linspace(-6, 6, 241)
    h = 1e-3

    def second(f):
        return (f(w + h) - 2 * f(w) + f(w - h)) / h**2

    sigma = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    squared = second(lambda v: sigma(v) ** 2)
    cross = second(lambda v: -np.log(1 - sigma(v)))
    assert squared.max() > 0 > squared.min()
    assert cross.min() > 0
    # the sign change is at σ(w) = 2/3, w = log 2
    crossing = w[np.argmax(squared < 0)]
    assert crossing == pytest.approx(np.log(2), abs=0.06)
    at_log3 = (sigma(np.log(3) + h) ** 2 - 2 * sigma(np.log(3)) ** 2 + sigma(np.log(3) - h) ** 2) / h**2
    assert float(_number("squared error at w = log 3")) == pytest.approx(at_log3, abs=1e-5)


def test_the_derivative_as_a_limit_is_said_once_in_derivative_intuition():
    """gradient-descent refers to the limit rather than deriving it again (review12 B18)."""
    assert not any("limit" in r.name for r in derivation("gradient-descent").results)
    a = sp.Symbol("a")
    assert derivation("derivative-intuition").result("f'(a) for f=a²").value == sp.diff(a**2, a)
    assert "lim_(Δa→0)" in str(derivation("derivative-intuition"))


# -- broadcasting -------------------------------------------------------------------------------

# the output printed in the notes (002) for print(a + b)
NOTES_OUTPUT = [[1, 2, 3], [11, 12, 13], [21, 22, 23], [31, 32, 33]]


def test_the_notes_example_is_what_numpy_prints():
    a = np.array([[0, 0, 0], [10, 10, 10], [20, 20, 20], [30, 30, 30]])
    b = np.array([1, 2, 3])
    result = derivation("broadcasting").result("a + b").value
    assert (a + b).tolist() == NOTES_OUTPUT == np.array(result.tolist(), dtype=int).tolist()
    shown = {r["name"]: r["text"] for r in derivation("broadcasting").to_json()["results"]}
    # printed as the notes print it: NumPy's own print of a + b, a row a line
    assert shown["a + b"].endswith("= " + str(a + b))


SHAPES = [(), (1,), (3,), (4,), (4, 1), (1, 3), (4, 3), (2, 1, 3), (5, 4, 1)]


@pytest.mark.parametrize("left, right", list(product(SHAPES, SHAPES)))
def test_broadcast_shape_follows_numpy(left, right):
    try:
        expected = np.broadcast_shapes(left, right)
    except ValueError:
        with pytest.raises(DeriveError):
            broadcast_shape(left, right)
    else:
        assert broadcast_shape(left, right) == expected


def test_db_sums_dz_over_the_broadcast_axis():
    """For Z = W X + b (b broadcast over the m columns) the gradient of J = ½ Σ (Z − T)² with
    respect to b, by central differences, is dZ summed over the columns."""
    rng = np.random.default_rng(0)
    W, X, T = rng.standard_normal((2, 2)), rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
    b = rng.standard_normal((2, 1))

    def J(bias):
        return 0.5 * np.sum((W @ X + bias - T) ** 2)

    h = 1e-6
    fd = np.array([(J(b + h * e[:, None]) - J(b - h * e[:, None])) / (2 * h) for e in np.eye(2)])
    dZ = W @ X + b - T
    np.testing.assert_allclose(fd, dZ.sum(axis=1), atol=1e-7)
    d = derivation("broadcasting")
    point = {**{sp.Symbol(f"W_{p + 1}_{q + 1}"): W[p, q] for p in range(2) for q in range(2)},
             **{sp.Symbol(f"X_{p + 1}_{q + 1}"): X[p, q] for p in range(2) for q in range(3)},
             **{sp.Symbol(f"T_{p + 1}_{q + 1}"): T[p, q] for p in range(2) for q in range(3)},
             **{sp.Symbol(f"b_{p + 1}"): b[p, 0] for p in range(2)}}
    for p in range(2):
        assert float(d.result(f"dJ/db_{p + 1}").value.xreplace(point)) == pytest.approx(fd[p], abs=1e-7)
