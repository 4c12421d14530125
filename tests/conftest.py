"""Shared fixtures: a fake clock, and the library's global state reset around every test."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

from progress_instrument import _config
from progress_instrument._clock import clocks
from progress_instrument._context import _current


class FakeClock:
    """Wall and monotonic time that move only when a test says so."""

    def __init__(self, start: float = 1_000_000.0) -> None:
        self.now = start

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def wall(self) -> float:
        return self.now

    def monotonic(self) -> float:
        return self.now - 999_000.0


@pytest.fixture
def clock() -> Iterator[FakeClock]:
    """Drive every clock the library reads from the test."""
    fake = FakeClock()
    clocks.wall = fake.wall
    clocks.monotonic = fake.monotonic
    yield fake
    clocks.reset()


@pytest.fixture(autouse=True)
def _isolated_state() -> Iterator[None]:
    """Each test starts with real clocks, no current report and no configuration, whatever the last one left."""
    token = _current.set(None)
    _config.reset()
    yield
    clocks.reset()
    _current.reset(token)
    _config.reset()
    instrumented = sys.modules.get("progress_instrument._instrument")
    if instrumented is not None:
        instrumented.reset()  # no patch of instrument() leaks into the next test
    flusher = sys.modules.get("progress_instrument._flusher")
    if flusher is not None:
        flusher.core.stop()
        flusher.core.manual = False
