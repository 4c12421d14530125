"""Reading snapshots back as untrusted input (SPEC §2): round trips, validation, limits, ids."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from progress_instrument import ProgressReport, Status

DEEP = 100_000


def walk(report: ProgressReport) -> Iterator[ProgressReport]:
    """Every report of a tree in pre-order, iteratively."""
    stack = [report]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(node.children))


def node(message: str = "x", **fields: Any) -> dict[str, Any]:
    return {"step_message": message, **fields}


def rich_tree() -> ProgressReport:
    """A tree using every field: units, weights, attributes, failures, cancellation, retention."""
    root = ProgressReport("Analysis", steps=5, sinks=[], unit="files", attributes={"n": 1, "s": "x", "b": True})
    loading = root.create_subreport("Loading", steps=3, weight=2.0)
    loading.advance(1.5)
    for i in range(120):
        loading.create_subreport(f"file {i}").complete()
    failed = root.create_subreport("Plotting")
    failed.cancel()
    failed.complete(Status.ERROR, error=KeyError("axis"))
    root.create_subreport("Indeterminate").create_subreport("Zürich 🎉")
    return root


class TestRoundTrip:
    def test_from_json_reads_back_an_equal_tree(self) -> None:
        """to_dict of a tree read with from_json equals the original's."""
        original = rich_tree()
        assert ProgressReport.from_json(original.to_json()).to_dict() == original.to_dict()

    def test_from_dict_reads_back_an_equal_tree(self) -> None:
        """to_dict of a tree read with from_dict equals the original's."""
        original = rich_tree()
        assert ProgressReport.from_dict(original.to_dict()).to_dict() == original.to_dict()

    def test_our_snapshot_nodes_have_the_keys_the_fast_reader_fetches(self) -> None:
        """Every node we write has exactly the keys the reader fetches in one call (else it reads
        them key by key: still right, but slower, and only a benchmark would notice)."""
        from progress_instrument._wire_read import _SNAPSHOT_KEYS

        stack = [rich_tree().to_dict()]
        while stack:
            node = stack.pop()
            assert set(node) == set(_SNAPSHOT_KEYS)
            stack.extend(node["children"])

    def test_from_json_accepts_bytes(self) -> None:
        """UTF-8 bytes read like the text they encode."""
        original = rich_tree()
        assert ProgressReport.from_json(original.to_json().encode("utf-8")).to_dict() == original.to_dict()

    def test_finished_tree_round_trips(self) -> None:
        """A finished tree reads back finished, with its outcome and times."""
        original = rich_tree()
        original.complete()
        read = ProgressReport.from_json(original.to_json())
        assert read.to_dict() == original.to_dict()
        assert (read.status, read.fraction, read.finished_at) == (Status.SUCCESS, 1.0, original.finished_at)

    def test_read_tree_exposes_fields_as_attributes(self) -> None:
        """A read report's attributes hold the payload's values."""
        read = ProgressReport.from_json(rich_tree().to_json())
        loading, plotting, _ = read.children
        assert (read.step_message, read.steps, read.unit) == ("Analysis", 5, "files")
        assert read.attributes == {"n": 1, "s": "x", "b": True}
        assert (loading.completed, loading.weight) == (1.5, 2.0)
        assert (loading.omitted_children, len(loading.children)) == (20, 100)
        assert (plotting.status, plotting.error, plotting.cancelled) == (Status.ERROR, "KeyError: 'axis'", True)

    def test_reduced_snapshot_round_trips(self) -> None:
        """A snapshot cut to the byte budget reads back to the same snapshot."""
        original = ProgressReport("root", sinks=[])
        for i in range(300):
            original.create_subreport(f"{i} " + "€" * 600)
        snapshot = original.to_dict()
        assert snapshot["omitted_children"] > 0
        assert ProgressReport.from_json(original.to_json()).to_dict() == snapshot


