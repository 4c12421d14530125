"""Interoperability with the real DASF Progress API, ``deprogressapi`` (SPEC §2)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import deprogressapi
import pytest
from deprogressapi.base import Status as DasfStatus

from progress_instrument import ProgressReport, Status

LONG = "€" * 600


def walk(report: Any) -> Iterator[Any]:
    """Every node of either library's tree in pre-order, iteratively."""
    stack = [report]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(node.children))


def outline(report: Any) -> list[tuple[str, str, int, str, list[str]]]:
    """What both libraries must agree on, node by node: id, message, steps, status, children order."""
    return [
        (
            node.report_id,
            node.step_message,
            node.steps,
            Status(node.status).value,
            [child.report_id for child in node.children],
        )
        for node in walk(report)
    ]


def outline_of_snapshot(snapshot: dict[str, Any]) -> list[tuple[str, str, int, str, list[str]]]:
    found = []
    stack = [snapshot]
    while stack:
        node = stack.pop()
        children = node["children"]
        found.append(
            (node["report_id"], node["step_message"], node["steps"], node["status"], [c["report_id"] for c in children])
        )
        stack.extend(reversed(children))
    return found


def running_tree() -> ProgressReport:
    root = ProgressReport("Seasonal statistics", steps=3, sinks=[])
    loading = root.create_subreport("Loading", steps=4, unit="files")
    loading.advance(2)
    root.create_subreport("Cleaning").complete()
    return root


def finished_tree() -> ProgressReport:
    root = running_tree()
    root.complete()
    return root


def failed_tree() -> ProgressReport:
    root = ProgressReport("Pipeline", steps=2, sinks=[])
    root.create_subreport("Download").complete()
    root.create_subreport("Parse").complete(Status.ERROR, error=ValueError("bad header"))
    root.complete(Status.ERROR, error=RuntimeError("Parse failed"))
    return root


def nested_tree() -> ProgressReport:
    root = ProgressReport("root", steps=2, sinks=[])
    node = root
    for level in range(20):
        sibling = node.create_subreport(f"done at {level}")
        sibling.complete()
        node = node.create_subreport(f"level {level}", steps=level + 1)
    return root


def tree_with_omitted_children() -> ProgressReport:
    root = ProgressReport("many", steps=500, sinks=[])
    for i in range(500):
        root.create_subreport(f"item {i} {LONG}").complete()
    for i in range(120):
        root.create_subreport(f"running {i} {LONG}")
    return root


def long_message_tree() -> ProgressReport:
    root = ProgressReport("x" * 5000, sinks=[])
    root.create_subreport("Zürich 🎉 \x1b[1m" * 200).complete(Status.ERROR, error="e" * 10_000)
    return root


def deep_chain(levels: int = 1000) -> ProgressReport:
    root = ProgressReport("level 1", sinks=[])
    node = root
    for level in range(2, levels + 1):
        node = node.create_subreport(f"level {level}")
    return root


OURS: dict[str, Callable[[], ProgressReport]] = {
    "running": running_tree,
    "finished": finished_tree,
    "failed": failed_tree,
    "nested": nested_tree,
    "omitted children": tree_with_omitted_children,
    "long messages": long_message_tree,
    "1000-level chain": deep_chain,
}


def dasf_tree() -> deprogressapi.ProgressReport:
    """A deprogressapi tree built through its own API, shown nowhere (no curses, no printing)."""
    root = deprogressapi.ProgressReport(step_message="Compute", steps=4, settings={"show_method": "NONE"})
    first = root.create_subreport(step_message="Load", steps=2)
    first.create_subreport(step_message="Load part 1").complete()
    first.complete()
    root.create_subreport(step_message="Check").complete(DasfStatus.ERROR)
    root.create_subreport(step_message="Fit", steps=3).create_subreport(step_message="Fit pass 1")
    root.create_subreport(step_message="Plot")
    return root


