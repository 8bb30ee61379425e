"""Sum of sigmoids: ŷ = b + Σ c_i σ(b_i + Σ w_ij x_j), index and matrix forms."""

from __future__ import annotations

from .base import Model, Option, classes_option, features_option, hidden_option  # noqa: F401


class SigmoidSum(Model):
    name = "sigmoid-sum"
    title = "Sum of sigmoids"
    summary = "Sum of sigmoids: ŷ = b + Σ c_i σ(b_i + Σ w_ij x_j), index and matrix forms"
    order = 50
    trainable = True
    options = (features_option(1), hidden_option(3), Option("activation", "sigmoid", "the pieces' activation", choices=("sigmoid", "relu")),)

    def build(self, d) -> None:
        raise NotImplementedError("derivation not written yet")
