"""The same tree shapes built in both libraries, so both sides of a figure work on equal input.

A shape here is two levels under a root: `parents` children of the root, each with `children`
children of its own. The root and the parents stay running; the children are left running or
finished (`success`), as the figure needs. Messages are the same strings on both sides.
"""

from __future__ import annotations

import json
import os
from typing import Any


def import_deprogressapi() -> Any:
    """Import ``deprogressapi`` with its display turned off (its default may open curses)."""
    os.environ.setdefault("DASF_REPORT_SHOW_METHOD", "NONE")
    import deprogressapi

    return deprogressapi


def shape_size(parents: int, children: int) -> int:
    """Nodes in a two-level shape, root included."""
    return 1 + parents + parents * children


def build_ours(parents: int, children: int, *, finish_children: bool) -> Any:
    """Build the shape with `progress_instrument.ProgressReport` (no sinks)."""
    from progress_instrument import ProgressReport

    root = ProgressReport("root", steps=parents, sinks=[])
    for i in range(parents):
        parent = root.create_subreport(f"parent {i}", steps=children)
        for j in range(children):
            child = parent.create_subreport(f"child {i}.{j}")
            if finish_children:
                child.complete()
    return root


def build_dasf(parents: int, children: int, *, finish_children: bool) -> Any:
    """Build the shape with `deprogressapi.ProgressReport` (display off, nothing submitted)."""
    deprogressapi = import_deprogressapi()
    root = deprogressapi.ProgressReport(step_message="root", steps=parents, settings={"show_method": "NONE"})
    for i in range(parents):
        parent = root.create_subreport(step_message=f"parent {i}", steps=children)
        for j in range(children):
            child = parent.create_subreport(step_message=f"child {i}.{j}")
            if finish_children:
                child.complete()
    return root


def payload_nodes(payload: str | dict[str, Any]) -> int:
    """Count the nodes of a snapshot payload (iteratively)."""
    data = json.loads(payload) if isinstance(payload, str) else payload
    count = 0
    stack = [data]
    while stack:
        node = stack.pop()
        count += 1
        stack.extend(node.get("children", []))
    return count


def live_nodes(report: Any) -> int:
    """Count the nodes of a live tree of either library (iteratively)."""
    count = 0
    stack = [report]
    while stack:
        node = stack.pop()
        count += 1
        stack.extend(node.children)
    return count
