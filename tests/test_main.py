"""The command line (`python -m progress_instrument`)."""

from __future__ import annotations

import json
import subprocess
import sys


def test_demo_prints_a_tree_and_a_valid_snapshot() -> None:
    """`demo` runs a small job with a handled failure and prints its outline and JSON snapshot."""
    result = subprocess.run(
        [sys.executable, "-m", "progress_instrument", "demo"], capture_output=True, text=True, check=True
    )
    outline, _, snapshot_text = result.stdout.partition("\n\n")
    assert "Season JJA [FAILED]" in outline
    assert "ValueError: no precipitation data for JJA" in outline
    snapshot = json.loads(snapshot_text)
    assert snapshot["status"] == "success"
    seasons = snapshot["children"][1]
    assert [child["status"] for child in seasons["children"]] == ["success", "success", "error", "success"]


def test_unknown_command_is_a_usage_error() -> None:
    """A command that does not exist exits 2 with a usage message."""
    result = subprocess.run([sys.executable, "-m", "progress_instrument", "nope"], capture_output=True, text=True)
    assert result.returncode == 2
    assert "usage" in result.stderr
