"""`track` (SPEC §6): exact per-item fractions, exit paths, cancellation at the next item, emission."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from typing import Any

import pytest

from progress_instrument import (
    ProgressCancelled,
    ProgressReport,
    Status,
    configure,
    current_report,
    reports_progress,
    step,
    track,
    use_report,
)
from progress_instrument.testing import capture_events

#: Upper bound on any wait for another thread or task, so a broken test fails instead of hanging.
TIMEOUT = 10.0


def root(message: str = "root", **kwargs: Any) -> ProgressReport:
    return ProgressReport(message, sinks=[], **kwargs)


def loop_node() -> ProgressReport:
    """The report current in a loop body: the `track` node itself."""
    node = current_report()
    assert node is not None
    return node


class BadInput(Exception):
    """A user's own exception type, defined outside builtins."""


def numbers(count: int) -> Iterator[int]:
    """A generator: no `len()`, no length hint."""
    yield from range(count)


async def async_numbers(count: int) -> AsyncIterator[int]:
    """An async generator yielding 0 .. count - 1 with a suspension point per item."""
    for item in range(count):
        await asyncio.sleep(0)
        yield item


class Hinted:
    """An iterable with only `__iter__` and `__length_hint__` (no `len()`)."""

    def __init__(self, count: int, hint: int) -> None:
        self.count = count
        self.hint = hint

    def __iter__(self) -> Iterator[int]:
        yield from range(self.count)

    def __length_hint__(self) -> int:
        return self.hint


class LyingLength:
    """An iterable whose `len()` announces `announced` items but which yields `actual`."""

    def __init__(self, announced: int, actual: int, *, as_list: bool) -> None:
        self.announced = announced
        self.actual = actual
        self.as_list = as_list

    def __len__(self) -> int:
        return self.announced

    def __iter__(self) -> Iterator[int]:
        if self.as_list:
            return iter(list(range(self.actual)))  # a list iterator: the fast path
        return numbers(self.actual)  # a generator: counted beside the source


def fails_after(count: int, error: BaseException) -> Iterator[int]:
    """A generator that yields 0 .. count - 1, then raises `error`."""
    yield from range(count)
    raise error


#: Sources of six items, one per kind the implementation distinguishes (SPEC §10's fast paths and the rest).
SOURCES: dict[str, Callable[[], Iterable[Any]]] = {
    "list": lambda: list(range(6)),
    "tuple": lambda: tuple(range(6)),
    "range": lambda: range(6),
    "generator": lambda: numbers(6),
    "dict": lambda: dict.fromkeys(range(6)),
}
SOURCE_KINDS = pytest.mark.parametrize("kind", list(SOURCES))


class TestFractions:
    @pytest.mark.parametrize("kind", ["list", "range", "generator"])
    @pytest.mark.parametrize("count", [1, 3, 7, 10])
    def test_fraction_at_item_with_inner_step_half_done_is_exact(self, kind: str, count: int) -> None:
        """At item i of N with an inner step half done, the loop's fraction is exactly (i + 0.5) / N."""
        sources: dict[str, Iterable[int]] = {
            "list": list(range(count)),
            "range": range(count),
            "generator": numbers(count),
        }
        seen: list[tuple[float, float]] = []
        with root():
            for index in track(sources[kind], "loop", total=count):
                loop = loop_node()
                with step("item", steps=2) as inner:
                    inner.advance()
                    seen.append((loop.fraction, (index + 0.5) / count))
        assert len(seen) == count
        assert [actual for actual, _ in seen] == [expected for _, expected in seen]

    def test_fraction_counts_each_item_once_across_its_finished_steps(self) -> None:
        """Between items, finished steps of earlier items are counted by the position, never twice."""
        count = 4
        seen: list[tuple[str, float, float]] = []
        with root():
            for index in track(list(range(count)), "loop"):
                loop = loop_node()
                seen.append(("before", loop.fraction, index / count))
                with step("first", weight=0.5):
                    pass
                seen.append(("half", loop.fraction, (index + 0.5) / count))
                with step("second", weight=0.5):
                    pass
                seen.append(("done", loop.fraction, (index + 1) / count))
        assert [(label, actual) for label, actual, _ in seen] == [(label, expected) for label, _, expected in seen]

    def test_nested_tracks_compose_fractions(self) -> None:
        """A track inside a track's body composes: at outer item i of N, inner item j of M, (i + j/M) / N."""
        outer_count, inner_count = 3, 5
        seen: list[tuple[float, float]] = []
        with root() as job:
            for i in track(range(outer_count), "outer"):
                outer = loop_node()
                for j in track(list(range(inner_count)), "inner"):
                    assert loop_node().parent is outer
                    seen.append((outer.fraction, (i + j / inner_count) / outer_count))
        assert len(seen) == outer_count * inner_count
        assert [actual for actual, _ in seen] == [expected for _, expected in seen]
        outer_node = job.children[0]
        assert outer_node.status is Status.SUCCESS
        assert outer_node.omitted_children + len(outer_node.children) == outer_count

    @SOURCE_KINDS
    def test_completed_is_the_items_finished_while_a_body_runs(self, kind: str) -> None:
        """While item i's body runs, `completed` is i; once the loop is exhausted it is N."""
        seen: list[float] = []
        with root() as job:
            for _ in track(SOURCES[kind](), "loop"):
                seen.append(loop_node().completed)
        assert seen == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
        assert job.children[0].completed == 6.0

    def test_fraction_is_zero_at_the_first_item_and_one_after_the_loop(self) -> None:
        """A loop starts at 0.0 and is 1.0 once exhausted."""
        with root() as job:
            for index in track(range(4), "loop"):
                if index == 0:
                    assert loop_node().fraction == 0.0
        assert job.children[0].fraction == 1.0


