"""Computation graphs: the notes' numbers on the chain-rule graph, the notes' formulas on logistic
regression, a hand-written NumPy network with finite differences on the MLP's graph; DOT that
Graphviz accepts and TikZ that pdflatex compiles."""

from __future__ import annotations

import math
import re
import subprocess

import numpy as np
import pytest
import sympy as sp

import derive
from conftest import compile_tex, require_tool, run
from derive.errors import DeriveError
from derive.graph import from_defs, graph_for, parse_point
from derive.render.latex import preamble

NUM = r"(−?-?[\d.]+(?:e[-+]?\d+)?)"


def number(s: str) -> float:
    return float(s.replace("−", "-"))


def parse_dot(dot: str) -> tuple[dict, dict, dict]:
    """Forward values, gradients (by node name) and edge labels, read from the DOT labels."""
    values, grads, edges = {}, {}, {}
    names = {}
    for node, label in re.findall(r'^\s*(n\d+) \[label="([^"]*)"', dot, re.M):
        lines = label.split("\\n")
        name = re.match(r"(\S+) = ", lines[0]).group(1)
        names[node] = name
        value_line = next(line for line in lines if re.fullmatch(rf"{re.escape(name)} = {NUM}", line))
        values[name] = number(value_line.split(" = ")[1])
        grad_line = next((line for line in lines if re.match(rf"[∂d]\S+/[∂d]{re.escape(name)} = ", line)), None)
        if grad_line is not None:       # data (a label) is drawn without one
            grads[name] = number(grad_line.split(" = ")[-1])
    for a, b, label in re.findall(r'^\s*(n\d+) -> (n\d+) \[label="([^"]*)"', dot, re.M):
        edges[names[a], names[b]] = label
    return values, grads, edges


@pytest.fixture(scope="module")
def chain_dot():
    return graph_for(derive.model("chain-rule")).to_dot()


@pytest.fixture(scope="module")
def logistic_graph():
    return graph_for("logistic")


@pytest.fixture(scope="module")
def mlp():
    return graph_for("mlp")


# The notes' numbers ------------------------------------------------------------------------------

def test_chain_rule_graph_has_the_notes_numbers(chain_dot):
    # the notes: a=5, b=3, c=2 give u=6, v=11, J=33; dJ/dv=3, dJ/da=3, dJ/du=3, dJ/db=6, dJ/dc=9
    values, grads, _ = parse_dot(chain_dot)
    assert (values["a"], values["b"], values["c"]) == (5, 3, 2)
    assert (values["u"], values["v"], values["J"]) == (6, 11, 33)
    assert grads == {"a": 3, "b": 6, "c": 9, "u": 3, "v": 3, "J": 1}


def test_chain_rule_edges_carry_the_local_derivatives(chain_dot):
    _, _, edges = parse_dot(chain_dot)
    # u = bc, v = a + u, J = 3v: du/db = c = 2, du/dc = b = 3, dv/da = dv/du = 1, dJ/dv = 3
    assert edges == {
        ("b", "u"): "du/db = c = 2", ("c", "u"): "du/dc = b = 3",
        ("a", "v"): "dv/da = 1", ("u", "v"): "dv/du = 1", ("v", "J"): "dJ/dv = 3",
    }


def test_another_point_gives_the_hand_computed_numbers():
    g = graph_for(derive.model("chain-rule"), at="a=1,b=2,c=3")
    # J = 3(1 + 2·3) = 21; dJ/db = 3c = 9, dJ/dc = 3b = 6, dJ/da = 3
    assert g.value("J") == 21 and (g.grad("a"), g.grad("b"), g.grad("c")) == (3, 9, 6)


def test_logistic_graph_matches_the_notes_formulas(logistic_graph):
    g = logistic_graph
    x1, x2, w1, w2, b, y = (float(g.value(n)) for n in ("x1", "x2", "w1", "w2", "b", "y"))
    z = w1 * x1 + w2 * x2 + b
    a = 1 / (1 + math.exp(-z))
    dz = a - y                                    # the notes: dz = a − y, dw1 = x1 dz, …, db = dz
    expected = {"z": dz, "w1": x1 * dz, "w2": x2 * dz, "b": dz, "a": -y / a + (1 - y) / (1 - a)}
    for name, value in expected.items():
        assert float(g.grad(name)) == pytest.approx(value, abs=1e-12), name
    assert float(g.value("a")) == pytest.approx(a) and float(g.value("L")) == pytest.approx(-math.log(a))


