"""Snapshots and events (SPEC §2): shape, limits, the deterministic reduction, text handling."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from progress_instrument import ProgressReport, Status
from progress_instrument._wire import event_dict

MAX_BYTES = 256 * 1024
MAX_LEVELS = 256
DASF_FIELDS = ("report_type", "report_id", "step_message", "steps", "status", "children")
# 500 three-byte characters: a message at the 500-character cut that is 1,500 bytes of UTF-8.
LONG = "€" * 600
BIG_ATTRIBUTES = {f"key{i}": "€" * 500 for i in range(32)}


def walk(snapshot: dict[str, Any]) -> Iterator[tuple[dict[str, Any], int]]:
    """Every node of a snapshot with its level (the root is level 1), in pre-order, iteratively."""
    stack = [(snapshot, 1)]
    while stack:
        node, level = stack.pop()
        yield node, level
        stack.extend((child, level + 1) for child in reversed(node["children"]))


def live_index(report: ProgressReport) -> dict[str, ProgressReport]:
    """Every report of a live tree by id, iteratively (trees may be deeper than the stack)."""
    found: dict[str, ProgressReport] = {}
    stack = [report]
    while stack:
        node = stack.pop()
        found[node.report_id] = node
        stack.extend(node.children)
    return found


def utf8_size(text: str) -> int:
    return len(text.encode("utf-8"))


def without_ids_and_times(snapshot: dict[str, Any]) -> dict[str, Any]:
    copy = json.loads(json.dumps(snapshot))
    for node, _ in walk(copy):
        for key in ("report_id", "started_at", "finished_at"):
            node.pop(key)
    return copy


def small_tree() -> ProgressReport:
    root = ProgressReport("Analysis", steps=3, sinks=[], unit="files", attributes={"n": 3})
    loading = root.create_subreport("Loading", steps=2)
    loading.advance()
    root.create_subreport("Cleaning").complete()
    root.create_subreport("Plotting").complete(Status.ERROR, error=ValueError("no data"))
    return root


# -- trees that are too big, each in its own way -------------------------------------------------


def finished_under_running_parents() -> ProgressReport:
    root = ProgressReport("root", sinks=[])
    for i in range(20):
        parent = root.create_subreport(f"parent {i}")
        for j in range(100):
            parent.create_subreport(f"{j} {LONG}").complete()
    return root


def running_siblings() -> ProgressReport:
    root = ProgressReport("root", sinks=[])
    for i in range(300):
        root.create_subreport(f"{i} {LONG}")
    return root


def deep_running_chain(message: str = "") -> ProgressReport:
    root = ProgressReport("level 1", sinks=[])
    node = root
    for level in range(2, 1001):
        node = node.create_subreport(f"level {level} {message}")
    return root


def huge_running_nodes() -> ProgressReport:
    root = ProgressReport("root", sinks=[], attributes=BIG_ATTRIBUTES)
    for i in range(40):
        child = root.create_subreport(f"{i} {LONG}", attributes=BIG_ATTRIBUTES)
        child.create_subreport(f"grandchild {LONG}", attributes=BIG_ATTRIBUTES)
    return root


TOO_BIG: dict[str, Callable[[], ProgressReport]] = {
    "finished children under running parents": finished_under_running_parents,
    "300 running siblings": running_siblings,
    "1000-level running chain": deep_running_chain,
    "1000-level chain of long messages": lambda: deep_running_chain(LONG),
    "running nodes with large attributes": huge_running_nodes,
}


class TestSnapshotShape:
    def test_every_node_carries_the_six_dasf_fields_non_null(self) -> None:
        """Each node, running, finished or failed, has all six DASF fields and none is null."""
        for node, _ in walk(small_tree().to_dict()):
            for field in DASF_FIELDS:
                assert node.get(field) is not None, field
            assert node["report_type"] == "tree"

    def test_extension_fields_hold_the_reports_state(self) -> None:
        """fraction, completed, started_at, finished_at and error are present with the report's values."""
        root = small_tree()
        snapshot = root.to_dict()
        loading, cleaning, plotting = snapshot["children"]
        assert (loading["fraction"], loading["completed"], loading["finished_at"]) == (0.5, 1.0, None)
        assert loading["status"] == "running" and loading["error"] is None
        assert isinstance(loading["started_at"], float)
        assert cleaning["status"] == "success" and cleaning["fraction"] == 1.0
        assert cleaning["finished_at"] >= cleaning["started_at"]
        assert plotting["status"] == "error" and plotting["error"] == "ValueError: no data"
        assert snapshot["fraction"] == pytest.approx(2.5 / 3)
        assert (snapshot["unit"], snapshot["attributes"], snapshot["omitted_children"]) == ("files", {"n": 3}, 0)

    def test_ids_are_unique_and_match_the_reports(self) -> None:
        """Every node carries its report's id, and no two nodes share one."""
        root = small_tree()
        loading = root.children[0]
        loading.create_subreport("inner").create_subreport("innermost")
        loading.create_subreport("second").complete()
        ids = [node["report_id"] for node, _ in walk(root.to_dict())]
        assert len(ids) == len(set(ids)) == 7
        assert set(ids) == set(live_index(root))

    def test_children_keep_creation_order(self) -> None:
        """Children appear in the order they were created, whatever their status."""
        root = ProgressReport("root", sinks=[])
        names = [f"child {i}" for i in range(10)]
        for index, name in enumerate(names):
            child = root.create_subreport(name)
            if index % 3 == 0:
                child.complete()
        assert [child["step_message"] for child in root.to_dict()["children"]] == names

    def test_to_json_is_the_compact_text_of_to_dict(self) -> None:
        """to_json parses back to exactly what to_dict gives."""
        root = small_tree()
        assert json.loads(root.to_json()) == root.to_dict()


