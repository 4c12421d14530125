"""Reading the wire format: snapshots (ours and DASF's) and event fields, as untrusted input.

Nothing here executes code or recurses over the input: trees are walked with an explicit stack,
payloads are size-checked before parsing, and every bad value gets a `ValueError` naming its place
(``root.children[3].steps``) and what was expected.
"""

from __future__ import annotations

import math
import operator
from collections import deque
from collections.abc import Iterator, Mapping
from typing import Any

from ._checks import is_valid_report_id
from ._ids import id_text, new_report_id
from ._outcome import Status
from ._tree import _NO_MESSAGE_ERROR, RETAINED_FAILED, RETAINED_FINISHED, ProgressReport, _Tree

__all__ = [
    "read_json",
    "read_tree",
    "read_fields",
    "new_node",
    "apply_fields",
    "count_finished_child",
    "DEFAULT_MAX_BYTES",
]

# Module constants: looking up an Enum member costs ~10x a global on the hot paths.
_ERROR = Status.ERROR
_RUNNING = Status.RUNNING
_SUCCESS = Status.SUCCESS

DEFAULT_MAX_BYTES = 16 * 1024 * 1024

_STATUSES = {status.value: status for status in Status}
_INF = math.inf
_new_report = ProgressReport.__new__


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not valid JSON (no NaN or infinity)")


def read_json(payload: str | bytes | bytearray, *, max_bytes: int, max_depth: int) -> ProgressReport:
    """Parse and validate JSON text of a snapshot."""
    if isinstance(payload, (bytes, bytearray)):
        size = len(payload)
    elif isinstance(payload, str):
        size = (
            len(payload)
            if payload.isascii() or len(payload) > max_bytes
            else len(payload.encode("utf-8", "surrogatepass"))
        )
    else:
        raise ValueError(f"payload must be str or bytes, got {type(payload).__name__}")
    if size > max_bytes:
        raise ValueError(f"payload is {size} bytes, over the limit of {max_bytes} (raise max_bytes to read it)")
    import json  # lazily: `import progress_instrument` must not pay for it (SPEC §10)

    try:
        data = json.loads(payload, parse_constant=_reject_constant)
    except RecursionError:
        raise ValueError(f"payload is nested too deeply to parse (the limit is {max_depth} levels)") from None
    except ValueError as error:
        raise ValueError(f"malformed JSON payload: {error}") from None
    return read_tree(data, max_depth=max_depth)


def _type_name(value: object) -> str:
    return "null" if value is None else type(value).__name__


class _Path:
    """A node's place, such as ``root.children[3]``, formatted only when an error names it."""

    __slots__ = ("index", "parent")

    def __init__(self, parent: _Path | str, index: int) -> None:
        self.parent = parent
        self.index = index

    def __str__(self) -> str:
        parts = []
        node: _Path | str = self
        while isinstance(node, _Path):
            parts.append(f".children[{node.index}]")
            node = node.parent
        return node + "".join(reversed(parts))


def _number(
    value: object, key: str, path: object, *, low: float = 0.0, high: float = math.inf, nullable: bool = False
) -> float | None:
    """Check a number that is not a plain float in range (the callers test that first)."""
    if value is None and nullable:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{path}.{key}: expected a number, got {_type_name(value)}")
    if not (low <= value <= high) or value == math.inf:
        raise ValueError(f"{path}.{key}: {value!r} is out of range [{low}, {high}]")
    return float(value)


def _not_optional_str(path: object, key: str, value: object) -> ValueError:
    return ValueError(f"{path}.{key}: expected a string or null, got {_type_name(value)}")


def _is_mapping(value: object) -> bool:
    return type(value) is dict or isinstance(value, Mapping)


# The keys of a node of our own snapshots (`_wire._own_fields` and "children"), in the order
# `_own_fields` checks them. A node with as many keys is read with one C call; others key by key.
_SNAPSHOT_KEYS = (
    "report_type",
    "report_id",
    "step_message",
    "steps",
    "status",
    "cancelled",
    "omitted_children",
    "attributes",
    "error",
    "fraction",
    "completed",
    "weight",
    "started_at",
    "finished_at",
    "error_type",
    "unit",
    "children",
)
_SNAPSHOT_KEY_COUNT = len(_SNAPSHOT_KEYS)
_snapshot_values = operator.itemgetter(*_SNAPSHOT_KEYS)


