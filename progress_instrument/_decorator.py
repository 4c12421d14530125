"""`@reports_progress`: each call of a function runs inside a report (SPEC §5).

The wrapper is a `wrapt.FunctionWrapper`, so methods, classmethods and staticmethods bind as they
should and the decorated callable keeps its name, docstring, signature, ``__wrapped__`` and what
``inspect.is*function`` says of it. Which parameter receives the report is worked out once, at
decoration time; a call only looks the argument up by position or name.
"""

from __future__ import annotations

import functools
import inspect
import re
import typing
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar, overload

from . import _config
from ._calls import RUNNERS, call_kind
from ._context import current_report
from ._noop import NOOP_REPORT
from ._step import open_step
from ._tree import ProgressReport

__all__ = ["reporting_wrapper", "reports_progress", "find_report_parameter"]

P = ParamSpec("P")
R = TypeVar("R")

_REPORT_NAME = re.compile(r"\bProgressReport\b|\bBaseReport\b")


@functools.cache
def _wrapper_class() -> type:
    # wrapt (and the asyncio it imports) loads with the first decoration, not with the package.
    import wrapt

    # wrapt 2 types FunctionWrapper as generic, wrapt 1 (also supported) does not subscript it.
    class ReportingWrapper(wrapt.FunctionWrapper):  # type: ignore[type-arg,misc,unused-ignore]
        """A `wrapt.FunctionWrapper` that pickles by reference, like the function it wraps."""

        def __reduce_ex__(self, protocol: object) -> str:
            # A string tells pickle "look this global up by name", as it does for plain functions.
            return str(self.__qualname__)

    return ReportingWrapper


def reporting_wrapper(function: Any, wrapper: Callable[..., Any], enabled: Callable[[], bool] | None = None) -> Any:
    """Wrap `function` (any callable, classmethod or staticmethod) so each call goes to `wrapper`.

    While `enabled` (when given) returns False, calls go straight to `function`.
    """
    return _wrapper_class()(function, wrapper, enabled)


def _is_report_type(annotation: object) -> bool:
    """Whether an annotation names a report type: ours or DASF's, optional or not."""
    if annotation is ProgressReport:
        return True
    if isinstance(annotation, str):
        return bool(_REPORT_NAME.search(annotation))
    if isinstance(annotation, type):
        return annotation.__name__ in ("ProgressReport", "BaseReport") and (
            annotation.__module__.startswith("deprogressapi") or issubclass(annotation, ProgressReport)
        )
    return any(_is_report_type(argument) for argument in typing.get_args(annotation))


def _is_our_report_type(annotation: object) -> bool:
    if annotation is ProgressReport:
        return True
    if isinstance(annotation, str):
        return bool(re.search(r"(?<![\w.])(progress_instrument\.)?ProgressReport\b", annotation)) and (
            "deprogressapi" not in annotation
        )
    return any(_is_our_report_type(argument) for argument in typing.get_args(annotation))


class ReportParameter:
    """Where the report goes in a call: a parameter's name and, if it can be positional, its index."""

    __slots__ = ("index", "keyword", "name")

    def __init__(self, name: str, index: int | None, keyword: bool) -> None:
        self.name = name
        self.index = index
        self.keyword = keyword