class TestSteps:
    def test_total_sets_steps_over_len(self) -> None:
        """`total=` wins over `len()`."""
        with root():
            for _ in track([1, 2, 3], "loop", total=8):
                assert loop_node().steps == 8

    def test_len_sets_steps(self) -> None:
        """A sized iterable gives `steps = len()`."""
        with root():
            for _ in track("abcde", "loop"):
                assert loop_node().steps == 5

    def test_positive_length_hint_sets_steps(self) -> None:
        """An object with only `__iter__` and `__length_hint__` gives `steps` = its hint."""
        with root() as job:
            for _ in track(Hinted(4, hint=4), "loop"):
                assert loop_node().steps == 4
        assert job.children[0].completed == 4.0

    def test_zero_length_hint_is_indeterminate(self) -> None:
        """A hint of 0 leaves the loop indeterminate (steps 0), still counting its items."""
        with root() as job:
            for _ in track(Hinted(3, hint=0), "loop"):
                assert loop_node().steps == 0
        assert job.children[0].completed == 3.0

    @pytest.mark.parametrize("make", [lambda: numbers(5), lambda: map(str, numbers(5))], ids=["generator", "map"])
    def test_unsized_source_is_indeterminate_and_counts_items(self, make: Callable[[], Iterable[Any]]) -> None:
        """Without total, len or hint, steps is 0, the fraction 0.0 while running, and completed counts items."""
        seen: list[tuple[int, float, float]] = []
        with root() as job:
            for _ in track(make(), "loop"):
                loop = loop_node()
                seen.append((loop.steps, loop.fraction, loop.completed))
        assert seen == [(0, 0.0, float(index)) for index in range(5)]
        loop = job.children[0]
        assert loop.steps == 0
        assert loop.completed == 5.0
        assert loop.fraction == 1.0
        assert loop.status is Status.SUCCESS

    def test_message_and_unit_reach_the_node(self) -> None:
        """The message and unit are the node's; weight is its worth to the parent."""
        with root(steps=4) as job:
            for _ in track([1, 2], "Per file", unit="files", weight=2.0):
                loop = loop_node()
                assert (loop.step_message, loop.unit, loop.weight) == ("Per file", "files", 2.0)
            assert job.fraction == 0.5


