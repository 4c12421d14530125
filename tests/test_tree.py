"""The core tree (SPEC §1): fractions, finishing, exit paths, cancellation, derived values, retention."""

from __future__ import annotations

import asyncio
import enum
import json
import os
import re
import subprocess
import sys
import traceback

import pytest

from progress_instrument import ProgressCancelled, ProgressReport, Status, current_report
from progress_instrument._tree import RETAINED_FAILED, RETAINED_FINISHED


def root(message: str = "root", **kwargs: object) -> ProgressReport:
    return ProgressReport(message, sinks=[], **kwargs)  # type: ignore[arg-type]


class BadInput(Exception):
    """A user's own exception type, defined outside builtins."""


class TestFraction:
    def test_indeterminate_report_is_zero_while_running(self) -> None:
        """A running report with steps=0 has fraction 0.0, however much it advanced."""
        report = root()
        report.advance(5)
        assert report.fraction == 0.0
        assert report.completed == 5.0

    def test_advance_counts_units_against_steps(self) -> None:
        """advance(n) adds n of `steps` units."""
        report = root(steps=4)
        report.advance()
        assert report.fraction == 0.25
        report.advance(2)
        assert report.fraction == 0.75

    def test_running_child_counts_weight_times_its_fraction(self) -> None:
        """A running child adds weight × its fraction; a finished one its whole weight."""
        report = root(steps=2)
        child = report.create_subreport("half", steps=4)
        child.advance(2)
        assert report.fraction == 0.25
        child.complete()
        assert report.fraction == 0.5
        assert report.completed == 0.0  # children never add to `completed`

    def test_weights_scale_children(self) -> None:
        """A child worth 0.5 units adds at most half a unit."""
        report = root(steps=1)
        first = report.create_subreport("a", weight=0.5)
        first.complete()
        assert report.fraction == 0.5
        second = report.create_subreport("b", steps=2, weight=0.5)
        second.advance()
        assert report.fraction == 0.75

    def test_nested_running_children_compose(self) -> None:
        """Fractions compose through running levels: (1/2 of 1/4) of the root's 2 steps."""
        report = root(steps=2)
        middle = report.create_subreport("middle", steps=4)
        leaf = middle.create_subreport("leaf", steps=2)
        leaf.advance()
        assert report.fraction == pytest.approx(0.5 / 4 / 2)

    def test_fraction_is_capped_at_one(self) -> None:
        """Advancing past steps keeps the fraction at 1.0."""
        report = root(steps=2)
        report.advance(5)
        assert report.fraction == 1.0

    def test_finished_reports_are_whole_whatever_the_status(self) -> None:
        """Success and error both finish at fraction 1.0."""
        ok, failed = root(steps=10), root(steps=10)
        ok.complete()
        failed.complete(Status.ERROR, error="broken")
        assert ok.fraction == failed.fraction == 1.0

    def test_growing_steps_may_lower_the_fraction(self) -> None:
        """update(steps=...) re-bases the fraction (the count is often known only later)."""
        report = root(steps=2)
        report.advance()
        report.update(steps=4, step_message="loading 4 files", unit="files")
        assert report.fraction == 0.25
        assert (report.step_message, report.unit) == ("loading 4 files", "files")

    def test_same_program_gives_same_fractions_whatever_the_clock(self, clock: object) -> None:
        """No fraction is derived from clocks: two runs at different times agree exactly."""

        def run() -> list[float]:
            report = root(steps=3)
            seen = []
            for index in range(3):
                child = report.create_subreport(str(index), steps=2, weight=1)
                child.advance()
                seen.append(report.fraction)
                clock.advance(7.5 * (index + 1))  # type: ignore[attr-defined]
                child.complete()
                seen.append(report.fraction)
            return seen

        assert run() == run() == [1 / 6, 1 / 3, 1 / 2, 2 / 3, 5 / 6, 1.0]


