"""The gateway app with no tracing hook installed: the baseline of the ``tracing`` bench section.

Against it the shipped app with tracing off shows what the hooks cost when
they find tracing off (one call each per request and per upstream exchange).
"""

from callnos_gateway.api import traces

traces.install = lambda app, transport, paths: None  # before the app is built

from callnos_gateway.wsgi import app  # noqa: E402

__all__ = ["app"]
