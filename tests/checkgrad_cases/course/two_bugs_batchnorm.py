"""Two planted bugs: batchnorm's backward drops the mean and variance paths (W1, b1), and dW2 misses
its L2 term. Each block must get its own hint."""
import batchnorm_net
from batchnorm_net import loss, params  # noqa: F401  (the protocol's names)

batchnorm_net.BUGS = ("bn-dropped-path", "no-reg-W2")
