"""Where new roots send their events: `configure()`, the environment, and the sink wrappers (SPEC §7).

Precedence: the environment gives the first configuration (``PROGRESS_INSTRUMENT_SINK``), `configure()`
overrides it, and ``PROGRESS_INSTRUMENT_DISABLE=1`` always wins. Settings are read when a root is
created, so roots already running keep their sinks. Nothing here imports threading or json.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable, Iterable
from typing import Any

from ._checks import check_sinks

__all__ = [
    "configure",
    "enabled",
    "settings",
    "reset",
    "replace_settings",
    "resolve_sinks",
    "default_sinks",
    "SinkSlot",
    "MAX_SINK_FAILURES",
    "DEFAULT_MIN_INTERVAL",
]

#: Consecutive failures after which a sink is dropped.
MAX_SINK_FAILURES = 5
DEFAULT_MIN_INTERVAL = 0.1
_TRUE = ("1", "true", "yes", "on")


class SinkSlot:
    """A sink as the emission core calls it: failures are logged once, and repeated ones drop it."""

    __slots__ = ("dropped", "emit", "failures", "flush", "logged", "sink")

    def __init__(self, sink: Any) -> None:
        self.sink = sink
        emit = getattr(sink, "emit", None)
        self.emit: Callable[[dict[str, Any]], object] = emit if callable(emit) else sink
        flush = getattr(sink, "flush", None)
        self.flush: Callable[[], object] | None = flush if callable(flush) else None
        self.failures = 0
        self.logged = False
        self.dropped = False

    def deliver(self, event: dict[str, Any]) -> None:
        """Pass one event to the sink; a failure is counted, never raised."""
        if self.dropped:
            return
        try:
            self.emit(event)
        except Exception:
            self._failed("emit")
        else:
            self.failures = 0

    def flush_sink(self) -> None:
        """Call the sink's ``flush()``, when it has one; a failure counts like an ``emit`` failure."""
        if self.flush is None or self.dropped:
            return
        try:
            self.flush()
        except Exception:
            self._failed("flush")

    def _failed(self, what: str) -> None:
        import logging  # lazily: `import progress_instrument` must stay light (SPEC §10)

        logger = logging.getLogger("progress_instrument")
        self.failures += 1
        if not self.logged:
            self.logged = True
            logger.warning(
                "progress sink %r failed in %s(); its failures are logged once", self.sink, what, exc_info=True
            )
        if self.failures >= MAX_SINK_FAILURES:
            self.dropped = True
            logger.warning("progress sink %r dropped after %d failures in a row", self.sink, self.failures)


class _Settings:
    """The current defaults for new roots."""

    __slots__ = ("console", "disabled_by_env", "enabled", "loaded", "min_interval", "sinks")

    def __init__(self) -> None:
        self.loaded = False
        self.disabled_by_env = False
        self.enabled = True
        self.min_interval = DEFAULT_MIN_INTERVAL
        # None: the built-in default (`default_sinks()`).
        self.sinks: list[SinkSlot] | None = None
        # The default ConsoleSink, made on first use and shared by every root (one live tree).
        self.console: SinkSlot | None = None

    def console_sinks(self) -> list[SinkSlot]:
        """A `ConsoleSink` on stderr when stderr is a terminal, else none."""
        stderr = sys.stderr
        try:
            tty = stderr is not None and stderr.isatty()
        except (AttributeError, ValueError, OSError):
            tty = False
        if not tty:
            return []
        from ._console import ConsoleSink, unwrap

        # While a live tree is shown, sys.stderr is its proxy: the same terminal, the same sink.
        if self.console is None or self.console.sink.stream is not unwrap(stderr):
            self.console = SinkSlot(ConsoleSink(stderr))
        return [self.console]

    def load_environment(self) -> None:
        """Read the environment once, as the first configuration."""
        self.loaded = True
        self.disabled_by_env = os.environ.get("PROGRESS_INSTRUMENT_DISABLE", "").strip().lower() in _TRUE
        if self.disabled_by_env:
            self.enabled = False
        value = os.environ.get("PROGRESS_INSTRUMENT_SINK", "").strip()
        if value and self.sinks is None and not self.disabled_by_env:
            self.sinks = _sinks_from_environment(value)


def _sinks_from_environment(value: str) -> list[SinkSlot] | None:
    """The sinks ``PROGRESS_INSTRUMENT_SINK`` names; a bad value warns and keeps the default."""
    import warnings

    kind, _, argument = value.partition(":")
    kind = kind.strip().lower()
    if kind == "none":
        return []
    if kind == "console" and not argument:
        from ._console import ConsoleSink

        return [SinkSlot(ConsoleSink())]
    if kind == "jsonl" and argument:
        from .sinks import JsonLinesSink

        try:
            return [SinkSlot(JsonLinesSink(argument))]
        except OSError as error:
            warnings.warn(f"PROGRESS_INSTRUMENT_SINK={value!r}: cannot open {argument!r}: {error}", stacklevel=3)
            return None
    if kind == "log":
        from .sinks import LoggingSink

        return [SinkSlot(LoggingSink())]
    message = (
        f"PROGRESS_INSTRUMENT_SINK={value!r} is not understood: use 'console', 'jsonl:PATH', 'log' or 'none'; "
        "no sink is used"
    )
    warnings.warn(message, stacklevel=3)
    return None