class TestContext:
    def test_node_is_current_inside_the_body_and_not_after(self) -> None:
        """Inside the body the track node is current; after the loop the enclosing report is again."""
        inside: list[ProgressReport | None] = []
        with root() as job:
            for _ in track([1, 2, 3], "loop"):
                inside.append(current_report())
            after = current_report()
        node = job.children[0]
        assert inside == [node, node, node]
        assert node.parent is job
        assert after is job

    def test_parent_is_taken_at_the_first_iter(self) -> None:
        """A track object made outside any report and iterated inside one is a child of that report."""
        items = track([1, 2], "loop")
        assert current_report() is None
        with root() as job:
            for _ in items:
                assert loop_node().parent is job
        assert [child.step_message for child in job.children] == ["loop"]
        assert current_report() is None

    def test_parent_is_the_step_around_the_loop(self) -> None:
        """A loop inside a `step` is that step's child, and a step in its body is the loop's child."""
        with root(), step("outer") as outer:
            for _ in track([1], "loop"):
                with step("inner") as inner:
                    pass
        assert inner.parent is not None
        assert inner.parent.parent is outer

    def test_loop_with_nothing_current_is_a_root(self) -> None:
        """With no current report, the loop node is a new root, finished success after the loop."""
        nodes: list[ProgressReport] = []
        for _ in track([1, 2], "alone"):
            nodes.append(loop_node())
        assert current_report() is None
        assert nodes[0] is nodes[1]
        assert nodes[0].parent is None
        assert nodes[0].status is Status.SUCCESS
        assert nodes[0].completed == 2.0

    def test_async_node_is_current_inside_the_body_and_not_after(self) -> None:
        """`async for` makes the node current in the body and restores the enclosing report after."""

        async def main() -> tuple[ProgressReport, list[ProgressReport | None], ProgressReport | None]:
            inside: list[ProgressReport | None] = []
            with root() as job:
                async for _ in track(async_numbers(3), "loop"):
                    await asyncio.sleep(0)
                    inside.append(current_report())
                after = current_report()
            return job, inside, after

        job, inside, after = asyncio.run(main())
        node = job.children[0]
        assert inside == [node, node, node]
        assert after is job
        assert node.status is Status.SUCCESS


class TestInputs:
    @pytest.mark.parametrize(
        ("source", "expected"),
        [
            ([3, 1, 2], [3, 1, 2]),
            ((3, 1, 2), [3, 1, 2]),
            (range(2, 5), [2, 3, 4]),
            ({"a": 1, "b": 2, "c": 3}, ["a", "b", "c"]),
            ("xyz", ["x", "y", "z"]),
        ],
        ids=["list", "tuple", "range", "dict", "str"],
    )
    def test_sized_input_yields_its_items_and_finishes_success(
        self, source: Iterable[Any], expected: list[Any]
    ) -> None:
        """A sized input yields its items in order; the node has steps = len and ends success with all done."""
        with root() as job:
            items = list(track(source, "loop"))
        assert items == expected
        node = job.children[0]
        assert (node.steps, node.completed, node.status) == (3, 3.0, Status.SUCCESS)

    @pytest.mark.parametrize(
        ("make", "expected"),
        [(lambda: numbers(4), [0, 1, 2, 3]), (lambda: map(str, range(4)), ["0", "1", "2", "3"])],
        ids=["generator", "map"],
    )
    def test_unsized_input_yields_its_items_and_finishes_success(
        self, make: Callable[[], Iterable[Any]], expected: list[Any]
    ) -> None:
        """A generator or map object yields its items; the node ends success with completed = items."""
        with root() as job:
            items = [item for item in track(make(), "loop")]
        assert items == expected
        node = job.children[0]
        assert (node.completed, node.status) == (4.0, Status.SUCCESS)

    @pytest.mark.parametrize(
        "make", [lambda: async_numbers(4), lambda: [0, 1, 2, 3]], ids=["async-generator", "plain-list"]
    )
    def test_async_for_yields_the_items_and_finishes_success(self, make: Callable[[], Any]) -> None:
        """`async for` over an async generator or a plain list yields its items; the node ends success."""

        async def main() -> tuple[ProgressReport, list[int], list[float]]:
            items: list[int] = []
            completed: list[float] = []
            with root() as job:
                async for item in track(make(), "loop", total=4):
                    completed.append(loop_node().completed)
                    items.append(item)
            return job, items, completed

        job, items, completed = asyncio.run(main())
        assert items == [0, 1, 2, 3]
        assert completed == [0.0, 1.0, 2.0, 3.0]
        node = job.children[0]
        assert (node.completed, node.status) == (4.0, Status.SUCCESS)

    def test_async_fraction_at_item_with_inner_step_half_done_is_exact(self) -> None:
        """`async for` gives the same exact (i + 0.5) / N with an inner step half done."""

        async def main() -> list[tuple[float, float]]:
            seen: list[tuple[float, float]] = []
            with root():
                async for index in track(async_numbers(4), "loop", total=4):
                    loop = loop_node()
                    async with step("item", steps=2) as inner:
                        inner.advance()
                        seen.append((loop.fraction, (index + 0.5) / 4))
            return seen

        seen = asyncio.run(main())
        assert len(seen) == 4
        assert [actual for actual, _ in seen] == [expected for _, expected in seen]

    def test_empty_input_finishes_success_at_once(self) -> None:
        """An empty input runs no body and finishes the node success with nothing done."""
        with root() as job:
            for _ in track([], "loop"):
                raise AssertionError("no item")
        node = job.children[0]
        assert (node.steps, node.completed, node.status) == (0, 0.0, Status.SUCCESS)


