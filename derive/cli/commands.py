"""Importing a module here adds its commands to the ``derive`` group."""

from . import model_command  # noqa: F401  (derive list, derive NAME)
from . import expr  # noqa: F401  (derive expr)
from . import notes  # noqa: F401  (derive notes)
from . import train  # noqa: F401  (derive train)
from . import check_grad  # noqa: F401  (derive check-grad)
