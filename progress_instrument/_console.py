"""`ConsoleSink`: a live tree on a terminal, plain lines elsewhere (SPEC §7).

The sink rebuilds the trees from its events with a `TreeBuilder` and draws them with the pure
functions of `_render`, reading the time from the library's clocks (so the testing module's fake
clock drives it). On a terminal, the live region stays at the bottom: it is erased before anything
else is written (the sink's own lines, and ``sys.stdout``/``sys.stderr`` and logging output while
it is shown, through `_LiveProxy`) and drawn again after.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
import weakref
from typing import IO, Any

from . import _render
from ._clock import clocks
from ._outcome import Status
from ._tree_builder import TreeBuilder

__all__ = ["ConsoleSink", "style_for", "PROGRESS_LINE_INTERVAL", "REDRAW_INTERVAL"]

#: Seconds between two progress lines of a running root in the plain mode.
PROGRESS_LINE_INTERVAL = 30.0
#: Seconds between two redraws of the live tree (at most).
REDRAW_INTERVAL = 0.1
#: Seconds after which the live tree is redrawn even when no event came (elapsed times move on).
IDLE_REDRAW = 1.0

_HIDE_CURSOR = "\x1b[?25l"
_SHOW_CURSOR = "\x1b[?25h"


def unwrap(stream: Any) -> Any:
    """The stream a live tree's proxy stands for, or `stream` itself."""
    return stream.target if isinstance(stream, _LiveProxy) else stream


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def _can_encode(stream: Any, text: str) -> bool:
    try:
        text.encode(getattr(stream, "encoding", None) or "ascii")
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def style_for(stream: Any, color: bool | None = None) -> _render.Style:
    """The style for `stream`: colours on a terminal unless ``NO_COLOR`` or ``TERM=dumb``; Unicode when it encodes."""
    if color is None:
        color = _isatty(stream) and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"
    return _render.Style(color=bool(color), unicode=_can_encode(stream, "█░✓✗…"))


