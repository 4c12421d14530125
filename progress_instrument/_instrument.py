"""`instrument()` and `uninstrument()`: `@reports_progress` on code you do not own (SPEC §5.1).

A target names a function or method by a dotted path, ``"module:qualname"`` (``"pkg.mod:Model.fit"``)
or ``"module.function"`` (``"json.dumps"``). The patch is applied with wrapt's patching functions
(`wrapt.resolve_path`, `wrapt.apply_patch`) where the name lives: the module's or the class's
``__dict__``. A module that is not imported yet is patched by a wrapt post-import hook the moment
it is imported, before any importer's ``from mod import func`` binds the name.

Errors: a missing target raises at the call when its module is already imported. When it is found
missing later, as its module is imported, a `RuntimeWarning` names it instead of an exception: an
exception raised from a post-import hook would make that unrelated ``import`` statement fail (and
``try: import x / except ImportError`` fallbacks would silently change the program's behaviour).
``-W error::RuntimeWarning`` (or a warnings filter) turns it into that import error for those who
want it.
"""

from __future__ import annotations

import sys
import threading
import types
import warnings
from typing import Any

import wrapt

from ._decorator import _decorate, _wrapper_class

__all__ = ["instrument", "uninstrument", "instrument_from_environment", "parse_target", "reset", "Target"]

#: The environment variable naming targets to instrument when the package is imported.
TARGETS_VARIABLE = "PROGRESS_INSTRUMENT_TARGETS"


class Target:
    """A parsed target: the module's name and the attribute path inside it."""

    __slots__ = ("module", "path")

    def __init__(self, module: str, path: str) -> None:
        self.module = module
        self.path = path

    @property
    def key(self) -> str:
        """The canonical ``module:path`` spelling, the same for both forms of one target."""
        return f"{self.module}:{self.path}"


def parse_target(target: str) -> Target:
    """Split ``"module:qualname"`` or ``"module.function"`` into a `Target`.

    Raises:
        TypeError: `target` is not a string.
        ValueError: `target` is not a dotted path of identifiers in one of the two forms.
    """
    if not isinstance(target, str):
        raise TypeError(f"an instrumentation target is a 'module:qualname' string, got {type(target).__name__}")
    text = target.strip()
    if ":" in text:
        module, _, path = text.partition(":")
    else:
        module, _, path = text.rpartition(".")
    if not (_is_dotted(module) and _is_dotted(path)):
        raise ValueError(
            f"cannot instrument {target!r}: name a function as 'module:qualname' "
            "(e.g. 'pkg.models:Model.fit') or 'module.function' (e.g. 'json.dumps')"
        )
    return Target(module, path)


def _is_dotted(name: str) -> bool:
    return bool(name) and all(part.isidentifier() for part in name.split("."))


class _Record:
    """One instrumented target: pending until its module is imported, then applied."""

    __slots__ = (
        "active",
        "applied",
        "created",
        "message",
        "original",
        "param",
        "parent",
        "steps",
        "target",
        "where",
        "wrapper",
    )

    def __init__(
        self, target: Target, message: str | None, steps: int, param: str | None, where: tuple[str, int] | None
    ) -> None:
        self.target = target
        self.message = message
        self.steps = steps
        self.param = param
        self.where = where  # the instrument() call, for a warning raised when the module is imported
        self.applied = False
        self.active = True  # the wrapper reports while True; copies bound elsewhere go inert after
        self.parent: Any = None
        self.original: Any = None
        self.wrapper: Any = None  # None: pending, or the target already reported progress
        self.created = False  # the patch created the slot (an inherited method): remove it to undo

    def is_active(self) -> bool:
        """Whether the wrapper reports (wrapt asks on every call)."""
        return self.active


_lock = threading.RLock()
_records: dict[str, _Record] = {}
_hooked: set[str] = set()  # modules whose post-import hook has not fired yet


