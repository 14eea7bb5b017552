"""Type stubs for fastnn/compat/_native.pyx (the book drop-ins' native helpers)."""

import random
from typing import Any

from numpy.typing import NDArray

def stack_columns(columns: list[Any], rows: int, out: NDArray[Any]) -> int: ...
def rows_view(columns: list[Any], rows: int) -> NDArray[Any] | None: ...
def shuffled_order(n: int, rng: random.Random) -> NDArray[Any]: ...
