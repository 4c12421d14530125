"""`track`: deterministic fractional progress for loops, at the cost of a bare loop (SPEC §6, §10).

No Python frame runs per item. The loop iterates a C-level `itertools.chain` of the source
iterator and a primed *tail* generator: the chain reaches the tail only when the source is
exhausted, and the tail is closed (``GeneratorExit``) when the loop is left early, so the tail sees
the end, ``break`` and exceptions without costing anything per item. The position (items done) is
read lazily, only when someone asks: ``taken - 1`` while an item's body runs, where ``taken`` comes
from ``operator.length_hint`` of a list/tuple/range iterator, or, for other sources, of a range
iterator that `itertools.compress` advances beside the source. Cancelling exhausts that C iterator
(``__setstate__``), so the next ``next()`` lands in the tail, which raises `ProgressCancelled`.
"""

from __future__ import annotations

import itertools
import operator
import sys
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Generator, Iterable, Iterator
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from . import _config
from ._context import current_report, enter_report, leave_report
from ._outcome import SUCCESS_OUTCOME, Outcome, ProgressCancelled, Status, outcome_of_exception
from ._tree import ProgressReport, _check_weight

if TYPE_CHECKING:
    from contextvars import Token

__all__ = ["Track", "track"]

# Module constants: looking up an Enum member costs ~10x a global on the hot paths.
_ERROR = Status.ERROR

T = TypeVar("T")

# Iterators over immutable sequences: length_hint is exact and __setstate__ exhausts them.
_SAMPLES: tuple[Iterable[Any], ...] = ((), range(1), range(sys.maxsize + 1))
_FIXED: frozenset[type] = frozenset(type(iter(sample)) for sample in _SAMPLES)
_LIST_ITERATOR: type = type(iter([]))
_TICKS = sys.maxsize


class _Position:
    """Items done, read lazily: items taken from a C iterator, minus the one whose body runs.

    ``taken`` is the iterator's total minus its length hint (for tuples, ranges and the ticker
    beside other sources).
    """

    __slots__ = ("current", "frozen", "iterator", "total")

    def __init__(self, iterator: Iterator[Any]) -> None:
        self.iterator = iterator
        self.total = operator.length_hint(iterator)
        self.current = 1  # the item whose body is running is not done yet
        self.frozen: int | None = None

    def taken(self) -> int:
        if self.frozen is not None:
            return self.frozen
        return self.total - operator.length_hint(self.iterator)

    def __call__(self) -> int:
        return max(0, self.taken() - self.current)

    def exhaust(self) -> None:
        """Make the next ``next()`` of the loop fall through to the tail, keeping the count."""
        self.frozen = self.taken()
        iterator: Any = self.iterator
        iterator.__setstate__(self.total)


class _ListPosition(_Position):
    """A list may grow while it is iterated: its iterator's index counts, not its length hint."""

    __slots__ = ("sequence",)

    def __init__(self, iterator: Iterator[Any]) -> None:
        super().__init__(iterator)
        state: Any = iterator.__reduce__()
        self.sequence: list[Any] = state[1][0]

    def taken(self) -> int:
        if self.frozen is not None:
            return self.frozen
        state: Any = self.iterator.__reduce__()
        # An exhausted list iterator has dropped its index: it had reached the end of the list.
        return int(state[2]) if len(state) > 2 else len(self.sequence)

    def exhaust(self) -> None:
        self.frozen = self.taken()
        iterator: Any = self.iterator
        iterator.__setstate__(sys.maxsize)  # clamped to the list's length now


def _steps_of(iterable: object, total: int | None) -> int:
    if total is not None:
        if isinstance(total, bool) or not isinstance(total, int) or total < 0:
            raise ValueError(f"total must be an int >= 0, got {total!r}")
        return total
    try:
        return len(iterable)  # type: ignore[arg-type]
    except TypeError:
        pass
    try:
        return max(0, operator.length_hint(iterable))
    except (TypeError, ValueError):
        return 0


