"""The registry of models: every module in this package that defines a ``Model`` subclass
with a ``name`` is a model. Adding a model means adding a file.

What the command line shows of a model before it derives anything (its name, summary and
options) is also written in ``CATALOGUE`` below, so that ``derive --help``, ``derive list``,
shell completion and a cached replay never import a model's module, nor SymPy with it. The
catalogue is a copy, kept honest by a test that compares it with the modules
(tests/test_startup.py); a model file that is not in it yet still works, found by importing the
modules the catalogue does not name.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from functools import lru_cache

from ..errors import said
from .base import Model, Option, classes_option, features_option, hidden_option


@dataclass(frozen=True)
class ModelInfo:
    """What is known of a model without importing its module: the class attributes that the
    command line shows, and the module that defines the class."""

    name: str
    module: str
    title: str
    summary: str
    order: int
    trainable: bool
    options: tuple[Option, ...] = ()

    @classmethod
    def of(cls, model: type[Model]) -> "ModelInfo":
        """The information of a model class (what its ``CATALOGUE`` entry must say)."""
        return cls(model.name, model.__module__.rpartition(".")[2], model.title, model.summary,
                   model.order, model.trainable, tuple(model.options))

    def values(self, given: dict) -> dict:
        """The model's option values for the options ``given``, each checked on its own as the
        model checks it; a check that needs the whole model (the convolution's filter against
        its padded image) is left to the model, which is built whenever no cached output exists."""
        return {o.name: o.coerce(given[o.name]) if o.name in given else o.default for o in self.options}


def _activation(default: str, help_: str, choices: tuple) -> Option:
    return Option("activation", default, help_, choices=choices)


CATALOGUE = (
    ModelInfo("derivative-intuition", "derivative_intuition", "Derivatives as slopes",
              "Derivatives as slopes: f(a) = 4a and f(a) = a² nudged by 0.001 at a = 2 and a = 5", 5, False),
    ModelInfo("chain-rule", "chain_rule", "The chain rule on a computation graph",
              "Chain rule: J = 3(a + bc) as u = bc, v = a + u, J = 3v; forward/backward table; h(x) = (3x²+2)⁴",
              10, False,
              (Option("at", "a=5,b=3,c=2", "the point of the forward/backward table, e.g. a=1,b=2,c=3"),)),
    ModelInfo("linear", "linear", "Linear regression",
              "Linear regression: ŷ = w·x + b and the gradient of its squared error", 15, True,
              (features_option(1),)),
    ModelInfo("least-squares", "least_squares", "Least squares",
              "Least squares: gradient, normal equations, closed form, convexity", 20, True,
              (features_option(1),)),
    ModelInfo("mle-binomial", "mle_binomial", "Maximum likelihood: binomial",
              "Binomial MLE: L(p) = C(n,k) p^k (1−p)^(n−k), dℓ/dp = 0 gives p̂ = k/n, a maximum", 25, False),
    ModelInfo("mle-gaussian", "mle_gaussian", "Maximum likelihood: Gaussian",
              "Gaussian MLE: ∂ℓ/∂μ = 0 and ∂ℓ/∂σ² = 0 give μ̂ = mean, σ̂² = mean squared deviation", 30, False),
    ModelInfo("cross-entropy", "cross_entropy", "Cross-entropy from maximum likelihood",
              "Binary cross-entropy: −log of the Bernoulli likelihood ŷ^y (1 − ŷ)^(1−y) gives L(ŷ, y)", 35, False),
    ModelInfo("logistic", "logistic", "Logistic regression",
              "Logistic regression: z = w1·x1 + w2·x2 + b, a = σ(z), dz = a − y, vectorized", 40, True,
              (features_option(2),)),
    ModelInfo("broadcasting", "broadcasting", "Broadcasting",
              "NumPy broadcasting: the notes' 4×3 + (3,) example, the rules, Z = W·X + b and the gradient db",
              45, False),
    ModelInfo("gradient-descent", "gradient_descent", "Gradient descent",
              "Gradient descent: θ, g = ∇L(θ), one update in numbers, steepest descent, batches and epochs",
              50, False),
    ModelInfo("sigmoid-sum", "sigmoid_sum", "Sum of sigmoids",
              "Sum of sigmoids: ŷ = b₀ + Σ c_i σ(b_i + Σ w_ij x_j), index and matrix forms", 55, True,
              (features_option(1), hidden_option(3),
               _activation("sigmoid", "the pieces' activation", ("sigmoid", "relu")))),
    ModelInfo("activations", "activations", "Activation functions",
              "Activations: derivatives of sigmoid, tanh, ReLU, Leaky ReLU, and the hard sigmoid as two ReLUs",
              60, False),
    ModelInfo("perceptron", "perceptron", "Perceptron logic gates",
              "Perceptron: y = step(w1·x1 + w2·x2 − θ) gives AND, OR, NOT; the step has no gradient", 65, False),
    ModelInfo("softmax", "softmax", "Softmax output with cross-entropy",
              "Softmax output with cross-entropy: ∂C/∂z_k = ŷ_k − y_k", 70, True,
              (features_option(64), classes_option(10))),
    ModelInfo("mlp", "mlp", "One hidden layer and a softmax output",
              "One hidden layer and a softmax output: forward and backward pass in matrix form", 75, True,
              (features_option(64), hidden_option(32), classes_option(10),
               _activation("sigmoid", "hidden activation g", ("sigmoid", "tanh", "relu")))),
    # deep's --layers is normalized by the model (deep.LayersOption); here it is the plain
    # string, so a cache key may keep the user's spelling: another entry, never another output
    ModelInfo("deep", "deep", "An L-layer network",
              "An L-layer network: the general layer l, forward and backward, with its caches", 80, True,
              (Option("layers", "64,32,16,10", "layer sizes n[0],…,n[L]: inputs, hidden units, classes"),
               _activation("relu", "hidden activation g", ("relu", "tanh", "sigmoid")))),
    ModelInfo("conv", "conv", "Convolution: edge detection, padding, and the convolution layer's gradient",
              "Convolution: edge detection, padding, output size ⌊(n + 2p − f)/s⌋ + 1; conv and pooling backward",
              85, True,
              (Option("size", 6, "side n of the (square) image", minimum=1),
               Option("filter", 3, "side f of the (square) filter", minimum=1),
               Option("padding", 1, "padding p on each side", minimum=0),
               Option("stride", 1, "stride s", minimum=1))),
    ModelInfo("rnn", "rnn", "A recurrent network and back-propagation through time",
              "Vanilla RNN a⟨t⟩ = tanh(W_aa·a⟨t−1⟩ + W_ax·x⟨t⟩ + b_a): BPTT with the carried gradient", 90, True,
              (Option("hidden", 64, "number of hidden units", minimum=1),
               Option("seq_length", 25, "sequence length T: the time steps of each training window", minimum=2))),
    ModelInfo("attention", "attention", "Scaled dot-product attention and its gradients",
              "Attention O = softmax(Q·Kᵀ/√d_k)·V: dV = Pᵀ·dO, dS through the softmax Jacobian, dQ, dK",
              95, True),
)


def model_modules() -> list[str]:
    """The modules of this package that may define models (all but ``base`` and private ones)."""
    names = (entry[:-3] for folder in __path__ for entry in os.listdir(folder) if entry.endswith(".py"))
    return sorted(name for name in names if not name.startswith("_") and name != "base")


def models_in(module_name: str) -> list[type[Model]]:
    """The model classes that module ``module_name`` of this package defines."""
    module = importlib.import_module(f"{__name__}.{module_name}")
    return [obj for obj in vars(module).values()
            if isinstance(obj, type) and issubclass(obj, Model) and obj.__module__ == module.__name__
            and getattr(obj, "name", None)]


class Registry:
    @lru_cache(maxsize=1)
    def _infos(self) -> dict[str, ModelInfo]:
        found = {info.name: info for info in CATALOGUE}
        listed = {info.module for info in CATALOGUE}
        for module_name in model_modules():
            if module_name not in listed:
                found.update((m.name, ModelInfo.of(m)) for m in models_in(module_name))
        return dict(sorted(found.items(), key=lambda kv: (kv[1].order, kv[0])))

    def names(self) -> list[str]:
        """Model names in the order the notes teach them."""
        return list(self._infos())

    def info(self, name: str) -> ModelInfo:
        """What the command line shows of model ``name``, without importing its module."""
        infos = self._infos()
        if name not in infos:
            raise said(f"unknown model {name!r}; models: {', '.join(infos)}",
                       f"没有模型 {name!r}；模型有：{', '.join(infos)}")
        return infos[name]

    def get(self, name: str) -> type[Model]:
        """The class of model ``name`` (this imports its module)."""
        info = self.info(name)
        return next(m for m in models_in(info.module) if m.name == name)


registry = Registry()
