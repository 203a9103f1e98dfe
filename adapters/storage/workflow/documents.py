"""Workflow dataclasses to JSON and back, by their type hints (dates, times and instants as
ISO strings, enums by value, tuples as lists, nested dataclasses as objects)."""

from __future__ import annotations

import dataclasses
import types
import typing
from datetime import date, datetime, time
from enum import Enum
from functools import cache
from typing import Any, TypeVar

T = TypeVar("T")


def to_json(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    return value


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def from_json(kind: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(kind) if a is not type(None)]
        return from_json(options[0], value)
    if origin is list:
        (item,) = typing.get_args(kind)
        return [from_json(item, v) for v in value]
    if origin is tuple:
        item = typing.get_args(kind)[0]
        return tuple(from_json(item, v) for v in value)
    if origin is dict:
        _, item = typing.get_args(kind)
        return {k: from_json(item, v) for k, v in value.items()}
    if isinstance(kind, type):
        if dataclasses.is_dataclass(kind):
            hints = _hints(kind)
            known = {f.name for f in dataclasses.fields(kind) if f.init}
            return kind(**{k: from_json(hints[k], v) for k, v in value.items() if k in known})
        if issubclass(kind, Enum):
            return kind(value)
        if kind is datetime:
            return datetime.fromisoformat(value)
        if kind is date:
            return date.fromisoformat(value)
        if kind is time:
            return time.fromisoformat(value)
    return value


def load(cls: type[T], doc: dict[str, Any]) -> T:
    loaded: T = from_json(cls, doc)
    return loaded
