"""Running one call of a decorated callable inside a report, for every kind of callable.

`@reports_progress` and `@step(...)` both run each call inside a report that is created when the
body starts (a generator's first ``next()``, a coroutine's first step) and finished by the exit
paths of SPEC §1. Generators and async generators run in a context of their own, so their report
is current while their body runs and never leaks into the consumer between yields (§3).
"""

from __future__ import annotations

import contextvars
import inspect
from collections.abc import AsyncGenerator, Awaitable, Callable, Coroutine, Generator
from typing import Any, TypeVar

from ._context import _current, enter_report, leave_report
from ._outcome import SUCCESS_OUTCOME, outcome_of_exception
from ._tree import ProgressReport

__all__ = ["RUNNERS", "Begin", "CallKind", "call_kind"]

T = TypeVar("T")

#: Opens the call's report and returns it with the (possibly injected) arguments.
Begin = Callable[[tuple[Any, ...], dict[str, Any]], tuple[ProgressReport, tuple[Any, ...], dict[str, Any]]]


class CallKind:
    """What calling a function returns: a value, a coroutine, a generator or an async generator."""

    PLAIN = "plain"
    COROUTINE = "coroutine"
    GENERATOR = "generator"
    ASYNC_GENERATOR = "async generator"


def call_kind(function: Callable[..., Any]) -> str:
    """Classify `function` (looking through classmethod/staticmethod and partials)."""
    target = getattr(function, "__func__", function)
    if inspect.isasyncgenfunction(target):
        return CallKind.ASYNC_GENERATOR
    if inspect.iscoroutinefunction(target):
        return CallKind.COROUTINE
    if inspect.isgeneratorfunction(target):
        return CallKind.GENERATOR
    return CallKind.PLAIN


def _run_plain(begin: Begin, wrapped: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]) -> T:
    report, args, kwargs = begin(args, kwargs)
    previous, token = enter_report(report)
    try:
        result = wrapped(*args, **kwargs)
    except BaseException as error:
        leave_report(report, previous, token)
        report._finish(outcome_of_exception(error))
        raise
    leave_report(report, previous, token)
    report._finish(SUCCESS_OUTCOME)
    return result


async def _run_coroutine(
    begin: Begin, wrapped: Callable[..., Coroutine[Any, Any, T]], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> T:
    report, args, kwargs = begin(args, kwargs)
    previous, token = enter_report(report)
    try:
        result = await wrapped(*args, **kwargs)
    except BaseException as error:
        leave_report(report, previous, token)
        report._finish(outcome_of_exception(error))
        raise
    leave_report(report, previous, token)
    report._finish(SUCCESS_OUTCOME)
    return result


def _own_context(report: ProgressReport) -> contextvars.Context:
    """A copy of the current context in which `report` is current."""
    context = contextvars.copy_context()
    context.run(_current.set, report)
    return context


def _run_generator(
    begin: Begin, wrapped: Callable[..., Generator[Any, Any, T]], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Generator[Any, Any, T]:
    # Written out rather than `yield from`, so that each resumption runs in the generator's context.
    report, args, kwargs = begin(args, kwargs)
    context = _own_context(report)
    inner = context.run(wrapped, *args, **kwargs)
    sent: Any = None
    thrown: BaseException | None = None
    while True:
        try:
            if thrown is None:
                item = context.run(inner.send, sent)
            else:
                item, thrown = context.run(inner.throw, thrown), None
        except StopIteration as stop:
            report._finish(SUCCESS_OUTCOME)
            return stop.value  # type: ignore[no-any-return]
        except BaseException as error:
            report._finish(outcome_of_exception(error))
            raise
        try:
            sent = yield item
        except GeneratorExit as exit_:
            # The consumer closed us (a `break`, or garbage collection): close the body too.
            try:
                context.run(inner.close)
            except BaseException as error:
                report._finish(outcome_of_exception(error))
                raise
            report._finish(outcome_of_exception(exit_))
            raise
        except BaseException as error:
            thrown = error


class _InContext:
    """Await `awaitable` with each of its steps run in `context`."""

    __slots__ = ("_awaitable", "_context")

    def __init__(self, context: contextvars.Context, awaitable: Awaitable[T]) -> None:
        self._context = context
        self._awaitable = awaitable

    def __await__(self) -> Generator[Any, Any, Any]:
        iterator = self._awaitable.__await__()
        run = self._context.run
        sent: Any = None
        thrown: BaseException | None = None
        while True:
            try:
                if thrown is None:
                    yielded = run(iterator.send, sent)
                else:
                    yielded, thrown = run(iterator.throw, thrown), None
            except StopIteration as stop:
                return stop.value
            try:
                sent = yield yielded
            except GeneratorExit:
                run(iterator.close)
                raise
            except BaseException as error:
                thrown, sent = error, None


async def _run_async_generator(
    begin: Begin, wrapped: Callable[..., AsyncGenerator[Any, Any]], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> AsyncGenerator[Any, Any]:
    report, args, kwargs = begin(args, kwargs)
    context = _own_context(report)
    inner = context.run(wrapped, *args, **kwargs)
    sent: Any = None
    thrown: BaseException | None = None
    while True:
        try:
            if thrown is None:
                item = await _InContext(context, inner.asend(sent))
            else:
                item, thrown = await _InContext(context, inner.athrow(thrown)), None
        except StopAsyncIteration:
            report._finish(SUCCESS_OUTCOME)
            return
        except BaseException as error:
            report._finish(outcome_of_exception(error))
            raise
        try:
            sent = yield item
        except GeneratorExit as exit_:
            try:
                await _InContext(context, inner.aclose())
            except BaseException as error:
                report._finish(outcome_of_exception(error))
                raise
            report._finish(outcome_of_exception(exit_))
            raise
        except BaseException as error:
            thrown = error


#: The runner for each kind of callable, chosen once when a function is decorated.
RUNNERS: dict[str, Callable[[Begin, Callable[..., Any], tuple[Any, ...], dict[str, Any]], Any]] = {
    CallKind.PLAIN: _run_plain,
    CallKind.COROUTINE: _run_coroutine,
    CallKind.GENERATOR: _run_generator,
    CallKind.ASYNC_GENERATOR: _run_async_generator,
}
