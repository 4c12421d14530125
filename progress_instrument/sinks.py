"""Built-in sinks: where a root's events go (SPEC §7).

`ConsoleSink` is defined in the private ``_console`` module and exported here.

A sink is any object with ``emit(event)`` (and optionally ``flush()`` and ``close()``), or a plain
callable. Sinks are called by the emission core one event at a time, never under a tree lock, often
on the library's flushing thread; they receive JSON-ready dicts to read, not to change.
"""

from __future__ import annotations

import atexit
import contextlib
import io
import os
import sys
import threading
import weakref
from collections.abc import Callable
from typing import IO, Any

from ._console import ConsoleSink
from ._log_sink import LoggingSink
from ._notebook import NotebookSink
from ._wire import _dumps

__all__ = ["CallbackSink", "ConsoleSink", "JsonLinesSink", "LoggingSink", "NotebookSink"]


class CallbackSink:
    """Pass every event to a function (a plain callable given as a sink does the same).

    Args:
        callback: Called with each event, a JSON-ready dict.

    Example:
        >>> from progress_instrument import CallbackSink, ProgressReport
        >>> seen = []
        >>> with ProgressReport("job", sinks=[CallbackSink(seen.append)]):
        ...     pass
        >>> [event["event"] for event in seen]
        ['start', 'snapshot', 'finish']
    """

    __slots__ = ("_callback",)

    def __init__(self, callback: Callable[[dict[str, Any]], object]) -> None:
        if not callable(callback):
            raise TypeError(f"CallbackSink needs a callable, got {type(callback).__name__}")
        self._callback = callback

    def emit(self, event: dict[str, Any]) -> None:
        """Call the callback with `event`."""
        self._callback(event)

    def __repr__(self) -> str:
        return f"CallbackSink({self._callback!r})"


class JsonLinesSink:
    """Write each event as one line of compact JSON, to a path (appended to) or an open file.

    Lines are written whole: events are buffered and written together at the end of each delivery
    pass (at least every ``min_interval``), when a root finishes, and on `flush()` or `close()`. A
    path is written unbuffered in append mode, so a reader (``tail -f``) always sees whole lines and
    a forked child never repeats its parent's lines; a reader of a file being written should treat
    a last line without a newline as not yet written.

    Args:
        path_or_file: A file path, or a file object open for writing (text or binary); a file
            object is flushed after each write and left open by `close()`.
        max_buffer: Characters held before writing even in the middle of a pass.

    Example:
        >>> import io
        >>> from progress_instrument import JsonLinesSink, ProgressReport
        >>> out = io.StringIO()
        >>> with ProgressReport("job", sinks=[JsonLinesSink(out)]):
        ...     pass
        >>> len(out.getvalue().splitlines())
        3
    """

    def __init__(self, path_or_file: str | os.PathLike[str] | IO[Any], *, max_buffer: int = 64 * 1024) -> None:
        self._fd: int | None = None
        self._file: IO[Any] | None = None
        self._text = False
        if isinstance(path_or_file, (str, os.PathLike)):
            self._name = os.fspath(path_or_file)
            self._fd = os.open(self._name, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        elif callable(getattr(path_or_file, "write", None)):
            self._file = path_or_file
            self._name = repr(path_or_file)
            file: object = path_or_file
            self._text = isinstance(file, io.TextIOBase) or "b" not in getattr(file, "mode", "b")
        else:
            raise TypeError(f"JsonLinesSink needs a path or a writable file, got {type(path_or_file).__name__}")
        self._max_buffer = max_buffer
        self._lines: list[str] = []
        self._size = 0
        self._lock = threading.Lock()
        self._closed = False
        _open_sinks.add(self)

    def emit(self, event: dict[str, Any]) -> None:
        """Buffer `event` as one JSON line; write at once when a root finishes or the buffer fills."""
        line = _dumps(event)
        with self._lock:
            if self._closed:
                return
            self._lines.append(line)
            self._size += len(line) + 1
            write_now = self._size >= self._max_buffer or (event["event"] == "finish" and event["parent_id"] is None)
            if write_now:
                self._write_locked()

    def flush(self) -> None:
        """Write the buffered lines now."""
        with self._lock:
            self._write_locked()

    def close(self) -> None:
        """Write what is buffered and close the file this sink opened (a given file stays open)."""
        with self._lock:
            if self._closed:
                return
            self._write_locked()
            self._closed = True
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    def __del__(self) -> None:
        # A sink nobody closed: write what is left and release the file descriptor this sink opened.
        if self.__dict__.get("_closed", True):
            return  # closed, or never opened; no global look-up here, so it is safe at shutdown
        with contextlib.suppress(Exception):
            self.close()

    def _write_locked(self) -> None:
        if not self._lines or self._closed:
            return
        text = "\n".join(self._lines) + "\n"
        self._lines = []
        self._size = 0
        if self._fd is not None:
            data = memoryview(text.encode("utf-8", "replace"))
            while data:
                written = os.write(self._fd, data)
                data = data[written:]
            return
        file = self._file
        assert file is not None
        file.write(text if self._text else text.encode("utf-8", "replace"))
        flush = getattr(file, "flush", None)
        if flush is not None:
            flush()

    def __repr__(self) -> str:
        return f"JsonLinesSink({self._name})"


def _after_fork_in_child() -> None:
    # The flushing thread may have held a sink's lock at the fork: the child gets fresh ones, and
    # drops the lines its parent had buffered (the parent writes them).
    for sink in list(_open_sinks):
        sink._lock = threading.Lock()
        sink._lines = []
        sink._size = 0


def _close_at_exit() -> None:
    # Sinks still referenced at exit (by configure(), say) are collected only while the interpreter
    # tears modules down, when __del__ can no longer reach `os`: close them before that, after the
    # flusher's final delivery (it may be registered with atexit after us, and so run after us).
    flusher = sys.modules.get("progress_instrument._flusher")
    if flusher is not None:
        flusher.core.at_exit()
    for sink in list(_open_sinks):
        with contextlib.suppress(Exception):
            sink.close()


_open_sinks: weakref.WeakSet[JsonLinesSink] = weakref.WeakSet()
atexit.register(_close_at_exit)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)

CallbackSink.__module__ = "progress_instrument"
JsonLinesSink.__module__ = "progress_instrument"
