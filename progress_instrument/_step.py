"""`step`: a sub-report of the current report, as a context manager and as a decorator (SPEC §4)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar, overload

from . import _config
from ._calls import call_kind, run_call
from ._checks import AttributeValue, check_attributes, check_message, check_steps, check_unit
from ._context import current_report, enter_report, leave_report
from ._noop import NOOP_REPORT
from ._outcome import SUCCESS_OUTCOME, outcome_of_exception
from ._tree import ProgressReport, _check_weight

if TYPE_CHECKING:
    from contextvars import Token
    from types import TracebackType

    from typing_extensions import ParamSpec

    P = ParamSpec("P")

__all__ = ["Step", "step", "open_step"]

R = TypeVar("R")


def open_step(
    message: str,
    steps: int = 0,
    weight: float = 1.0,
    unit: str | None = None,
    attributes: Mapping[str, AttributeValue] | None = None,
) -> ProgressReport:
    """Create a child of the current report, or a root with the configured sinks when there is none.

    When instrumentation is disabled, it is the shared no-op report.

    Raises:
        ProgressCancelled: The current report was cancelled.
    """
    if not _config.enabled():
        return NOOP_REPORT
    parent = current_report()
    if parent is None:
        return ProgressReport(message, steps=steps, unit=unit, attributes=attributes)
    parent.check()
    return parent.create_subreport(message, steps=steps, weight=weight, unit=unit, attributes=attributes)


class Step:
    """What `step(...)` returns: a sync and async context manager, and a decorator.

    As a context manager it opens one report per ``with`` block; as a decorator, one per call.
    """

    __slots__ = ("_attributes", "_entered", "_message", "_noop_entries", "_steps", "_unit", "_weight")

    def __init__(
        self,
        message: str,
        steps: int,
        weight: float,
        unit: str | None,
        attributes: Mapping[str, AttributeValue] | None,
    ) -> None:
        self._message = check_message(message, "message")
        self._steps = check_steps(steps)
        self._weight = _check_weight(weight)
        self._unit = check_unit(unit)
        self._attributes = check_attributes(attributes)
        self._entered: dict[int, tuple[ProgressReport, ProgressReport | None, Token[ProgressReport | None]]] = {}
        self._noop_entries = 0

    def _open(self) -> ProgressReport:
        return open_step(self._message, self._steps, self._weight, self._unit, self._attributes)

    def __enter__(self) -> ProgressReport:
        report = self._open()
        if report is NOOP_REPORT:
            self._noop_entries += 1
            return report
        previous, token = enter_report(report)
        self._entered[id(report)] = (report, previous, token)
        return report

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        entry = self._pop_entry()
        if entry is None:  # entered while disabled: nothing was made current
            return
        report, previous, token = entry
        leave_report(report, previous, token)
        report._finish(SUCCESS_OUTCOME if exc is None else outcome_of_exception(exc))

    def _pop_entry(self) -> tuple[ProgressReport, ProgressReport | None, Token[ProgressReport | None]] | None:
        # One step object may be entered by several tasks or threads at once: each leaves the
        # entry of the report current in its own context, not simply the latest one. (dict.pop and
        # popitem are atomic, so threads need no lock here.)
        entry = self._entered.pop(id(current_report()), None)
        if entry is not None:
            return entry
        if self._noop_entries:
            self._noop_entries -= 1
            return None
        return self._entered.popitem()[1]

    async def __aenter__(self) -> ProgressReport:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, traceback)

    @overload
    def __call__(self, function: Callable[P, R]) -> Callable[P, R]: ...
    @overload
    def __call__(self, function: classmethod[Any, P, R]) -> classmethod[Any, P, R]: ...
    @overload
    def __call__(self, function: staticmethod[P, R]) -> staticmethod[P, R]: ...
    def __call__(self, function: Any) -> Any:
        """Decorate `function` so that each call runs inside its own step."""
        from ._decorator import reporting_wrapper

        kind = call_kind(function)

        def begin(
            args: tuple[Any, ...], kwargs: dict[str, Any]
        ) -> tuple[ProgressReport, tuple[Any, ...], dict[str, Any]]:
            return self._open(), args, kwargs

        def wrapper(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            if not _config.enabled():
                return wrapped(*args, **kwargs)
            return run_call(kind, begin, wrapped, args, kwargs)

        return reporting_wrapper(function, wrapper)

    def __repr__(self) -> str:
        return f"step({self._message!r}, steps={self._steps}, weight={self._weight})"


def step(
    message: str,
    *,
    steps: int = 0,
    weight: float = 1.0,
    unit: str | None = None,
    attributes: Mapping[str, AttributeValue] | None = None,
) -> Step:
    """A step of the current report: a child of it, current inside the block, finished on exit.

    Use it as ``with step(...) as report:``, ``async with step(...)``, or ``@step(...)`` on a
    function (sync, async, generator or async generator) to run each call inside a step. With no
    current report, the step is a new root with the configured sinks.

    Args:
        message: What the step does.
        steps: The expected total of its own units; 0 means unknown.
        weight: How many of the parent's units the step is worth.
        unit: Display name of one unit, such as ``"files"``.
        attributes: Key/value facts about the step.

    Raises:
        ProgressCancelled: On entry, when the current report was cancelled.

    Example:
        >>> from progress_instrument import ProgressReport, step
        >>> with ProgressReport("Job", steps=2, sinks=[]) as job:
        ...     with step("Load", steps=4) as load:
        ...         load.advance(2)
        ...         job.fraction
        0.25
    """
    return Step(message, steps, weight, unit, attributes)
