"""Writing the wire format: snapshots in the DASF shape and events (SPEC §2).

A snapshot is taken under the tree lock as plain dicts, then, only when the whole tree serializes
over `MAX_SNAPSHOT_BYTES`, reduced deterministically: finished subtrees shrink to their root, then
older finished siblings go, then running siblings past the first 50, each counted in the parent's
``omitted_children``; as a last resort the latest nodes in tree order go. Sizes are tracked exactly
(compact UTF-8 JSON), so the result is the largest such reduction that fits.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ._fraction import fraction_locked
from ._outcome import Status

if TYPE_CHECKING:
    from ._tree import ProgressReport

__all__ = [
    "MAX_SNAPSHOT_BYTES",
    "MAX_SNAPSHOT_DEPTH",
    "MAX_MESSAGE_CHARS",
    "MAX_ERROR_CHARS",
    "snapshot_dict",
    "snapshot_json",
    "event_dict",
]

# Module constants: looking up an Enum member costs ~10x a global on the hot paths.
_RUNNING = Status.RUNNING

MAX_SNAPSHOT_BYTES = 256 * 1024
# SPEC §2 allows 256 levels; deprogressapi's parser (pydantic's jiter, 200 nested JSON containers,
# two per report) reads at most 100, so snapshots stop there to stay readable by DASF clients.
MAX_SNAPSHOT_DEPTH = 100
MAX_MESSAGE_CHARS = 500
MAX_ERROR_CHARS = 2000
MAX_UNIT_CHARS = 100
MAX_ERROR_TYPE_CHARS = 500
MAX_ATTRIBUTES = 32
MAX_ATTRIBUTE_KEY_CHARS = 100
MAX_ATTRIBUTE_VALUE_CHARS = 500
RUNNING_SIBLINGS_KEPT = 50


def _make_dumps() -> Callable[[Any], str]:
    """Compact UTF-8 JSON text; the C encoder made once, since building it costs more than a node."""
    make_encoder = getattr(json.encoder, "c_make_encoder", None)
    encode_string = getattr(json.encoder, "c_encode_basestring", None)
    if make_encoder is None or encode_string is None:  # pragma: no cover - CPython without _json
        return json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode

    def refuse(value: object) -> object:
        raise TypeError(f"{type(value).__name__} is not JSON serializable")

    encode = make_encoder(None, refuse, encode_string, None, ":", ",", False, False, False)
    return lambda value: "".join(encode(value, 0))


_dumps = _make_dumps()


def _clip(text: str, limit: int) -> str:
    if len(text) <= limit and text.isascii():
        return text
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    if not text.isascii():
        # A lone surrogate cannot be written as UTF-8; replace it rather than fail the snapshot.
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text


def _clip_optional(text: str | None, limit: int) -> str | None:
    return None if text is None else _clip(text, limit)


def _attributes(report: ProgressReport) -> dict[str, Any]:
    attributes = report._attributes
    if not attributes:
        return {}
    kept: dict[str, Any] = {}
    for key, value in attributes.items():
        if len(kept) == MAX_ATTRIBUTES:
            break
        if isinstance(value, str):
            value = _clip(value, MAX_ATTRIBUTE_VALUE_CHARS)
        elif isinstance(value, float) and not math.isfinite(value):
            value = str(value)  # JSON has no NaN or infinity
        kept[_clip(key, MAX_ATTRIBUTE_KEY_CHARS)] = value
    return kept


def _own_fields(report: ProgressReport, fraction: float) -> dict[str, Any]:
    """The node's fields in the DASF order, then our extensions (no children)."""
    position = report._position
    return {
        "report_type": "tree",
        "report_id": report.report_id,
        "step_message": _clip(report._message, MAX_MESSAGE_CHARS),
        "steps": report._steps,
        "status": report._status.value,
        "fraction": fraction,
        "completed": float(position()) if position is not None else report._advanced,
        "weight": report._weight,
        "started_at": report._started_at,
        "finished_at": report._finished_at,
        "error": _clip_optional(report._error, MAX_ERROR_CHARS),
        "error_type": _clip_optional(report._error_type, MAX_ERROR_TYPE_CHARS),
        "cancelled": report._cancelled,
        "omitted_children": report._omitted,
        "unit": _clip_optional(report._unit, MAX_UNIT_CHARS),
        "attributes": _attributes(report),
    }


class _Node:
    """One node of a snapshot being built, with the bookkeeping the reduction needs."""

    __slots__ = ("alive", "alive_children", "children", "fields", "parent", "running", "size", "subtree")

    def __init__(self, fields: dict[str, Any], parent: _Node | None, running: bool) -> None:
        self.fields = fields
        self.children: list[_Node] = []
        self.parent = parent
        self.running = running
        self.size = 0
        self.subtree = 0
        self.alive = True
        self.alive_children = 0


