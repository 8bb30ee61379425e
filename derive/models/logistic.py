"""Logistic regression: z = w1·x1 + w2·x2 + b, a = σ(z), dz = a − y, vectorized."""

from __future__ import annotations

from .base import Model, Option, classes_option, features_option, hidden_option  # noqa: F401


class Logistic(Model):
    name = "logistic"
    title = "Logistic regression"
    summary = "Logistic regression: z = w1·x1 + w2·x2 + b, a = σ(z), dz = a − y, vectorized"
    order = 30
    trainable = True
    options = (features_option(2),)

    def build(self, d) -> None:
        raise NotImplementedError("derivation not written yet")