class TestEarlyExit:
    @SOURCE_KINDS
    def test_break_finishes_with_completed_count(self, kind: str) -> None:
        """`break` at item i finishes the node success at once, with completed = i (stopped at i/N)."""
        with root() as job:
            for index, _ in enumerate(track(SOURCES[kind](), "loop")):
                if index == 3:
                    break
            node = job.children[0]
            assert node.status is Status.SUCCESS
            assert node.completed == 3.0
            assert node.steps == (0 if kind == "generator" else 6)
            assert current_report() is job

    def test_exception_in_body_finishes_the_node_success_and_the_step_error(self) -> None:
        """An exception in the body leaves the loop success at items finished; the enclosing step fails."""
        error = BadInput("bad grid")
        with root() as job:
            with pytest.raises(BadInput) as raised, step("outer") as outer:
                for index in track(range(5), "loop"):
                    if index == 2:
                        raise error
            assert current_report() is job
        assert raised.value is error
        node = outer.children[0]
        assert (node.status, node.completed, node.error) == (Status.SUCCESS, 2.0, None)
        assert outer.status is Status.ERROR
        assert outer.error == "BadInput: bad grid"

    def test_exception_in_body_marks_the_decorated_call_error(self) -> None:
        """Under `@reports_progress`, an exception in the body fails the call's report, not the loop's."""
        error = BadInput("bad row")

        @reports_progress("import")
        def run() -> None:
            for index in track(["a", "b", "c"], "rows"):
                if index == "b":
                    raise error

        with root() as job:
            with pytest.raises(BadInput) as raised:
                run()
        assert raised.value is error
        call = job.children[0]
        node = call.children[0]
        assert (call.status, call.error) == (Status.ERROR, "BadInput: bad row")
        assert (node.status, node.completed) == (Status.SUCCESS, 1.0)

    def test_source_exception_propagates_unchanged_and_finishes_the_node(self) -> None:
        """A generator raising mid-way propagates as the same object, and the loop node is finished at once."""
        error = KeyError("missing")
        seen: list[int] = []
        with root() as job:
            with pytest.raises(KeyError) as raised:
                for item in track(fails_after(3, error), "loop"):
                    seen.append(item)
            node = job.children[0]
            assert node.finished
            assert current_report() is job
        assert raised.value is error
        assert seen == [0, 1, 2]

    def test_source_exception_finishes_the_node_error(self) -> None:
        """An exception raised by a generator source is "any other exception" (SPEC §1): the node ends error.

        The loop runs no Python code per item, so it cannot see the exception object itself (that
        reaches the enclosing step or call); its error says the source raised.
        """
        with root() as job:
            with pytest.raises(KeyError), step("enclosing") as enclosing:
                for _ in track(fails_after(3, KeyError("missing")), "loop"):
                    pass
        node = enclosing.children[0]
        assert node.status is Status.ERROR
        assert node.error == "SourceError: the source iterator of 'loop' raised"
        assert enclosing.error == "KeyError: 'missing'"
        assert job.status is Status.SUCCESS

    def test_source_exception_counts_every_item_whose_body_finished(self) -> None:
        """When the source raises after 3 items, the 3 bodies that ran to the end are completed."""
        with root() as job:
            with pytest.raises(KeyError):
                for _ in track(fails_after(3, KeyError("missing")), "loop"):
                    pass
        assert job.children[0].completed == 3.0

    def test_async_source_exception_propagates_unchanged_and_finishes_the_node_error(self) -> None:
        """An async generator raising mid-way propagates as the same object; the node ends error at items done."""
        error = KeyError("missing")

        async def source() -> AsyncIterator[int]:
            async for item in async_numbers(3):
                yield item
            raise error

        async def main() -> tuple[ProgressReport, list[int], BaseException | None]:
            seen: list[int] = []
            with root() as job:
                try:
                    async for item in track(source(), "loop"):
                        seen.append(item)
                except KeyError as raised:
                    return job, seen, raised
            return job, seen, None

        job, seen, raised = asyncio.run(main())
        assert raised is error
        assert seen == [0, 1, 2]
        node = job.children[0]
        assert (node.status, node.error, node.completed) == (Status.ERROR, "KeyError: 'missing'", 3.0)

    def test_async_break_with_aclosing_finishes_with_completed_count(self) -> None:
        """`async for` closed by `contextlib.aclosing` after `break` finishes the node success at i/N."""

        async def main() -> tuple[ProgressReport, ProgressReport | None, Status]:
            with root() as job:
                async with contextlib.aclosing(track(async_numbers(5), "loop").__aiter__()) as items:
                    async for item in items:
                        if item == 2:
                            break
                status = job.children[0].status
                return job, current_report(), status

        job, after, status = asyncio.run(main())
        node = job.children[0]
        assert status is Status.SUCCESS
        assert node.completed == 2.0
        assert after is job

    def test_async_exception_in_body_finishes_the_node_success_and_the_step_error(self) -> None:
        """With `aclosing`, an exception in an `async for` body leaves the loop success and fails the step."""
        error = BadInput("bad chunk")

        async def main() -> ProgressReport:
            with root():
                with contextlib.suppress(BadInput):
                    async with step("outer") as outer:
                        async with contextlib.aclosing(track([0, 1, 2, 3], "loop").__aiter__()) as items:
                            async for item in items:
                                if item == 1:
                                    raise error
            return outer

        outer = asyncio.run(main())
        node = outer.children[0]
        assert (node.status, node.completed) == (Status.SUCCESS, 1.0)
        assert (outer.status, outer.error) == (Status.ERROR, "BadInput: bad chunk")


