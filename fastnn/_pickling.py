"""Pickling and deep copies of fastnn's objects.

Models, layers, losses, optimizers and callbacks hold two things pickle cannot take: the
backend they compute with (a module: ``fastnn.ops`` or ``fastnn.reference``) and, on a
model, the fused native plans. Their pickled state names the backend module, which
unpickling imports again, and leaves the plans out (a model rebuilds them on its next
``fit`` or ``predict``). Everything else -- every array, the optimizer's state and step
counter, the model's RNG -- is pickled as it is, so a round trip is exact.
"""

from __future__ import annotations

import importlib
import types
from collections.abc import Callable
from typing import Any


class _ModuleRef:
    """A module in pickled state: unpickled (or deep-copied) as the module itself."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __reduce__(self) -> tuple[Callable[[str], types.ModuleType], tuple[str]]:
        return importlib.import_module, (self.name,)


class Picklable:
    """Mixin: pickle and ``copy.deepcopy`` support for fastnn's classes. ``_transient``
    names attributes that are caches of native state, pickled as None."""

    _transient: tuple[str, ...] = ()

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        for key, value in state.items():
            if isinstance(value, types.ModuleType):
                state[key] = _ModuleRef(value.__name__)
        for key in self._transient:
            if key in state:
                state[key] = None
        return state
