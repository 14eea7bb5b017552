"""One epoch of MNIST training per network, fused native plan vs the numpy reference
(fastnn.bench.training_cases); the epoch losses must agree."""

import pytest

from conftest import SIDES, run_case
from fastnn import bench

CONFIGS = bench.TRAINING_CONFIGS
IDS = [f"784-{h}-10 batch {b} {o[0]}" for h, b, o, _, _ in CONFIGS]


@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize("config", CONFIGS, ids=IDS)
def test_training_epoch(benchmark, mnist, config, side):
    X, y, _ = mnist
    run_case(benchmark, bench.training_cases(X, y, [config])[0], side)


@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("config", [c for c in CONFIGS if c[0] >= 512],
                         ids=[i for c, i in zip(CONFIGS, IDS) if c[0] >= 512])
def test_thread_scaling(benchmark, mnist, config, threads, side):
    X, y, _ = mnist
    case = bench.training_cases(X, y, [config], threads=threads, rounds=2)[0]
    case.group, case.name = "threads", f"{case.name}, {threads} threads"
    run_case(benchmark, case, side)
