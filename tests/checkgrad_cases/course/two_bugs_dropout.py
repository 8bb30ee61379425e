"""Two planted bugs: inverted dropout's backward forgets the mask (layer 1), and dW2 misses its L2
term. Each block must get its own hint."""
import dropout_net
from dropout_net import loss, params  # noqa: F401  (the protocol's names)

dropout_net.BUGS = ("dropout-no-mask", "no-reg-W2")
