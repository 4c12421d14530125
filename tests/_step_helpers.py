"""What the tests of `step` share, as a context manager and as a decorator (test_step*.py)."""

from __future__ import annotations

import asyncio
import traceback
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import pytest

from progress_instrument import ProgressCancelled, ProgressReport, Status


def root(message: str = "root", **kwargs: object) -> ProgressReport:
    return ProgressReport(message, sinks=[], **kwargs)  # type: ignore[arg-type]


class BadInput(Exception):
    """A user's own exception type, defined outside builtins."""


def frames_of(error: BaseException) -> list[str]:
    return [frame.name for frame in traceback.extract_tb(error.__traceback__)]


EXIT_PATHS = pytest.mark.parametrize(
    ("exception", "status", "cancelled"),
    [
        (SystemExit(0), Status.SUCCESS, False),
        (SystemExit(None), Status.SUCCESS, False),
        (SystemExit(2), Status.ERROR, False),
        (GeneratorExit(), Status.SUCCESS, False),
        (KeyboardInterrupt(), Status.ERROR, False),
        (ProgressCancelled("stop"), Status.ERROR, True),
        (asyncio.CancelledError(), Status.ERROR, True),
        (BadInput("bad grid"), Status.ERROR, False),
    ],
    ids=["exit0", "exitNone", "exit2", "generator-exit", "ctrl-c", "cancelled", "asyncio-cancelled", "error"],
)


Park = Callable[[], Awaitable[None]]
"""Awaited by a task at the point where the test cancels it; it waits there until then."""


async def cancel_once_parked(work: Callable[[Park], Coroutine[Any, Any, object]]) -> None:
    """Run `work(park)` as a task, cancel it once it awaits `park()`, and see the CancelledError reach its awaiter."""
    parked = asyncio.Event()

    async def park() -> None:
        parked.set()
        await asyncio.Event().wait()  # never set: only the cancel ends this wait

    task = asyncio.create_task(work(park))
    await parked.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
