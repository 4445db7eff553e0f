"""Tracker parameters: the bag a parameter file fills, and typed settings read from it once.

A parameter file (``pytracking/parameter/<tracker>/<param>.py``) is plain Python: ``parameters()``
returns a :class:`TrackerParams` whose attributes are the keys it sets. A tracker turns that bag into
frozen dataclasses derived from :class:`ParamSettings` exactly once, at construction. Each field of
such a class is one parameter-file key (the field name, or ``param(key=...)``) with its default: the
default lives there and nowhere else. A key the tracker's settings do not know is an error naming
the key and the closest known one (``difflib``), so a typo never falls back to a default silently.
A check of a value (range, choice) is the class's ``__post_init__``; its error is prefixed with the file.

:func:`parse_overrides` reads the CLIs' ``--set key=value`` pairs (keys set on top of a parameter file, see
:class:`pytracking.evaluation.tracker.Tracker`), :func:`overrides_digest` names their results folder.
"""
from __future__ import annotations

import argparse
import ast
import dataclasses
import difflib
import hashlib
import json
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import SimpleNamespace
from typing import Any, ClassVar, TypeVar

__all__ = ["TrackerParams", "ParamSettings", "param", "nested", "check_known_keys", "UnknownParameterError",
           "parse_overrides", "parse_set_argument", "describe_overrides", "overrides_digest"]

_RAW = object()   # marker: keep the value as given (no conversion)
S = TypeVar("S", bound="ParamSettings")


class TrackerParams(SimpleNamespace):
    """Attribute bag of tracker parameters. ``get(name, default)`` reads an optional one."""

    def get(self, name: str, *default: Any) -> Any:
        if len(default) > 1:
            raise TypeError("get() takes at most one default")
        if default:
            return getattr(self, name, default[0])
        if not hasattr(self, name):
            raise AttributeError(f"tracker parameter '{name}' is not set")
        return getattr(self, name)

    def has(self, name: str) -> bool:
        return hasattr(self, name)


class UnknownParameterError(ValueError):
    """A parameter file sets a key that no settings class of the tracker reads."""


def param(default: Any = None, *, key: str | None = None, convert: Callable[[Any], Any] | None | object = _RAW,
          doc: str = "") -> Any:
    """A settings field read from parameter-file key ``key`` (default: the field's name).

    ``convert`` is applied to a value read from the file (not to the default); by default it is
    inferred from ``default``: ``bool``/``int``/``float``/``str`` for a scalar, element-wise for a
    tuple of one scalar type, none otherwise. ``convert=None`` keeps the value as given."""
    if isinstance(default, (list, dict, set)):
        raise TypeError("param: use an immutable default (a tuple), not a list/dict/set")
    return dataclasses.field(default=default, metadata={"key": key, "convert": convert, "doc": doc})


def nested(cls: type[ParamSettings]) -> Any:
    """A field holding a whole settings class, read from the same flat parameter file."""
    return dataclasses.field(default_factory=cls, metadata={"nested": cls})


def _to_bool(value: Any) -> bool:
    """A bool from a bool, 0 / 1, or the text ``true`` / ``false`` (any case); anything else is a ``ValueError``
    (``bool('false')`` would be True)."""
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    if isinstance(value, (bool, int, float)) and value in (0, 1):
        return bool(value)
    if hasattr(value, "item") and getattr(value, "shape", None) == ():   # a NumPy / torch scalar
        return _to_bool(value.item())
    raise ValueError(f"expected True or False, got {value!r}")


def _to_int(value: Any) -> int:
    """An int from an integer, an integral float (``3.0``) or integer text (``'128'``); ``2.5`` or a bool is a
    ``ValueError`` (``int(2.5)`` would be 2)."""
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise ValueError(f"expected an integer, got {value!r}")
    return int(value)


def _to_float(value: Any) -> float:
    """A float from a number or number text; a bool is a ``ValueError``."""
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got {value!r}")
    return float(value)


#: the converter of a field by the type of its default: strict, so that a value of another kind is an error
_CONVERTERS: dict[type, Callable[[Any], Any]] = {bool: _to_bool, int: _to_int, float: _to_float, str: str}


def _scalar_converter(value: Any) -> Callable[[Any], Any] | None:
    for kind in (bool, int, float, str):   # bool first: bool is a subclass of int
        if type(value) is kind:
            return _CONVERTERS[kind]
    return None


def _inferred_converter(default: Any) -> Callable[[Any], Any] | None:
    scalar = _scalar_converter(default)
    if scalar is not None:
        return scalar
    if isinstance(default, tuple):
        kinds = {_scalar_converter(v) for v in default}
        if len(kinds) == 1 and None not in kinds:
            element = kinds.pop()
            return lambda values: tuple(element(v) for v in values)   # type: ignore[misc]
        if not default:
            return _as_tuple
    return None


def _as_tuple(values: Any) -> tuple:
    """``tuple(values)``, refusing a single string (``tuple('ab')`` would be ``('a', 'b')``)."""
    if isinstance(values, (str, bytes, os.PathLike)):
        raise TypeError(f"expected a tuple, got the single value {values!r}: write ({values!r},)")
    return tuple(values)


def _param_items(params: Any) -> dict[str, Any]:
    if isinstance(params, Mapping):
        return dict(params)
    return dict(vars(params))