class TestComplete:
    def test_first_outcome_stands(self) -> None:
        """Finishing an already finished report is a no-op."""
        report = root()
        report.complete(Status.ERROR, error="first")
        report.complete()
        assert (report.status, report.error) == (Status.ERROR, "first")

    def test_success_finishes_running_descendants_as_unfinished_errors(self) -> None:
        """Children still running when a parent succeeds end in error, saying why."""
        report = root()
        child = report.create_subreport("child")
        grandchild = child.create_subreport("grandchild")
        done = report.create_subreport("done")
        done.complete()
        report.complete()
        for node in (child, grandchild):
            assert node.status is Status.ERROR
            assert node.error is not None and "unfinished when parent finished" in node.error
        assert done.status is Status.SUCCESS

    def test_failure_passes_its_error_to_running_descendants(self) -> None:
        """Children still running when a parent fails take its status and error."""
        report = root()
        child = report.create_subreport("child")
        report.complete(Status.ERROR, error=BadInput("no such variable"))
        assert child.status is Status.ERROR
        assert child.error == report.error == "BadInput: no such variable"
        assert child.error_type == report.error_type == f"{__name__}.BadInput"

    def test_exception_error_reads_type_colon_message(self) -> None:
        """An exception becomes "Type: message" and a builtin's type stays bare."""
        report = root()
        report.complete("error", error=KeyError("tas"))
        assert report.error == "KeyError: 'tas'"
        assert report.error_type == "KeyError"

    def test_failure_without_a_message_is_never_empty(self) -> None:
        """complete(error) with no error still says something, and so does a bare exception."""
        report = root()
        report.complete(Status.ERROR)
        assert report.error
        other = root()
        other.complete(Status.ERROR, error=RuntimeError())
        assert other.error == "RuntimeError"

    @pytest.mark.parametrize("status", ["running", "done", Status.RUNNING])
    def test_complete_rejects_non_final_status(self, status: str) -> None:
        """Only success and error finish a report."""
        with pytest.raises(ValueError, match="status"):
            root().complete(status)

    def test_finished_times_are_recorded(self, clock: object) -> None:
        """started_at and finished_at are epoch seconds from the wall clock."""
        report = root()
        clock.advance(2.0)  # type: ignore[attr-defined]
        report.complete()
        assert report.finished_at is not None and report.started_at is not None
        assert report.finished_at - report.started_at == 2.0

    def test_times_follow_the_system_clock_when_it_is_stepped(self, clock: object) -> None:
        """A step of the wall clock (NTP, or a laptop waking up) shows in the epoch times of reports
        made after it, while durations keep coming from the monotonic clock."""
        from progress_instrument._clock import clocks

        report = root()
        clock.advance(1.0)  # type: ignore[attr-defined]
        clocks.wall = lambda: clock.now + 3600.0  # type: ignore[attr-defined]
        child = report.create_subreport("after the step")
        assert child.started_at == clock.now + 3600.0  # type: ignore[attr-defined]
        child.advance(4)
        clock.advance(2.0)  # type: ignore[attr-defined]
        child.complete()
        assert child.finished_at == clock.now + 3600.0  # type: ignore[attr-defined]
        assert child.rate == 2.0  # 4 units in 2 s of the monotonic clock

    def test_advance_after_finish_is_ignored(self) -> None:
        """A finished report's numbers no longer move."""
        report = root(steps=4)
        report.advance()
        report.complete()
        report.advance()
        assert report.completed == 1.0

    def test_children_of_finished_reports_are_detached(self) -> None:
        """A child created under a finished report works but is not part of the tree."""
        report = root(steps=1)
        report.complete()
        late = report.create_subreport("late", steps=2)
        late.advance()
        late.complete()
        assert late.parent is None
        assert late.status is Status.SUCCESS
        assert report.children == []


