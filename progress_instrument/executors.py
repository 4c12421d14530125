"""Running work in other threads under the report current where it was handed over (SPEC §8).

Example:
    >>> from progress_instrument import ProgressReport, step
    >>> from progress_instrument.executors import ProgressThreadPoolExecutor
    >>> with ProgressReport("Job", sinks=[]) as job:
    ...     with ProgressThreadPoolExecutor(max_workers=2) as pool:
    ...         list(pool.map(lambda n: step(f"part {n}").__enter__().complete(), range(2)))
    ...     sorted(child.step_message for child in job.children)
    [None, None]
    ['part 0', 'part 1']
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, ParamSpec, TypeVar

from ._context import current_report, use_report

__all__ = ["ProgressThreadPoolExecutor", "in_current_context"]

P = ParamSpec("P")
R = TypeVar("R")


def in_current_context(function: Callable[P, R]) -> Callable[P, R]:
    """Wrap `function` to run under the report current now, wherever it is called later.

    Example:
        >>> import threading
        >>> from progress_instrument import ProgressReport, current_report
        >>> from progress_instrument.executors import in_current_context
        >>> with ProgressReport("Job", sinks=[]) as job:
        ...     seen = []
        ...     worker = threading.Thread(target=in_current_context(lambda: seen.append(current_report())))
        ...     worker.start(); worker.join()
        ...     seen == [job]
        True
    """
    report = current_report()
    if report is None:
        return function

    @functools.wraps(function)
    def run_under_report(*args: P.args, **kwargs: P.kwargs) -> R:
        with use_report(report):
            return function(*args, **kwargs)

    return run_under_report


class ProgressThreadPoolExecutor(ThreadPoolExecutor):
    """A `ThreadPoolExecutor` whose tasks run under the report current at `submit` / `map` time."""

    def submit(self, fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> Future[R]:
        """Schedule ``fn(*args, **kwargs)`` under the report current now."""
        return super().submit(in_current_context(fn), *args, **kwargs)

    def map(
        self, fn: Callable[..., R], *iterables: Iterable[Any], timeout: float | None = None, chunksize: int = 1
    ) -> Iterator[R]:
        """Like `ThreadPoolExecutor.map`, each call under the report current now."""
        return super().map(in_current_context(fn), *iterables, timeout=timeout, chunksize=chunksize)
