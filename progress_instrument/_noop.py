"""The shared no-op report of disabled instrumentation (``PROGRESS_INSTRUMENT_DISABLE=1``, SPEC §7).

When instrumentation is disabled, `step`, `track` and `@reports_progress` hand out `NOOP_REPORT`
instead of building a tree: every method does nothing, `create_subreport` returns the same report,
and it never finishes, so it can be shared by every caller in every thread.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from ._outcome import Outcome, Status
from ._tree import AttributeValue, ProgressReport

if TYPE_CHECKING:
    from types import TracebackType

    from typing_extensions import Self

__all__ = ["NOOP_REPORT"]


class _NoOpReport(ProgressReport):
    """A report that ignores every change; `create_subreport` returns itself."""

    __slots__ = ()

    def advance(self, n: float = 1) -> None:
        """Do nothing."""

    def update(self, *, steps: int | None = None, step_message: str | None = None, unit: str | None = None) -> None:
        """Do nothing."""

    def set_attribute(self, key: str, value: AttributeValue) -> None:
        """Do nothing."""

    def create_subreport(
        self,
        step_message: str,
        *,
        steps: int = 0,
        weight: float = 1.0,
        unit: str | None = None,
        attributes: Mapping[str, AttributeValue] | None = None,
    ) -> ProgressReport:
        """Return this same no-op report."""
        return self

    def _add_child(
        self,
        message: str,
        steps: int,
        weight: float,
        unit: str | None,
        attributes: dict[str, AttributeValue] | None,
    ) -> ProgressReport:
        return self

    def complete(self, status: Status | str = Status.SUCCESS, *, error: BaseException | str | None = None) -> None:
        """Do nothing: the no-op report never finishes."""

    def _finish(self, outcome: Outcome) -> None:
        pass

    def cancel(self) -> bool:
        """Do nothing and return False."""
        return False

    def check(self) -> None:
        """Do nothing: the no-op report is never cancelled."""

    def _set_position_source(self, position: Callable[[], int] | None) -> None:
        pass

    def _add_cancel_hook(self, hook: Callable[[], object]) -> None:
        pass

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        pass

    def __repr__(self) -> str:
        return "<ProgressReport (no-op: instrumentation is disabled)>"


NOOP_REPORT: ProgressReport = _NoOpReport("", sinks=[])
