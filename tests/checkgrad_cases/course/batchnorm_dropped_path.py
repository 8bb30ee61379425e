"""Planted bug: batchnorm's backward keeps only dx̂/σ, dropping the paths through the batch mean
and variance (CS231n's batchnorm_backward done too quickly). W1 and b1 are wrong; gamma1, beta1
and layer 2 are right."""
import batchnorm_net
from batchnorm_net import loss, params  # noqa: F401  (the protocol's names)

batchnorm_net.BUGS = ("bn-dropped-path",)