class TestZip:
    def test_zipped_loops_leave_the_enclosing_report_current(self) -> None:
        """After `zip(track(a), track(b))` neither loop node is current: the enclosing report is."""
        with root() as job:
            pairs = list(zip(track([1, 2, 3], "a"), track("xyz", "b"), strict=False))
            assert current_report() is job
        assert pairs == [(1, "x"), (2, "y"), (3, "z")]
        assert current_report() is None

    def test_zipped_loops_at_top_level_leave_nothing_current(self) -> None:
        """With nothing current before, zipped loops leave nothing current after."""
        for _ in zip(track([1, 2], "a"), track([3, 4, 5], "b"), strict=False):
            pass
        assert current_report() is None

    @pytest.mark.parametrize(
        ("first", "second"), [(3, 3), (2, 4), (4, 2)], ids=["equal", "first-short", "second-short"]
    )
    def test_zipped_loops_both_finish(self, first: int, second: int) -> None:
        """Both zipped loop nodes are finished once the zip loop ends, however their lengths compare."""
        nodes: list[ProgressReport] = []
        with root() as job:
            for _ in zip(track(range(first), "a"), track(list(range(second)), "b"), strict=False):
                pass
            stack = list(job.children)
            while stack:
                node = stack.pop()
                nodes.append(node)
                stack.extend(node.children)
        assert sorted(node.step_message for node in nodes) == ["a", "b"]
        assert all(node.finished for node in nodes)

    @pytest.mark.parametrize(
        ("first", "second"), [(3, 3), (2, 4), (4, 2)], ids=["equal", "first-short", "second-short"]
    )
    def test_zipped_loops_both_finish_success(self, first: int, second: int) -> None:
        """Neither zipped loop failed: both end success (a loop left early is "stopped at i/N", SPEC §6)."""
        nodes: dict[str, ProgressReport] = {}
        with root() as job:
            for _ in zip(track(range(first), "a"), track(list(range(second)), "b"), strict=False):
                pass
            stack = list(job.children)
            while stack:
                node = stack.pop()
                nodes[node.step_message] = node
                stack.extend(node.children)
        assert {name: (node.status, node.error) for name, node in nodes.items()} == {
            "a": (Status.SUCCESS, None),
            "b": (Status.SUCCESS, None),
        }


