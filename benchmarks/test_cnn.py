"""Convolutions (fastnn.bench's "cnn" group): conv2d forward and backward at the LeNet's
two MNIST sizes and a CIFAR-like 3x3 layer, 2x2 max pooling, and one epoch of the
LeNet (batch 64, Adam) on the first fastnn.bench.CNN_ROWS MNIST rows, fused native
plan vs the per-layer numpy reference; the epoch losses must agree."""

import pytest

from conftest import SIDES, run_case
from fastnn import bench

CASES = bench.conv_kernel_cases()


@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_conv_kernel(benchmark, case, side):
    run_case(benchmark, case, side)


@pytest.mark.parametrize("side", SIDES)
def test_lenet_epoch(benchmark, mnist, side):
    X, y, _ = mnist
    rows = bench.CNN_ROWS
    run_case(benchmark, bench.lenet_cases(X[:rows], y[:rows])[0], side)
