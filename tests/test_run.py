"""``python -m progress_instrument run`` (SPEC §5.1): a script that never imports the library, instrumented."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from progress_instrument import TreeBuilder

SCRIPT = """
import json, sys
import helper

print(repr((__name__, sys.argv, sys.path[0])))
print(json.dumps(helper.work(2)))
if "--raise" in sys.argv:
    helper.fail()
sys.exit(int(sys.argv[-1]) if sys.argv[-1].isdigit() else None)
"""

HELPER = """
def work(x):
    '''Working.'''
    return x * 2

def fail():
    raise ValueError("no data for JJA")
"""


@pytest.fixture
def program(tmp_path: Path) -> Path:
    """A script in its own directory with a helper module beside it, never importing progress_instrument."""
    directory = tmp_path / "prog"
    directory.mkdir()
    (directory / "helper.py").write_text(textwrap.dedent(HELPER))
    script = directory / "script.py"
    script.write_text(textwrap.dedent(SCRIPT))
    return script


def run(
    *arguments: str | Path, cwd: Path, env: dict[str, str] | None = None, console: bool = False
) -> subprocess.CompletedProcess[str]:
    """Run `python -m progress_instrument run ...`; without `console`, its console lines are turned off.

    Most tests compare the program's own output with plain Python's, so they set
    PROGRESS_INSTRUMENT_SINK=none (`--jsonl` still records the events).
    """
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PROGRESS_INSTRUMENT")}
    if not console:
        environment["PROGRESS_INSTRUMENT_SINK"] = "none"
    return subprocess.run(
        [sys.executable, "-m", "progress_instrument", "run", *map(str, arguments)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**environment, **(env or {})},
        timeout=60,
    )


def tree(path: Path) -> dict[str, Any]:
    """The last root's snapshot, rebuilt from the JSON lines the run wrote."""
    builder = TreeBuilder()
    for line in path.read_text().splitlines():
        builder.apply(json.loads(line))
    return builder.roots[-1].to_dict()


def outline(node: dict[str, Any]) -> list[tuple[str, str]]:
    return [(node["step_message"], node["status"])] + [item for child in node["children"] for item in outline(child)]


