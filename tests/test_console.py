"""The console renderer: `ConsoleSink` live on a terminal and plain elsewhere (SPEC §7)."""

from __future__ import annotations

import io
import logging
import os
import select
import subprocess
import sys
import textwrap
import time

import pytest

from progress_instrument import ConsoleSink, ProgressReport, step, track
from progress_instrument._console import _LiveProxy
from progress_instrument._render import Style, clean, fit, live_frame
from progress_instrument.testing import capture_events

PLAIN = Style(color=False)
EVIL = "evil\x1b]0;pwned\x07\x1b[2J\x1b[31mred\x1b[0m\rtab\there\x9b1m\u202eok"


class FakeTerminal(io.StringIO):
    """A stream that says it is a UTF-8 terminal."""

    encoding = "utf-8"

    def isatty(self) -> bool:
        return True


def plain_sink() -> tuple[ConsoleSink, io.StringIO]:
    out = io.StringIO()
    return ConsoleSink(out), out


class TestClean:
    def test_escape_sequences_and_control_characters_are_removed(self) -> None:
        """OSC, CSI, C1 controls and bidi overrides go; tabs and carriage returns become spaces."""
        assert clean(EVIL) == "evilred tab hereok"

    def test_printable_text_is_unchanged(self) -> None:
        """Ordinary text, Unicode included, comes back as it is."""
        assert clean("Saison DJF – 10 °C") == "Saison DJF – 10 °C"

    def test_lines_are_cut_to_the_width_without_counting_colours(self) -> None:
        """fit() keeps colour codes out of the width and resets colours after a cut."""
        coloured = Style(color=True).paint("abcdef", "32") + "ghi"
        assert fit(coloured, 4) == "\x1b[32mabcd\x1b[0m"
        assert fit("abcdef", 3) == "abc"


class TestLiveFrame:
    def test_running_reports_show_bar_percent_count_rate_and_eta(self) -> None:
        """A half-done loop with an inner step shows its exact fraction, count, rate and ETA."""
        with capture_events() as captured, ProgressReport("Job", steps=2) as job:
            for index in track(range(4), "Files", unit="files"):
                if index == 1:
                    captured.clock.advance(10)
                    frame = live_frame(captured.roots, captured.clock.wall(), width=200, height=20, style=PLAIN)
                    break
            assert frame == [
                "Job  ██░░░░░░░░░░░░░░░░░░  12%  0/2  0.0/s  ETA 1m10s",
                "  Files  █████░░░░░░░░░░░░░░░  25%  1/4 files  0.1 files/s  ETA 30s",
            ]
            assert job.fraction == 0.5

    def test_finished_children_collapse_and_a_loop_left_early_says_where_it_stopped(self) -> None:
        """A finished subtree is one line; a loop broken at item 3 of 10 says "stopped at 3/10"."""
        with capture_events() as captured, ProgressReport("Job", steps=3) as job:
            with step("Load", steps=2) as load:
                load.create_subreport("inner").complete()
                load.advance(2)
                captured.clock.advance(1)
            for index in track(range(10), "Loop", unit="items"):
                if index == 3:
                    break
                captured.clock.advance(0.5)
            captured.clock.advance(1)
            frame = live_frame(captured.roots, captured.clock.wall(), width=200, height=20, style=PLAIN)
        # Only the most recent finished child is listed; the others are counted.
        assert frame[1:] == ["  … 1 more finished", "  ✓ Loop  stopped at 3/10 items  1.5s"]
        load_line = live_frame([captured.roots[0].children[0]], 0.0, width=200, height=20, style=PLAIN)
        assert load_line == ["✓ Load  2/2  1 sub-step  1.0s"]
        assert job.finished

    def test_the_frame_fits_the_terminal(self) -> None:
        """Lines are cut to the width, and a frame taller than the height ends with how many lines it left out."""
        with capture_events() as captured, ProgressReport("A long message for a narrow terminal") as job:
            for index in range(5):
                job.create_subreport(f"child {index}")
            captured.clock.advance(0.1)
            frame = live_frame(captured.roots, captured.clock.wall(), width=10, height=3, style=PLAIN)
            assert frame == ["A long mes", "  child 0 ", "… 4 more l"]


