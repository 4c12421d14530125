"""Command line: ``python -m progress_instrument`` (or ``progress-instrument``).

Commands:

- ``demo [--jsonl PATH] [--speed FACTOR]``: run a small instrumented analytics pipeline and show
  its progress on the console (a live tree on a terminal, plain lines otherwise).
- ``watch PATH [--idle-timeout SECONDS]``: follow a JSON-lines event file as it is written and show
  the live tree until its roots finish.
- ``show PATH``: print the final tree of every root in a JSON-lines event file.
- ``run [--target T ...] [--jsonl PATH] script.py [args]`` / ``run -m module``: run a program
  that never imports the library with functions instrumented (see `_run`).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

from . import ProgressReport, Status, configure, reports_progress, step, track
from ._console import ConsoleSink, style_for
from ._render import duration, tree_lines
from ._run import add_run_command, run_command

REGIONS = ("Alps", "Andes", "Arctic", "Congo", "Himalaya", "Mediterranean", "Sahel", "Siberia")
FILES = ("tas.nc", "pr.nc", "orog.nc", "sftlf.nc")


class _Pace:
    """The demo's simulated work: sleeps divided by a speed factor."""

    def __init__(self, speed: float) -> None:
        self.speed = speed

    def work(self, seconds: float) -> None:
        time.sleep(seconds / self.speed)


@reports_progress("Loading inputs", steps=len(FILES))
def load_inputs(pace: _Pace, reporter: ProgressReport | None = None) -> list[str]:
    """Load each input file, advancing one unit per file."""
    assert reporter is not None
    for name in FILES:
        reporter.set_attribute("file", name)
        pace.work(0.15)
        reporter.advance()
    return list(FILES)


@reports_progress("Writing results", steps=2)
def write_results(pace: _Pace, reporter: ProgressReport | None = None) -> None:
    """Write the summary table and the figures."""
    assert reporter is not None
    for _ in range(2):
        pace.work(0.15)
        reporter.advance()


@reports_progress("Regional climate summary", steps=4)
def climate_summary(pace: _Pace, reporter: ProgressReport | None = None) -> ProgressReport:
    """A realistic pipeline: loading, a failing optional download that is handled, a loop, writing."""
    assert reporter is not None
    load_inputs(pace)
    stations = "from stations"
    try:
        with step("Fetching station metadata"):
            pace.work(0.3)
            raise ConnectionError("station service unreachable")
    except ConnectionError:
        stations = "from the model grid"  # handled: the run goes on, the failure stays visible
    results: dict[str, str] = {}
    for region in track(REGIONS, "Per region", unit="regions"):
        # Quick inner steps: the console sums them up in the loop's line instead of listing each.
        with step(f"Regridding {region}", weight=0.5):
            pace.work(0.07)
        with step(f"Statistics {region}", weight=0.5, steps=3, unit="indices") as stats:
            for _ in range(3):
                pace.work(0.025)
                stats.advance()
        results[region] = stations
    write_results(pace)
    reporter.set_attribute("regions", len(results))
    return reporter


def demo(jsonl: str | None = None, speed: float = 1.0) -> int:
    """Run the demo pipeline with a console sink (and a JSON-lines one), then print a summary."""
    from .sinks import JsonLinesSink

    sinks: list[object] = [ConsoleSink(sys.stderr)]
    if jsonl is not None:
        sinks.append(JsonLinesSink(jsonl))
    configure(sinks=sinks)
    try:
        root = climate_summary(_Pace(speed))
    except KeyboardInterrupt:
        print("demo interrupted", file=sys.stderr)
        return 130
    finally:
        configure(sinks=None)
        for sink in sinks:
            close = getattr(sink, "close", None)
            if close is not None:
                close()
    failures = [child for child in root.children if child.status is Status.ERROR]
    elapsed = (root.finished_at or 0.0) - (root.started_at or 0.0)
    print(f"{root.step_message}: {root.status.value} in {duration(elapsed)}, {len(REGIONS)} regions summarized")
    for failure in failures:
        print(f"  handled failure: {failure.step_message}: {failure.error}")
    if jsonl is not None:
        print(f"events written to {jsonl}; see the tree with: progress-instrument show {jsonl}")
    return 0


def watch(path: str, idle_timeout: float | None) -> int:
    """Follow an event file and show its live tree until its roots finish."""
    from ._event_files import follow_events

    sink = ConsoleSink(sys.stdout)
    try:
        found, finished = follow_events(path, sink.emit, idle_timeout=idle_timeout, on_idle=sink.flush)
    except KeyboardInterrupt:
        sink.close()
        return 130
    sink.close()
    for problem in found.problems:
        print(f"progress-instrument watch: {path}: {problem}", file=sys.stderr)
    if not finished:
        running = sum(root.status is Status.RUNNING for root in found.builder.roots)
        print(
            f"progress-instrument watch: no new events in {path} for {idle_timeout:g}s: the writer may have "
            f"stopped ({running} report tree{'s' if running != 1 else ''} still running)",
            file=sys.stderr,
        )
        return 1
    return 0


def show(path: str) -> int:
    """Print the final tree of every root in an event file, and what could not be read."""
    from ._event_files import read_events

    try:
        found = read_events(path)
    except OSError as error:
        print(f"progress-instrument show: cannot read {path}: {error.strerror or error}", file=sys.stderr)
        return 1
    style = style_for(sys.stdout)
    now = found.last_time or time.time()  # a tree left running is shown as it was at the last event
    for root in found.builder.roots:
        print("\n".join(tree_lines(root, now, style=style)))
    if not found.builder.roots:
        print(f"{path}: no events")
    for problem in found.problems:
        print(f"progress-instrument show: {path}: {problem}", file=sys.stderr)
    return 1 if found.problems else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m progress_instrument`` and ``progress-instrument``."""
    parser = argparse.ArgumentParser(
        prog="progress-instrument",
        description="Show progress reports: run a demo, follow an event file, or print its final tree.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    demo_parser = commands.add_parser("demo", help="run a small instrumented pipeline and show its progress")
    demo_parser.add_argument("--jsonl", metavar="PATH", help="also append its events to this JSON-lines file")
    demo_parser.add_argument("--speed", type=float, default=1.0, help="run this many times faster (default 1)")
    watch_parser = commands.add_parser("watch", help="follow a JSON-lines event file and show the live tree")
    watch_parser.add_argument("path")
    watch_parser.add_argument(
        "--idle-timeout", type=float, default=None, metavar="SECONDS", help="give up after this long without new events"
    )
    show_parser = commands.add_parser("show", help="print the final tree of a JSON-lines event file")
    show_parser.add_argument("path")
    add_run_command(commands)
    arguments = parser.parse_args(argv)
    try:
        return _run(parser, arguments)
    except BrokenPipeError:
        # Output piped into a reader that stopped (``| head``): not an error worth a traceback.
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def _run(parser: argparse.ArgumentParser, arguments: argparse.Namespace) -> int:
    if arguments.command == "demo":
        if not arguments.speed > 0:
            parser.error("--speed must be > 0")
        return demo(arguments.jsonl, arguments.speed)
    if arguments.command == "watch":
        return watch(arguments.path, arguments.idle_timeout)
    if arguments.command == "run":
        return run_command(arguments)
    return show(arguments.path)


if __name__ == "__main__":
    sys.exit(main())
