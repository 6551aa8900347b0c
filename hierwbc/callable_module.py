"""A module that is also its main function: ``hierwbc.predict(folder)``, ``hierwbc.embed(model,
manifest)`` and ``hierwbc.adapt(folder)`` are one-call APIs (as ``celltypist.annotate``), while
``from hierwbc.predict import predict`` and the modules' other names keep working."""

from __future__ import annotations

import sys
import types
from collections.abc import Callable


def make_callable(module_name: str, function: Callable) -> None:
    """Make the loaded module ``module_name`` callable as ``function`` (its class is swapped for a
    subclass of :class:`types.ModuleType` with ``__call__``; everything else stays)."""
    module = sys.modules[module_name]

    class CallableModule(types.ModuleType):
        __doc__ = module.__doc__

        def __call__(self, *args, **kwargs):
            return function(*args, **kwargs)

    module.__class__ = CallableModule