class TestPlainMode:
    def test_one_line_per_start_and_finish_indented_by_depth(self) -> None:
        """Starts and finishes are single lines, children indented under their parents."""
        sink, out = plain_sink()
        with capture_events() as captured, ProgressReport("Job", steps=2, sinks=[sink]) as job:
            child = job.create_subreport("Load", steps=4, unit="files")
            captured.clock.advance(0.2)
            child.advance(4)
            child.complete()
            captured.clock.advance(0.3)
        assert out.getvalue().splitlines() == [
            "> Job [2]",
            "  > Load [4 files]",
            "  ok Load (4/4 files, 0.20s)",
            "ok Job (2/2, 0.50s)",
        ]

    def test_quick_children_of_a_loop_are_summed_up_unless_they_fail(self) -> None:
        """Short-lived successful steps are counted in the loop's finish line; a failing one gets its own lines."""
        sink, out = plain_sink()
        with capture_events() as captured, ProgressReport("Job", sinks=[sink]):
            for index in track(range(5), "Loop", unit="items"):
                try:
                    with step(f"item {index}"):
                        if index == 2:
                            raise ValueError("bad item")
                except ValueError:
                    pass
                captured.clock.advance(0.01)
            captured.clock.advance(0.2)
        lines = out.getvalue().splitlines()
        assert lines[1] == "  > Loop [5 items]"
        assert lines[2:4] == ["    > item 2", "    FAILED item 2: ValueError: bad item (0.00s)"]
        assert lines[4] == "  ok Loop (5/5 items, 4 quick sub-steps done, 0.05s)"

    def test_a_progress_line_per_running_root_every_30_seconds(self) -> None:
        """The fake clock moving 30 s gives one progress line with percent, count, rate and ETA."""
        sink, out = plain_sink()
        with capture_events() as captured, ProgressReport("Job", steps=10, unit="files", sinks=[sink]) as job:
            job.advance(3)
            captured.clock.advance(29)
            assert out.getvalue().splitlines() == ["> Job [10 files]"]
            captured.clock.advance(1)
            assert out.getvalue().splitlines()[1:] == ["... Job: 30%, 3/10 files, 0.1 files/s, ETA 1m10s, elapsed 30s"]
            step_report = job.create_subreport("Deep step")
            captured.clock.advance(30)
            assert out.getvalue().splitlines()[-1].endswith("elapsed 1m00s at Deep step")
            step_report.complete()
        assert out.getvalue().count("... Job") == 2

    def test_failures_and_cancellations_say_so(self) -> None:
        """A failed root's line starts with FAILED and carries its error."""
        sink, out = plain_sink()
        with capture_events(), pytest.raises(RuntimeError), ProgressReport("Job", sinks=[sink]):
            raise RuntimeError("boom")
        assert out.getvalue().splitlines()[-1] == "FAILED Job: RuntimeError: boom (0.00s)"

    def test_messages_cannot_drive_the_terminal(self) -> None:
        """Control characters and escape sequences in messages and errors are stripped."""
        sink, out = plain_sink()
        with capture_events(), pytest.raises(ValueError), ProgressReport(EVIL, sinks=[sink]):
            raise ValueError(EVIL)
        text = out.getvalue()
        assert "\x1b" not in text and "\x07" not in text and "\x9b" not in text and "\r" not in text
        assert "evilred tab hereok" in text


