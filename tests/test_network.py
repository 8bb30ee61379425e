"""Every trainable model's network (what numeric trains) has the derivation's loss.

The network description is rebuilt as a SymPy expression from its layers and compared with the
loss ``L`` that the model's derivation defines, at the derivation's own small sizes: the
trainer and the derivation then mean the same function (same pieces, same kinks)."""

import pytest
import sympy as sp

import derive
from derive.functions import to_elementary
from derive.verify import expand_defs, numerically_equal

TRAINABLE = [n for n in derive.model_names() if derive.model(n).trainable]
VARIANTS = [(n, {}) for n in TRAINABLE] + [
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
    L = _plain(expand_defs(sp.Symbol("L"), d.defs), net.examples)
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