def _is_iterable(value: object) -> bool:
    kind = type(value)
    return hasattr(kind, "__iter__") or hasattr(kind, "__getitem__") or hasattr(kind, "__aiter__")


class _Loop:
    """One run of a tracked loop: its node, its place in the context, and how it ends."""

    __slots__ = ("cancelled_by_us", "entered", "node", "position", "source")

    def __init__(self, node: ProgressReport, source: object = None) -> None:
        self.node = node
        self.source = source
        self.cancelled_by_us = False
        self.position: _Position | None = None
        self.entered: tuple[ProgressReport | None, Token[ProgressReport | None]] | None = None

    def enter(self) -> None:
        # At the first item, not at iter(): zip(track(a), track(b)) makes siblings, not a nest.
        self.entered = enter_report(self.node)

    def head(self) -> Iterator[Any]:
        """Runs once, when the loop asks for its first item, and yields nothing."""
        self.enter()
        yield from ()

    def fail_from_source(self) -> None:
        # The exception itself is on its way to the caller; without a Python frame per item the
        # loop cannot see it, only that its generator source ended by raising.
        if self.entered is not None:
            leave_report(self.node, *self.entered)
        message = f"SourceError: the source iterator of {self.node.step_message!r} raised"
        self.node._finish(Outcome(_ERROR, error=message))

    def finish(self, error: BaseException | None = None) -> None:
        if self.entered is not None:
            leave_report(self.node, *self.entered)
        node = self.node
        if error is None and node.cancelled:
            # Closed while cancelled: the cancel is what ended this loop (SPEC §8).
            error = ProgressCancelled(f"{node.step_message!r} was cancelled")
        node._finish(SUCCESS_OUTCOME if error is None else outcome_of_exception(error))

    def tail(self) -> Generator[None, None, None]:
        """Suspended until the source is exhausted (resumed) or the loop is left (closed)."""
        try:
            yield
        except GeneratorExit:
            # `break`, an exception in the body or from the source, or the loop dropped.
            source = self.source
            if getattr(source, "gi_frame", True) is None:
                # A generator source that ended normally would have resumed the tail, not closed
                # it: it is only ever done here when it raised.
                if self.position is not None:
                    self.position.current = 0
                self.fail_from_source()
            else:
                self.finish()
            raise
        if self.position is not None:
            self.position.current = 0  # resumed only after the last body ended: every item taken is done
        if self.cancelled_by_us:
            error = ProgressCancelled(f"{self.node.step_message!r} was cancelled")
            self.finish(error)
            raise error
        self.finish()


