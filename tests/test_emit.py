"""The emission core (SPEC §7): ordered, coalesced, never-blocking delivery of events to sinks."""

from __future__ import annotations

import gc
import itertools
import json
import logging
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from progress_instrument import JsonLinesSink, ProgressReport, Status, TreeBuilder, _emit, configure
from progress_instrument._config import MAX_SINK_FAILURES
from progress_instrument._flusher import EXIT_ERROR, core
from progress_instrument.testing import capture_events

Event = dict[str, Any]
OPERATIONS = ["child", "child", "advance", "success", "error", "cancel", "flush", "flush", "time"]


def check_order(events: list[Event]) -> None:
    """Assert SPEC §7's order rules on one process's stream of events (any number of roots)."""
    last_seq: dict[str, int] = {}
    root_of: dict[str, str] = {}
    parent_of: dict[str, str | None] = {}
    finished: set[str] = set()
    for index, event in enumerate(events):
        report_id, parent_id, kind = event["report_id"], event["parent_id"], event["event"]
        assert report_id not in finished, f"{kind} of {report_id} after its finish"
        if kind == "start":
            assert report_id not in parent_of, f"second start of {report_id}"
            assert parent_id is None or (parent_id in parent_of and parent_id not in finished)
            parent_of[report_id] = parent_id
            root_of[report_id] = root_of[parent_id] if parent_id is not None else report_id
        else:
            assert report_id in parent_of, f"{kind} of {report_id} before its start"
        root = root_of[report_id]
        assert event["seq"] > last_seq.get(root, 0), "seq must increase per root"
        last_seq[root] = event["seq"]
        if kind == "finish":
            running_below = [
                other for other, parent in parent_of.items() if parent == report_id and other not in finished
            ]
            assert not running_below, f"finish of {report_id} before its children {running_below}"
            if parent_id is None:
                assert events[index - 1]["event"] == "snapshot" and events[index - 1]["report_id"] == report_id
            finished.add(report_id)
        if kind == "progress":
            assert event["status"] == "running"


def rebuilt(events: list[Event]) -> list[ProgressReport]:
    builder = TreeBuilder()
    for event in events:
        builder.apply(event)
    return builder.roots