def test_logistic_dot_shows_the_same_numbers(logistic_graph):
    values, grads, edges = parse_dot(logistic_graph.to_dot())
    assert values["a"] == 0.5 and grads["z"] == -0.5 and grads["w₂"] == -1
    assert edges["z", "a"] == "∂a/∂z = a·(1 − a) = 0.25"
    # the label y is data: no ∂L/∂y on its node or its arrow, while the inputs keep theirs
    assert "y" in values and "y" not in grads and edges["y", "L"] == "" and "x₁" in grads


def _numpy_loss(p: dict) -> float:
    """The 2-2-2 network written by hand: sigmoid hidden layer, softmax output, cross-entropy."""
    W1 = np.array([[p["W^{[1]}_{11}"], p["W^{[1]}_{12}"]], [p["W^{[1]}_{21}"], p["W^{[1]}_{22}"]]])
    W2 = np.array([[p["W^{[2]}_{11}"], p["W^{[2]}_{12}"]], [p["W^{[2]}_{21}"], p["W^{[2]}_{22}"]]])
    b1 = np.array([p["b^{[1]}_{1}"], p["b^{[1]}_{2}"]])
    b2 = np.array([p["b^{[2]}_{1}"], p["b^{[2]}_{2}"]])
    x, y = np.array([p["x1"], p["x2"]]), np.array([p["y1"], p["y2"]])
    h = 1 / (1 + np.exp(-(W1 @ x + b1)))
    s = W2 @ h + b2
    yhat = np.exp(s - s.max()) / np.exp(s - s.max()).sum()
    return float(-(y * np.log(yhat)).sum())


def test_mlp_graph_gradients_match_finite_differences(mlp):
    point = {n.symbol.name: float(n.value) for n in mlp.nodes if n.leaf}
    assert float(mlp.value("L")) == pytest.approx(_numpy_loss(point), rel=1e-12)
    for name in point:
        h = 1e-6
        up, down = dict(point), dict(point)
        up[name] += h
        down[name] -= h
        fd = (_numpy_loss(up) - _numpy_loss(down)) / (2 * h)
        assert float(mlp.grad(name)) == pytest.approx(fd, abs=1e-7), name


def test_mlp_output_gradient_is_yhat_minus_y(mlp):
    # the notes: ∂C/∂z_k = ŷ_k − y_k for softmax with cross-entropy
    for k in (1, 2):
        yhat, y = float(mlp.value(f"a^{{[2]}}_{{{k}}}")), float(mlp.value(f"y{k}"))
        assert float(mlp.grad(f"z^{{[2]}}_{{{k}}}")) == pytest.approx(yhat - y, abs=1e-12)


def test_no_graph_is_drawn_before_its_backward_pass(mlp, logistic_graph):
    for g in (mlp, logistic_graph):
        params = [n for n in g.nodes if n.leaf and not n.symbol.name.startswith(("x", "y"))]
        assert all(n.grad != 0 for n in params)


# Formats and the command ---------------------------------------------------------------------------

def test_graphviz_accepts_every_graph(chain_dot, logistic_graph, mlp):
    require_tool("dot")
    for dot in (chain_dot, logistic_graph.to_dot(), mlp.to_dot(), logistic_graph.to_dot("zh"), mlp.picture_dot()):
        proc = subprocess.run(["dot", "-Tsvg"], input=dot.encode(), capture_output=True, timeout=60)
        assert proc.returncode == 0 and proc.stdout.lstrip().startswith(b"<?xml"), proc.stderr


def test_tikz_pictures_compile_at_natural_size(logistic_graph, mlp, tmp_path):
    # TeX measures each picture: none wider than the notes' line, so nothing is scaled down and
    # the smallest text (\scriptsize at 11 pt) stays 8 pt
    require_tool("pdflatex")
    chain = graph_for(derive.model("chain-rule"))
    measured = []
    for name, g in (("chain", chain), ("logistic", logistic_graph), ("mlp", mlp)):
        picture = re.search(r"\\begin\{tikzpicture\}.*?\\end\{tikzpicture\}", g.to_tikz(), re.S).group()
        measured.append(rf"\sbox0{{{picture}}}\typeout{{WIDTH {name} \the\wd0\space\the\linewidth}}")
    body = "\n".join(g.to_tikz() for g in (chain, logistic_graph, mlp)) + "\n".join(measured)
    log = compile_tex("pdflatex", preamble("en", tikz=True) + "\\begin{document}\n" + body + "\\end{document}\n",
                      tmp_path, passes=1)
    assert "Overfull" not in log
    widths = re.findall(r"WIDTH (\S+) ([\d.]+)pt([\d.]+)pt", log)
    assert len(widths) == 3 and all(float(w) <= float(line) for _, w, line in widths), widths


