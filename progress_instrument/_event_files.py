"""Reading JSON-lines event files for the command line: ``show`` and ``watch`` (SPEC §2, §7).

A file written by `JsonLinesSink` holds whole lines; a last line without its newline is either
still being written (``watch`` waits for the rest) or was cut off (``show`` says so).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from typing import IO, Any

from ._tree_builder import TreeBuilder

__all__ = ["FileReport", "read_events", "follow_events"]


class FileReport:
    """What reading a file found: the trees, and the lines that could not be read."""

    def __init__(self) -> None:
        self.builder = TreeBuilder()
        self.lines_read = 0
        #: The latest ``time`` of the events read (epoch seconds), 0.0 before any.
        self.last_time = 0.0
        self.problems: list[str] = []
        # Ids of the reports whose finish was read as a root's (a root's snapshot comes just before).
        self._finished_roots: set[str] = set()

    def take(self, number: int, line: bytes) -> dict[str, Any] | None:
        """Apply one complete line and return its event; a line that is not one is noted in `problems`."""
        text = line.strip()
        if not text:
            return None
        try:
            event: Any = json.loads(text)
            self.builder.apply(event)
        except ValueError as error:  # json.JSONDecodeError and TreeBuilder's errors are ValueErrors
            self.problems.append(f"line {number}: not an event ({_short(error)})")
            return None
        self.lines_read += 1
        if event["event"] == "finish":
            report = self.builder.get(event["report_id"])
            if report is not None and report.parent is None:  # a root (or an orphan shown as one)
                self._finished_roots.add(event["report_id"])
        self.last_time = max(self.last_time, float(event["time"]))
        return dict(event)

    def all_finished(self) -> bool:
        """Whether at least one root was seen and every root seen has had its ``finish`` event."""
        roots = self.builder.roots
        finished = self._finished_roots
        return bool(roots) and all(root.report_id in finished for root in roots)


def _short(error: Exception) -> str:
    text = str(error)
    return text if len(text) <= 200 else text[:199] + "…"


def read_events(path: str | os.PathLike[str]) -> FileReport:
    """Read every event of a file; a last line cut off mid-way is reported, not applied.

    Raises:
        OSError: The file cannot be read.
    """
    found = FileReport()
    with open(path, "rb") as file:
        for number, line in enumerate(file, start=1):
            if line.endswith(b"\n"):
                found.take(number, line)
            elif line.strip():
                found.problems.append(
                    f"line {number}: cut off after {len(line)} bytes (no newline): not read; "
                    "the file ends in the middle of an event"
                )
    return found


def follow_events(
    path: str | os.PathLike[str],
    on_event: Callable[[dict[str, Any]], object],
    *,
    idle_timeout: float | None = None,
    poll: float = 0.1,
    on_idle: Callable[[], object] | None = None,
    sleep: Callable[[float], object] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
) -> tuple[FileReport, bool]:
    """Follow a file like ``tail -f``, passing each event on, until every root seen has finished.

    A file that does not exist yet is waited for; a last line without its newline is held until
    the rest arrives.

    Args:
        path: The JSON-lines file.
        on_event: Called with each event read.
        idle_timeout: Give up after this many seconds without new data (a writer that died);
            None waits for ever.
        poll: Seconds between two reads when there is nothing new.
        on_idle: Called after each read that found nothing new (to redraw, for instance).
        sleep: Waits between reads.
        monotonic: The clock of `idle_timeout`.

    Returns:
        What was read, and whether every root finished (False: the idle timeout ran out).
    """
    found = FileReport()
    last_data = monotonic()
    partial = b""
    number = 0
    file: IO[bytes] | None = None
    try:
        while True:
            if file is None:
                try:
                    file = open(path, "rb")  # noqa: SIM115 - held open across the loop, closed below
                except FileNotFoundError:
                    file = None
            chunk = file.read(1 << 16) if file is not None else b""
            if chunk:
                last_data = monotonic()
                lines = (partial + chunk).split(b"\n")
                partial = lines.pop()
                for line in lines:
                    number += 1
                    event = found.take(number, line)
                    if event is not None:
                        on_event(event)
                if found.all_finished() and not partial:
                    return found, True
                continue
            if found.all_finished() and not partial:
                return found, True
            if on_idle is not None:
                on_idle()
            if idle_timeout is not None and monotonic() - last_data >= idle_timeout:
                if partial.strip():
                    found.problems.append(f"line {number + 1}: cut off after {len(partial)} bytes (no newline)")
                return found, False
            sleep(poll)
    finally:
        if file is not None:
            file.close()