class TestExitPaths:
    def test_block_makes_the_report_current_and_succeeds(self) -> None:
        """`with report:` makes it current inside and finishes it success on normal exit."""
        with root() as report:
            assert current_report() is report
        assert current_report() is None
        assert report.status is Status.SUCCESS

    def test_escaping_exception_fails_the_report_and_propagates_unchanged(self) -> None:
        """The same exception object propagates with the user's frames in its traceback."""

        def users_code() -> None:
            raise BadInput("bad grid")

        with pytest.raises(BadInput) as caught:
            with root() as report:
                users_code()
        assert report.status is Status.ERROR
        assert report.error == "BadInput: bad grid"
        assert not report.cancelled
        frames = [frame.name for frame in traceback.extract_tb(caught.value.__traceback__)]
        assert "users_code" in frames

    @pytest.mark.parametrize(
        ("exception", "status", "cancelled"),
        [
            (SystemExit(0), Status.SUCCESS, False),
            (SystemExit(None), Status.SUCCESS, False),
            (SystemExit(3), Status.ERROR, False),
            (GeneratorExit(), Status.SUCCESS, False),
            (KeyboardInterrupt(), Status.ERROR, False),
            (ProgressCancelled("stop"), Status.ERROR, True),
            (asyncio.CancelledError(), Status.ERROR, True),
        ],
        ids=["exit0", "exitNone", "exit3", "generator-exit", "ctrl-c", "cancelled", "asyncio-cancelled"],
    )
    def test_exit_paths(self, exception: BaseException, status: Status, cancelled: bool) -> None:
        """Each exit path of SPEC §1 finishes the report as specified and re-raises."""
        with pytest.raises(type(exception)):
            with root() as report:
                raise exception
        assert report.status is status
        assert report.cancelled is cancelled
        if status is Status.ERROR:
            assert report.error and report.error.startswith(type(exception).__name__)

    def test_nested_blocks_restore_the_outer_report(self) -> None:
        """Leaving an inner block makes the outer report current again."""
        with root("outer") as outer:
            with outer.create_subreport("inner") as inner:
                assert current_report() is inner
            assert current_report() is outer


class TestCancellation:
    def test_cancel_marks_running_descendants_and_finishes_nothing(self) -> None:
        """cancel() sets `cancelled` down the running subtree and leaves them running."""
        report = root()
        child = report.create_subreport("child")
        done = report.create_subreport("done")
        done.complete()
        assert report.cancel() is True
        assert report.cancelled and child.cancelled and not done.cancelled
        assert report.status is child.status is Status.RUNNING

    def test_cancel_on_finished_report_returns_false(self) -> None:
        """A finished report cannot be cancelled."""
        report = root()
        report.complete()
        assert report.cancel() is False
        assert not report.cancelled

    def test_check_raises_under_a_cancelled_report(self) -> None:
        """check() raises ProgressCancelled, an ordinary Exception, once cancelled."""
        report = root()
        child = report.create_subreport("child")
        child.check()
        report.cancel()
        with pytest.raises(ProgressCancelled):
            child.check()
        assert issubclass(ProgressCancelled, Exception)

    def test_children_created_after_cancel_are_cancelled(self) -> None:
        """New work under a cancelled report stops at its first check."""
        report = root()
        report.cancel()
        with pytest.raises(ProgressCancelled):
            report.create_subreport("late").check()

    def test_work_that_ends_normally_after_cancel_succeeds_cancelled(self) -> None:
        """A cancel the work did not act on leaves success with cancelled=True."""
        with root() as report:
            report.cancel()
        assert report.status is Status.SUCCESS
        assert report.cancelled

    def test_cancel_hooks_run_for_cancelled_loop_nodes(self) -> None:
        """The hook track uses to stop at the next item runs on cancel, even when added late."""
        report = root()
        loop = report.create_subreport("loop")
        calls: list[str] = []
        loop._add_cancel_hook(lambda: calls.append("early"))
        report.cancel()
        loop._add_cancel_hook(lambda: calls.append("late"))
        assert calls == ["early", "late"]