_settings = _Settings()


def settings() -> _Settings:
    """The current defaults, with the environment read on first use."""
    if not _settings.loaded:
        _settings.load_environment()
    return _settings


def enabled() -> bool:
    """Whether instrumentation is on: cheap enough to ask on every step and call."""
    current = _settings
    if not current.loaded:
        current.load_environment()
    return current.enabled


def reset() -> None:
    """Forget `configure()` and the environment read; the next use reads the environment again."""
    global _settings
    _settings = _Settings()


def replace_settings(new: _Settings | None = None) -> _Settings:
    """Install `new` settings (fresh ones, environment ignored, when None); return the old ones."""
    global _settings
    old = _settings
    if new is None:
        new = _Settings()
        new.loaded = True
    _settings = new
    return old


class _Unset:
    def __repr__(self) -> str:
        return "<unset>"


_UNSET: Any = _Unset()


def configure(
    *,
    sinks: Iterable[Any] | None = _UNSET,
    min_interval: float = _UNSET,
    enabled: bool = _UNSET,
) -> None:
    """Set the defaults for roots created from now on; roots already running keep theirs.

    Arguments left out keep their current value. ``PROGRESS_INSTRUMENT_DISABLE=1`` in the
    environment wins over ``enabled=True``.

    Args:
        sinks: Where new roots send their events: objects with ``emit(event)`` or plain callables.
            ``[]`` means none; None goes back to the default (``PROGRESS_INSTRUMENT_SINK``, else the
            built-in one: a display updated in place in a Jupyter kernel, a `ConsoleSink` on stderr
            when stderr is a terminal, no sink elsewhere).
        min_interval: Seconds between two ``progress`` events of one report (and between flushes).
        enabled: False makes instrumentation near no-ops: roots created then emit nothing.

    Example:
        >>> from progress_instrument import ProgressReport, configure
        >>> received = []
        >>> configure(sinks=[received.append])
        >>> with ProgressReport("job") as report:
        ...     pass
        >>> [event["event"] for event in received]
        ['start', 'snapshot', 'finish']
        >>> configure(sinks=None)
    """
    current = settings()
    if sinks is not _UNSET:
        if sinks is None:
            current.sinks = None
            value = os.environ.get("PROGRESS_INSTRUMENT_SINK", "").strip()
            if value:
                current.sinks = _sinks_from_environment(value)
        else:
            checked = check_sinks(sinks)
            assert checked is not None
            current.sinks = [SinkSlot(sink) for sink in checked]
    if min_interval is not _UNSET:
        if isinstance(min_interval, bool) or not isinstance(min_interval, (int, float)):
            raise TypeError(f"min_interval must be a number of seconds, got {type(min_interval).__name__}")
        if not (min_interval > 0 and math.isfinite(min_interval)):
            raise ValueError(f"min_interval must be a finite number of seconds > 0, got {min_interval!r}")
        current.min_interval = float(min_interval)
    if enabled is not _UNSET:
        if not isinstance(enabled, bool):
            raise TypeError(f"enabled must be True or False, got {enabled!r}")
        current.enabled = enabled and not current.disabled_by_env


def resolve_sinks(explicit: list[Any] | None) -> list[SinkSlot]:
    """The sinks a new root uses: `explicit` ones, else the configured defaults; none when disabled."""
    current = settings()
    if not current.enabled:
        return []
    if explicit is None:
        if current.sinks is None:
            return default_sinks()
        return list(current.sinks)
    return [SinkSlot(sink) for sink in explicit]


_notebook_slot: SinkSlot | None = None


def default_sinks() -> list[SinkSlot]:
    """The built-in default: in a Jupyter kernel a display updated in place, else the console's.

    One notebook sink is shared by every root of the kernel, so its failures are counted once.
    """
    global _notebook_slot
    slot = _notebook_slot
    if slot is not None and not slot.dropped:
        return [slot]  # a kernel stays a kernel: asked once
    if "ipykernel" not in sys.modules:
        return settings().console_sinks()  # the cheap answer for every process that is not a kernel
    from ._notebook import NotebookSink, in_jupyter_kernel

    if not in_jupyter_kernel():
        return settings().console_sinks()
    _notebook_slot = SinkSlot(NotebookSink())
    return [_notebook_slot]


configure.__module__ = "progress_instrument"
