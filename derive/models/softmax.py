"""Softmax output with cross-entropy: ∂L/∂z_k = ŷ_k − y_k."""

from __future__ import annotations

from .base import Model, Option, classes_option, features_option, hidden_option  # noqa: F401


class Softmax(Model):
    name = "softmax"
    title = "Softmax output with cross-entropy"
    summary = "Softmax output with cross-entropy: ∂L/∂z_k = ŷ_k − y_k"
    order = 90
    trainable = True
    options = (features_option(64), classes_option(10),)

    def build(self, d) -> None:
        raise NotImplementedError("derivation not written yet")
