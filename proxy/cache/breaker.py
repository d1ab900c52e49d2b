"""The circuit breaker of the shared tier: a hung or partitioned Redis costs one short timeout, then nothing.

The shared tier is an optimisation, so a request must never wait for it to come back.  After a failure (a timeout,
a refused or broken connection) the breaker *opens*: every call is skipped at once, as a miss or a no-op, for a
cool-down.  Then one call is let through as a probe (*half-open*) while the others keep being skipped; its success
closes the breaker again, its failure opens it for another cool-down.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, Literal

log = logging.getLogger("proxy.cache")

State = Literal["closed", "open", "half-open"]


class Breaker:
    """Open / half-open / closed, with the counters ``/arcbridge/stats`` shows.

    :meth:`admit` says whether a call may go ahead and in which state it was admitted; the caller then reports
    :meth:`success`, :meth:`failure` or :meth:`abandon` with that state, so that only the probe decides the outcome
    of a half-open breaker (a call admitted earlier that ends late says nothing about the server now).
    """

    def __init__(self, cooldown: float, name: str = "shared tier",
                 clock: Callable[[], float] = time.monotonic, wall: Callable[[], float] = time.time) -> None:
        self.cooldown = cooldown
        self.name = name
        self._clock = clock  # monotonic: cool-downs must not follow wall-clock jumps
        self._wall = wall  # only for what the statistics show
        self.state: State = "closed"
        self.skipped = 0
        self.opened = 0
        self.last_failure: float | None = None
        self.last_error: str | None = None
        self._open_until = 0.0

    def admit(self) -> State | None:
        """The state a call is admitted in ("closed", or "half-open" for the one probe), or None: skip it."""
        if self.state == "closed":
            return "closed"
        if self.state == "open" and self._clock() >= self._open_until:
            self.state = "half-open"  # this caller is the probe; the others are skipped until it ends
            return "half-open"
        self.skipped += 1
        return None

    def success(self, admitted: State) -> None:
        """A call admitted in ``admitted`` reached the server."""
        if admitted == "half-open" and self.state == "half-open":
            self.state = "closed"
            log.warning("%s is reachable again: breaker closed (%d calls skipped so far)", self.name, self.skipped)

    def failure(self, admitted: State, error: BaseException) -> None:
        """A call admitted in ``admitted`` timed out or could not connect."""
        self.last_failure = self._wall()
        self.last_error = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        if self.state == "closed" or (admitted == "half-open" and self.state == "half-open"):
            reopening = self.state == "half-open"
            self.state = "open"
            self.opened += 1
            self._open_until = self._clock() + self.cooldown
            if reopening:  # still down: once per cool-down, not worth a warning each time
                log.info("%s still unreachable (%s): breaker open for another %gs",
                         self.name, self.last_error, self.cooldown)
            else:
                log.warning("%s unreachable (%s): breaker open, calls skipped for %gs",
                            self.name, self.last_error, self.cooldown)

    def abandon(self, admitted: State) -> None:
        """A call admitted in ``admitted`` ended without an answer either way (cancelled): a probe that never
        finished must not leave the breaker half-open for good, so the next call probes again."""
        if admitted == "half-open" and self.state == "half-open":
            self.state = "open"
            self._open_until = self._clock()

    def snapshot(self) -> dict[str, Any]:
        """The breaker's part of the ``shared`` statistics (times are Unix seconds)."""
        open_until = None
        if self.state == "open":
            open_until = round(self._wall() + max(0.0, self._open_until - self._clock()), 3)
        return {"state": self.state, "skipped": self.skipped, "opened": self.opened,
                "lastFailure": round(self.last_failure, 3) if self.last_failure is not None else None,
                "lastError": self.last_error, "openUntil": open_until}
