"""Exponential backoff with full jitter (as AWS describes it): wait a random time between
zero and the attempt's ceiling, so that clients cut off together do not return together."""

import random
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Backoff:
    base: float = 0.5
    cap: float = 30.0
    random: Callable[[], float] = random.random

    def ceiling(self, attempt: int) -> float:
        """Return the longest wait before attempt `attempt` (0 first)."""
        return min(self.cap, self.base * 2.0 ** min(attempt, 32))

    def delay(self, attempt: int) -> float:
        """Return the wait before attempt `attempt`: uniform in [0, ceiling)."""
        return self.random() * self.ceiling(attempt)
