"""Every trainable model's network (what numeric trains) has the derivation's loss.

The network description is rebuilt as a SymPy expression from its layers and compared with the
loss ``L`` that the model's derivation defines, at the derivation's own small sizes: the
trainer and the derivation then mean the same function (same pieces, same kinks)."""

import pytest
import sympy as sp

import derive
from derive.functions import to_elementary
from derive.network import Dense
from derive.verify import expand_defs, numerically_equal

pytestmark = pytest.mark.usefixtures("shared_derivations")  # each derivation built once

TRAINABLE = [n for n in derive.model_names() if derive.model(n).trainable]
# rnn's derivation defines L for the scalar cell (test_models_rnn checks its network against the
# derivation's matrix instance). A convolutional network's derivation (conv) is of one layer's gradient under a stand-in loss,
# not of the network's loss; tests/test_conv_train.py checks that network by hand-written NumPy.
DENSE = [n for n in TRAINABLE if all(isinstance(layer, Dense) for layer in derive.model(n).network().layers)]
VARIANTS = [(n, {}) for n in DENSE] + [
    ("sigmoid-sum", {"activation": "relu"}),
    ("mlp", {"activation": "relu"}),
    ("mlp", {"activation": "tanh"}),
]


def _plain(expr, n):
    """``expr`` with a sum over the symbolic sample count n written out at ``n`` samples and
    each indexed sample x[i] named x_i."""
    sizes = {s: n for s in expr.free_symbols if s.name in ("n", "m")}
    expr = expr.xreplace(sizes).doit()
    return expr.replace(lambda e: isinstance(e, sp.Indexed),
                        lambda e: sp.Symbol(f"{e.base.label}_" + "_".join(map(str, e.indices))))


def _one_hot(expr, net):
    """A class target is one-hot: y_K = 1 − y_1 − … − y_{K−1}."""
    if net.task != "classes":
        return expr
    ys = [sp.Symbol(net.target.format(o=o, n=1)) for o in range(1, net.classes + 1)]
    return expr.xreplace({ys[-1]: 1 - sp.Add(*ys[:-1])})


@pytest.mark.parametrize("name,options", VARIANTS, ids=lambda v: v if isinstance(v, str) else "-".join(v.values()))
def test_network_loss_is_the_derivations_loss(name, options):
    model = derive.model(name, **options, **type(derive.model(name)).derivation_sizes)
    net = model.network()
    d = model.derivation()
    # the notes' name for one example's loss: L, C where L is the total (softmax), ℒ where L
    # counts the layers (deep)
    loss = next(s for s in map(sp.Symbol, ("L", "C", "Lcal")) if s in d.defs)
    L = _plain(expand_defs(loss, d.defs), net.examples)
    ours = net.loss_expr()
    a, b = (to_elementary(_one_hot(e, net)) for e in (L, ours))
    assert a.free_symbols == b.free_symbols, (a.free_symbols ^ b.free_symbols)
    assert numerically_equal(a, b, points=6)


def test_a_different_activation_is_caught():
    """The check above is sharp: plain ReLU pieces are not the derivation's hard sigmoids."""
    from derive.functions import relu
    from derive.network import Network

    model = derive.model("sigmoid-sum", activation="relu", **derive.model("sigmoid-sum").derivation_sizes)
    net = model.network()
    pieces = net.layers[0]
    wrong = Network(net.features, (type(pieces)(pieces.units, pieces.weight, pieces.bias, relu, pieces.layout),
                                   net.layers[1]), net.loss, net.training, net.inputs, net.target, net.examples)
    L = expand_defs(sp.Symbol("L"), model.derivation().defs)
    assert not numerically_equal(to_elementary(L), to_elementary(wrong.loss_expr()), points=6)


@pytest.mark.parametrize("name", derive.model_names())
def test_trainable_exactly_when_there_is_a_network(name):
    model = derive.model(name)
    assert model.trainable == (model.network() is not None)


# ---------------------------------------------------------------------------------------------
# The general compiled kind: any stack of dense layers, from the description alone.

import numpy as np  # noqa: E402

import numeric  # noqa: E402
from derive.functions import relu, sigmoid  # noqa: E402
from derive.network import Dense, Network, Param, Training  # noqa: E402
from numeric import compiled as compiled_module  # noqa: E402


class _Described:
    """A model that is nothing but its network: what a new model file would declare."""

    name = "described"

    def __init__(self, network):
        self._network = network

    def network(self):
        return self._network


def _deep(loss, out_units):
    layers = (
        Dense(5, Param("W1", "W1_{o}_{i}"), Param("b1", "b1_{o}"), sp.tanh),
        Dense(4, Param("W2", "W2_{o}_{i}"), Param("b2", "b2_{o}"), relu, layout="out,in"),
        Dense(3, Param("W3", "W3_{o}_{i}"), Param("b3", "b3_{o}"), sigmoid),
        Dense(out_units, Param("W4", "W4_{o}_{i}"), Param("b4", "b4_{o}")),
    )
    return Network(3, layers, loss, Training("blobs", lr=0.1, epochs=1, optimizer="gd"))