class TestLyingLength:
    @pytest.mark.parametrize("as_list", [True, False], ids=["list-iterator", "generator"])
    @pytest.mark.parametrize("actual", [15, 5])
    def test_fraction_stays_in_unit_interval_and_the_node_finishes(self, actual: int, as_list: bool) -> None:
        """A `len()` of 10 over 15 or 5 items keeps the fraction in [0, 1] and finishes with every item done."""
        fractions: list[float] = []
        with root() as job:
            for _ in track(LyingLength(10, actual, as_list=as_list), "loop"):
                loop = loop_node()
                fractions.append(loop.fraction)
                with step("half", steps=2) as inner:
                    inner.advance()
                    fractions.append(loop.fraction)
                fractions.append(loop.fraction)
        node = job.children[0]
        assert len(fractions) == 3 * actual
        assert all(0.0 <= fraction <= 1.0 for fraction in fractions)
        assert fractions == sorted(fractions)
        assert node.steps == 10
        assert (node.status, node.completed, node.fraction) == (Status.SUCCESS, float(actual), 1.0)


def run_cancelled_in_thread(source: Iterable[Any], stop_after: int) -> dict[str, Any]:
    """Run a loop in a thread, cancel its parent from this thread while item `stop_after` runs, then release it."""
    job = root("job")
    reached, release = threading.Event(), threading.Event()
    result: dict[str, Any] = {"seen": []}

    def work() -> None:
        with use_report(job):
            try:
                for item in track(source, "loop"):
                    result["seen"].append(item)
                    if len(result["seen"]) == stop_after + 1:
                        reached.set()
                        assert release.wait(TIMEOUT)
            except ProgressCancelled as error:
                result["error"] = error
            result["after"] = current_report()

    thread = threading.Thread(target=work)
    thread.start()
    try:
        assert reached.wait(TIMEOUT)
        assert job.cancel() is True
    finally:
        release.set()
        thread.join(TIMEOUT)
    assert not thread.is_alive()
    result["job"] = job
    result["node"] = job.children[0]
    return result


class TestGrowingList:
    def test_list_growing_during_the_loop_counts_every_item(self) -> None:
        """A list appended to in its own loop (a work queue) yields every item and counts each one finished."""
        queue = [0, 1, 2]
        seen: list[tuple[int, float]] = []
        with root() as job:
            for item in track(queue, "queue"):
                seen.append((item, loop_node().completed))
                if len(queue) < 6:
                    queue.append(len(queue))
        assert seen == [(index, float(index)) for index in range(6)]
        node = job.children[0]
        assert (node.status, node.completed) == (Status.SUCCESS, 6.0)

    def test_cancel_stops_a_growing_list_at_the_next_item_without_skipping(self) -> None:
        """Cancelling a loop over a list that grows in its body raises at the next item, skipping none before."""
        queue = [0, 1, 2]
        seen: list[int] = []
        with root() as job:
            with pytest.raises(ProgressCancelled):
                for item in track(queue, "queue"):
                    seen.append(item)
                    queue.extend([len(queue), len(queue) + 1])
                    if item == 1:
                        job.cancel()
                    if len(seen) > 10:
                        break
        assert seen == [0, 1]
        node = job.children[0]
        assert (node.status, node.cancelled) == (Status.ERROR, True)


