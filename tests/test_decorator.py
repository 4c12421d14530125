"""`@reports_progress` (SPEC §5): forms, callable kinds, injection, explicit reports, exit paths."""

from __future__ import annotations

import asyncio
import inspect
import pickle
import traceback
from collections.abc import AsyncIterator, Iterator
from typing import Any, Optional

import deprogressapi
import pytest

from progress_instrument import (
    ProgressCancelled,
    ProgressReport,
    Status,
    configure,
    current_report,
    reports_progress,
    step,
)


def job(message: str = "job", **kwargs: Any) -> ProgressReport:
    return ProgressReport(message, sinks=[], **kwargs)


# Module-level, so that pickling by reference can find them.
@reports_progress("Computing")
def compute(x: int, reporter: ProgressReport | None = None) -> int:
    assert reporter is not None
    reporter.update(steps=1)
    reporter.advance()
    return x * 2


@reports_progress
def documented() -> ProgressReport | None:
    """Load the dataset.

    More text that is not the message.
    """
    return current_report()


@reports_progress()
def undocumented() -> ProgressReport | None:
    return current_report()


class Model:
    @reports_progress("fit")
    def fit(self, data: list[int], reporter: ProgressReport | None = None) -> tuple[Model, ProgressReport | None]:
        return self, reporter

    @classmethod
    @reports_progress("build")
    def build(cls, reporter: ProgressReport | None = None) -> tuple[type, ProgressReport | None]:
        return cls, reporter

    @reports_progress("convert")
    @staticmethod
    def convert(value: int, reporter: ProgressReport | None = None) -> tuple[int, ProgressReport | None]:
        return value, reporter


class TestForms:
    def test_message_from_argument_docstring_or_qualified_name(self) -> None:
        """The report's message is the given one, else the docstring's first line, else the qualname."""
        with job() as parent:
            compute(1)
            documented()
            undocumented()
        assert [child.step_message for child in parent.children] == ["Computing", "Load the dataset.", "undocumented"]

    def test_each_call_is_a_child_of_the_current_report(self) -> None:
        """Calls under a report become its children, finished success, with the return value intact."""
        with job() as parent:
            assert compute(21) == 42
            assert compute(1) == 2
        assert [child.status for child in parent.children] == [Status.SUCCESS, Status.SUCCESS]
        assert parent.children[0].fraction == 1.0

    def test_call_without_current_report_is_a_root(self) -> None:
        """With nothing current, the call's report is a root, current while the body runs."""
        report = undocumented()
        assert report is not None and report.parent is None
        assert report.status is Status.SUCCESS
        assert current_report() is None

    def test_bad_decorator_arguments_raise_at_decoration(self) -> None:
        """A wrong message type or steps fails where the decorator is applied."""
        with pytest.raises(TypeError, match="message"):
            reports_progress(3)  # type: ignore[call-overload]
        with pytest.raises(ValueError, match="steps"):
            reports_progress("x", steps=-1)


class TestMetadata:
    def test_name_doc_wrapped_and_signature_are_kept(self) -> None:
        """The decorated function looks like the original to introspection."""
        assert compute.__name__ == "compute"
        assert documented.__doc__ is not None and documented.__doc__.startswith("Load the dataset.")
        assert compute.__wrapped__.__name__ == "compute"  # type: ignore[attr-defined]
        assert list(inspect.signature(compute).parameters) == ["x", "reporter"]

    def test_inspect_kind_answers_are_kept(self) -> None:
        """iscoroutinefunction and friends say of the wrapper what they say of the function."""

        @reports_progress
        async def coroutine() -> None: ...

        @reports_progress
        def generator() -> Iterator[int]:
            yield 1

        @reports_progress
        async def async_generator() -> AsyncIterator[int]:
            yield 1

        assert inspect.iscoroutinefunction(coroutine)
        assert inspect.isgeneratorfunction(generator)
        assert inspect.isasyncgenfunction(async_generator)
        assert not inspect.iscoroutinefunction(compute)

    def test_pickles_by_reference(self) -> None:
        """A decorated module-level function pickles like the original: by its qualified name."""
        assert pickle.loads(pickle.dumps(compute)) is compute


