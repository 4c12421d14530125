"""Rebuilding report trees on the client side from a stream of events (SPEC §2)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._checks import is_valid_report_id
from ._ids import new_report_id
from ._outcome import Status
from ._tree import ProgressReport, _Tree
from ._wire_read import apply_fields, new_node, read_fields, read_tree

__all__ = ["TreeBuilder", "EVENT_KINDS"]

# Module constants: looking up an Enum member costs ~10x a global on the hot paths.
_RUNNING = Status.RUNNING

EVENT_KINDS = ("start", "progress", "finish", "snapshot")


class TreeBuilder:
    """Rebuild the producer's trees from its events, one `apply()` per event.

    Once a root's ``finish`` event is applied, its rebuilt tree's snapshot equals the producer's.
    Before that, the reports delivered so far match in ids, messages and statuses (coalescing may
    hold back the rest). Events whose ``seq`` is not above the last one applied for their root are
    replays and are ignored; a report whose parent was never announced becomes a root.

    Example:
        >>> from progress_instrument import TreeBuilder
        >>> builder = TreeBuilder()
        >>> builder.apply({"event": "start", "report_id": "a", "parent_id": None, "seq": 1,
        ...                "time": 0.0, "step_message": "Job", "steps": 2, "status": "running"})
        >>> builder.roots[0].step_message
        'Job'
    """

    def __init__(self, *, max_depth: int = 256) -> None:
        self._max_depth = max_depth
        self._reports: dict[str, ProgressReport] = {}
        self._root_of: dict[str, str] = {}
        self._last_seq: dict[str, int] = {}
        self._roots: list[ProgressReport] = []

    @property
    def roots(self) -> list[ProgressReport]:
        """The rebuilt root reports, in the order they started."""
        return list(self._roots)

    def get(self, report_id: str) -> ProgressReport | None:
        """The rebuilt report with this id, if an event announced it."""
        return self._reports.get(report_id)

    def apply(self, event: Mapping[str, Any] | Any) -> None:
        """Apply one event (a dict, or an object with ``to_dict()``).

        Raises:
            ValueError: The event is malformed; the message names the field.
        """
        if not isinstance(event, Mapping) and callable(getattr(event, "to_dict", None)):
            event = event.to_dict()
        if not isinstance(event, Mapping):
            raise ValueError(f"event: expected an object, got {type(event).__name__}")
        kind = event.get("event")
        if kind not in EVENT_KINDS:
            raise ValueError(f"event.event: expected one of {', '.join(EVENT_KINDS)}, got {kind!r}")
        report_id = event.get("report_id")
        if not is_valid_report_id(report_id):
            raise ValueError(f"event.report_id: expected a string of 1 to 200 characters, got {report_id!r:.80}")
        parent_id = event.get("parent_id")
        if parent_id is not None and not isinstance(parent_id, str):
            raise ValueError(f"event.parent_id: expected a string or null, got {parent_id!r}")
        seq = event.get("seq")
        if isinstance(seq, bool) or not isinstance(seq, int):
            raise ValueError(f"event.seq: expected an integer, got {seq!r}")
        time = event.get("time")
        if isinstance(time, bool) or not isinstance(time, (int, float)):
            raise ValueError(f"event.time: expected a number, got {time!r}")

        root_id = self._root_of.get(report_id) or self._root_of.get(parent_id or "") or report_id
        if seq <= self._last_seq.get(root_id, -1 << 62):
            return
        if kind == "snapshot":
            snapshot = event.get("snapshot")
            if not isinstance(snapshot, Mapping):
                raise ValueError("event.snapshot: expected the root's snapshot object")
            self._replace_root(report_id, read_tree(snapshot, max_depth=self._max_depth))
        else:
            fields = read_fields(event, "event")
            report = self._reports.get(report_id)
            if report is None:
                report = self._add(report_id, parent_id, fields)
            elif kind != "start":
                self._update(report, fields)
        self._last_seq[root_id] = seq

    def _add(self, report_id: str, parent_id: str | None, fields: dict[str, Any]) -> ProgressReport:
        parent = self._reports.get(parent_id) if parent_id is not None else None
        if parent is not None and parent._status is _RUNNING:
            with parent._tree.lock:
                report, let_go = new_node(fields, report_id, parent, parent._tree)
            self._root_of[report_id] = self._root_of[parent.report_id]
            self._forget(let_go)
        else:
            report, _ = new_node(fields, report_id, None, _Tree([]))
            self._roots.append(report)
            self._root_of[report_id] = report_id
        self._reports[report_id] = report
        return report

    def _update(self, report: ProgressReport, fields: dict[str, Any]) -> None:
        # A snapshot may have counted more omitted children than the live tree (its size budget);
        # the count never goes down, so a later event must not lower it.
        fields["omitted_children"] = max(fields["omitted_children"], report._omitted)
        with report._tree.lock:
            let_go = apply_fields(report, fields)
        self._forget(let_go)

    def _forget(self, report_ids: list[str]) -> None:
        """Drop reports the rebuilt tree let go (SPEC §1 retention, as in the producer's tree)."""
        for report_id in report_ids:
            self._reports.pop(report_id, None)
            self._root_of.pop(report_id, None)

    def _replace_root(self, report_id: str, root: ProgressReport) -> None:
        old = self._reports.get(report_id)
        index = next((i for i, each in enumerate(self._roots) if each is old), None)
        if old is not None:
            for stale in [old, *_all_descendants(old)]:
                self._reports.pop(stale.report_id, None)
                self._root_of.pop(stale.report_id, None)
        if root.report_id != report_id:
            # The snapshot's root id is authoritative only if it names the event's report.
            root._report_id = report_id if report_id not in self._reports else new_report_id()
        for node in [root, *_all_descendants(root)]:
            self._reports[node.report_id] = node
            self._root_of[node.report_id] = root.report_id
        if index is None:
            self._roots.append(root)
        else:
            self._roots[index] = root


def _all_descendants(report: ProgressReport) -> list[ProgressReport]:
    found: list[ProgressReport] = []
    stack = list(report._children.values()) if report._children else []
    while stack:
        node = stack.pop()
        found.append(node)
        if node._children:
            stack.extend(node._children.values())
    return found


TreeBuilder.__module__ = "progress_instrument"
