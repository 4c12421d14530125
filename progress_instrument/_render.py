"""Text for the console renderer: pure functions of report trees, events and the time (SPEC §7).

Nothing here writes to a stream or reads a clock: `_console` passes ``now`` (epoch seconds) and
the terminal size in, so every frame and every plain line can be tested exactly.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from ._outcome import Status
from ._tree import ProgressReport

__all__ = [
    "Style",
    "clean",
    "duration",
    "live_frame",
    "final_lines",
    "tree_lines",
    "plain_start",
    "plain_finish",
    "plain_progress",
]

# ANSI escape sequences (CSI, OSC, two-character ESC ones), then any control character left, and
# the Unicode bidirectional overrides that would reorder what the terminal shows.
_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]?|\x9b[0-?]*[ -/]*[@-~]")
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")

#: Finished children shown under a running report in the live frame (the most recent ones).
LIVE_FINISHED_SHOWN = 1
#: Failed children shown under a running report in the live frame (the most recent ones).
LIVE_FAILED_SHOWN = 3
#: Running children shown under a running report in the live frame.
LIVE_RUNNING_SHOWN = 10


class Style:
    """How lines look: colours (SGR codes) or none, and the characters of the bar and marks."""

    def __init__(self, *, color: bool = False, unicode: bool = True) -> None:
        self.color = color
        self.unicode = unicode
        self.done = "✓" if unicode else "+"
        self.failed = "✗" if unicode else "x"
        self.full = "█" if unicode else "#"
        self.empty = "░" if unicode else "-"
        self.more = "…" if unicode else "..."

    def paint(self, text: str, code: str) -> str:
        """`text` wrapped in the SGR `code` (such as ``"32"`` for green) when colours are on."""
        return f"\x1b[{code}m{text}\x1b[0m" if self.color and text else text


def clean(text: object) -> str:
    """`text` without escape sequences or control characters, so it cannot drive the terminal."""
    value = str(text)
    if value.isprintable() and "\x1b" not in value:
        return value
    value = _ESCAPES.sub("", value)
    return _CONTROLS.sub(lambda match: " " if match.group() in "\t\n\r" else "", value)


def duration(seconds: float) -> str:
    """A short human duration: ``0.42s``, ``12s``, ``3m05s``, ``2h07m``."""
    if not math.isfinite(seconds) or seconds < 0:
        return "?"
    if seconds < 10:
        return f"{seconds:.2f}s" if seconds < 1 else f"{seconds:.1f}s"
    whole = int(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"


def _number(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{value:.1f}"


def _unit(unit: str | None) -> str:
    return f" {clean(unit)}" if unit else ""


def _elapsed(started_at: float | None, finished_at: float | None, now: float) -> float:
    if started_at is None:
        return 0.0
    end = finished_at if finished_at is not None else now
    return max(0.0, end - started_at)


def stopped_early(status: str, steps: int, completed: float, has_children: bool) -> bool:
    """Whether a report that finished ``success`` counted fewer of its own units than its steps.

    That is a loop left early (``break`` or an exception in its body: SPEC §6). A report whose
    units come from its children counts nothing itself, so one with children and nothing counted
    is not taken for a loop stopped at its first item.
    """
    return status == Status.SUCCESS and steps > 0 and completed < steps and (completed > 0 or not has_children)


def _stats(report: ProgressReport, now: float, style: Style) -> str:
    """Bar, percent, count and unit, rate and ETA of a running report."""
    fraction = report.fraction
    steps = report.steps
    elapsed = _elapsed(report.started_at, report.finished_at, now)
    unit = _unit(report.unit)
    if steps <= 0:
        count = f"{_number(report.completed)}{unit}" if report.completed or unit else ""
        rate = report.completed / elapsed if elapsed > 0 and report.completed else 0.0
        parts = [count, f"{rate:.1f}{unit}/s" if rate else "", duration(elapsed)]
        return "  ".join(part for part in parts if part)
    width = 20
    filled = min(width, int(fraction * width))
    bar = style.paint(style.full * filled, "36") + style.paint(style.empty * (width - filled), "2")
    done = math.floor(fraction * steps + 1e-9)
    parts = [bar, f"{fraction * 100:3.0f}%", f"{done}/{steps}{unit}"]
    if elapsed > 0 and fraction > 0:
        rate = fraction * steps / elapsed
        parts.append(style.paint(f"{rate:.1f}{unit}/s" if rate < 100 else f"{rate:.0f}{unit}/s", "2"))
        eta = elapsed * (1.0 - fraction) / fraction
        parts.append(style.paint(f"ETA {duration(eta)}", "2"))
    else:
        parts.append(style.paint(f"{duration(elapsed)}", "2"))
    return " ".join(parts[:2]) + "  " + "  ".join(parts[2:])


def _finished_line(report: ProgressReport, depth: int, now: float, style: Style) -> str:
    """One line for a finished report: its subtree collapses into it."""
    indent = "  " * depth
    message = clean(report.step_message)
    elapsed = duration(_elapsed(report.started_at, report.finished_at, now))
    if report.status is Status.ERROR:
        mark = style.paint(style.failed, "31")
        what = "cancelled" if report.cancelled else clean(report.error or "failed")
        return f"{indent}{mark} {message}: {style.paint(what, '31')}  {style.paint(elapsed, '2')}"
    details = []
    steps = report.steps
    if stopped_early(report.status.value, steps, report.completed, bool(report.children)):
        details.append(style.paint(f"stopped at {_number(report.completed)}/{steps}{_unit(report.unit)}", "33"))
    elif steps > 0:
        details.append(f"{steps}/{steps}{_unit(report.unit)}")
    elif report.completed:
        details.append(f"{_number(report.completed)}{_unit(report.unit)}")
    children = report.children
    count = len(children) + report.omitted_children
    if count:
        failed = sum(child.status is Status.ERROR for child in children)
        text = f"{count} sub-step{'s' if count != 1 else ''}" + (f", {failed} failed" if failed else "")
        details.append(style.paint(text, "31") if failed else text)
    if report.cancelled:
        details.append(style.paint("cancelled", "33"))
    details.append(style.paint(elapsed, "2"))
    return f"{indent}{style.paint(style.done, '32')} {message}  {'  '.join(details)}"


def _running_line(report: ProgressReport, depth: int, now: float, style: Style) -> str:
    message = clean(report.step_message)
    if report.cancelled:
        message += " " + style.paint("(cancelling)", "33")
    return f"{'  ' * depth}{style.paint(message, '1') if depth == 0 else message}  {_stats(report, now, style)}"


def _live_lines(report: ProgressReport, depth: int, now: float, style: Style, lines: list[str]) -> None:
    if report.status is not Status.RUNNING:
        lines.append(_finished_line(report, depth, now, style))
        return
    lines.append(_running_line(report, depth, now, style))
    children = report.children
    running = [child for child in children if child.status is Status.RUNNING]
    failed = [child for child in children if child.status is Status.ERROR][-LIVE_FAILED_SHOWN:]
    succeeded = [child for child in children if child.status is Status.SUCCESS][-LIVE_FINISHED_SHOWN:]
    shown_ids = {id(child) for child in [*running[:LIVE_RUNNING_SHOWN], *failed, *succeeded]}
    hidden = len(children) - len(shown_ids) + report.omitted_children
    if hidden > 0:
        lines.append(f"{'  ' * (depth + 1)}{style.paint(f'{style.more} {hidden} more finished', '2')}")
    for child in children:
        if id(child) in shown_ids:
            _live_lines(child, depth + 1, now, style, lines)


def live_frame(roots: list[ProgressReport], now: float, *, width: int, height: int, style: Style) -> list[str]:
    """The live region for the running `roots`: one line per shown report, at most `height` lines.

    Running reports show bar, percent, count, rate and ETA; finished children collapse to one
    line each. Lines are cut to `width` visible characters so the terminal never wraps them.
    """
    lines: list[str] = []
    for root in roots:
        _live_lines(root, 0, now, style, lines)
    if height > 0 and len(lines) > height:
        cut = len(lines) - height + 1
        lines = [*lines[: height - 1], style.paint(f"{style.more} {cut} more lines", "2")]
    return [fit(line, width) for line in lines]


def final_lines(root: ProgressReport, now: float, *, style: Style, width: int = 0) -> list[str]:
    """What stays on screen when a root finishes: its line, then one line per child (failed ones with their error)."""
    lines = [_finished_line(root, 0, now, style) if root.finished else _running_line(root, 0, now, style)]
    lines.extend(_finished_line(child, 1, now, style) for child in root.children if child.finished)
    if root.omitted_children:
        lines.append(style.paint(f"  {style.more} {root.omitted_children} more", "2"))
    return [fit(line, width) for line in lines] if width > 0 else lines


def tree_lines(root: ProgressReport, now: float, *, style: Style) -> list[str]:
    """The whole tree, every report on its own line (for ``show``); counted-only children summed up."""
    lines: list[str] = []
    stack: list[tuple[ProgressReport | str, int]] = [(root, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            lines.append(f"{'  ' * depth}{style.paint(item, '2')}")
            continue
        if item.finished:
            lines.append(_finished_line(item, depth, now, style))
        else:
            lines.append(_running_line(item, depth, now, style) + "  " + style.paint("(no finish)", "33"))
        if item.omitted_children:
            stack.append((f"{style.more} {item.omitted_children} more (not kept)", depth + 1))
        stack.extend((child, depth + 1) for child in reversed(item.children))
    return lines


def fit(line: str, width: int) -> str:
    """`line` cut to `width` visible characters (escape sequences do not count), colours reset."""
    if width <= 0:
        return line
    visible = 0
    out: list[str] = []
    position = 0
    escaped = False
    for match in re.finditer(r"\x1b\[[0-9;]*m", line):
        text = line[position : match.start()]
        if visible + len(text) > width:
            out.append(text[: width - visible])
            visible = width
            break
        out.append(text)
        visible += len(text)
        out.append(match.group())
        escaped = True
        position = match.end()
    else:
        text = line[position:]
        out.append(text[: max(0, width - visible)])
    result = "".join(out)
    return result + "\x1b[0m" if escaped and not result.endswith("\x1b[0m") else result


# -- the plain (not a TTY) mode: one line per event --------------------------------------------------


def _plain_count(event: Mapping[str, Any]) -> str:
    steps = event.get("steps") or 0
    return f" [{steps}{_unit(event.get('unit'))}]" if steps else ""


def plain_start(event: Mapping[str, Any], depth: int) -> str:
    """The line for a ``start`` event: the message, indented by depth, with its expected total."""
    return f"{'  ' * depth}> {clean(event.get('step_message', ''))}{_plain_count(event)}"


def plain_finish(event: Mapping[str, Any], depth: int, has_children: bool) -> str:
    """The line for a ``finish`` event, with how it ended, its count, its quick children and its duration."""
    indent = "  " * depth
    message = clean(event.get("step_message", ""))
    elapsed = duration(_elapsed(event.get("started_at"), event.get("finished_at"), 0.0))
    steps = int(event.get("steps") or 0)
    completed = float(event.get("completed") or 0.0)
    unit = _unit(event.get("unit"))
    details: list[str] = []
    if event.get("status") == Status.ERROR:
        head = "CANCELLED" if event.get("cancelled") else "FAILED"
        return f"{indent}{head} {message}: {clean(event.get('error') or 'failed')} ({elapsed})"
    if stopped_early(str(event.get("status")), steps, completed, has_children):
        details.append(f"stopped at {_number(completed)}/{steps}{unit}")
    elif steps:
        details.append(f"{steps}/{steps}{unit}")
    elif completed:
        details.append(f"{_number(completed)}{unit}")
    omitted = int(event.get("omitted_children") or 0)
    if omitted:
        details.append(f"{omitted} quick sub-step{'s' if omitted != 1 else ''} done")
    if event.get("cancelled"):
        details.append("cancelled")
    details.append(elapsed)
    return f"{indent}ok {message} ({', '.join(details)})"


def plain_progress(root: ProgressReport, now: float) -> str:
    """The periodic line for a running root: percent, count, rate, ETA and elapsed time."""
    fraction = root.fraction
    elapsed = _elapsed(root.started_at, None, now)
    parts = [f"{fraction * 100:.0f}%"] if root.steps else []
    unit = _unit(root.unit)
    if root.steps:
        parts.append(f"{math.floor(fraction * root.steps + 1e-9)}/{root.steps}{unit}")
        if elapsed > 0 and fraction > 0:
            parts.append(f"{fraction * root.steps / elapsed:.1f}{unit}/s")
            parts.append(f"ETA {duration(elapsed * (1.0 - fraction) / fraction)}")
    elif root.completed:
        parts.append(f"{_number(root.completed)}{unit}")
    parts.append(f"elapsed {duration(elapsed)}")
    running = _deepest_running(root)
    where = f" at {clean(running.step_message)}" if running is not root else ""
    return f"... {clean(root.step_message)}: {', '.join(parts)}{where}"


def _deepest_running(report: ProgressReport) -> ProgressReport:
    while True:
        running = [child for child in report.children if child.status is Status.RUNNING]
        if not running:
            return report
        report = running[-1]
