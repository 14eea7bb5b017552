"""pytest-benchmark suite: every case of fastnn.bench, native next to numpy.

    pip install ".[bench]"
    pytest benchmarks --benchmark-json=run.json          # all groups
    pytest benchmarks -k "training and 784-30-10"        # one configuration
    pytest-benchmark compare run1.json run2.json         # two runs side by side

Each case appears twice in one benchmark group ("<group>: <case>"): `native` (fastnn)
and `numpy` (fastnn.reference doing the same work on the same inputs). The `native`
test first checks that both sides agree. MNIST comes from $FASTNN_MNIST_DIR (or
$FASTNN_DATA, or the cache); without it the data is random of the same shape.
$FASTNN_BENCH_ROWS limits the training rows (default: all 60,000). The saved JSON
carries fastnn's machine description (CPU, SIMD paths, BLAS and its core type,
threads, versions) under machine_info["fastnn"].
"""

import os

import pytest

from fastnn import bench

SIDES = ("native", "numpy")


def pytest_benchmark_update_machine_info(config, machine_info):
    machine_info["fastnn"] = bench.machine_info()


@pytest.fixture(scope="session")
def mnist():
    rows = int(os.environ.get("FASTNN_BENCH_ROWS", "0")) or None
    return bench.load_training_data(rows=rows)


def run_case(benchmark, case, side):
    """Time one side of a case with pytest-benchmark, grouped with its other side."""
    benchmark.group = f"{case.group}: {case.name}"
    benchmark.extra_info.update({"flops": case.flops, "items": case.items,
                                 "threads": case.threads})
    fn = case.native if side == "native" else case.reference
    previous = bench._threads.get_num_threads()
    if case.threads:
        bench._threads.set_num_threads(case.threads)
    try:
        if side == "native" and case.check:
            case.check()  # the two sides do the same work
        if "warmup" in case.info:  # whole epochs: a short fit warms up, then few rounds
            case.info["warmup"]("native" if side == "native" else "reference")
            benchmark.pedantic(fn, rounds=case.rounds, iterations=1)
        else:
            benchmark(fn)
    finally:
        bench._threads.set_num_threads(previous)
