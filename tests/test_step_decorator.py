"""`@step` (SPEC §4, §3): each call of a function, coroutine, generator or async generator runs in its own step."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections.abc import AsyncGenerator, Generator

import pytest
from _step_helpers import EXIT_PATHS, BadInput, Park, cancel_once_parked, frames_of, root

from progress_instrument import ProgressCancelled, ProgressReport, Status, current_report, step, use_report


class TestDecoratedFunction:
    def test_each_call_runs_inside_its_own_child(self) -> None:
        """Each call of a `@step` function gets a new child of the current report, current in the body."""

        @step("Computing", steps=2)
        def compute(x: int) -> tuple[int, ProgressReport | None]:
            return x * 2, current_report()

        with root() as job:
            first_value, first = compute(1)
            second_value, second = compute(2)
            assert current_report() is job
        assert (first_value, second_value) == (2, 4)
        assert first is not None and second is not None and first is not second
        assert job.children == [first, second]
        assert first.step_message == "Computing" and first.steps == 2
        assert first.status is second.status is Status.SUCCESS

    def test_call_without_a_current_report_makes_a_root(self) -> None:
        """With nothing current, a `@step` call runs inside a new root."""

        @step("alone")
        def alone() -> ProgressReport | None:
            return current_report()

        report = alone()
        assert report is not None and report.parent is None
        assert report.status is Status.SUCCESS
        assert current_report() is None

    def test_exception_fails_the_call_and_propagates_unchanged(self) -> None:
        """An exception from the body fails the call's report and propagates with the body's frame."""
        error = BadInput("no data")
        reports: list[ProgressReport | None] = []

        @step("failing")
        def failing_body() -> None:
            reports.append(current_report())
            raise error

        with root() as job:
            with pytest.raises(BadInput) as caught:
                failing_body()
            assert current_report() is job
        assert caught.value is error
        assert "failing_body" in frames_of(caught.value)
        [report] = reports
        assert report is not None and report.status is Status.ERROR
        assert report.error == "BadInput: no data"

    @EXIT_PATHS
    def test_exit_paths_of_a_call(self, exception: BaseException, status: Status, cancelled: bool) -> None:
        """A `@step` call follows the exit paths of SPEC §1."""

        @step("call")
        def call() -> None:
            raise exception

        with root() as job, pytest.raises(type(exception)) as caught:
            call()
        assert caught.value is exception
        [report] = job.children
        assert report.status is status
        assert report.cancelled is cancelled

    def test_decorated_call_under_a_cancelled_report_raises_before_its_body(self) -> None:
        """A `@step` call under a cancelled report raises ProgressCancelled and never runs the body."""
        calls: list[int] = []

        @step("decorated")
        def work() -> None:
            calls.append(1)

        with root() as job:
            job.cancel()
            with pytest.raises(ProgressCancelled):
                work()
        assert calls == []
        assert job.children == []

    def test_methods_are_decorated_per_call(self) -> None:
        """`@step` on a method binds self and runs each call in a step."""

        class Model:
            @step("fit")
            def fit(self, epochs: int) -> tuple[Model, int, ProgressReport | None]:
                return self, epochs, current_report()

        model = Model()
        with root() as job:
            bound_self, epochs, report = model.fit(3)
        assert bound_self is model and epochs == 3
        assert report is not None and report.parent is job

    def test_classmethods_and_staticmethods_are_decorated_per_call(self) -> None:
        """`@step` over classmethod and staticmethod binds as they do and runs each call in a step."""

        class Model:
            @step("load")
            @classmethod
            def load(cls, name: str) -> tuple[type, str, ProgressReport | None]:
                return cls, name, current_report()

            @step("check")
            @staticmethod
            def check(value: int) -> tuple[int, ProgressReport | None]:
                return value, current_report()

        with root() as job:
            loaded_cls, name, load_report = Model.load("a")
            instance_cls, _, _ = Model().load("b")
            value, check_report = Model().check(3)
        assert loaded_cls is Model and instance_cls is Model and name == "a" and value == 3
        assert load_report is not None and load_report.parent is job
        assert check_report is not None and check_report.parent is job
        assert [child.step_message for child in job.children] == ["load", "load", "check"]

    def test_decorated_function_keeps_its_identity(self) -> None:
        """The decorated callable keeps name, docstring, signature and what inspect says of it."""

        def plain(a: int, b: str = "x") -> int:
            """Do the plain thing."""
            return a

        async def coroutine() -> None:
            """Do the async thing."""

        def generator() -> Generator[int, None, None]:
            yield 1

        async def async_generator() -> AsyncGenerator[int, None]:
            yield 1

        decorated = step("x")(plain)
        assert decorated.__name__ == "plain"
        assert decorated.__doc__ == "Do the plain thing."
        assert inspect.signature(decorated) == inspect.signature(plain)
        assert decorated.__wrapped__ is plain  # type: ignore[attr-defined]
        assert inspect.iscoroutinefunction(step("x")(coroutine))
        assert inspect.isgeneratorfunction(step("x")(generator))
        assert inspect.isasyncgenfunction(step("x")(async_generator))
        assert not inspect.iscoroutinefunction(decorated)


class TestDecoratedCoroutine:
    def test_report_is_created_at_the_first_step_not_at_the_call(self) -> None:
        """Calling a `@step` coroutine function makes no report; awaiting it does, current in its body."""
        seen: dict[str, object] = {}

        @step("Fetching")
        async def fetch() -> str:
            seen["inside"] = current_report()
            await asyncio.sleep(0)
            seen["after await"] = current_report()
            return "data"

        async def main() -> ProgressReport:
            with root() as job:
                coroutine = fetch()
                seen["children before await"] = list(job.children)
                seen["result"] = await coroutine
                seen["current after"] = current_report()
            return job

        job = asyncio.run(main())
        assert seen["children before await"] == []
        [fetching] = job.children
        assert seen["inside"] is fetching and seen["after await"] is fetching
        assert seen["result"] == "data"
        assert seen["current after"] is job
        assert fetching.status is Status.SUCCESS

    def test_coroutine_never_awaited_makes_no_report(self) -> None:
        """A coroutine created and closed without being awaited leaves the tree untouched."""

        @step("never")
        async def never() -> None:
            raise AssertionError("not run")

        with root() as job:
            coroutine = never()
            coroutine.close()
        assert job.children == []

    def test_each_await_gets_its_own_report_and_concurrent_calls_stay_apart(self) -> None:
        """Gathered calls each run in their own child, and a step inside each nests under its call."""

        @step("call")
        async def call(index: int) -> tuple[ProgressReport | None, ProgressReport]:
            mine = current_report()
            await asyncio.sleep(0)
            async with step(f"inner {index}") as inner:
                await asyncio.sleep(0)
            return mine, inner

        async def main() -> tuple[ProgressReport, list[tuple[ProgressReport | None, ProgressReport]]]:
            with root() as job:
                results = await asyncio.gather(*(call(index) for index in range(20)))
            return job, results

        job, results = asyncio.run(main())
        calls = [mine for mine, _ in results]
        assert len(set(map(id, calls))) == 20
        for index, (mine, inner) in enumerate(results):
            assert mine is not None and mine.parent is job
            assert inner.parent is mine and inner.step_message == f"inner {index}"
            assert mine.children == [inner]

    def test_exception_fails_the_call_and_propagates_unchanged(self) -> None:
        """An exception from an async body fails its report and propagates as the same object."""
        error = BadInput("timeout")

        @step("failing")
        async def failing_coroutine() -> None:
            await asyncio.sleep(0)
            raise error

        async def main() -> tuple[ProgressReport, BaseException]:
            with root() as job:
                try:
                    await failing_coroutine()
                except BadInput as caught:
                    return job, caught
            raise AssertionError("the exception did not propagate")

        job, caught = asyncio.run(main())
        assert caught is error
        assert "failing_coroutine" in frames_of(caught)
        [report] = job.children
        assert report.status is Status.ERROR and report.error == "BadInput: timeout"

    @EXIT_PATHS
    def test_exit_paths_of_an_awaited_call(self, exception: BaseException, status: Status, cancelled: bool) -> None:
        """A `@step` coroutine follows the exit paths of SPEC §1."""

        @step("call")
        async def call() -> None:
            await asyncio.sleep(0)
            raise exception

        async def main() -> tuple[ProgressReport, BaseException]:
            with root() as job:
                try:
                    await call()
                except BaseException as caught:  # every exit path, caught to inspect it inside the loop
                    return job, caught
            raise AssertionError("the exception did not propagate")

        job, caught = asyncio.run(main())
        assert caught is exception
        [report] = job.children
        assert report.status is status
        assert report.cancelled is cancelled

    def test_cancelled_task_finishes_the_call_cancelled(self) -> None:
        """Cancelling the task awaiting a `@step` coroutine finishes its report `error`, cancelled."""

        @step("waiting")
        async def waiting(park: Park) -> None:
            await park()

        async def main() -> ProgressReport:
            with root() as job:
                await cancel_once_parked(waiting)
            return job

        job = asyncio.run(main())
        [report] = job.children
        assert report.status is Status.ERROR
        assert report.cancelled is True


class TestDecoratedGenerator:
    def test_report_is_created_at_the_first_next(self) -> None:
        """Calling a `@step` generator function makes no report; the first next() does."""

        @step("Reading")
        def read() -> Generator[int, None, None]:
            yield 1

        with root() as job:
            generator = read()
            assert job.children == []
            assert next(generator) == 1
            [reading] = job.children
            assert reading.status is Status.RUNNING
            generator.close()

    def test_parent_is_the_report_current_at_the_first_next(self) -> None:
        """The generator's report is a child of the report current where its body starts."""

        @step("Reading")
        def read() -> Generator[int, None, None]:
            yield 1

        created_under, started_under = root("created"), root("started")
        with use_report(created_under):
            generator = read()
        with use_report(started_under):
            next(generator)
        generator.close()
        assert created_under.children == []
        assert [child.step_message for child in started_under.children] == ["Reading"]

    def test_report_runs_across_yields_current_only_inside_the_body(self) -> None:
        """Between yields the report stays running, current in the body and never in the consumer."""
        inside: list[ProgressReport | None] = []

        @step("Reading", steps=3)
        def read() -> Generator[int, None, None]:
            for item in range(3):
                inside.append(current_report())
                report = current_report()
                assert report is not None
                report.advance()
                yield item

        with root() as job:
            for _ in read():
                [reading] = job.children
                assert reading.status is Status.RUNNING
                assert current_report() is job
        assert inside == [reading] * 3
        assert reading.status is Status.SUCCESS
        assert reading.completed == 3.0

    def test_step_held_across_a_yield_does_not_leak_into_the_consumer(self) -> None:
        """A `with step()` open across a yield in a decorated generator stays in the generator's context."""
        consumer_steps: list[ProgressReport] = []

        @step("Reading")
        def read() -> Generator[ProgressReport, None, None]:
            with step("chunk") as chunk:
                yield chunk
                yield chunk

        with root() as job:
            chunks = []
            for chunk in read():
                chunks.append(chunk)
                assert current_report() is job
                with step("consumer work") as work:
                    consumer_steps.append(work)
        reading, *consumer_children = job.children
        assert reading.step_message == "Reading"
        assert consumer_children == consumer_steps and len(consumer_steps) == 2
        assert [child.step_message for child in reading.children] == ["chunk"]
        assert chunks[0] is chunks[1]
        assert chunks[0].parent is reading and chunks[0].status is Status.SUCCESS

    def test_interleaved_generators_each_see_their_own_report(self) -> None:
        """Two decorated generators consumed in lockstep each see only their own report."""
        seen: dict[str, list[ProgressReport | None]] = {"a": [], "b": []}

        def make(name: str) -> Generator[int, None, None]:
            @step(name)
            def body() -> Generator[int, None, None]:
                for item in range(3):
                    seen[name].append(current_report())
                    yield item

            return body()

        with root() as job:
            assert list(zip(make("a"), make("b"), strict=True)) == [(0, 0), (1, 1), (2, 2)]
        a, b = job.children
        assert seen == {"a": [a] * 3, "b": [b] * 3}

    @EXIT_PATHS
    def test_exit_paths_of_the_body(self, exception: BaseException, status: Status, cancelled: bool) -> None:
        """A `@step` generator whose body raises follows the exit paths of SPEC §1."""

        @step("Reading")
        def read() -> Generator[int, None, None]:
            yield 1
            raise exception

        with root() as job:
            generator = read()
            next(generator)
            with pytest.raises(type(exception)) as caught:
                next(generator)
            assert current_report() is job
        assert caught.value is exception
        [reading] = job.children
        assert reading.status is status
        assert reading.cancelled is cancelled

    def test_exhausted_generator_succeeds_and_passes_its_return_value(self) -> None:
        """Exhaustion finishes the report `success`; sent values and the return value pass through."""

        @step("Echo")
        def echo() -> Generator[object, object, str]:
            received = yield "ready"
            received = yield received
            return f"done with {received}"

        with root() as job:
            generator = echo()
            assert next(generator) == "ready"
            assert generator.send("one") == "one"
            with pytest.raises(StopIteration) as stop:
                generator.send("two")
        assert stop.value.value == "done with two"
        [report] = job.children
        assert report.status is Status.SUCCESS

    def test_consumer_breaking_out_finishes_success(self) -> None:
        """A `break` in the consumer closes the generator (CPython) and finishes its report `success`."""
        cleaned_up: list[bool] = []

        @step("Reading")
        def read() -> Generator[int, None, None]:
            try:
                yield from range(10)
            finally:
                cleaned_up.append(current_report() is not None)

        with root() as job:
            for item in read():
                if item == 2:
                    break
            [reading] = job.children
            assert reading.status is Status.SUCCESS
        assert cleaned_up == [True]
        assert reading.error is None

    def test_close_finishes_success_and_never_started_makes_none(self) -> None:
        """close() after a yield finishes `success`; closing an unstarted generator makes no report."""

        @step("Reading")
        def read() -> Generator[int, None, None]:
            yield from range(10)

        with root() as job:
            unstarted = read()
            unstarted.close()
            assert job.children == []
            started = read()
            next(started)
            started.close()
        [reading] = job.children
        assert reading.status is Status.SUCCESS

    def test_exception_in_the_body_fails_and_propagates_unchanged(self) -> None:
        """An exception raised by the body fails its report and reaches the consumer as the same object."""
        error = BadInput("corrupt record")

        @step("Reading")
        def read_records() -> Generator[int, None, None]:
            yield 1
            raise error

        with root() as job:
            with pytest.raises(BadInput) as caught:
                for _ in read_records():
                    pass
            assert current_report() is job
        assert caught.value is error
        assert "read_records" in frames_of(caught.value)
        [reading] = job.children
        assert reading.status is Status.ERROR
        assert reading.error == "BadInput: corrupt record"

    def test_exception_thrown_in_and_unhandled_fails_the_report(self) -> None:
        """throw() into the generator that the body does not handle fails the report."""
        error = BadInput("stop reading")

        @step("Reading")
        def read() -> Generator[int, None, None]:
            yield 1
            yield 2

        with root() as job:
            generator = read()
            next(generator)
            with pytest.raises(BadInput) as caught:
                generator.throw(error)
        assert caught.value is error
        [reading] = job.children
        assert reading.status is Status.ERROR

    def test_exception_thrown_in_and_handled_keeps_the_report_running(self) -> None:
        """throw() into a body that handles it resumes the generator with its report still running."""

        @step("Reading")
        def read() -> Generator[str, None, None]:
            try:
                yield "first"
            except BadInput:
                yield f"recovered in {current_report().step_message}"  # type: ignore[union-attr]

        with root() as job:
            generator = read()
            next(generator)
            assert generator.throw(BadInput("skip")) == "recovered in Reading"
            [reading] = job.children
            assert reading.status is Status.RUNNING
            generator.close()
        assert reading.status is Status.SUCCESS


