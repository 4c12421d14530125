"""Reading the wire format: snapshots (ours and DASF's) and event fields, as untrusted input.

Nothing here executes code or recurses over the input: trees are walked with an explicit stack,
payloads are size-checked before parsing, and every bad value gets a `ValueError` naming its place
(``root.children[3].steps``) and what was expected.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from typing import Any

from ._checks import is_valid_report_id
from ._ids import new_report_id
from ._outcome import Status
from ._tree import _NO_MESSAGE_ERROR, ProgressReport, _Tree

__all__ = ["read_json", "read_tree", "read_fields", "new_node", "apply_fields", "DEFAULT_MAX_BYTES"]

# Module constants: looking up an Enum member costs ~10x a global on the hot paths.
_ERROR = Status.ERROR
_RUNNING = Status.RUNNING
_SUCCESS = Status.SUCCESS

DEFAULT_MAX_BYTES = 16 * 1024 * 1024

_STATUSES = {status.value: status for status in Status}
_INF = math.inf


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
    data: Mapping[str, Any],
    key: str,
    path: object,
    default: float | None,
    *,
    low: float = 0.0,
    high: float = math.inf,
    nullable: bool = False,
) -> float | None:
    value = data.get(key, default)
    # The common case first: one type test and one range test.
    if type(value) is float and low <= value <= high and value != math.inf:
        return value
    if value is None and (nullable or default is None):
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{path}.{key}: expected a number, got {_type_name(value)}")
    if not (low <= value <= high) or value == math.inf:
        raise ValueError(f"{path}.{key}: {value!r} is out of range [{low}, {high}]")
    return float(value)


def _optional_str(data: Mapping[str, Any], key: str, path: object) -> str | None:
    value = data.get(key)
    if value is not None and type(value) is not str:
        raise ValueError(f"{path}.{key}: expected a string or null, got {_type_name(value)}")
    return value


def _is_mapping(value: object) -> bool:
    return type(value) is dict or isinstance(value, Mapping)


def read_fields(data: object, path: object) -> dict[str, Any]:
    """Validate one node's own fields (not its children) and return them normalised."""
    if not _is_mapping(data):
        raise ValueError(f"{path}: expected an object, got {_type_name(data)}")
    assert isinstance(data, Mapping)
    get = data.get
    report_type = get("report_type", "tree")
    if report_type != "tree":
        raise ValueError(f"{path}.report_type: expected 'tree', got {report_type!r}")
    message = get("step_message")
    if type(message) is not str:
        raise ValueError(f"{path}.step_message: expected a string, got {_type_name(message)}")
    steps = get("steps", 0)
    if type(steps) is not int or steps < 0:
        raise ValueError(f"{path}.steps: expected an integer >= 0, got {steps!r}")
    status_value = get("status", "running")
    status = _STATUSES.get(status_value) if isinstance(status_value, str) else None
    if status is None:
        raise ValueError(f"{path}.status: expected one of 'running', 'success', 'error', got {status_value!r}")
    report_id = get("report_id")
    if report_id is not None and type(report_id) is not str:
        raise ValueError(f"{path}.report_id: expected a string, got {_type_name(report_id)}")
    cancelled = get("cancelled", False)
    if type(cancelled) is not bool:
        raise ValueError(f"{path}.cancelled: expected true or false, got {cancelled!r}")
    omitted = get("omitted_children", 0)
    if type(omitted) is not int or omitted < 0:
        raise ValueError(f"{path}.omitted_children: expected an integer >= 0, got {omitted!r}")
    attributes = get("attributes")
    if attributes:
        if not _is_mapping(attributes):
            raise ValueError(f"{path}.attributes: expected an object, got {_type_name(attributes)}")
        for key, value in attributes.items():
            if not isinstance(value, (str, int, float, bool)):
                raise ValueError(
                    f"{path}.attributes.{key}: expected a string, number or boolean, got {_type_name(value)}"
                )
        attributes = dict(attributes)
    elif attributes is not None and not _is_mapping(attributes):
        raise ValueError(f"{path}.attributes: expected an object, got {_type_name(attributes)}")
    error = _optional_str(data, "error", path)
    if status is _ERROR and not error:
        error = _NO_MESSAGE_ERROR
    # Numbers: a plain float in range passes with two tests; anything else takes the full check.
    fraction = get("fraction")
    if fraction is not None and not (type(fraction) is float and 0.0 <= fraction <= 1.0):
        fraction = _number(data, "fraction", path, None, high=1.0, nullable=True)
    completed = get("completed", 0.0)
    if not (type(completed) is float and 0.0 <= completed < _INF):
        completed = _number(data, "completed", path, 0.0)
    weight = get("weight", 1.0)
    if not (type(weight) is float and 0.0 <= weight < _INF):
        weight = _number(data, "weight", path, 1.0)
    started_at = get("started_at")
    if started_at is not None and not (type(started_at) is float and -_INF < started_at < _INF):
        started_at = _number(data, "started_at", path, None, low=-_INF, nullable=True)
    finished_at = get("finished_at")
    if finished_at is not None and not (type(finished_at) is float and -_INF < finished_at < _INF):
        finished_at = _number(data, "finished_at", path, None, low=-_INF, nullable=True)
    return {
        "report_id": report_id or None,
        "step_message": message,
        "steps": steps,
        "status": status,
        "fraction": fraction,
        "completed": completed,
        "weight": weight,
        "started_at": started_at,
        "finished_at": finished_at,
        "error": error,
        "error_type": _optional_str(data, "error_type", path),
        "cancelled": cancelled,
        "omitted_children": omitted,
        "unit": _optional_str(data, "unit", path),
        "attributes": attributes or None,
    }


