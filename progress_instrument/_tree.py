"""The core tree of reports: `ProgressReport` (SPEC §1), everything that changes a report.

What a report holds and shows (its slots, read-only fields, fraction, rate, ETA) is in `_fields`.
Every node of one tree shares a `_Tree`: one lock, so that compound updates (a child finishing adds
its weight to the parent and frees its place) are atomic, and the emission hook of the root.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from . import _context, _ids
from ._checks import (
    AttributeValue,
    check_attribute,
    check_attributes,
    check_message,
    check_sinks,
    check_steps,
    check_unit,
    is_valid_report_id,
)
from ._clock import clocks
from ._fields import ReportFields, _Tree
from ._fraction import running_descendants_locked
from ._ids import new_report_id
from ._outcome import (
    SUCCESS_OUTCOME,
    Outcome,
    ProgressCancelled,
    Status,
    describe_exception,
    outcome_of_exception,
)

if TYPE_CHECKING:
    from types import TracebackType

    from typing_extensions import Self

# _Tree: the readers (_wire_read, _tree_builder) build trees too.
__all__ = ["ProgressReport", "AttributeValue", "RETAINED_FINISHED", "RETAINED_FAILED", "_Tree"]

# Module constants: looking up an Enum member costs ~10x a global on the hot paths.
_ERROR = Status.ERROR
_RUNNING = Status.RUNNING
_SUCCESS = Status.SUCCESS


#: Finished children a node keeps (the most recent); older ones count in ``omitted_children``.
RETAINED_FINISHED = 100
#: Failed children a node keeps (the most recent), on top of the finished successes.
RETAINED_FAILED = 100

_UNFINISHED_ERROR = "Unfinished: unfinished when parent finished"
_NO_MESSAGE_ERROR = "Error: failed without an error message"
_UNFINISHED_OUTCOME = Outcome(_ERROR, error=_UNFINISHED_ERROR)


def _check_weight(weight: object) -> float:
    if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not 0 <= weight < math.inf:
        raise ValueError(f"weight must be a finite number >= 0, got {weight!r}")
    return float(weight)


class ProgressReport(ReportFields):
    """A node in a tree of progress reports, with a deterministic fraction.

    Args:
        step_message: What this report is about.
        steps: The expected total in the report's own units; 0 means unknown.
        report_id: An id for the root; a fresh unique one when None.
        sinks: Where the root's events go; None means the configured defaults, ``[]`` none.
        unit: Display name of one unit, such as ``"files"``.
        attributes: Key/value facts about the work, like OpenTelemetry span attributes.

    Example:
        >>> from progress_instrument import ProgressReport
        >>> with ProgressReport("Analysis", steps=2, sinks=[]) as report:
        ...     report.advance()
        ...     child = report.create_subreport("Second half", steps=4)
        ...     child.advance(2)
        ...     report.fraction
        0.75
        >>> report.status
        <Status.SUCCESS: 'success'>
    """

    __slots__ = ()  # the slots are ReportFields'

    def __init__(
        self,
        step_message: str = "",
        *,
        steps: int = 0,
        report_id: str | None = None,
        sinks: Iterable[Any] | None = None,
        unit: str | None = None,
        attributes: Mapping[str, AttributeValue] | None = None,
    ) -> None:
        if report_id is not None and not is_valid_report_id(report_id):
            raise ValueError(f"report_id must be a non-empty str of at most 200 characters, got {report_id!r:.80}")
        tree = _Tree(check_sinks(sinks))
        self._init(
            check_message(step_message),
            check_steps(steps),
            check_unit(unit),
            check_attributes(attributes),
            1.0,
            None,
            tree,
            # A str subclass (a str Enum member, say) becomes the plain text it stands for.
            new_report_id() if report_id is None else str.__str__(report_id),
        )
        if tree.sinks is None or tree.sinks:
            from ._emit import attach_root  # lazily: roots without sinks never load the emission core

            attach_root(self)

    # -- changing the report ---------------------------------------------------------------------

    def advance(self, n: float = 1) -> None:
        """Add `n` units to `completed`; ignored once finished and on a loop (`track`) node."""
        if isinstance(n, bool) or not isinstance(n, (int, float)) or not n >= 0 or n == math.inf:
            raise ValueError(f"advance(n) needs a finite number >= 0, got {n!r}")
        if self._position is not None:
            self._log_once("advance() is ignored on a track node: it counts its items itself")
            return
        with self._tree.lock:
            if self._status is not _RUNNING:
                return
            self._advanced += n
            self._fixed_fraction = None
        self._emit_progress()

    def update(self, *, steps: int | None = None, step_message: str | None = None, unit: str | None = None) -> None:
        """Change the total, the message or the unit mid-run; a fraction may drop when `steps` grows."""
        if steps is not None:
            check_steps(steps)
        if step_message is not None:
            check_message(step_message)
        check_unit(unit)
        with self._tree.lock:
            if steps is not None:
                self._steps = steps
            if step_message is not None:
                self._message = step_message
            if unit is not None:
                self._unit = unit
        self._emit_progress()

    def set_attribute(self, key: str, value: AttributeValue) -> None:
        """Set one attribute (str, int, float or bool), like an OpenTelemetry span attribute."""
        check_attribute(key, value)
        with self._tree.lock:
            if self._attributes is None:
                self._attributes = {}
            self._attributes[key] = value

    def create_subreport(
        self,
        step_message: str,
        *,
        steps: int = 0,
        weight: float = 1.0,
        unit: str | None = None,
        attributes: Mapping[str, AttributeValue] | None = None,
    ) -> ProgressReport:
        """Add a running child worth `weight` of this report's units.

        Under a finished report the child is detached: it works, but is not part of this tree.
        """
        # Exact-type tests first: this runs once per step, so the common case must be cheap.
        if type(step_message) is not str:
            check_message(step_message)
        if type(steps) is not int or steps < 0:
            check_steps(steps)
        if weight != 1.0 or type(weight) is not float:
            weight = _check_weight(weight)
        if unit is not None:
            check_unit(unit)
        return self._add_child(step_message, steps, weight, unit, check_attributes(attributes) if attributes else None)

    def _add_child(
        self,
        message: str,
        steps: int,
        weight: float,
        unit: str | None,
        attributes: dict[str, AttributeValue] | None,
    ) -> ProgressReport:
        """`create_subreport` for arguments already checked (`step`, `track`, the decorator)."""
        child = ProgressReport.__new__(ProgressReport)
        tree = self._tree
        # acquire/release rather than `with`: half the cost, and this runs once per step.
        lock = tree.lock
        lock.acquire()
        try:
            detached = self._status is not _RUNNING
            if not detached:
                child._init(message, steps, unit, attributes, weight, self, tree, _ids.next_serial())
                child._cancelled = self._cancelled
                position = self._position
                if position is not None:
                    child._item = position()
                children = self._children
                if children is None:
                    children = self._children = {}
                children[child._report_id] = child
                self._running_count += 1
        finally:
            lock.release()
        if detached:
            child._init(message, steps, unit, attributes, weight, None, _Tree([]), new_report_id())
            self._log_once(f"child {message!r} created under a finished report is detached")
            return child
        emitter = tree.emitter
        if emitter is not None and not self._emit_pending:
            # No record per child: the parent's one record makes the flusher look over its
            # children (the retained ones, bounded), so a loop of quick steps costs it nothing per step.
            self._emit_pending = 1  # _emit.NEW_CHILDREN
            emitter.records.append(self)
        return child

    def complete(self, status: Status | str = Status.SUCCESS, *, error: BaseException | str | None = None) -> None:
        """Finish the report; a no-op when already finished (the first outcome stands).

        Running descendants finish first: with this status and error when this report fails,
        otherwise as ``error`` with "unfinished when parent finished".

        Args:
            status: `Status.SUCCESS` or `Status.ERROR` (or their string values).
            error: The exception or text of a failure; an exception gives ``"Type: message"``.
        """
        if status is _SUCCESS and error is None:
            self._finish(SUCCESS_OUTCOME)
            return
        try:
            final = Status(status)
        except ValueError:
            raise ValueError(f"status must be 'success' or 'error', got {status!r}") from None
        if final is _RUNNING:
            raise ValueError("complete() needs a final status, 'success' or 'error', not 'running'")
        if isinstance(error, BaseException):
            outcome = outcome_of_exception(error)
            if final is _ERROR and outcome.status is not _ERROR:
                # An exit the exit paths call a success (SystemExit(0)), reported failed on purpose.
                text, error_type = describe_exception(error)
                outcome = Outcome(_ERROR, error=text, error_type=error_type)
            elif final is _SUCCESS:
                outcome = SUCCESS_OUTCOME
        elif final is _ERROR:
            if error is not None and not isinstance(error, str):
                raise TypeError(f"error must be an exception, a str or None, got {type(error).__name__}")
            outcome = Outcome(_ERROR, error=error or _NO_MESSAGE_ERROR)
        else:
            outcome = SUCCESS_OUTCOME
        self._finish(outcome)

    def _finish(self, outcome: Outcome) -> None:
        tree = self._tree
        lock = tree.lock
        lock.acquire()
        try:
            if self._status is not _RUNNING:
                return
            finished = running_descendants_locked(self) if self._running_count else None
            if finished:
                inherited = outcome if outcome.status is _ERROR else _UNFINISHED_OUTCOME
                # Deepest first, so every node finishes after its own descendants.
                for node in reversed(finished):
                    node._finish_locked(inherited)
            self._finish_locked(outcome)
        finally:
            lock.release()
        emitter = tree.emitter
        if emitter is not None:
            if finished:
                for node in reversed(finished):  # descendants: never roots
                    emitter.child_finished(node)
            if self._parent is None:
                emitter.finished(self)
            else:
                emitter.child_finished(self)
        if self._finish_hooks:
            for hook in self._finish_hooks:
                hook()

    def _finish_locked(self, outcome: Outcome) -> None:
        position = self._position
        if position is not None:
            self._advanced = float(position())
            self._position = None
        self._status = outcome.status
        self._error = outcome.error
        self._error_type = outcome.error_type
        if outcome.cancelled:
            self._cancelled = True
        self._finished_at = clocks.wall()
        self._finished_monotonic = clocks.monotonic()
        self._fixed_fraction = None
        parent = self._parent
        if parent is None:
            return
        # The parent's bookkeeping, here rather than in a method of its own: it runs once per step.
        # (Rebuilt trees keep the same bounds with `_wire_read.count_finished_child`, off the hot path.)
        parent._running_count -= 1
        if parent._position is not None:
            # A loop counts children per item; children of earlier items are already counted by it.
            if self._item > parent._item_index:
                parent._item_index = self._item
                parent._item_weight = self._weight
            elif self._item == parent._item_index:
                parent._item_weight += self._weight
        else:
            parent._finished_weight += self._weight
        children = parent._children
        assert children is not None
        if self._status is _SUCCESS:
            kept = parent._finished_ids
            if kept is None:
                kept = parent._finished_ids = deque()
            limit = RETAINED_FINISHED
        else:
            kept = parent._failed_ids
            if kept is None:
                kept = parent._failed_ids = deque()
            limit = RETAINED_FAILED
        kept.append(self._report_id)
        if len(kept) > limit:
            del children[kept.popleft()]
            parent._omitted += 1

    # -- cancellation ----------------------------------------------------------------------------

    def cancel(self) -> bool:
        """Ask the work under this report to stop; return False when it has already finished.

        Marks this report and its running descendants ``cancelled``; the next `check()`, `step`
        entry or `track` item under them raises `ProgressCancelled`. Finishes nothing by itself.
        """
        with self._tree.lock:
            if self._status is not _RUNNING:
                return False
            nodes = running_descendants_locked(self)
            nodes.insert(0, self)
            hooks: list[Callable[[], object]] = []
            for node in nodes:
                node._cancelled = True
                if node._cancel_hooks:
                    hooks.extend(node._cancel_hooks)
        for hook in hooks:
            hook()
        emitter = self._tree.emitter
        if emitter is not None:
            for node in nodes:
                emitter.progressed(node)
        return True

    def check(self) -> None:
        """Raise `ProgressCancelled` when this report was cancelled; otherwise do nothing."""
        if self._cancelled:
            raise ProgressCancelled(f"{self._message or self.report_id!r} was cancelled")

    # -- hooks for `track` -----------------------------------------------------------------------

    def _set_position_source(self, position: Callable[[], int] | None) -> None:
        """Make this a loop node whose items done are read lazily from `position` (`track`)."""
        with self._tree.lock:
            if self._status is not _RUNNING:
                return
            self._position = position
        emitter = self._tree.emitter
        if emitter is not None and position is not None:
            emitter.sample(self)

    def _add_cancel_hook(self, hook: Callable[[], object]) -> None:
        """Call `hook` (from the cancelling thread) when this report is cancelled."""
        with self._tree.lock:
            if self._cancel_hooks is None:
                self._cancel_hooks = []
            self._cancel_hooks.append(hook)
            already = self._cancelled
        if already:
            hook()

    def _add_finish_hook(self, hook: Callable[[], object]) -> None:
        """Call `hook` once this report has finished (after its events were handed on)."""
        if self._finish_hooks is None:
            self._finish_hooks = []
        self._finish_hooks.append(hook)

    # -- plumbing --------------------------------------------------------------------------------

    def _emit_progress(self) -> None:
        emitter = self._tree.emitter
        if emitter is not None:
            emitter.progressed(self)

    def _log_once(self, message: str) -> None:
        if self._detached_logged:
            return
        self._detached_logged = True
        import logging

        logging.getLogger("progress_instrument").debug("%s (report %s)", message, self.report_id)

    # -- context manager -------------------------------------------------------------------------

    def __enter__(self) -> Self:
        entered = _context.enter_report(self)
        tokens = self._context_tokens
        if tokens is None:
            self._context_tokens = [entered]
        else:
            tokens.append(entered)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        tokens = self._context_tokens
        if tokens:
            previous, token = tokens.pop()
            _context.leave_report(self, previous, token)
        self._finish(SUCCESS_OUTCOME if exc is None else outcome_of_exception(exc))

    # -- wire format (implemented in _wire / _wire_read, imported lazily: they need json) --------

    def to_dict(self) -> dict[str, Any]:
        """The snapshot of this report's tree in the DASF shape, within 256 KiB and 100 levels."""
        from ._wire import snapshot_dict

        return snapshot_dict(self)

    def to_json(self) -> str:
        """`to_dict()` as compact JSON text."""
        from ._wire import snapshot_json

        return snapshot_json(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, max_depth: int = 256) -> ProgressReport:
        """Read a snapshot (ours or DASF's); raise `ValueError` naming what is wrong."""
        from ._wire_read import read_tree

        return read_tree(data, max_depth=max_depth)

    @classmethod
    def from_json(
        cls, payload: str | bytes, *, max_bytes: int = 16 * 1024 * 1024, max_depth: int = 256
    ) -> ProgressReport:
        """Read JSON text of a snapshot (ours or a ``deprogressapi`` ``model_dump_json()``).

        Raises:
            ValueError: Malformed JSON, a payload over `max_bytes`, nesting over `max_depth`, or a
                field of the wrong type; the message names the field.
        """
        from ._wire_read import read_json

        return read_json(payload, max_bytes=max_bytes, max_depth=max_depth)

    def __repr__(self) -> str:
        return (
            f"<ProgressReport {self._message!r} id={self.report_id} status={self._status.value} "
            f"fraction={self.fraction:.3f}>"
        )


ProgressReport.__module__ = "progress_instrument"
