"""LoggingSink: start and finish records with the event's fields, and a progress record every 30 s."""

from __future__ import annotations

import logging

import pytest

from progress_instrument import LoggingSink, ProgressCancelled, ProgressReport
from progress_instrument.testing import capture_events

LOGGER = "tests.progress"


@pytest.fixture(autouse=True)
def _all_levels(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger=LOGGER)


def messages(records: list[logging.LogRecord]) -> list[str]:
    return [record.getMessage() for record in records if record.name == LOGGER]


class TestStartAndFinish:
    def test_one_record_per_start_and_finish_with_the_path(self, caplog: pytest.LogCaptureFixture) -> None:
        """Each report logs when it starts and when it finishes; a snapshot logs nothing."""
        with capture_events() as captured:
            with ProgressReport("Job", steps=2, sinks=[LoggingSink(LOGGER)]) as job:
                with job.create_subreport("Load", steps=3, unit="files") as load:
                    captured.clock.advance(1)
                    load.advance(3)
                captured.clock.advance(1)
        assert messages(caplog.records) == [
            "started: Job (2 steps)",
            "started: Load (3 files)",
            "finished: Load (3/3 files, success)",
            "finished: Job (success)",
        ]
        assert [record.progress_path for record in caplog.records] == [  # type: ignore[attr-defined]
            ("Job",),
            ("Job", "Load"),
            ("Job", "Load"),
            ("Job",),
        ]
        assert {record.levelno for record in caplog.records} == {logging.INFO}

    def test_records_carry_the_event_fields(self, caplog: pytest.LogCaptureFixture) -> None:
        """record.progress holds the event's fields (without a snapshot's tree)."""
        with capture_events():
            with ProgressReport("Job", steps=4, unit="items", sinks=[LoggingSink(LOGGER)]) as job:
                job.set_attribute("dataset", "era5")
                job.advance(4)
        start, finish = (record.progress for record in caplog.records)  # type: ignore[attr-defined]
        assert start["event"] == "start" and start["report_id"] == job.report_id and start["parent_id"] is None
        assert start["status"] == "running" and start["steps"] == 4 and start["unit"] == "items"
        assert finish["event"] == "finish" and finish["status"] == "success" and finish["fraction"] == 1.0
        assert finish["completed"] == 4 and finish["attributes"] == {"dataset": "era5"}
        assert "snapshot" not in finish and finish["seq"] > start["seq"]

    def test_a_failure_logs_at_error_with_the_error(self, caplog: pytest.LogCaptureFixture) -> None:
        """A failed finish is an ERROR record naming the exception."""
        with capture_events(), pytest.raises(ValueError):
            with ProgressReport("Job", sinks=[LoggingSink(LOGGER)]):
                raise ValueError("bad input")
        assert messages(caplog.records)[-1] == "finished: Job (error, ValueError: bad input)"
        assert caplog.records[-1].levelno == logging.ERROR
        assert caplog.records[-1].progress["error_type"] == "ValueError"  # type: ignore[attr-defined]

    def test_a_cancelled_report_logs_at_warning(self, caplog: pytest.LogCaptureFixture) -> None:
        """A cancelled report's finish is a WARNING record, not an ERROR."""
        with capture_events(), pytest.raises(ProgressCancelled):
            with ProgressReport("Job", sinks=[LoggingSink(LOGGER)]) as job:
                job.cancel()
                job.check()
        assert messages(caplog.records)[-1].startswith("finished: Job (cancelled")
        assert caplog.records[-1].levelno == logging.WARNING

    def test_levels_are_configurable(self, caplog: pytest.LogCaptureFixture) -> None:
        """level and error_level pick the record levels; a cancel never logs above error_level."""
        sink = LoggingSink(LOGGER, level=logging.DEBUG, error_level=logging.INFO)
        with capture_events(), pytest.raises(ProgressCancelled):
            with ProgressReport("Job", sinks=[sink]) as job:
                job.cancel()
                job.check()
        assert [record.levelno for record in caplog.records] == [logging.DEBUG, logging.INFO]

    def test_the_default_logger_is_the_package_logger(self, caplog: pytest.LogCaptureFixture) -> None:
        """Without a logger, records go to the progress_instrument logger at INFO."""
        caplog.set_level(logging.INFO, logger="progress_instrument")
        with capture_events():
            ProgressReport("Job", sinks=[LoggingSink()]).complete()
        assert [(r.name, r.levelno) for r in caplog.records] == [("progress_instrument", logging.INFO)] * 2

    def test_a_disabled_level_builds_no_record(self, caplog: pytest.LogCaptureFixture) -> None:
        """Below the logger's level nothing is logged."""
        caplog.set_level(logging.WARNING, logger=LOGGER)
        with capture_events():
            ProgressReport("Job", sinks=[LoggingSink(LOGGER)]).complete()
        assert caplog.records == []

    def test_bad_arguments_are_refused(self) -> None:
        """A logger that is not a Logger or name, or a non-positive interval, raises at construction."""
        with pytest.raises(TypeError, match=r"logging\.Logger"):
            LoggingSink(42)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="progress_interval"):
            LoggingSink(progress_interval=0)
        with pytest.raises(TypeError, match="progress_interval"):
            LoggingSink(progress_interval="30")  # type: ignore[arg-type]


class TestPeriodicProgress:
    def test_a_running_root_logs_progress_every_30_seconds(self, caplog: pytest.LogCaptureFixture) -> None:
        """The flushing pass writes one progress record per 30 s of a running root, naming what runs now."""
        with capture_events() as captured:
            with ProgressReport("Job", steps=4, sinks=[LoggingSink(LOGGER)]) as job:
                child = job.create_subreport("Region", steps=10)
                child.advance(4)
                captured.clock.advance(29.9)
                assert [m for m in messages(caplog.records) if m.startswith("progress")] == []
                captured.clock.advance(0.1)
                child.advance(4)
                captured.clock.advance(29.9)
                captured.clock.advance(0.1)
                child.complete()
                captured.clock.advance(10)
        progress = [record for record in caplog.records if record.getMessage().startswith("progress")]
        assert [record.getMessage() for record in progress] == [
            "progress: Job 10%; now: Region",
            "progress: Job 20%; now: Region",
        ]
        assert [record.progress["event"] for record in progress] == ["progress"] * 2  # type: ignore[attr-defined]
        assert progress[1].progress["fraction"] == pytest.approx(0.8 / 4)  # type: ignore[attr-defined]
        assert progress[0].progress_path == ("Job",)  # type: ignore[attr-defined]

    def test_no_progress_record_after_the_root_finished(self, caplog: pytest.LogCaptureFixture) -> None:
        """Once a root finished, time passing logs nothing more about it."""
        sink = LoggingSink(LOGGER, progress_interval=5)
        with capture_events() as captured:
            ProgressReport("Job", sinks=[sink]).complete()
            captured.clock.advance(60)
            sink.flush()
        assert messages(caplog.records) == ["started: Job", "finished: Job (success)"]

    def test_each_running_root_gets_its_own_progress_record(self, caplog: pytest.LogCaptureFixture) -> None:
        """A sink shared by two running roots logs progress for each."""
        sink = LoggingSink(LOGGER, progress_interval=10)
        with capture_events() as captured:
            first = ProgressReport("First", sinks=[sink])
            second = ProgressReport("Second", sinks=[sink])
            captured.clock.advance(10)
            first.complete()
            second.complete()
        assert sorted(m for m in messages(caplog.records) if m.startswith("progress")) == [
            "progress: First running",
            "progress: Second running",
        ]
