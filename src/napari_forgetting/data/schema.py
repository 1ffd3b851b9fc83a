"""Files read back are checked against a schema before use: types, bounds, names.

A schema is plain data: a type (``str``, ``bool``, ``float``), :class:`Int` / :class:`Real`
with bounds, :class:`Name` (a file stem: no path separators, no ``..``), :class:`Choice`,
:class:`ListOf` and :class:`Record` (a dict with required and optional fields, others
allowed; an optional field that may be ``null`` says so: ``(str, type(None))``).
:func:`validate` raises one line naming the file and the field::

    pool.json: field sets[0].name: '../../outside/secret' is not a plain name

Nothing here imports torch, Qt or napari.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Choice", "Int", "ListOf", "Name", "Real", "Record", "SchemaError", "validate"]

#: The largest count or size a file may claim (a crafted 10**12 is refused before use).
MAX_COUNT = 10**9


class SchemaError(ValueError):
    """A file whose content does not fit its schema (one line: the file, the field, why)."""


@dataclass(frozen=True)
class Int:
    lo: int = 0
    hi: int = MAX_COUNT


@dataclass(frozen=True)
class Real:
    lo: float = -math.inf
    hi: float = math.inf


@dataclass(frozen=True)
class Name:
    """A plain file stem: letters, digits, ``_ - .``, not starting with a dot."""


@dataclass(frozen=True)
class Choice:
    values: tuple


@dataclass(frozen=True)
class ListOf:
    item: Any
    min_len: int = 0
    max_len: int = MAX_COUNT


@dataclass(frozen=True)
class Record:
    required: Mapping[str, Any]
    optional: Mapping[str, Any] = field(default_factory=dict)


_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]{0,199}")


def _fail(where: str, problem: str, error: type[Exception]) -> None:
    raise error(f"{where}: {problem}")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _check(value: Any, spec: Any, path: str, where: str, error: type[Exception]) -> None:
    at = f"{where}: field {path}" if path else where
    if isinstance(spec, Int):
        if isinstance(value, bool) or not isinstance(value, int):
            _fail(at, f"{_short(value)} is not a whole number", error)
        if not spec.lo <= value <= spec.hi:
            _fail(at, f"{value} is outside {spec.lo}..{spec.hi}", error)
    elif isinstance(spec, Real):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            _fail(at, f"{_short(value)} is not a number", error)
        if not math.isfinite(value) or not spec.lo <= value <= spec.hi:
            _fail(at, f"{value} is outside {spec.lo}..{spec.hi}", error)
    elif isinstance(spec, Name):
        if not isinstance(value, str) or not _NAME.fullmatch(value) or ".." in value:
            _fail(at, f"{_short(value)} is not a plain name (no folders, no '..')", error)
    elif isinstance(spec, Choice):
        if value not in spec.values:
            _fail(at, f"{_short(value)} is not one of {list(spec.values)}", error)
    elif isinstance(spec, ListOf):
        if not isinstance(value, list):
            _fail(at, f"{_short(value)} is not a list", error)
        if not spec.min_len <= len(value) <= spec.max_len:
            _fail(at, f"{len(value)} entries, {spec.min_len}..{spec.max_len} expected", error)
        for i, item in enumerate(value):
            _check(item, spec.item, f"{path}[{i}]", where, error)
    elif isinstance(spec, Record):
        if not isinstance(value, dict):
            _fail(at, f"{_short(value)} is not a record", error)
        for key, sub in spec.required.items():
            if key not in value:
                _fail(at if path else where, f"field {_join(path, key)} is missing", error)
            _check(value[key], sub, _join(path, key), where, error)
        for key, sub in spec.optional.items():
            if key in value:
                _check(value[key], sub, _join(path, key), where, error)
    elif isinstance(spec, type) or (
        isinstance(spec, tuple) and all(isinstance(t, type) for t in spec)
    ):
        types = spec if isinstance(spec, tuple) else (spec,)
        if float in types and not isinstance(value, bool) and isinstance(value, int):
            return
        if isinstance(value, bool) and bool not in types:
            _fail(at, f"{_short(value)} is not a {types[0].__name__}", error)
        if not isinstance(value, types):
            _fail(at, f"{_short(value)} is not a {types[0].__name__}", error)
    elif spec is Any:
        return
    else:  # pragma: no cover - a schema written wrong
        raise TypeError(f"unknown schema entry {spec!r}")


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def validate(
    data: Any, schema: Any, where: str | os.PathLike, error: type[Exception] = SchemaError
) -> Any:
    """``data`` if it fits ``schema``, else ``error`` (one line naming ``where`` and the
    field). Returns ``data`` unchanged."""
    _check(data, schema, "", os.fspath(where), error)
    return data


def inside(folder: str | os.PathLike, names: Sequence[str]) -> bool:
    """True when ``folder/name`` stays inside ``folder`` (links resolved) for every name."""
    root = os.path.realpath(folder)
    return all(
        os.path.commonpath([root, os.path.realpath(os.path.join(root, n))]) == root for n in names
    )
