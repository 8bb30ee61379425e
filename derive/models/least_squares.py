"""Least squares: gradient, normal equations, closed form, convexity."""

from __future__ import annotations

from .base import Model, Option, classes_option, features_option, hidden_option  # noqa: F401


class LeastSquares(Model):
    name = "least-squares"
    title = "Least squares"
    summary = "Least squares: gradient, normal equations, closed form, convexity"
    order = 60
    trainable = True
    options = (features_option(1),)

    def build(self, d) -> None:
        raise NotImplementedError("derivation not written yet")
