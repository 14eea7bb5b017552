"""fastnn on a Dask cluster (fastnn/dask.py): a GridSearchCV of fastnn.sklearn's
estimator on two worker processes gives the serial search's cv_results_ to the bit, and
each worker's fastnn thread budget keeps workers x threads within the cores."""

import faulthandler
import logging

import numpy as np
import pytest

distributed = pytest.importorskip("dask.distributed")
pytest.importorskip("sklearn")
joblib = pytest.importorskip("joblib")

import fastnn  # noqa: E402
import fastnn.dask  # noqa: E402
from fastnn.datasets import load_digits  # noqa: E402
from fastnn.sklearn import MLPClassifier  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402

# A hung cluster must not hang CI: past this, the run dumps its threads' stacks and exits.
HANG_LIMIT_S = 240


@pytest.fixture(scope="module")
def client():
    faulthandler.dump_traceback_later(HANG_LIMIT_S, exit=True)
    # OMP_NUM_THREADS=2 in the workers: without a budget each task would use 2 threads,
    # 2 workers x 2 threads on a 2-core machine
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None, silence_logs=logging.ERROR,
                                       env={"OMP_NUM_THREADS": "2"})
    c = distributed.Client(cluster, timeout="60s")
    try:
        c.wait_for_workers(2, timeout=60)
        yield c
    finally:
        c.close(timeout=20)
        cluster.close(timeout=20)
        faulthandler.cancel_dump_traceback_later()


def test_thread_budget_arithmetic():
    assert fastnn.dask.thread_budget(16, 4) == 4
    assert fastnn.dask.thread_budget(16, 3) == 5
    assert fastnn.dask.thread_budget(2, 2) == 1
    assert fastnn.dask.thread_budget(2, 8) == 1  # more tasks than cores: one thread each
    with pytest.raises(ValueError):
        fastnn.dask.thread_budget(0, 1)
    with pytest.raises(ValueError):
        fastnn.dask.ThreadBudget(0)


def test_workers_get_a_thread_budget(client):
    before = client.run(fastnn.get_num_threads)
    if fastnn._runtime.openmp_version():  # the budget OMP_NUM_THREADS gives, not ours
        assert set(before.values()) == {2}
    cores = client.run(fastnn.dask._cores)  # the cores each worker process may use
    want = max(1, min(cores.values()) // 2)  # 2 worker threads on one host
    assert fastnn.dask.set_worker_threads(client) == want
    assert client.run(fastnn.get_num_threads) == {w: want for w in before}
    if fastnn.dask._cores() <= 2:
        assert want == 1
    # explicitly, and for a worker that starts after the plugin was registered
    assert fastnn.dask.set_worker_threads(client, threads=1) == 1
    assert set(client.run(fastnn.get_num_threads).values()) == {1}
    client.restart()
    client.wait_for_workers(2, timeout=60)
    assert set(client.run(fastnn.get_num_threads).values()) == {1}


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_grid_search_on_dask_equals_serial(client):
    fastnn.dask.set_worker_threads(client, threads=1)
    X, y = load_digits()
    X, y = X[:600], y[:600]
    grid = {"hidden_layer_sizes": [(16,), (32,)], "alpha": [1e-4, 1e-2]}

    def search(n_jobs):
        est = MLPClassifier(max_iter=8, batch_size=32, learning_rate_init=0.01,
                            random_state=0)
        return GridSearchCV(est, grid, cv=3, n_jobs=n_jobs).fit(X, y)

    serial = search(1)
    with joblib.parallel_backend("dask", wait_for_workers_timeout=60):
        on_dask = search(-1)
    for key, value in serial.cv_results_.items():
        if key.endswith("_time"):
            continue
        if key == "params":
            assert on_dask.cv_results_[key] == value
        else:  # the same seeds and, whatever the thread count, the same bits
            np.testing.assert_array_equal(np.asarray(on_dask.cv_results_[key]),
                                          np.asarray(value), err_msg=key)
    assert on_dask.best_params_ == serial.best_params_
    assert serial.best_score_ > 0.7  # it learned (chance: 0.1)
    np.testing.assert_array_equal(on_dask.predict(X), serial.predict(X))
