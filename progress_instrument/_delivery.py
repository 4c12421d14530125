"""Turning one root's records into ordered, coalesced events for its sinks (SPEC §2, §7).

Records say *which* report changed; the report's state when delivered says what to send (a start for
a report not announced yet, a finish for a finished one, else a progress) and what it holds, so a
batch of changes costs one event. A parent's record also stands for its new children, which have no
start record of their own: the flusher looks over its retained children (`look_over_children`). The
order rules are kept here, whatever order threads appended records in: a report is announced
(``start``) after its ancestors, its ``finish`` is sent after its descendants' finishes, nothing
about it follows its ``finish``, and a root's ``finish`` is preceded by its ``snapshot``. A child
that started and finished ``success`` within one ``min_interval`` and was never announced is left
out of the stream: it is counted in its parent's ``omitted_children`` until the root's snapshot
lists it. Everything here runs holding the delivery lock, never a tree lock while a sink is called.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

from ._clock import clocks
from ._emit import NEW_CHILDREN, NOTHING_PENDING, TIME_SLACK, lived_less_than, pending_records
from ._outcome import Status
from ._wire import event_dict

if TYPE_CHECKING:
    from ._emit import Emitter
    from ._tree import ProgressReport

__all__ = ["flush_emitter"]

# Module constants: looking up an Enum member costs ~10x a global on the hot paths.
_RUNNING = Status.RUNNING
_SUCCESS = Status.SUCCESS


class _NodeState:
    """What the stream has said about one report (``report._emit_state``)."""

    __slots__ = ("announced", "done", "last_fraction", "last_progress", "omitted_ids", "open_children")

    def __init__(self) -> None:
        self.announced = False
        self.done = False
        self.last_progress = -float("inf")
        # The fraction of the last start or progress event sent.
        self.last_fraction = -1.0
        # Keys (``_report_id``) of children left out of the stream, while the producer still lists them.
        self.omitted_ids: deque[str | int] | None = None
        # Children announced and not finished yet in the stream.
        self.open_children: set[ProgressReport] | None = None


# The state of every report left out of the stream that never had one of its own (shared, never changed).
_LEFT_OUT = _NodeState()
_LEFT_OUT.done = True


def _mark_done(report: ProgressReport) -> None:
    state: _NodeState | None = report._emit_state
    if state is None:
        report._emit_state = _LEFT_OUT
    else:
        state.done = True


def _state(report: ProgressReport) -> _NodeState:
    state: _NodeState | None = report._emit_state
    if state is None:
        state = report._emit_state = _NodeState()
    return state


def _children(report: ProgressReport) -> list[ProgressReport]:
    if not report._children:
        return []  # most reports never have children: skip the lock
    with report._tree.lock:
        return list(report._children.values()) if report._children else []


def flush_emitter(emitter: Emitter, now: float, *, final: bool = False) -> None:
    """Deliver what `emitter`'s root has pending; `final` ignores ``min_interval`` for progress."""
    _Flush(emitter, now).run(final)


