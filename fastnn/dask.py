"""fastnn on a Dask cluster: a thread budget for each worker, so that the workers' tasks
and fastnn's threads inside them never ask for more cores than a host has.

    from dask.distributed import Client
    import fastnn.dask

    client = Client("tcp://scheduler:8786")        # or Client(LocalCluster(...))
    fastnn.dask.set_worker_threads(client)         # every worker, and workers that join

A Dask worker runs ``nthreads`` tasks at once; each task that trains or predicts with
fastnn uses fastnn's thread budget (``fastnn.set_num_threads``: fastnn's OpenMP loops and
the BLAS it calls). Workers x tasks x budget must stay within a host's cores, or the
threads take turns on the cores and every task slows down. Dask's nanny starts worker
processes with ``OMP_NUM_THREADS=1`` (its ``distributed.nanny.pre-spawn-environ``), so
by default each task uses one thread: no oversubscription, but cores left idle where the
cluster has fewer tasks than cores. :func:`set_worker_threads` sets the budget
explicitly, from what the workers report. docs/scale-out.md shows it with scikit-learn's
GridSearchCV on a local and on a remote cluster.

Needs dask.distributed: ``pip install "fastnn-cpu[dask]"``. ``import fastnn`` never
imports this module.
"""

from __future__ import annotations

import os
from collections import defaultdict
from typing import Any

try:
    from distributed import Client, WorkerPlugin
except ImportError as e:  # pragma: no cover - depends on the environment
    raise ImportError("fastnn.dask needs dask.distributed: "
                      "pip install 'fastnn-cpu[dask]'") from e

from ._threads import set_num_threads
from ._validation import integer

__all__ = ["ThreadBudget", "set_worker_threads", "thread_budget"]


def thread_budget(cores: int, tasks: int) -> int:
    """fastnn threads per task on a host with ``cores`` cores where ``tasks`` tasks run at
    once (the threads of every Dask worker on the host): ``cores // tasks``, at least 1."""
    cores = integer("cores", cores, lo=1)
    tasks = integer("tasks", tasks, lo=1)
    return max(1, cores // tasks)


def _cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


class ThreadBudget(WorkerPlugin):
    """A worker plugin that sets fastnn's thread budget (``fastnn.set_num_threads``) in
    the worker's process when the worker starts or the plugin is registered:
    ``client.register_plugin(ThreadBudget(2))``. :func:`set_worker_threads` registers
    one with a budget worked out from the cluster."""

    name = "fastnn-thread-budget"  # registering another replaces this one

    def __init__(self, threads: int) -> None:
        self.threads = integer("threads", threads, lo=1)

    def setup(self, worker: Any) -> None:
        set_num_threads(self.threads)


def set_worker_threads(client: Client, threads: int | None = None) -> int:
    """Give every worker of ``client`` fastnn's thread budget ``threads``, now and when a
    worker joins or restarts later (a :class:`ThreadBudget` plugin). Returns the budget.

    ``threads=None`` works it out from the workers there now: on each host, the cores a
    worker process may use divided by the threads of all the Dask workers on that host
    (:func:`thread_budget`), the smallest over the hosts. So LocalCluster(n_workers=2,
    threads_per_worker=1) on a 2-core machine gives 1; one worker with one thread on a
    16-core host gives 16. Call it once the workers have started
    (``client.wait_for_workers(n)``)."""
    if threads is None:
        workers = client.scheduler_info()["workers"]
        if not workers:
            raise ValueError("the cluster has no workers yet: call "
                             "client.wait_for_workers(n) first, or pass threads=")
        tasks: dict[str, int] = defaultdict(int)
        for info in workers.values():
            tasks[info["host"]] += int(info["nthreads"])
        cores = client.run(_cores)  # {address: cores}
        threads = min(thread_budget(cores[addr], tasks[info["host"]])
                      for addr, info in workers.items() if addr in cores)
    plugin = ThreadBudget(threads)
    client.register_plugin(plugin, name=ThreadBudget.name)
    return plugin.threads
