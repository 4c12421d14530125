"""``python -m progress_instrument run``: run a script or module with targets instrumented (SPEC §5.1).

Like ``python -m cProfile``: the script runs with ``__name__ == "__main__"``, its own
``sys.argv`` and ``sys.path[0]`` (its directory; the current directory for ``-m``), and its exit code
is the command's. The whole run is one root report, so every instrumented call nests under it.
"""

from __future__ import annotations

import argparse
import builtins
import io
import os
import runpy
import sys
import types
from typing import Any

__all__ = ["add_run_command", "run_command", "console_sinks"]


def add_run_command(commands: Any) -> None:
    """Register the ``run`` subcommand on the subparsers action `commands` of the main parser."""
    parser = commands.add_parser(
        "run",
        help="run a script (or -m module) with functions instrumented and progress shown",
        description=(
            "Run a Python script that never imports progress_instrument, with the given targets "
            "(and those of PROGRESS_INSTRUMENT_TARGETS) instrumented, like python -m cProfile."
        ),
    )
    parser.add_argument(
        "--target",
        action="append",
        default=[],
        metavar="TARGET",
        help="a function or method to instrument, 'module:qualname' or 'module.function' (repeatable)",
    )
    parser.add_argument("--jsonl", metavar="PATH", help="also write every event as a JSON line to PATH")
    parser.add_argument(
        "-m", dest="module", nargs=argparse.REMAINDER, metavar="MODULE", help="run a library module as a script"
    )
    parser.add_argument("program", nargs=argparse.REMAINDER, help="the script and its arguments")


def console_sinks() -> list[Any]:
    """The sinks `run` shows progress with: ``PROGRESS_INSTRUMENT_SINK``'s when set, else a `ConsoleSink`.

    The console sink draws a live tree when stderr is a terminal and plain lines otherwise, so a
    run in CI leaves a readable log (SPEC §5.1: "with the console sink").
    """
    from . import _config

    slots = _config.settings().sinks
    if slots is not None:
        return [slot.sink for slot in slots]
    from ._config import default_sinks

    defaults = default_sinks()
    if defaults:
        return [slot.sink for slot in defaults]
    from ._console import ConsoleSink

    return [ConsoleSink(sys.stderr)]


class _Refused(Exception):
    """The command cannot start the program: a message for stderr and an exit code."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


def run_command(arguments: argparse.Namespace) -> int:
    """Carry out ``run`` as parsed by the parser `add_run_command` made; return the exit code."""
    try:
        return _run(arguments)
    except _Refused as refused:
        print(f"progress-instrument run: {refused}", file=sys.stderr)
        return refused.code


def _run(arguments: argparse.Namespace) -> int:
    from . import configure

    module: str | None = None
    script: str | None = None
    if arguments.module:
        module, argv = arguments.module[0], arguments.module[1:]
    else:
        program = arguments.program[1:] if arguments.program[:1] == ["--"] else arguments.program
        if not program:
            raise _Refused("give a script or -m module to run")
        script, argv = program[0], program[1:]
        if not os.path.isfile(script):
            raise _Refused(f"can't open file {os.path.abspath(script)!r}")
    for target in arguments.target:
        try:
            _instrument_all(target)
        except (ValueError, TypeError, AttributeError) as error:
            raise _Refused(str(error)) from error
    configure(sinks=_sinks(arguments.jsonl))
    if module is not None:
        sys.path[0] = os.getcwd()  # as `python -m` has it
        if not _module_exists(module):
            raise _Refused(f"No module named {module}", 1)
        return _execute(f"-m {module}", lambda: runpy.run_module(module, run_name="__main__", alter_sys=True), argv)
    assert script is not None
    sys.path[0] = os.path.dirname(os.path.abspath(script))
    try:
        code = _compile(script)
    except SyntaxError as error:  # as Python: compiled before anything runs, shown without a traceback
        sys.excepthook(SyntaxError, error.with_traceback(None), None)
        return 1
    return _execute(script, lambda: _run_script(code), argv, script)


def _sinks(jsonl: str | None) -> list[Any]:
    sinks = console_sinks()
    if jsonl:
        from .sinks import JsonLinesSink

        try:
            sinks.append(JsonLinesSink(jsonl))
        except OSError as error:
            raise _Refused(f"cannot write {jsonl!r}: {error}") from error
    return sinks


def _instrument_all(value: str) -> None:
    from ._instrument import _instrument

    for text in value.split(","):
        if text.strip():
            _instrument(text, None, 0, None, None)


def _module_exists(name: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def _compile(script: str) -> types.CodeType:
    path = os.path.abspath(script)
    with io.open_code(path) as file:
        return compile(file.read(), path, "exec")


def _run_script(code: types.CodeType) -> None:
    """Run a script's `code` as ``python script.py`` does: as module ``__main__``."""
    main = types.ModuleType("__main__")
    main.__file__ = code.co_filename
    main.__dict__.update(__builtins__=builtins, __cached__=None, __loader__=None, __package__=None, __spec__=None)
    sys.modules["__main__"] = main  # so pickle and multiprocessing find the script's definitions
    exec(code, main.__dict__)


def _execute(name: str, run: Any, argv: list[str], script: str | None = None) -> int:
    """Run the program inside a root report; show an uncaught exception as Python would."""
    from . import ProgressReport

    sys.argv[:] = [script if script is not None else name, *argv]
    try:
        with ProgressReport(f"Running {name}"):
            run()
    except SystemExit:
        raise  # its code is the command's, printed or not as Python does
    except Exception as error:
        _hide_our_frames(error)
        sys.excepthook(type(error), error, error.__traceback__)
        return 1
    return 0


def _hide_our_frames(error: BaseException) -> None:
    """Show `error` and the exceptions chained to it as if the program had run without us."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        current.__traceback__ = _without_our_frames(current.__traceback__)
        pending += [current.__cause__, current.__context__]


def _is_ours(traceback: types.TracebackType) -> bool:
    name = str(traceback.tb_frame.f_globals.get("__name__", ""))
    return name in {"runpy", "progress_instrument"} or name.startswith("progress_instrument.")


def _without_our_frames(traceback: types.TracebackType | None) -> types.TracebackType | None:
    """The program's frames only: runpy's, this runner's and the wrappers' around instrumented calls.

    Frames of ours after the program's last one stay: there the exception was raised in the library.
    """
    entries = []
    while traceback is not None:
        entries.append(traceback)
        traceback = traceback.tb_next
    last = max((index for index, entry in enumerate(entries) if not _is_ours(entry)), default=-1)
    kept = [entry for index, entry in enumerate(entries) if index > last or not _is_ours(entry)]
    rebuilt = None
    for entry in reversed(kept):
        rebuilt = types.TracebackType(rebuilt, entry.tb_frame, entry.tb_lasti, entry.tb_lineno)
    return rebuilt