class TestInjection:
    def test_annotated_parameter_gets_the_calls_report(self) -> None:
        """A parameter annotated ProgressReport receives the call's report, whatever its name."""

        @reports_progress("annotated")
        def work(progress: Optional[ProgressReport] = None) -> ProgressReport | None:  # noqa: UP045
            return progress

        with job() as parent:
            received = work()
        assert received is parent.children[0]

    def test_unannotated_reporter_parameter_is_injected_by_name(self) -> None:
        """The parameter named `reporter` gets the report when it has no annotation."""

        @reports_progress("by name")
        def work(reporter=None):  # type: ignore[no-untyped-def]
            return reporter

        assert isinstance(work(), ProgressReport)

    def test_otherwise_annotated_reporter_is_left_alone(self) -> None:
        """A `reporter: int` parameter is not a report parameter."""

        @reports_progress
        def work(reporter: int = 5) -> int:
            return reporter

        assert work() == 5

    def test_custom_param_name_and_param_none(self) -> None:
        """param= picks another name; param=None turns name-based injection off."""

        @reports_progress(param="progress")
        def custom(progress=None):  # type: ignore[no-untyped-def]
            return progress

        @reports_progress(param=None)
        def off(reporter=None):  # type: ignore[no-untyped-def]
            return reporter

        assert isinstance(custom(), ProgressReport)
        assert off() is None

    def test_never_through_kwargs(self) -> None:
        """A function taking **kwargs gets no report slipped into them."""

        @reports_progress
        def work(**kwargs: Any) -> dict[str, Any]:
            return kwargs

        assert work(a=1) == {"a": 1}

    def test_explicit_none_counts_as_not_passed(self) -> None:
        """reporter=None from the caller still gets the call's report, by keyword or by position."""
        with job() as parent:
            compute(1, reporter=None)
            compute(2, None)
        assert len(parent.children) == 2

    def test_methods_classmethods_and_staticmethods_get_their_report(self) -> None:
        """Binding keeps self/cls in place and the report lands in the right parameter."""
        model = Model()
        with job() as parent:
            same, fit_report = model.fit([1, 2])
            cls, build_report = Model.build()
            value, convert_report = Model.convert(7)
            unbound_self, unbound_report = Model.fit(model, [3])
        assert same is model and unbound_self is model
        assert cls is Model and value == 7
        reports = [fit_report, build_report, convert_report, unbound_report]
        assert reports == parent.children
        assert [report.step_message for report in parent.children] == ["fit", "build", "convert", "fit"]


class TestExplicitReports:
    def test_current_report_passed_down_gets_a_child(self) -> None:
        """Handing the current report to a call makes the call a child of it."""
        with job() as parent:
            compute(1, reporter=parent)
        assert parent.children[0].step_message == "Computing"

    def test_ancestor_passed_down_gets_a_child_under_the_current_step(self) -> None:
        """Code handing its own reporter down from inside a step nests the call under that step."""
        with job() as parent, step("phase") as phase:
            compute(1, reporter=parent)
        assert [child.step_message for child in phase.children] == ["Computing"]
        assert [child.step_message for child in parent.children] == ["phase"]

    def test_unrelated_report_becomes_the_calls_report_and_is_finished(self) -> None:
        """A framework's per-request report is current during the call and finished at its end."""
        request = job("request")
        seen: list[ProgressReport | None] = []

        @reports_progress
        def handler(reporter: ProgressReport | None = None) -> None:
            seen.append(current_report())
            seen.append(reporter)

        handler(reporter=request)
        assert seen == [request, request]
        assert request.status is Status.SUCCESS

    def test_deprogressapi_report_arrives_unchanged_and_receives_the_tree(self) -> None:
        """A DASF report reaches the function as it is, and the call's tree is mirrored into it."""
        dasf = deprogressapi.ProgressReport(step_message="request", steps=0)
        received: list[Any] = []

        @reports_progress("analysis")
        def analysis(reporter: deprogressapi.ProgressReport | None = None) -> None:
            received.append(reporter)
            with step("load"):
                pass
            with step("compute"):
                pass

        analysis(reporter=dasf)
        assert received == [dasf]
        assert dasf.status == "success"
        assert [child.step_message for child in dasf.children] == ["load", "compute"]
        assert dasf.steps >= len(dasf.children)
        # And it is still a payload DASF clients read.
        assert deprogressapi.ProgressReport.from_payload(dasf.model_dump_json()).children[1].step_message == "compute"


