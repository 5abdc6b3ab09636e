"""This machine's facts that the suite divides work by: the cores a process may use, one
worker's share of them, and how many JAX CPU devices a core carries. No library is imported:
planning, forecasting and worker start-up read these before any backend starts."""

from __future__ import annotations

import os

# JAX CPU devices per core: seeds trained together step on them side by side (the fused
# program's lanes, suite.train.lanes), so a core's two devices keep it busy while one waits.
CPU_DEVICES_PER_CORE = 2


def machine_cores() -> int:
    """The cores this process is allowed on (a container's or `taskset`'s limit, not the
    machine's count): what --workers share out."""
    return len(os.sched_getaffinity(0))


def cpu_cores() -> int:
    """The cores this process may use: its --workers share, else those it is allowed on."""
    threads = int(os.environ.get("SUITE_THREADS", "0"))
    return threads or machine_cores()


def worker_cores(workers: int, *, cores: int | None = None) -> int:
    """One worker's share of this machine's cores (or of `cores`) when `workers` train at
    once (never 0)."""
    return max(1, (cpu_cores() if cores is None else cores) // max(workers, 1))
