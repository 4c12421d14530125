"""The public surface is exactly what `__all__` says, and reads as `progress_instrument.X`."""

from __future__ import annotations

import progress_instrument


def test_all_lists_exactly_the_public_names() -> None:
    """Every public name of the package is in __all__, and __all__ has nothing else."""
    public = {name for name in dir(progress_instrument) if not name.startswith("_")}
    public -= {"annotations"}
    modules = {name for name in public if type(getattr(progress_instrument, name)).__name__ == "module"}
    assert set(progress_instrument.__all__) == public - modules
    assert progress_instrument.__all__ == sorted(progress_instrument.__all__)


def test_public_classes_say_they_come_from_the_package() -> None:
    """Reprs and docs say progress_instrument.ProgressReport, not a private module."""
    for name in progress_instrument.__all__:
        obj = getattr(progress_instrument, name)
        if isinstance(obj, type):
            assert obj.__module__ == "progress_instrument", name