class TestRateAndEta:
    def test_rate_and_eta_follow_the_fraction(self, clock: object) -> None:
        """Half done after 10 s: 0.5 units/s over 10 steps, 10 s left."""
        report = root(steps=10)
        clock.advance(10.0)  # type: ignore[attr-defined]
        report.advance(5)
        assert report.rate == 0.5
        assert report.eta_seconds == 10.0

    def test_eta_is_unknown_until_progress_and_zero_when_finished(self, clock: object) -> None:
        """No estimate at fraction 0; 0 once finished."""
        report = root(steps=10)
        clock.advance(3.0)  # type: ignore[attr-defined]
        assert report.eta_seconds is None
        report.complete()
        assert report.eta_seconds == 0.0

    def test_indeterminate_rate_counts_completed_units(self, clock: object) -> None:
        """With steps=0 the rate is completed / elapsed."""
        report = root()
        report.advance(30)
        clock.advance(10.0)  # type: ignore[attr-defined]
        assert report.rate == 3.0


class TestIds:
    def test_a_str_enum_root_id_is_kept_as_its_plain_text(self) -> None:
        """A root id given as a str subclass (a str Enum member) reads, serializes and is delivered as text."""

        class JobId(str, enum.Enum):
            NIGHTLY = "nightly-2026-12-04"

        received: list[dict[str, object]] = []
        with ProgressReport("job", report_id=JobId.NIGHTLY, sinks=[received.append]) as job:
            job.create_subreport("part").complete(Status.ERROR, error="x")
        assert type(job.report_id) is str and job.report_id == "nightly-2026-12-04"
        assert json.loads(job.to_json())["report_id"] == "nightly-2026-12-04"
        assert [event["event"] for event in received if event["report_id"] == job.report_id] == [
            "start",
            "snapshot",
            "finish",
        ]

    def test_ids_are_unique_and_short(self) -> None:
        """Ids never repeat in a process and stay compact."""
        report = root()
        ids = [report.create_subreport(str(index)).report_id for index in range(5000)] + [report.report_id]
        assert len(set(ids)) == len(ids)
        assert all(re.fullmatch(r"[0-9a-f]{16}-[0-9a-f]+", report_id) for report_id in ids)

    def test_processes_get_different_ids(self) -> None:
        """Two interpreters making their first report get different ids."""
        code = "from progress_instrument import ProgressReport; print(ProgressReport(sinks=[]).report_id)"
        first, second = (
            subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
            for _ in range(2)
        )
        assert first.strip() != second.strip()

    @pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork is POSIX-only")
    def test_forked_child_does_not_repeat_parent_ids(self) -> None:
        """After fork the child's new reports get a new prefix; reports made before keep their ids."""
        job = root()
        before = job.create_subreport("before fork")  # its id text is made only when read
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child process
            made_in_child = [job.create_subreport("in child").report_id, ProgressReport(sinks=[]).report_id]
            os.write(write_end, " ".join([before.report_id, *made_in_child]).encode())
            os._exit(0)
        os.close(write_end)
        os.waitpid(pid, 0)
        before_in_child, *made_in_child = os.read(read_end, 1000).decode().split()
        os.close(read_end)
        made_in_parent = [job.create_subreport("in parent").report_id, ProgressReport(sinks=[]).report_id]
        assert before_in_child == before.report_id
        assert not set(made_in_child) & set(made_in_parent)
        assert {made.split("-")[0] for made in made_in_child}.isdisjoint(made.split("-")[0] for made in made_in_parent)


class TestRetention:
    def test_long_loops_keep_the_most_recent_finished_children(self) -> None:
        """10,000 finished children: the last 100 stay, the rest are counted, fractions unaffected."""
        report = root(steps=20_000)
        made = [report.create_subreport(str(index)) for index in range(10_000)]
        for child in made:
            child.complete()
        kept = report.children
        assert [child.step_message for child in kept] == [str(index) for index in range(9_900, 10_000)]
        assert report.omitted_children == 10_000 - RETAINED_FINISHED
        assert report.fraction == 0.5

    def test_failures_are_kept_apart_from_successes(self) -> None:
        """Recent failures survive a flood of later successes."""
        report = root()
        for index in range(150):
            report.create_subreport(f"bad {index}").complete(Status.ERROR, error="x")
        for index in range(500):
            report.create_subreport(f"ok {index}").complete()
        kept = report.children
        failed = [child for child in kept if child.status is Status.ERROR]
        assert len(failed) == RETAINED_FAILED
        assert failed[0].step_message == "bad 50"
        assert len(kept) == RETAINED_FAILED + RETAINED_FINISHED
        assert report.omitted_children == 650 - len(kept)

    def test_running_children_are_never_dropped(self) -> None:
        """Only finished children are evicted."""
        report = root()
        running = [report.create_subreport(f"r{index}") for index in range(300)]
        for index in range(300):
            report.create_subreport(str(index)).complete()
        kept = report.children
        assert all(child in kept for child in running)


