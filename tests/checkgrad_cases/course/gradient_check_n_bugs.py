"""Planted bugs as in the deeplearning.ai Gradient Checking notebook: a 4-5-3-1 ReLU/sigmoid net whose
backward doubles dW2 and takes db1 with 4/m instead of 1/m. Two bugs in two layers: each block must
get its own factor."""
import numpy as np
from dnn_app_utils_v3 import L_model_backward, L_model_forward, compute_cost, initialize_parameters_deep

rng = np.random.default_rng(1)
X, Y = rng.standard_normal((4, 3)), np.array([[1.0, 1.0, 0.0]])
params = initialize_parameters_deep([4, 5, 3, 1])
for l in (1, 2, 3):
    params[f"b{l}"] = 0.1 + 0.2 * rng.random(params[f"b{l}"].shape)   # away from ReLU's kink


def loss(**p):
    AL, caches = L_model_forward(X, p)
    grads = L_model_backward(AL, Y, caches)
    grads["dW2"] = grads["dW2"] * 2          # BUG, as planted in the notebook
    grads["db1"] = grads["db1"] * 4          # BUG: 4/m where 1/m belongs
    return compute_cost(AL, Y), grads
