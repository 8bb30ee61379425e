"""Planted bug: inverted dropout's backward scales by 1/keep but forgets the mask."""
import dropout_net
from dropout_net import loss, params  # noqa: F401  (the protocol's names)

dropout_net.BUGS = ("dropout-no-mask",)
