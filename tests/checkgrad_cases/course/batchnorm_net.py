"""Correct: a CS231n-style net, affine - batchnorm - relu - affine - softmax, with L2; the fixed twin
of batchnorm_dropped_path.py."""
from cs231n_layers import net_loss, problem

X, y, params, _ = problem(31, batchnorm=True)
BUGS = ()


def loss(**P):
    return net_loss(P, X, y, batchnorm=True, bugs=BUGS, reg=0.05)
