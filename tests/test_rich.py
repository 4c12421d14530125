"""RichSink: a live tree on a rich console, sharing it with RichHandler logging and print()."""

from __future__ import annotations

import io
import logging
import re
import subprocess
import sys
from collections.abc import Callable, Iterator

import pytest
from rich.console import Console
from rich.live import Live
from rich.logging import RichHandler

from progress_instrument import ProgressReport
from progress_instrument.integrations.rich import RichSink
from progress_instrument.testing import capture_events

CONTROL = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\r")

FINAL_TREE = [
    "✓ Job ━━━━━━━━━━━━━━━━━━━━ 100%",
    "├── ✓ Load ━━━━━━━━━━━━━━━━━━━━ 100% 4/4 files",
    "└── ✗ Parse ━━━━━━━━━━━━━━━━━━━━ 100% ValueError: bad row",
]


def make_console(*, terminal: bool = True) -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, force_terminal=terminal, width=100, color_system=None), out


def plain(text: str) -> str:
    """The text without control sequences (every frame ever drawn, run together)."""
    return CONTROL.sub("", text)


def screen(text: str) -> list[str]:
    """What a terminal shows at the end: a tiny emulator of the sequences rich's Live writes."""
    lines = [""]
    row = 0
    for token in re.split(r"(\x1b\[[0-9;?]*[A-Za-z]|\r|\n)", text):
        if token == "\n":
            row += 1
            if row == len(lines):
                lines.append("")
        elif token == "\r" or token.startswith("\x1b[?"):
            continue
        elif token == "\x1b[2K":
            lines[row] = ""
        elif token.startswith("\x1b[") and token.endswith("A"):
            row = max(0, row - int(token[2:-1] or 1))
        elif token:
            lines[row] += token
    return [line.rstrip() for line in lines if line.strip()]


@pytest.fixture
def logger() -> Iterator[logging.Logger]:
    log = logging.getLogger("tests.rich")
    log.setLevel(logging.INFO)
    log.propagate = False
    yield log
    log.handlers.clear()
    log.propagate = True


def run_job(sink: RichSink, clock_advance: Callable[[float], None], during: Callable[[], None] | None = None) -> None:
    """Job ▸ Load (4 files, redrawn halfway) and Parse (fails)."""
    with ProgressReport("Job", steps=2, sinks=[sink]) as job:
        clock_advance(0.1)
        with job.create_subreport("Load", steps=4, unit="files") as load:
            load.advance(2)
            clock_advance(0.1)
            if during is not None:
                during()
            load.advance(2)
        job.create_subreport("Parse").complete("error", error="ValueError: bad row")


