"""The public API's types (SPEC §5: decorated callables keep their type for type checkers, ParamSpec).

Golden test in the manner of wrapt's ``tests/mypy``: ``tests/typing_cases/public_api.py`` is checked
with ``mypy --strict`` and what mypy reveals and reports is compared with the expectations below.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CASES = Path("tests") / "typing_cases" / "public_api.py"

REPORT = "progress_instrument._tree.ProgressReport"

#: What mypy must reveal for each ``reveal_type(<expression>)`` in the cases module.
EXPECTED_REVEALED = {
    "bare": f"def (x: int, reporter: {REPORT} | None =) -> str",
    "formed": f"def (x: int, reporter: {REPORT} | None =) -> str",
    "keyword_only_form": "def (values: list[float]) -> float",
    "fetch": "def (url: str, *, retries: int =) -> typing.Coroutine[Any, Any, bytes]",
    "read_lines": "def (path: str) -> typing.Iterator[str]",
    "stream": "def (n: int) -> typing.AsyncIterator[int]",
    "Model().fit": "def (epochs: int) -> float",
    "load": "def (name: str, *, strict: bool =) -> list[int]",
    "load_async": "def (name: str) -> typing.Coroutine[Any, Any, dict[str, int]]",
    'step("x", steps=2, weight=0.5, unit="files", attributes={"k": 1})': "progress_instrument._step.Step",
    "report": REPORT,
    "async_report": REPORT,
    "current_report()": f"{REPORT} | None",
    "in_current_context(formed)": f"def (x: int, reporter: {REPORT} | None =) -> str",
    "pool.submit(formed, 1)": "concurrent.futures._base.Future[str]",
}

#: The error mypy must report on the line whose comment starts with ``E:``.
EXPECTED_ERROR = 'error: Argument 1 to "formed" has incompatible type "str"; expected "int"  [arg-type]'

_DIAGNOSTIC = re.compile(r"^(?P<path>[^:]+):(?P<line>\d+): (?P<kind>note|error): (?P<text>.*)$")
_MARKED = re.compile(r"^\S.*  # E: ")
_REVEAL = re.compile(r"reveal_type\((?P<expression>.*)\)\s*$")


class MypyRun:
    """One mypy run over the cases module: its diagnostics, keyed by where they are."""

    def __init__(self) -> None:
        completed = subprocess.run(
            [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--no-error-summary", str(CASES)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=600,
        )
        self.returncode = completed.returncode
        self.output = completed.stdout + completed.stderr
        self.source_lines = (ROOT / CASES).read_text(encoding="utf-8").splitlines()
        self.in_cases: list[tuple[int, str, str]] = []
        self.elsewhere: list[str] = []
        for line in completed.stdout.splitlines():
            match = _DIAGNOSTIC.match(line)
            if match and Path(match["path"]) == CASES:
                self.in_cases.append((int(match["line"]), match["kind"], match["text"]))
            elif line.strip():
                self.elsewhere.append(line)

    def source(self, line: int) -> str:
        return self.source_lines[line - 1]


@pytest.fixture(scope="module")
def mypy_run() -> MypyRun:
    """Run mypy once for the whole module: it takes seconds."""
    run = MypyRun()
    assert "No module named mypy" not in run.output, "mypy must be installed (the `test` extra)"
    return run


class TestRevealedTypes:
    def test_every_reveal_type_shows_the_expected_type(self, mypy_run: MypyRun) -> None:
        """Decorated callables keep parameters and return types; step/current_report give reports."""
        revealed = {}
        for line, kind, text in mypy_run.in_cases:
            if kind == "note" and text.startswith("Revealed type is "):
                match = _REVEAL.search(mypy_run.source(line))
                assert match, f"a revealed type on line {line} without reveal_type(): {mypy_run.source(line)!r}"
                revealed[match["expression"]] = text.removeprefix("Revealed type is ").strip('"')
        assert revealed == EXPECTED_REVEALED, mypy_run.output

    def test_every_reveal_type_in_the_cases_has_an_expectation(self, mypy_run: MypyRun) -> None:
        """The cases module and the expectations list the same expressions, so neither drifts."""
        in_source = {match["expression"] for text in mypy_run.source_lines if (match := _REVEAL.search(text.strip()))}
        assert in_source == set(EXPECTED_REVEALED)


class TestTypeErrors:
    def test_wrong_argument_type_to_a_decorated_function_is_an_error(self, mypy_run: MypyRun) -> None:
        """Calling a decorated function with a wrong argument type is reported on the marked line only."""
        errors = [(line, f"error: {text}") for line, kind, text in mypy_run.in_cases if kind == "error"]
        marked = [number for number, text in enumerate(mypy_run.source_lines, start=1) if _MARKED.match(text)]
        assert marked, "the cases module must mark its expected error with `# E:`"
        assert errors == [(marked[0], EXPECTED_ERROR)], mypy_run.output
        assert mypy_run.returncode == 1

    def test_nothing_else_is_reported(self, mypy_run: MypyRun) -> None:
        """Besides the expectations, mypy --strict reports nothing, in the cases or in the package."""
        unexpected = [
            (line, kind, text)
            for line, kind, text in mypy_run.in_cases
            if not (kind == "note" and text.startswith("Revealed type is ")) and kind != "error"
        ]
        assert unexpected == [], mypy_run.output
        assert mypy_run.elsewhere == [], mypy_run.output
