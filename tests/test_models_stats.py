"""Least squares, the two MLEs, cross-entropy and the perceptron against independent oracles:
numpy (mean, var, lstsq, finite differences), sympy.diff and Python's boolean operators."""

from __future__ import annotations

import itertools
import json
import math
import re

import numpy as np
import pytest
import sympy as sp

import derive
from derive.printing import EXAMPLE, example_label, unicode_name
from conftest import load, run

pytestmark = pytest.mark.usefixtures("shared_derivations")

MODELS = ["least-squares", "mle-binomial", "mle-gaussian", "cross-entropy", "perceptron"]
RNG = np.random.default_rng(20240607)


@pytest.fixture(scope="module")
def results():
    """name → {result name → JSON result}, read from `derive NAME --format json`."""
    out = {}
    for name in MODELS:
        code, stdout, err = run(name, "--show-steps", "--format", "json")
        assert code == 0, err
        data = json.loads(stdout)
        assert data["model"] == name
        out[name] = {res["name"]: res for res in data["results"]}
    return out


def value(res: dict):
    return load(res["value"])


def named(expr, name: str):
    """The free symbol of ``expr`` called ``name``."""
    found = [s for s in expr.free_symbols if s.name == name]
    assert len(found) == 1, (name, expr.free_symbols)
    return found[0]


def evaluate(expr, data: dict, **scalars) -> float:
    """``expr`` (sums over i = 1..n or 1..m of indexed samples x_i or examples x⁽ⁱ⁾) at numpy
    samples ``data``."""
    size = len(next(iter(data.values())))
    by_name = {s.name: s for s in expr.free_symbols}
    expr = expr.xreplace({by_name[s]: sp.Integer(size) for s in ("n", "m") if s in by_name})
    expr = expr.doit()
    expr = expr.replace(lambda e: isinstance(e, sp.Indexed),
                        lambda e: sp.Float(data[e.base.label.name.removesuffix(EXAMPLE)][int(e.indices[0]) - 1]))
    expr = expr.xreplace({s: sp.Float(scalars[s.name]) for s in expr.free_symbols if s.name in scalars})
    return complex(expr.evalf()) if not isinstance(expr, sp.MatrixBase) else expr.evalf()


# ---------------------------------------------------------------------------------------------
# Least squares


def test_least_squares_closed_form_matches_lstsq(results):
    r = results["least-squares"]
    for size in (4, 9):
        x, y = RNG.normal(size=size), RNG.normal(size=size)
        data = {"x": x, "y": y}
        (w, b), *_ = np.linalg.lstsq(np.column_stack([x, np.ones(size)]), y, rcond=None)
        assert evaluate(value(r["w_hat"]), data).real == pytest.approx(w, rel=1e-10, abs=1e-12)
        assert evaluate(value(r["b_hat"]), data).real == pytest.approx(b, rel=1e-10, abs=1e-12)


def test_least_squares_matrix_form_matches_lstsq():
    d = derive.derivation("least-squares")
    (theta,) = [s.rhs for s in d.lines if isinstance(s.lhs, sp.MatrixSymbol) and s.lhs.name == "thetahat"]
    x, y = RNG.normal(size=6), RNG.normal(size=6)
    X = np.column_stack([x, np.ones(6)])
    mats = {s: sp.ImmutableMatrix(X if s.name == "X" else y.reshape(-1, 1))
            for s in theta.atoms(sp.MatrixSymbol)}
    got = np.array(theta.xreplace(mats).doit().evalf(), dtype=float).ravel()
    np.testing.assert_allclose(got, np.linalg.lstsq(X, y, rcond=None)[0], rtol=1e-10)


def test_least_squares_gradient_vanishes_at_the_closed_form(results):
    """The Sum-form gradient, evaluated at (ŵ, b̂) on random data, is 0."""
    r = results["least-squares"]
    x, y = RNG.normal(size=7), RNG.normal(size=7)
    data = {"x": x, "y": y}
    w = evaluate(value(r["w_hat"]), data).real
    b = evaluate(value(r["b_hat"]), data).real
    for name in ("dL/dw", "dL/db"):
        assert abs(evaluate(value(r[name]), data, w=w, b=b)) < 1e-9
    # and away from it the Sum form agrees with a hand-written numpy gradient
    g = evaluate(value(r["dL/dw"]), data, w=0.3, b=-0.2).real
    assert g == pytest.approx(-2 * np.sum(x * (y - (0.3 * x - 0.2))))