def find_report_parameter(function: Callable[..., Any], param: str | None) -> ReportParameter | None:
    """The parameter to inject the report into (SPEC §5), or None.

    First the parameter annotated with `ProgressReport` (also optional, and string annotations);
    else the one named `param`, when it is unannotated or annotated with a report type. Never
    ``*args`` or ``**kwargs``.
    """
    target = getattr(function, "__func__", function)
    try:
        signature = inspect.signature(target)
    except (TypeError, ValueError):
        return None
    try:
        hints = typing.get_type_hints(target)
    except Exception:  # unresolvable forward references: fall back to the raw annotations
        hints = {}
    candidates = []
    index = 0
    for parameter in signature.parameters.values():
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            index = -1 if parameter.kind is parameter.VAR_POSITIONAL else index
            continue
        positional_index = index if parameter.kind is not parameter.KEYWORD_ONLY and index >= 0 else None
        if index >= 0:
            index += 1
        annotation = hints.get(parameter.name, parameter.annotation)
        found = ReportParameter(parameter.name, positional_index, parameter.kind is not parameter.POSITIONAL_ONLY)
        candidates.append((found, annotation))
    for found, annotation in candidates:
        if annotation is not inspect.Parameter.empty and _is_our_report_type(annotation):
            return found
    for found, annotation in candidates:
        if found.name == param and (annotation is inspect.Parameter.empty or _is_report_type(annotation)):
            return found
    return None


def _is_dasf_report(value: object) -> bool:
    # Without importing deprogressapi: it is only ever present when the caller made one.
    return type(value).__module__.startswith("deprogressapi.")


def _is_current_or_ancestor(report: ProgressReport) -> bool:
    node = current_report()
    while node is not None:
        if node is report:
            return True
        node = node.parent
    return False