class TestExitPaths:
    def test_exception_fails_the_report_and_propagates_with_its_traceback(self) -> None:
        """The user's exception comes out unchanged, with the user's frame, and the report says error."""

        @reports_progress("failing")
        def failing() -> None:
            raise KeyError("tas")

        with job() as parent, pytest.raises(KeyError) as caught:
            failing()
        assert "failing" in [frame.name for frame in traceback.extract_tb(caught.value.__traceback__)]
        child = parent.children[0]
        assert (child.status, child.error) == (Status.ERROR, "KeyError: 'tas'")

    @pytest.mark.parametrize(
        ("exception", "status", "cancelled"),
        [
            (SystemExit(0), Status.SUCCESS, False),
            (KeyboardInterrupt(), Status.ERROR, False),
            (ProgressCancelled("stop"), Status.ERROR, True),
        ],
    )
    def test_exit_paths(self, exception: BaseException, status: Status, cancelled: bool) -> None:
        """SystemExit(0) succeeds; KeyboardInterrupt fails; a cancellation fails cancelled."""

        @reports_progress
        def raising() -> None:
            raise exception

        with pytest.raises(type(exception)), job() as parent:
            raising()
        child = parent.children[0]
        assert (child.status, child.cancelled) == (status, cancelled)

    def test_cancelled_task_finishes_its_report_cancelled(self) -> None:
        """asyncio.CancelledError finishes a coroutine's report as a cancelled error."""
        reports: list[ProgressReport | None] = []

        @reports_progress
        async def waiting() -> None:
            reports.append(current_report())
            await asyncio.Event().wait()

        async def main() -> None:
            task = asyncio.create_task(waiting())
            await asyncio.sleep(0)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

        asyncio.run(main())
        (report,) = reports
        assert report is not None and report.status is Status.ERROR and report.cancelled

    def test_cancelled_parent_stops_the_next_call(self) -> None:
        """A call under a cancelled report raises ProgressCancelled before its body runs."""
        ran: list[int] = []

        @reports_progress
        def work() -> None:
            ran.append(1)

        with pytest.raises(ProgressCancelled), job() as parent:
            parent.cancel()
            work()
        assert ran == []


class TestCoroutines:
    def test_report_starts_with_the_body_and_nests(self) -> None:
        """An awaited coroutine's report is a child of the report current when its body starts."""

        @reports_progress("inner")
        async def inner() -> ProgressReport | None:
            await asyncio.sleep(0)
            return current_report()

        @reports_progress("outer")
        async def outer() -> ProgressReport | None:
            return await inner()

        async def main() -> tuple[ProgressReport, ProgressReport | None]:
            with job() as parent:
                return parent, await outer()

        parent, inner_report = asyncio.run(main())
        assert inner_report is not None and inner_report.step_message == "inner"
        assert inner_report.parent is parent.children[0]

    def test_coroutine_never_awaited_makes_no_report(self) -> None:
        """Creating a coroutine is not starting it."""

        @reports_progress
        async def never() -> None: ...

        with job() as parent:
            coroutine = never()
            coroutine.close()
        assert parent.children == []

    def test_200_concurrent_tasks_each_land_under_their_own_parent(self) -> None:
        """Gathered tasks nest under the step that created them, never under each other."""

        @reports_progress("leaf")
        async def leaf() -> None:
            await asyncio.sleep(0)

        @reports_progress("task")
        async def task(index: int) -> None:
            async with step(f"inner {index}"):
                await asyncio.sleep(0)
                await leaf()

        async def main() -> ProgressReport:
            with job() as parent:
                await asyncio.gather(*(task(index) for index in range(200)))
            return parent

        parent = asyncio.run(main())
        tasks = parent.children
        assert len(tasks) + parent.omitted_children == 200
        for each in tasks:
            (inner,) = each.children
            assert inner.step_message.startswith("inner ")
            assert [leaf_report.step_message for leaf_report in inner.children] == ["leaf"]


