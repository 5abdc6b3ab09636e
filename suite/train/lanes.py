"""Lanes: a fused program's members shared out over JAX CPU devices that step side by side.

JAX's CPU program keeps about one core busy for these small recurrent models, so on a CPU the
members of `suite.train.fused` are shared out over "lanes", one CPU device each
(`suite.train.keras_startup` starts two per core), every lane stepping its share with the same
`jax.lax.map` program. Shares are equal (the last lane padded with a copy of its last member,
whose results are dropped), so one compiled executable serves every lane: it is compiled for
the first lane and loaded onto the others (`retarget`). Each member's numbers are its separate
run's bit for bit (tests/training/test_fused.py); the lanes only change which core computes them.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from suite.machine import cpu_cores
from suite.train.execution import Execution


def best_lanes(members: int, cores: int, devices: int) -> int:
    """The lanes that finish `members` soonest: each lane steps ceil(members / lanes) of them,
    and lanes beyond the cores share those cores; on a tie, fewer lanes (less padding and
    memory). Measured on 2 cores: 3 members on 3 lanes 5.4 s an epoch, on 2 lanes 6.3 s, on 1
    lane 8.5 s; 4 members on 2 lanes 5.9 s, on 4 lanes 6.6 s."""

    return min(
        range(1, max(1, min(members, devices)) + 1),
        key=lambda lanes: (lanes_cost(members, lanes, cores), lanes),
    )


def lanes_cost(members: int, lanes: int, cores: int) -> float:
    """A fused program's time in separate runs' times: each lane steps ceil(members / lanes)
    members one after another, as fast as one separate run (JAX's CPU program keeps about one
    core busy), while the lanes are no more than the cores; beyond, they share them."""
    return math.ceil(members / lanes) * max(1.0, lanes / cores)


def lanes_for(execution: Execution, members: int) -> int:
    """Lanes for a fused program of `members` on this process's devices: a batched ("vmap")
    program runs on its one accelerator."""
    if execution.fused_program != "map":
        return 1
    import jax

    return best_lanes(members, cpu_cores(), len(jax.devices("cpu")))


def shares(members: int, lanes: int) -> list[list[int]]:
    """Member indices per lane, every share of equal size (the last padded with repeats of its
    last member); a lane is never empty."""
    size = math.ceil(members / lanes)
    found = []
    for start in range(0, members, size):
        share = list(range(start, min(start + size, members)))
        found.append(share + [share[-1]] * (size - len(share)))
    return found


def retarget(compiled: Any, device: Any) -> Any:
    """`compiled` (a one-device executable) loaded to run on `device` instead, through JAX's
    own executable serialization with the device assignment replaced. By hand because JAX
    compiles a program again for every CPU device it runs on (the device is part of the
    executable's compile options), which costs seconds per lane for these models."""
    import jax
    from jax._src.lib import xla_client
    from jax.experimental import serialize_executable

    serialized, in_tree, out_tree = serialize_executable.serialize(compiled)

    class _OnDevice(serialize_executable._JaxPjrtUnpickler):
        def persistent_load(self, pid: tuple) -> Any:
            if pid[0] == "device":
                return device
            if pid[0] == "exec":
                options = xla_client.CompileOptions()
                options.device_assignment = xla_client.DeviceAssignment.create(
                    np.array([[device.id]])
                )
                return self.backend.deserialize_executable(
                    pid[1], executable_devices=self.execution_devices, compile_options=options
                )
            return super().persistent_load(pid)

    unloaded, args_info, no_kwargs = _OnDevice(
        io.BytesIO(serialized), device.client, [device]
    ).load()
    return jax.stages.Compiled(
        unloaded.load(), [], in_tree.unflatten(args_info), out_tree, no_kwargs=no_kwargs
    )


class LaneSteps:
    """A jitted step, run on each lane's device by one executable per argument shape: compiled
    for the first lane that needs it, loaded onto the others (compiled for them if loading
    fails: slower, the same numbers)."""

    def __init__(self, step: Callable) -> None:
        self.step = step
        self.executables: dict[tuple, dict[Any, Any]] = {}
        self.retargeted = 0  # executables loaded rather than compiled (tests count them)

    def __call__(self, device: Any, *args: Any) -> Any:
        import jax

        signature = tuple((leaf.shape, leaf.dtype) for leaf in jax.tree.leaves(args))
        per_device = self.executables.setdefault(signature, {})
        executable = per_device.get(device)
        if executable is None:
            executable = per_device[device] = self._executable(per_device, device, args)
        return executable(*args)

    def _executable(self, per_device: dict[Any, Any], device: Any, args: tuple) -> Any:
        if per_device:
            try:
                loaded = retarget(next(iter(per_device.values())), device)
                self.retargeted += 1
                return loaded
            except Exception:  # a JAX that cannot load it onto another device: compile
                pass
        return self.step.lower(*args).compile()