class TestInvalidInput:
    @pytest.mark.parametrize(
        ("payload", "words"),
        [
            ('{"step_message": "x",', ["malformed json"]),
            ("", ["malformed json"]),
            ("[1, 2]", ["root", "object", "list"]),
            ('"just text"', ["root", "object", "str"]),
            ("null", ["root", "object", "null"]),
            ('{"step_message": "x", "steps": "x"}', ["root.steps", "integer"]),
            ('{"step_message": "x", "steps": -1}', ["root.steps", "-1"]),
            ('{"step_message": "x", "steps": true}', ["root.steps", "true"]),
            ('{"step_message": "x", "steps": 2.5}', ["root.steps", "integer"]),
            ('{"step_message": "x", "status": "done"}', ["root.status", "done"]),
            ('{"step_message": "x", "status": 1}', ["root.status"]),
            ('{"step_message": 3}', ["root.step_message", "string"]),
            ('{"steps": 1}', ["root.step_message"]),
            ('{"step_message": "x", "children": {}}', ["root.children", "list"]),
            ('{"step_message": "x", "children": [1]}', ["root.children[0]", "object"]),
            ('{"step_message": "x", "children": [{"step_message": "y", "steps": "z"}]}', ["root.children[0].steps"]),
            ('{"step_message": "x", "fraction": 2.0}', ["root.fraction", "2.0"]),
            ('{"step_message": "x", "fraction": -0.5}', ["root.fraction"]),
            ('{"step_message": "x", "fraction": NaN}', ["nan"]),
            ('{"step_message": "x", "completed": Infinity}', ["infinity"]),
            ('{"step_message": "x", "started_at": -Infinity}', ["infinity"]),
            ('{"step_message": "x", "attributes": {"k": [1, 2]}}', ["root.attributes.k", "list"]),
            ('{"step_message": "x", "attributes": [1]}', ["root.attributes", "object"]),
            ('{"step_message": "x", "report_type": "basic"}', ["root.report_type", "basic"]),
            ('{"step_message": "x", "report_id": 7}', ["root.report_id", "string"]),
            ('{"step_message": "x", "error": 7}', ["root.error", "string"]),
            ('{"step_message": "x", "cancelled": "yes"}', ["root.cancelled"]),
            ('{"step_message": "x", "omitted_children": -3}', ["root.omitted_children"]),
        ],
    )
    def test_bad_payload_gets_value_error_naming_the_problem(self, payload: str, words: list[str]) -> None:
        """Each kind of bad input raises ValueError whose message names the field or problem."""
        with pytest.raises(ValueError) as raised:
            ProgressReport.from_json(payload)
        message = str(raised.value).lower()
        for word in words:
            assert word.lower() in message

    def test_non_text_payload_gets_value_error(self) -> None:
        """A payload that is neither text nor bytes raises ValueError naming its type."""
        with pytest.raises(ValueError, match="dict"):
            ProgressReport.from_json({"step_message": "x"})  # type: ignore[arg-type]

    def test_bad_dict_gets_value_error_naming_the_field(self) -> None:
        """from_dict validates like from_json, naming the nested field."""
        data = node(children=[node(), node(children=[node(status="finished")])])
        with pytest.raises(ValueError, match=r"root\.children\[1\]\.children\[0\]\.status"):
            ProgressReport.from_dict(data)


class TestNesting:
    def test_json_nested_100000_deep_gets_value_error(self) -> None:
        """JSON text nested 10^5 deep raises ValueError about nesting, never RecursionError."""
        payload = '{"step_message": "x", "children": [' * DEEP + '{"step_message": "x"}' + "]}" * DEEP
        with pytest.raises(ValueError, match=r"(?i)nest|depth"):
            ProgressReport.from_json(payload)

    def test_dict_nested_100000_deep_gets_value_error(self) -> None:
        """A Python dict nested 10^5 deep raises ValueError about nesting, never RecursionError."""
        data = node()
        for _ in range(DEEP):
            data = node(children=[data])
        with pytest.raises(ValueError, match=r"(?i)nest|depth"):
            ProgressReport.from_dict(data)

    def test_json_just_over_the_depth_limit_gets_value_error(self) -> None:
        """A tree 257 levels deep (parseable JSON) is rejected for its depth."""
        payload = '{"step_message": "x", "children": [' * 256 + '{"step_message": "x"}' + "]}" * 256
        with pytest.raises(ValueError, match=r"(?i)nest|depth"):
            ProgressReport.from_json(payload)

    def test_tree_at_the_depth_limit_reads(self) -> None:
        """A tree exactly 256 levels deep reads, every level kept."""
        payload = '{"step_message": "x", "children": [' * 255 + '{"step_message": "leaf"}' + "]}" * 255
        read = ProgressReport.from_json(payload)
        assert [each.step_message for each in walk(read)] == ["x"] * 255 + ["leaf"]

    def test_max_depth_tightens_the_limit(self) -> None:
        """max_depth rejects a tree deeper than asked for."""
        payload = json.dumps(node(children=[node(children=[node()])]))
        assert len(list(walk(ProgressReport.from_json(payload, max_depth=3)))) == 3
        with pytest.raises(ValueError, match=r"(?i)depth"):
            ProgressReport.from_json(payload, max_depth=2)

    def test_max_depth_one_reads_only_a_root_without_children(self) -> None:
        """max_depth=1 reads a lone root and rejects a root's first child, naming it."""
        assert ProgressReport.from_dict(node("alone"), max_depth=1).step_message == "alone"
        with pytest.raises(ValueError, match=r"root\.children\[0\]: nesting depth"):
            ProgressReport.from_dict(node(children=[node()]), max_depth=1)


