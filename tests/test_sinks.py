"""Built-in sinks (SPEC §7): CallbackSink, plain callables and JsonLinesSink."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from progress_instrument import CallbackSink, JsonLinesSink, ProgressReport, TreeBuilder
from progress_instrument.testing import capture_events


def read_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


class TestCallbackSink:
    def test_passes_every_event_to_the_function(self) -> None:
        """CallbackSink(fn) calls fn with each event dict."""
        seen: list[dict[str, Any]] = []
        with ProgressReport("job", sinks=[CallbackSink(seen.append)]):
            pass
        assert [event["event"] for event in seen] == ["start", "snapshot", "finish"]

    def test_a_plain_callable_is_a_sink(self) -> None:
        """A function given as a sink receives the same events."""
        seen: list[dict[str, Any]] = []
        with ProgressReport("job", sinks=[seen.append]):
            pass
        assert [event["event"] for event in seen] == ["start", "snapshot", "finish"]

    def test_needs_a_callable(self) -> None:
        """CallbackSink refuses what it cannot call, at construction."""
        with pytest.raises(TypeError, match="callable"):
            CallbackSink(42)  # type: ignore[arg-type]

    def test_repr_names_the_callback(self) -> None:
        """The repr shows the wrapped function, so failure logs say which sink failed."""
        assert "print" in repr(CallbackSink(print))


class TestJsonLinesSink:
    def test_writes_one_json_object_per_line_to_a_path(self, tmp_path: Path) -> None:
        """Each event is one line of JSON, and the lines rebuild the producer's tree."""
        path = tmp_path / "events.jsonl"
        with ProgressReport("job", steps=2, sinks=[JsonLinesSink(path)]) as job:
            with job.create_subreport("é unicode") as child:
                child.set_attribute("key", "välue")
            job.advance()
        events = read_lines(path)
        assert [event["event"] for event in events][-2:] == ["snapshot", "finish"]
        builder = TreeBuilder()
        for event in events:
            builder.apply(event)
        assert builder.roots[0].to_dict() == job.to_dict()

    def test_appends_to_an_existing_file(self, tmp_path: Path) -> None:
        """A path is opened for appending: two runs give both runs' lines."""
        path = tmp_path / "events.jsonl"
        for _ in range(2):
            sink = JsonLinesSink(path)
            ProgressReport("job", sinks=[sink]).complete()
            sink.close()
        assert len(read_lines(path)) == 6

    def test_lines_are_whole_and_written_at_each_flush(self, tmp_path: Path) -> None:
        """Mid-run, after a flush, the file holds whole lines of what was delivered so far."""
        path = tmp_path / "events.jsonl"
        with capture_events() as captured, ProgressReport("job", sinks=[JsonLinesSink(path)]) as job:
            job.create_subreport("running")
            assert path.read_text() == ""  # nothing delivered yet: the flush has not run
            captured.clock.advance(0.1)
            text = path.read_text()
            assert text.endswith("\n")
            assert [event["step_message"] for event in read_lines(path)] == ["job", "running"]
        assert read_lines(path)[-1]["event"] == "finish"

    def test_writes_to_a_text_file_object(self) -> None:
        """An open text file receives the lines and is flushed, not closed."""
        out = io.StringIO()
        sink = JsonLinesSink(out)
        ProgressReport("job", sinks=[sink]).complete()
        sink.close()
        assert not out.closed
        assert [json.loads(line)["event"] for line in out.getvalue().splitlines()] == ["start", "snapshot", "finish"]

    def test_writes_utf8_to_a_binary_file_object(self) -> None:
        """An open binary file receives UTF-8 bytes."""
        out = io.BytesIO()
        ProgressReport("jöb", sinks=[JsonLinesSink(out)]).complete()
        lines = out.getvalue().decode("utf-8").splitlines()
        assert json.loads(lines[0])["step_message"] == "jöb"

    def test_a_large_burst_is_written_before_the_pass_ends(self, tmp_path: Path) -> None:
        """Past max_buffer characters, lines are written without waiting for the end of the pass."""
        path = tmp_path / "events.jsonl"
        sink = JsonLinesSink(path, max_buffer=1)
        sink.emit({"event": "start", "parent_id": None, "report_id": "a"})
        assert read_lines(path) == [{"event": "start", "parent_id": None, "report_id": "a"}]

    def test_close_writes_what_is_buffered_and_ignores_later_events(self, tmp_path: Path) -> None:
        """close() writes the buffer; events after it are dropped, and closing twice is fine."""
        path = tmp_path / "events.jsonl"
        sink = JsonLinesSink(path)
        sink.emit({"event": "progress", "parent_id": "p", "report_id": "a"})
        sink.close()
        sink.close()
        sink.emit({"event": "progress", "parent_id": "p", "report_id": "b"})
        assert [event["report_id"] for event in read_lines(path)] == ["a"]

    def test_needs_a_path_or_a_writable_file(self) -> None:
        """Anything else is refused with a TypeError naming its type."""
        with pytest.raises(TypeError, match="int"):
            JsonLinesSink(3)  # type: ignore[arg-type]

    def test_repr_names_the_file(self, tmp_path: Path) -> None:
        """The repr shows where the lines go."""
        sink = JsonLinesSink(tmp_path / "x.jsonl")
        assert "x.jsonl" in repr(sink)
        sink.close()


def test_a_configured_sink_still_open_at_exit_closes_quietly(tmp_path: Path) -> None:
    """A JsonLinesSink held by configure() until exit is closed before shutdown: no "Exception ignored"."""
    import subprocess
    import sys

    path = tmp_path / "events.jsonl"
    code = (
        "from progress_instrument import JsonLinesSink, ProgressReport, configure\n"
        f"configure(sinks=[JsonLinesSink({str(path)!r})])\n"
        "with ProgressReport('job'):\n"
        "    pass\n"
        "running = ProgressReport('left running')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert (result.returncode, result.stderr) == (0, "")
    events = read_lines(path)
    assert [(e["event"], e["step_message"]) for e in events if e["event"] == "finish"] == [
        ("finish", "job"),
        ("finish", "left running"),
    ]
    assert events[-1]["error"] == "process exited while running"
