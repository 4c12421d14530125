"""The flushing thread, the registry of roots, exit and fork (SPEC §7).

One daemon thread, started when the first root with a sink exists, wakes every ``min_interval``,
samples the loop positions and delivers every root's pending events. A root's finish delivers its
events in the finishing thread. Delivery holds one lock, so each sink sees one event at a time;
tree locks are never held while a sink runs. Roots are held weakly. At interpreter exit the roots
still running finish ``error`` ("process exited while running") and everything pending is flushed.
A fork waits (up to ``FORK_TIMEOUT``) for a delivery in progress, so the child inherits no tree lock
held by the flushing thread; in the child, inherited roots go silent (their parent process reports
them) and the thread starts again with the child's first root.
"""

from __future__ import annotations

import atexit
import os
import threading
import weakref
from typing import TYPE_CHECKING

from ._clock import clocks
from ._delivery import flush_emitter
from ._outcome import Status

if TYPE_CHECKING:
    from ._emit import Emitter

__all__ = ["core", "EXIT_ERROR", "EXIT_TIMEOUT"]

# Module constants: looking up an Enum member costs ~10x a global on the hot paths.
_ERROR = Status.ERROR
_RUNNING = Status.RUNNING

EXIT_ERROR = "process exited while running"
#: Seconds the exit flush waits for a sink that is still busy before giving up on it.
EXIT_TIMEOUT = 5.0
#: Seconds os.fork() waits for a delivery in progress (which may hold a tree lock) to end.
FORK_TIMEOUT = 1.0


class _Core:
    """The registry of emitting roots and the thread that flushes them."""

    def __init__(self) -> None:
        self.manual = False  # progress_instrument.testing: flushes happen only when told
        self._new_locks()
        self._emitters: weakref.WeakSet[Emitter] = weakref.WeakSet()
        self._thread: threading.Thread | None = None
        self._generation = 0
        self._exiting = False
        self._failure_logged = False
        self._held_for_fork = False

    def _new_locks(self) -> None:
        self._lock = threading.Lock()  # delivery: one event at a time per sink
        self._delivering: int | None = None  # the thread holding _lock
        self._registry_lock = threading.Lock()
        self._wake = threading.Event()
        self._lock_timeout = -1.0  # wait for the delivery lock as long as it takes, except at exit

    # -- registry --------------------------------------------------------------------------------

    def register(self, emitter: Emitter) -> None:
        """Hold `emitter` (weakly) until its root has finished and been flushed."""
        with self._registry_lock:
            self._emitters.add(emitter)
            start = self._thread is None and not self.manual and not self._exiting
            if start:
                self._thread = threading.Thread(
                    target=self._run, args=(self._generation,), name="progress_instrument-flush", daemon=True
                )
        if start:
            assert self._thread is not None
            self._thread.start()
        else:
            self._wake.set()

    def emitters(self) -> list[Emitter]:
        """The registered emitters, oldest root first."""
        with self._registry_lock:
            return list(self._emitters)

    def _forget(self, emitter: Emitter) -> None:
        with self._registry_lock:
            self._emitters.discard(emitter)

    # -- flushing --------------------------------------------------------------------------------

    def flush_root(self, emitter: Emitter) -> None:
        """Deliver everything of a root that just finished, before its ``complete()`` returns."""
        if self._delivering == threading.get_ident():
            return  # a sink finished a root of its own: the next flush delivers it
        self._flush(emitter, final=True)
        self._forget(emitter)

    def flush_all(self, *, final: bool = False) -> None:
        """Sample positions and deliver what every root has pending (progress coalesced)."""
        if self._delivering == threading.get_ident():
            return
        for emitter in self.emitters():
            self._flush(emitter, final=final)
            root = emitter.root()
            if root is None or (root._status is not _RUNNING and not emitter.records):
                self._forget(emitter)

    def _flush(self, emitter: Emitter, *, final: bool) -> None:
        if not self._lock.acquire(timeout=self._lock_timeout):
            return  # at exit, a sink stuck for EXIT_TIMEOUT seconds: give up rather than hang
        try:
            self._delivering = threading.get_ident()
            flush_emitter(emitter, clocks.monotonic(), final=final)
        except Exception:
            # Sink failures are handled per sink; this is a bug of ours, and must not reach the work.
            if not self._failure_logged:
                self._failure_logged = True
                import logging

                logging.getLogger("progress_instrument").exception("delivering progress events failed")
        finally:
            self._delivering = None
            self._lock.release()

    def _run(self, generation: int) -> None:
        wake = self._wake
        while generation == self._generation:
            emitters = self.emitters()
            interval = min((emitter.min_interval for emitter in emitters), default=None)
            del emitters
            wake.wait(interval)
            wake.clear()
            if generation != self._generation:
                return
            if not self.manual:
                self.flush_all()

    # -- exit and fork ---------------------------------------------------------------------------

    def at_exit(self) -> None:
        """Finish the roots still running as errors and deliver everything pending."""
        self._exiting = True
        self._lock_timeout = EXIT_TIMEOUT
        self._generation += 1
        self._wake.set()
        for emitter in self.emitters():
            root = emitter.root()
            if root is not None and root._status is _RUNNING:
                root.complete(_ERROR, error=EXIT_ERROR)
        self.flush_all(final=True)

    def before_fork(self) -> None:
        """Wait (briefly) for a delivery in progress, so the child inherits no tree lock held by it."""
        self._held_for_fork = self._lock.acquire(timeout=FORK_TIMEOUT)

    def after_fork_in_parent(self) -> None:
        """Let delivery go on in the parent."""
        if self._held_for_fork:
            self._held_for_fork = False
            self._lock.release()

    def after_fork_in_child(self) -> None:
        """Silence the inherited roots and let the child's first root start a new thread."""
        self._held_for_fork = False
        self._new_locks()
        self._generation += 1
        self._thread = None
        for emitter in list(self._emitters):
            emitter.records.clear()
            root = emitter.root()
            if root is not None and root._tree.emitter is emitter:
                root._tree.emitter = None
        self._emitters = weakref.WeakSet()

    def stop(self) -> None:
        """Stop the thread and forget every root (for tests that reset the library's state)."""
        with self._registry_lock:
            self._generation += 1
            self._thread = None
            self._emitters = weakref.WeakSet()
        self._wake.set()
        self._wake = threading.Event()


core = _Core()
atexit.register(core.at_exit)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(
        before=core.before_fork,
        after_in_parent=core.after_fork_in_parent,
        after_in_child=core.after_fork_in_child,
    )