class ConsoleSink:
    """Show reports on a console: a live tree on a terminal, one plain line per start/finish elsewhere.

    On a terminal, running roots are drawn as a tree at the bottom of the screen, with a bar,
    percent, count, rate and ETA per running report, redrawn in place at most every
    `REDRAW_INTERVAL` seconds; finished children collapse to one line, and a finished root leaves
    its final frame above. While the tree is shown, ``sys.stdout``, ``sys.stderr`` and logging
    handlers writing to them print above it, and the cursor is hidden (shown again when the last
    root finishes, on `close()` and at exit).

    Elsewhere (a file, a pipe, CI logs) each start and finish is one line indented by depth, a
    report's quick children are summed up in its finish line (failures always get their own), and
    each running root gets a progress line every `PROGRESS_LINE_INTERVAL` seconds.

    Messages are stripped of control characters and escape sequences.

    Args:
        stream: Where to write; ``sys.stderr`` (as it is when the sink is made) when None.
        color: Use colours; by default on a terminal unless ``NO_COLOR`` is set (to anything
            non-empty) or ``TERM=dumb``.
        live: Draw the live tree; by default when `stream` is a terminal.
        width: Columns of the live tree; the terminal's width (else 80) when None.
        height: Most lines of the live tree; the terminal's height minus one (else 24) when None.

    Example:
        >>> import io
        >>> from progress_instrument import ProgressReport
        >>> from progress_instrument.sinks import ConsoleSink
        >>> out = io.StringIO()
        >>> with ProgressReport("job", sinks=[ConsoleSink(out)]):
        ...     pass
        >>> print(out.getvalue(), end="")
        > job
        ok job (...s)
    """

    def __init__(
        self,
        stream: IO[str] | None = None,
        *,
        color: bool | None = None,
        live: bool | None = None,
        width: int | None = None,
        height: int | None = None,
    ) -> None:
        # Under another sink's live tree sys.stderr is a proxy: write to what it stands for.
        self.stream: IO[str] = unwrap(stream if stream is not None else sys.stderr)
        tty = _isatty(self.stream)
        self.live = tty if live is None else bool(live)
        self.style = style_for(self.stream, color)
        self._width = width
        self._height = height
        self._lock = threading.RLock()
        self._builder = TreeBuilder()
        # Plain mode: depth of each announced report, whether it had a child announced, and the
        # time of each running root's last progress line.
        self._depth: dict[str, int] = {}
        self._had_child: set[str] = set()
        self._last_line: dict[str, float] = {}
        # Live mode: lines of the frame on screen, when it was drawn, whether it is stale.
        self._frame_lines = 0
        self._drawn_at = -1e18
        self._dirty = False
        self._proxies: list[tuple[str, Any]] = []
        # Whether the live tree is on screen (cursor hidden, streams routed through proxies).
        self._shown = False
        self._handlers: list[tuple[Any, Any]] = []
        self._closed = False
        _live_sinks.add(self)

    # -- the sink protocol --------------------------------------------------------------------------

    def emit(self, event: dict[str, Any]) -> None:
        """Take one event: update the trees, and write what it calls for."""
        with self._lock:
            self._builder.apply(event)
            if self.live:
                self._emit_live(event)
            else:
                self._emit_plain(event)

    def flush(self) -> None:
        """Redraw the live tree when it changed (called once per delivery pass); plain progress lines are due."""
        with self._lock:
            if self.live:
                # Changes are drawn at most every REDRAW_INTERVAL (with a little slack: passes come
                # every min_interval, and float time is not exact); elapsed times tick every second.
                since = clocks.monotonic() - self._drawn_at
                if (self._dirty and since >= REDRAW_INTERVAL * 0.9) or (self._frame_lines and since >= IDLE_REDRAW):
                    self._redraw()
            else:
                self._progress_lines()

    def close(self) -> None:
        """Take the live tree off the screen (finished roots stay), show the cursor and restore the streams."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if self.live:
                self._erase()
                self._stop_live()
            self._write("")

    # -- live mode ------------------------------------------------------------------------------------

    def _emit_live(self, event: dict[str, Any]) -> None:
        self._dirty = True
        if event["event"] != "finish" or event["parent_id"] is not None:
            if event["event"] == "start" and event["parent_id"] is None:
                self._redraw()
            return
        root = self._builder.get(event["report_id"])
        self._erase()
        if root is not None:
            now = clocks.wall()
            self._write("".join(line + "\n" for line in _render.final_lines(root, now, style=self.style)))
        if not self._running_roots():
            self._builder = TreeBuilder()
            self._stop_live()
        else:
            self._redraw()

    def _running_roots(self) -> list[Any]:
        return [root for root in self._builder.roots if root.status is Status.RUNNING]

    def _size(self) -> tuple[int, int]:
        width, height = self._width, self._height
        if width is None or height is None:
            try:
                columns, lines = os.get_terminal_size(self.stream.fileno())
            except (AttributeError, ValueError, OSError):
                columns, lines = 0, 0
            # A terminal that does not know its size (a bare pseudo-terminal) says 0.
            columns, lines = columns or 80, lines or 25
            width = width if width is not None else columns
            height = height if height is not None else lines - 1
        return max(1, width - 1), max(1, height)

    def _redraw(self) -> None:
        roots = self._running_roots()
        width, height = self._size()
        lines = _render.live_frame(roots, clocks.wall(), width=width, height=height, style=self.style)
        text = self._erase_text() + "".join(line + "\n" for line in lines)
        if lines and not self._shown:
            text = _HIDE_CURSOR + text
            self._start_live()
        self._write(text)
        self._frame_lines = len(lines)
        self._drawn_at = clocks.monotonic()
        self._dirty = False

    def _erase_text(self) -> str:
        count = self._frame_lines
        self._frame_lines = 0
        return f"\r\x1b[{count}A\x1b[J" if count else ""

    def _erase(self) -> None:
        text = self._erase_text()
        if text:
            self._write(text)

    def _write(self, text: str) -> None:
        if text:
            self.stream.write(text)
        flush = getattr(self.stream, "flush", None)
        if flush is not None:
            flush()

    def _start_live(self) -> None:
        """Route ``sys.stdout``, ``sys.stderr`` (when terminals) and logging handlers on them through proxies."""
        self._shown = True
        for name in ("stdout", "stderr"):
            current = getattr(sys, name)
            # Only a terminal shares the screen with the tree: output redirected to a file is left alone.
            if current is not None and not isinstance(current, _LiveProxy) and _isatty(current):
                proxy = _LiveProxy(self, current)
                self._proxies.append((name, current))
                setattr(sys, name, proxy)
        if "logging" in sys.modules:
            import logging

            originals = {id(original): getattr(sys, name) for name, original in self._proxies}
            loggers = [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]
            for logger in loggers:
                for handler in getattr(logger, "handlers", ()):
                    stream = getattr(handler, "stream", None)
                    if isinstance(handler, logging.StreamHandler) and id(stream) in originals:
                        self._handlers.append((handler, stream))
                        handler.setStream(originals[id(stream)])

    def _stop_live(self) -> None:
        """Put the streams and handlers back, write what the proxies held, and show the cursor."""
        shown, self._shown = self._shown, False
        proxies, self._proxies = self._proxies, []
        for name, original in proxies:
            proxy = getattr(sys, name)
            if isinstance(proxy, _LiveProxy) and proxy.target is original:
                setattr(sys, name, original)
                proxy.drain()
        handlers, self._handlers = self._handlers, []
        for handler, stream in handlers:
            if isinstance(getattr(handler, "stream", None), _LiveProxy):
                handler.setStream(stream)
        if shown:
            self._write(_SHOW_CURSOR)

    def _write_above(self, target: Any, text: str) -> None:
        """Write `text` for another writer above the live tree (called by the proxies)."""
        with self._lock:
            erased = bool(self._frame_lines)
            self._erase()
            target.write(text)
            target.flush()
            if erased or (self._dirty and self._shown):
                self._redraw()

    # -- plain mode -----------------------------------------------------------------------------------

    def _emit_plain(self, event: dict[str, Any]) -> None:
        kind = event["event"]
        report_id = event["report_id"]
        parent_id = event["parent_id"]
        if kind == "start":
            depth = self._depth.get(parent_id, -1) + 1 if parent_id is not None else 0
            self._depth[report_id] = depth
            if parent_id is not None:
                self._had_child.add(parent_id)
            else:
                self._last_line[report_id] = float(event.get("started_at") or clocks.wall())
            self._write(_render.plain_start(event, depth) + "\n")
        elif kind == "finish":
            depth = self._depth.pop(report_id, 0)
            had_child = report_id in self._had_child
            self._had_child.discard(report_id)
            self._write(_render.plain_finish(event, depth, had_child) + "\n")
            if parent_id is None:
                self._last_line.pop(report_id, None)
                if not self._last_line:
                    self._builder = TreeBuilder()
        else:
            self._progress_lines()

    def _progress_lines(self) -> None:
        now = clocks.wall()
        due = [root_id for root_id, last in self._last_line.items() if now - last >= PROGRESS_LINE_INTERVAL]
        for root_id in due:
            root = self._builder.get(root_id)
            if root is None or root.status is not Status.RUNNING:
                continue
            self._last_line[root_id] = now
            self._write(_render.plain_progress(root, now) + "\n")

    def __repr__(self) -> str:
        return f"ConsoleSink({getattr(self.stream, 'name', self.stream)!r}, live={self.live})"


class _LiveProxy:
    """Stands in for ``sys.stdout``/``sys.stderr`` while a live tree is shown: whole lines go above it."""

    def __init__(self, sink: ConsoleSink, target: Any) -> None:
        self.sink = sink
        self.target = target
        self._pending = ""

    def write(self, text: str) -> int:
        """Hold `text` until a line is complete, then write the complete lines above the live tree."""
        with self.sink._lock:
            self._pending += text
            if "\n" in self._pending:
                lines, _, self._pending = self._pending.rpartition("\n")
                self.sink._write_above(self.target, lines + "\n")
        return len(text)

    def flush(self) -> None:
        """Lines still incomplete are held until their newline (or the end of the live tree)."""

    def drain(self) -> None:
        """Write what is held, once the live tree is gone."""
        pending, self._pending = self._pending, ""
        if pending:
            self.target.write(pending)
            self.target.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.target, name)


_live_sinks: weakref.WeakSet[ConsoleSink] = weakref.WeakSet()


@atexit.register
def _restore_at_exit() -> None:
    # Whatever happened (an exception, Ctrl-C, sys.exit), the cursor is shown and the streams restored.
    for sink in list(_live_sinks):
        if sink.live and sink._shown:
            try:
                with sink._lock:
                    sink._erase()
                    sink._stop_live()
            except Exception:
                pass


ConsoleSink.__module__ = "progress_instrument"