class Track(Generic[T]):
    """What `track(...)` returns: iterate it (``for``/``async for``) to run a tracked loop."""

    __slots__ = ("_iterable", "_message", "_total", "_unit", "_weight")

    def __init__(
        self,
        iterable: Iterable[T] | AsyncIterable[T],
        message: str | None,
        total: int | None,
        weight: float,
        unit: str | None,
    ) -> None:
        if not _is_iterable(iterable):
            raise TypeError(f"track() needs an iterable, got {type(iterable).__name__}")
        if message is not None and not isinstance(message, str):
            raise TypeError(f"message must be a str or None, got {type(message).__name__}")
        if total is not None:
            _steps_of(iterable, total)
        self._iterable = iterable
        self._message = message if message is not None else f"Iterating over {type(iterable).__name__}"
        self._total = total
        self._weight = _check_weight(weight)
        self._unit = unit

    def _open(self, steps: int) -> ProgressReport:
        parent = current_report()
        if parent is None:
            return ProgressReport(self._message, steps=steps, unit=self._unit)
        return parent.create_subreport(self._message, steps=steps, weight=self._weight, unit=self._unit)

    def __iter__(self) -> Iterator[T]:
        iterable = self._iterable
        if not _config.enabled():
            return iter(iterable)  # type: ignore[arg-type]
        if not hasattr(type(iterable), "__iter__") and not hasattr(type(iterable), "__getitem__"):
            raise TypeError(f"{type(iterable).__name__} is only async-iterable: use `async for`")
        steps = _steps_of(iterable, self._total)
        source: Iterator[T] = iter(iterable)  # type: ignore[arg-type]
        node = self._open(steps)
        loop = _Loop(node, source)
        items: Iterator[T]
        if type(source) in _FIXED:
            position: _Position = _Position(source)
            items = source
        elif type(source) is _LIST_ITERATOR:
            position = _ListPosition(source)
            items = source
        else:
            ticker = iter(range(1, _TICKS))  # every tick truthy: compress() keeps every item
            position = _Position(ticker)
            # compress() takes an item, then a tick, in C: the ticker counts items, and once
            # exhausted it stops the loop at the next item (which is dropped, as SPEC §6 says).
            items = itertools.compress(source, ticker)
        loop.position = position
        tail = loop.tail()
        next(tail)
        node._set_position_source(position)

        def cancel() -> None:
            loop.cancelled_by_us = True
            position.exhaust()

        node._add_cancel_hook(cancel)
        return itertools.chain(loop.head(), items, tail)

    def __aiter__(self) -> AsyncGenerator[T, None]:
        return self._async_items()

    async def _async_items(self) -> AsyncGenerator[T, None]:
        iterable = self._iterable
        if not _config.enabled():
            async for item in _as_async(iterable):
                yield item
            return
        node = self._open(_steps_of(iterable, self._total))
        loop = _Loop(node)
        loop.enter()
        counter = _Counter()
        node._set_position_source(counter)
        node._add_cancel_hook(counter.stop)
        try:
            async for item in _as_async(iterable):
                if counter.stopped:
                    raise ProgressCancelled(f"{node.step_message!r} was cancelled")
                yield item
                counter.done += 1
        except BaseException as error:
            # GeneratorExit (aclose after a break) finishes success, like the sync loop.
            loop.finish(error)
            raise
        loop.finish()


class _Counter:
    """The position of an async loop: items done, counted in Python (an async loop has frames anyway)."""

    __slots__ = ("done", "stopped")

    def __init__(self) -> None:
        self.done = 0
        self.stopped = False

    def __call__(self) -> int:
        return self.done

    def stop(self) -> None:
        self.stopped = True


async def _as_async(iterable: Iterable[T] | AsyncIterable[T]) -> AsyncIterator[T]:
    if hasattr(type(iterable), "__aiter__"):
        async for item in iterable:  # type: ignore[union-attr]
            yield item
    else:
        for item in iterable:  # type: ignore[union-attr]
            yield item


def track(
    iterable: Iterable[T] | AsyncIterable[T],
    message: str | None = None,
    *,
    total: int | None = None,
    weight: float = 1.0,
    unit: str | None = None,
) -> Track[T]:
    """Track a loop: a report with one unit per item, current inside the loop body.

    The report is a child of the report current at the first ``iter()`` (or a root), with
    ``steps`` = `total`, else ``len()``, else a positive ``length_hint()``, else indeterminate. A
    `step` in the body is a child of the loop and counts toward the current item only, so at item
    ``i`` of ``N`` with an inner step half done the fraction is exactly ``(i + 0.5) / N``. The loop
    finishes ``success`` when exhausted, and also on ``break`` or an exception in the body (with
    ``completed`` = the items finished); cancelling raises `ProgressCancelled` at the next item.

    Args:
        iterable: What to loop over (sync for ``for``, sync or async for ``async for``).
        message: What the loop does; default: ``"Iterating over <type>"``.
        total: The number of items, when ``len()`` does not tell.
        weight: How many of the parent's units the whole loop is worth.
        unit: Display name of one item, such as ``"files"``.

    Raises:
        TypeError: `iterable` is not iterable (at the call).

    Example:
        >>> from progress_instrument import ProgressReport, step, track
        >>> with ProgressReport("Job", sinks=[]) as job:
        ...     for season in track(["DJF", "MAM", "JJA", "SON"], "Per season"):
        ...         with step(season, steps=2) as inner:
        ...             inner.advance()
        ...             if season == "MAM":
        ...                 loop = job.children[0]
        ...                 print(loop.fraction)
        0.375
    """
    return Track(iterable, message, total, weight, unit)
