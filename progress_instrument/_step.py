"""`step`: a sub-report of the current report, as a context manager and as a decorator (SPEC §4)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar, overload

from . import _config
from ._calls import RUNNERS, call_kind
from ._checks import AttributeValue, check_attributes, check_message, check_steps, check_unit
from ._context import _current, leave_report
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
    attributes: dict[str, AttributeValue] | None = None,
) -> ProgressReport:
    """Create a child of the current report, or a root with the configured sinks when there is none.

    The arguments are already checked, and the caller has checked that instrumentation is enabled.
    `step` and `@reports_progress` both open their reports here.

    Raises:
        ProgressCancelled: The current report was cancelled.
    """
    parent = _current.get()
    # Each report gets its own copy of the attributes: set_attribute() must not reach its siblings.
    own_attributes = dict(attributes) if attributes else None
    if parent is None:
        return ProgressReport(message, steps=steps, unit=unit, attributes=own_attributes)
    if parent._cancelled:
        parent.check()
    return parent._add_child(message, steps, weight, unit, own_attributes)


_Entry = tuple[ProgressReport, "ProgressReport | None", "Token[ProgressReport | None]"]


class Step:
    """What `step(...)` returns: a sync and async context manager, and a decorator.

    As a context manager it opens one report per ``with`` block; as a decorator, one per call.
    """

    __slots__ = (
        "_attributes",
        "_message",
        "_more_entries",
        "_noop_entries",
        "_previous",
        "_report",
        "_steps",
        "_token",
        "_unit",
        "_weight",
    )

    # Made by `step()`, which sets the slots itself: a step object is made for every
    # `with step(...)`, and skipping __init__ saves a Python frame each time.
    _message: str
    _steps: int
    _weight: float
    _unit: str | None
    _attributes: dict[str, AttributeValue] | None
    # The usual case, one block at a time, lives in slots (_previous and _token are set with
    # _report); the dict only serves a step object entered again before it was left (nested, or
    # by several tasks or threads at once).
    _report: ProgressReport | None
    _previous: ProgressReport | None
    _token: Token[ProgressReport | None] | None
    _more_entries: dict[int, _Entry] | None
    _noop_entries: int

    def _open(self) -> ProgressReport:
        if not _config.enabled():
            return NOOP_REPORT
        return open_step(self._message, self._steps, self._weight, self._unit, self._attributes)

    def __enter__(self) -> ProgressReport:
        # open_step() and _config.enabled() written out for the usual case: this runs once per step.
        settings = _config._settings
        if not (settings.loaded and settings.enabled) and not _config.enabled():
            self._noop_entries += 1
            return NOOP_REPORT
        parent = _current.get()
        if parent is not None and not parent._cancelled and self._attributes is None:
            report = parent._add_child(self._message, self._steps, self._weight, self._unit, None)
        else:
            report = open_step(self._message, self._steps, self._weight, self._unit, self._attributes)
        token = _current.set(report)
        if self._report is None:
            self._report, self._previous, self._token = report, parent, token
        else:
            if self._more_entries is None:
                self._more_entries = {}
            self._more_entries[id(report)] = (report, parent, token)
        return report

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        report = self._report
        if report is not None and report is _current.get():
            # The usual case: this object's one block, left in the context that entered it.
            previous, token = self._previous, self._token
            self._report = self._previous = self._token = None
        else:
            entry = self._pop_other_entry()
            if entry is None:  # entered while disabled: nothing was made current
                return
            report, previous, token = entry
        leave_report(report, previous, token)  # type: ignore[arg-type]
        report._finish(SUCCESS_OUTCOME if exc is None else outcome_of_exception(exc))

    def _pop_other_entry(self) -> _Entry | None:
        # One step object may be entered by several tasks or threads at once: each leaves the
        # entry of the report current in its own context, not simply the latest one.
        current = _current.get()
        more = self._more_entries
        if more:
            found = more.pop(id(current), None)
            if found is not None:
                return found
        if self._noop_entries:
            self._noop_entries -= 1
            return None
        # The current report is none of ours (a block left out of order): take the latest entry.
        if more:
            return more.popitem()[1]
        report = self._report
        assert report is not None, "a step was left that was never entered"
        entry: _Entry = (report, self._previous, self._token)  # type: ignore[assignment]
        self._report = self._previous = self._token = None
        return entry

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

        run = RUNNERS[call_kind(function)]
        enabled = _config.enabled

        def begin(
            args: tuple[Any, ...], kwargs: dict[str, Any]
        ) -> tuple[ProgressReport, tuple[Any, ...], dict[str, Any]]:
            return self._open(), args, kwargs

        def wrapper(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            if not enabled():
                return wrapped(*args, **kwargs)
            return run(begin, wrapped, args, kwargs)

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
    made = _new_step(Step)
    # Exact-type tests first, the full checks only for what is unusual.
    made._message = message if type(message) is str else check_message(message, "message")
    made._steps = steps if type(steps) is int and steps >= 0 else check_steps(steps)
    made._weight = weight if type(weight) is float and weight == 1.0 else _check_weight(weight)
    made._unit = unit if unit is None else check_unit(unit)
    made._attributes = check_attributes(attributes) if attributes else None
    made._report = None
    made._more_entries = None
    made._noop_entries = 0
    return made


_new_step = object.__new__
