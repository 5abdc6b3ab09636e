"""Will the study's largest run fit in memory? Its exact parameter count and a rough training
footprint, checked before anything trains (a 10-million-unit LSTM took 9.8 GB and minutes to
fail). Arithmetic only: no Keras, no data loaded."""

from __future__ import annotations

import itertools
from typing import Any

from suite.machine import worker_cores
from suite.schema import config_label
from suite.study.backends import process_backend, study_backends
from suite.study.config import Study
from suite.study.grid import seed_values, spec_at
from suite.study.model_size import model_size
from suite.study.run_spec import RunSpec
from suite.train.data import split_sizes
from suite.train.execution import FUSED_MAX_MEMBERS, fuses_seeds

BYTES_PER_FLOAT = 4  # float32
# Weights, their gradients and the optimiser's two moments (Adam's; SGD keeps fewer).
WEIGHT_COPIES = 4
# Values each unit keeps per time step for backpropagation through time: its gates and its
# output (plus the cell state of an LSTM).
STEP_VALUES = {"simple_rnn": 2, "lstm": 6, "gru": 4}
MEMORY_KEYS = (
    *("cell", "bidirectional", "layers", "units", "batch_size"),
    *("view", "dataset", "archive", "file"),  # the data: its length, channels and cases
)
GROWS_WITH = {"layers", "units", "batch_size"}  # more of these always needs more memory


def training_bytes(spec: RunSpec, *, members: int = 1) -> int:
    """About how much memory training `spec` takes: the weights' copies, the activations one
    batch keeps for the backward pass, and the data's three splits as float32; `members`:
    seeds trained together as one program, each with its own weights and activations."""
    steps, features = spec.data.input_shape
    m = spec.model
    directions = 2 if m.bidirectional else 1
    images = split_sizes(spec.data)
    size = model_size(m, (steps, features), spec.data.outputs)
    weights = size.parameters * WEIGHT_COPIES * BYTES_PER_FLOAT
    data = sum(images) * steps * features * BYTES_PER_FLOAT
    batch = min(spec.training.batch_size, images[0])  # Keras cuts a batch at the data's end
    activations = (
        batch * steps * m.units * m.layers * directions * STEP_VALUES[m.cell] * BYTES_PER_FLOAT
    )
    return (weights + activations) * members + data


def fused_members(study: Study, *, workers: int = 1) -> int:
    """Seeds one of `workers` may train together, at most (suite.train.execution's
    fuses_seeds, on any backend the study trains on, with the worker's share of the
    cores: the device is not known yet, so it counts as a CPU)."""
    cores = worker_cores(workers)
    backends = study_backends(study) or [process_backend()]
    if not any(
        fuses_seeds(study, backend=backend, accelerator="cpu", cores=cores) for backend in backends
    ):
        return 1
    return min(len(seed_values(study)), FUSED_MAX_MEMBERS)


def largest_run(study: Study) -> RunSpec:
    """The run of the study that needs the most memory: over the grid's points, or over the
    search space (its choices, and the high end of its ranges)."""
    options: dict[str, list[Any]] = {}
    for key, values in _memory_values(study).items():
        if key == "dataset":  # whole data sections, as written (spec_at reads each)
            options[key] = values
            continue
        read = list(dict.fromkeys(spec_at(study, {key: v}).value_of(key) for v in values))
        options[key] = [max(read)] if key in GROWS_WITH else read
    points = (
        dict(zip(options, combo, strict=True)) for combo in itertools.product(*options.values())
    )
    return max((spec_at(study, point) for point in points), key=training_bytes)


def memory_problem(study: Study, available_bytes: int, *, workers: int = 1) -> str | None:
    """One line when the study's largest run, trained by each of `workers` at once, needs
    more memory than `available_bytes`."""
    spec = largest_run(study)
    members = fused_members(study, workers=workers)
    needed = training_bytes(spec, members=members) * workers
    if needed <= available_bytes:
        return None
    m = spec.model
    at_once = f" x {members} seeds trained together" if members > 1 else ""
    at_once += f" x {workers} workers training at once" if workers > 1 else ""
    fewer = ", or use fewer workers" if workers > 1 else ""
    return (
        f"model: the largest run ({config_label(m.cell, m.bidirectional, m.layers)}, units"
        f" {m.units:,}, batch_size {spec.training.batch_size:,}, data {spec.data.dataset_name})"
        f"{at_once}"
        f" needs about {_size(needed)} to train; this machine has {_size(available_bytes)}"
        f" available; lower model.units, model.layers or training.batch_size{fewer}"
    )


def check_fits_this_machine(study: Study, *, workers: int = 1) -> str | None:
    """`memory_problem` against the memory this machine has available now."""
    import psutil

    return memory_problem(study, psutil.virtual_memory().available, workers=workers)


def _memory_values(study: Study) -> dict[str, list[Any]]:
    """The values the study gives each key that sizes a run, as written in the file."""
    if study.grid is not None:
        return {key: list(values) for key, values in study.grid.items() if key in MEMORY_KEYS}
    assert study.search is not None
    return {
        key: list(param.choices) if param.choices is not None else [int(param.high or 0)]
        for key, param in study.search.space.items()
        if key in MEMORY_KEYS
    }


def _size(n: float) -> str:
    if n >= 10e9:
        return f"{n / 1e9:,.0f} GB"
    return f"{n / 1e9:.1f} GB" if n >= 1e9 else f"{n / 1e6:,.0f} MB"
