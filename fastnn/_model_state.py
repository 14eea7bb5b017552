"""A model's arrays by name, as PyTorch's ``state_dict`` / ``load_state_dict`` have them:
``"{layer}.{key}"`` for every parameter and buffer (a Residual block's inner arrays have
keys ``"{i}.{key}"`` already -- ``i`` the inner layer's position, or "projection" -- so
theirs read ``"{block}.{i}.{key}"``, as in PyTorch's nn.Sequential). The model
file (fastnn/saving.py) records the same (layer, key) pairs and names them the same way
in its messages.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

if TYPE_CHECKING:
    from ._model_layers import _LayerStack


def array_name(layer: str, key: str) -> str:
    """The name of a layer's parameter or buffer: ``"{layer}.{key}"``."""
    return f"{layer}.{key}"


class IncompatibleKeys(NamedTuple):
    """What ``load_state_dict(..., strict=False)`` returns: the model's names the state
    did not have, and the state's names the model does not have."""

    missing_keys: list[str]
    unexpected_keys: list[str]


def named_arrays(model: _LayerStack) -> dict[str, NDArray[Any]]:
    """Every parameter, then every buffer, by name (the arrays themselves)."""
    out: dict[str, NDArray[Any]] = {}
    for layer, key, arr in model.params + model.buffers:
        name = array_name(layer.name, key)
        if name in out:  # e.g. a layer named "a.b" next to a block "a" holding a "b"
            raise ValueError(f"two arrays of the model are both named {name!r}; rename "
                             "a layer so that the names are unique")
        out[name] = arr
    return out


def state_dict(model: _LayerStack) -> dict[str, NDArray[Any]]:
    return {name: arr.copy() for name, arr in named_arrays(model).items()}


def load_state_dict(model: _LayerStack, state: Mapping[str, ArrayLike],
                    strict: bool) -> IncompatibleKeys:
    if not isinstance(state, Mapping):
        raise TypeError(f"load_state_dict takes a mapping of names to arrays, got "
                        f"{type(state).__name__}")
    if not model.built:
        raise ValueError("the model is not built yet, so it has no arrays to load into: "
                         "call model.build(input_shape) (or fit/predict) first")
    arrays = named_arrays(model)
    missing = [name for name in arrays if name not in state]
    unexpected = [str(name) for name in state if name not in arrays]
    problems: list[str] = []
    if strict:
        if missing:
            problems.append(f"missing keys: {', '.join(missing)}")
        if unexpected:
            problems.append(f"unexpected keys: {', '.join(unexpected)}")
    checked: list[tuple[NDArray[Any], NDArray[Any]]] = []
    for name, arr in arrays.items():
        if name not in state:
            continue
        value = np.asarray(state[name])
        if value.dtype.kind not in "fiu":
            problems.append(f"{name}: needs a numeric array, got dtype {value.dtype}")
        elif value.shape != arr.shape:
            problems.append(f"{name}: the model's array has shape {arr.shape}, the state's "
                            f"{value.shape}")
        else:
            checked.append((arr, value))
    if problems:  # nothing is copied unless everything fits
        raise ValueError("load_state_dict: " + "; ".join(problems))
    for arr, value in checked:
        arr[...] = value  # in place: the fused plans point at these arrays
    return IncompatibleKeys(missing, unexpected)
