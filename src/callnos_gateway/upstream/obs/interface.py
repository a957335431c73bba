"""What the gateway knows of each upstream interface: its path setting, token and retry rule.

One ``Interface`` value per upstream interface, defined in the module named
after it (``callnos_gateway/upstream/obs/tasks.py`` holds ``TASKS``). The path comes from
``CALLNOS_PATH_<NAME>`` (``Settings.paths[name]``), else the documented one.

Two retry rules, because requests differ in what a repeat costs:

- ``NEVER_RESEND``: callnos takes records, a write-back may write a second
  row, login may invalidate earlier tokens. Once the request may have
  reached the upstream (read timeout, connection lost, any answer), it is
  not sent again. Only a connection that failed before sending is retried
  (``callnos_gateway.upstream.transport``), and a 401/403 once with a new token (the refused
  request did nothing).
- ``ONCE_MORE``: reads (tasks, isholiday, discovery) take nothing, so after a
  read timeout, a broken connection or a 5xx they are sent once more.
"""

from __future__ import annotations

from dataclasses import dataclass

from callnos_gateway.settings.upstream_paths import DOCUMENTED_PATHS, path_setting
from callnos_gateway.errors import UpstreamConnectionLost, UpstreamError, UpstreamHTTPError, UpstreamTimeout



@dataclass(frozen=True, slots=True)
class RetryRule:
    """How many more times a request that may have arrived is sent, and after what."""

    name: str
    extra_attempts: int

    def allows(self, error: UpstreamError) -> bool:
        """Whether this failure, after sending, may be answered by sending again."""
        if self.extra_attempts == 0:
            return False
        if isinstance(error, UpstreamHTTPError):
            return int(error.extra.get("upstream_status", 0)) >= 500
        return isinstance(error, (UpstreamTimeout, UpstreamConnectionLost))


NEVER_RESEND = RetryRule("never re-sent once it may have arrived", 0)
ONCE_MORE = RetryRule("sent once more after a read timeout, a lost connection or a 5xx", 1)


@dataclass(frozen=True, slots=True)
class Interface:
    """One upstream interface: its settings name, documented path, retry rule and failure warning."""

    name: str  # key of ``Settings.paths`` and of ``settings.upstream_paths.DOCUMENTED_PATHS``
    retry: RetryRule
    warning: str  # what a failure after sending means for the client (see callnos_gateway.errors)
    business: bool = True  # carries the CALLNOS_BUSINESS_TOKEN kind of token

    @property
    def default_path(self) -> str:
        """The documented path, unless ``CALLNOS_PATH_<NAME>`` overrides it."""
        return DOCUMENTED_PATHS[self.name]

    @property
    def setting(self) -> str:
        """The environment variable that overrides the path."""
        return path_setting(self.name)
