"""Command line: ``python -m progress_instrument demo`` and ``python -m progress_instrument run``."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from . import ProgressReport, Status, reports_progress, step, track
from ._run import add_run_command, run_command

SEASONS = ("DJF", "MAM", "JJA", "SON")


@reports_progress("Seasonal statistics", steps=2)
def seasonal_statistics(files: list[str], reporter: ProgressReport | None = None) -> ProgressReport:
    """Run a small instrumented "seasonal statistics" job with the three gestures."""
    assert reporter is not None
    with step("Loading dataset", steps=len(files), unit="files") as loading:
        for name in files:
            loading.set_attribute("last_file", name)
            loading.advance()
    for season in track(SEASONS, "Per season", unit="seasons"):
        try:
            with step(f"Season {season}", attributes={"season": season}):
                if season == "JJA":
                    raise ValueError("no precipitation data for JJA")
        except ValueError:
            pass  # handled: the failed step stays visible in the tree
    return reporter


def build_demo_tree() -> ProgressReport:
    """The finished report tree of one demo run."""
    return seasonal_statistics(["tas.nc", "pr.nc", "orog.nc"])


def _outline(report: ProgressReport, depth: int = 0) -> list[str]:
    mark = {Status.SUCCESS: "ok", Status.ERROR: "FAILED", Status.RUNNING: "running"}[report.status]
    line = f"{'  ' * depth}{report.step_message} [{mark}] {report.fraction:.0%}"
    if report.error:
        line += f" - {report.error}"
    lines = [line]
    for child in report.children:
        lines.extend(_outline(child, depth + 1))
    return lines


def demo() -> int:
    """Print the demo tree as an outline and as its JSON snapshot."""
    root = build_demo_tree()
    print("\n".join(_outline(root)))
    print()
    print(json.dumps(root.to_dict(), indent=2))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m progress_instrument`` and ``progress-instrument``."""
    parser = argparse.ArgumentParser(prog="progress-instrument", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("demo", help="run a small instrumented job and print its report tree")
    add_run_command(commands)
    arguments = parser.parse_args(argv)
    if arguments.command == "demo":
        return demo()
    if arguments.command == "run":
        return run_command(arguments)
    return 2  # pragma: no cover - argparse rejects unknown commands


if __name__ == "__main__":
    sys.exit(main())