class TestDelivery:
    def test_a_root_sends_start_snapshot_finish(self) -> None:
        """A root alone gives start, snapshot and finish, with seq 1, 2, 3 and no parent."""
        with capture_events() as captured, ProgressReport("job", steps=1) as job:
            job.advance()
        assert [event["event"] for event in captured.events] == ["start", "snapshot", "finish"]
        assert [event["seq"] for event in captured.events] == [1, 2, 3]
        assert all(event["parent_id"] is None for event in captured.events)
        assert captured.events[1]["snapshot"] == job.to_dict()
        assert captured.events[2]["status"] == "success" and captured.events[2]["fraction"] == 1.0

    def test_every_event_is_delivered_when_complete_returns(self) -> None:
        """With the real flushing thread, a root's complete() returns only after its events reached the sink."""
        received: list[Event] = []
        job = ProgressReport("job", sinks=[received.append])
        for index in range(50):
            with job.create_subreport(f"part {index}") as part:
                part.advance()
        job.complete()
        assert [event["event"] for event in received[-2:]] == ["snapshot", "finish"]
        check_order(received)
        assert rebuilt(received)[0].to_dict() == job.to_dict()

    def test_children_nest_inside_their_parents(self) -> None:
        """A child's start follows its parent's, and a parent's finish follows its children's."""
        with capture_events() as captured:
            with ProgressReport("job") as job:
                outer = job.create_subreport("outer")
                inner = outer.create_subreport("inner")
                captured.clock.advance(0.1)
                inner.advance()
                captured.clock.advance(0.1)
        check_order(captured.events)
        assert captured.kinds() == [
            ("start", "job"),
            ("start", "outer"),
            ("start", "inner"),
            ("progress", "inner"),
            ("finish", "inner"),
            ("finish", "outer"),
            ("snapshot", "job"),
            ("finish", "job"),
        ]
        assert captured.of(inner)[-1]["error"] == "Unfinished: unfinished when parent finished"

    def test_a_parent_failing_first_finishes_its_children_first(self) -> None:
        """A parent that fails with running children sends their finishes (with its error) before its own."""
        with capture_events() as captured, pytest.raises(KeyError), ProgressReport("job") as job:
            job.create_subreport("a").create_subreport("b")
            raise KeyError("lost")
        check_order(captured.events)
        finishes = [(event["step_message"], event["error"]) for event in captured.events if event["event"] == "finish"]
        assert finishes == [("b", "KeyError: 'lost'"), ("a", "KeyError: 'lost'"), ("job", "KeyError: 'lost'")]

    def test_snapshot_before_finish_rebuilds_the_producer_tree(self) -> None:
        """After the root's finish, the rebuilt tree equals the producer's, omitted children included."""
        with capture_events() as captured, ProgressReport("job", steps=300) as job:
            for index in range(300):
                with job.create_subreport(f"step {index}", steps=2) as step:
                    step.advance(2)
                if index % 50 == 0:
                    captured.clock.advance(0.1)
        check_order(captured.events)
        assert captured.roots[0].to_dict() == job.to_dict()
        assert job.omitted_children == 200  # the retention bound, same on both sides

    def test_a_tree_over_the_snapshot_budget_rebuilds_to_the_same_reduced_snapshot(self) -> None:
        """When the snapshot had to be reduced to fit 256 KiB, the rebuilt tree still equals the producer's."""
        with capture_events() as captured, ProgressReport("job") as job:
            for group in range(20):
                with job.create_subreport(f"group {group}") as parent:
                    for index in range(60):
                        parent.create_subreport(f"{'x' * 400} {index}").complete()
        assert len(job.to_json()) <= 256 * 1024 and job.to_dict()["omitted_children"] > 0
        assert captured.roots[0].to_dict() == job.to_dict()

    def test_rebuilt_tree_before_finish_matches_what_was_delivered(self) -> None:
        """Mid-run, the delivered reports match the producer's in ids, messages and statuses."""
        with capture_events() as captured, ProgressReport("job") as job:
            first = job.create_subreport("first")
            captured.clock.advance(0.1)
            first.complete()
            captured.clock.advance(0.1)
            [root] = captured.roots
            assert (root.report_id, root.step_message, root.status) == (job.report_id, "job", Status.RUNNING)
            [child] = root.children
            assert (child.report_id, child.step_message, child.status) == (first.report_id, "first", Status.SUCCESS)

    def test_a_very_deep_tree_is_delivered_without_recursion(self) -> None:
        """A chain of 3,000 nested reports finishing at once gives every finish, deepest first."""
        with capture_events() as captured, ProgressReport("job") as job:
            node = job
            for depth in range(3000):
                node = node.create_subreport(f"level {depth}")
            captured.flush()
        finishes = [event["step_message"] for event in captured.events if event["event"] == "finish"]
        assert finishes[0] == "level 2999" and finishes[-1] == "job" and len(finishes) == 3001
        check_order(captured.events)

    def test_a_failure_inside_delivery_never_reaches_the_work(
        self, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
    ) -> None:
        """Were building an event to fail, complete() still returns normally and the failure is logged once."""
        from progress_instrument import _delivery

        def broken(*args: object) -> None:
            raise RuntimeError("bug")

        monkeypatch.setattr(_delivery, "event_dict", broken)
        with caplog.at_level(logging.ERROR, logger="progress_instrument"):
            for _ in range(2):
                with ProgressReport("job", sinks=[lambda event: None]):
                    pass
        assert [record.getMessage() for record in caplog.records] == ["delivering progress events failed"]