class TestSizeLimit:
    def test_100_mb_payload_gets_value_error_before_parsing(self) -> None:
        """A 100 MB payload is refused for its size (the unterminated JSON is never parsed)."""
        payload = '{"step_message": "' + "x" * (100 * 1024 * 1024)
        with pytest.raises(ValueError, match=r"(?i)limit") as raised:
            ProgressReport.from_json(payload)
        assert "malformed" not in str(raised.value).lower()
        with pytest.raises(ValueError, match=r"(?i)limit"):
            ProgressReport.from_json(payload.encode("ascii"))

    def test_size_counts_utf8_bytes(self) -> None:
        """The limit applies to the UTF-8 size, not the number of characters."""
        payload = json.dumps(node("€" * 1000), ensure_ascii=False)
        assert len(payload) < 2000 < len(payload.encode("utf-8"))
        with pytest.raises(ValueError, match=r"(?i)limit"):
            ProgressReport.from_json(payload, max_bytes=2000)
        assert ProgressReport.from_json(payload, max_bytes=4000).step_message == "€" * 1000

    def test_max_bytes_raises_the_limit(self) -> None:
        """A payload over the default 16 MiB is refused by default and read with a larger max_bytes."""
        payload = json.dumps(node("big", attributes={"blob": "x" * (17 * 1024 * 1024)}))
        with pytest.raises(ValueError, match=r"(?i)limit"):
            ProgressReport.from_json(payload)
        read = ProgressReport.from_json(payload, max_bytes=32 * 1024 * 1024)
        assert read.step_message == "big" and len(read.attributes["blob"]) == 17 * 1024 * 1024


class TestIds:
    def test_first_occurrence_keeps_its_id_and_repeats_get_fresh_ones(self) -> None:
        """Ids are kept where they first occur (pre-order); missing and repeated ones become fresh and unique."""
        data = node(
            "root",
            report_id="a",
            children=[
                node("repeat of root", report_id="a"),
                node("b", report_id="b", children=[node("repeat of b", report_id="b")]),
                node("missing"),
                node("empty", report_id=""),
            ],
        )
        read = ProgressReport.from_dict(data)
        ids = {each.step_message: each.report_id for each in walk(read)}
        assert (ids["root"], ids["b"]) == ("a", "b")
        assert len(set(ids.values())) == 6
        for fresh in ("repeat of root", "repeat of b", "missing", "empty"):
            assert ids[fresh] not in ("a", "b", "")

    def test_all_nodes_named_root_get_unique_ids(self) -> None:
        """A deprogressapi-style tree where every id is "root" keeps "root" on the root only."""
        data = node("top", report_id="root", children=[node(f"c{i}", report_id="root") for i in range(5)])
        read = ProgressReport.from_dict(data)
        assert read.report_id == "root"
        assert len({each.report_id for each in walk(read)}) == 6

    def test_read_ids_serialize_again(self) -> None:
        """The renumbered tree's own snapshot has unique ids and the kept ones."""
        data = node("top", report_id="root", children=[node("a", report_id="root"), node("b", report_id="root")])
        snapshot = ProgressReport.from_dict(data).to_dict()
        ids = [snapshot["report_id"], *(child["report_id"] for child in snapshot["children"])]
        assert ids[0] == "root" and len(set(ids)) == 3


class TestLenientFields:
    def test_unknown_fields_are_ignored(self) -> None:
        """Fields the reader does not know, such as deprogressapi's settings, change nothing."""
        plain = node("job", steps=2, children=[node("a", status="success")])
        extra_child = node("a", status="success", nested={"deep": [{}]})
        extra = node("job", steps=2, settings={"show_method": "NONE"}, colour=[1, 2], children=[extra_child])
        assert ProgressReport.from_dict(extra).to_dict()["children"][0]["status"] == "success"
        read_plain, read_extra = ProgressReport.from_dict(plain).to_dict(), ProgressReport.from_dict(extra).to_dict()
        for snapshot in (read_plain, read_extra):
            del snapshot["report_id"]
            del snapshot["children"][0]["report_id"]
        assert read_plain == read_extra

    def test_minimal_node_gets_defaults(self) -> None:
        """A node with only a step_message reads as running, indeterminate, with no children."""
        read = ProgressReport.from_json('{"step_message": "only"}')
        assert (read.status, read.steps, read.fraction) == (Status.RUNNING, 0, 0.0)
        assert (read.children, read.error) == ([], None)

    def test_failed_node_without_error_gets_a_message(self) -> None:
        """A failure read without an error text still gets a non-empty error."""
        read = ProgressReport.from_json('{"step_message": "x", "status": "error"}')
        assert read.status is Status.ERROR and read.error

    def test_escaped_lone_surrogates_in_any_field_serialize_again(self) -> None:
        """A payload with escaped lone surrogates in its strings reads, and its snapshot is valid UTF-8."""
        payload = (
            '{"step_message": "m\\ud800", "report_id": "id\\ud800", "unit": "u\\udfff", "status": "error",'
            ' "error": "e\\ud800", "error_type": "T\\ud800", "attributes": {"k\\ud800": "v\\udfff"}}'
        )
        text = ProgressReport.from_json(payload).to_json()
        assert json.loads(text.encode("utf-8"))["step_message"].startswith("m")
