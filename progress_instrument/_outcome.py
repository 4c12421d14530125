"""How a report ends: the status values, the cancellation error and the exit paths (SPEC §1)."""

from __future__ import annotations

import sys
from enum import Enum

__all__ = ["ProgressCancelled", "Status", "Outcome", "outcome_of_exception", "describe_exception"]


class Status(str, Enum):
    """The state of a report, with exactly the DASF values."""

    RUNNING = "running"
    SUCCESS = "success"
    ERROR = "error"

    def __str__(self) -> str:
        return self.value


Status.__module__ = "progress_instrument"


class ProgressCancelled(Exception):
    """Raised by `check()`, `track` and `step` under a report that was cancelled.

    It is an `Exception`, not a `BaseException`, so ordinary ``except Exception`` clean-up code runs.
    """


ProgressCancelled.__module__ = "progress_instrument"


def _type_name(exc_type: type[BaseException]) -> str:
    # OpenTelemetry's ``error.type`` convention: the fully qualified class name, builtins bare.
    module = exc_type.__module__
    if module in ("builtins", "__main__"):
        return exc_type.__qualname__
    return f"{module}.{exc_type.__qualname__}"


def describe_exception(exc: BaseException) -> tuple[str, str]:
    """Return ``("Type: message", error_type)`` for an exception; never an empty text."""
    message = str(exc)
    name = type(exc).__name__
    text = f"{name}: {message}" if message else name
    return text, _type_name(type(exc))


class Outcome:
    """What an exit path does to a report: its status, and whether it was a cancellation."""

    __slots__ = ("cancelled", "error", "error_type", "status")

    def __init__(
        self, status: Status, *, cancelled: bool = False, error: str | None = None, error_type: str | None = None
    ) -> None:
        self.status = status
        self.cancelled = cancelled
        self.error = error
        self.error_type = error_type


SUCCESS_OUTCOME = Outcome(Status.SUCCESS)


def _is_asyncio_cancellation(exc: BaseException) -> bool:
    # asyncio is imported lazily: when it is not loaded, no exception can be its CancelledError.
    asyncio = sys.modules.get("asyncio")
    return asyncio is not None and isinstance(exc, asyncio.CancelledError)


def outcome_of_exception(exc: BaseException | None) -> Outcome:
    """Map an exception escaping a block or call to how its report finishes (SPEC §1 exit paths).

    A normal exit, `GeneratorExit` and `SystemExit` with code 0 or None are successes;
    `ProgressCancelled` and `asyncio.CancelledError` are cancelled errors; anything else is an error.
    """
    if exc is None or isinstance(exc, GeneratorExit):
        return SUCCESS_OUTCOME
    if isinstance(exc, SystemExit) and exc.code in (0, None):
        return SUCCESS_OUTCOME
    error, error_type = describe_exception(exc)
    cancelled = isinstance(exc, ProgressCancelled) or _is_asyncio_cancellation(exc)
    return Outcome(Status.ERROR, cancelled=cancelled, error=error, error_type=error_type)