def test_least_squares_hessian_is_2_XtX_and_positive_semidefinite(results):
    H = value(results["least-squares"]["hessian"])
    x = RNG.normal(size=5)
    got = np.array(evaluate(H, {"x": x}), dtype=float)
    X = np.column_stack([x, np.ones(5)])
    np.testing.assert_allclose(got, 2 * X.T @ X, rtol=1e-12)
    assert np.linalg.eigvalsh(got).min() >= 0
    # second derivatives at n = 3 are the diagonal of the Hessian: positive
    for name in ("d2L/dw2 (m = 3)", "d2L/db2 (m = 3)"):
        v = value(results["least-squares"][name])
        assert float(v.xreplace({s: sp.Float(RNG.normal()) for s in v.free_symbols})) > 0


# ---------------------------------------------------------------------------------------------
# Binomial MLE


def test_binomial_p_hat_is_the_fraction_of_successes(results):
    p_hat = value(results["mle-binomial"]["p_hat"])
    k, n = named(p_hat, "k"), named(p_hat, "n")
    for _ in range(5):
        trials = RNG.random(int(RNG.integers(5, 40))) < RNG.uniform(0.1, 0.9)
        got = float(p_hat.xreplace({k: int(trials.sum()), n: trials.size}))
        assert got == pytest.approx(trials.mean())
    # and it maximizes the log-likelihood on a grid (numpy oracle)
    nn, kk = 17, 5
    grid = np.linspace(0.001, 0.999, 99_801)
    loglik = kk * np.log(grid) + (nn - kk) * np.log1p(-grid)
    assert grid[np.argmax(loglik)] == pytest.approx(float(p_hat.xreplace({k: kk, n: nn})), abs=2e-5)


def test_binomial_second_derivative_is_negative(results):
    r = results["mle-binomial"]
    d2 = value(r["d2l/dp2"])
    at = value(r["d2l/dp2 at p_hat"])
    p, k, n = named(d2, "p"), named(d2, "k"), named(d2, "n")
    for _ in range(20):
        nn = int(RNG.integers(2, 60))
        kk = int(RNG.integers(1, nn))
        pp = RNG.uniform(0.01, 0.99)
        assert float(d2.xreplace({p: pp, k: kk, n: nn})) < 0
        got = float(at.xreplace({named(at, "k"): kk, named(at, "n"): nn}))
        assert got < 0
        # central second difference of the numpy log-likelihood at p̂ = k/n
        h, ph = 1e-4, kk / nn
        ll = lambda q: kk * math.log(q) + (nn - kk) * math.log(1 - q)  # noqa: E731
        fd = (ll(ph + h) - 2 * ll(ph) + ll(ph - h)) / h**2
        assert got == pytest.approx(fd, rel=1e-4)


# ---------------------------------------------------------------------------------------------
# Gaussian MLE


def test_gaussian_estimates_are_mean_and_mean_squared_deviation(results):
    r = results["mle-gaussian"]
    for size in (3, 8, 15):
        x = RNG.normal(2.0, 3.0, size=size)
        assert evaluate(value(r["mu_hat"]), {"x": x}).real == pytest.approx(np.mean(x))
        assert evaluate(value(r["sigma2_hat"]), {"x": x}).real == pytest.approx(np.var(x))


def test_gaussian_first_derivatives_vanish_at_the_estimates(results):
    r = results["mle-gaussian"]
    x = RNG.normal(size=6)
    for name in ("dl/dmu", "dl/dsigma2"):
        assert abs(evaluate(value(r[name]), {"x": x}, mu=np.mean(x), **{"sigma^2": np.var(x)})) < 1e-9


def _gaussian_loglik(x, mu, v):
    return -len(x) / 2 * np.log(2 * np.pi * v) - np.sum((x - mu) ** 2) / (2 * v)


