"""The timing harness: interleaved repeats, medians, and what the machine was doing.

Why interleaved: other work shares this machine, and its load drifts. Timing
every contender once per round, round after round, lets the drift touch them
all alike; the median of the rounds then drops the rounds it hit hardest.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import sysconfig
import time
import timeit
from collections.abc import Callable, Mapping

MIN_REPEAT_SECONDS = 0.02  # long enough for the clock, short enough for 3 minutes in all


def calls_per_repeat(func: Callable[[], object], min_seconds: float = MIN_REPEAT_SECONDS) -> int:
    """How many calls make one repeat last at least ``min_seconds`` (after a warm-up call)."""
    func()
    number = 1
    while True:
        elapsed = timeit.Timer(func).timeit(number)
        if elapsed >= min_seconds:
            return number
        number *= max(2, min(10, int(min_seconds / max(elapsed, 1e-9)) + 1))


def interleaved_medians(contenders: Mapping[str, Callable[[], object]], rounds: int) -> dict[str, float]:
    """Median seconds per call of each contender, timed once per round in turn."""
    numbers = {name: calls_per_repeat(func) for name, func in contenders.items()}
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(rounds):
        for name, func in contenders.items():
            samples[name].append(timeit.Timer(func).timeit(numbers[name]) / numbers[name])
    return {name: statistics.median(times) for name, times in samples.items()}


def machine() -> dict[str, object]:
    """The facts a reader needs to compare figures: cores, load, interpreter, build."""
    return {
        "when": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "cores": os.cpu_count(),
        "cpu": _cpu_model(),
        "load_average": [round(value, 2) for value in os.getloadavg()],
        "python": sys.version.split()[0],
        "python_build_optimized": "--enable-optimizations" in (sysconfig.get_config_var("CONFIG_ARGS") or ""),
        "platform": platform.platform(),
    }


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"
