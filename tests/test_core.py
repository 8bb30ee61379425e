"""The foundation against independent oracles: sympy.diff and the numbers printed in the notes."""

import json
import os
import subprocess
import sys

import pytest
import sympy as sp

import derive
from derive.engine import derivative, diff_rule
from derive.functions import leaky_relu, relu, sigmoid, softplus, to_elementary

from conftest import assert_same_values, load, run

pytestmark = pytest.mark.usefixtures("shared_derivations")


def test_logistic_reads_like_the_notes():
    d = derive.derivation("logistic")
    a, y, x1, dz = sp.symbols("a y x1 dz")
    same = lambda e, f: sp.expand(e - f) == 0  # displays keep the notes' factor order unevaluated
    assert same(d.result("dz").display, a - y)
    assert same(d.result("dw1").display, x1 * dz)
    assert same(d.result("db").display, dz)
    out = run("logistic", "--show-steps").out
    for piece in ("dz = ∂L/∂z = a − y", "x₁·dz", "dZ = A − Y", "dw = (1/m)·Σ_{i=1..m}", "= (1/m)·X·dZᵀ",
                  "chain rule"):
        assert piece in out
    assert "cosh" not in out and "e^z/(" not in out and "exp(" not in out


def test_sigmoid_derivative_in_the_notes_form():
    z = sp.Symbol("z")
    assert derivative(sigmoid(z), z) == sigmoid(z) * (1 - sigmoid(z))
    assert sp.simplify(to_elementary(derivative(sigmoid(z), z)) - sp.diff(1 / (1 + sp.exp(-z)), z)) == 0


def test_chain_rule_table_has_the_notes_numbers():
    data = json.loads(run("chain-rule", "--format", "json").out)
    values = {r["name"]: load(r["value"]) for r in data["results"]}
    assert values["J"] == 33
    expected = {"v": 3, "u": 3, "a": 3, "b": 6, "c": 9}
    for node, number in expected.items():
        assert values[f"dJ/d{node} at the point"] == number
    x = sp.Symbol("x")
    assert sp.expand(values["dh/dx"] - sp.diff((3 * x**2 + 2) ** 4, x)) == 0
    table = run("chain-rule", "--show-steps").out
    assert "33" in table and "forward value" in table
    # the backward pass with the numbers, in the notes' order (a before u): 3·1 = 3, 3·c = 3·2 = 6
    steps = [line.split()[:3] for line in table.split("Backward pass")[1].split("The forward")[0].splitlines()]
    shown = [" ".join(s) for s in steps if s]
    assert [s.split()[0] for s in shown if s.startswith("dJ/")] == ["dJ/dv", "dJ/da", "dJ/du", "dJ/db", "dJ/dc"]
    for product, number in (("3·1", 3), ("3·2", 6), ("3·3", 9)):
        i = shown.index(f"= {product} evaluate:" if product != "3·1" else f"= {product} substitute")
        assert shown[i + 1] == f"= {number} simplify"


def test_chain_rule_at_another_point():
    data = json.loads(run("chain-rule", "--at", "a=1,b=2,c=3", "--format", "json").out)
    values = {r["name"]: load(r["value"]) for r in data["results"]}
    a, b, c = 1, 2, 3
    assert values["J"] == 3 * (a + b * c)
    assert values["dJ/db at the point"] == 3 * c and values["dJ/dc at the point"] == 3 * b


def test_derivative_intuition_nudges():
    data = json.loads(run("derivative-intuition", "--format", "json").out)
    values = {r["name"]: float(load(r["value"])) for r in data["results"] if "nudge" in r["name"]}
    assert any(abs(v - 0.004) < 1e-9 for v in values.values())         # f(a) = 4a at a = 2
    assert any(abs(v - 0.010001) < 1e-9 for v in values.values())          # f(a) = a² at a = 5
    assert any(abs(v - 0.004001) < 1e-9 for v in values.values())          # f(a) = a² at a = 2


@pytest.mark.parametrize("expr", [
    "sigmoid(2*x + 1)", "log(1 + exp(-x))", "x*exp(-x)/(1 + x**2)", "(3*x**2 + 2)**4",
    "x**x", "tanh(x**2)", "softplus(3*x)", "relu(x - 1)", "leaky_relu(x)", "sin(x)*cos(x)",
])
def test_engine_agrees_with_sympy_diff(expr):
    x = sp.Symbol("x")
    e = sp.sympify(expr, locals={"sigmoid": sigmoid, "softplus": softplus, "relu": relu,
                                 "leaky_relu": leaky_relu})
    rule = diff_rule(e, x)
    ours = to_elementary(rule.eval())
    truth = to_elementary(sp.diff(e, x))
    assert_same_values(ours, truth)


def test_results_only_without_show_steps():
    short, full = run("logistic").out, run("logistic", "--show-steps").out
    assert "dz" in short and "chain rule" not in short and "chain rule" in full


def test_output_is_written_atomically_and_replaces(tmp_path):
    target = tmp_path / "out.md"
    target.write_text("old notes")
    assert run("logistic", "--format", "markdown", "-o", target).code == 0
    assert target.read_text().startswith("## Logistic")
    assert [p.name for p in tmp_path.iterdir()] == ["out.md"]


def test_same_command_same_bytes():
    """Two processes with different hash seeds: set and dict orders must not reach the output."""
    argv = [sys.executable, "-m", "derive", "logistic", "--show-steps", "--format", "json"]
    runs = [subprocess.run(argv, capture_output=True, text=True, timeout=120,
                           env={**os.environ, "PYTHONHASHSEED": str(seed)}).stdout for seed in (1, 2)]
    assert runs[0] == runs[1] and runs[0]


def test_list_and_list_json():
    text = run("list").out.splitlines()
    assert len(text) == len(derive.model_names())
    data = json.loads(run("list", "--format", "json").out)
    assert [m["name"] for m in data] == derive.model_names()