@dataclasses.dataclass(frozen=True)
class ParamSettings:
    """Base of typed settings read from a parameter file (see the module docstring).

    Subclasses are ``@dataclass(frozen=True)``; adding a parameter is one line:
    ``name: float = param(0.5, key="file_key")`` (or ``name: float = 0.5`` when the key is the name).
    Its allowed range, if any, is one entry of the class's ``limits``; a subclass's own ``__post_init__`` (a check
    that is not a range) calls this one first."""

    #: field name -> (lowest, highest) allowed value, both inclusive, None = unbounded; for a tuple, every element.
    #: Checked after construction: an error names the parameter-file key.
    limits: ClassVar[dict[str, tuple[float | None, float | None]]] = {}

    def __post_init__(self) -> None:
        for name, (low, high) in self.limits.items():
            value = getattr(self, name)
            values = value if isinstance(value, tuple) else (value,)
            if any((low is not None and v < low) or (high is not None and v > high) for v in values):
                field = self.__dataclass_fields__[name]
                key = field.metadata.get("key") or name
                allowed = (f"in [{low:g}, {high:g}]" if low is not None and high is not None
                           else f">= {low:g}" if low is not None else f"<= {high:g}")
                raise ValueError(f"{key} must be {allowed}, got {value!r}")

    @classmethod
    def keys(cls) -> dict[str, str]:
        """Parameter-file key -> dotted field path, over this class and its nested settings."""
        out: dict[str, str] = {}
        for f in dataclasses.fields(cls):
            sub = f.metadata.get("nested")
            if sub is not None:
                out.update({k: f"{f.name}.{v}" for k, v in sub.keys().items()})
            else:
                out[f.metadata.get("key") or f.name] = f.name
        return out

    @classmethod
    def from_params(cls: type[S], params: Any, *, check: bool = True, where: str = "") -> S:
        """The settings read from ``params`` (a :class:`TrackerParams` or a mapping): every field
        from its key if set, else its default. With ``check``, a key no field reads raises
        :class:`UnknownParameterError` naming it, the closest known key and ``where``."""
        items = _param_items(params)
        if check:
            check_known_keys(items, cls.keys(), where)
        return cls._build(items, where)

    @classmethod
    def _build(cls: type[S], items: dict[str, Any], where: str) -> S:
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            sub = f.metadata.get("nested")
            if sub is not None:
                values[f.name] = sub._build(items, where)
                continue
            key = f.metadata.get("key") or f.name
            if key not in items:
                continue   # the field's default
            convert = f.metadata.get("convert", _RAW)
            if convert is _RAW:
                convert = _inferred_converter(f.default)
            value = items[key]
            if convert is not None:
                try:
                    value = convert(value)
                except (TypeError, ValueError) as err:
                    raise ValueError(f"{_where(where)}tracker parameter {key!r} = {value!r}: {err}") from err
            values[f.name] = value
        try:
            return cls(**values)
        except ValueError as err:   # a __post_init__ check: name the parameter file
            raise ValueError(f"{_where(where)}{err}") from err


def _where(where: str) -> str:
    return f"{where}: " if where else ""


def check_known_keys(params: Any, known: Iterable[str], where: str = "") -> None:
    """Raise :class:`UnknownParameterError` for the first key of ``params`` not in ``known``, naming
    the closest known key (``difflib.get_close_matches``) and ``where`` (e.g. the parameter file)."""
    known = sorted(set(known))
    items = params if isinstance(params, Mapping) else _param_items(params)
    for key in items:
        if key in known:
            continue
        close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
        hint = f"did you mean {close[0]!r}?" if close else f"known keys: {', '.join(known)}"
        raise UnknownParameterError(f"{_where(where)}unknown tracker parameter {key!r} ({hint})")


_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def parse_overrides(pairs: Sequence[str], argument: str = "--set") -> dict[str, Any]:
    """``['key=value', ...]`` -> ``{key: value}``: parameter-file keys set on top of a parameter file.

    Values are Python literals (``True``, ``0.5``, ``(1e-4, 1e-4, 5e-4, 5e-4)``, ``None``); anything else stays a string
    (``net_path=/tmp/head.pth``). ``ValueError`` naming ``argument`` and the pair for a pair without ``=``, a key
    that is not an identifier, or a key given twice."""
    overrides: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not _KEY.match(key):
            raise ValueError(f"argument {argument}: expected key=value with an identifier key, got {pair!r}")
        if key in overrides:
            raise ValueError(f"argument {argument}: {key!r} given twice")
        try:
            overrides[key] = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            overrides[key] = text
    return overrides


def parse_set_argument(parser: argparse.ArgumentParser, pairs: Sequence[str]) -> dict[str, Any]:
    """:func:`parse_overrides` of a CLI's ``--set`` pairs; a bad pair ends the command through ``parser.error``
    (exit status 2, the message naming ``--set`` and the pair)."""
    try:
        return parse_overrides(pairs)
    except ValueError as err:
        parser.error(str(err))


def describe_overrides(overrides: Mapping[str, Any]) -> str:
    """``key=repr(value), ...``: overrides as a line of a log or a table."""
    return ", ".join(f"{key}={value!r}" for key, value in overrides.items())


def overrides_digest(overrides: Mapping[str, Any]) -> str:
    """8 hex digits of SHA-256 over the sorted ``key=repr(value)`` pairs: the same overrides, in any order, give the
    same digest (results folders ``<param>-<digest>``)."""
    text = json.dumps(sorted((key, repr(value)) for key, value in overrides.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:8]
