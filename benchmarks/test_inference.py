"""predict latency of a trained 784-128-10 network: 1 sample and 1024 samples."""

import pytest

from conftest import SIDES, run_case
from fastnn import bench


@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize("which", [0, 1], ids=["1 sample", "1024 samples"])
def test_predict(benchmark, mnist, which, side):
    X, y, _ = mnist
    run_case(benchmark, bench.inference_cases(X, y)[which], side)
