"""Type stubs for fastnn/ops/recurrent.pyx (native SimpleRNN / GRU / LSTM steps)."""

from typing import Any

from numpy.typing import ArrayLike, NDArray

from .._inputs import RecurrentCache
from .._validation import Checks

__all__ = ["recurrent_forward", "recurrent_backward"]

V: Checks
_CELL_CODE: dict[str, int]

def _flat(a: NDArray[Any] | None, like: NDArray[Any]) -> NDArray[Any]: ...
def _time_major(a: NDArray[Any]) -> NDArray[Any]: ...
def recurrent_forward(
    x: NDArray[Any],
    weight_ih: NDArray[Any],
    weight_hh: NDArray[Any],
    bias_ih: NDArray[Any] | None = None,
    bias_hh: NDArray[Any] | None = None,
    h0: NDArray[Any] | None = None,
    c0: NDArray[Any] | None = None,
    *,
    cell: str = "tanh",
    lengths: ArrayLike | None = None,
) -> tuple[NDArray[Any], NDArray[Any], NDArray[Any] | None, RecurrentCache]: ...
def recurrent_backward(
    dy: NDArray[Any] | None,
    dh_n: NDArray[Any] | None,
    dc_n: NDArray[Any] | None,
    x: NDArray[Any],
    weight_ih: NDArray[Any],
    weight_hh: NDArray[Any],
    cache: RecurrentCache,
    h0: NDArray[Any] | None = None,
    c0: NDArray[Any] | None = None,
    *,
    cell: str = "tanh",
    lengths: ArrayLike | None = None,
    bias: bool = True,
    compute_dx: bool = True,
) -> tuple[
    NDArray[Any] | None,
    NDArray[Any],
    NDArray[Any],
    NDArray[Any] | None,
    NDArray[Any] | None,
    NDArray[Any],
    NDArray[Any] | None,
]: ...