class TestLiveMode:
    def test_frames_are_redrawn_in_place_and_the_last_one_stays(self) -> None:
        """Each redraw erases the previous frame; the root's finish leaves its final frame and shows the cursor."""
        out = FakeTerminal()
        sink = ConsoleSink(out, color=False, width=80, height=10)
        assert sink.live
        with capture_events() as captured, ProgressReport("Job", steps=2, sinks=[sink]) as job:
            captured.flush()
            job.advance()
            captured.clock.advance(0.1)
            job.advance()
        sink.close()
        assert out.getvalue() == (
            "\x1b[?25l"
            "Job  ░░░░░░░░░░░░░░░░░░░░   0%  0/2  0.00s\n"
            "\r\x1b[1A\x1b[JJob  ██████████░░░░░░░░░░  50%  1/2  10.0/s  ETA 0.10s\n"
            "\r\x1b[1A\x1b[J✓ Job  2/2  0.10s\n"
            "\x1b[?25h"
        )

    def test_writes_to_stdout_appear_above_the_live_tree(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A print while the tree is shown erases the frame, prints, and draws the frame again below."""
        out = FakeTerminal()
        monkeypatch.setattr(sys, "stdout", out)
        sink = ConsoleSink(out, color=False, width=80, height=10)
        with capture_events() as captured, ProgressReport("Job", sinks=[sink]):
            captured.flush()
            assert isinstance(sys.stdout, _LiveProxy)
            print("hello", end="")
            print(" world")
        assert sys.stdout is out
        frame = "Job  0.00s\n"
        assert out.getvalue() == (
            f"\x1b[?25l{frame}\r\x1b[1A\x1b[Jhello world\n{frame}\r\x1b[1A\x1b[J✓ Job  0.00s\n\x1b[?25h"
        )

    def test_output_redirected_to_a_file_is_left_alone(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """sys.stdout that is not a terminal is not wrapped: its lines never touch the tree on the terminal."""
        redirected = io.StringIO()
        monkeypatch.setattr(sys, "stdout", redirected)
        out = FakeTerminal()
        with capture_events() as captured, ProgressReport("Job", sinks=[ConsoleSink(out, color=False)]):
            captured.flush()
            assert sys.stdout is redirected
            print("to the file")
        assert redirected.getvalue() == "to the file\n"
        assert out.getvalue() == "\x1b[?25lJob  0.00s\n\r\x1b[1A\x1b[J✓ Job  0.00s\n\x1b[?25h"

    def test_logging_handlers_on_the_streams_write_above_the_tree(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A logging handler made on sys.stderr before the tree is shown writes above it, and gets its stream back."""
        terminal = FakeTerminal()
        monkeypatch.setattr(sys, "stderr", terminal)
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("LOG %(message)s"))
        logger = logging.getLogger("test_console.above")
        logger.addHandler(handler)
        logger.propagate = False
        sink = ConsoleSink(color=False, width=80, height=10)
        try:
            with capture_events() as captured, ProgressReport("Job", sinks=[sink]):
                captured.flush()
                logger.warning("careful")
        finally:
            logger.removeHandler(handler)
        assert handler.stream is terminal
        assert terminal.getvalue() == (
            "\x1b[?25lJob  0.00s\n\r\x1b[1A\x1b[JLOG careful\nJob  0.00s\n\r\x1b[1A\x1b[J✓ Job  0.00s\n\x1b[?25h"
        )

    def test_a_finished_root_stays_above_the_roots_still_running(self) -> None:
        """Two roots share the live region; the first to finish leaves its final frame and the other is drawn below."""
        out = FakeTerminal()
        sink = ConsoleSink(out, color=False, width=80, height=10)
        with capture_events() as captured:
            first = ProgressReport("First", sinks=[sink])
            captured.flush()  # one root at a time: the flush visits roots in no set order
            second = ProgressReport("Second", sinks=[sink])
            captured.flush()
            assert out.getvalue().endswith("\r\x1b[1A\x1b[JFirst  0.00s\nSecond  0.00s\n")
            captured.clock.advance(1)
            first.complete()
            assert out.getvalue().endswith("\r\x1b[2A\x1b[J✓ First  1.0s\nSecond  1.0s\n")
            second.complete()
        assert out.getvalue().endswith("\r\x1b[1A\x1b[J✓ Second  1.0s\n\x1b[?25h")
        assert out.getvalue().count("\x1b[?25l") == 1

    def test_elapsed_time_is_redrawn_without_events(self) -> None:
        """With nothing happening, the frame is still redrawn once a second so elapsed times move on."""
        out = FakeTerminal()
        sink = ConsoleSink(out, color=False, width=80, height=10)
        with capture_events() as captured, ProgressReport("Job", sinks=[sink]):
            captured.flush()
            captured.clock.advance(0.5)
            assert out.getvalue().count("Job") == 1
            captured.clock.advance(0.5)
            assert out.getvalue().endswith("\r\x1b[1A\x1b[JJob  1.0s\n")

    def test_a_sink_made_under_a_live_tree_writes_to_the_terminal_not_the_proxy(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """While sys.stderr is a live tree's proxy, a new ConsoleSink() and the default sink use what it stands for."""
        from progress_instrument import _config

        terminal = FakeTerminal()
        monkeypatch.setattr(sys, "stderr", terminal)
        saved = _config.replace_settings()
        try:
            ours = _config.settings()
            default = ours.console_sinks()
            assert [slot.sink.stream for slot in default] == [terminal]
            with capture_events() as captured, ProgressReport("Job", sinks=[default[0].sink]):
                captured.flush()
                assert isinstance(sys.stderr, _LiveProxy)
                assert ConsoleSink().stream is terminal
                assert ours.console_sinks() == default
        finally:
            _config.replace_settings(saved)
        assert sys.stderr is terminal

    def test_no_color_turns_colours_off(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """With NO_COLOR set, a terminal gets no SGR colour codes; without it, it does."""
        monkeypatch.setenv("NO_COLOR", "1")
        assert not ConsoleSink(FakeTerminal()).style.color
        monkeypatch.delenv("NO_COLOR")
        monkeypatch.setenv("TERM", "xterm")
        assert ConsoleSink(FakeTerminal()).style.color
        assert not ConsoleSink(io.StringIO()).style.color

    def test_live_messages_cannot_drive_the_terminal(self) -> None:
        """Escape sequences in a message are stripped from the live frame too."""
        out = FakeTerminal()
        sink = ConsoleSink(out, color=False, width=200, height=10)
        with capture_events(), ProgressReport(EVIL, sinks=[sink]):
            pass
        assert "pwned" not in out.getvalue() and "\x1b]" not in out.getvalue() and "\x1b[2J" not in out.getvalue()


# -- a real terminal ------------------------------------------------------------------------------


def run_in_terminal(code: str, *, env: dict[str, str] | None = None, timeout: float = 30.0) -> tuple[str, int]:
    """Run `code` with stdout and stderr on a pseudo-terminal; return what the terminal received and the exit code."""
    pty = pytest.importorskip("pty")
    import fcntl
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    process = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env={**os.environ, "TERM": "xterm", **(env or {})},
        close_fds=True,
    )
    os.close(slave)
    received = b""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                break
            try:
                data = os.read(master, 65536)
            except OSError:  # the child closed the terminal (EIO on Linux)
                break
            if not data:
                break
            received += data
        return received.decode("utf-8", "replace").replace("\r\n", "\n"), process.wait(timeout=timeout)
    finally:
        os.close(master)
        if process.poll() is None:
            process.kill()


class TestRealTerminal:
    def test_output_and_logging_land_above_the_tree_and_the_cursor_comes_back_after_an_exception(self) -> None:
        """On a pseudo-terminal: cursor hidden, prints and log records above the frame, final frame, cursor shown."""
        output, code = run_in_terminal(
            """
            import logging, sys
            logging.basicConfig(format="LOG %(message)s")
            from progress_instrument import ConsoleSink, ProgressReport
            from progress_instrument._console import _LiveProxy
            import time
            with ProgressReport("Job", steps=2, sinks=[ConsoleSink()]) as job:
                job.advance()
                deadline = time.monotonic() + 10
                while not isinstance(sys.stdout, _LiveProxy) and time.monotonic() < deadline:
                    time.sleep(0.01)  # until the flushing thread has drawn the first frame
                print("printed line")
                logging.warning("logged line")
                raise RuntimeError("boom")
            """
        )
        assert code == 1
        hide, show = output.index("\x1b[?25l"), output.index("\x1b[?25h")
        assert hide < output.index("printed line") < output.index("LOG logged line") < show
        assert output.count("\x1b[1A\x1b[J") >= 3  # the frame erased before each write and at the end
        assert "\x1b[31mRuntimeError: boom" in output[:show]  # the final frame
        assert output.index("Traceback") > show
        last_frame = output[output.rindex("\x1b[J") : show]
        assert "Job" in last_frame and "\x1b[1m" not in last_frame  # the final frame, not a live one

    def test_ctrl_c_restores_the_cursor(self) -> None:
        """A KeyboardInterrupt inside a report leaves the final frame and shows the cursor."""
        output, _ = run_in_terminal(
            """
            import os, signal
            from progress_instrument import ConsoleSink, ProgressReport
            with ProgressReport("Job", sinks=[ConsoleSink()]):
                os.kill(os.getpid(), signal.SIGINT)
            """
        )
        assert output.index("\x1b[?25l") < output.rindex("\x1b[?25h") < output.index("Traceback")
        assert "✗\x1b[0m Job: \x1b[31mKeyboardInterrupt" in output

    def test_a_root_left_running_at_exit_is_finished_and_the_cursor_shown(self) -> None:
        """A root still running at interpreter exit gets its final frame and the cursor back."""
        output, code = run_in_terminal(
            """
            from progress_instrument import ConsoleSink, ProgressReport
            job = ProgressReport("Job", sinks=[ConsoleSink()])
            """
        )
        assert code == 0
        assert output.rindex("\x1b[?25h") > output.index("\x1b[?25l")
        assert "process exited while running" in output

    def test_the_default_sink_on_a_terminal_is_a_console_sink(self) -> None:
        """With no configuration, a root draws a live tree when stderr is a terminal."""
        output, code = run_in_terminal(
            """
            from progress_instrument import ProgressReport
            with ProgressReport("Default job"):
                pass
            """,
            env={"NO_COLOR": "1"},
        )
        assert code == 0
        assert "\x1b[?25l" in output and "✓ Default job" in output
        assert "\x1b[32m" not in output
