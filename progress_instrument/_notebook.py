"""The Jupyter default: one display per root, updated in place (SPEC §7; no ipywidgets needed).

Each root gets one ``display_data`` output (HTML, with a plain-text fallback) when its ``start``
arrives, and that output is replaced in place (``update_display_data``) at most once per
``min_interval``, and once more with the final tree when the root finishes. IPython is imported only
when a display is made.
"""

from __future__ import annotations

import html
import importlib
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ._clock import clocks
from ._outcome import Status
from ._tree_builder import TreeBuilder
from ._view import MAX_CHILDREN, MAX_DEPTH, line, visible_children

if TYPE_CHECKING:
    from ._tree import ProgressReport

__all__ = ["NotebookSink", "in_jupyter_kernel", "render_html", "render_text"]

_COLORS = {Status.RUNNING: "#2f80ed", Status.SUCCESS: "#27ae60", Status.ERROR: "#d64541"}


def in_jupyter_kernel() -> bool:
    """Whether this process is a Jupyter (ipykernel) kernel with a running shell."""
    if "ipykernel" not in sys.modules:
        return False
    try:
        ipython: Any = importlib.import_module("IPython")  # untyped where installed, absent elsewhere
    except ImportError:  # pragma: no cover - ipykernel always brings IPython
        return False
    shell = ipython.get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


class _RootView:
    """One root's rebuilt tree and its display."""

    __slots__ = ("builder", "dirty", "handle", "ids", "last_update", "root_id")

    def __init__(self, root_id: str) -> None:
        self.root_id = root_id
        self.builder = TreeBuilder()
        self.ids = {root_id}
        self.handle: Any = None
        self.dirty = False
        self.last_update = -float("inf")

    def root(self) -> ProgressReport | None:
        return self.builder.get(self.root_id)


class NotebookSink:
    """Show each root's tree in the notebook as one output updated in place.

    This is the default sink in a Jupyter kernel. Outside a kernel, IPython's ``display()`` gives no
    handle to update: the tree is then shown when its root starts and again when it finishes.

    Args:
        min_interval: Seconds between two updates of one display; the configured ``min_interval``
            when None.
        display: The function making a display, called like ``IPython.display.display(bundle,
            raw=True, display_id=True)`` and returning a handle with ``update(bundle, raw=True)``
            or None (for tests; IPython's when None).
        max_children: Children drawn per node; the others are counted in a "… more" line.
    """

    def __init__(
        self,
        *,
        min_interval: float | None = None,
        display: Callable[..., Any] | None = None,
        max_children: int = MAX_CHILDREN,
    ) -> None:
        if min_interval is None:
            from ._config import settings

            min_interval = settings().min_interval
        self.min_interval = float(min_interval)
        self.max_children = max_children
        self._display = display
        self._lock = threading.Lock()
        self._views: dict[str, _RootView] = {}  # report id -> its root's view

    def emit(self, event: dict[str, Any]) -> None:
        """Apply `event` to its root's tree; a root's start shows it, a root's finish shows the final tree."""
        with self._lock:
            report_id: str = event["report_id"]
            parent_id: str | None = event["parent_id"]
            view = self._views.get(report_id)
            if view is None and parent_id is not None:
                view = self._views.get(parent_id)
            if view is None:
                if event["event"] != "start" or parent_id is not None:
                    return  # a root started before this sink was attached: not ours to show
                view = _RootView(report_id)
            view.builder.apply(event)
            view.dirty = True
            if report_id != view.root_id:
                if event["event"] == "finish":
                    # Nothing follows a finish: forget the id, so long loops keep this map small.
                    self._views.pop(report_id, None)
                    view.ids.discard(report_id)
                else:
                    self._views[report_id] = view
                    view.ids.add(report_id)
                return
            self._views[report_id] = view
            if event["event"] == "start":
                self._show(view)
            elif event["event"] == "finish":
                self._update(view, final=True)
                for each in view.ids:
                    self._views.pop(each, None)

    def flush(self) -> None:
        """Update the displays that changed, at most once per ``min_interval`` each."""
        with self._lock:
            now = clocks.monotonic()
            for view in {id(view): view for view in self._views.values()}.values():
                if view.dirty and now - view.last_update >= self.min_interval - 1e-9:
                    self._update(view, now=now)

    def _bundle(self, view: _RootView) -> dict[str, str]:
        root = view.root()
        if root is None:
            return {"text/plain": ""}
        return {
            "text/html": render_html(root, max_children=self.max_children),
            "text/plain": render_text(root, max_children=self.max_children),
        }

    def _show(self, view: _RootView) -> None:
        show = self._display or _ipython_display()
        view.handle = show(self._bundle(view), raw=True, display_id=True)
        view.dirty = False
        view.last_update = clocks.monotonic()

    def _update(self, view: _RootView, *, now: float | None = None, final: bool = False) -> None:
        view.dirty = False
        view.last_update = clocks.monotonic() if now is None else now
        if view.handle is not None:
            view.handle.update(self._bundle(view), raw=True)
        elif final:
            self._show(view)

    def __repr__(self) -> str:
        return "NotebookSink()"