class TestTextLimits:
    def test_step_messages_are_cut_at_500_characters(self) -> None:
        """A longer message keeps its first 499 characters and ends at 500; shorter ones are untouched."""
        root = ProgressReport("a" * 5000, sinks=[])
        root.create_subreport("b" * 500)
        snapshot = root.to_dict()
        assert len(snapshot["step_message"]) == 500
        assert snapshot["step_message"][:499] == "a" * 499
        assert snapshot["children"][0]["step_message"] == "b" * 500

    def test_errors_are_cut_at_2000_characters(self) -> None:
        """A longer error keeps its first 1,999 characters and ends at 2,000."""
        root = ProgressReport("root", sinks=[])
        root.complete(Status.ERROR, error="x" * 10_000)
        error = root.to_dict()["error"]
        assert len(error) == 2000
        assert error[:1999] == "x" * 1999

    def test_long_unit_stays_within_the_byte_bound(self) -> None:
        """A huge unit name cannot push a single node over 256 KiB."""
        root = ProgressReport("root", sinks=[], unit="u" * 300_000)
        assert utf8_size(root.to_json()) <= MAX_BYTES

    @pytest.mark.parametrize("make", ["constructor", "from_json"])
    def test_huge_report_id_never_gives_an_oversized_snapshot(self, make: str) -> None:
        """A 300 KB id is refused where it enters (ValueError naming it) or kept within the byte bound."""
        huge = "i" * 300_000
        try:
            if make == "constructor":
                root = ProgressReport("root", sinks=[], report_id=huge)
            else:
                root = ProgressReport.from_json(json.dumps({"step_message": "root", "report_id": huge}))
        except ValueError as error:
            assert "report_id" in str(error)
            return
        assert utf8_size(root.to_json()) <= MAX_BYTES

    def test_long_error_type_stays_within_the_byte_bound(self) -> None:
        """An exception class with a huge name cannot push the root, which is never dropped, over 256 KiB."""
        failure = type("Failure" * 50_000, (Exception,), {})
        root = ProgressReport("root", sinks=[])
        root.complete(Status.ERROR, error=failure("boom"))
        assert utf8_size(root.to_json()) <= MAX_BYTES