def new_node(fields: dict[str, Any], report_id: str, parent: ProgressReport | None, tree: _Tree) -> ProgressReport:
    """Make a report holding `fields` and attach it as the last child of `parent`."""
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
    apply_fields(report, fields)
    if parent is not None:
        if parent._children is None:
            parent._children = {}
        parent._children[report_id] = report
        if report._status is _RUNNING:
            parent._running_count += 1
        else:
            _count_finished_child(parent, report)
    return report


def _count_finished_child(parent: ProgressReport, child: ProgressReport) -> None:
    parent._finished_weight += child._weight
    if child._status is _SUCCESS:
        if parent._finished_ids is None:
            parent._finished_ids = deque()
        parent._finished_ids.append(child._report_id)
    else:
        if parent._failed_ids is None:
            parent._failed_ids = deque()
        parent._failed_ids.append(child._report_id)


def apply_fields(report: ProgressReport, fields: dict[str, Any]) -> None:
    """Overwrite a read report's fields with newer ones (a later event about it)."""
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
        _count_finished_child(parent, report)


def read_tree(data: Mapping[str, Any], *, max_depth: int) -> ProgressReport:
    """Build a report tree from snapshot dicts, iteratively, validating every node."""
    tree = _Tree([])
    seen: set[str] = set()
    root: ProgressReport | None = None
    stack: list[tuple[object, ProgressReport | None, _Path | str, int]] = [(data, None, "root", 1)]
    while stack:
        node_data, parent, path, depth = stack.pop()
        if depth > max_depth:
            raise ValueError(f"{path}: nesting depth exceeds the limit of {max_depth} levels")
        fields = read_fields(node_data, path)
        assert isinstance(node_data, Mapping)
        children = node_data.get("children", [])
        if type(children) is not list:
            raise ValueError(f"{path}.children: expected a list, got {_type_name(children)}")
        report_id = fields["report_id"]
        if report_id is None or report_id in seen or not is_valid_report_id(report_id):
            # deprogressapi calls every node "root": keep the first, renumber the rest (and unusable ids).
            report_id = new_report_id()
        seen.add(report_id)
        report = new_node(fields, report_id, parent, tree)
        if root is None:
            root = report
        if children:
            stack.extend(
                (child, report, _Path(path, index), depth + 1) for index, child in reversed(list(enumerate(children)))
            )
    assert root is not None
    return root