def instrument(target: str, message: str | None = None, *, steps: int = 0, param: str | None = None) -> None:
    """Apply `@reports_progress` to a function or method named by a dotted path, without editing it.

    Calls are reached wherever they look the name up where it is patched: ``mod.func(...)``,
    methods through the class or any instance (made before or after), subclasses that inherit the
    method, calls inside ``mod`` itself, and ``from mod import func`` executed afterwards. A name
    bound elsewhere before the call (``from mod import func`` in a module imported earlier) keeps
    the original: instrument that name too, or instrument before that module is imported (for
    example with ``PROGRESS_INSTRUMENT_TARGETS`` or ``python -m progress_instrument run``).

    Instrumenting a target already instrumented, or a function that already reports progress, is
    a no-op.

    Args:
        target: ``"module:qualname"`` (``"pkg.models:Model.fit"``) or ``"module.function"``
            (``"json.dumps"``): a function, method, classmethod or staticmethod. When the module
            is not imported yet, the patch is applied the moment it is.
        message: The report's message; default: the docstring's first line, else the qualified name.
        steps: The expected total of the report's own units.
        param: A parameter to inject the report into by name; None (the default) for none.

    Raises:
        ValueError: `target` is malformed, or names a module through something that is not one.
        AttributeError: The module is imported and has no such attribute.
        TypeError: The target is not a function or method (a class, a property, a constant).

    Example:
        >>> import json
        >>> from progress_instrument import ProgressReport, instrument, uninstrument
        >>> instrument("json.dumps", "Serializing")
        >>> with ProgressReport("Job", sinks=[]) as job:
        ...     json.dumps([1, 2])
        ...     [child.step_message for child in job.children]
        '[1, 2]'
        ['Serializing']
        >>> uninstrument("json.dumps")
    """
    caller = sys._getframe(1)
    _instrument(target, message, steps, param, (caller.f_code.co_filename, caller.f_lineno))


def _instrument(target: str, message: str | None, steps: int, param: str | None, where: tuple[str, int] | None) -> None:
    parsed = parse_target(target)
    if message is not None and not isinstance(message, str):
        raise TypeError(f"message must be a str or None, got {type(message).__name__}")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise ValueError(f"steps must be an int >= 0, got {steps!r}")
    if param is not None and not isinstance(param, str):
        raise TypeError(f"param must be a parameter name or None, got {param!r}")
    record = _Record(parsed, message, steps, param, where)
    with _lock:
        if parsed.key in _records:
            return
        module = sys.modules.get(parsed.module)
        if module is not None:
            _apply(record, module)  # raises: nothing is recorded
            _records[parsed.key] = record
            return
        _check_module_path(target, parsed)
        _records[parsed.key] = record
        if parsed.module in _hooked:
            return
        _hooked.add(parsed.module)
    # Outside our lock: wrapt calls the hook at once if the module was imported meanwhile.
    wrapt.register_post_import_hook(_on_import, parsed.module)


def _check_module_path(target: str, parsed: Target) -> None:
    """Reject ``"json.JSONEncoder.encode"``-like targets, whose module part is a class, not a module."""
    parts = parsed.module.split(".")
    for end in range(1, len(parts)):
        module = sys.modules.get(".".join(parts[:end]))
        value = getattr(module, parts[end], None) if module is not None else None
        if value is not None and not isinstance(value, types.ModuleType):
            suggestion = f"{'.'.join(parts[:end])}:{'.'.join(parts[end:])}.{parsed.path}"
            raise ValueError(
                f"cannot instrument {target!r}: {'.'.join(parts[: end + 1])} is not a module; "
                f"to name a method, write {suggestion!r}"
            )


def _apply(record: _Record, module: types.ModuleType) -> None:
    """Patch the target in the imported `module`, or raise naming it."""
    target = record.target
    try:
        parent, attribute, original = wrapt.resolve_path(module, target.path)
    except AttributeError as error:
        raise AttributeError(f"cannot instrument {target.key!r}: {_missing(module, target.path)}") from error
    _check_instrumentable(target, original)
    if isinstance(original, _wrapper_class()):
        record.applied = True
        return  # it reports progress already: nothing to patch, nothing to undo
    try:
        created = attribute not in vars(parent)
    except TypeError:
        created = False
    wrapper = _decorate(original, record.message, record.steps, record.param, record.is_active)
    wrapt.apply_patch(parent, attribute, wrapper)
    record.applied = True
    record.parent, record.original, record.wrapper, record.created = parent, original, wrapper, created


