"""configure(), the environment and the disabled path (SPEC §7)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from progress_instrument import JsonLinesSink, LoggingSink, ProgressReport, configure
from progress_instrument._config import enabled as instrumentation_enabled
from progress_instrument._config import settings
from progress_instrument._noop import NOOP_REPORT

Events = list[dict[str, Any]]


class TestConfigure:
    def test_without_configuration_a_root_has_no_sink(self) -> None:
        """With nothing configured (and stderr not a terminal), a root emits nothing and has no emitter."""
        report = ProgressReport("job")
        assert report._tree.emitter is None and report._tree.sinks == []

    def test_configured_sinks_are_the_default_for_new_roots(self) -> None:
        """configure(sinks=...) gives every new root those sinks."""
        seen: Events = []
        configure(sinks=[seen.append])
        ProgressReport("a").complete()
        ProgressReport("b").complete()
        assert [event["step_message"] for event in seen if event["event"] == "finish"] == ["a", "b"]

    def test_roots_already_running_keep_their_sinks(self) -> None:
        """A root keeps the sinks it started with when the configuration changes."""
        first: Events = []
        second: Events = []
        configure(sinks=[first.append])
        old = ProgressReport("old")
        configure(sinks=[second.append])
        new = ProgressReport("new")
        old.complete()
        new.complete()
        assert {event["step_message"] for event in first} == {"old"}
        assert {event["step_message"] for event in second} == {"new"}

    def test_explicit_sinks_win_over_the_defaults(self) -> None:
        """sinks=[] means none, whatever is configured."""
        seen: Events = []
        configure(sinks=[seen.append])
        ProgressReport("quiet", sinks=[]).complete()
        assert seen == []

    def test_sinks_none_goes_back_to_the_default(self) -> None:
        """configure(sinks=None) restores the default (no sink, without the environment)."""
        seen: Events = []
        configure(sinks=[seen.append])
        configure(sinks=None)
        ProgressReport("job").complete()
        assert seen == []

    def test_min_interval_is_used_by_new_roots(self) -> None:
        """configure(min_interval=...) sets the coalescing interval of roots created afterwards."""
        configure(min_interval=2.5, sinks=[lambda event: None])
        report = ProgressReport("job")
        assert report._tree.emitter.min_interval == 2.5
        report.complete()

    @pytest.mark.parametrize("value", [0, -1, float("inf"), float("nan")])
    def test_min_interval_must_be_positive_and_finite(self, value: float) -> None:
        """A min_interval that is not a finite number > 0 is refused."""
        with pytest.raises(ValueError, match="min_interval"):
            configure(min_interval=value)

    def test_bad_types_are_refused(self) -> None:
        """Wrong types fail at the call, naming the argument."""
        with pytest.raises(TypeError, match="min_interval"):
            configure(min_interval="1")  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="enabled"):
            configure(enabled=1)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="sink"):
            configure(sinks=[42])

    def test_arguments_left_out_are_unchanged(self) -> None:
        """configure() with one argument keeps the others."""
        configure(min_interval=0.5)
        configure(enabled=True)
        assert settings().min_interval == 0.5


class TestDisabled:
    def test_configure_enabled_false_silences_new_roots(self) -> None:
        """With enabled=False, even explicit sinks receive nothing."""
        seen: Events = []
        configure(enabled=False)
        ProgressReport("job", sinks=[seen.append]).complete()
        assert seen == [] and not instrumentation_enabled()

    def test_the_environment_disable_always_wins(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """PROGRESS_INSTRUMENT_DISABLE=1 wins over configure(enabled=True)."""
        monkeypatch.setenv("PROGRESS_INSTRUMENT_DISABLE", "1")
        seen: Events = []
        configure(enabled=True, sinks=[seen.append])
        ProgressReport("job").complete()
        assert seen == [] and not instrumentation_enabled()

    def test_the_noop_report_ignores_everything(self) -> None:
        """The shared no-op report accepts every call, changes nothing and never finishes."""
        report = NOOP_REPORT
        with report as entered:
            assert entered is report
            assert report.create_subreport("child", steps=3) is report
            report.advance(5)
            report.update(steps=9, step_message="x")
            report.set_attribute("k", 1)
            report._set_position_source(lambda: 3)
            report._add_cancel_hook(lambda: None)
            assert report.cancel() is False
            report.check()
            report.complete("error", error="boom")
        assert (report.steps, report.step_message, report.completed, report.finished) == (0, "", 0.0, False)
        assert "no-op" in repr(report)

    def test_the_noop_report_is_a_progress_report(self) -> None:
        """Code annotated with ProgressReport accepts the no-op report."""
        assert isinstance(NOOP_REPORT, ProgressReport)


class TestEnvironment:
    def run(self, code: str, **env: str) -> subprocess.CompletedProcess[str]:
        environment = {key: value for key, value in os.environ.items() if not key.startswith("PROGRESS_INSTRUMENT")}
        environment.update(env)
        return subprocess.run(
            [sys.executable, "-W", "always", "-c", textwrap.dedent(code)],
            capture_output=True,
            text=True,
            check=True,
            env=environment,
        )

    def test_jsonl_sink_from_the_environment(self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
        """PROGRESS_INSTRUMENT_SINK=jsonl:PATH makes a JSON-lines file the default sink."""
        path = tmp_path / "out.jsonl"
        monkeypatch.setenv("PROGRESS_INSTRUMENT_SINK", f"jsonl:{path}")
        ProgressReport("job").complete()
        events = [json.loads(line) for line in path.read_text().splitlines()]
        assert [event["event"] for event in events] == ["start", "snapshot", "finish"]
        assert isinstance(settings().sinks[0].sink, JsonLinesSink)  # type: ignore[index]
        settings().sinks[0].sink.close()  # type: ignore[index]

    def test_configure_overrides_the_environment(self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
        """configure(sinks=...) replaces the sink the environment named."""
        path = tmp_path / "out.jsonl"
        monkeypatch.setenv("PROGRESS_INSTRUMENT_SINK", f"jsonl:{path}")
        seen: Events = []
        configure(sinks=[seen.append])
        ProgressReport("job").complete()
        assert path.read_text() == "" and len(seen) == 3

    def test_none_means_no_sink(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """PROGRESS_INSTRUMENT_SINK=none means no default sink."""
        monkeypatch.setenv("PROGRESS_INSTRUMENT_SINK", "none")
        assert ProgressReport("job")._tree.emitter is None

    def test_log_means_a_logging_sink_on_the_package_logger(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """PROGRESS_INSTRUMENT_SINK=log makes a LoggingSink on the progress_instrument logger the default."""
        monkeypatch.setenv("PROGRESS_INSTRUMENT_SINK", "log")
        ProgressReport("job").complete()
        sinks = settings().sinks
        assert sinks is not None and len(sinks) == 1
        assert isinstance(sinks[0].sink, LoggingSink) and sinks[0].sink.logger.name == "progress_instrument"

    def test_console_names_a_console_sink(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """PROGRESS_INSTRUMENT_SINK=console gives new roots a ConsoleSink."""
        from progress_instrument import ConsoleSink

        monkeypatch.setenv("PROGRESS_INSTRUMENT_SINK", "console")
        report = ProgressReport("job")
        assert [type(sink) for sink in report._tree.sinks] == [ConsoleSink]
        report._tree.sinks[0].stream = io.StringIO()  # keep the test's stderr clean
        report.complete()

    def test_an_unknown_sink_warns_with_the_choices(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A value that names no sink warns, listing what works."""
        monkeypatch.setenv("PROGRESS_INSTRUMENT_SINK", "kafka:topic")
        with pytest.warns(UserWarning, match="'jsonl:PATH', 'log' or 'none'"):
            ProgressReport("job")

    def test_an_unwritable_path_warns(self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
        """A jsonl path that cannot be opened warns, naming it, and leaves no sink."""
        monkeypatch.setenv("PROGRESS_INSTRUMENT_SINK", f"jsonl:{tmp_path / 'missing' / 'x.jsonl'}")
        with pytest.warns(UserWarning, match="cannot open"):
            assert ProgressReport("job")._tree.emitter is None

    def test_the_environment_is_read_in_a_fresh_process(self, tmp_path: Path) -> None:
        """A script that never calls configure() writes its events where the environment says."""
        path = tmp_path / "out.jsonl"
        self.run(
            """
            from progress_instrument import ProgressReport
            with ProgressReport("job", steps=1) as job:
                job.advance()
            """,
            PROGRESS_INSTRUMENT_SINK=f"jsonl:{path}",
        )
        assert [json.loads(line)["event"] for line in path.read_text().splitlines()] == ["start", "snapshot", "finish"]

    def test_disabled_process_starts_no_thread_and_writes_nothing(self, tmp_path: Path) -> None:
        """With PROGRESS_INSTRUMENT_DISABLE=1 nothing is written and no thread starts."""
        path = tmp_path / "out.jsonl"
        result = self.run(
            """
            import threading
            from progress_instrument import ProgressReport
            with ProgressReport("job"):
                pass
            print(threading.active_count())
            """,
            PROGRESS_INSTRUMENT_SINK=f"jsonl:{path}",
            PROGRESS_INSTRUMENT_DISABLE="1",
        )
        assert result.stdout.strip() == "1"
        assert not path.exists()
