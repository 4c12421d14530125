"""Reading event files for the command line: whole files (`show`) and files being written (`watch`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from progress_instrument import JsonLinesSink, ProgressReport
from progress_instrument._event_files import follow_events, read_events


def job_lines(tmp_path: Path) -> list[bytes]:
    """The JSON lines of a small finished job: a root with a child that failed."""
    path = tmp_path / "source.jsonl"
    sink = JsonLinesSink(path)
    with ProgressReport("Job", steps=2, sinks=[sink]) as job:
        child = job.create_subreport("Child")
        child.complete("error", error="bad")
    sink.close()
    return path.read_bytes().splitlines(keepends=True)


class TestReadEvents:
    def test_a_whole_file_rebuilds_the_tree(self, tmp_path: Path) -> None:
        """Every line is applied, and the root is rebuilt as the producer finished it."""
        path = tmp_path / "events.jsonl"
        path.write_bytes(b"".join(job_lines(tmp_path)))
        found = read_events(path)
        assert found.problems == []
        [root] = found.builder.roots
        assert root.status.value == "success" and [child.error for child in root.children] == ["bad"]

    def test_a_bad_line_in_the_middle_is_named_and_the_rest_still_read(self, tmp_path: Path) -> None:
        """A line that is not an event is reported with its number; the lines after it still count."""
        lines = job_lines(tmp_path)
        path = tmp_path / "events.jsonl"
        path.write_bytes(lines[0] + b"{not json\n" + b"".join(lines[1:]))
        found = read_events(path)
        assert len(found.problems) == 1 and found.problems[0].startswith("line 2: not an event")
        assert found.all_finished()

    def test_a_last_line_cut_off_is_reported_not_applied(self, tmp_path: Path) -> None:
        """A file ending mid-line says which line and how many bytes it could not read."""
        lines = job_lines(tmp_path)
        path = tmp_path / "events.jsonl"
        path.write_bytes(lines[0] + lines[1][:10])
        found = read_events(path)
        assert found.problems == [
            "line 2: cut off after 10 bytes (no newline): not read; the file ends in the middle of an event"
        ]
        assert found.lines_read == 1 and not found.all_finished()


class TestFollowEvents:
    def test_lines_arriving_in_pieces_are_read_once_whole(self, tmp_path: Path) -> None:
        """A writer adding half lines between reads: each event is passed on once, when its line is complete."""
        data = b"".join(job_lines(tmp_path))
        path = tmp_path / "events.jsonl"
        pieces = [data[index : index + 37] for index in range(0, len(data), 37)]
        seen: list[dict[str, Any]] = []

        def write_next_piece(_: float) -> None:  # stands for the time the writer takes
            with path.open("ab") as file:
                file.write(pieces.pop(0))

        found, finished = follow_events(path, seen.append, sleep=write_next_piece)
        assert finished and not pieces
        assert seen == [json.loads(line) for line in data.splitlines()]
        assert found.problems == []

    def test_an_idle_writer_is_given_up_on(self, tmp_path: Path) -> None:
        """With no new data for idle_timeout seconds, following stops and says the roots did not finish."""
        path = tmp_path / "events.jsonl"
        path.write_bytes(job_lines(tmp_path)[0] + b'{"event": ')
        now = [0.0]
        found, finished = follow_events(
            path,
            lambda event: None,
            idle_timeout=5.0,
            sleep=lambda seconds: now.__setitem__(0, now[0] + seconds),
            monotonic=lambda: now[0],
        )
        assert not finished and 5.0 <= now[0] < 5.2
        assert found.problems == ["line 2: cut off after 10 bytes (no newline)"]

    def test_a_file_not_written_yet_is_waited_for(self, tmp_path: Path) -> None:
        """Following a path that does not exist yet waits until it appears."""
        lines = job_lines(tmp_path)
        path = tmp_path / "later.jsonl"
        waits = [0]

        def create_later(_: float) -> None:
            waits[0] += 1
            if waits[0] == 3:
                path.write_bytes(b"".join(lines))

        found, finished = follow_events(path, lambda event: None, sleep=create_later)
        assert finished and waits[0] == 3 and found.lines_read == len(lines)