def test_gaussian_second_order_conditions(results):
    r = results["mle-gaussian"]
    x = RNG.normal(1.0, 2.0, size=9)
    mu, v = np.mean(x), np.var(x)
    assert evaluate(value(r["d2l/dmu2"]), {"x": x}, **{"sigma^2": v}).real < 0
    at = evaluate(value(r["d2l/dsigma2^2 at the MLE"]), {"x": x}).real
    assert at < 0
    H = np.array(evaluate(value(r["hessian at the MLE"]), {"x": x}), dtype=float)
    assert np.linalg.eigvalsh(H).max() < 0
    # finite-difference Hessian of the numpy log-likelihood at (μ̂, σ̂²)
    h = 1e-4
    f = lambda a, b: _gaussian_loglik(x, a, b)  # noqa: E731
    fd = np.array([
        [(f(mu + h, v) - 2 * f(mu, v) + f(mu - h, v)) / h**2,
         (f(mu + h, v + h) - f(mu + h, v - h) - f(mu - h, v + h) + f(mu - h, v - h)) / (4 * h * h)],
        [0.0, (f(mu, v + h) - 2 * f(mu, v) + f(mu, v - h)) / h**2],
    ])
    fd[1, 0] = fd[0, 1]
    np.testing.assert_allclose(H, fd, rtol=1e-4, atol=1e-4)
    assert at == pytest.approx(H[1, 1])


def test_gaussian_checkable_results_are_the_log_likelihood_at_n_3(results):
    r = results["mle-gaussian"]
    of = load(r["dl/dmu (n = 3)"]["of"])
    x = RNG.normal(size=3)
    point = {named(of, f"x_{k + 1}"): x[k] for k in range(3)}
    point[named(of, "mu")], point[named(of, "sigma^2")] = 0.4, 1.7
    assert float(of.xreplace(point)) == pytest.approx(_gaussian_loglik(x, 0.4, 1.7))
    for name in ("d2l/dmu2 (n = 3)", "d2l/dsigma2^2 (n = 3)"):
        res = r[name]
        of, wrt, val = load(res["of"]), load(res["wrt"]), load(res["value"])
        assert sp.simplify(sp.diff(of, wrt) - val) == 0
    d2 = value(r["d2l/dmu2 (n = 3)"])
    assert float(d2.xreplace({named(d2, "sigma^2"): 0.7})) < 0


# ---------------------------------------------------------------------------------------------
# Cross-entropy


def test_cross_entropy_is_the_negative_bernoulli_log_likelihood(results):
    r = results["cross-entropy"]
    yhat = named(value(r["P(y=1|x)"]), "yhat")
    assert sp.simplify(value(r["P(y=1|x)"]) - yhat) == 0
    assert sp.simplify(value(r["P(y=0|x)"]) - (1 - yhat)) == 0
    loss = value(r["L"])
    for label in (0, 1):
        for p in RNG.uniform(0.01, 0.99, size=5):
            pmf = p if label else 1 - p
            got = float(loss.xreplace({yhat: p, named(loss, "y"): label}))
            assert got == pytest.approx(-np.log(pmf))