class TestDasfReadsOurSnapshots:
    @pytest.mark.parametrize("build", OURS.values(), ids=OURS.keys())
    def test_from_payload_returns_the_same_tree(self, build: Callable[[], ProgressReport]) -> None:
        """deprogressapi parses our snapshot into the tree it describes: ids, messages, steps, statuses, order."""
        ours = build()
        theirs = deprogressapi.ProgressReport.from_payload(ours.to_json())
        assert isinstance(theirs, deprogressapi.ProgressReport)
        assert outline(theirs) == outline_of_snapshot(ours.to_dict())

    def test_statuses_map_to_dasf_values(self) -> None:
        """Our running, success and error arrive as deprogressapi's own Status members."""
        theirs = deprogressapi.ProgressReport.from_payload(failed_tree().to_json())
        assert theirs.status is DasfStatus.ERROR
        assert [child.status for child in theirs.children] == [DasfStatus.SUCCESS, DasfStatus.ERROR]
        assert deprogressapi.ProgressReport.from_payload(running_tree().to_json()).status is DasfStatus.RUNNING

    def test_unreduced_tree_arrives_whole(self) -> None:
        """A tree within the budget reaches deprogressapi with every node and its live ids."""
        ours = nested_tree()
        theirs = deprogressapi.ProgressReport.from_payload(ours.to_json())
        assert [node.report_id for node in walk(theirs)] == [node.report_id for node in walk(ours)]
        assert len(list(walk(theirs))) == 41

    def test_reduced_snapshot_with_omitted_children_parses(self) -> None:
        """A snapshot cut to the byte budget, with children counted as omitted, still parses in deprogressapi."""
        ours = tree_with_omitted_children()
        snapshot = ours.to_dict()
        assert snapshot["omitted_children"] > 400
        theirs = deprogressapi.ProgressReport.from_payload(ours.to_json())
        assert len(theirs.children) == len(snapshot["children"])
        assert theirs.children[-1].step_message.startswith("running 119 ")

    def test_chain_of_100_levels_parses(self) -> None:
        """deprogressapi's JSON parser (pydantic) takes a 100-level chain, its deepest; our cut must stay within it."""
        ours = deep_chain(100)
        theirs = deprogressapi.ProgressReport.from_payload(ours.to_json())
        assert [node.step_message for node in walk(theirs)] == [f"level {n}" for n in range(1, 101)]


class TestWeReadDasfPayloads:
    def test_every_node_gets_a_unique_id_and_the_root_keeps_root(self) -> None:
        """deprogressapi names every node "root": the root keeps it and the others get unique fresh ids."""
        payload = dasf_tree().model_dump_json()
        assert payload.count('"report_id":"root"') == 7
        ours = ProgressReport.from_json(payload)
        ids = [node.report_id for node in walk(ours)]
        assert ids[0] == "root"
        assert len(set(ids)) == 7

    def test_messages_steps_statuses_and_order_match(self) -> None:
        """The tree read from deprogressapi's JSON has its messages, steps, statuses and order."""
        theirs = dasf_tree()
        ours = ProgressReport.from_json(theirs.model_dump_json())
        assert [row[1:4] for row in outline(ours)] == [row[1:4] for row in outline(theirs)]
        assert [len(node.children) for node in walk(ours)] == [len(node.children) for node in walk(theirs)]

    def test_settings_field_is_ignored(self) -> None:
        """deprogressapi's settings leave no trace in what we read."""
        ours = ProgressReport.from_json(dasf_tree().model_dump_json())
        snapshot = ours.to_dict()
        assert "settings" not in snapshot
        assert snapshot["attributes"] == {}

    def test_fraction_is_computed_from_finished_children(self) -> None:
        """A DASF node with steps=N and k children finished (success or error) has fraction k/N."""
        ours = ProgressReport.from_json(dasf_tree().model_dump_json())
        assert ours.fraction == pytest.approx(2 / 4)
        load, check, fit, plot = ours.children
        assert (load.fraction, check.fraction, plot.fraction) == (1.0, 1.0, 0.0)
        assert fit.fraction == 0.0
        assert check.status is Status.ERROR and check.error

    @pytest.mark.parametrize(("finished", "steps"), [(0, 5), (1, 5), (3, 4), (4, 4), (6, 4)])
    def test_fraction_is_k_over_n(self, finished: int, steps: int) -> None:
        """For each k and N the read fraction is min(1, k/N)."""
        root = deprogressapi.ProgressReport(step_message="n", steps=steps, settings={"show_method": "NONE"})
        for i in range(finished):
            root.create_subreport(step_message=f"done {i}").complete()
        root.create_subreport(step_message="still running")
        assert ProgressReport.from_json(root.model_dump_json()).fraction == pytest.approx(min(1.0, finished / steps))

    def test_dasf_payload_round_trips_back_to_dasf(self) -> None:
        """A DASF tree read by us and sent again parses in deprogressapi with the same shape."""
        theirs = dasf_tree()
        again = deprogressapi.ProgressReport.from_payload(ProgressReport.from_json(theirs.model_dump_json()).to_json())
        assert [row[1:4] for row in outline(again)] == [row[1:4] for row in outline(theirs)]
