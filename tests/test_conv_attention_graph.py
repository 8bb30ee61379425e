"""The computation graphs of conv and attention against the compiled networks on the same numbers,
and the one-line errors of `derive train conv` for sizes the built-in digits cannot give."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from conftest import run

import derive
from derive.functions import relu
from derive.graph import graph_for
from derive.models.conv import GRAPH_BIAS, GRAPH_DENSE, GRAPH_FILTER, GRAPH_IMAGE, GRAPH_TARGET
from derive.network import Attention, Conv, Dense, Network, Param, Pool, Training
from numeric.compiled_layers import LayeredNet


def _numbers(graph) -> dict:
    """Node name → (forward value, gradient) as floats."""
    return {n.symbol.name: (float(n.value), float(n.grad)) for n in graph.nodes}


@pytest.fixture(scope="module")
def conv_graph():
    return _numbers(graph_for("conv"))


def test_conv_graph_matches_the_compiled_network(conv_graph):
    """The graph's network built as layers and compiled: its loss, its pre-activations Z, the
    pooled M and every parameter gradient are the graph's numbers."""
    conv = Conv(1, 2, Param("W1", "W1_{o}_{c}_{u}_{v}"), Param("b1", "b1_{o}"), relu, channels=1, side=3)
    pool = Pool(1, conv.out_side, 2, "avg")
    out = Dense(2, Param("W2", "W2_{i}_{o}"), Param("b2", "b2_{o}"))
    network = Network(9, (conv, pool, out), "softmax-cross-entropy", Training("digits", 0.1, 1, "gd"))
    cm = LayeredNet(derive.model("conv"), network)
    P = {"W1": np.array(GRAPH_FILTER, float).reshape(1, 1, 2, 2), "b1": np.array([GRAPH_BIAS], float),
         "W2": np.array([[float(Fraction(v)) for v, _ in GRAPH_DENSE]]),
         "b2": np.array([float(Fraction(c)) for _, c in GRAPH_DENSE])}
    X = np.array(GRAPH_IMAGE, float).reshape(1, 9)
    y = np.array([GRAPH_TARGET.index(1)])
    assert cm.loss(P, X, y) == pytest.approx(conv_graph["L"][0], rel=1e-12)
    _, caches = cm._forward(cm._params(P), X)
    Z = caches[0]["U"].reshape(2, 2)
    for r in range(2):
        for c in range(2):
            assert Z[r, c] == pytest.approx(conv_graph[f"Z{r + 1}{c + 1}"][0], abs=1e-12)
    g = cm.grad(P, X, y)
    assert g["W1"].ravel().tolist() == pytest.approx([conv_graph[f"W{rc}"][1] for rc in ("11", "12", "21", "22")],
                                                     rel=1e-9)
    assert g["b1"][0] == pytest.approx(conv_graph["b"][1], rel=1e-9)
    assert g["W2"][0].tolist() == pytest.approx([conv_graph["V1"][1], conv_graph["V2"][1]], rel=1e-9)
    assert g["b2"].tolist() == pytest.approx([conv_graph["c1"][1], conv_graph["c2"][1]], rel=1e-9)
    # ReLU stops the gradient at the negative outputs, and only there
    assert [conv_graph[f"Z{k}"][1] == 0 for k in ("11", "12", "21", "22")] == [Z.ravel()[i] < 0 for i in range(4)]


def test_attention_graph_matches_the_compiled_layer():
    """With the two tokens one-hot (X = I), Q = Wq, K = Wk, V = Wv: the compiled layer's first
    output and its weights are the graph's O and P, and its gradients for dO = (1, 0) are ∂O/∂·."""
    graph = _numbers(graph_for("attention"))
    layer = Attention(2, 2, 2, 1, Param("Wq", "Wq_{i}_{o}"), Param("Wk", "Wk_{i}_{o}"), Param("Wv", "Wv_{i}_{o}"))
    value = {name: v for name, (v, _) in graph.items()}
    P = {"Wq": np.array([[value["q1"], value["q2"]], [0.0, 0.0]]),
         "Wk": np.array([[value["k11"], value["k12"]], [value["k21"], value["k22"]]]),
         "Wv": np.array([[value["v1"]], [value["v2"]]])}
    O, cache = LayeredNet._attend(layer, P, np.eye(2)[None])
    assert O[0, 0, 0] == pytest.approx(value["O"], rel=1e-12)
    assert cache["P"][0, 0].tolist() == pytest.approx([value["P1"], value["P2"]], rel=1e-12)
    grads = {}
    LayeredNet._attend_back(layer, P, np.array([[[1.0], [0.0]]]), cache, grads, False)
    assert grads["Wq"][0].tolist() == pytest.approx([graph["q1"][1], graph["q2"][1]], rel=1e-9)
    assert grads["Wk"].ravel().tolist() == pytest.approx([graph[k][1] for k in ("k11", "k12", "k21", "k22")],
                                                         rel=1e-9)
    assert grads["Wv"].ravel().tolist() == pytest.approx([graph["v1"][1], graph["v2"][1]], rel=1e-9)


def test_train_conv_at_a_size_the_digits_do_not_have_is_one_line():
    outcome = run("train", "conv", "--size", "6")
    lines = outcome.err.strip().splitlines()
    assert outcome.code == 2 and outcome.out == ""
    assert len(lines) == 1 and "--size 8" in lines[0] and "--features" not in lines[0]


def test_train_conv_checks_the_filter_at_the_training_size():
    """--filter 9 is larger than the default 6 × 6 image padded (8) but fits the 8 × 8 digits
    padded (10): training accepts it; --filter 11 fits neither, one line, exit 2."""
    too_big = run("train", "conv", "--filter", "11")
    assert too_big.code == 2 and too_big.err.strip() == (
        "derive: error: --filter 11 is larger than the padded image (n + 2p = 10)")
    fits = run("train", "conv", "--filter", "9", "--epochs", "1", "--quiet", "--json")
    assert fits.code == 0, fits.err
