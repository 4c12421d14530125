"""What a report holds: its slots, how they start, and their read-only views (SPEC §1).

`ReportFields` is the state half of `ProgressReport` (in `_tree`, which holds everything that
changes a report): the slots every node has, `_init` that sets them, the fields users read and the
values derived from them on read (fraction, rate, ETA). Every node of one tree shares a `_Tree`.
"""

from __future__ import annotations

import _thread
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ._checks import AttributeValue
from ._clock import clocks
from ._fraction import fraction_locked
from ._ids import id_text
from ._outcome import Status

if TYPE_CHECKING:
    from contextvars import Token

    from ._tree import ProgressReport

__all__ = ["ReportFields"]

# Module constant: looking up an Enum member costs ~10x a global on the hot paths.
_RUNNING = Status.RUNNING


class _Tree:
    """What all nodes of one tree share."""

    __slots__ = ("__weakref__", "emitter", "lock", "sinks")

    def __init__(self, sinks: list[Any] | None) -> None:
        self.lock = _thread.allocate_lock()
        self.sinks = sinks
        # Set by the emission core when the root has sinks; None means nobody listens.
        self.emitter: Any = None


class ReportFields:
    """The fields of a report and their read-only views; `ProgressReport` is the whole class."""

    __slots__ = (
        "__weakref__",
        "_advanced",
        "_attributes",
        "_cancel_hooks",
        "_cancelled",
        "_children",
        "_context_tokens",
        "_detached_logged",
        "_emit_pending",
        "_emit_state",
        "_error",
        "_error_type",
        "_failed_ids",
        "_finish_hooks",
        "_finished_at",
        "_finished_ids",
        "_finished_monotonic",
        "_finished_weight",
        "_fixed_fraction",
        "_item",
        "_item_index",
        "_item_weight",
        "_message",
        "_omitted",
        "_parent",
        "_position",
        "_report_id",
        "_running_count",
        "_started_at",
        "_started_monotonic",
        "_status",
        "_steps",
        "_tree",
        "_unit",
        "_weight",
    )

    def _init(
        self,
        message: str,
        steps: int,
        unit: str | None,
        attributes: dict[str, AttributeValue] | None,
        weight: float,
        parent: ProgressReport | None,
        tree: _Tree,
        report_id: str | int,
        started: tuple[float | None, float | None] | None = None,
    ) -> None:
        """Set every slot; `started` gives (wall, monotonic) start times instead of the clocks'.

        `report_id` is the id text, or a serial from `_ids.next_serial` (its text made when read):
        either is the child's key in its parent's ``_children`` and retention deques.
        """
        self._report_id = report_id
        self._message = message
        self._steps = steps
        self._status = _RUNNING
        self._parent = parent
        self._tree = tree
        self._weight = weight
        self._unit = unit
        self._attributes = attributes
        self._advanced = 0.0
        if started is None:
            # Both clocks: epoch seconds must follow the system clock (stepped, or after a
            # suspend, which the monotonic clock does not count), durations must not.
            self._started_at: float | None = clocks.wall()
            self._started_monotonic: float | None = clocks.monotonic()
        else:
            self._started_at, self._started_monotonic = started
        self._finished_at: float | None = None
        self._finished_monotonic: float | None = None
        self._error: str | None = None
        self._error_type: str | None = None
        self._cancelled = False
        self._omitted = 0
        self._children: dict[str | int, ProgressReport] | None = None
        self._running_count = 0
        self._finished_ids: deque[str | int] | None = None
        self._failed_ids: deque[str | int] | None = None
        self._finished_weight = 0.0
        self._position: Callable[[], int] | None = None
        self._item = -1
        self._item_index = -1
        self._item_weight = 0.0
        self._fixed_fraction: float | None = None
        self._cancel_hooks: list[Callable[[], object]] | None = None
        self._finish_hooks: list[Callable[[], object]] | None = None
        self._context_tokens: list[tuple[ProgressReport | None, Token[ProgressReport | None]]] | None = None
        self._detached_logged = False
        # Owned by the emission core (_emit, _delivery): what its queued record stands for
        # (NOTHING_PENDING, NEW_CHILDREN or CHANGED); what the stream has said of it.
        self._emit_pending = 0
        self._emit_state: Any = None

    # -- read-only fields ------------------------------------------------------------------------

    @property
    def report_id(self) -> str:
        """Unique id of this report, across processes and hosts."""
        report_id = self._report_id
        return id_text(report_id) if type(report_id) is int else report_id  # type: ignore[return-value]

    @property
    def step_message(self) -> str:
        """What this report is about."""
        return self._message

    @property
    def steps(self) -> int:
        """Expected total in the report's own units; 0 means unknown (indeterminate)."""
        return self._steps

    @property
    def status(self) -> Status:
        """`Status.RUNNING` until finished, then `SUCCESS` or `ERROR`."""
        return self._status

    @property
    def parent(self) -> ProgressReport | None:
        """The report this one is a child of; None for a root or a detached report."""
        return self._parent

    @property
    def children(self) -> list[ProgressReport]:
        """The retained children in creation order (running ones, and the most recent finished)."""
        with self._tree.lock:
            return list(self._children.values()) if self._children else []

    @property
    def weight(self) -> float:
        """How many of the parent's units this report is worth."""
        return self._weight

    @property
    def unit(self) -> str | None:
        """Display name of one unit, such as ``"files"``."""
        return self._unit

    @property
    def attributes(self) -> dict[str, AttributeValue]:
        """A copy of the report's attributes."""
        attributes = self._attributes
        return dict(attributes) if attributes else {}

    @property
    def completed(self) -> float:
        """Units done: what `advance()` added, or for a loop the items finished."""
        position = self._position
        if position is not None:
            return float(position())
        return self._advanced

    @property
    def started_at(self) -> float | None:
        """Epoch seconds at start; None only for a report read from a payload that lacks it."""
        return self._started_at

    @property
    def finished_at(self) -> float | None:
        """Epoch seconds at finish, None while running."""
        return self._finished_at

    @property
    def error(self) -> str | None:
        """``"Type: message"`` of a failure, else None."""
        return self._error

    @property
    def error_type(self) -> str | None:
        """Qualified class name of the exception that failed the report, when there was one."""
        return self._error_type

    @property
    def cancelled(self) -> bool:
        """Whether `cancel()` reached this report."""
        return self._cancelled

    @property
    def omitted_children(self) -> int:
        """Children no longer listed in `children` (retention bound), counted here instead."""
        return self._omitted

    @property
    def finished(self) -> bool:
        """Whether the report has finished (successfully or not)."""
        return self._status is not _RUNNING

    # -- derived values --------------------------------------------------------------------------

    @property
    def fraction(self) -> float:
        """Deterministic fraction done in [0, 1]; 1.0 once finished, 0.0 while indeterminate."""
        if self._status is not _RUNNING:
            return 1.0
        with self._tree.lock:
            return fraction_locked(self)  # type: ignore[arg-type]  # every ReportFields is a ProgressReport

    def _elapsed(self) -> float:
        start = self._started_monotonic
        if start is None:
            # Read from a payload: only wall-clock times are known.
            if self._started_at is None:
                return 0.0
            end = self._finished_at if self._finished_at is not None else clocks.wall()
            return max(0.0, end - self._started_at)
        end = self._finished_monotonic if self._finished_monotonic is not None else clocks.monotonic()
        return max(0.0, end - start)

    @property
    def rate(self) -> float:
        """Units per second: ``fraction × steps / elapsed``, or ``completed / elapsed`` when indeterminate."""
        elapsed = self._elapsed()
        if elapsed <= 0.0:
            return 0.0
        if self._steps:
            return self.fraction * self._steps / elapsed
        return self.completed / elapsed

    @property
    def eta_seconds(self) -> float | None:
        """Estimated seconds left: ``elapsed × (1 − f) / f``; None while f is 0, 0.0 once finished."""
        if self._status is not _RUNNING:
            return 0.0
        done = self.fraction
        if done <= 0.0:
            return None
        return self._elapsed() * (1.0 - done) / done
