"""The public API as type checkers see it: checked by tests/test_typing.py under ``mypy --strict``.

Each ``reveal_type`` line has its expected output in the test; the line whose comment starts with
``E:`` must be an error, and the only one. This module is never imported or run by pytest (no ``test_`` prefix).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

from typing_extensions import reveal_type

from progress_instrument import ProgressReport, current_report, reports_progress, step
from progress_instrument.executors import ProgressThreadPoolExecutor, in_current_context


@reports_progress
def bare(x: int, reporter: ProgressReport | None = None) -> str:
    return str(x)


@reports_progress("Formed", steps=2)
def formed(x: int, reporter: ProgressReport | None = None) -> str:
    return str(x)


@reports_progress(steps=3, param=None)
def keyword_only_form(values: list[float]) -> float:
    return sum(values)


@reports_progress("Fetching")
async def fetch(url: str, *, retries: int = 3) -> bytes:
    return url.encode()


@reports_progress("Reading")
def read_lines(path: str) -> Iterator[str]:
    yield path


@reports_progress("Streaming")
async def stream(n: int) -> AsyncIterator[int]:
    yield n


class Model:
    @reports_progress("Fitting")
    def fit(self, epochs: int) -> float:
        return float(epochs)


@step("Loading")
def load(name: str, *, strict: bool = False) -> list[int]:
    return []


@step("Loading async")
async def load_async(name: str) -> dict[str, int]:
    return {}


async def use_async_step() -> None:
    async with step("x") as async_report:
        reveal_type(async_report)


reveal_type(bare)
reveal_type(formed)
reveal_type(keyword_only_form)
reveal_type(fetch)
reveal_type(read_lines)
reveal_type(stream)
reveal_type(Model().fit)
reveal_type(load)
reveal_type(load_async)
reveal_type(step("x", steps=2, weight=0.5, unit="files", attributes={"k": 1}))
with step("x") as report:
    reveal_type(report)
reveal_type(current_report())
reveal_type(in_current_context(formed))
with ProgressThreadPoolExecutor(max_workers=2) as pool:
    reveal_type(pool.submit(formed, 1))

formed("not an int")  # E: a decorated function keeps its parameter types