def _capture(report: ProgressReport) -> list[_Node]:
    """Copy the tree into `_Node`s in pre-order under the lock, cut at `MAX_SNAPSHOT_DEPTH` levels."""
    nodes: list[_Node] = []
    with report._tree.lock:
        memo: dict[int, float] = {}
        stack: list[tuple[ProgressReport, _Node | None, int]] = [(report, None, 1)]
        while stack:
            live, parent, depth = stack.pop()
            fields = _own_fields(live, fraction_locked(live, memo))
            node = _Node(fields, parent, live._status is _RUNNING)
            nodes.append(node)
            if parent is not None:
                parent.children.append(node)
            children = list(live._children.values()) if live._children else []
            if depth >= MAX_SNAPSHOT_DEPTH:
                fields["omitted_children"] += len(children)
                continue
            stack.extend((child, node, depth + 1) for child in reversed(children))
    return nodes


def _assemble(nodes: list[_Node]) -> dict[str, Any]:
    """Link the captured dicts of the nodes still alive into one nested dict."""
    for node in nodes:
        if node.alive:
            node.fields["children"] = [child.fields for child in node.children if child.alive]
    return nodes[0].fields


def _utf8_size(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8"))


# No node serializes shorter than this (the field names alone take more): a tree with more nodes
# than the budget holds at this size needs no trial serialization to know it must be reduced.
_MIN_NODE_BYTES = 200


class _Reducer:
    """Drops nodes from a captured snapshot, keeping its exact serialized size in `total`."""

    def __init__(self, nodes: list[_Node]) -> None:
        self.nodes = nodes
        for node in nodes:
            node.fields["children"] = []
            node.size = _utf8_size(_dumps(node.fields))
            node.alive_children = len(node.children)
        for node in reversed(nodes):
            node.subtree = node.size + sum(child.subtree for child in node.children) + max(0, len(node.children) - 1)
        self.total = nodes[0].subtree

    def fits(self) -> bool:
        return self.total <= MAX_SNAPSHOT_BYTES

    def remove(self, node: _Node) -> None:
        """Drop `node` and its subtree, counting it in its parent's ``omitted_children``."""
        parent = node.parent
        assert parent is not None and node.alive
        shrink = node.subtree + (1 if parent.alive_children > 1 else 0)
        parent.alive_children -= 1
        stack = [node]
        while stack:
            each = stack.pop()
            each.alive = False
            stack.extend(child for child in each.children if child.alive)
        fields = parent.fields
        old_digits = len(str(fields["omitted_children"]))
        fields["omitted_children"] += 1
        grow = len(str(fields["omitted_children"])) - old_digits
        parent.size += grow
        ancestor: _Node | None = parent
        while ancestor is not None:
            ancestor.subtree += grow - shrink
            ancestor = ancestor.parent
        self.total += grow - shrink

    def remove_while_too_big(self, candidates: list[_Node]) -> None:
        for node in candidates:
            if self.fits():
                return
            if node.alive:
                self.remove(node)

    def reduce(self) -> None:
        nodes = self.nodes
        # 1. Finished subtrees shrink to their root (the topmost first: they hold the most).
        self.remove_while_too_big([child for node in nodes if not node.running for child in node.children])
        # 2. Older finished siblings go: every parent loses its oldest before any loses a newer one.
        finished: list[tuple[int, int, _Node]] = []
        for order, node in enumerate(nodes):
            done = [child for child in node.children if not child.running]
            finished.extend((len(done) - rank, order, child) for rank, child in enumerate(done))
        finished.sort(key=lambda entry: (-entry[0], entry[1]))
        self.remove_while_too_big([child for _, _, child in finished])
        # 3. Running siblings past the first 50.
        self.remove_while_too_big(
            [child for node in nodes for child in [c for c in node.children if c.running][RUNNING_SIBLINGS_KEPT:]]
        )
        # 4. Whatever is still too big: the latest nodes in tree order go first.
        self.remove_while_too_big(nodes[:0:-1])


def _snapshot(report: ProgressReport) -> tuple[dict[str, Any], str]:
    nodes = _capture(report)
    if len(nodes) * _MIN_NODE_BYTES <= MAX_SNAPSHOT_BYTES:
        tree = _assemble(nodes)
        text = _dumps(tree)
        if _utf8_size(text) <= MAX_SNAPSHOT_BYTES:
            return tree, text
    _Reducer(nodes).reduce()
    tree = _assemble(nodes)
    return tree, _dumps(tree)


def snapshot_dict(report: ProgressReport) -> dict[str, Any]:
    """The report's tree as nested JSON-ready dicts (SPEC §2 snapshot)."""
    return _snapshot(report)[0]


def snapshot_json(report: ProgressReport) -> str:
    """The report's tree as compact JSON text, at most `MAX_SNAPSHOT_BYTES` of UTF-8."""
    return _snapshot(report)[1]


def event_dict(report: ProgressReport, event: str, seq: int, time: float) -> dict[str, Any]:
    """One event (SPEC §2): the node's own fields plus ``event``, ``parent_id``, ``seq`` and ``time``.

    A ``"snapshot"`` event also carries the whole tree of `report` under ``"snapshot"``.
    """
    with report._tree.lock:
        fields = _own_fields(report, fraction_locked(report))
        parent = report._parent
    del fields["report_type"]
    message: dict[str, Any] = {
        "event": event,
        "report_id": fields.pop("report_id"),
        "parent_id": parent.report_id if parent is not None else None,
        "seq": seq,
        "time": time,
    }
    message.update(fields)
    if event == "snapshot":
        message["snapshot"] = snapshot_dict(report)
    return message
