"""Keep an upstream answer the gateway could not read, so its records can be recovered.

When callnos answers 2xx with a body that is not JSON or not the expected
shape, the upstream has already taken the batch off its queue: the records
are in that body and nowhere else. The client gets a 502; the body goes to a
file named after the batch id (which the problem answer carries), readable by
the gateway's user only, so ops can recover the records by hand. Pure file
I/O, no Flask.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

FILE_MODE = 0o600


class DeadLetters:
    """A directory of unreadable upstream answers, one file per batch."""

    def __init__(self, directory: str | None) -> None:
        self.directory = Path(directory) if directory else None

    def keep(self, batch_id: str, body: bytes) -> Path | None:
        """Write ``body`` as ``<batch_id>.body``; None when disabled or the write fails."""
        if self.directory is None:
            return None
        path = self.directory / f"{batch_id}.body"
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
            with os.fdopen(descriptor, "wb") as file:
                file.write(body)
                file.flush()
                os.fsync(file.fileno())
        except OSError as error:
            log.error("could not keep an unreadable upstream answer: %s", error.strerror,
                      extra={"batch_id": batch_id, "bytes": len(body)})
            return None
        log.warning("kept an unreadable upstream answer for recovery",
                    extra={"batch_id": batch_id, "bytes": len(body), "dead_letter": str(path)})
        return path