class TestShortLivedChildren:
    def test_quick_successes_are_counted_in_the_parent_instead(self) -> None:
        """Children started and finished success within one min_interval are left out and counted."""
        with capture_events() as captured, ProgressReport("job") as job:
            for index in range(3):
                job.create_subreport(f"quick {index}").complete()
            captured.clock.advance(0.1)
            [progress] = [event for event in captured.events if event["event"] == "progress"]
            assert progress["report_id"] == job.report_id and progress["omitted_children"] == 3
        assert captured.kinds() == [("start", "job"), ("progress", "job"), ("snapshot", "job"), ("finish", "job")]
        assert [child.step_message for child in captured.roots[0].children] == ["quick 0", "quick 1", "quick 2"]
        assert captured.events[-1]["omitted_children"] == 0  # the snapshot lists them

    def test_failures_are_always_delivered(self) -> None:
        """A short-lived child that fails is sent, start and finish, with its error."""
        with capture_events() as captured, ProgressReport("job") as job:
            job.create_subreport("bad").complete(Status.ERROR, error="boom")
        assert ("finish", "bad") in captured.kinds()
        assert captured.of(captured.events[1]["report_id"])[-1]["error"] == "boom"

    def test_failures_beyond_the_retention_bound_are_all_delivered(self) -> None:
        """300 failures under a parent that finishes before a flush all reach the sink, though it keeps 100."""
        with capture_events() as captured, ProgressReport("job") as job:
            batch = job.create_subreport("batch")
            for index in range(300):
                batch.create_subreport(f"item {index}").complete(Status.ERROR, error="failed")
            batch.complete()
        failed = [event for event in captured.events if event["event"] == "finish" and event["status"] == "error"]
        assert [event["step_message"] for event in failed] == [f"item {index}" for index in range(300)]
        check_order(captured.events)

    def test_failures_evicted_under_a_parent_finished_between_two_flushes_are_all_delivered(self) -> None:
        """150 failures under a child that starts, fails and finishes between two flushes: the
        flusher meets the child while looking over its parent, yet all 150 reach the sink."""
        with capture_events() as captured, ProgressReport("job") as job:
            captured.clock.advance(0.1)  # job announced, no record pending
            batch = job.create_subreport("batch")
            for index in range(150):
                batch.create_subreport(f"task {index}").complete(Status.ERROR, error=f"boom {index}")
            batch.complete(Status.ERROR, error="some tasks failed")
            captured.flush()
            failed = [event["step_message"] for event in captured.events if event["event"] == "finish"]
            assert failed == [f"task {index}" for index in range(150)] + ["batch"]
        check_order(captured.events)

    def test_a_quick_parent_of_a_failure_is_delivered(self) -> None:
        """A short-lived success whose child failed is delivered, so the failure has a parent."""
        with capture_events() as captured, ProgressReport("job") as job:
            with job.create_subreport("parent") as parent:
                parent.create_subreport("bad").complete(Status.ERROR, error="boom")
        check_order(captured.events)
        assert [kind for kind in captured.kinds() if kind[0] == "start"] == [
            ("start", "job"),
            ("start", "parent"),
            ("start", "bad"),
        ]

    def test_a_child_lasting_longer_than_min_interval_is_delivered(self) -> None:
        """A child that ran for min_interval or more is announced at its finish."""
        with capture_events() as captured, ProgressReport("job") as job:
            child = job.create_subreport("slow")
            captured.clock.now += 0.25  # time passes, no flush happens meanwhile
            child.complete()
        assert ("start", "slow") in captured.kinds() and ("finish", "slow") in captured.kinds()

    def test_a_long_child_evicted_before_any_flush_is_still_delivered(self) -> None:
        """A child that ran past min_interval is sent though 150 quick siblings pushed it out of the tree."""
        with capture_events() as captured, ProgressReport("job") as job:
            slow = job.create_subreport("slow")
            captured.clock.now += 0.25  # no flush meanwhile
            slow.complete()
            for index in range(150):
                job.create_subreport(f"quick {index}").complete()
            assert slow not in job.children
            captured.flush()
            assert ("start", "slow") in captured.kinds() and ("finish", "slow") in captured.kinds()
        check_order(captured.events)

    def test_a_child_finishing_while_the_flusher_announces_it_is_finished_in_the_same_flush(self) -> None:
        """A child finished (quickly, so with no record of its own) while its start is being sent: its
        finish follows in that flush, not only when the root finishes."""
        finished_during_start: list[ProgressReport] = []

        def finish_on_start(event: Event) -> None:
            for report in finished_during_start:
                if event["event"] == "start" and event["report_id"] == report.report_id:
                    report.complete()  # what another thread may do at this very moment

        with capture_events() as captured:
            job = ProgressReport("job", sinks=[captured, finish_on_start])
            child = job.create_subreport("racing")
            finished_during_start.append(child)
            captured.flush()
            assert child.finished
            assert captured.kinds()[-2:] == [("start", "racing"), ("finish", "racing")]
            job.complete()
        check_order(captured.events)

    def test_a_child_seen_running_is_always_finished_in_the_stream(self) -> None:
        """Once a flush announced a child, its finish is delivered however quick it was."""
        with capture_events() as captured, ProgressReport("job") as job:
            child = job.create_subreport("seen")
            captured.flush()
            child.complete()
        assert ("finish", "seen") in captured.kinds()


