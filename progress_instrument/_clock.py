"""The clocks every part of the library reads, swappable as one so tests need no sleeps.

`progress_instrument.testing` replaces them with a fake clock; nothing else should assign them.
"""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["clocks"]


class _Clocks:
    """Wall time (epoch seconds, for ``started_at``) and monotonic time (for durations)."""

    __slots__ = ("monotonic", "wall")

    def __init__(self) -> None:
        self.wall: Callable[[], float] = time.time
        self.monotonic: Callable[[], float] = time.monotonic

    def reset(self) -> None:
        """Go back to the real clocks."""
        self.wall = time.time
        self.monotonic = time.monotonic


clocks = _Clocks()