class TestLiveTree:
    def test_the_final_tree_is_printed_once_with_bars_counts_and_errors(self) -> None:
        """When the root finishes, its final tree stays on the console, once."""
        console, out = make_console()
        with capture_events() as captured:
            run_job(RichSink(console), captured.clock.advance)
        assert plain(out.getvalue()).count("✓ Job ━") == 1
        assert screen(out.getvalue()) == FINAL_TREE

    def test_the_running_tree_is_redrawn_in_place(self) -> None:
        """While running, the live area shows the current state, with cursor moves to redraw it."""
        console, out = make_console()
        with capture_events() as captured:
            run_job(RichSink(console), captured.clock.advance)
        raw = out.getvalue()
        assert "└── • Load ━━━━━━━━━━           50% 2/4 files" in plain(raw)
        assert "\x1b[1A" in raw and "\x1b[2K" in raw  # cursor up, erase line: redrawn in place

    def test_redraws_are_throttled_to_min_interval(self) -> None:
        """Many changes within one min_interval draw once."""
        console, out = make_console()
        sink = RichSink(console, min_interval=1.0)
        with capture_events(min_interval=0.1) as captured:
            with ProgressReport("Loop", steps=100, sinks=[sink]) as loop:
                for _ in range(100):
                    loop.advance()
                    captured.clock.advance(0.1)
        frames = plain(out.getvalue()).count("• Loop")
        assert 9 <= frames <= 12

    def test_without_a_terminal_only_final_trees_are_printed(self) -> None:
        """On a plain file (a CI log), nothing is redrawn: just the final tree."""
        console, out = make_console(terminal=False)
        with capture_events() as captured:
            run_job(RichSink(console), captured.clock.advance)
        assert out.getvalue().splitlines() == FINAL_TREE

    def test_the_live_display_ends_with_the_last_root(self) -> None:
        """After each root, the console is free for another live display; a second root draws again."""
        console, out = make_console()
        sink = RichSink(console)
        with capture_events() as captured:
            run_job(sink, captured.clock.advance)
            with Live(console=console, auto_refresh=False):
                pass
            ProgressReport("Second", sinks=[sink]).complete()
        assert "✓ Second" in plain(out.getvalue())

    def test_concurrent_roots_share_the_live_area(self) -> None:
        """Two running roots draw together; the one finishing first is printed first, and stays."""
        console, out = make_console()
        sink = RichSink(console)
        with capture_events() as captured:
            first = ProgressReport("First", steps=1, sinks=[sink])
            second = ProgressReport("Second", steps=1, sinks=[sink])
            captured.clock.advance(0.1)
            captured.clock.advance(0.1)
            frame = screen(out.getvalue())
            second.advance()
            second.complete()
            first.complete()
        assert sorted(line.split(" ━")[0].split("  ")[0] for line in frame) == ["• First", "• Second"]
        assert screen(out.getvalue()) == [
            "✓ Second ━━━━━━━━━━━━━━━━━━━━ 100% 1/1",
            "✓ First ━━━━━━━━━━━━━━━━━━━━ 100% 0/1",
        ]

    def test_a_long_loop_keeps_the_sink_small(self) -> None:
        """Finished children are forgotten by the sink while their root runs."""
        console, _ = make_console(terminal=False)
        sink = RichSink(console)
        with capture_events() as captured:
            with ProgressReport("Loop", steps=300, sinks=[sink]) as loop:
                for index in range(300):
                    with loop.create_subreport(f"item {index}"):
                        captured.clock.advance(0.1)
                known = len(sink._root_of)
        assert known <= 2 and sink._root_of == {}

    def test_with_the_real_flushing_thread_the_final_tree_is_there_when_complete_returns(self) -> None:
        """Without a fake clock, the live display may start on the library thread; the end is the same."""
        console, out = make_console()
        with ProgressReport("Job", steps=2, sinks=[RichSink(console)]) as job:
            with job.create_subreport("Load", steps=4, unit="files") as load:
                load.advance(4)
            job.create_subreport("Parse").complete("error", error="ValueError: bad row")
        assert screen(out.getvalue()) == FINAL_TREE


class TestSharingTheConsole:
    def test_rich_log_lines_and_prints_show_above_the_tree(self, logger: logging.Logger) -> None:
        """RichHandler records and print() while live go through the console, and stdout is restored."""
        console, out = make_console()
        logger.addHandler(RichHandler(console=console, show_time=False, show_path=False))
        stdout = sys.stdout

        def during() -> None:
            logger.info("halfway there")
            print("a plain print")

        with capture_events() as captured:
            run_job(RichSink(console), captured.clock.advance, during)
        assert sys.stdout is stdout
        assert screen(out.getvalue()) == ["INFO     halfway there", "a plain print", *FINAL_TREE]

    def test_a_console_with_its_own_live_display_gets_the_final_trees(self) -> None:
        """If the console already shows a live display (a rich Progress), only final trees are printed."""
        console, out = make_console(terminal=False)
        with capture_events() as captured, Live(console=console, auto_refresh=False):
            run_job(RichSink(console), captured.clock.advance)
        assert FINAL_TREE[0] in out.getvalue()


def test_importing_the_module_does_not_import_rich() -> None:
    """rich is imported when a RichSink is made, not when the module is imported."""
    code = "import sys, progress_instrument.integrations.rich\nprint('rich' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