class TestCoalescing:
    def test_progress_is_sent_at_most_once_per_min_interval(self) -> None:
        """Many advances between flushes give one progress event with the latest state."""
        with capture_events() as captured, ProgressReport("job", steps=1000) as job:
            for tick in range(10):
                for _ in range(10):
                    job.advance()
                captured.clock.advance(0.05)
                assert len(captured.of(job)) == 1 + (tick + 2) // 2
        progress = [event for event in captured.events if event["event"] == "progress"]
        assert [event["completed"] for event in progress] == [10.0, 30.0, 50.0, 70.0, 90.0]
        assert captured.events[-1]["completed"] == 100.0  # the final state is in the finish

    def test_min_interval_is_configurable(self) -> None:
        """With min_interval=1.0, two flushes 0.5 s apart give one progress event."""
        with capture_events(min_interval=1.0) as captured, ProgressReport("job") as job:
            captured.clock.advance(1.0)
            job.advance()
            captured.clock.advance(1.0)
            job.advance()
            captured.clock.advance(0.5)
            assert len(captured.of(job)) == 2
            captured.clock.advance(0.5)
            assert len(captured.of(job)) == 3

    def test_no_progress_follows_a_finish(self) -> None:
        """A report that advanced and then finished before the flush sends only its finish."""
        with capture_events() as captured, ProgressReport("job") as job:
            child = job.create_subreport("child")
            captured.flush()
            child.advance()
            child.update(step_message="renamed")
            child.complete()
            child.update(step_message="after the end")
            captured.clock.advance(1.0)
        assert [event["event"] for event in captured.of(child)] == ["start", "finish"]
        check_order(captured.events)

    def test_cancel_sends_progress_for_the_cancelled_reports(self) -> None:
        """cancel() marks the subtree cancelled and the next flush says so."""
        with capture_events() as captured, ProgressReport("job") as job:
            child = job.create_subreport("child")
            captured.flush()
            job.cancel()
            captured.clock.advance(0.1)
            progress = [event for event in captured.events if event["event"] == "progress"]
            assert {event["report_id"] for event in progress} == {job.report_id, child.report_id}
            assert all(event["cancelled"] for event in progress)

    def test_ancestors_are_sent_when_a_descendant_moves_their_fraction(self) -> None:
        """A grandchild's advance reaches its ancestors' events, so a rebuilt root's fraction moves too."""
        with capture_events() as captured, ProgressReport("job", steps=2) as job:
            inner = job.create_subreport("outer", steps=1).create_subreport("inner", steps=4)
            captured.flush()
            inner.advance()
            captured.clock.advance(0.1)
            assert captured.roots[0].fraction == job.fraction == 0.125
            inner.advance()
            captured.clock.advance(0.1)
            assert captured.roots[0].fraction == 0.25
        check_order(captured.events)

    def test_ancestors_whose_fraction_did_not_move_are_not_sent(self) -> None:
        """An indeterminate child's advance sends no progress for a parent whose fraction stays the same."""
        with capture_events() as captured, ProgressReport("job") as job:
            child = job.create_subreport("child")
            captured.flush()
            child.advance()
            captured.clock.advance(0.1)
            assert [event["event"] for event in captured.of(job)] == ["start"]

    def test_a_child_finishing_moves_its_parents_fraction(self) -> None:
        """A parent's next event carries the weight of a child that finished."""
        with capture_events() as captured, ProgressReport("job", steps=2) as job:
            child = job.create_subreport("child")
            captured.flush()
            captured.clock.advance(0.2)
            child.complete()
            captured.clock.advance(0.1)
            assert captured.roots[0].fraction == 0.5


