"""The gateway's WSGI app with its start-up objects frozen out of the collector: an experiment.

Why: a full (generation 2) collection walks every object a worker holds,
~70,000 once the app is built, and takes ~25 ms on the 2-core benchmark
machine; about one request in 250 meets one, which is most of the p99.
``gc.freeze()`` after the app is built moves those objects to a permanent
generation that collections skip. ``python -m bench e2e --gc-freeze`` runs
the gateway with this module instead of ``wsgi.py``; without ``preload_app``
each worker imports it, so each worker freezes its own heap.
"""

import gc

from wsgi import app

gc.freeze()

__all__ = ["app"]
