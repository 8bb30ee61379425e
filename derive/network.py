"""A trainable model as a network: what ``numeric`` compiles, trains, plots and checks.

A model that can be trained declares its ``network()``: the layers of one example's forward pass,
the per-example loss, the built-in data set and the training settings that suit it. Everything
numeric about a model is read from this description, never from the model's name, and the
description is pure SymPy, so that ``derive`` never imports NumPy.

The description also knows the names the model's derivation gives to the entries of its
parameters (``W1_2_1``, ``w1``, ``c_2``), so that a test can rebuild the network's loss from the
description and compare it with the loss the derivation defines: the trainer and the
derivation then provably mean the same function.

>>> from derive.functions import sigmoid
>>> net = Network(2, (Dense(None, Param("w", "w{i}"), Param("b", "b")),), "sigmoid-cross-entropy",
...               Training("blobs", lr=0.5, epochs=200, optimizer="gd"))
>>> net.param_shapes()
{'w': (2,), 'b': ()}
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sympy as sp

from .functions import sigmoid

# The per-example losses numeric knows, and what each one makes the model predict.
LOSSES = {
    "squared": "regression",                # (ŷ − y)², ŷ the last layer's output
    "sigmoid-cross-entropy": "binary",      # −y log σ(z) − (1 − y) log(1 − σ(z)), z the logit
    "softmax-cross-entropy": "classes",     # −Σ_k y_k log softmax(z)_k, y one-hot
}


@dataclass(frozen=True)
class Param:
    """A parameter array: its name in ``numeric`` and the derivation's name of one entry.

    ``entry`` is a template with ``{o}`` (the output unit, from 1) and ``{i}`` (the input, from
    1): ``"W1_{o}_{i}"`` names W1's entry for hidden unit 2 and input 1 ``W1_2_1``.
    """

    name: str
    entry: str


@dataclass(frozen=True)
class Dense:
    """One layer: z = W·a + b, then ``activation`` elementwise.

    Attributes
    ----------
    units : int or None
        Outputs per example; None for one number per example (the weight is then a vector of
        shape (inputs,) and the bias a scalar).
    weight, bias : Param
    activation : SymPy function class or None
        ``sigmoid``, ``tanh``, ``relu``, ``hard_sigmoid`` …; None is the identity (the output
        layer, whose nonlinearity belongs to the loss).
    layout : {"in,out", "out,in"}
        How ``numeric`` stores the weight: shape (inputs, units), or (units, inputs).
    """

    units: int | None
    weight: Param
    bias: Param
    activation: type | None = None
    layout: str = "in,out"

    def shapes(self, inputs: int) -> dict:
        if self.units is None:
            return {self.weight.name: (inputs,), self.bias.name: ()}
        w = (inputs, self.units) if self.layout == "in,out" else (self.units, inputs)
        return {self.weight.name: w, self.bias.name: (self.units,)}


#: The characters of the built-in text (``numeric.datasets.text``): lower-case letters, the space
#: and the punctuation kept; a character-level model's inputs and classes are these, in this order.
TEXT_ALPHABET = " !',-.:;?abcdefghijklmnopqrstuvwxyz"
TEXT_VOCABULARY = len(TEXT_ALPHABET)


@dataclass(frozen=True)
class Recurrent:
    """A recurrent layer over a sequence of one-hot codes: a⟨t⟩ = tanh(W_aa·a⟨t−1⟩ + W_ax·x⟨t⟩ + b_a),
    a⟨0⟩ = 0, the weights stored as the notes write them (W_aa of shape (units, units), W_ax of
    shape (units, inputs)). A network that starts with it reads rows of ``features`` codes (one
    per time step) and its output layer predicts the next code at every step.

    Attributes
    ----------
    units : int
        n_a, the activation's size.
    recurrent, weight, bias : Param
        W_aa, W_ax and b_a.
    inputs : int
        n_x, the number of codes (a one-hot input has this many entries).
    """

    units: int
    recurrent: Param
    weight: Param
    bias: Param
    inputs: int = TEXT_VOCABULARY
    activation: type = sp.tanh

    def shapes(self, inputs: int) -> dict:
        # the row's width is the number of steps; the input of one step is a one-hot code
        return {self.recurrent.name: (self.units, self.units), self.weight.name: (self.units, self.inputs),
                self.bias.name: (self.units,)}


@dataclass(frozen=True)
class Conv:
    """A convolution layer over square images (cross-correlation, as deep-learning libraries
    define it): ``filters`` filters of side ``filter`` over ``channels`` input channels of side
    ``side``, zero padding ``padding`` and stride ``stride``, then ``activation`` elementwise.

    An example's values are stored channel by channel, each image row by row, so that a layer's
    outputs (filter, row, column) are the next layer's inputs.

    Attributes
    ----------
    filters, filter, channels, side, padding, stride : int
    weight : Param
        Of shape (filters, channels, filter, filter); entry template with ``{o}`` the filter.
    bias : Param
        One per filter.
    activation : SymPy function class or None
    """

    filters: int
    filter: int
    weight: Param
    bias: Param
    activation: type | None = None
    channels: int = 1
    side: int = 8
    padding: int = 0
    stride: int = 1

    @property
    def out_side(self) -> int:
        """⌊(n + 2p − f)/s⌋ + 1."""
        return (self.side + 2 * self.padding - self.filter) // self.stride + 1

    @property
    def units(self) -> int:
        """Outputs per example: filters × out_side²."""
        return self.filters * self.out_side ** 2

    def shapes(self, inputs: int) -> dict:
        if inputs != self.channels * self.side ** 2:
            raise ValueError(f"a convolution over {self.channels} × {self.side} × {self.side} gets {inputs} inputs")
        return {self.weight.name: (self.filters, self.channels, self.filter, self.filter),
                self.bias.name: (self.filters,)}


@dataclass(frozen=True)
class Pool:
    """Pooling over windows of ``size`` × ``size`` with stride ``size`` ("max" or "average"),
    channel by channel; rows and columns beyond the last whole window are dropped."""

    channels: int
    side: int
    size: int = 2
    kind: str = "max"
    activation = None

    @property
    def out_side(self) -> int:
        return self.side // self.size

    @property
    def units(self) -> int:
        return self.channels * self.out_side ** 2

    def shapes(self, inputs: int) -> dict:
        return {}


@dataclass(frozen=True)
class Attention:
    """Scaled dot-product self-attention over the tokens of one example: its values are read as
    ``tokens`` rows of ``width`` (row by row), Q = X·Wq, K = X·Wk (``key`` columns), V = X·Wv
    (``value`` columns), and the layer's outputs are O = softmax(Q·Kᵀ/√key)·V, row by row."""

    tokens: int
    width: int
    key: int
    value: int
    query_weight: Param
    key_weight: Param
    value_weight: Param
    activation = None

    @property
    def units(self) -> int:
        return self.tokens * self.value

    def shapes(self, inputs: int) -> dict:
        if inputs != self.tokens * self.width:
            raise ValueError(f"attention over {self.tokens} tokens of {self.width} gets {inputs} inputs")
        return {self.query_weight.name: (self.width, self.key), self.key_weight.name: (self.width, self.key),
                self.value_weight.name: (self.width, self.value)}


