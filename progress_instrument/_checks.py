"""Argument checks shared by the report API: bad input fails at the call, naming the problem."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypeGuard

__all__ = [
    "is_valid_report_id",
    "AttributeValue",
    "check_steps",
    "check_message",
    "check_unit",
    "check_attribute",
    "check_attributes",
    "check_sinks",
]

AttributeValue = str | int | float | bool


MAX_REPORT_ID_CHARS = 200


def is_valid_report_id(report_id: object) -> TypeGuard[str]:
    """Whether `report_id` is a usable id: a non-empty str of at most 200 chars that UTF-8 can encode."""
    if not isinstance(report_id, str) or not 0 < len(report_id) <= MAX_REPORT_ID_CHARS:
        return False
    if report_id.isascii():
        return True
    try:
        report_id.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_steps(steps: object) -> int:
    if isinstance(steps, bool) or not isinstance(steps, int):
        raise TypeError(f"steps must be an int, got {type(steps).__name__}")
    if steps < 0:
        raise ValueError(f"steps must be >= 0, got {steps}")
    return steps


def check_message(message: object, name: str = "step_message") -> str:
    if not isinstance(message, str):
        raise TypeError(f"{name} must be a str, got {type(message).__name__}")
    return message


def check_unit(unit: object) -> str | None:
    if unit is not None and not isinstance(unit, str):
        raise TypeError(f"unit must be a str or None, got {type(unit).__name__}")
    return unit


def check_attribute(key: object, value: object) -> None:
    if not isinstance(key, str):
        raise TypeError(f"attribute keys must be str, got {type(key).__name__}")
    if not isinstance(value, (str, int, float, bool)):
        raise TypeError(f"attribute {key!r} must be str, int, float or bool, got {type(value).__name__}")


def check_attributes(attributes: Mapping[str, AttributeValue] | None) -> dict[str, AttributeValue] | None:
    if not attributes:
        return None
    if not isinstance(attributes, Mapping):
        raise TypeError(f"attributes must be a mapping, got {type(attributes).__name__}")
    for key, value in attributes.items():
        check_attribute(key, value)
    return dict(attributes)


def check_sinks(sinks: Iterable[Any] | None) -> list[Any] | None:
    if sinks is None:
        return None
    checked = list(sinks)
    for sink in checked:
        if not (callable(getattr(sink, "emit", None)) or callable(sink)):
            raise TypeError(f"a sink must have an emit(event) method or be callable, got {sink!r}")
    return checked
