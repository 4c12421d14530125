"""`LoggingSink`: progress as log records, for services and batch jobs (SPEC §7).

One record when a report starts, one when it finishes, and one progress record per running root
every ``progress_interval`` seconds (30 by default) so long jobs stay visible in logs. The
interval is measured on the library's monotonic clock (`progress_instrument.testing.FakeClock`
drives it in tests) and checked on every event and on every delivery pass (``flush()``), which the
flushing thread runs every ``min_interval`` while a root runs.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

from ._clock import clocks
from ._outcome import Status
from ._tree_builder import TreeBuilder
from ._view import live_fraction

if TYPE_CHECKING:
    from ._tree import ProgressReport

__all__ = ["LoggingSink", "DEFAULT_PROGRESS_INTERVAL"]

DEFAULT_PROGRESS_INTERVAL = 30.0
_PATH_SEPARATOR = " › "


class LoggingSink:
    """Write start and finish records, and a progress record per running root every 30 seconds.

    Every record carries the event it describes as ``record.progress`` (a dict with the event's
    fields, SPEC §2: ``event``, ``report_id``, ``parent_id``, ``seq``, ``time``, ``step_message``,
    ``steps``, ``status``, ``fraction``, ``completed``, ``error``, ``cancelled``, ``unit``,
    ``attributes`` …, without a snapshot's tree) and the step messages from the root down to the
    report as ``record.progress_path`` (a tuple of strings), so structured handlers can use them.
    A periodic progress record has ``record.progress["event"] == "progress"`` and describes its
    root as last delivered.

    Levels: starts, successful finishes and progress records use `level`; a failed finish uses
    `error_level` (ERROR by default), and a cancelled one WARNING, or `error_level` when that is
    lower. Snapshot events give no record (the finish follows).

    Args:
        logger: A logger or a logger name; the ``progress_instrument`` logger when None.
        level: The level of start, success and progress records.
        error_level: The level of a failed finish.
        progress_interval: Seconds between two progress records of one running root.

    Example:
        >>> import logging, sys
        >>> from progress_instrument import LoggingSink, ProgressReport
        >>> logger = logging.getLogger("example")
        >>> logger.addHandler(logging.StreamHandler(sys.stdout))
        >>> logger.setLevel(logging.INFO)
        >>> with ProgressReport("Job", steps=3, sinks=[LoggingSink(logger)]) as job:
        ...     job.advance(3)
        started: Job (3 steps)
        finished: Job (3/3, success)
        >>> logger.handlers.clear()
    """

    def __init__(
        self,
        logger: logging.Logger | str | None = None,
        *,
        level: int = logging.INFO,
        error_level: int = logging.ERROR,
        progress_interval: float = DEFAULT_PROGRESS_INTERVAL,
    ) -> None:
        if logger is None or isinstance(logger, str):
            logger = logging.getLogger(logger or "progress_instrument")
        if not isinstance(logger, logging.Logger):
            raise TypeError(f"LoggingSink needs a logging.Logger or a logger name, got {type(logger).__name__}")
        if isinstance(progress_interval, bool) or not isinstance(progress_interval, (int, float)):
            raise TypeError(f"progress_interval must be a number of seconds, got {type(progress_interval).__name__}")
        if not progress_interval > 0:
            raise ValueError(f"progress_interval must be > 0, got {progress_interval!r}")
        self.logger = logger
        self.level = level
        self.error_level = error_level
        self.progress_interval = float(progress_interval)
        self._lock = threading.Lock()
        # Each running root's tree, rebuilt from its events, and every announced report's root id.
        self._trees: dict[str, TreeBuilder] = {}
        self._root_of: dict[str, str] = {}
        # Running roots: report id -> monotonic time of their last record.
        self._last_record: dict[str, float] = {}

    def emit(self, event: dict[str, Any]) -> None:
        """Log a start or a finish, follow progress, and write the progress records that are due."""
        kind = event["event"]
        if kind == "snapshot":
            return
        with self._lock:
            report_id: str = event["report_id"]
            now = clocks.monotonic()
            root_id = self._root_of.get(report_id) or self._root_of.get(event["parent_id"] or "")
            if root_id is None:
                root_id = report_id
                if kind == "start":
                    self._trees[root_id] = TreeBuilder()
                    # Delivered after a delay (coalescing): the interval counts from the root's start.
                    delay = (event["time"] or 0.0) - (event["started_at"] or event["time"] or 0.0)
                    self._last_record[root_id] = now - max(0.0, delay)
            builder = self._trees.get(root_id)
            if builder is not None:
                self._root_of[report_id] = root_id
                builder.apply(event)
            path = self._path(builder, report_id, event)
            if kind == "start":
                self._log(self.level, "started: %s", _describe_start(event), event, path)
            elif kind == "finish":
                self._log(self._finish_level(event), "finished: %s", _describe_finish(event), event, path)
                self._root_of.pop(report_id, None)
                if report_id == root_id:
                    self._forget(root_id)
            self._progress_records(now)

    def flush(self) -> None:
        """Write the progress records that are due (called after every delivery pass)."""
        with self._lock:
            self._progress_records(clocks.monotonic())

    def _forget(self, root_id: str) -> None:
        self._last_record.pop(root_id, None)
        self._trees.pop(root_id, None)
        for report_id in [key for key, value in self._root_of.items() if value == root_id]:
            del self._root_of[report_id]

    def _progress_records(self, now: float) -> None:
        for root_id, last in list(self._last_record.items()):
            if now - last < self.progress_interval:
                continue
            self._last_record[root_id] = now
            root = self._trees[root_id].get(root_id)
            if root is None:
                continue
            event = root.to_dict()
            del event["children"], event["report_type"]
            event.update(event="progress", parent_id=None, time=clocks.wall(), fraction=live_fraction(root))
            text = _describe_progress(event)
            current = _deepest_running(root)
            if current:
                text += f"; now: {_PATH_SEPARATOR.join(current)}"
            self._log(self.level, "progress: %s", text, event, (root.step_message,))

    @staticmethod
    def _path(builder: TreeBuilder | None, report_id: str, event: dict[str, Any]) -> tuple[str, ...]:
        node = builder.get(report_id) if builder is not None else None
        if node is None:
            return (event["step_message"],)
        names: list[str] = []
        while node is not None:
            names.append(node.step_message)
            node = node.parent
        return tuple(reversed(names))

    def _finish_level(self, event: dict[str, Any]) -> int:
        if event["status"] != "error":
            return self.level
        if event.get("cancelled"):
            return min(logging.WARNING, self.error_level)
        return self.error_level

    def _log(self, level: int, message: str, text: str, event: dict[str, Any], path: tuple[str, ...]) -> None:
        if not self.logger.isEnabledFor(level):
            return
        fields = {key: value for key, value in event.items() if key != "snapshot"}
        self.logger.log(level, message, text, extra={"progress": fields, "progress_path": path})

    def __repr__(self) -> str:
        return f"LoggingSink({self.logger.name!r})"


def _deepest_running(root: ProgressReport) -> list[str]:
    """The step messages down to the report started last among the running ones, below `root`."""
    names: list[str] = []
    node = root
    while len(names) < 256:
        running = [child for child in node.children if child.status is Status.RUNNING]
        if not running:
            break
        node = running[-1]
        names.append(node.step_message)
    return names


def _count(event: dict[str, Any]) -> str:
    """``3/10 files``, ``3 files`` (unknown total), or ``""`` for a report with neither."""
    completed = event.get("completed") or 0
    steps = event.get("steps") or 0
    unit = event.get("unit")
    done = f"{completed:g}"
    if steps and (completed or unit):
        text = f"{done}/{steps}"
    elif completed:
        text = done
    else:
        return ""
    return f"{text} {unit}" if unit else text


def _describe_start(event: dict[str, Any]) -> str:
    steps = event.get("steps") or 0
    unit = event.get("unit")
    if steps:
        return f"{event['step_message']} ({steps} {unit or 'steps'})"
    return str(event["step_message"])


def _describe_finish(event: dict[str, Any]) -> str:
    count = _count(event)
    details = [count] if count else []
    if event["status"] == "error":
        details.append("cancelled" if event.get("cancelled") else "error")
        if event.get("error"):
            details.append(str(event["error"]))
    else:
        details.append(str(event["status"]))
    omitted = event.get("omitted_children") or 0
    if omitted:
        details.append(f"{omitted} short children not listed")
    return f"{event['step_message']} ({', '.join(details)})"


def _describe_progress(event: dict[str, Any]) -> str:
    fraction = event.get("fraction") or 0.0
    count = _count(event)
    steps = event.get("steps") or 0
    done = f"{fraction:.0%}" if steps else "running"
    return f"{event['step_message']} {done}" + (f" ({count})" if count else "")


LoggingSink.__module__ = "progress_instrument"
