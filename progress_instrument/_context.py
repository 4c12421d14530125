"""The current report, held in a `ContextVar` (SPEC §3)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from typing import TYPE_CHECKING

from ._outcome import Status

if TYPE_CHECKING:
    from ._tree import ProgressReport

__all__ = ["current_report", "use_report", "enter_report", "leave_report"]

# Module constant: looking up an Enum member costs ~10x a global, and this runs once per step.
_RUNNING = Status.RUNNING

_current: ContextVar[ProgressReport | None] = ContextVar("progress_instrument.current_report", default=None)


def current_report() -> ProgressReport | None:
    """Return the report current in this context, or None when there is none.

    Example:
        >>> from progress_instrument import ProgressReport, current_report
        >>> with ProgressReport("job", sinks=[]) as report:
        ...     current_report() is report
        True
    """
    return _current.get()


def enter_report(report: ProgressReport) -> tuple[ProgressReport | None, Token[ProgressReport | None]]:
    """Make `report` current; return what `leave_report` needs to restore the previous one."""
    previous = _current.get()
    return previous, _current.set(report)


def leave_report(report: ProgressReport, previous: ProgressReport | None, token: Token[ProgressReport | None]) -> None:
    """Undo `enter_report`, guarded against blocks closed late or from another context.

    When `report` is no longer current, something else has taken over the context since (a block
    closed out of order, a generator finalised by the garbage collector): restoring anything then
    would make a stale report current again, so nothing is touched.
    """
    if _current.get() is not report:
        return
    try:
        _current.reset(token)
    except ValueError:
        # The token belongs to another Context (closed from another task or thread).
        _current.set(previous)
    # Either way `previous` is current again.
    if previous is not None and previous._status is not _RUNNING:
        # What was current before has finished meanwhile (loops closed out of order, as in
        # zip(track(a), track(b))): its nearest running ancestor takes over, or nothing.
        restored: ProgressReport | None = previous
        while restored is not None and restored._status is not _RUNNING:
            restored = restored._parent
        _current.set(restored)


@contextmanager
def use_report(report: ProgressReport) -> Iterator[ProgressReport]:
    """Make `report` current inside the block, without finishing it.

    Example:
        >>> from progress_instrument import ProgressReport, current_report, use_report
        >>> report = ProgressReport("job", sinks=[])
        >>> with use_report(report):
        ...     current_report() is report
        True
    """
    previous, token = enter_report(report)
    try:
        yield report
    finally:
        leave_report(report, previous, token)