class TestGenerators:
    def test_report_spans_the_yields_and_finishes_when_exhausted(self) -> None:
        """A generator's report is created at the first next(), runs across yields, ends success."""

        @reports_progress("rows", steps=3)
        def rows() -> Iterator[int]:
            report = current_report()
            assert report is not None
            for index in range(3):
                report.advance()
                yield index

        with job() as parent:
            generator = rows()
            assert parent.children == []
            assert next(generator) == 0
            (report,) = parent.children
            assert report.status is Status.RUNNING and report.fraction == 1 / 3
            assert list(generator) == [1, 2]
        assert report.status is Status.SUCCESS

    def test_generator_report_never_leaks_into_the_consumer(self) -> None:
        """Between yields the consumer's current report is its own, not the generator's."""

        @reports_progress("producer")
        def producer() -> Iterator[ProgressReport | None]:
            yield current_report()
            yield current_report()

        with job() as consumer:
            seen = []
            for inside in producer():
                seen.append((inside, current_report()))
        producer_report = consumer.children[0]
        assert seen == [(producer_report, consumer), (producer_report, consumer)]

    def test_breaking_out_closes_the_report_as_success(self) -> None:
        """A consumer leaving early closes the generator, which finishes success."""

        @reports_progress("endless")
        def endless() -> Iterator[int]:
            index = 0
            while True:
                yield index
                index += 1

        with job() as parent:
            for value in endless():
                if value == 2:
                    break
        assert parent.children[0].status is Status.SUCCESS

    def test_exception_in_the_body_fails_the_report(self) -> None:
        """An exception inside the generator finishes its report error and reaches the consumer."""

        @reports_progress("broken")
        def broken() -> Iterator[int]:
            yield 1
            raise ValueError("bad row")

        with job() as parent, pytest.raises(ValueError, match="bad row"):
            list(broken())
        assert parent.children[0].error == "ValueError: bad row"

    def test_values_sent_and_exceptions_thrown_reach_the_body(self) -> None:
        """send() and throw() pass through to the generator."""

        @reports_progress
        def echo() -> Iterator[Any]:
            received = yield "ready"
            try:
                yield received
            except KeyError:
                yield "caught"

        generator = echo()
        assert next(generator) == "ready"
        assert generator.send(5) == 5
        assert generator.throw(KeyError("x")) == "caught"

    def test_async_generator_report_is_isolated_and_finishes(self) -> None:
        """An async generator runs in its own context and finishes when exhausted."""

        @reports_progress("stream")
        async def stream() -> AsyncIterator[ProgressReport | None]:
            for _ in range(2):
                await asyncio.sleep(0)
                yield current_report()

        async def main() -> tuple[ProgressReport, list[tuple[Any, Any]]]:
            with job() as consumer:
                seen = [(inside, current_report()) async for inside in stream()]
            return consumer, seen

        consumer, seen = asyncio.run(main())
        stream_report = consumer.children[0]
        assert seen == [(stream_report, consumer)] * 2
        assert stream_report.status is Status.SUCCESS

    def test_async_generator_closed_from_another_task(self) -> None:
        """Closing a half-consumed async generator from another task neither raises nor leaks."""

        @reports_progress("feed")
        async def feed() -> AsyncIterator[int]:
            while True:
                yield 1
                await asyncio.sleep(0)

        async def main() -> tuple[ProgressReport, ProgressReport | None]:
            with job() as consumer:
                generator = feed()
                await generator.__anext__()
                await asyncio.create_task(generator.aclose())  # type: ignore[arg-type]
                return consumer, current_report()

        consumer, after = asyncio.run(main())
        assert after is consumer
        assert consumer.children[0].status is Status.SUCCESS


class TestDisabled:
    def test_disabled_calls_get_the_shared_no_op_report(self) -> None:
        """With instrumentation off, the function still gets a report, and no tree is built."""
        received: list[ProgressReport | None] = []

        @reports_progress
        def work(reporter: ProgressReport | None = None) -> int:
            received.append(reporter)
            assert reporter is not None
            reporter.advance()
            with step("inner") as inner:
                received.append(inner)
            return 3

        configure(enabled=False)
        try:
            with job() as parent:
                assert work() == 3
                assert work() == 3
        finally:
            configure(enabled=True)
        assert received[0] is received[1] is received[2] is received[3]
        assert received[0] is not None and received[0].step_message == ""
        assert parent.children == []
