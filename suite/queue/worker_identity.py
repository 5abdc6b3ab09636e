"""Who a worker is (host, pid, process start), and whether that worker is still alive."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from suite.record.environment import host_name


def this_worker() -> dict[str, Any]:
    return {"host": host_name(), "pid": os.getpid(), "started": _process_start(os.getpid())}


def _process_start(pid: int) -> str | None:
    """The kernel's start time of a process, so a reused pid is not mistaken for the worker."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]  # field 22, counted after the command name


def process_alive(pid: int, started: str | None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return started is None or _process_start(pid) == started
