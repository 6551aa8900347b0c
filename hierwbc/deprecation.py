"""Old (British-spelt) names kept for one release after the public API moved to one spelling
(American, as numpy, scikit-learn and scanpy): each use warns with a DeprecationWarning naming
the new name, then does what the new name does."""

from __future__ import annotations

import functools
import importlib
import sys
import warnings
from collections.abc import Callable

REMOVED_IN = "0.3"


def _warn(old: str, new: str, stacklevel: int = 3) -> None:
    warnings.warn(f"{old} is deprecated and will be removed in hierwbc {REMOVED_IN}; use {new}",
                  DeprecationWarning, stacklevel=stacklevel)


def renamed_attributes(module_name: str, renamed: dict[str, str]) -> Callable[[str], object]:
    """A module ``__getattr__`` that answers the old names of ``renamed`` ({old: new}) with the
    new ones, warning; a new name ``"package.module:name"`` is one that moved to another module.
    Anything else is an AttributeError as usual."""
    def __getattr__(name: str):
        if name in renamed:
            module, _, new = renamed[name].rpartition(":")
            _warn(f"{module_name}.{name}", f"{module or module_name}.{new}")
            return getattr(importlib.import_module(module) if module else sys.modules[module_name], new)
        raise AttributeError(f"module {module_name!r} has no attribute {name!r}")

    return __getattr__


def renamed_keywords(**renamed: str) -> Callable:
    """Decorator: keyword arguments given by an old name (``old=new`` pairs) are passed on under
    the new one, warning; giving both is a TypeError."""
    def wrap(function: Callable) -> Callable:
        @functools.wraps(function)
        def call(*args, **kwargs):
            for old, new in renamed.items():
                if old in kwargs:
                    if new in kwargs:
                        raise TypeError(f"{function.__name__}() got both {old}= and {new}= (the same argument)")
                    _warn(f"{function.__name__}({old}=...)", f"{new}=")
                    kwargs[new] = kwargs.pop(old)
            return function(*args, **kwargs)

        return call

    return wrap


def renamed_module(old: str, new: str) -> None:
    """Called by a module kept under its old name: warn that ``new`` replaced it."""
    _warn(f"the module {old}", new, stacklevel=4)


__all__ = ["renamed_attributes", "renamed_keywords", "renamed_module"]
