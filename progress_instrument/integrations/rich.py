"""`RichSink`: a live tree with progress bars in a `rich` console (extra ``rich``, SPEC §7, §9).

Example:
    Share one console between the live tree and rich logging, so log lines print above the tree::

        import logging
        from rich.console import Console
        from rich.logging import RichHandler
        from progress_instrument import configure
        from progress_instrument.integrations.rich import RichSink

        console = Console()
        logging.basicConfig(level="INFO", handlers=[RichHandler(console=console)])
        configure(sinks=[RichSink(console)])
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from .._clock import clocks
from .._outcome import Status
from .._tree_builder import TreeBuilder
from .._view import MAX_CHILDREN, MAX_DEPTH, line, visible_children

if TYPE_CHECKING:
    from rich.console import Console, RenderableType
    from rich.live import Live
    from rich.tree import Tree

    from .._tree import ProgressReport

__all__ = ["RichSink"]

_STYLES = {Status.RUNNING: "cyan", Status.SUCCESS: "green", Status.ERROR: "red"}


class RichSink:
    """Draw the running roots as a `rich.live.Live` tree, and print each finished root's final tree.

    While a root runs, its tree (a bar, percentage and count per node, at most ``max_children``
    children per node) is redrawn in place at most once per ``min_interval``, on the library's
    delivery pass. When a root finishes, its final tree is printed above the live area, which
    disappears once no root runs. Anything printed through the same console meanwhile (a
    ``rich.logging.RichHandler`` given this console, or ``print()`` while ``redirect`` is on) shows
    above the live tree instead of tearing it. If the console already has a live display of its own
    (a ``rich.progress.Progress``), only the final trees are printed.

    Args:
        console: The console to draw on; rich's global console (the one ``RichHandler`` uses by
            default) when None.
        redirect: Send ``sys.stdout`` and ``sys.stderr`` through the console while the tree is live.
        max_children: Children drawn per node; the others are counted in a "… more" line.
        min_interval: Seconds between two redraws; the configured ``min_interval`` when None.
    """

    def __init__(
        self,
        console: Console | None = None,
        *,
        redirect: bool = True,
        max_children: int = MAX_CHILDREN,
        min_interval: float | None = None,
    ) -> None:
        import rich

        if min_interval is None:
            from .._config import settings

            min_interval = settings().min_interval
        self.console: Console = console if console is not None else rich.get_console()
        self.redirect = redirect
        self.max_children = max_children
        self.min_interval = float(min_interval)
        self._lock = threading.RLock()
        self._trees: dict[str, TreeBuilder] = {}  # running root id -> its rebuilt tree
        self._root_of: dict[str, str] = {}
        self._live: Live | None = None
        self._live_refused = False
        self._dirty = False
        self._last_draw = -float("inf")

    def emit(self, event: dict[str, Any]) -> None:
        """Follow `event` in its root's tree; a root's finish prints its final tree."""
        with self._lock:
            report_id: str = event["report_id"]
            root_id = self._root_of.get(report_id) or self._root_of.get(event["parent_id"] or "")
            if root_id is None:
                if event["event"] != "start" or event["parent_id"] is not None:
                    return  # a root that started before this sink was attached
                root_id = report_id
                self._trees[root_id] = TreeBuilder()
            self._trees[root_id].apply(event)
            self._dirty = True
            if event["event"] == "finish":
                self._root_of.pop(report_id, None)  # nothing follows a finish
            else:
                self._root_of[report_id] = root_id
            if event["event"] == "start" and report_id == root_id:
                self._start_live()
            elif event["event"] == "finish" and report_id == root_id:
                self._root_finished(root_id)

    def flush(self) -> None:
        """Redraw the live tree if it changed, at most once per ``min_interval``."""
        with self._lock:
            now = clocks.monotonic()
            if self._live is not None and self._dirty and now - self._last_draw >= self.min_interval - 1e-9:
                self._draw(now)

    def close(self) -> None:
        """Stop the live display now (it also stops by itself when the last running root finishes)."""
        with self._lock:
            self._stop_live()

    def render(self) -> RenderableType:
        """The running roots' trees as one renderable (a snapshot: later events do not change it)."""
        from rich.console import Group

        with self._lock:
            trees = [self._tree(builder.get(root_id)) for root_id, builder in self._trees.items()]
        return Group(*(tree for tree in trees if tree is not None))

    # -- internals -------------------------------------------------------------------------------

    def _start_live(self) -> None:
        if self._live is not None or self._live_refused:
            return
        from rich.errors import LiveError
        from rich.live import Live

        live = Live(
            console=self.console,
            auto_refresh=False,
            transient=True,
            redirect_stdout=self.redirect,
            redirect_stderr=self.redirect,
        )
        try:
            live.start()
        except LiveError:
            self._live_refused = True  # the console shows a live display of its own
            return
        self._live = live
        self._draw(clocks.monotonic())

    def _draw(self, now: float) -> None:
        # The live display gets a finished renderable, so a thread printing through the console
        # (which redraws the live area) never reads the trees, nor waits for this sink's lock.
        assert self._live is not None
        self._dirty = False
        self._last_draw = now
        self._live.update(self.render(), refresh=True)

    def _root_finished(self, root_id: str) -> None:
        builder = self._trees.pop(root_id)
        for report_id in [key for key, value in self._root_of.items() if value == root_id]:
            del self._root_of[report_id]  # children still listed as running when the root ended
        final = self._tree(builder.get(root_id))
        if self._live is not None:
            self._draw(clocks.monotonic())
        if final is not None:
            self.console.print(final)
        if not self._trees:
            self._stop_live()
            self._live_refused = False

    def _stop_live(self) -> None:
        live, self._live = self._live, None
        if live is not None:
            live.stop()

    def _tree(self, root: ProgressReport | None) -> Tree | None:
        if root is None:
            return None
        from rich.tree import Tree

        tree = Tree(self._label(root), guide_style="dim")
        stack: list[tuple[Tree, ProgressReport, int]] = [(tree, root, 0)]
        while stack:
            branch, node, depth = stack.pop()
            if depth >= MAX_DEPTH:
                continue
            children, hidden = visible_children(node, self.max_children)
            for child in children:
                stack.append((branch.add(self._label(child)), child, depth + 1))
            if hidden:
                branch.add(f"[dim]… {hidden} more[/dim]")
        return tree

    @staticmethod
    def _label(report: ProgressReport) -> RenderableType:
        from rich.progress_bar import ProgressBar
        from rich.table import Table
        from rich.text import Text

        view = line(report)
        style = _STYLES[view.status]
        row = Table.grid(padding=(0, 1))
        cells: list[RenderableType] = [Text(view.mark, style=style), Text(view.message)]
        indeterminate = view.fraction is None
        cells.append(ProgressBar(total=1.0, completed=view.fraction or 0.0, width=20, pulse=indeterminate))
        cells.extend(Text(part) for part in (view.percent.strip(), view.count) if part)
        if view.detail:
            cells.append(Text(view.detail, style="red" if view.status is Status.ERROR else "yellow"))
        for _ in cells:
            row.add_column(no_wrap=True)
        row.add_row(*cells)
        return row


RichSink.__module__ = "progress_instrument.integrations.rich"