def _values_or_defaults(data: Mapping[str, Any]) -> tuple[Any, ...]:
    """The values of `_SNAPSHOT_KEYS` in `data`, with the defaults of a missing field."""
    get = data.get
    return (
        get("report_type", "tree"),
        get("report_id"),
        get("step_message"),
        get("steps", 0),
        get("status", "running"),
        get("cancelled", False),
        get("omitted_children", 0),
        get("attributes"),
        get("error"),
        get("fraction"),
        get("completed", 0.0),
        get("weight", 1.0),
        get("started_at"),
        get("finished_at"),
        get("error_type"),
        get("unit"),
        get("children", []),
    )


#: A node's own fields as `_own_fields` returns them, checked and normalised, then its children
#: (not checked): (report_id, step_message, steps, status, fraction, completed, weight,
#: started_at, finished_at, error, error_type, cancelled, omitted_children, unit, attributes, children).
_Fields = tuple[
    str | None,
    str,
    int,
    Status,
    float | None,
    float,
    float,
    float | None,
    float | None,
    str | None,
    str | None,
    bool,
    int,
    str | None,
    dict[str, Any] | None,
    object,
]


def _own_fields(data: object, path: object) -> _Fields:
    """Check one node's own fields (not its children); return them normalised, and its children."""
    if type(data) is not dict and not isinstance(data, Mapping):
        raise ValueError(f"{path}: expected an object, got {_type_name(data)}")
    try:
        values = _snapshot_values(data) if len(data) == _SNAPSHOT_KEY_COUNT else _values_or_defaults(data)
    except KeyError:  # as many keys as our nodes have, not the same ones
        values = _values_or_defaults(data)
    (
        report_type,
        report_id,
        message,
        steps,
        status_value,
        cancelled,
        omitted,
        attributes,
        error,
        fraction,
        completed,
        weight,
        started_at,
        finished_at,
        error_type,
        unit,
        children,
    ) = values
    if report_type != "tree":
        raise ValueError(f"{path}.report_type: expected 'tree', got {report_type!r}")
    if type(message) is not str:
        raise ValueError(f"{path}.step_message: expected a string, got {_type_name(message)}")
    if type(steps) is not int or steps < 0:
        raise ValueError(f"{path}.steps: expected an integer >= 0, got {steps!r}")
    status = _STATUSES.get(status_value) if type(status_value) is str or isinstance(status_value, str) else None
    if status is None:
        raise ValueError(f"{path}.status: expected one of 'running', 'success', 'error', got {status_value!r}")
    if report_id is not None and type(report_id) is not str:
        raise ValueError(f"{path}.report_id: expected a string, got {_type_name(report_id)}")
    if type(cancelled) is not bool:
        raise ValueError(f"{path}.cancelled: expected true or false, got {cancelled!r}")
    if type(omitted) is not int or omitted < 0:
        raise ValueError(f"{path}.omitted_children: expected an integer >= 0, got {omitted!r}")
    if attributes:
        if not _is_mapping(attributes):
            raise ValueError(f"{path}.attributes: expected an object, got {_type_name(attributes)}")
        for key, value in attributes.items():
            if not isinstance(value, (str, int, float, bool)):
                raise ValueError(
                    f"{path}.attributes.{key}: expected a string, number or boolean, got {_type_name(value)}"
                )
        attributes = dict(attributes)
    elif attributes is not None and type(attributes) is not dict and not isinstance(attributes, Mapping):
        raise ValueError(f"{path}.attributes: expected an object, got {_type_name(attributes)}")
    if error is not None and type(error) is not str:
        raise _not_optional_str(path, "error", error)
    if status is _ERROR and not error:
        error = _NO_MESSAGE_ERROR
    # Numbers: a plain float in range passes with two tests; anything else takes the full check.
    if fraction is not None and not (type(fraction) is float and 0.0 <= fraction <= 1.0):
        fraction = _number(fraction, "fraction", path, high=1.0, nullable=True)
    if not (type(completed) is float and 0.0 <= completed < _INF):
        completed = _number(completed, "completed", path)
    if not (type(weight) is float and 0.0 <= weight < _INF):
        weight = _number(weight, "weight", path)
    if started_at is not None and not (type(started_at) is float and -_INF < started_at < _INF):
        started_at = _number(started_at, "started_at", path, low=-_INF, nullable=True)
    if finished_at is not None and not (type(finished_at) is float and -_INF < finished_at < _INF):
        finished_at = _number(finished_at, "finished_at", path, low=-_INF, nullable=True)
    if error_type is not None and type(error_type) is not str:
        raise _not_optional_str(path, "error_type", error_type)
    if unit is not None and type(unit) is not str:
        raise _not_optional_str(path, "unit", unit)
    return (
        report_id or None,
        message,
        steps,
        status,
        fraction,
        completed,
        weight,
        started_at,
        finished_at,
        error,
        error_type,
        cancelled,
        omitted,
        unit,
        attributes or None,
        children,
    )