def test_cross_entropy_cost_is_the_mean_loss(results):
    J = value(results["cross-entropy"]["J"])
    size = 7
    p, y = RNG.uniform(0.05, 0.95, size=size), (RNG.random(size) < 0.5).astype(float)
    by_name = {s.name: s for s in J.free_symbols}
    got = J.xreplace({by_name["m"]: size}).doit().replace(
        lambda e: isinstance(e, sp.Indexed),
        lambda e: sp.Float({"yhat": p, "y": y}[example_label(e)][int(e.indices[0]) - 1]))
    assert float(got) == pytest.approx(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def test_cross_entropy_derivatives(results):
    r = results["cross-entropy"]
    # ∂L/∂ŷ and, through ŷ = σ(z), the logistic dz = σ(z) − y, against finite differences
    dyhat = value(r["dL/dyhat"])
    dz = value(r["dL/dz"])
    for label in (0, 1):
        for p in (0.2, 0.7):
            f = lambda q: -(label * math.log(q) + (1 - label) * math.log(1 - q))  # noqa: E731
            fd = (f(p + 1e-6) - f(p - 1e-6)) / 2e-6
            got = float(dyhat.xreplace({named(dyhat, "yhat"): p, named(dyhat, "y"): label}))
            assert got == pytest.approx(fd, rel=1e-6)
        z0 = 0.37
        g = lambda z: f(1 / (1 + math.exp(-z)))  # noqa: E731
        fd = (g(z0 + 1e-6) - g(z0 - 1e-6)) / 2e-6
        got = float(dz.xreplace({named(dz, "z"): z0, named(dz, "y"): label}))
        assert got == pytest.approx(fd, rel=1e-6)


def test_cross_entropy_points_to_logistic():
    out = run("cross-entropy", "--show-steps").out
    assert "Logistic regression differentiates this loss" in out and "dz = a − y" in out


def test_cross_entropy_indexes_examples_as_the_course():
    """Examples are y⁽ⁱ⁾, ŷ⁽ⁱ⁾ (Ng), counted by m; a power of one is bracketed, never ŷ_i^y_i."""
    out = run("cross-entropy", "--show-steps").out
    yh = unicode_name("yhat")          # ŷ as the printer writes it: y and a combining hat
    assert f"Π_{{i=1..m}} (({yh}⁽ⁱ⁾)^y⁽ⁱ⁾·(1 − {yh}⁽ⁱ⁾)^(1 − y⁽ⁱ⁾))" in out
    assert f"J = (1/m)·Σ_{{i=1..m}} L({yh}⁽ⁱ⁾, y⁽ⁱ⁾)" in out and "y_i" not in out and f"{yh}_i" not in out
    tex = run("cross-entropy", "--show-steps", "--format", "latex").out
    assert r"\left(\hat{y}^{(i)}\right)^{y^{(i)}} \left(1 - \hat{y}^{(i)}\right)^{1 - y^{(i)}}" in tex


# ---------------------------------------------------------------------------------------------
# Perceptron


ORACLE = {
    "AND": lambda a, b: int(bool(a) and bool(b)),
    "OR": lambda a, b: int(bool(a) or bool(b)),
    "NOT": lambda a: int(not a),
}


def test_perceptron_truth_tables_match_python_boolean_operators(results):
    seen = set()
    for name, res in results["perceptron"].items():
        if name in ORACLE:
            # the gate as a formula: the Iverson bracket against the Boolean operator on every input
            formula, arity = value(res), 1 if name == "NOT" else 2
            symbols = [named(formula, f"x{k + 1}") for k in range(arity)]
            for point in itertools.product((0, 1), repeat=arity):
                assert formula.xreplace(dict(zip(symbols, point))) == ORACLE[name](*point), name
            continue
        m = re.fullmatch(r"(AND|OR|NOT)\(([01])(?:, ([01]))?\)", name)
        assert m, name
        assert res["audience"] == "check"  # the tables above already show them
        gate, args = m.group(1), [int(a) for a in m.groups()[1:] if a is not None]
        assert "of" not in res
        assert value(res) == ORACLE[gate](*args), name
        seen.add((gate, tuple(args)))
    assert len(seen) == 4 + 4 + 2  # NOT reads x1 only


def test_perceptron_tables_are_shown_with_the_same_values():
    data = json.loads(run("perceptron", "--show-steps", "--format", "json").out)
    tables = [s for s in data["steps"] if s["kind"] == "table"]
    assert len(tables) == 3
    for table, gate in zip(tables, ("AND", "OR", "NOT")):
        for row in table["rows"]:
            inputs = [int(c) for c in row[:-3]]
            assert int(row[-1]) == ORACLE[gate](*inputs)
            # the deciding column w₁x₁ + w₂x₂ − θ: y = 1 exactly where it is ≥ 0
            assert int(row[-1]) == (float(row[-2].replace("−", "-")) >= 0)


def test_perceptron_says_there_is_no_gradient():
    out = run("perceptron", "--show-steps").out
    assert "≥" in out and "sigmoid" in out and "no signal" in out