class TestSampling:
    def test_a_loop_that_never_calls_the_library_still_reports(self) -> None:
        """A position source registered on a report is sampled at every flush, giving progress events."""
        with capture_events() as captured, ProgressReport("loop", steps=10) as loop:
            position = [0]
            loop._set_position_source(lambda: position[0])
            for item in range(10):
                position[0] = item + 1
                if item % 3 == 2:
                    captured.clock.advance(0.1)
            loop._set_position_source(None)
            loop.advance(10)
        progress = [event["completed"] for event in captured.events if event["event"] == "progress"]
        assert progress[:3] == [3.0, 6.0, 9.0]

    def test_an_unchanged_position_sends_nothing(self) -> None:
        """Sampling the same position twice gives one progress event."""
        with capture_events() as captured, ProgressReport("loop", steps=10) as loop:
            loop._set_position_source(lambda: 4)
            captured.clock.advance(0.1)
            captured.clock.advance(0.1)
            assert [event["event"] for event in captured.of(loop)] == ["start", "progress"]
            loop._set_position_source(None)


class TestThreads:
    def test_eight_threads_emitting_into_one_root_keep_the_order(self) -> None:
        """Eight threads creating, advancing and finishing reports under one root give an ordered stream."""
        received: list[Event] = []
        configure(min_interval=0.001)
        job = ProgressReport("job", sinks=[received.append])
        barrier = threading.Barrier(8)

        def work(number: int) -> None:
            barrier.wait()
            with job.create_subreport(f"thread {number}", steps=200) as mine:
                for index in range(200):
                    with mine.create_subreport(f"{number}.{index}") as step:
                        step.advance()
                    mine.advance()
                    if index % 40 == 0:
                        mine.create_subreport("failing").complete(Status.ERROR, error="x")

        threads = [threading.Thread(target=work, args=(number,)) for number in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        job.complete()
        check_order(received)
        assert rebuilt(received)[0].to_dict() == job.to_dict()
        failures = [event for event in received if event["event"] == "finish" and event["error"] == "x"]
        assert len(failures) == 8 * 5

    def test_every_announced_step_is_finished_by_the_next_flush_under_real_threads(self) -> None:
        """Quick steps announced by the flushing thread while they finish (no finish record of their
        own) still get their finish at the next flush, not only when the root finishes."""
        received: list[Event] = []

        def slow_on_start(event: Event) -> None:
            received.append(event)
            if event["event"] == "start":
                time.sleep(0.0002)  # widen the window between reading a step as running and announcing it

        configure(min_interval=0.001)
        job = ProgressReport("job", sinks=[slow_on_start])
        barrier = threading.Barrier(5)
        checked = threading.Event()
        parents: list[str] = []

        def work(number: int) -> None:
            with job.create_subreport(f"thread {number}") as mine:
                parents.append(mine.report_id)
                barrier.wait()
                for index in range(150):
                    with mine.create_subreport(f"{number}.{index}"):
                        time.sleep(0.0003)
                barrier.wait()
                # Still running while the stream is checked: its own finish would send its children's.
                checked.wait(timeout=30)

        threads = [threading.Thread(target=work, args=(number,)) for number in range(4)]
        for thread in threads:
            thread.start()
        barrier.wait()
        barrier.wait()
        core.flush_all()  # what the flushing thread does next
        started = {event["report_id"] for event in received if event["event"] == "start"}
        finished = {event["report_id"] for event in received if event["event"] == "finish"}
        checked.set()
        for thread in threads:
            thread.join()
        job.complete()
        steps_started = started - {job.report_id, *parents}
        assert len(steps_started) > 10  # the flusher did catch steps running
        assert steps_started == finished

    def test_a_slow_sink_never_blocks_the_instrumented_code(self) -> None:
        """While the flushing thread is stuck in a sink, the producer runs on; the events follow later."""
        entered, release = threading.Event(), threading.Event()
        received: list[Event] = []

        def slow(event: Event) -> None:
            if threading.current_thread().name == "progress_instrument-flush":
                entered.set()
                assert release.wait(30)
            received.append(event)

        job = ProgressReport("job", sinks=[slow])
        assert entered.wait(30)  # the flushing thread is now inside the sink, holding the delivery lock
        for index in range(1000):
            with job.create_subreport(f"step {index}") as step:
                step.advance()
        assert len(received) == 0
        release.set()
        job.complete()
        check_order(received)
        assert rebuilt(received)[0].to_dict() == job.to_dict()

    def test_a_backlog_past_the_limit_drops_successes_but_not_the_tree(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Past MAX_PENDING records the oldest are dropped; failures are still sent and the final tree is exact."""
        monkeypatch.setattr(_emit, "MAX_PENDING", 10)
        with capture_events() as captured, ProgressReport("job") as job:
            for index in range(50):
                child = job.create_subreport(f"step {index}")
                captured.clock.now += 0.2  # long-lived: none of them may be left out as short
                child.complete(Status.ERROR if index == 40 else Status.SUCCESS, error="late" if index == 40 else None)
        check_order(captured.events)
        assert captured.roots[0].to_dict() == job.to_dict()
        assert ("finish", "step 40") in captured.kinds()

    def test_new_children_are_announced_after_their_parents_records_were_dropped(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A parent whose record (standing for its new children) was dropped still has its later
        children announced while they run, not only when it finishes."""
        monkeypatch.setattr(_emit, "MAX_PENDING", 10)
        with capture_events() as captured, ProgressReport("job") as job:
            batch = job.create_subreport("batch")
            batch.create_subreport("first").complete()
            for index in range(30):  # failures: each has a record, pushing the parents' out
                job.create_subreport(f"failing {index}").complete(Status.ERROR, error="x")
            captured.flush()
            slow = batch.create_subreport("slow")
            captured.clock.advance(0.5)
            assert ("start", "slow") in captured.kinds()
            slow.complete()
            batch.complete()
        check_order(captured.events)
        assert captured.roots[0].to_dict() == job.to_dict()

    def test_announced_reports_are_finished_even_when_their_records_were_dropped(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A report announced, then finished and evicted while its finish record was dropped, still gets a finish."""
        monkeypatch.setattr(_emit, "MAX_PENDING", 10)
        with capture_events() as captured, ProgressReport("job") as job:
            children = []
            for index in range(150):
                children.append(job.create_subreport(f"step {index}"))
                captured.flush()  # announced
            for child in children:
                child.complete()
            assert len(job.children) == 100  # the first 50 are evicted from the producer's tree
        check_order(captured.events)
        finishes = [event for event in captured.events if event["event"] == "finish"]
        assert len(finishes) == 151
        assert captured.roots[0].to_dict() == job.to_dict()


class TestFailingSinks:
    def test_a_raising_sink_is_logged_once_then_dropped(self, caplog: pytest.LogCaptureFixture) -> None:
        """A sink that always raises is logged once, dropped after repeated failures, and breaks nothing."""
        calls: list[Event] = []
        received: list[Event] = []

        def broken(event: Event) -> None:
            calls.append(event)
            raise RuntimeError("disk full")

        with caplog.at_level(logging.WARNING, logger="progress_instrument"):
            with capture_events() as captured, ProgressReport("job", sinks=[broken, received.append]) as job:
                for index in range(10):
                    job.create_subreport(f"step {index}")
                    captured.clock.advance(0.1)
        assert len(calls) == MAX_SINK_FAILURES
        assert len(received) == 1 + 10 + 10 + 2  # the healthy sink got everything
        messages = [record.getMessage() for record in caplog.records]
        assert sum("failed in emit()" in message for message in messages) == 1
        assert sum("dropped after 5 failures" in message for message in messages) == 1
        assert caplog.records[0].exc_info is not None

    def test_a_sink_that_recovers_is_kept(self) -> None:
        """Failures that are not consecutive never drop a sink."""
        received: list[Event] = []

        def flaky(event: Event) -> None:
            if event["event"] == "start" and event["seq"] % 2:
                raise ValueError("odd")
            received.append(event)

        with capture_events() as captured, ProgressReport("job", sinks=[flaky]) as job:
            for index in range(20):
                job.create_subreport(f"step {index}")
                captured.clock.advance(0.1)
        assert received[-1]["event"] == "finish"

    def test_a_sink_finishing_a_root_of_its_own_does_not_deadlock(self) -> None:
        """A sink that itself instruments work gets its own root's events at the next flush."""
        inner: list[Event] = []

        def instrumented_sink(event: Event) -> None:
            if event["event"] == "start" and event["step_message"] == "job":
                ProgressReport("sink work", sinks=[inner.append]).complete()

        with capture_events() as captured:
            with ProgressReport("job", sinks=[instrumented_sink]):
                pass
            assert inner == []
            captured.flush()
        assert [event["event"] for event in inner] == ["start", "snapshot", "finish"]


class TestLifecycle:
    def run(self, code: str, **env: str) -> subprocess.CompletedProcess[str]:
        environment = {key: value for key, value in os.environ.items() if not key.startswith("PROGRESS_INSTRUMENT")}
        environment.update(env)
        return subprocess.run(
            [sys.executable, "-c", textwrap.dedent(code)],
            capture_output=True,
            text=True,
            check=True,
            env=environment,
            timeout=60,
        )

    def test_no_thread_until_the_first_root_with_a_sink(self) -> None:
        """Roots without sinks start no thread; the first root with a sink starts the flushing thread."""
        result = self.run(
            """
            import threading
            from progress_instrument import ProgressReport
            ProgressReport("no sink").complete()
            before = [thread.name for thread in threading.enumerate()]
            ProgressReport("with sink", sinks=[print]).complete()
            after = [thread.name for thread in threading.enumerate()]
            print(before, after)
            """
        )
        assert result.stdout.splitlines()[-1] == "['MainThread'] ['MainThread', 'progress_instrument-flush']"

    def test_roots_still_running_at_exit_finish_as_errors(self, tmp_path: Path) -> None:
        """At interpreter exit, running roots finish error with "process exited while running" in the file."""
        path = tmp_path / "events.jsonl"
        self.run(
            """
            from progress_instrument import ProgressReport
            job = ProgressReport("job", steps=2)
            job.create_subreport("inner").advance()
            """,
            PROGRESS_INSTRUMENT_SINK=f"jsonl:{path}",
        )
        events = [json.loads(line) for line in path.read_text().splitlines()]
        check_order(events)
        assert events[-1]["event"] == "finish" and events[-1]["step_message"] == "job"
        assert events[-1]["status"] == "error" and events[-1]["error"] == EXIT_ERROR
        assert rebuilt(events)[0].children[0].error == EXIT_ERROR

    def test_exit_gives_up_on_a_sink_that_never_returns(self) -> None:
        """A sink stuck on the flushing thread delays the exit by EXIT_TIMEOUT at most, never forever."""
        result = self.run(
            """
            import threading
            from progress_instrument import ProgressReport, _flusher
            _flusher.EXIT_TIMEOUT = 0.05
            inside = threading.Event()
            def stuck(event):
                inside.set()
                threading.Event().wait()
            job = ProgressReport("job", sinks=[stuck])
            assert inside.wait(30)
            print("exiting")
            """
        )
        assert result.stdout.strip() == "exiting"

    def test_roots_are_held_weakly(self) -> None:
        """A root nobody references any more leaves the registry."""
        job = ProgressReport("forgotten", sinks=[lambda event: None])
        core.flush_all()
        assert len(core.emitters()) == 1
        del job
        gc.collect()
        assert core.emitters() == []

    def test_finished_roots_leave_the_registry(self) -> None:
        """A root that finished and was flushed is no longer held."""
        with ProgressReport("done", sinks=[lambda event: None]):
            pass
        assert core.emitters() == []

    @pytest.mark.filterwarnings("ignore:.*fork.*:DeprecationWarning")
    @pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
    def test_fork_restarts_the_thread_in_the_child(self, tmp_path: Path) -> None:
        """A forked child emits its own roots with its own thread; the parent's stream is unaffected."""
        parent_events: list[Event] = []
        job = ProgressReport("parent job", sinks=[parent_events.append])
        core.flush_all()
        child_path = tmp_path / "child.jsonl"
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child
            code = 1
            try:
                job.create_subreport("inherited: silent").complete()
                names = {thread.name for thread in threading.enumerate()}
                sink = JsonLinesSink(child_path)
                mine = ProgressReport("child job", sinks=[sink])
                mine.create_subreport("child step")
                # Thread.start() returns once the thread runs, so no waiting is needed.
                restarted = "progress_instrument-flush" in {thread.name for thread in threading.enumerate()}
                mine.complete()
                code = 0 if restarted and "progress_instrument-flush" not in names else 2
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        child_events = [json.loads(line) for line in child_path.read_text().splitlines()]
        assert [event["step_message"] for event in child_events if event["event"] == "start"] == [
            "child job",
            "child step",
        ]
        job.create_subreport("after fork").complete(Status.ERROR, error="x")
        job.complete()
        messages = {event["step_message"] for event in parent_events}
        assert "inherited: silent" not in messages and "child job" not in messages
        assert "after fork" in messages
        check_order(parent_events)


class TestAnyInterleaving:
    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.lists(st.tuples(st.sampled_from(OPERATIONS), st.integers(0, 50)), max_size=60))
    def test_every_guarantee_holds_whatever_the_timing(self, operations: list[tuple[str, int]]) -> None:
        """Random work interleaved with random flushes keeps order, coalescing, failures and the final tree."""
        with capture_events() as captured:
            job = ProgressReport("job", steps=5)
            nodes = [job]
            for operation, pick in operations:
                running = [node for node in nodes if not node.finished]
                if not running:
                    break
                node = running[pick % len(running)]
                if operation == "child":
                    nodes.append(node.create_subreport(f"n{len(nodes)}", steps=pick % 4))
                elif operation == "advance":
                    node.advance()
                elif operation in ("success", "error") and node is not job:
                    node.complete(operation, error="failed" if operation == "error" else None)
                elif operation == "cancel":
                    node.cancel()
                elif operation == "flush":
                    captured.clock.advance(pick / 100)
                elif operation == "time":
                    captured.clock.now += pick / 100
            job.complete()
        events = captured.events
        check_order(events)
        assert captured.roots[0].to_dict() == job.to_dict()
        by_report: dict[str, list[Event]] = {}
        for event in events:
            by_report.setdefault(event["report_id"], []).append(event)
        for node in nodes:
            mine = by_report.get(node.report_id, [])
            if not mine:
                # Left out of the stream: only a success shorter than min_interval may be.
                assert node.status is Status.SUCCESS and node._finished_monotonic - node._started_monotonic < 0.1
                continue
            assert mine[-1]["event"] == "finish" and mine[-1]["status"] == node.status.value
            times = [event["time"] for event in mine if event["event"] == "progress"]
            assert all(later - earlier >= 0.1 - 1e-9 for earlier, later in itertools.pairwise(times))