class TestByteAndDepthBound:
    @pytest.mark.parametrize("build", TOO_BIG.values(), ids=TOO_BIG.keys())
    def test_snapshot_fits_256_kib_and_256_levels(self, build: Callable[[], ProgressReport]) -> None:
        """However the tree is too big, its JSON is at most 256 KiB of UTF-8 and 256 levels deep."""
        root = build()
        text = root.to_json()
        assert utf8_size(text) <= MAX_BYTES
        assert max(level for _, level in walk(json.loads(text))) <= MAX_LEVELS
        assert json.loads(text) == root.to_dict()

    @pytest.mark.parametrize("build", TOO_BIG.values(), ids=TOO_BIG.keys())
    def test_omitted_children_count_what_was_cut(self, build: Callable[[], ProgressReport]) -> None:
        """At every node, listed children plus omitted_children equal the live node's children plus its own omitted."""
        root = build()
        live = live_index(root)
        snapshot = root.to_dict()
        assert snapshot["report_id"] == root.report_id
        for node, _ in walk(snapshot):
            report = live[node["report_id"]]
            listed = [child["report_id"] for child in node["children"]]
            assert listed == [child.report_id for child in report.children if child.report_id in listed]
            assert len(listed) + node["omitted_children"] == len(report.children) + report.omitted_children

    def test_deep_chain_is_cut_below_the_depth_limit(self) -> None:
        """A 1000-level chain keeps its top levels in order and the deepest kept node counts the cut child."""
        snapshot = deep_running_chain().to_dict()
        levels = list(walk(snapshot))
        deepest, depth = levels[-1]
        assert 100 <= depth <= MAX_LEVELS
        assert [node["step_message"].strip() for node, _ in levels] == [f"level {n}" for n in range(1, depth + 1)]
        assert deepest["omitted_children"] == 1 and deepest["children"] == []

    def test_tree_within_budget_is_not_reduced(self) -> None:
        """A tree that fits is sent whole, with nothing counted as omitted."""
        root = ProgressReport("root", sinks=[])
        for i in range(50):
            root.create_subreport(f"{i} {LONG}").complete()
        snapshot = root.to_dict()
        assert len(snapshot["children"]) == 50
        assert all(node["omitted_children"] == 0 for node, _ in walk(snapshot))


class TestReductionOrder:
    def test_finished_subtrees_shrink_before_any_sibling_goes(self) -> None:
        """Over budget, finished subtrees lose their descendants while every sibling stays listed."""
        root = ProgressReport("root", sinks=[])
        for name in ("F1", "F2"):
            finished = root.create_subreport(name)
            for j in range(100):
                finished.create_subreport(f"{j} {LONG}").complete()
            finished.complete()
        for j in range(3):
            root.create_subreport(f"leaf {j}").complete()
        root.create_subreport("running")
        snapshot = root.to_dict()
        expected = ["F1", "F2", "leaf 0", "leaf 1", "leaf 2", "running"]
        assert [child["step_message"] for child in snapshot["children"]] == expected
        assert snapshot["omitted_children"] == 0
        f1, f2 = snapshot["children"][:2]
        assert len(f1["children"]) + len(f2["children"]) < 200
        assert f1["omitted_children"] + f2["omitted_children"] == 200 - len(f1["children"]) - len(f2["children"])

    def test_older_finished_siblings_go_before_running_ones(self) -> None:
        """Finished siblings are dropped oldest first, and no running sibling is dropped while they suffice."""
        root = ProgressReport("root", sinks=[])
        for j in range(100):
            root.create_subreport(f"finished {j} {LONG}").complete()
        for j in range(100):
            root.create_subreport(f"running {j} {LONG}")
        snapshot = root.to_dict()
        names = [child["step_message"].split(" ")[:2] for child in snapshot["children"]]
        finished = [int(n) for kind, n in names if kind == "finished"]
        running = [int(n) for kind, n in names if kind == "running"]
        assert running == list(range(100))
        assert 0 < len(finished) < 100
        assert finished == list(range(100 - len(finished), 100))
        assert snapshot["omitted_children"] == 100 - len(finished)

    def test_running_siblings_past_the_first_50_go_last(self) -> None:
        """Once no finished sibling is left to drop, running ones go, never among the first 50."""
        root = ProgressReport("root", sinks=[])
        for j in range(10):
            root.create_subreport(f"finished {j} {LONG}").complete()
        for j in range(200):
            root.create_subreport(f"running {j} {LONG}")
        snapshot = root.to_dict()
        names = [child["step_message"].split(" ")[:2] for child in snapshot["children"]]
        assert all(kind == "running" for kind, _ in names)
        kept = [int(n) for _, n in names]
        assert kept[:50] == list(range(50))
        assert kept == sorted(kept) and len(kept) < 200
        assert snapshot["omitted_children"] == 10 + 200 - len(kept)

    def test_running_parents_outlast_their_finished_children(self) -> None:
        """Finished children under running parents go oldest first; every running parent stays."""
        snapshot = finished_under_running_parents().to_dict()
        parents = snapshot["children"]
        assert [parent["step_message"] for parent in parents] == [f"parent {i}" for i in range(20)]
        assert any(parent["omitted_children"] for parent in parents)
        for parent in parents:
            kept = [int(child["step_message"].split(" ")[0]) for child in parent["children"]]
            assert kept == list(range(100 - len(kept), 100))
            assert parent["omitted_children"] == 100 - len(kept)


