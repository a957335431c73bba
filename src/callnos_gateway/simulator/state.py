"""Everything one simulator instance shares between its request threads.

Why a separate module: the handler, the control routes and the ``Simulator``
facade all need the same objects, and none of them should build the others.
"""

from __future__ import annotations

import itertools
import threading
from typing import Any

from .answers import AnswerMaker
from .config import SimulatorConfig
from .faults import FaultBook, parse_targeted
from .queues import TaskQueues
from .stats import Stats
from .tokens import TokenStore
from .write_book import WriteBook


class SimState:
    """Config plus the live parts: tokens, queues, faults, stats, answer maker."""

    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self.tokens = self._new_tokens()
        self.queues = TaskQueues(config.records_per_task)
        self.faults = FaultBook()
        self.stats = Stats(config.auth_header)
        self.writes = WriteBook()
        self.turns = itertools.count()  # alternation of the mixed answer modes
        self.answers = AnswerMaker(config)
        self.precomputed: dict[tuple[int, int], bytes] = {}
        self.stopping = threading.Event()  # wakes sleeping faults at shutdown
        self.apply_configured_faults()

    def _new_tokens(self) -> TokenStore:
        cfg = self.config
        return TokenStore(cfg.token_ttl, cfg.refresh_ttl, cfg.static_tokens, invalidating_login=cfg.invalidating_login)

    def apply_configured_faults(self) -> None:
        """Install the run faults named in the configuration (``endpoint=spec``)."""
        for text in self.config.faults:
            endpoint, fault = parse_targeted(text)
            self.faults.set_run(endpoint, fault.spec)

    def reset(self) -> None:
        """Forget queues, stats, faults and tokens; back to the configured start."""
        self.tokens = self._new_tokens()
        self.queues.clear()
        self.faults.clear()
        self.stats.reset()
        self.writes.reset()
        self.turns = itertools.count()
        self.answers.reset()
        self.apply_configured_faults()

    def snapshot(self) -> dict[str, Any]:
        """Every counter, plus the write-backs and ``per_task``: records taken, final results, waiting."""
        counters = self.stats.snapshot()
        counters.update(self.writes.snapshot(counters["by_task"]))
        return counters
