"""The gateway's WSGI app without ``gc.freeze()``: the "before" of that change, for comparison.

``wsgi.py`` freezes the objects built at start-up out of the cyclic garbage
collector; ``python -m bench e2e --no-gc-freeze`` runs this module instead to
measure what that buys (mostly p99).
"""

import gc

from wsgi import app

gc.unfreeze()

__all__ = ["app"]