def read_fields(data: object, path: object) -> dict[str, Any]:
    """Validate one node's own fields (not its children) and return them normalised."""
    (
        report_id,
        message,
        steps,
        status,
        fraction,
        completed,
        weight,
        started_at,
        finished_at,
        error,
        error_type,
        cancelled,
        omitted,
        unit,
        attributes,
        _,
    ) = _own_fields(data, path)
    return {
        "report_id": report_id,
        "step_message": message,
        "steps": steps,
        "status": status,
        "fraction": fraction,
        "completed": completed,
        "weight": weight,
        "started_at": started_at,
        "finished_at": finished_at,
        "error": error,
        "error_type": error_type,
        "cancelled": cancelled,
        "omitted_children": omitted,
        "unit": unit,
        "attributes": attributes,
    }


def new_node(
    fields: dict[str, Any], report_id: str, parent: ProgressReport | None, tree: _Tree
) -> tuple[ProgressReport, list[str]]:
    """Make a report holding `fields` and attach it as the last child of `parent`.

    Returns:
        The report, and the ids of the children it pushed out of `parent` (see `count_finished_child`).
    """
    report = ProgressReport.__new__(ProgressReport)
    report._init(
        fields["step_message"],
        fields["steps"],
        fields["unit"],
        fields["attributes"],
        fields["weight"],
        parent,
        tree,
        report_id,
        started=(fields["started_at"], None),
    )
    apply_fields(report, fields)  # not listed yet, so it counts nothing
    if parent is None:
        return report, []
    if parent._children is None:
        parent._children = {}
    parent._children[report_id] = report
    if report._status is _RUNNING:
        parent._running_count += 1
        return report, []
    return report, count_finished_child(parent, report)


def apply_fields(report: ProgressReport, fields: dict[str, Any]) -> list[str]:
    """Overwrite a read report's fields with newer ones (a later event about it).

    Returns:
        The ids of the children its parent let go, when this finishes it (see `count_finished_child`).
    """
    was_running = report._status is _RUNNING
    report._message = fields["step_message"]
    report._steps = fields["steps"]
    report._status = fields["status"]
    report._unit = fields["unit"]
    report._attributes = fields["attributes"]
    report._advanced = fields["completed"]
    report._fixed_fraction = fields["fraction"]
    report._started_at = fields["started_at"]
    report._finished_at = fields["finished_at"]
    report._error = fields["error"]
    report._error_type = fields["error_type"]
    report._cancelled = fields["cancelled"]
    report._omitted = fields["omitted_children"]
    parent = report._parent
    if (
        was_running
        and report._status is not _RUNNING
        and parent is not None
        and report._report_id in (parent._children or {})
    ):
        parent._running_count -= 1
        return count_finished_child(parent, report)
    return []


def count_finished_child(parent: ProgressReport, child: ProgressReport) -> list[str]:
    """Count `child`, listed under `parent`, as finished, and keep `parent` within the retention bounds.

    A parent keeps its `RETAINED_FINISHED` most recent successes and `RETAINED_FAILED` most recent
    failures (SPEC §1): older ones leave its children and are counted in ``omitted_children``.

    Returns:
        The ids of the children let go, oldest first.
    """
    _record_finished_child(parent, child)
    let_go: list[str] = []
    children = parent._children
    # Both queues, whichever `child` joined: a parent read from a snapshot may start over either bound.
    for kept, limit in ((parent._finished_ids, RETAINED_FINISHED), (parent._failed_ids, RETAINED_FAILED)):
        while kept is not None and len(kept) > limit and children is not None:
            key = kept.popleft()
            children.pop(key, None)
            let_go.append(key if isinstance(key, str) else id_text(key))
            parent._omitted += 1
    return let_go


