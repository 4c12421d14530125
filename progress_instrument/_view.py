"""What a tree renderer shows of a report: shared by the notebook display and `RichSink` (SPEC §7).

Renderers draw rebuilt trees (`TreeBuilder`), so these helpers read `ProgressReport` attributes
only, and pick a bounded number of children per node so a long loop draws a short tree.
"""

from __future__ import annotations

import unicodedata
from typing import TYPE_CHECKING, NamedTuple

from ._outcome import Status

if TYPE_CHECKING:
    from ._tree import ProgressReport

__all__ = ["Line", "clean", "line", "live_fraction", "visible_children", "MAX_CHILDREN", "MAX_DEPTH"]

#: Children drawn under one node; the rest are counted in a "… more" line.
MAX_CHILDREN = 12
#: Levels drawn below a root.
MAX_DEPTH = 12
_MESSAGE_CHARS = 120


class Line:
    """One node as a renderer draws it."""

    __slots__ = ("count", "detail", "fraction", "message", "status")

    def __init__(self, message: str, status: Status, fraction: float | None, count: str, detail: str) -> None:
        #: The step message, control characters removed and cut to a readable length.
        self.message = message
        self.status = status
        #: None for a running report of unknown size (indeterminate).
        self.fraction = fraction
        #: ``"3/10 files"``, ``"3 files"`` or ``""``.
        self.count = count
        #: The error of a failed report, ``"cancelled"``, or ``""``.
        self.detail = detail

    @property
    def mark(self) -> str:
        """``✓`` for success, ``✗`` for a failure, ``•`` while running."""
        return {Status.SUCCESS: "✓", Status.ERROR: "✗"}.get(self.status, "•")

    @property
    def percent(self) -> str:
        """``" 45%"``, or ``""`` when indeterminate."""
        return "" if self.fraction is None else f"{self.fraction:4.0%}"


class _Children(NamedTuple):
    shown: list[ProgressReport]
    hidden: int


def clean(text: str, limit: int = _MESSAGE_CHARS) -> str:
    """`text` without control characters (they would move the cursor or inject markup), cut to `limit`."""
    if not text.isprintable():
        text = "".join(" " if unicodedata.category(char)[0] in "CZ" and char != " " else char for char in text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def live_fraction(report: ProgressReport, depth: int = 0) -> float:
    """`report`'s fraction, brought up to date with its running children's (SPEC §1's formula).

    A rebuilt report holds the fraction of its last event, and a parent moved only by its children
    gets no event of its own while they advance. So for a running report that counts no units of
    its own, the fraction is recomputed from its children, never below the one last received.
    """
    fraction = report.fraction
    steps = report.steps
    if report.status is not Status.RUNNING or not steps or report.completed or depth > MAX_DEPTH:
        return fraction
    done = 0.0
    for child in report.children:
        if child.status is Status.RUNNING:
            done += child.weight * live_fraction(child, depth + 1)
        else:
            done += child.weight
    return max(fraction, min(1.0, done / steps))


def line(report: ProgressReport) -> Line:
    """How `report` is drawn."""
    status = report.status
    running = status is Status.RUNNING
    fraction: float | None = live_fraction(report)
    if running and not report.steps:
        fraction = None
    completed = report.completed
    unit = report.unit
    if report.steps and (completed or unit or not report.children):
        # A parent advanced only by its children counts no units of its own: its bar says it all.
        count = f"{completed:g}/{report.steps}"
    elif completed:
        count = f"{completed:g}"
    else:
        count = ""
    if count and unit:
        count = f"{count} {clean(unit, 40)}"
    if status is Status.ERROR:
        detail = "cancelled" if report.cancelled else clean(report.error or "error", 300)
    else:
        detail = "cancelled" if report.cancelled else ""
    return Line(clean(report.step_message), status, fraction, count, detail)


def visible_children(report: ProgressReport, limit: int = MAX_CHILDREN) -> _Children:
    """The children to draw, in tree order: running ones first, then failures, then the latest finished.

    ``hidden`` counts the rest, including the children the tree itself no longer lists.
    """
    children = report.children
    hidden = report.omitted_children
    if len(children) <= limit:
        return _Children(children, hidden)
    running = [child for child in children if child.status is Status.RUNNING]
    failed = [child for child in children if child.status is Status.ERROR]
    done = [child for child in children if child.status is Status.SUCCESS]
    chosen = (running + failed + done[::-1])[:limit]
    keep = set(map(id, chosen))
    shown = [child for child in children if id(child) in keep]
    return _Children(shown, hidden + len(children) - len(shown))