class _CallPlan:
    """How calls of one decorated function open their report and pass it in."""

    __slots__ = ("message", "parameter", "skips_first", "steps")

    def __init__(self, message: str, steps: int, parameter: ReportParameter | None, skips_first: bool) -> None:
        self.message = message
        self.steps = steps
        self.parameter = parameter
        # A method's wrapper gets args without self/cls: positions shift by one.
        self.skips_first = skips_first

    def explicit_argument(self, bound: bool, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, int | None]:
        """The caller's value for the report parameter (None when not passed), and its position."""
        parameter = self.parameter
        assert parameter is not None
        if parameter.name in kwargs:
            return kwargs[parameter.name], None
        index = parameter.index
        if index is not None and bound and self.skips_first:
            index -= 1
        if index is not None and 0 <= index < len(args):
            return args[index], index
        return None, index

    def open_for(self, explicit: Any) -> tuple[ProgressReport, Any]:
        """The call's report, and what the function receives in the report parameter."""
        if isinstance(explicit, ProgressReport):
            if explicit.status.value == "running" and _is_current_or_ancestor(explicit):
                report = self._open_child()
                return report, report
            return explicit, explicit
        report = self._open_child()
        if explicit is not None:
            if _is_dasf_report(explicit):
                from ._dasf_mirror import mirror_into

                mirror_into(report, explicit)
            return report, explicit  # not ours to replace
        return report, report

    def _open_child(self) -> ProgressReport:
        return open_step(self.message, self.steps)

    def begin_without_injection(
        self, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[ProgressReport, tuple[Any, ...], dict[str, Any]]:
        """Open the call's report for a function that takes none."""
        return self._open_child(), args, kwargs


def _message_of(function: Callable[..., Any]) -> str:
    doc = inspect.getdoc(function)
    if doc and doc.strip():
        return doc.strip().splitlines()[0]
    return str(getattr(function, "__qualname__", getattr(function, "__name__", repr(function))))


def _skips_first(function: Any) -> bool:
    if isinstance(function, staticmethod):
        return False
    if isinstance(function, classmethod):
        return True
    try:
        parameters = list(inspect.signature(function).parameters)
    except (TypeError, ValueError):
        return False
    # A plain function defined in a class body becomes a method; wrapt then passes self apart.
    return bool(parameters) and "." in getattr(function, "__qualname__", "").rsplit(".<locals>.", 1)[-1]


def _decorate(
    function: Any, message: str | None, steps: int, param: str | None, active: Callable[[], bool] | None = None
) -> Any:
    """Wrap `function`; while `active` (when given) returns False, calls go straight to it (uninstrument)."""
    plan = _CallPlan(
        message if message is not None else _message_of(getattr(function, "__func__", function)),
        steps,
        find_report_parameter(function, param),
        _skips_first(function),
    )
    kind = call_kind(function)

    def inject(
        bound: bool, args: tuple[Any, ...], kwargs: dict[str, Any], noop: ProgressReport | None = None
    ) -> tuple[ProgressReport, tuple[Any, ...], dict[str, Any]]:
        """Open the call's report (or take `noop`) and put what the function receives in place."""
        parameter = plan.parameter
        assert parameter is not None
        explicit, index = plan.explicit_argument(bound, args, kwargs)
        if noop is not None:
            report, passed = noop, (explicit if explicit is not None else noop)
        else:
            report, passed = plan.open_for(explicit)
        if parameter.name in kwargs or (parameter.keyword and (index is None or index >= len(args))):
            kwargs = {**kwargs, parameter.name: passed}
        elif index is not None and index < len(args):
            args = (*args[:index], passed, *args[index + 1 :])
        return report, args, kwargs

    run = RUNNERS[kind]
    enabled = _config.enabled

    if plan.parameter is None:
        begin = plan.begin_without_injection

        def wrapper(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            if not enabled():
                return wrapped(*args, **kwargs)
            return run(begin, wrapped, args, kwargs)

        return reporting_wrapper(function, wrapper, active)

    def wrapper_injecting(
        wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        bound = instance is not None or wrapped is not function
        if not enabled():
            # Disabled: no report, no context switch; the function still gets a report to call.
            _, args, kwargs = inject(bound, args, kwargs, NOOP_REPORT)
            return wrapped(*args, **kwargs)
        return run(lambda a, k: inject(bound, a, k), wrapped, args, kwargs)

    return reporting_wrapper(function, wrapper_injecting, active)


@overload
def reports_progress(function: Callable[P, R], /) -> Callable[P, R]: ...
@overload
def reports_progress(
    message: str | None = None, /, *, steps: int = 0, param: str | None = "reporter"
) -> Callable[[Callable[P, R]], Callable[P, R]]: ...
def reports_progress(message: Any = None, /, *, steps: int = 0, param: str | None = "reporter") -> Any:
    """Run each call of the decorated function inside a report.

    The report is a child of the report current when the body starts, or a new root with the
    configured sinks. It is injected into the parameter annotated with `ProgressReport`, or else
    the one named `param` (``"reporter"``) when unannotated; ``param=None`` turns name-based
    injection off. A report passed by the caller that is current or an ancestor of the current one
    gets a child as usual; any other becomes the call's report. A ``deprogressapi`` report reaches
    the function unchanged, with the call's report mirrored into it.

    Args:
        message: The report's message; default: the docstring's first line, else the qualified name.
        steps: The expected total of the report's own units.
        param: The parameter name to inject into when it is not annotated; None for none.

    Example:
        >>> from progress_instrument import ProgressReport, reports_progress
        >>> @reports_progress("Averaging", steps=2)
        ... def average(values, reporter: ProgressReport | None = None):
        ...     reporter.advance()
        ...     return sum(values) / len(values)
        >>> with ProgressReport("Job", sinks=[]) as job:
        ...     average([1, 2, 3])
        ...     [child.step_message for child in job.children]
        2.0
        ['Averaging']
    """
    if callable(message) and not isinstance(message, str):
        return _decorate(message, None, steps, param)
    if message is not None and not isinstance(message, str):
        raise TypeError(f"reports_progress() takes a message str or a function, got {type(message).__name__}")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise ValueError(f"steps must be an int >= 0, got {steps!r}")
    if param is not None and not isinstance(param, str):
        raise TypeError(f"param must be a parameter name or None, got {param!r}")

    def decorate(function: Any) -> Any:
        if not callable(function) and not isinstance(function, (classmethod, staticmethod)):
            raise TypeError(f"@reports_progress decorates callables, got {type(function).__name__}")
        return _decorate(function, message, steps, param)

    return decorate