class TestDecoratedAsyncGenerator:
    def test_report_is_created_at_the_first_anext(self) -> None:
        """Calling a `@step` async generator function makes no report; the first __anext__ does."""

        @step("Streaming")
        async def stream() -> AsyncGenerator[int, None]:
            yield 1

        async def main() -> tuple[list[ProgressReport], ProgressReport]:
            with root() as job:
                generator = stream()
                before = list(job.children)
                assert await generator.__anext__() == 1
                await generator.aclose()
            return before, job

        before, job = asyncio.run(main())
        assert before == []
        [streaming] = job.children
        assert streaming.status is Status.SUCCESS

    def test_report_runs_across_yields_current_only_inside_the_body(self) -> None:
        """Between yields the report stays running, current in the body and never in the consumer."""
        inside: list[ProgressReport | None] = []
        consumer: list[tuple[ProgressReport | None, Status]] = []

        @step("Streaming", steps=3)
        async def stream() -> AsyncGenerator[int, None]:
            for item in range(3):
                await asyncio.sleep(0)
                inside.append(current_report())
                yield item

        async def main() -> ProgressReport:
            with root() as job:
                async for _ in stream():
                    [streaming] = job.children
                    consumer.append((current_report(), streaming.status))
                    await asyncio.sleep(0)
            return job

        job = asyncio.run(main())
        [streaming] = job.children
        assert inside == [streaming] * 3
        assert consumer == [(job, Status.RUNNING)] * 3
        assert streaming.status is Status.SUCCESS

    def test_step_held_across_a_yield_does_not_leak_into_the_consumer(self) -> None:
        """A step open across a yield in a decorated async generator stays inside it."""

        @step("Streaming")
        async def stream() -> AsyncGenerator[ProgressReport, None]:
            async with step("chunk") as chunk:
                yield chunk
                yield chunk

        async def main() -> tuple[ProgressReport, list[ProgressReport | None]]:
            seen = []
            with root() as job:
                async for _ in stream():
                    seen.append(current_report())
            return job, seen

        job, seen = asyncio.run(main())
        assert seen == [job, job]
        [streaming] = job.children
        [chunk] = streaming.children
        assert chunk.step_message == "chunk" and chunk.status is Status.SUCCESS

    def test_consumer_breaking_out_finishes_success(self) -> None:
        """Breaking out of `async for` under aclosing() finishes the report `success`."""
        cleaned_up: list[bool] = []

        @step("Streaming")
        async def stream() -> AsyncGenerator[int, None]:
            try:
                for item in range(10):
                    yield item
            finally:
                cleaned_up.append(current_report() is not None)

        async def main() -> ProgressReport:
            with root() as job:
                async with contextlib.aclosing(stream()) as items:
                    async for item in items:
                        if item == 2:
                            break
                assert current_report() is job
            return job

        job = asyncio.run(main())
        [streaming] = job.children
        assert streaming.status is Status.SUCCESS
        assert cleaned_up == [True]

    def test_exception_in_the_body_fails_and_propagates_unchanged(self) -> None:
        """An exception raised by an async generator body fails its report, as the same object."""
        error = BadInput("broken stream")

        @step("Streaming")
        async def broken_stream() -> AsyncGenerator[int, None]:
            yield 1
            await asyncio.sleep(0)
            raise error

        async def main() -> tuple[ProgressReport, BaseException]:
            with root() as job:
                try:
                    async for _ in broken_stream():
                        pass
                except BadInput as caught:
                    assert current_report() is job
                    return job, caught
            raise AssertionError("the exception did not propagate")

        job, caught = asyncio.run(main())
        assert caught is error
        assert "broken_stream" in frames_of(caught)
        [streaming] = job.children
        assert streaming.status is Status.ERROR
        assert streaming.error == "BadInput: broken stream"

    @EXIT_PATHS
    def test_exit_paths_of_the_body(self, exception: BaseException, status: Status, cancelled: bool) -> None:
        """A `@step` async generator whose body raises follows the exit paths of SPEC §1."""

        @step("Streaming")
        async def stream() -> AsyncGenerator[int, None]:
            yield 1
            await asyncio.sleep(0)
            raise exception

        async def main() -> tuple[ProgressReport, BaseException]:
            with root() as job:
                generator = stream()
                await generator.__anext__()
                try:
                    await generator.__anext__()
                except BaseException as caught:  # every exit path, caught to inspect it inside the loop
                    return job, caught
            raise AssertionError("the exception did not propagate")

        job, caught = asyncio.run(main())
        assert caught is exception
        [streaming] = job.children
        assert streaming.status is status
        assert streaming.cancelled is cancelled

    def test_cancelling_the_consuming_task_finishes_the_report_cancelled(self) -> None:
        """A task cancelled while the async generator body awaits finishes its report `error`, cancelled."""

        @step("Streaming")
        async def stream(park: Park) -> AsyncGenerator[int, None]:
            yield 1
            await park()
            yield 2

        async def consume(park: Park) -> None:
            async for _ in stream(park):
                pass

        async def main() -> ProgressReport:
            with root() as job:
                await cancel_once_parked(consume)
            return job

        job = asyncio.run(main())
        [streaming] = job.children
        assert streaming.status is Status.ERROR
        assert streaming.cancelled is True

    def test_asend_and_athrow_reach_the_body(self) -> None:
        """Values sent with asend() and exceptions thrown with athrow() reach the body inside its report."""
        error = BadInput("stop")

        @step("Echo")
        async def echo() -> AsyncGenerator[object, object]:
            received = yield "ready"
            received = yield received
            yield received

        async def main() -> tuple[ProgressReport, list[object], BaseException]:
            with root() as job:
                generator = echo()
                got = [await generator.__anext__(), await generator.asend("one")]
                try:
                    await generator.athrow(error)
                except BadInput as caught:
                    return job, got, caught
            raise AssertionError("the exception did not propagate")

        job, got, caught = asyncio.run(main())
        assert got == ["ready", "one"]
        assert caught is error
        [report] = job.children
        assert report.status is Status.ERROR

    def test_gathered_consumers_each_see_their_own_generator_report(self) -> None:
        """Many tasks consuming decorated async generators at once keep every report in its own branch."""
        count = 50

        @step("Streaming")
        async def stream(index: int) -> AsyncGenerator[tuple[ProgressReport | None, ProgressReport], None]:
            for _ in range(3):
                async with step(f"chunk {index}") as chunk:
                    await asyncio.sleep(0)
                    yield current_report(), chunk

        async def consume(
            index: int,
        ) -> tuple[ProgressReport | None, list[tuple[ProgressReport | None, ProgressReport]]]:
            async with step(f"consumer {index}") as consumer:
                seen = []
                async for pair in stream(index):
                    assert current_report() is consumer
                    seen.append(pair)
                    await asyncio.sleep(0)
            return consumer, seen

        async def main() -> list[tuple[ProgressReport | None, list[tuple[ProgressReport | None, ProgressReport]]]]:
            with root():
                return await asyncio.gather(*(consume(index) for index in range(count)))

        for index, (consumer, seen) in enumerate(asyncio.run(main())):
            assert consumer is not None
            [streaming] = consumer.children
            assert len(seen) == 3
            for current, chunk in seen:
                assert current is chunk
                assert chunk.parent is streaming and chunk.step_message == f"chunk {index}"
            assert streaming.status is Status.SUCCESS

    def test_each_iteration_gets_its_own_report(self) -> None:
        """Two iterations of one decorated async generator function make two children."""

        @step("Streaming")
        async def stream() -> AsyncGenerator[int, None]:
            yield 1

        async def main() -> ProgressReport:
            with root() as job:
                assert [item async for item in stream()] == [1]
                assert [item async for item in stream()] == [1]
            return job

        job = asyncio.run(main())
        first, second = job.children
        assert first is not second
        assert first.status is second.status is Status.SUCCESS