class _Flush:
    """One delivery pass over a root's records."""

    __slots__ = ("emitter", "last_fraction", "now", "snapshot_omitted")

    def __init__(self, emitter: Emitter, now: float) -> None:
        self.emitter = emitter
        self.now = now
        self.snapshot_omitted = 0
        self.last_fraction = 0.0

    def run(self, final: bool) -> None:
        emitter = self.emitter
        to_sample = emitter.to_sample
        while to_sample:
            emitter.sampled.setdefault(to_sample.popleft(), -1.0)
        # A full deque may have dropped its oldest records (a sink far slower than the work).
        dropped = len(emitter.records) == emitter.records.maxlen
        records = pending_records(emitter)
        # A finished parent is handled at its last record: finish records come descendants first,
        # so it comes after every child it had, including failed children its tree no longer lists
        # (SPEC §7: failures are always delivered). Leaves need no such care.
        last_index = {report: index for index, report in enumerate(records) if report._children}
        for index, report in enumerate(records):
            status = report._status
            if status is not _RUNNING and last_index.get(report, index) != index:
                continue
            pending = report._emit_pending
            report._emit_pending = NOTHING_PENDING
            state: _NodeState | None = report._emit_state
            if state is not None and state.done:
                continue
            if status is not _RUNNING:
                self.finish(report)
            else:
                self.running_changed(report, pending)
        if dropped:
            self.recover_dropped_records()
        self.sample()
        self.progress(final)
        for slot in emitter.sinks:
            slot.flush_sink()

    # -- what a record can mean ------------------------------------------------------------------

    def running_changed(self, report: ProgressReport, pending: int) -> None:
        """A running report's record: announce it or make its progress due, and look over its children."""
        state: _NodeState | None = report._emit_state
        due = self.emitter.due
        # NOTHING_PENDING counts as a change too: an earlier record of this pass took the flag a
        # producer had set for this one.
        changed = pending != NEW_CHILDREN
        if state is None or not state.announced:
            self._announce_running(report)
            if changed:
                due[report] = None
        elif changed:
            due[report] = None
        else:
            due.setdefault(report, True)  # only children were added: sent if its fraction moved
        if report._children:
            self.look_over_children(report)

    def recover_dropped_records(self) -> None:
        """After records were dropped, deal with every running report as if it had a record.

        A dropped record may have been the one standing for a parent's new children: its
        ``_emit_pending`` still says a record is queued, so no other would come for them.
        """
        root = self.emitter.root()
        stack = [root] if root is not None else []
        while stack:
            node = stack.pop()
            state: _NodeState | None = node._emit_state
            if node._status is not _RUNNING or (state is not None and state.done):
                continue
            pending = node._emit_pending
            node._emit_pending = NOTHING_PENDING
            self.running_changed(node, pending)
            stack.extend(reversed(_children(node)))

    def look_over_children(self, parent: ProgressReport) -> None:
        """Deal with the children of `parent` the stream has not seen yet.

        Children have no records of their own at start (their parent's record stands for all of
        them), so this is where a running child is announced and a quick successful leaf left out.
        Any other finished child has a finish record of its own, which sends it after all its
        descendants (evicted failures included); finishing it here would walk only the retained
        ones. Children evicted before were quick successes or have a record too.
        """
        for child in _children(parent):
            if child._emit_state is not None:
                continue
            status = child._status
            if status is _RUNNING:
                self._announce_running(child)
            elif not child._children and self._omissible(child):
                self._omit(child)

    def _announce_running(self, report: ProgressReport) -> None:
        """Announce a report read as running; finish it too when it is a leaf that finished meanwhile.

        Its thread may have skipped the finish record, having read the report as never announced
        (`Emitter.child_finished`): the state was set above before the status is read here. Only a
        leaf may skip it; a parent's own record sends it after its descendants.
        """
        if self._announce(report) and report._status is not _RUNNING and not report._children:
            self.finish(report)

    def finish(self, report: ProgressReport) -> None:
        """Send `report`'s finish after every finish of its subtree still pending (iteratively: trees may be deep)."""
        stack: list[tuple[ProgressReport, bool]] = [(report, False)]
        while stack:
            node, expanded = stack.pop()
            if expanded:
                self._finish_one(node)
                continue
            state: _NodeState | None = node._emit_state
            if state is not None and state.done:
                continue
            if state is None or not state.announced:
                if self._omissible(node):
                    self._omit(node)
                    continue
                if not self._announce(node):
                    continue
            stack.append((node, True))
            children = _children(node)
            open_children = _state(node).open_children
            if open_children:
                # Announced children the tree no longer lists (evicted while their records were dropped).
                listed = set(children)
                children.extend(child for child in open_children if child not in listed)
            stack.extend((child, False) for child in reversed(children) if child._status is not _RUNNING)

    def _finish_one(self, report: ProgressReport) -> None:
        state = _state(report)
        if state.done:
            return
        if report._parent is None:
            self._send(report, "snapshot")
        self._send(report, "finish")
        state.done = True
        state.open_children = None
        parent = report._parent
        emitter = self.emitter
        if parent is not None:
            open_siblings = _state(parent).open_children
            if open_siblings is not None:
                open_siblings.discard(report)
            if parent._status is Status.RUNNING:
                emitter.due.setdefault(parent, True)  # its fraction may have moved
        emitter.due.pop(report, None)
        emitter.sampled.pop(report, None)

    def progress(self, final: bool) -> None:
        emitter = self.emitter
        due = emitter.due
        if not due:
            return
        interval = emitter.min_interval
        for report in list(due):
            # A report's fraction moves with its descendants': its running ancestors are due too, so
            # a client rebuilding the tree (a renderer, a DASF bar) sees the root advance.
            parent = report._parent
            # They are marked True: sent only if their fraction moved.
            while parent is not None and parent._status is Status.RUNNING and parent not in due:
                due[parent] = True
                parent = parent._parent
        for report in list(due):
            state: _NodeState | None = report._emit_state
            if report._status is not _RUNNING or (state is not None and state.done):
                del due[report]
            elif state is None or not state.announced:
                # Its start was dropped (a slow sink): announcing it carries the current state.
                del due[report]
                self._announce_running(report)
            elif final or self.now - state.last_progress >= interval - TIME_SLACK:
                derived = due.pop(report)
                if derived and report.fraction == state.last_fraction:
                    continue
                if self._send(report, "progress"):
                    state.last_progress = self.now
                    state.last_fraction = self.last_fraction

    def sample(self) -> None:
        sampled = self.emitter.sampled
        if not sampled:
            return
        for report, last in list(sampled.items()):
            position = report._position
            if position is None or report._status is not _RUNNING:
                del sampled[report]
                continue
            try:
                value = float(position())
            except Exception:
                del sampled[report]
                continue
            if value != last:
                sampled[report] = value
                self.emitter.due[report] = None

    # -- helpers ---------------------------------------------------------------------------------

    def _omissible(self, report: ProgressReport) -> bool:
        """A success, short-lived child with no failed or announced report in its subtree."""
        if report._parent is None or report._status is not _SUCCESS:
            return False
        if not lived_less_than(report, self.emitter.quick):
            return False
        stack = _children(report)
        while stack:
            node = stack.pop()
            state: _NodeState | None = node._emit_state
            if node._status is not _SUCCESS or (state is not None and state.announced):
                return False
            stack.extend(_children(node))
        return True

    def _omit(self, report: ProgressReport) -> None:
        stack = [report]
        while stack:
            node = stack.pop()
            _mark_done(node)
            stack.extend(_children(node))
        parent = report._parent
        assert parent is not None
        state = _state(parent)
        if state.done:
            return  # left out itself: nothing to count in
        if state.omitted_ids is None:
            state.omitted_ids = deque()
        state.omitted_ids.append(report._report_id)
        self.emitter.due[parent] = None

    def _announce(self, report: ProgressReport) -> bool:
        """Send ``start`` for `report` and any ancestor not yet announced; False under an omitted one."""
        chain = []
        node: ProgressReport | None = report
        while node is not None:
            state: _NodeState | None = node._emit_state
            if state is not None and state.done:
                # Under a report left out of the stream (it finished, so this one did too).
                _mark_done(report)
                return False
            if state is not None and state.announced:
                break
            chain.append(node)
            node = node._parent
        for node in reversed(chain):
            self._send(node, "start")
            _state(node).announced = True
            _state(node).last_fraction = self.last_fraction
            parent = node._parent
            if parent is not None:
                parent_state = _state(parent)
                if parent_state.open_children is None:
                    parent_state.open_children = set()
                parent_state.open_children.add(node)
        return True

    def _send(self, report: ProgressReport, kind: str) -> bool:
        emitter = self.emitter
        event = event_dict(report, kind, emitter.seq + 1, clocks.wall())
        if kind == "start":
            if event["status"] != "running":
                # Announced late: it describes the report as it started; its finish follows.
                event.update(status="running", finished_at=None, error=None, error_type=None, fraction=0.0)
        elif kind == "progress" and event["status"] != "running":
            return False  # finished meanwhile: its finish event says the rest
        elif kind == "snapshot":
            self.snapshot_omitted = event["snapshot"]["omitted_children"]
        elif kind == "finish" and report._parent is None:
            # As the snapshot says: when it had to be reduced to fit, the root counts what it left out.
            event["omitted_children"] = self.snapshot_omitted
        state: _NodeState | None = report._emit_state
        counts_omitted = kind in ("start", "progress") or (kind == "finish" and report._parent is not None)
        if counts_omitted and state is not None and state.omitted_ids:
            event["omitted_children"] += _still_listed(report, state.omitted_ids)
        self.last_fraction = event["fraction"]
        emitter.seq += 1
        for slot in emitter.sinks:
            slot.deliver(event)
        return True


def _still_listed(parent: ProgressReport, omitted: deque[str | int]) -> int:
    """How many children left out of the stream the producer still lists (others are in ``_omitted``)."""
    with parent._tree.lock:
        children = parent._children or {}
        while omitted and omitted[0] not in children:
            omitted.popleft()
        return sum(1 for report_id in omitted if report_id in children)
