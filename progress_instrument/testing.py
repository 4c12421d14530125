"""Test your own instrumented code: capture the events and trees it produces (SPEC §7).

Inside `capture_events()` every new root sends its events to the capture, time stands still
until the test moves the fake clock, and nothing is delivered by a background thread: events
arrive when a root finishes, when `FakeClock.advance()` runs a flush (as the flushing thread
would after that much time), or on `CapturedEvents.flush()`. So tests are exact and need no sleeps.

Example:
    >>> from progress_instrument import ProgressReport
    >>> from progress_instrument.testing import capture_events
    >>> with capture_events() as captured:
    ...     with ProgressReport("job", steps=2) as job:
    ...         job.advance()
    ...         captured.clock.advance(0.1)
    ...         job.advance()
    >>> [event["event"] for event in captured.events]
    ['start', 'progress', 'snapshot', 'finish']
    >>> captured.roots[0].to_dict() == job.to_dict()
    True
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from . import _config
from ._clock import clocks
from ._config import DEFAULT_MIN_INTERVAL, configure
from ._flusher import core
from ._tree import ProgressReport
from ._tree_builder import TreeBuilder

__all__ = ["CapturedEvents", "FakeClock", "capture_events"]


class FakeClock:
    """Wall and monotonic time that move only when `advance()` is called.

    Args:
        start: The wall-clock time (epoch seconds) to start at.
    """

    def __init__(self, start: float = 1_000_000.0) -> None:
        self.now = float(start)

    def wall(self) -> float:
        """Epoch seconds."""
        return self.now

    def monotonic(self) -> float:
        """Seconds on a monotonic scale (a different origin than `wall`, as in real life)."""
        return self.now - 999_000.0

    def advance(self, seconds: float) -> None:
        """Move time forward and run one flush, as the flushing thread would after `seconds`.

        The flush samples loop positions and delivers pending events, with ``progress`` events
        coalesced to one per report per ``min_interval``.
        """
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not seconds >= 0:
            raise ValueError(f"advance() needs a number of seconds >= 0, got {seconds!r}")
        if not math.isfinite(seconds):
            raise ValueError(f"advance() needs a finite number of seconds, got {seconds!r}")
        self.now += seconds
        core.flush_all()


class CapturedEvents:
    """What `capture_events()` collected: the events in delivery order and the trees they rebuild."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.events: list[dict[str, Any]] = []

    def emit(self, event: dict[str, Any]) -> None:
        """Record one event (the capture is itself a sink)."""
        self.events.append(event)

    @property
    def roots(self) -> list[ProgressReport]:
        """The root reports rebuilt from the events so far by a `TreeBuilder`, in the order they started."""
        builder = TreeBuilder()
        for event in self.events:
            builder.apply(event)
        return builder.roots

    def of(self, report: ProgressReport | str) -> list[dict[str, Any]]:
        """The events about one report (a report or its id), in order."""
        report_id = report if isinstance(report, str) else report.report_id
        return [event for event in self.events if event["report_id"] == report_id]

    def kinds(self) -> list[tuple[str, str]]:
        """``(event, step_message)`` of every event, for compact assertions."""
        return [(event["event"], event["step_message"]) for event in self.events]

    def flush(self) -> None:
        """Deliver every pending event now, without moving the clock (progress still coalesced)."""
        core.flush_all()


@contextmanager
def capture_events(
    *, clock: FakeClock | None = None, min_interval: float = DEFAULT_MIN_INTERVAL
) -> Iterator[CapturedEvents]:
    """Capture the events of every root created inside the block, with a fake clock.

    Inside the block, new roots created with the default sinks send their events to the capture
    (roots given explicit sinks keep them), the library reads `clock`, and the environment's
    ``PROGRESS_INSTRUMENT_*`` settings are ignored; everything is restored on exit.

    Args:
        clock: The fake clock to drive time with; a new `FakeClock` when None.
        min_interval: Seconds between two ``progress`` events of one report.
    """
    fake = clock if clock is not None else FakeClock()
    captured = CapturedEvents(fake)
    saved_settings = _config.replace_settings()
    saved_clocks = clocks.wall, clocks.monotonic
    saved_manual = core.manual
    clocks.wall, clocks.monotonic = fake.wall, fake.monotonic
    core.manual = True
    try:
        configure(sinks=[captured], min_interval=min_interval, enabled=True)
        yield captured
    finally:
        core.flush_all()
        core.manual = saved_manual
        clocks.wall, clocks.monotonic = saved_clocks
        _config.replace_settings(saved_settings)