def _record_finished_child(parent: ProgressReport, child: ProgressReport) -> None:
    """Add a finished child's weight to `parent` and queue it for retention (bounds not applied)."""
    parent._finished_weight += child._weight
    if child._status is _SUCCESS:
        if parent._finished_ids is None:
            parent._finished_ids = deque()
        parent._finished_ids.append(child._report_id)
    else:
        if parent._failed_ids is None:
            parent._failed_ids = deque()
        parent._failed_ids.append(child._report_id)


def read_tree(data: Mapping[str, Any], *, max_depth: int) -> ProgressReport:
    """Build a report tree from snapshot dicts, iteratively, validating every node.

    Nodes are read in pre-order (an id is kept where it first occurs): the children of the report
    on top of the stack one by one, until one has children of its own to read first.
    """
    if max_depth < 1:
        raise ValueError(f"root: nesting depth exceeds the limit of {max_depth} levels")
    tree = _Tree([])
    seen: set[str] = set()
    root, children = _read_node(data, "root", None, tree, seen)
    frames: list[_Frame] = []
    # The root is 1 level deep, the children of frame k (from 1) are k + 1 levels deep: new
    # children always sit at len(frames) + 2.
    if children:
        frames.append(_frame(children, root, "root", 2, max_depth))
    while frames:
        numbered, parent, place = frames[-1]
        for index, child_data in numbered:
            place.index = index  # messages are formatted when raised: one path per frame will do
            report, children = _read_node(child_data, place, parent, tree, seen)
            if children:
                path = _Path(place.parent, index)
                frames.append(_frame(children, report, path, len(frames) + 2, max_depth))
                break
        else:
            frames.pop()
    return root


#: The children of one report still to be read: (index, data) pairs, their parent, and a path
#: whose index is set to the child being read.
_Frame = tuple[Iterator[tuple[int, object]], ProgressReport, _Path]


def _frame(children: list[object], parent: ProgressReport, path: _Path | str, depth: int, max_depth: int) -> _Frame:
    """The frame for reading `children` of `parent` (at `path`), which sit `depth` levels deep."""
    if depth > max_depth:
        raise ValueError(f"{_Path(path, 0)}: nesting depth exceeds the limit of {max_depth} levels")
    return enumerate(children), parent, _Path(path, 0)


def _read_node(
    data: object, path: object, parent: ProgressReport | None, tree: _Tree, seen: set[str]
) -> tuple[ProgressReport, list[object]]:
    """Read one snapshot node into a report listed last under `parent`; return it and its children's data."""
    (
        report_id,
        message,
        steps,
        status,
        fraction,
        completed,
        weight,
        started_at,
        finished_at,
        error,
        error_type,
        cancelled,
        omitted,
        unit,
        attributes,
        children,
    ) = _own_fields(data, path)
    if type(children) is not list:
        raise ValueError(f"{path}.children: expected a list, got {_type_name(children)}")
    if report_id is None or report_id in seen or not is_valid_report_id(report_id):
        # deprogressapi calls every node "root": keep the first, renumber the rest (and unusable ids).
        report_id = new_report_id()
    seen.add(report_id)
    report = _new_report(ProgressReport)
    report._init(message, steps, unit, attributes, weight, parent, tree, report_id, (started_at, None))
    # What `_init` sets for a report that starts now, as the payload says instead.
    report._status = status
    report._advanced = completed
    report._fixed_fraction = fraction
    report._finished_at = finished_at
    report._error = error
    report._error_type = error_type
    report._cancelled = cancelled
    report._omitted = omitted
    if parent is not None:
        siblings = parent._children
        if siblings is None:
            siblings = parent._children = {}
        siblings[report_id] = report
        if status is _RUNNING:
            parent._running_count += 1
        else:
            _record_finished_child(parent, report)  # a snapshot is read whole: no bounds applied
    return report, children