def test_big_graph_is_drawn_one_box_per_layer_vector(mlp, logistic_graph):
    tikz = mlp.to_tikz()
    boxes = re.findall(r"\\node\[\w+\] \(v\d+\) at [^{]*\{\$(.*?) = (.*?)\$ \\\\ \$", tikz)
    assert {name for name, _ in boxes} == {"x", "y", "W^{[1]}", "b^{[1]}", "W^{[2]}", "b^{[2]}",
                                           "z^{[1]}", "a^{[1]}", "z^{[2]}", "a^{[2]}", "L"}
    w1 = dict(boxes)["W^{[1]}"]
    rows = [r.split(" & ") for r in re.search(r"pmatrix\}(.*)\\end", w1).group(1).split(r" \\ ")]
    # row j, column i holds W[1]_ji: the weight from input i to unit j (the model's point)
    assert [[number(c) for c in r] for r in rows] == [[-0.6, -0.3], [-1.0, 0.9]]
    # the table below has a row per unit, with its value and gradient
    table = tikz[tikz.index(r"\begin{tabular}"):]
    assert table.count(r" \\" + "\n") == 1 + len(mlp.nodes)
    assert re.search(r"\$z\^\{\[1\]\}_\{1\}\$ & .* & \$-0\.35\$ & \$0\.09526\$", table)
    # the web page's picture is the same, by Graphviz
    dot = mlp.picture_dot()
    assert len(re.findall(r"^  v\d+ \[label=", dot, re.M)) == 11 and "W[1] = [[−0.6, −0.3], [−1, 0.9]]" in dot
    assert logistic_graph.picture_dot() == logistic_graph.to_dot(caption=False)


def test_graph_option_prints_dot():
    code, out, _ = run("chain-rule", "--graph", "dot")
    assert code == 0
    values, grads, _ = parse_dot(out)
    assert values["J"] == 33 and (grads["a"], grads["b"], grads["c"]) == (3, 6, 9)


def test_graph_option_png(tmp_path):
    require_tool("dot")
    out = tmp_path / "g.png"
    code, _, err = run("logistic", "--graph", "png", "-o", str(out))
    assert code == 0, err
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_graph_option_errors_are_one_line(monkeypatch):
    for argv, words in ((("softmax", "--graph", "dot"), "no computation graph"),
                        (("logistic", "--graph", "png"), "-o FILE")):
        code, out, err = run(*argv)
        assert code == 2 and out == "" and err.count("\n") == 1 and words in err
    monkeypatch.setattr("shutil.which", lambda name: None)
    code, _, err = run("logistic", "--graph", "png", "-o", "never.png")
    assert code == 2 and "Graphviz" in err and err.count("\n") == 1


def test_graph_option_tikz_is_a_compilable_document(tmp_path):
    require_tool("pdflatex")
    code, out, _ = run("chain-rule", "--graph", "tikz", "--standalone", "--show-steps")
    assert code == 0 and r"\begin{tikzpicture}" in out and r"\begin{align*}" in out
    compile_tex("pdflatex", out, tmp_path, passes=1)


def test_dot_is_deterministic(chain_dot):
    assert graph_for(derive.model("chain-rule")).to_dot() == chain_dot


def test_generic_graph_from_definitions():
    # J = (x·w + b)² at x=2, w=3, b=1: forward 49; dJ/dw = 2(xw + b)·x = 28, dJ/db = 14
    x, w, b, z, J = sp.symbols("x w b z J")
    g = from_defs({z: x * w + b, J: z ** 2, sp.Symbol("dz"): sp.Derivative(J, z)}, {x: 2, w: 3, b: 1})
    assert g.output == J and g.value("J") == 49 and (g.grad("w"), g.grad("b"), g.grad("z")) == (28, 14, 14)


def test_bad_points_are_one_line_errors():
    with pytest.raises(DeriveError, match="no input 'q'"):
        graph_for("logistic", at={"q": 1})
    with pytest.raises(DeriveError, match="not a number"):
        parse_point("a=two")