def _missing(module: types.ModuleType, path: str) -> str:
    """Say which part of `path` the module lacks, e.g. "json.JSONEncoder has no attribute 'nope'"."""
    owner: Any = module
    name = module.__name__
    for part in path.split("."):
        try:
            owner = getattr(owner, part)
        except AttributeError:
            if _initializing(module) and _initializing(sys.modules.get(__package__ or "")):
                # PROGRESS_INSTRUMENT_TARGETS naming a module that imports progress_instrument: the
                # targets are applied while both are half-imported. (Post-import hooks may fire
                # before importlib marks a module done, so the module's flag alone says nothing.)
                return (
                    f"{name} has no attribute {part!r} yet: {module.__name__} is still being imported "
                    "(it imports progress_instrument before defining it); import progress_instrument "
                    "before it, or use python -m progress_instrument run"
                )
            return f"{name} has no attribute {part!r}"
        name = f"{name}.{part}"
    return f"{name} cannot be resolved"


def _initializing(module: object) -> bool:
    return bool(getattr(getattr(module, "__spec__", None), "_initializing", False))


def _check_instrumentable(target: Target, value: object) -> None:
    if isinstance(value, (classmethod, staticmethod)):
        return
    if isinstance(value, type):
        hint = f"; instrument its methods instead, e.g. '{target.key}.__init__'"
        raise TypeError(f"cannot instrument {target.key!r}: it is a class{hint}")
    if not callable(value) or isinstance(value, types.ModuleType):
        raise TypeError(f"cannot instrument {target.key!r}: it is a {type(value).__name__}, not a function or method")


def _on_import(module: types.ModuleType) -> None:
    """The post-import hook: apply the targets of `module` still pending, warning about bad ones."""
    with _lock:
        _hooked.discard(module.__name__)
        pending = [r for r in _records.values() if r.target.module == module.__name__ and not r.applied]
        failures: list[tuple[_Record, Exception]] = []
        for record in pending:
            try:
                _apply(record, module)
            except (AttributeError, TypeError) as error:
                del _records[record.target.key]
                failures.append((record, error))
    for record, failure in failures:
        message = f"progress_instrument could not instrument a target when {module.__name__!r} was imported: {failure}"
        if record.where is not None:
            filename, lineno = record.where
            warnings.warn_explicit(message, RuntimeWarning, filename, lineno)
        else:
            warnings.warn(message, RuntimeWarning, stacklevel=2)


def uninstrument(target: str) -> None:
    """Undo `instrument(target)`: the original object is put back exactly where it was.

    ``mod.func is original`` again, and for a method the class ``__dict__`` holds the original
    function, classmethod or staticmethod object (an inherited method's patch is removed). A
    target whose module was not imported yet is forgotten. Copies of the wrapper bound elsewhere
    meanwhile (``from mod import func`` after instrumenting) stop reporting. Uninstrumenting a
    target that is not instrumented is a no-op.

    Args:
        target: The target as given to `instrument` (either form).

    Raises:
        ValueError: `target` is malformed.
    """
    parsed = parse_target(target)
    with _lock:
        record = _records.pop(parsed.key, None)
        if record is not None:
            _restore(record)


def _restore(record: _Record) -> None:
    record.active = False
    if record.wrapper is None:
        return
    attribute = record.target.path.rpartition(".")[2]
    parent = record.parent
    try:
        current = vars(parent).get(attribute)
    except TypeError:
        current = getattr(parent, attribute, None)
    if current is not record.wrapper:
        return  # replaced since by someone else: leave theirs, ours is inert
    if record.created:
        delattr(parent, attribute)
    else:
        wrapt.apply_patch(parent, attribute, record.original)


def reset() -> None:
    """Uninstrument every target (tests use it to keep patches from leaking)."""
    with _lock:
        records = list(_records.values())
        _records.clear()
        for record in reversed(records):
            _restore(record)


def instrument_from_environment(value: str, source: str = TARGETS_VARIABLE) -> None:
    """Instrument the comma-separated targets in `value`; a bad one warns and the rest still apply."""
    for text in value.split(","):
        if not text.strip():
            continue
        try:
            _instrument(text, None, 0, None, None)
        except (ValueError, TypeError, AttributeError) as error:
            warnings.warn(f"{source}: {error}", RuntimeWarning, stacklevel=3)


instrument.__module__ = "progress_instrument"
uninstrument.__module__ = "progress_instrument"