def _by_hand(P, X, y, loss):
    """The deep network's mean loss and gradient, written out in NumPy."""
    m = X.shape[0]
    U1 = X @ P["W1"] + P["b1"]; A1 = np.tanh(U1)
    U2 = A1 @ P["W2"].T + P["b2"]; A2 = np.maximum(U2, 0)
    U3 = A2 @ P["W3"] + P["b3"]; A3 = 1 / (1 + np.exp(-U3))
    z = A3 @ P["W4"] + P["b4"]
    if loss == "softmax-cross-entropy":
        p = np.exp(z - z.max(axis=1, keepdims=True)); p /= p.sum(axis=1, keepdims=True)
        value = -np.mean(np.log(p[np.arange(m), y]))
        Y = np.zeros_like(p); Y[np.arange(m), y] = 1
        dz = (p - Y) / m
        dW4, db4, dA3 = A3.T @ dz, dz.sum(axis=0), dz @ P["W4"].T
    else:
        value = np.mean((z - y) ** 2)
        dz = 2 * (z - y) / m
        dW4, db4, dA3 = A3.T @ dz, dz.sum(), np.outer(dz, P["W4"])
    dU3 = dA3 * A3 * (1 - A3)
    dU2 = (dU3 @ P["W3"].T) * (U2 > 0)
    dU1 = (dU2 @ P["W2"]) * (1 - A1 ** 2)
    grads = {"W1": X.T @ dU1, "b1": dU1.sum(axis=0), "W2": dU2.T @ A1, "b2": dU2.sum(axis=0),
             "W3": A2.T @ dU3, "b3": dU3.sum(axis=0), "W4": dW4, "b4": np.asarray(db4)}
    return value, grads


@pytest.mark.parametrize("loss,out_units", [("softmax-cross-entropy", 4), ("squared", None)])
def test_a_deep_network_compiles_from_its_description(loss, out_units):
    cm = numeric.compile_model(_Described(_deep(loss, out_units)))
    assert type(cm).__name__.startswith("_Stack")
    rng = np.random.default_rng(3)
    X = rng.standard_normal((9, 3))
    y = rng.integers(0, 4, 9) if out_units else rng.standard_normal(9)
    P = cm.init_params(seed=4)
    value, want = _by_hand(P, X, y, loss)
    got_value, got = cm.loss_and_grad(P, X, y)
    assert got_value == pytest.approx(value, rel=1e-12)
    assert list(got) == list(want)
    for k in want:
        np.testing.assert_allclose(got[k], want[k], rtol=1e-10, atol=1e-13, err_msg=k)


@pytest.mark.parametrize("name,options", [
    ("mlp", {"features": 4, "hidden": 5, "classes": 3, "activation": "tanh"}),
    ("mlp", {"features": 3, "hidden": 4, "classes": 3, "activation": "relu"}),
    ("sigmoid-sum", {"features": 2, "hidden": 3}),
    ("sigmoid-sum", {"features": 1, "hidden": 4, "activation": "relu"}),
    ("logistic", {"features": 3}),
    ("linear", {"features": 2}),
    ("softmax", {"features": 3, "classes": 4}),
])
def test_the_general_kind_agrees_with_each_fast_kind(name, options):
    """The fast kinds are each checked against NumPy written by hand (test_compiled); the general
    stack computes every built-in network too, and the two agree."""
    model = derive.model(name, **options)
    fast = numeric.compile_model(model)
    kind = compiled_module._StackClassifier if fast.classifier else compiled_module._Stack
    general = kind(model, model.network())
    net = model.network()
    rng = np.random.default_rng(0)
    X = rng.standard_normal((11, net.features))
    if net.task == "classes":
        y = rng.integers(0, net.classes, 11)
    elif net.task == "binary":
        y = (rng.random(11) < 0.5).astype(float)
    else:
        y = rng.standard_normal(11)
    P = fast.init_params(1)
    assert general.loss(P, X, y) == pytest.approx(fast.loss(P, X, y), rel=1e-12)
    a, b = fast.grad(P, X, y), general.grad(P, X, y)
    assert list(a) == list(b)
    for k in a:
        np.testing.assert_allclose(b[k], a[k], rtol=1e-10, atol=1e-14, err_msg=k)
    np.testing.assert_allclose(general.predict(P, X), fast.predict(P, X), rtol=1e-12, atol=1e-15)
    if fast.classifier:
        assert general.accuracy(P, X, y) == fast.accuracy(P, X, y)
