"""The shared command helpers under their former private name, for modules not yet importing
:mod:`mesovision.commands.common`. New code imports ``common``."""

from .common import *  # noqa: F403
from .common import __all__  # noqa: F401
