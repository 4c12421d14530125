"""Rebuilding trees from event streams with `TreeBuilder` (SPEC §2)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from progress_instrument import ProgressReport, Status, TreeBuilder
from progress_instrument._wire import event_dict

BIG_ATTRIBUTES = {f"key{i}": "€" * 500 for i in range(32)}
# How a message names the event's kind field, as opposed to merely saying "event".
NAMES_KIND = r"event\.event|'event'|\"event\"|event kind"


def walk(report: ProgressReport) -> Iterator[ProgressReport]:
    stack = [report]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(node.children))


def root_of(report: ProgressReport) -> ProgressReport:
    while report.parent is not None:
        report = report.parent
    return report


class Producer:
    """Makes events in the order an emitter sends them.

    A report's start comes before its children's events, children finish before their parent, each
    root numbers its events from 1, and a root's snapshot comes just before its finish.
    """

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self._seq: dict[str, int] = {}

    def emit(self, report: ProgressReport, kind: str) -> None:
        root_id = root_of(report).report_id
        self._seq[root_id] = self._seq.get(root_id, 0) + 1
        self.events.append(event_dict(report, kind, self._seq[root_id], float(len(self.events))))

    def root(self, message: str, **options: Any) -> ProgressReport:
        report = ProgressReport(message, sinks=[], **options)
        self.emit(report, "start")
        return report

    def child(self, parent: ProgressReport, message: str, **options: Any) -> ProgressReport:
        report = parent.create_subreport(message, **options)
        self.emit(report, "start")
        return report

    def advance(self, report: ProgressReport, n: float = 1) -> None:
        report.advance(n)
        self.emit(report, "progress")

    def finish(self, report: ProgressReport, status: Status = Status.SUCCESS, error: Any = None) -> None:
        running = [node for node in walk(report) if node is not report and node.status is Status.RUNNING]
        report.complete(status, error=error)
        for node in reversed(running):  # deepest first, as the tree finishes them
            self.emit(node, "finish")
        if report.parent is None:
            self.emit(report, "snapshot")
        self.emit(report, "finish")


def rebuild(events: list[dict[str, Any]]) -> TreeBuilder:
    builder = TreeBuilder()
    for event in events:
        builder.apply(event)
    return builder


def typical_job(producer: Producer, name: str = "Job") -> ProgressReport:
    """A root with nested steps, progress, a failure, retention and a step left running."""
    root = producer.root(name, steps=4, unit="steps", attributes={"run": 7})
    loading = producer.child(root, "Loading", steps=3, weight=2.0)
    producer.advance(loading)
    for i in range(130):
        producer.finish(producer.child(loading, f"file {i}"))
    producer.advance(loading, 2)
    producer.finish(loading)
    fitting = producer.child(root, "Fitting", steps=2)
    producer.finish(producer.child(fitting, "pass 1"))
    producer.child(producer.child(fitting, "pass 2"), "inner")
    producer.finish(fitting, Status.ERROR, ValueError("diverged"))
    producer.child(root, "Left running")
    return root


class TestRebuiltTreeEqualsProducer:
    def test_snapshot_matches_after_the_root_finishes(self) -> None:
        """Once the root's finish is applied, the rebuilt root's snapshot equals the producer's."""
        producer = Producer()
        root = typical_job(producer)
        producer.finish(root)
        builder = rebuild(producer.events)
        assert len(builder.roots) == 1
        assert builder.roots[0].to_dict() == root.to_dict()

    def test_failed_root_matches(self) -> None:
        """A root that fails, failing its running descendants, is rebuilt with every outcome."""
        producer = Producer()
        root = typical_job(producer)
        producer.finish(root, Status.ERROR, RuntimeError("out of memory"))
        rebuilt = rebuild(producer.events).roots[0]
        assert rebuilt.to_dict() == root.to_dict()
        assert (rebuilt.status, rebuilt.error) == (Status.ERROR, "RuntimeError: out of memory")

    def test_snapshot_cut_to_the_budget_matches(self) -> None:
        """A root whose snapshot had to drop its own children still rebuilds to the producer's snapshot."""
        producer = Producer()
        root = producer.root("Big", steps=20)
        for i in range(20):
            producer.finish(producer.child(root, f"part {i}", attributes=BIG_ATTRIBUTES))
        producer.finish(root)
        assert root.to_dict()["omitted_children"] > 0
        assert rebuild(producer.events).roots[0].to_dict() == root.to_dict()

    def test_rebuilt_reports_are_progress_reports(self) -> None:
        """The rebuilt roots are ProgressReports with the producer's ids, fractions and parent links."""
        producer = Producer()
        root = typical_job(producer)
        producer.finish(root)
        rebuilt = rebuild(producer.events).roots[0]
        assert isinstance(rebuilt, ProgressReport)
        assert [node.report_id for node in walk(rebuilt)] == [node.report_id for node in walk(root)]
        assert all(child.parent is node for node in walk(rebuilt) for child in node.children)
        assert rebuilt.fraction == 1.0


