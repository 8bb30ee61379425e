"""Linear regression: ŷ = b + w·x and the gradient of its squared error."""

from __future__ import annotations

from .base import Model, Option, classes_option, features_option, hidden_option  # noqa: F401


class Linear(Model):
    name = "linear"
    title = "Linear regression"
    summary = "Linear regression: ŷ = b + w·x and the gradient of its squared error"
    order = 40
    trainable = True
    options = (features_option(1),)

    def build(self, d) -> None:
        raise NotImplementedError("derivation not written yet")
