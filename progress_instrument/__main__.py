"""Command line: ``python -m progress_instrument demo``."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from . import ProgressReport, Status

SEASONS = ("DJF", "MAM", "JJA", "SON")


def build_demo_tree() -> ProgressReport:
    """Run a small instrumented "seasonal statistics" job with the core API and return its root."""
    with ProgressReport("Seasonal statistics", steps=2, sinks=[], unit="stages") as root:
        with root.create_subreport("Loading dataset", steps=3, unit="files") as loading:
            for name in ("tas.nc", "pr.nc", "orog.nc"):
                loading.advance()
                loading.set_attribute("last_file", name)
        with root.create_subreport("Per season", steps=len(SEASONS), unit="seasons") as seasons:
            for season in SEASONS:
                try:
                    with seasons.create_subreport(f"Season {season}") as one:
                        if season == "JJA":
                            raise ValueError("no precipitation data for JJA")
                        one.set_attribute("season", season)
                except ValueError:
                    pass  # handled: the failed step stays visible in the tree
    return root


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
    arguments = parser.parse_args(argv)
    if arguments.command == "demo":
        return demo()
    return 2  # pragma: no cover - argparse rejects unknown commands


if __name__ == "__main__":
    sys.exit(main())
