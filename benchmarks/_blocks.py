"""Timing repeated *blocks* of work, each with untimed preparation, for the instrumentation figures.

A block is one self-contained unit a figure compares across variants: a root, ``ops`` operations
under it, and the root's end (for ours: ``complete()``, which returns only once every event of the
root reached its sinks). A sample is the mean of as many blocks as take at least 0.1 s; anything a
block needs reset (a list the sink appends to, a file it writes) is reset by `prepare` outside the
clock, and a block's result (its events, its spans) is dropped after the clock stops.
"""

from __future__ import annotations

import time
from collections.abc import Callable

MIN_SAMPLE_SECONDS = 0.1


def blocks_per_sample(block: Callable[[], object], prepare: Callable[[], object] | None = None) -> int:
    """How many blocks make a sample of at least `MIN_SAMPLE_SECONDS` (the first block warms up)."""
    seconds = mean_block_seconds(block, prepare, 1)  # one-time costs
    seconds = mean_block_seconds(block, prepare, 1)
    return max(1, -int(-MIN_SAMPLE_SECONDS // seconds)) if seconds > 0 else 1000


def mean_block_seconds(block: Callable[[], object], prepare: Callable[[], object] | None, repeat: int) -> float:
    """Mean seconds of `repeat` blocks, each timed alone, after its untimed `prepare()`."""
    total = 0.0
    clock = time.perf_counter
    for _ in range(repeat):
        if prepare is not None:
            prepare()
        started = clock()
        result = block()
        total += clock() - started
        del result
    return total / repeat
