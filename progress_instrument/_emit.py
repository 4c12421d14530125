"""The producer side of emission: what instrumented code pays per event (SPEC §7, §10).

Each root with sinks gets an `Emitter`, shared by every node of its tree (``_Tree.emitter``). The
tree calls it outside its lock; each call appends the report as a record to the root's deque
(atomic under the GIL) and returns. The flushing thread (`_flusher`) turns records into events
(`_delivery`), so the instrumented code never builds a dict, never serializes and never waits for a
sink, except when a root finishes: then its events are delivered before `complete()` returns.
"""

from __future__ import annotations

import weakref
from collections import deque
from typing import TYPE_CHECKING

from ._config import resolve_sinks, settings

if TYPE_CHECKING:
    from ._config import SinkSlot
    from ._tree import ProgressReport

__all__ = ["Emitter", "attach_root", "pending_records", "MAX_PENDING"]

#: Records a root may hold for a slow sink; past it, the oldest are dropped. Nothing is lost for
#: good: a report's finish walks its children, so every retained report is still sent before its
#: parent's finish (failures included), and the root's snapshot has the whole tree.
MAX_PENDING = 200_000


class Emitter:
    """Collects one root's records for the flushing thread.

    A record is just the report that changed; the flusher reads its state to tell what to send
    (a start, a progress or a finish). `started` is the deque's own ``append``, so creating a
    child costs no Python call here. Only `_delivery` (holding the delivery lock) reads the
    records and the delivery state (``seq``, ``due``, ``sampled``).
    """

    __slots__ = (
        "__weakref__",
        "child_finished",
        "due",
        "min_interval",
        "records",
        "root",
        "sampled",
        "seq",
        "sinks",
        "started",
        "to_sample",
    )

    def __init__(self, root: ProgressReport, sinks: list[SinkSlot], min_interval: float) -> None:
        self.records: deque[ProgressReport] = deque(maxlen=MAX_PENDING)
        #: A child was created, or a child finished (called by the tree, outside its lock): the
        #: deque's own ``append``, so neither costs a Python call here.
        self.started = self.child_finished = self.records.append
        self.root = weakref.ref(root)
        self.sinks = sinks
        self.min_interval = min_interval
        self.seq = 0
        # Reports with a progress event to send once their last one is min_interval old (an ordered
        # set); True marks an ancestor of a changed report, sent only when its fraction moved.
        self.due: dict[ProgressReport, bool | None] = {}
        # Loop nodes whose position the flusher samples, with the last position seen.
        self.sampled: dict[ProgressReport, float] = {}
        self.to_sample: deque[ProgressReport] = deque()

    def progressed(self, report: ProgressReport) -> None:
        """A report changed; one record stands for every change until the flusher picks it up."""
        if not report._emit_pending:
            report._emit_pending = True
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


def attach_root(root: ProgressReport) -> None:
    """Resolve a new root's sinks and, when it has any, attach an emitter and send its ``start``."""
    tree = root._tree
    sinks = resolve_sinks(tree.sinks)
    tree.sinks = [slot.sink for slot in sinks]
    if not sinks:
        return
    emitter = Emitter(root, sinks, settings().min_interval)
    emitter.records.append(root)
    tree.emitter = emitter
    from ._flusher import core

    core.register(emitter)


def pending_records(emitter: Emitter) -> list[ProgressReport]:
    """Take every record appended so far (for `_delivery`, under the delivery lock)."""
    records = emitter.records
    popleft = records.popleft
    return [popleft() for _ in range(len(records))]
