"""Named network constructors, so a checkpoint can rebuild its network without unpickling objects.

Usage::

    @register("atom_tiny")
    def atom_tiny(pred_dim: int = 16) -> nn.Module: ...

    net = build("atom_tiny", pred_dim=8)
    net.constructor  # {"name": "atom_tiny", "kwargs": {"backbone_channels": [8, 16], "pred_dim": 8}}

``build`` records the constructor name and its keyword arguments (defaults included) on the module (attribute ``constructor``);
the keyword arguments must be plain JSON-like values (None, bool, int, float, str, lists/tuples of them, dicts
with str keys). Tuples are stored as lists; constructors must accept lists where they take tuples.
"""
from __future__ import annotations

import importlib
import inspect
from typing import Any, Callable

from torch import nn

_CONSTRUCTORS: dict[str, Callable[..., nn.Module]] = {}

# Modules whose import registers the project's constructors (imported lazily by build()/names()).
_DEFAULT_CONSTRUCTOR_MODULES = ("ltr.models.tracking.atomnet",)


def register(name: str) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
    """Decorator registering a network constructor function under ``name`` (must be unique)."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"register: name must be a non-empty string, got {name!r}")

    def decorator(constructor: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        existing = _CONSTRUCTORS.get(name)
        if existing is not None and existing is not constructor and (
                existing.__module__, existing.__qualname__) != (constructor.__module__, constructor.__qualname__):
            raise ValueError(f"register: a constructor named {name!r} already exists ({existing.__module__})")
        _CONSTRUCTORS[name] = constructor
        return constructor

    return decorator


def _load_default_constructors() -> None:
    for module in _DEFAULT_CONSTRUCTOR_MODULES:
        importlib.import_module(module)


def names() -> list[str]:
    """Sorted names of all registered constructors."""
    _load_default_constructors()
    return sorted(_CONSTRUCTORS)


def to_json_like(value: Any, path: str = "kwargs") -> Any:
    """Return ``value`` with tuples turned into lists; ValueError (naming the entry) if not JSON-like."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [to_json_like(v, f"{path}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict):
        out = {}
        for key, v in value.items():
            if not isinstance(key, str):
                raise ValueError(f"{path}: dict keys must be str, got {key!r}")
            out[key] = to_json_like(v, f"{path}.{key}")
        return out
    raise ValueError(f"{path}: constructor arguments must be JSON-like (None/bool/int/float/str/list/dict), "
                     f"got {type(value).__name__}")


def build(name: str, **kwargs: Any) -> nn.Module:
    """Build the network registered as ``name`` with ``kwargs``; sets ``net.constructor``.

    Raises:
        ValueError: unknown ``name`` (the message lists the known names) or non-JSON-like ``kwargs``.
    """
    known = names()
    if name not in _CONSTRUCTORS:
        raise ValueError(f"Unknown network constructor {name!r}; known: {', '.join(known)}")
    constructor = _CONSTRUCTORS[name]
    try:
        bound = inspect.signature(constructor).bind(**kwargs)
    except TypeError as error:
        raise ValueError(f"bad arguments for network constructor {name!r}: {error}") from error
    bound.apply_defaults()  # store defaults too, so a checkpoint does not depend on later default changes
    stored_kwargs = to_json_like(dict(bound.arguments))
    net = constructor(**kwargs)
    if not isinstance(net, nn.Module):
        raise ValueError(f"constructor {name!r} returned {type(net).__name__}, not an nn.Module")
    net.constructor = {"name": name, "kwargs": stored_kwargs}
    return net
