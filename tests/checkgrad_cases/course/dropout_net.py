"""Correct: a CS231n-style net with inverted dropout (keep 0.8, a fixed mask as CS231n's seeded
dropout_param gives), affine - relu - dropout - affine - softmax; the fixed twin of
dropout_no_mask.py and dropout_no_scale.py."""
from cs231n_layers import net_loss, problem

X, y, params, MASK = problem(32)
BUGS = ()


def loss(**P):
    return net_loss(P, X, y, keep=0.8, mask=MASK, bugs=BUGS, reg=0.05)