class TestCancellation:
    @SOURCE_KINDS
    def test_cancel_from_another_thread_raises_at_the_next_item(self, kind: str) -> None:
        """A cancel landing during item 2 lets that body finish and raises `ProgressCancelled` at item 3."""
        result = run_cancelled_in_thread(SOURCES[kind](), stop_after=2)
        assert isinstance(result.get("error"), ProgressCancelled)
        assert result["seen"] == list(SOURCES[kind]())[:3]
        assert result["after"] is result["job"]
        node = result["node"]
        assert (node.status, node.cancelled) == (Status.ERROR, True)
        assert node.error is not None and node.error.startswith("ProgressCancelled")
        assert not result["job"].finished

    @SOURCE_KINDS
    def test_cancel_from_another_thread_counts_the_items_finished(self, kind: str) -> None:
        """After a cancel during item 2, the three bodies that ran to the end are completed."""
        result = run_cancelled_in_thread(SOURCES[kind](), stop_after=2)
        assert result["seen"] == list(SOURCES[kind]())[:3]
        assert result["node"].completed == 3.0

    @SOURCE_KINDS
    def test_cancel_before_the_loop_raises_at_the_first_item(self, kind: str) -> None:
        """Under a report cancelled before the loop starts, the first item raises and no body runs."""
        seen: list[Any] = []
        with root() as job:
            job.cancel()
            with pytest.raises(ProgressCancelled):
                for item in track(SOURCES[kind](), "loop"):
                    seen.append(item)
            assert current_report() is job
        assert seen == []
        node = job.children[0]
        assert (node.status, node.cancelled, node.completed) == (Status.ERROR, True, 0.0)

    def test_cancel_of_the_loop_node_itself_stops_it(self) -> None:
        """Cancelling the track node (not an ancestor) in its own body stops it at the next item."""
        seen: list[int] = []
        with root() as job:
            with pytest.raises(ProgressCancelled):
                for item in track(range(5), "loop"):
                    seen.append(item)
                    if item == 1:
                        assert loop_node().cancel() is True
        assert seen == [0, 1]
        node = job.children[0]
        assert (node.status, node.cancelled) == (Status.ERROR, True)
        assert not job.cancelled

    def test_cancel_before_a_step_in_the_body_raises_from_the_step_and_finishes_the_loop_cancelled(self) -> None:
        """A cancel landing in a body before its `step` makes the step entry raise; the loop ends cancelled."""
        seen: list[int] = []
        with root() as job:
            with pytest.raises(ProgressCancelled) as raised:
                for item in track(range(5), "loop"):
                    seen.append(item)
                    if item == 1:
                        job.cancel()
                    with step(f"item {item}"):
                        pass
        assert seen == [0, 1]
        assert isinstance(raised.value, ProgressCancelled)
        node = job.children[0]
        assert node.finished
        assert node.cancelled
        assert [child.step_message for child in node.children] == ["item 0"]

    @pytest.mark.parametrize(
        "make", [lambda: async_numbers(6), lambda: [0, 1, 2, 3, 4, 5]], ids=["async-generator", "plain-list"]
    )
    def test_async_cancel_from_another_thread_raises_at_the_next_item(self, make: Callable[[], Any]) -> None:
        """An `async for` loop cancelled from a thread during item 2 raises `ProgressCancelled` at item 3."""

        async def main() -> tuple[ProgressReport, list[int], BaseException | None]:
            job = root("job")
            reached, release = asyncio.Event(), asyncio.Event()
            seen: list[int] = []

            async def work() -> None:
                with use_report(job):
                    async for item in track(make(), "loop"):
                        seen.append(item)
                        if item == 2:
                            reached.set()
                            await release.wait()

            task = asyncio.create_task(work())
            await asyncio.wait_for(reached.wait(), TIMEOUT)
            assert await asyncio.to_thread(job.cancel) is True
            release.set()
            try:
                await asyncio.wait_for(task, TIMEOUT)
            except ProgressCancelled as error:
                return job, seen, error
            return job, seen, None

        job, seen, error = asyncio.run(main())
        assert isinstance(error, ProgressCancelled)
        assert seen == [0, 1, 2]
        node = job.children[0]
        assert (node.status, node.cancelled, node.completed) == (Status.ERROR, True, 3.0)

    def test_async_cancel_before_the_loop_raises_at_the_first_item(self) -> None:
        """An `async for` loop under a report cancelled beforehand raises at the first item."""

        async def main() -> tuple[ProgressReport, list[int]]:
            seen: list[int] = []
            with root() as job:
                job.cancel()
                with pytest.raises(ProgressCancelled):
                    async for item in track(async_numbers(3), "loop"):
                        seen.append(item)
            return job, seen

        job, seen = asyncio.run(main())
        assert seen == []
        node = job.children[0]
        assert (node.status, node.cancelled, node.completed) == (Status.ERROR, True, 0.0)

    def test_cancel_during_the_last_item_finishes_the_node_cancelled(self) -> None:
        """A cancel landing in the last item leaves the loop node finished with cancelled=True."""
        seen: list[int] = []
        with root() as job:
            with contextlib.suppress(ProgressCancelled):
                for item in track([0, 1, 2], "loop"):
                    seen.append(item)
                    if item == 2:
                        job.cancel()
        assert seen == [0, 1, 2]
        node = job.children[0]
        assert node.cancelled
        assert node.finished