class TestRunScript:
    def test_the_script_runs_as_main_with_its_argv_path_and_exit_code(self, program: Path, tmp_path: Path) -> None:
        """__name__ is "__main__", sys.argv is the script's, sys.path[0] its directory; exit code 3 is kept."""
        events = tmp_path / "events.jsonl"
        result = run("--target", "helper:work", "--jsonl", events, program, "a", "3", cwd=tmp_path)
        assert result.returncode == 3, result.stderr
        first, second = result.stdout.splitlines()
        assert first == repr(("__main__", [str(program), "a", "3"], str(program.parent)))
        assert second == "4"
        assert outline(tree(events)) == [(f"Running {program}", "error"), ("Working.", "success")]

    def test_a_normal_exit_is_success_and_exit_code_zero(self, program: Path, tmp_path: Path) -> None:
        """A script ending normally (sys.exit(None)) exits 0, its root report success."""
        events = tmp_path / "events.jsonl"
        result = run("--jsonl", events, "--target", "helper:work,json.dumps", program, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert outline(tree(events)) == [
            (f"Running {program}", "success"),
            ("Working.", "success"),
            ("Serialize ``obj`` to a JSON formatted ``str``.", "success"),
        ]

    def test_an_exception_shows_the_traceback_python_shows_and_reports_error(
        self, program: Path, tmp_path: Path
    ) -> None:
        """The traceback is exactly the one `python script.py` prints; the failed call's report is error."""
        events = tmp_path / "events.jsonl"
        result = run("--target", "helper:fail", "--jsonl", events, program, "--raise", cwd=tmp_path)
        plain = subprocess.run(
            [sys.executable, str(program), "--raise"], capture_output=True, text=True, cwd=tmp_path, timeout=60
        )
        assert (result.returncode, plain.returncode) == (1, 1)
        assert plain.stderr.startswith("Traceback (most recent call last):")
        assert result.stderr == plain.stderr  # no frame of runpy, the runner or the call's wrapper
        snapshot = tree(events)
        assert outline(snapshot) == [(f"Running {program}", "error"), ("fail", "error")]
        assert snapshot["children"][0]["error"] == "ValueError: no data for JJA"

    def test_the_console_sink_shows_the_run_on_stderr(self, program: Path, tmp_path: Path) -> None:
        """By default `run` shows progress with the console sink: plain lines when stderr is not a terminal."""
        result = run("--target", "helper:fail", program, "--raise", cwd=tmp_path, console=True)
        assert result.returncode == 1
        assert f"> Running {program}" in result.stderr
        assert "FAILED fail: ValueError: no data for JJA" in result.stderr
        assert result.stderr.rstrip().endswith("ValueError: no data for JJA")  # the traceback, as Python prints it

    def test_the_environment_variable_adds_its_targets(self, program: Path, tmp_path: Path) -> None:
        """PROGRESS_INSTRUMENT_TARGETS applies in `run` too, beside --target."""
        events = tmp_path / "events.jsonl"
        result = run("--jsonl", events, program, cwd=tmp_path, env={"PROGRESS_INSTRUMENT_TARGETS": "helper:work"})
        assert result.returncode == 0, result.stderr
        assert outline(tree(events))[1:] == [("Working.", "success")]

    def test_a_missing_target_in_an_imported_module_is_a_usage_error(self, program: Path, tmp_path: Path) -> None:
        """`--target os.nope` names the target and exits 2 before the script runs."""
        result = run("--target", "os.nope", program, cwd=tmp_path)
        assert result.returncode == 2
        assert "cannot instrument 'os:nope'" in result.stderr
        assert result.stdout == ""

    def test_a_missing_target_in_a_module_imported_later_warns(self, program: Path, tmp_path: Path) -> None:
        """`--target helper:nope`: the script runs, and a warning names the target when helper is imported."""
        result = run("--target", "helper:nope", program, cwd=tmp_path)
        assert result.returncode == 0
        assert "could not instrument a target when 'helper' was imported: cannot instrument 'helper:nope'" in (
            result.stderr
        )

    def test_a_missing_script_or_none_is_a_usage_error(self, tmp_path: Path) -> None:
        """No script, or one that does not exist, exits 2 with a message."""
        assert run(cwd=tmp_path).returncode == 2
        missing = run("nope.py", cwd=tmp_path)
        assert (missing.returncode, "can't open file" in missing.stderr) == (2, True)
        no_module = run("-m", "no_such_module_here", cwd=tmp_path)
        assert (no_module.returncode, no_module.stderr.strip()) == (
            1,
            "progress-instrument run: No module named no_such_module_here",
        )


class TestRunModule:
    def test_a_module_runs_as_main_with_its_arguments(self, tmp_path: Path) -> None:
        """`run -m pkg.tool args`: __name__ is "__main__", argv[1:] the arguments, exit code kept."""
        package = tmp_path / "pkg"
        package.mkdir()
        (package / "__init__.py").write_text("")
        (package / "steps.py").write_text("def step_one():\n    return 1\n")
        (package / "tool.py").write_text(
            textwrap.dedent(
                """
                import sys
                from pkg.steps import step_one
                if __name__ == "__main__":
                    step_one()
                    print(repr((__name__, sys.argv[1:])))
                    sys.exit(4)
                """
            )
        )
        events = tmp_path / "events.jsonl"
        result = run("--jsonl", events, "--target", "pkg.steps:step_one", "-m", "pkg.tool", "--flag", "x", cwd=tmp_path)
        assert result.returncode == 4, result.stderr
        assert result.stdout.strip() == repr(("__main__", ["--flag", "x"]))
        assert outline(tree(events)) == [("Running -m pkg.tool", "error"), ("step_one", "success")]


class TestTracebacks:
    @pytest.mark.parametrize(
        "source",
        [
            "import helper\ntry:\n    helper.fail()\nexcept ValueError as e:\n    raise KeyError(1) from e\n",
            "import helper\ntry:\n    helper.fail()\nfinally:\n    helper.work(None + 1)\n",
            "def broken(:\n    pass\n",
        ],
        ids=["cause", "context", "syntax-error"],
    )
    def test_chained_exceptions_and_syntax_errors_read_as_python_prints_them(
        self, program: Path, tmp_path: Path, source: str
    ) -> None:
        """Every exception of a chain loses the runner's and wrappers' frames; a SyntaxError shows none."""
        program.write_text(source)
        result = run("--target", "helper:fail,helper:work", program, cwd=tmp_path)
        plain = subprocess.run([sys.executable, str(program)], capture_output=True, text=True, cwd=tmp_path, timeout=60)
        assert (result.returncode, result.stderr) == (plain.returncode, plain.stderr)


def test_run_reaches_a_module_that_imports_the_library_itself(tmp_path: Path) -> None:
    """The environment's target in a module that imports progress_instrument works under `run`."""
    (tmp_path / "early.py").write_text("import progress_instrument\n\ndef later():\n    return 1\n")
    (tmp_path / "main.py").write_text("import early\nearly.later()\nprint(hasattr(early.later, '__wrapped__'))\n")
    result = run("main.py", cwd=tmp_path, env={"PROGRESS_INSTRUMENT_TARGETS": "early:later"})
    assert (result.returncode, result.stdout.strip(), result.stderr) == (0, "True", "")
