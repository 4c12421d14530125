"""The command line (`python -m progress_instrument`): demo, watch and show."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from test_console import run_in_terminal

CLI = [sys.executable, "-m", "progress_instrument"]


def run(*arguments: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *arguments], capture_output=True, text=True, timeout=timeout)


class TestDemo:
    def test_plain_output_names_each_stage_and_the_handled_failure(self, tmp_path: Path) -> None:
        """Off a terminal the demo writes plain lines, sums up quick loop steps, and prints a summary."""
        path = tmp_path / "events.jsonl"
        result = run("demo", "--speed", "5", "--jsonl", str(path))
        assert result.returncode == 0, result.stderr
        lines = result.stderr.splitlines()
        assert lines[0] == "> Regional climate summary [4]"
        assert any(line.startswith("  FAILED Fetching station metadata: ConnectionError") for line in lines)
        loop_line = next(line for line in lines if line.startswith("  ok Per region"))
        assert "8/8 regions" in loop_line and "quick sub-steps done" in loop_line
        assert lines[-1].startswith("ok Regional climate summary (4/4")
        assert "\x1b" not in result.stderr
        assert result.stdout.startswith("Regional climate summary: success in ")
        assert "handled failure: Fetching station metadata: ConnectionError: station service unreachable" in (
            result.stdout
        )
        events = [json.loads(line) for line in path.read_text().splitlines()]
        assert events[-1]["event"] == "finish" and events[-1]["parent_id"] is None
        assert events[-2]["snapshot"]["children"][1]["status"] == "error"

    def test_on_a_terminal_the_demo_draws_a_live_tree(self) -> None:
        """On a pseudo-terminal the demo hides the cursor, redraws in place and leaves the final frame."""
        output, code = run_in_terminal(
            "import sys\nfrom progress_instrument.__main__ import main\nsys.exit(main(['demo', '--speed', '4']))"
        )
        assert code == 0
        assert output.index("\x1b[?25l") < output.rindex("\x1b[?25h")
        assert output.count("\x1b[J") >= 3
        final = output[output.rindex("\x1b[J") : output.rindex("\x1b[?25h")]
        assert "✓\x1b[0m Regional climate summary" in final and "Fetching station metadata" in final


class TestShow:
    def test_prints_the_final_tree(self, tmp_path: Path) -> None:
        """show prints every report of the file's tree, the failed one with its error."""
        path = tmp_path / "events.jsonl"
        assert run("demo", "--speed", "20", "--jsonl", str(path)).returncode == 0
        result = run("show", str(path))
        assert result.returncode == 0 and result.stderr == ""
        lines = result.stdout.splitlines()
        assert lines[0].startswith("✓ Regional climate summary  4/4  ")
        assert lines[2].startswith("  ✗ Fetching station metadata: ConnectionError: station service unreachable")

    def test_a_truncated_file_shows_what_was_read_and_says_what_was_not(self, tmp_path: Path) -> None:
        """A file cut mid-line shows the reports read so far and names the cut line."""
        full = tmp_path / "full.jsonl"
        assert run("demo", "--speed", "20", "--jsonl", str(full)).returncode == 0
        lines = full.read_bytes().splitlines(keepends=True)
        cut = tmp_path / "cut.jsonl"
        cut.write_bytes(b"".join(lines[:3]) + lines[3][:40])
        result = run("show", str(cut))
        assert result.returncode == 1
        assert result.stdout.splitlines()[0].startswith("Regional climate summary")
        assert "(no finish)" in result.stdout
        assert "line 4: cut off after 40 bytes (no newline): not read" in result.stderr

    def test_a_missing_file_is_an_error_not_a_traceback(self, tmp_path: Path) -> None:
        """show on a path that does not exist says so and exits 1."""
        result = run("show", str(tmp_path / "nope.jsonl"))
        assert result.returncode == 1
        assert "cannot read" in result.stderr and "Traceback" not in result.stderr


WRITER = textwrap.dedent(
    """
    import sys, time
    from progress_instrument import JsonLinesSink, ProgressReport, configure
    configure(sinks=[JsonLinesSink(sys.argv[1])])
    with ProgressReport("Writer job", steps=3) as job:
        for name in ("first", "second", "third"):
            with job.create_subreport(name):
                time.sleep(0.3)
    """
)


class TestWatch:
    def test_follows_a_file_another_process_is_writing_until_its_root_finishes(self, tmp_path: Path) -> None:
        """watch started before the writer follows its lines as they come, and exits when the root finishes."""
        path = tmp_path / "live.jsonl"
        watcher = subprocess.Popen(
            [*CLI, "watch", str(path), "--idle-timeout", "30"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            writer = subprocess.run([sys.executable, "-c", WRITER, str(path)], timeout=60, capture_output=True)
            assert writer.returncode == 0, writer.stderr
            out, err = watcher.communicate(timeout=30)
        finally:
            if watcher.poll() is None:
                watcher.kill()
        assert watcher.returncode == 0, err
        assert [re.sub(r"[0-9.]+s\)$", "T)", line) for line in out.splitlines()] == [
            "> Writer job [3]",
            *[line for name in ("first", "second", "third") for line in (f"  > {name}", f"  ok {name} (T)")],
            "ok Writer job (3/3, T)",
        ]

    def test_gives_up_on_a_writer_that_stopped(self, tmp_path: Path) -> None:
        """A root that never finishes makes watch exit 1 after the idle timeout, saying why."""
        path = tmp_path / "stalled.jsonl"
        now = time.time()
        start = {"event": "start", "report_id": "r", "parent_id": None, "seq": 1, "time": now}
        start |= {"step_message": "Stalled", "steps": 0, "status": "running", "started_at": now}
        path.write_text(json.dumps(start) + "\n" + '{"event": "progr')
        result = run("watch", str(path), "--idle-timeout", "0.3")
        assert result.returncode == 1
        assert result.stdout == "> Stalled\n"
        assert "no new events" in result.stderr and "1 report tree still running" in result.stderr
        assert "line 2: cut off after 16 bytes" in result.stderr