class TestAdvance:
    def test_advance_on_the_track_node_is_ignored(self) -> None:
        """`advance()` on a loop node changes neither completed nor fraction: the loop counts its items."""
        seen: list[tuple[float, float]] = []
        with root() as job:
            for _ in track(range(4), "loop"):
                loop = loop_node()
                loop.advance(3)
                seen.append((loop.completed, loop.fraction))
        assert seen == [(float(index), index / 4) for index in range(4)]
        node = job.children[0]
        assert node.completed == 4.0
        node.advance()
        assert node.completed == 4.0


class TestEmission:
    def test_loop_with_a_silent_body_sends_progress_as_the_clock_advances(self) -> None:
        """A body that never calls the library still yields progress events with the items done so far."""
        marks: list[tuple[int, int]] = []
        with capture_events() as captured:
            with ProgressReport("job") as job:
                for index in track(range(50), "loop"):
                    if index % 10 == 5:
                        captured.clock.advance(0.1)
                        marks.append((index, len(captured.events)))
            node = job.children[0]
            node_id = node.report_id
            for index, count in marks:
                delivered = [event for event in captured.events[:count] if event["report_id"] == node_id]
                assert delivered, f"nothing about the loop delivered by item {index}"
                assert delivered[-1]["completed"] == index
            progress = [event["completed"] for event in captured.of(node) if event["event"] == "progress"]
            assert sorted(set(progress)) == [5, 15, 25, 35, 45]
            finish = captured.of(node)[-1]
            assert (finish["event"], finish["status"], finish["completed"]) == ("finish", "success", 50)
            assert captured.roots[0].to_dict() == job.to_dict()

    def test_rebuilt_tree_equals_the_producers_with_steps_in_the_loop(self) -> None:
        """Events of a loop with a step per item rebuild the producer's tree once the root has finished."""
        with capture_events() as captured:
            with ProgressReport("job", steps=1) as job:
                for index in track(list(range(300)), "loop"):
                    with step(f"item {index}"):
                        if index % 50 == 0:
                            captured.clock.advance(0.1)
            assert [root.report_id for root in captured.roots] == [job.report_id]
            assert captured.roots[0].to_dict() == job.to_dict()


class TestDisabled:
    @pytest.mark.parametrize("make", [lambda: [1, 2, 3], lambda: numbers(3), lambda: "abc"], ids=["list", "gen", "str"])
    def test_disabled_track_yields_the_same_items_and_builds_no_node(self, make: Callable[[], Iterable[Any]]) -> None:
        """With instrumentation disabled, `track` yields what the source yields and adds no report."""
        job = root()
        try:
            configure(enabled=False)
            with use_report(job):
                items = []
                for item in track(make(), "loop"):
                    assert current_report() is job
                    items.append(item)
        finally:
            configure(enabled=True)
        assert items == list(make())
        assert job.children == []
        assert job.omitted_children == 0

    def test_disabled_async_track_yields_the_same_items_and_builds_no_node(self) -> None:
        """With instrumentation disabled, `async for` over `track` yields the items and adds no report."""
        job = root()

        async def main() -> list[int]:
            with use_report(job):
                return [item async for item in track(async_numbers(3), "loop")]

        try:
            configure(enabled=False)
            items = asyncio.run(main())
        finally:
            configure(enabled=True)
        assert items == [0, 1, 2]
        assert job.children == []


class TestMemory:
    def test_long_loop_with_a_step_per_item_keeps_a_bounded_number_of_children(self) -> None:
        """10^5 items with a step each retain at most ~200 children and count the rest in omitted_children."""
        count = 100_000
        with root() as job:
            for _ in track(range(count), "loop"):
                with step("item"):
                    pass
        node = job.children[0]
        assert len(node.children) <= 200
        assert len(node.children) + node.omitted_children == count
        assert (node.status, node.completed) == (Status.SUCCESS, float(count))


class TestNonIterable:
    @pytest.mark.parametrize("value", [None, 5, 2.5, object()], ids=["None", "int", "float", "object"])
    def test_non_iterable_raises_type_error_at_the_call(self, value: object) -> None:
        """`track(x)` with a non-iterable `x` raises `TypeError` when called, before any iteration."""
        with pytest.raises(TypeError):
            track(value)  # type: ignore[arg-type]

    def test_async_only_iterable_in_a_plain_for_raises_type_error(self) -> None:
        """An async-only iterable in a plain `for` loop raises `TypeError` and leaves no node."""
        with root() as job:
            loop = track(async_numbers(1), "loop")
            with pytest.raises(TypeError):
                iter(loop)
        assert job.children == []