class TestValidation:
    @pytest.mark.parametrize(
        ("call", "error", "words"),
        [
            (lambda: ProgressReport(3, sinks=[]), TypeError, "step_message"),  # type: ignore[arg-type]
            (lambda: ProgressReport("x", steps=-1, sinks=[]), ValueError, "steps"),
            (lambda: ProgressReport("x", steps=1.5, sinks=[]), TypeError, "steps"),  # type: ignore[arg-type]
            (lambda: ProgressReport("x", report_id="", sinks=[]), ValueError, "report_id"),
            (lambda: ProgressReport("x", sinks=[object()]), TypeError, "sink"),
            (lambda: ProgressReport("x", attributes={"k": [1]}, sinks=[]), TypeError, "attribute"),  # type: ignore[dict-item]
            (lambda: root().advance(-1), ValueError, "advance"),
            (lambda: root().advance(float("nan")), ValueError, "advance"),
            (lambda: root().create_subreport("c", weight=-0.5), ValueError, "weight"),
            (lambda: root().set_attribute("k", None), TypeError, "attribute"),  # type: ignore[arg-type]
            (lambda: root().update(steps=-2), ValueError, "steps"),
        ],
    )
    def test_bad_arguments_name_the_problem(self, call: object, error: type[Exception], words: str) -> None:
        """Bad input raises at once with a message naming what is wrong."""
        with pytest.raises(error, match=words):
            call()  # type: ignore[operator]

    def test_attributes_are_kept_and_copied(self) -> None:
        """Attributes read back as a copy that callers cannot use to bypass validation."""
        report = root(attributes={"dataset": "era5"})
        report.set_attribute("year", 2020)
        report.attributes["evil"] = object()  # type: ignore[assignment]
        assert report.attributes == {"dataset": "era5", "year": 2020}


class TestLoopPosition:
    """The hooks `track` uses: a lazily read position, and children counted per item."""

    def loop(self, total: int) -> tuple[ProgressReport, list[int]]:
        report = root(steps=1).create_subreport("loop", steps=total)
        position = [0]
        report._set_position_source(lambda: position[0])
        return report, position

    def test_inner_step_half_done_counts_half_an_item(self) -> None:
        """At item i of N with an inner step half done, the fraction is exactly (i + 0.5) / N."""
        loop, position = self.loop(8)
        position[0] = 3
        inner = loop.create_subreport("inner", steps=2)
        inner.advance()
        assert loop.fraction == (3 + 0.5) / 8
        assert loop.completed == 3.0

    def test_children_of_earlier_items_are_not_counted_twice(self) -> None:
        """A finished item's children are counted by the position alone."""
        loop, position = self.loop(4)
        loop.create_subreport("item 0 step").complete()
        assert loop.fraction == 1 / 4
        position[0] = 1
        assert loop.fraction == 1 / 4
        late = loop.create_subreport("item 1 step", weight=0.5)
        late.complete()
        assert loop.fraction == 1.5 / 4

    def test_advance_is_ignored_on_a_loop_node(self) -> None:
        """The loop counts its own items."""
        loop, position = self.loop(4)
        position[0] = 2
        loop.advance(1)
        assert loop.completed == 2.0

    def test_finishing_freezes_completed_at_the_position(self) -> None:
        """A loop left early reports the items it finished."""
        loop, position = self.loop(10)
        position[0] = 4
        loop.complete()
        position[0] = 9
        assert loop.completed == 4.0
        assert loop.fraction == 1.0
