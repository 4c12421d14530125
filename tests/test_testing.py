"""progress_instrument.testing: capturing events and trees with a fake clock (SPEC §7)."""

from __future__ import annotations

import doctest
import time

import pytest

import progress_instrument.testing
from progress_instrument import ProgressReport, Status, configure
from progress_instrument._clock import clocks
from progress_instrument._config import settings
from progress_instrument._flusher import core
from progress_instrument.testing import FakeClock, capture_events


class TestCaptureEvents:
    def test_captures_the_events_of_roots_created_inside(self) -> None:
        """Roots with the default sinks send their events to the capture, in delivery order."""
        with capture_events() as captured, ProgressReport("job") as job:
            job.create_subreport("child").complete(Status.ERROR, error="boom")
        assert captured.kinds() == [
            ("start", "job"),
            ("start", "child"),
            ("finish", "child"),
            ("snapshot", "job"),
            ("finish", "job"),
        ]

    def test_roots_are_rebuilt_from_the_events(self) -> None:
        """captured.roots are TreeBuilder trees equal to the producer's once finished."""
        with capture_events() as captured, ProgressReport("job", steps=3) as job:
            for index in range(3):
                with job.create_subreport(f"step {index}"):
                    captured.clock.advance(0.2)
        [root] = captured.roots
        assert root is not job and root.to_dict() == job.to_dict()

    def test_of_selects_the_events_of_one_report(self) -> None:
        """captured.of(report) and captured.of(report_id) give that report's events."""
        with capture_events() as captured, ProgressReport("job") as job:
            pass
        assert captured.of(job) == captured.of(job.report_id) == captured.events

    def test_nothing_is_delivered_until_the_clock_moves(self) -> None:
        """Without a flush, a running root's events stay pending: no background thread delivers them."""
        with capture_events() as captured:
            job = ProgressReport("job")
            job.advance()
            assert captured.events == []
            captured.clock.advance(0)
            assert [event["event"] for event in captured.events] == ["start", "progress"]
            job.complete()

    def test_the_fake_clock_drives_time_and_coalescing(self) -> None:
        """Reports read the fake clock, and progress events come at most once per min_interval of it."""
        clock = FakeClock(start=5_000.0)
        with capture_events(clock=clock, min_interval=1.0) as captured, ProgressReport("job") as job:
            assert job.started_at == 5_000.0
            for _ in range(4):
                job.advance()
                clock.advance(0.5)
        progress = [event["time"] for event in captured.events if event["event"] == "progress"]
        assert progress == [5_000.5, 5_001.5]
        assert job.finished_at == 5_002.0

    def test_the_environment_is_ignored_inside(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """PROGRESS_INSTRUMENT_* does not reach into a capture: the user's tests stay deterministic."""
        monkeypatch.setenv("PROGRESS_INSTRUMENT_DISABLE", "1")
        with capture_events() as captured, ProgressReport("job"):
            pass
        assert len(captured.events) == 3

    def test_roots_with_explicit_sinks_keep_them(self) -> None:
        """A root given its own sinks inside a capture sends to those, not to the capture."""
        own: list[dict[str, object]] = []
        with capture_events() as captured, ProgressReport("job", sinks=[own.append]):
            pass
        assert captured.events == [] and len(own) == 3

    def test_everything_is_restored_on_exit(self) -> None:
        """Clocks, configuration and the flushing mode are as before the block, even after an error."""
        configure(min_interval=0.7)
        before = settings()
        with pytest.raises(RuntimeError), capture_events():
            assert clocks.wall() == 1_000_000.0
            raise RuntimeError
        assert settings() is before and settings().min_interval == 0.7
        assert abs(clocks.wall() - time.time()) < 60
        assert core.manual is False

    def test_pending_events_are_flushed_when_the_block_ends(self) -> None:
        """A root still running when the block ends has its pending events delivered."""
        with capture_events() as captured:
            job = ProgressReport("still running")
        assert [event["event"] for event in captured.events] == ["start"]
        job.complete()


class TestFakeClock:
    def test_wall_and_monotonic_move_together(self) -> None:
        """advance() moves both clocks by the same amount."""
        clock = FakeClock()
        wall, monotonic = clock.wall(), clock.monotonic()
        clock.advance(2.5)
        assert (clock.wall() - wall, clock.monotonic() - monotonic) == (2.5, 2.5)

    @pytest.mark.parametrize("seconds", [-1, float("nan"), float("inf")])
    def test_time_never_goes_backwards(self, seconds: float) -> None:
        """advance() refuses negative, NaN and infinite amounts."""
        with pytest.raises(ValueError, match="advance"):
            FakeClock().advance(seconds)


def test_the_module_example_holds() -> None:
    """The example in the module docstring gives the output written under it."""
    result = doctest.testmod(progress_instrument.testing, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
