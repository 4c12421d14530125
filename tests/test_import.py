"""`import progress_instrument` stays light: modules only some users need load lazily (SPEC §10)."""

from __future__ import annotations

import json
import subprocess
import sys

LAZY = [
    "json",
    "asyncio",
    "concurrent.futures",
    "logging",
    "rich",
    "IPython",
    "deprogressapi",
    "pydantic",
    "progress_instrument._console",
    "progress_instrument._render",
]


def test_import_loads_none_of_the_optional_modules() -> None:
    """A fresh interpreter importing the package has loaded none of the lazily imported modules."""
    code = f"import sys, progress_instrument\nprint(repr([name for name in {LAZY!r} if name in sys.modules]))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_wire_format_loads_json_when_first_used() -> None:
    """to_json() works in a fresh interpreter, importing json on first use."""
    code = (
        "import sys, progress_instrument\n"
        "before = 'json' in sys.modules\n"
        "text = progress_instrument.ProgressReport('x', sinks=[]).to_json()\n"
        "print(before, 'json' in sys.modules, text)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    before, after, text = result.stdout.strip().split(" ", 2)
    assert (before, after) == ("False", "True")
    assert json.loads(text)["step_message"] == "x"