class TestSeveralRoots:
    def test_roots_are_listed_in_start_order(self) -> None:
        """Interleaved roots are listed in the order they started, whatever order they finish in."""
        producer = Producer()
        first = producer.root("first", steps=2)
        second = producer.root("second")
        third = producer.root("third", steps=1)
        producer.advance(producer.child(first, "a", steps=2))
        producer.finish(producer.child(second, "b"))
        producer.finish(third)
        producer.finish(second)
        producer.finish(first)
        builder = rebuild(producer.events)
        assert [each.report_id for each in builder.roots] == [first.report_id, second.report_id, third.report_id]
        assert [each.to_dict() for each in builder.roots] == [first.to_dict(), second.to_dict(), third.to_dict()]

    def test_each_root_keeps_its_own_sequence(self) -> None:
        """Roots numbering their events from 1 independently do not shadow each other's events."""
        producer = Producer()
        first, second = producer.root("first"), producer.root("second")
        producer.child(first, "a")
        producer.child(second, "b")
        builder = rebuild(producer.events)
        assert [[c.step_message for c in each.children] for each in builder.roots] == [["a"], ["b"]]


class TestReplays:
    def test_replaying_the_whole_stream_changes_nothing(self) -> None:
        """Events applied a second time are ignored."""
        producer = Producer()
        root = typical_job(producer)
        producer.finish(root)
        builder = rebuild(producer.events)
        for event in producer.events:
            builder.apply(event)
        assert len(builder.roots) == 1
        assert builder.roots[0].to_dict() == root.to_dict()

    def test_stale_event_does_not_overwrite_a_newer_one(self) -> None:
        """An event whose seq is not above the last applied one for its root is ignored."""
        producer = Producer()
        root = producer.root("job", steps=10)
        producer.advance(root)
        root.update(step_message="job, later")
        producer.advance(root, 3)
        older, newer = producer.events[1], producer.events[2]
        builder = rebuild([producer.events[0], newer, older])
        rebuilt = builder.roots[0]
        assert (rebuilt.step_message, rebuilt.completed, rebuilt.fraction) == ("job, later", 4.0, 0.4)

    def test_equal_seq_is_a_replay(self) -> None:
        """A different event reusing the last seq is ignored too."""
        producer = Producer()
        root = producer.root("job")
        producer.child(root, "a")
        duplicate = dict(producer.events[-1], step_message="impostor", report_id="other")
        builder = rebuild([*producer.events, duplicate])
        assert builder.get("other") is None
        assert [child.step_message for child in builder.roots[0].children] == ["a"]


