"""The producer side of emission: what instrumented code pays per event (SPEC §7, §10).

Each root with sinks gets an `Emitter`, shared by every node of its tree (``_Tree.emitter``). The
tree calls it outside its lock; a call appends the report as a record to the root's deque (atomic
under the GIL) and returns. The flushing thread (`_flusher`) turns records into events
(`_delivery`), so the instrumented code never builds a dict, never serializes and never waits for a
sink, except when a root finishes: then its events are delivered before `complete()` returns.

Most steps cost no record at all: a new child only marks its parent (one record until the next
flush, which looks over the parent's retained children), and a successful leaf shorter than
``min_interval`` and never announced records no finish (`Emitter.child_finished`; with the GIL
only). So a loop of 10^5 quick steps leaves the flusher a handful of records, and keeps no finished
step alive for it.
"""

from __future__ import annotations

import sys
import weakref
from collections import deque
from typing import TYPE_CHECKING

from ._config import resolve_sinks, settings
from ._outcome import Status

if TYPE_CHECKING:
    from ._config import SinkSlot
    from ._tree import ProgressReport

__all__ = [
    "Emitter",
    "attach_root",
    "pending_records",
    "lived_less_than",
    "MAX_PENDING",
    "CHANGED",
    "NEW_CHILDREN",
    "NOTHING_PENDING",
]

# Times are floats: a flush exactly one min_interval after the last counts as one min_interval later.
TIME_SLACK = 1e-9

# Skipping records relies on the GIL ordering one thread's writes before another's reads; a
# free-threaded build records every finish (correctness first, SPEC §10).
GIL_ENABLED: bool = getattr(sys, "_is_gil_enabled", lambda: True)()

_SUCCESS = Status.SUCCESS

# What a report's queued record stands for (``report._emit_pending``).
NOTHING_PENDING = 0  # no record queued
NEW_CHILDREN = 1  # children were added: the flusher looks them over (set by ProgressReport._add_child)
CHANGED = 2  # its own fields changed: a progress event is due

#: Records a root may hold for a slow sink; past it, the oldest are dropped. Nothing is lost for
#: good: a report's finish walks its children, so every retained report is still sent before its
#: parent's finish (failures included), and the root's snapshot has the whole tree.
MAX_PENDING = 200_000


class Emitter:
    """Collects one root's records for the flushing thread.

    A record is just the report that changed (``_emit_pending`` says whether its own fields did
    or only its children); the flusher reads its state to tell what to send (a start, a progress
    or a finish). Only `_delivery` (holding the delivery lock) reads the records and the delivery
    state (``seq``, ``due``, ``sampled``).
    """

    __slots__ = (
        "__weakref__",
        "due",
        "min_interval",
        "quick",
        "records",
        "root",
        "sampled",
        "seq",
        "sinks",
        "to_sample",
    )

    def __init__(self, root: ProgressReport, sinks: list[SinkSlot], min_interval: float) -> None:
        self.records: deque[ProgressReport] = deque(maxlen=MAX_PENDING)
        self.root = weakref.ref(root)
        self.sinks = sinks
        self.min_interval = min_interval
        # Shorter than this, a successful child may be left out of the stream (SPEC §7).
        self.quick = min_interval - TIME_SLACK
        self.seq = 0
        # Reports with a progress event to send once their last one is min_interval old (an ordered
        # set); True marks an ancestor of a changed report, sent only when its fraction moved.
        self.due: dict[ProgressReport, bool | None] = {}
        # Loop nodes whose position the flusher samples, with the last position seen.
        self.sampled: dict[ProgressReport, float] = {}
        self.to_sample: deque[ProgressReport] = deque()

    def progressed(self, report: ProgressReport) -> None:
        """A report changed; one record stands for every change until the flusher picks it up."""
        if report._emit_pending != CHANGED:
            report._emit_pending = CHANGED
            # Also when a record for new children is queued: the flusher may be taking it right
            # now, having read the flag before this changed it (a duplicate record is harmless).
            self.records.append(report)

    def child_finished(self, report: ProgressReport) -> None:
        """A child finished (called by the tree, outside its lock): record it when it needs a record.

        A successful leaf that lived less than ``min_interval`` and was never announced needs no
        record: the flusher finds it among its parent's children, or it was evicted from them and
        is counted in the parent's ``omitted_children`` (SPEC §7). Everything else is recorded:
        failures (always delivered), parents (handled at their last record, after their
        children), and announced reports (their start is out, so their finish must follow).
        The flusher sets ``_emit_state`` before it reads the status, and this reads the state
        after the status was set, so a report announced at the same moment is never missed.
        """
        if (
            report._status is _SUCCESS
            and not report._children
            and report._emit_state is None
            and GIL_ENABLED
            and lived_less_than(report, self.quick)
        ):
            return
        self.records.append(report)

    def finished(self, report: ProgressReport) -> None:
        """The root finished: deliver all its events before returning (children use `child_finished`)."""
        self.records.append(report)
        if report._parent is None:
            from ._flusher import core

            core.flush_root(self)

    def sample(self, report: ProgressReport) -> None:
        """Sample `report`'s position source (a `track` loop) at every flush from now on."""
        self.to_sample.append(report)


def lived_less_than(report: ProgressReport, seconds: float) -> bool:
    """Whether `report` finished less than `seconds` after it started (by the monotonic clock)."""
    started, ended = report._started_monotonic, report._finished_monotonic
    return started is not None and ended is not None and ended - started < seconds


def attach_root(root: ProgressReport) -> None:
    """Resolve a new root's sinks and, when it has any, attach an emitter and send its ``start``."""
    tree = root._tree
    sinks = resolve_sinks(tree.sinks)
    tree.sinks = [slot.sink for slot in sinks]
    if not sinks:
        return
    emitter = Emitter(root, sinks, settings().min_interval)
    root._emit_pending = NEW_CHILDREN  # its first record announces it (and looks over any children)
    emitter.records.append(root)
    tree.emitter = emitter
    from ._flusher import core

    core.register(emitter)


def pending_records(emitter: Emitter) -> list[ProgressReport]:
    """Take every record appended so far (for `_delivery`, under the delivery lock)."""
    records = emitter.records
    popleft = records.popleft
    return [popleft() for _ in range(len(records))]