@dataclass(frozen=True)
class Training:
    """The built-in data set (a name in ``numeric.datasets``) and settings that train well on it.

    ``options`` are model options that suit the data better than the model's defaults (e.g.
    more hidden units); an option the user gives wins, except those named in ``required``, which
    the built-in data set needs (the side of its images). ``clip``: the largest norm an update's
    gradient may have (a larger one is scaled down to it), or None.
    """

    data: str
    lr: float
    epochs: int
    optimizer: str
    batch_size: int | None = None
    options: dict = field(default_factory=dict)
    clip: float | None = None
    required: tuple = ()


@dataclass(frozen=True)
class Network:
    """One example's forward pass and loss, as ``numeric`` needs it.

    Attributes
    ----------
    features : int
        Inputs per example.
    layers : tuple of Dense
        In order from the input.
    loss : str
        A key of ``LOSSES``.
    training : Training
    inputs, target : str
        The derivation's names of one example's inputs (template with ``{i}``) and target (with
        ``{o}`` for a one-hot target). With ``examples`` > 1, ``{n}`` numbers the example.
    examples : int
        How many examples the derivation's loss ``L`` is written for.
    total : bool
        The derivation's ``L`` is the sum over the examples (least squares), not the mean that
        the trainer minimizes; both have the same minimizer and proportional gradients.
    """

    features: int
    layers: tuple
    loss: str
    training: Training
    inputs: str = "x_{i}"
    target: str = "y"
    examples: int = 1
    total: bool = False

    def __post_init__(self):
        if self.loss not in LOSSES:
            raise ValueError(f"unknown loss {self.loss!r}")

    @property
    def task(self) -> str:
        """"regression", "binary" or "classes"."""
        return LOSSES[self.loss]

    @property
    def classes(self) -> int | None:
        """The number of classes of a classifier over classes, else None."""
        return self.layers[-1].units if self.task == "classes" else None

    @property
    def hidden(self) -> tuple:
        """The layers before the output layer."""
        return self.layers[:-1]

    @property
    def affine(self) -> bool:
        """One layer with one output and no activation: z = x·w + b (linear and logistic
        regression, with their losses)."""
        (layer, *more) = self.layers
        return not more and layer.units is None and layer.activation is None

    @property
    def sum_of_pieces(self) -> bool:
        """ŷ = b + Σ_i c_i g(b_i + W_i·x) with the squared error: one hidden layer of pieces
        and one output without activation (the notes' red curve)."""
        if len(self.layers) != 2 or self.loss != "squared":
            return False
        pieces, out = self.layers
        return (pieces.units is not None and pieces.activation is not None
                and out.units is None and out.activation is None)

    def param_shapes(self) -> dict:
        """Parameter names and shapes, layer by layer (weight, then bias)."""
        shapes, inputs = {}, self.features
        for layer in self.layers:
            shapes.update(layer.shapes(inputs))
            inputs = layer.units
        return shapes

    # The loss as an expression: what the derivation's L must equal ---------------------------------
    def loss_expr(self) -> sp.Expr:
        """The loss over ``examples`` examples (mean, or sum when ``total``) with the
        derivation's names for every input, target and parameter entry."""
        per_example = [self._example_loss(n) for n in range(1, self.examples + 1)]
        total = sp.Add(*per_example)
        return total if self.total else total / self.examples

    def _name(self, template: str, n: int, **index) -> sp.Symbol:
        return sp.Symbol(template.format(n=n, **index))

    def _example_loss(self, n: int) -> sp.Expr:
        if isinstance(self.layers[0], Recurrent):
            return self._sequence_loss()
        a = [self._name(self.inputs, n, i=i) for i in range(1, self.features + 1)]
        for layer in self.layers:
            units = 1 if layer.units is None else layer.units
            z = []
            for o in range(1, units + 1):
                w = [sp.Symbol(layer.weight.entry.format(o=o, i=i)) for i in range(1, len(a) + 1)]
                z.append(sp.Add(*[wi * ai for wi, ai in zip(w, a)]) + sp.Symbol(layer.bias.entry.format(o=o)))
            a = z if layer.activation is None else [layer.activation(v) for v in z]
        if self.loss == "squared":
            return (a[0] - self._name(self.target, n)) ** 2
        if self.loss == "sigmoid-cross-entropy":
            y, p = self._name(self.target, n), sigmoid(a[0])
            return -(y * sp.log(p) + (1 - y) * sp.log(1 - p))
        total = sp.Add(*[sp.exp(v) for v in a])
        return -sp.Add(*[self._name(self.target, n, o=o) * sp.log(sp.exp(v) / total)
                         for o, v in enumerate(a, 1)])

    def _sequence_loss(self) -> sp.Expr:
        """A recurrent network's L = Σ_t L⟨t⟩ over its ``features`` steps: x⟨t⟩ has entries
        ``x{t}_{i}``, the one-hot target y⟨t⟩ entries ``y{t}_{o}``, and a⟨0⟩ = 0."""
        cell, out = self.layers

        def affine(layer_weight, inputs, o):
            return sp.Add(*[sp.Symbol(layer_weight.entry.format(o=o, i=i)) * v for i, v in enumerate(inputs, 1)])

        a, total = [sp.S.Zero] * cell.units, sp.S.Zero
        for t in range(1, self.features + 1):
            x = [sp.Symbol(f"x{t}_{i}") for i in range(1, cell.inputs + 1)]
            a = [cell.activation(affine(cell.recurrent, a, o) + affine(cell.weight, x, o)
                                 + sp.Symbol(cell.bias.entry.format(o=o))) for o in range(1, cell.units + 1)]
            scores = [affine(out.weight, a, o) + sp.Symbol(out.bias.entry.format(o=o)) for o in range(1, out.units + 1)]
            total += sp.log(sp.Add(*map(sp.exp, scores))) - sp.Add(
                *[sp.Symbol(f"y{t}_{o}") * v for o, v in enumerate(scores, 1)])
        return total
