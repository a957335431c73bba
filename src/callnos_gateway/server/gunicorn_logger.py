"""gunicorn's logger, minus the access line nobody reads.

The app writes its own access line (``callnos_gateway/api/access_log.py``)
and ``callnos_gateway.telemetry.logs`` leaves gunicorn's ``gunicorn.access``
logger silent. gunicorn still builds its access atoms for every request
whenever a ``logconfig_dict`` is set (it cannot know the line will be
dropped): the whole WSGI environ and every header walked, a timestamp
formatted, ~0.03-0.17 ms of a worker's CPU per request. This logger skips
that while ``gunicorn.access`` would drop an INFO line, so turning that
logger on again (level INFO and a handler) brings gunicorn's line back.
"""

from __future__ import annotations

import logging

from gunicorn.glogging import Logger


class GatewayLogger(Logger):
    """``gunicorn.glogging.Logger`` whose access line is skipped, atoms and all, when it would be dropped."""

    @property
    def access_log_enabled(self) -> bool:
        return bool(super().access_log_enabled and self.access_log.isEnabledFor(logging.INFO)
                    and self.access_log.hasHandlers())
