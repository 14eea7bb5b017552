"""Per-kernel benchmarks, float32, small to large (fastnn.bench.kernel_cases)."""

import pytest

from conftest import SIDES, run_case
from fastnn import bench

CASES = bench.kernel_cases()


@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_kernel(benchmark, case, side):
    run_case(benchmark, case, side)
