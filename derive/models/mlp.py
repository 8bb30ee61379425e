"""One hidden layer and a softmax output: forward and backward pass in matrix form."""

from __future__ import annotations

from .base import Model, Option, classes_option, features_option, hidden_option  # noqa: F401


class MLP(Model):
    name = "mlp"
    title = "One hidden layer and a softmax output"
    summary = "One hidden layer and a softmax output: forward and backward pass in matrix form"
    order = 100
    trainable = True
    options = (features_option(64), hidden_option(32), classes_option(10), Option("activation", "sigmoid", "hidden activation g", choices=("sigmoid", "tanh", "relu")),)

    def build(self, d) -> None:
        raise NotImplementedError("derivation not written yet")
