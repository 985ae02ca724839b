__version__ = "0.1.0"

from . import progress  # progress bars only on a terminal: logs get the epoch table, not bar frames
