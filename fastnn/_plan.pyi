"""Type stubs for fastnn/_plan.pyx (the fused training plan)."""

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import DTypeLike, NDArray
from typing_extensions import disjoint_base

STEP_KINDS: dict[str, int]
LOSS_KINDS: dict[str, int]
OPTIMIZER_KINDS: dict[str, int]
_GEOM_KEYS: tuple[str, ...]

@disjoint_base  # an extension type (cdef class): its own C layout
class TrainingPlan:
    """A compiled training loop over fixed buffers. Build it with fastnn._fused."""

    step_specs: list[dict[str, Any]]
    dropout_layers: list[Any]  # the model's Dropout layers, in step order (set by _fused)
    def __init__(
        self,
        steps: Sequence[Mapping[str, Any]],
        *,
        loss: str,
        fold_last: bool,
        batch_size: int,
        in_dim: int,
        dtype: DTypeLike,
        optimizer: Mapping[str, Any],
        params: Sequence[NDArray[Any]],
        grads: Sequence[NDArray[Any]],
        states: Sequence[Sequence[NDArray[Any] | None]],
        has_weights: bool = ...,
        accuracy: int = ...,
        threshold: float = ...,
        stop_on_nonfinite: bool = ...,
        pooled_conv: bool = ...,
    ) -> None: ...
    @property
    def pooled_steps(self) -> list[int]: ...
    @property
    def stop_on_nonfinite(self) -> bool: ...
    @property
    def compact_batches(self) -> int: ...
    @property
    def iterations(self) -> int: ...
    @property
    def weight_decay(self) -> float: ...
    @weight_decay.setter
    def weight_decay(self, value: float) -> None: ...
    @property
    def lr(self) -> float: ...
    @lr.setter
    def lr(self, value: float) -> None: ...
    @property
    def clip(self) -> tuple[float | None, float | None]: ...
    @clip.setter
    def clip(self, value: tuple[float | None, float | None]) -> None: ...
    def dropout_offsets(self) -> list[int]: ...
    def train(
        self,
        X: NDArray[Any],
        targets: NDArray[Any],
        sample_weight: NDArray[Any] | None,
        perm: NDArray[np.intp],
        first_batch: int,
        last_batch: int,
        *,
        check_rows: bool = ...,
    ) -> tuple[float, float, int, int]: ...
    def predict_rows(self, X: object) -> NDArray[Any] | None: ...
    def predict(self, X: NDArray[Any], out: NDArray[Any], check_finite: bool = ...) -> bool: ...
