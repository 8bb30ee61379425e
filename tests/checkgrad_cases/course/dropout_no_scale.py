"""Planted bug: inverted dropout's backward applies the mask but forgets the 1/keep scaling."""
import dropout_net
from dropout_net import loss, params  # noqa: F401  (the protocol's names)

dropout_net.BUGS = ("dropout-no-scale",)