def _ipython_display() -> Callable[..., Any]:
    from IPython.display import display

    show: Callable[..., Any] = display
    return show


def render_text(root: ProgressReport, *, max_children: int = MAX_CHILDREN, max_depth: int = MAX_DEPTH) -> str:
    """The tree as indented plain text, one node per line, with a 20-character bar."""
    lines: list[str] = []
    stack: list[tuple[ProgressReport | int, int]] = [(root, 0)]
    while stack:
        node, depth = stack.pop()
        indent = "  " * depth
        if isinstance(node, int):
            lines.append(f"{indent}… {node} more")
            continue
        view = line(node)
        filled = round(20 * (view.fraction or 0.0))
        bar = f"[{'#' * filled}{'.' * (20 - filled)}]" if view.fraction is not None else "[" + "~" * 20 + "]"
        parts = [f"{indent}{view.mark} {view.message}", bar, view.percent.strip(), view.count, view.detail]
        lines.append(" ".join(part for part in parts if part))
        if depth >= max_depth:
            continue
        children, hidden = visible_children(node, max_children)
        if hidden:
            stack.append((hidden, depth + 1))
        stack.extend((child, depth + 1) for child in reversed(children))
    return "\n".join(lines)


def render_html(root: ProgressReport, *, max_children: int = MAX_CHILDREN, max_depth: int = MAX_DEPTH) -> str:
    """The tree as nested HTML lists, each node with a bar, its percentage, count and error."""
    out: list[str] = ['<div class="progress-instrument" style="font-family: monospace; line-height: 1.5">']
    stack: list[tuple[ProgressReport | int, int]] = [(root, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, int):
            out.append(f'<div style="margin-left: {depth * 1.5}em; color: #777">… {node} more</div>')
            continue
        view = line(node)
        color = _COLORS[view.status]
        width = 100 * (view.fraction if view.fraction is not None else 1.0)
        opacity = "1" if view.fraction is not None else "0.35"
        bar = (
            '<span style="display: inline-block; width: 10em; height: 0.8em; background: #e0e0e0; '
            'vertical-align: middle">'
            f'<span style="display: block; width: {width:.1f}%; height: 100%; background: {color}; '
            f'opacity: {opacity}"></span></span>'
        )
        text = [f'<span style="color: {color}">{view.mark}</span> {html.escape(view.message)}', bar]
        text += [html.escape(part) for part in (view.percent.strip(), view.count) if part]
        if view.detail:
            text.append(f'<span style="color: {_COLORS[Status.ERROR]}">{html.escape(view.detail)}</span>')
        out.append(f'<div style="margin-left: {depth * 1.5}em">{" ".join(text)}</div>')
        if depth >= max_depth:
            continue
        children, hidden = visible_children(node, max_children)
        if hidden:
            stack.append((hidden, depth + 1))
        stack.extend((child, depth + 1) for child in reversed(children))
    out.append("</div>")
    return "".join(out)


NotebookSink.__module__ = "progress_instrument.sinks"