class TestBeforeTheRootFinishes:
    def test_delivered_reports_match_ids_messages_and_statuses(self) -> None:
        """Mid-run, each delivered report has the producer's id, parent, message and status."""
        producer = Producer()
        root = typical_job(producer)
        builder = rebuild(producer.events)
        live = list(walk(root))
        assert [node.report_id for node in walk(builder.roots[0])] == [node.report_id for node in live]
        for node in live:
            rebuilt = builder.get(node.report_id)
            assert rebuilt is not None
            assert (rebuilt.step_message, rebuilt.status, rebuilt.steps) == (node.step_message, node.status, node.steps)
            expected_parent = node.parent.report_id if node.parent else None
            assert (rebuilt.parent.report_id if rebuilt.parent else None) == expected_parent

    def test_coalesced_progress_leaves_the_last_delivered_state(self) -> None:
        """When progress events are held back, a report shows the last state that was delivered."""
        producer = Producer()
        root = producer.root("job", steps=3)
        step = producer.child(root, "step", steps=10)
        producer.advance(step, 2)
        step.advance(5)  # coalesced: no event yet
        step.update(step_message="renamed")  # likewise
        rebuilt = rebuild(producer.events).get(step.report_id)
        assert rebuilt is not None
        assert (rebuilt.step_message, rebuilt.completed, rebuilt.status) == ("step", 2.0, Status.RUNNING)


class TestMalformedEvents:
    @pytest.mark.parametrize(
        ("change", "field"),
        [
            ({"event": None}, NAMES_KIND),
            ({"event": "started"}, NAMES_KIND),
            ({"seq": "3"}, r"\bseq\b"),
            ({"seq": None}, r"\bseq\b"),
            ({"seq": True}, r"\bseq\b"),
            ({"seq": 2.5}, r"\bseq\b"),
            ({"report_id": 5}, r"\breport_id\b"),
            ({"report_id": None}, r"\breport_id\b"),
            ({"report_id": ""}, r"\breport_id\b"),
            ({"parent_id": 3}, r"\bparent_id\b"),
            ({"time": "now"}, r"\btime\b"),
            ({"status": "finished"}, r"\bstatus\b"),
            ({"steps": -2}, r"\bsteps\b"),
            ({"step_message": None}, r"\bstep_message\b"),
        ],
    )
    def test_bad_field_raises_value_error_naming_it(self, change: dict[str, Any], field: str) -> None:
        """An event with a wrong or missing field raises ValueError whose message names the field."""
        event = event_dict(ProgressReport("job", sinks=[]), "start", 1, 0.0)
        event.update(change)
        with pytest.raises(ValueError, match=field):
            TreeBuilder().apply(event)

    def test_missing_event_kind_raises_value_error(self) -> None:
        """An event without its "event" key is refused, naming the field."""
        event = event_dict(ProgressReport("job", sinks=[]), "start", 1, 0.0)
        del event["event"]
        with pytest.raises(ValueError, match=NAMES_KIND):
            TreeBuilder().apply(event)

    def test_snapshot_event_without_a_snapshot_raises_value_error(self) -> None:
        """A snapshot event must carry the snapshot object."""
        event = event_dict(ProgressReport("job", sinks=[]), "snapshot", 1, 0.0)
        event["snapshot"] = [1, 2]
        with pytest.raises(ValueError, match=r"\bsnapshot\b"):
            TreeBuilder().apply(event)

    def test_non_object_event_raises_value_error(self) -> None:
        """Something that is neither a mapping nor has to_dict() is refused."""
        with pytest.raises(ValueError, match="list"):
            TreeBuilder().apply([("event", "start")])

    def test_malformed_event_changes_nothing(self) -> None:
        """A refused event leaves the builder as it was."""
        builder = TreeBuilder()
        event = event_dict(ProgressReport("job", sinks=[]), "start", 1, 0.0)
        with pytest.raises(ValueError):
            builder.apply(dict(event, steps="many"))
        assert builder.roots == []
        builder.apply(event)
        assert [each.step_message for each in builder.roots] == ["job"]


class TestEventObjects:
    def test_object_with_to_dict_is_accepted(self) -> None:
        """An event given as an object with to_dict() applies like its dict."""

        class Event:
            def __init__(self, data: dict[str, Any]) -> None:
                self._data = data

            def to_dict(self) -> dict[str, Any]:
                return dict(self._data)

        producer = Producer()
        root = typical_job(producer)
        producer.finish(root)
        builder = TreeBuilder()
        for event in producer.events:
            builder.apply(Event(event))
        assert builder.roots[0].to_dict() == root.to_dict()
