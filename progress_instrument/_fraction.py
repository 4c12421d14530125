"""SPEC §1's deterministic fraction, computed on read without recursion.

Fractions are pulled, never pushed: reading one walks the running part of the subtree under the
tree lock, so writes stay O(1) and a loop's position can be read lazily from its source (`track`).
The functions here read the private state of `ProgressReport` nodes; callers hold the tree lock.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._outcome import Status

if TYPE_CHECKING:
    from ._tree import ProgressReport

__all__ = ["fraction_locked", "running_descendants_locked"]

# Module constants: looking up an Enum member costs ~10x a global on the hot paths.
_RUNNING = Status.RUNNING


def running_descendants_locked(report: ProgressReport) -> list[ProgressReport]:
    """Running descendants of `report` in pre-order (iterative: trees may be deeper than the stack)."""
    found: list[ProgressReport] = []
    stack = [report]
    while stack:
        node = stack.pop()
        if not node._running_count or not node._children:
            continue
        running = [child for child in node._children.values() if child._status is _RUNNING]
        found.extend(running)
        stack.extend(reversed(running))
    return found


def _own_fraction_locked(node: ProgressReport) -> float | None:
    """The node's fraction when it needs no running child's, else None."""
    if node._status is not _RUNNING:
        return 1.0
    if node._fixed_fraction is not None:
        return node._fixed_fraction
    if node._steps == 0:
        return 0.0
    if not node._running_count:
        position = node._position
        return _combine_locked(node, 0.0, position() if position is not None else -1)
    return None


def _combine_locked(node: ProgressReport, running_share: float, item: int) -> float:
    """Combine a node's own progress with its counted running children's `running_share`.

    For a loop node, `item` is the position the counted children were chosen at.
    """
    if node._position is not None:
        current = node._item_weight if node._item_index == item else 0.0
        done = item + min(1.0, current + running_share)
    else:
        done = node._advanced + node._finished_weight + running_share
    return min(1.0, done / node._steps)


def fraction_locked(report: ProgressReport, values: dict[int, float] | None = None) -> float:
    """SPEC §1's fraction, computed bottom-up without recursion.

    `values` memoises fractions by node id across calls made under one hold of the lock.
    """
    if values is None:
        own = _own_fraction_locked(report)
        if own is not None:
            return own
        values = {}
    elif id(report) in values:
        return values[id(report)]
    # Each node's counted children are listed once: a loop's position may move meanwhile.
    stack: list[tuple[ProgressReport, int, list[ProgressReport] | None]] = [(report, -1, None)]
    while stack:
        node, item, counted = stack.pop()
        if counted is not None:
            share = 0.0
            for child in counted:
                share += child._weight * values[id(child)]
            values[id(node)] = _combine_locked(node, share, item)
            continue
        if id(node) in values:
            continue
        own = _own_fraction_locked(node)
        if own is not None:
            values[id(node)] = own
            continue
        item, counted = _counted_running_children(node)
        stack.append((node, item, counted))
        stack.extend((child, -1, None) for child in counted)
    return values[id(report)]


def _counted_running_children(node: ProgressReport) -> tuple[int, list[ProgressReport]]:
    """The running children that count toward `node`, and for a loop the item they belong to."""
    children = node._children
    running = [child for child in children.values() if child._status is _RUNNING] if children else []
    position = node._position
    if position is None:
        return -1, running
    # Only the current item's children count; earlier items are counted by the position.
    item = position()
    return item, [child for child in running if child._item == item]