class TestDeterminism:
    @pytest.mark.parametrize("build", [small_tree, running_siblings, finished_under_running_parents])
    def test_same_tree_gives_identical_json(self, build: Callable[[], ProgressReport]) -> None:
        """Serializing an unchanged tree twice gives the same text, reduced or not."""
        root = build()
        assert root.to_json() == root.to_json()

    def test_identically_built_trees_give_equal_snapshots(self) -> None:
        """Two trees built by the same steps differ only in their ids and times."""
        first, second = small_tree(), small_tree()
        assert without_ids_and_times(first.to_dict()) == without_ids_and_times(second.to_dict())
        assert first.to_dict()["report_id"] != second.to_dict()["report_id"]


class TestUnusualText:
    MESSAGES = (
        "Zürich → 東京 🎉 " * 40,
        "\x00\x01\x1b[31mred\x1b[0m\t\n\r\x7f" * 60,
        "lone \ud800 high and \udfff low surrogates " * 20,
        "🎉" * 600,
    )

    def test_messages_give_valid_utf8_json_within_the_bound(self) -> None:
        """Non-ASCII, control characters and lone surrogates give UTF-8 JSON of at most 256 KiB."""
        root = ProgressReport("root", sinks=[], attributes={"\ud800 key": "\udfff value"})
        for i in range(300):
            root.create_subreport(self.MESSAGES[i % len(self.MESSAGES)])
        text = root.to_json()
        encoded = text.encode("utf-8")
        assert len(encoded) <= MAX_BYTES
        snapshot = json.loads(encoded.decode("utf-8"))
        assert len(snapshot["children"]) >= 50
        messages = [child["step_message"] for child in snapshot["children"]]
        assert len(messages[0]) == 500 and messages[0][:499] == self.MESSAGES[0][:499]
        assert len(messages[1]) == 500 and messages[1][:499] == self.MESSAGES[1][:499]
        assert messages[2].startswith("lone ") and not any(0xD800 <= ord(c) <= 0xDFFF for c in messages[2])
        assert messages[3][:499] == "🎉" * 499

    def test_lone_surrogates_outside_messages_still_serialize(self) -> None:
        """A lone surrogate in the unit or an error never makes to_json fail."""
        root = ProgressReport("root", sinks=[], unit="\udfff")
        root.complete(Status.ERROR, error="bad \ud800")
        text = root.to_json()
        assert utf8_size(text) <= MAX_BYTES
        assert json.loads(text)["error"].startswith("bad ")


class TestEventDict:
    def test_event_has_routing_fields_and_own_fields_without_children(self) -> None:
        """An event names its kind, report, parent, seq and time, with the node's fields and no children."""
        root = small_tree()
        loading = root.children[0]
        loading.create_subreport("inner")
        event = event_dict(loading, "progress", 7, 12.5)
        assert {key: event[key] for key in ("event", "report_id", "parent_id", "seq", "time")} == {
            "event": "progress",
            "report_id": loading.report_id,
            "parent_id": root.report_id,
            "seq": 7,
            "time": 12.5,
        }
        assert (event["step_message"], event["steps"], event["status"]) == ("Loading", 2, "running")
        assert (event["fraction"], event["completed"], event["finished_at"], event["error"]) == (0.5, 1.0, None, None)
        assert event["started_at"] == loading.started_at
        assert "children" not in event and "snapshot" not in event
        assert json.loads(json.dumps(event, allow_nan=False)) == event

    def test_root_event_has_null_parent(self) -> None:
        """A root's events carry parent_id null."""
        root = ProgressReport("root", sinks=[])
        assert event_dict(root, "start", 1, 0.0)["parent_id"] is None

    def test_finish_event_carries_the_outcome(self) -> None:
        """A finish event of a failed report has its status, error and finish time."""
        root = small_tree()
        failed = root.children[2]
        event = event_dict(failed, "finish", 3, 1.0)
        assert (event["status"], event["error"], event["fraction"]) == ("error", "ValueError: no data", 1.0)
        assert event["finished_at"] == failed.finished_at

    def test_snapshot_event_carries_the_whole_tree(self) -> None:
        """A snapshot event adds the root's full snapshot under "snapshot"."""
        root = small_tree()
        event = event_dict(root, "snapshot", 9, 2.0)
        assert event["event"] == "snapshot"
        assert event["snapshot"] == root.to_dict()
        assert "children" not in event
